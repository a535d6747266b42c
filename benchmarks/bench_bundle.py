"""Signed bundles per second on CPython: built and verified, for the seed example.

Run: python benchmarks/bench_bundle.py [--seconds 3]
Prints figures; asserts nothing. "pure" runs with JIXIAO_PURE_CRYPTO=1, the code path the
browser takes (ecdsa's Ed25519 instead of `cryptography`). The browser's own export time is
measured by the end-to-end test, not here.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from jixiao import evaluate, load_example, load_framework
from jixiao.bundle import PrivateKey, build_bundle, verify_file
from jixiao.bundle.keys import key_file_json, read_key_file
from jixiao.render.report_html import render_report_html
from jixiao.render.xlsx import write_xlsx

SIGNED_AT = "2022-03-01T10:00:00+08:00"


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, float, float]:
    """Run fn repeatedly for about `seconds`; return (per second, median ms, p95 ms)."""
    fn()  # warm caches
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 3:
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return len(timings) / sum(timings), statistics.median(timings) * 1000, p95 * 1000


def show(label: str, figures: tuple[float, float, float]) -> None:
    per_s, med, p95 = figures
    print(f"{label:<44} {per_s:8.1f} /s   median {med:8.1f} ms   p95 {p95:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    seed = load_example("jinxian-2021")
    fw = load_framework(seed.framework_id)
    evaluation = evaluate(seed, fw)
    ed25519, sm2 = PrivateKey("ed25519", bytes(range(32))), PrivateKey.generate("sm2")
    print(f"machine: {platform.machine()} {platform.processor() or ''} Python {platform.python_version()}")

    name, ed_bundle = build_bundle(seed, fw, ed25519, SIGNED_AT)
    _, sm2_bundle = build_bundle(seed, fw, sm2, SIGNED_AT)
    print(f"seed bundle: {len(ed_bundle):,} bytes ({name})")
    show("write_xlsx (附件6 + 附件7 + envelope)", rate(lambda: write_xlsx(seed, evaluation, "{}"), args.seconds))
    show("render_report_html", rate(lambda: render_report_html(seed, evaluation), args.seconds))
    for mode in ("fast", "pure"):
        if mode == "pure":
            os.environ["JIXIAO_PURE_CRYPTO"] = "1"
        show(f"build bundle, Ed25519 ({mode})", rate(lambda: build_bundle(seed, fw, ed25519, SIGNED_AT), args.seconds))
        show(f"verify bundle zip, Ed25519 ({mode})", rate(lambda: verify_file(name, ed_bundle), args.seconds))
    show("build bundle, SM2/SM3 (pure)", rate(lambda: build_bundle(seed, fw, sm2, SIGNED_AT), args.seconds))
    show("verify bundle zip, SM2/SM3 (pure)", rate(lambda: verify_file(name, sm2_bundle), args.seconds))
    os.environ.pop("JIXIAO_PURE_CRYPTO", None)
    sealed = key_file_json(ed25519, "口令")
    started = time.perf_counter()
    read_key_file(sealed, "口令")
    print(f"unlock a passphrase key file (PBKDF2 600 000, hashlib): {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
