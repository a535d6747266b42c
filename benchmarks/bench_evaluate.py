"""Evaluations per second on CPython: the seed example, and generated submissions.

Run: python benchmarks/bench_evaluate.py [--seconds 3]
Prints figures; asserts nothing (targets live in the README, not in timed tests).
Beside the wall-clock rate, the CPU time of this process per call (`time.process_time`): on the
shared 2-core machine the wall clock counts the time other work held the core, the CPU figure
mostly does not. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from jixiao import evaluate, load_example, load_framework
from jixiao.samples import random_submission


def _rate(fn, seconds: float) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """Run fn repeatedly for about `seconds`; return (per second, median ms, p95 ms, CPU ms a call)."""
    timings: list[float] = []
    cpu_start = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu_start) / len(timings) * 1000
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    return len(timings) / sum(timings), statistics.median(timings) * 1000, p95 * 1000, cpu


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    seed = load_example("jinxian-2021")
    fw = load_framework(seed.framework_id)
    evaluate(seed, fw)  # warm caches (framework load, pydantic schemas)
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"Python {platform.python_version()}")
    print(f"load average (1, 5, 15 min): {_load()}")
    per_s, med, p95, cpu = _rate(lambda: evaluate(seed, fw), args.seconds)
    print(f"seed example jinxian-2021: {per_s:,.0f} evaluations/s, "
          f"median {med:.3f} ms, p95 {p95:.3f} ms, CPU {cpu:.3f} ms")
    generated = [random_submission(i, fw) for i in range(200)]
    it = iter(range(10**9))
    per_s, med, p95, cpu = _rate(lambda: evaluate(generated[next(it) % 200], fw), args.seconds)
    print(f"generated submissions:     {per_s:,.0f} evaluations/s, "
          f"median {med:.3f} ms, p95 {p95:.3f} ms, CPU {cpu:.3f} ms")
    raw = seed.model_dump_json()
    from jixiao import Submission
    per_s, med, p95, cpu = _rate(
        lambda: evaluate(Submission.model_validate_json(raw), fw).model_dump_json(), args.seconds)
    print(f"parse + evaluate + dump:   {per_s:,.0f} /s, median {med:.3f} ms, p95 {p95:.3f} ms, CPU {cpu:.3f} ms")
    print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
