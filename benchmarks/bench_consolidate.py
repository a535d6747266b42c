"""Consolidate 10,000 generated bundles: verify + recompute + summarise, on 2 cores.

Run: python benchmarks/bench_consolidate.py [--count 10000] [--workers 2] [--format zip|json]

Generates `count` signed bundles once (each unit its own Ed25519 key, one department, one
year; `jixiao.samples.random_submission`, defects included), in a process pool, cached under
.cache/bench-consolidate/ (about 25 kB a zip), then times `consolidate` over the folder's paths
exactly as `jixiao consolidate FOLDER` runs it: read each file, the envelope check (signature,
canonical payload, schema, framework, `evaluate` recomputed and compared, the xlsx's hidden
envelope), pick the latest per unit, build the 附件4 summary. Prints bundles per second, the
single-process rate, and peak memory (ru_maxrss of this process and of the largest child).
The load average is printed too: on a shared machine other work slows every figure.
Asserts nothing; the target is ≥ 1,000 bundles/s on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import time
from multiprocessing import get_context
from pathlib import Path

from jixiao import load_framework
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.bundle.archive import prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
from jixiao.consolidate import Source, consolidate
from jixiao.render.summary_xlsx import write_summary_xlsx
from jixiao.samples import random_submission

REPO = Path(__file__).resolve().parents[1]
SIGNED_AT = "2022-03-01T10:00:00+08:00"


def _make(args: tuple[int, str, str]) -> None:
    seed, fmt, folder = args
    framework = load_framework("jinxian-2021")
    sub = random_submission(seed, framework).model_copy(update={
        "year": 2021, "department": "示例主管部门", "unit_kind": "本级" if seed == 0 else "所属单位",
        "unit_code": f"B{seed:06d}"})
    key = PrivateKey("ed25519", hashlib.sha256(f"unit-{seed}".encode()).digest())
    if fmt == "zip":
        _, data = build_bundle(sub, framework, key, SIGNED_AT)
    else:
        prepared = prepare_bundle(sub, framework, SIGNED_AT)
        data = sign_payload(SUBMISSION_TYPE, prepared.payload, [key]).to_json().encode("utf-8")
    path = Path(folder) / f"{seed:06d}.{fmt}"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def generate(count: int, fmt: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(count) if not (folder / f"{i:06d}.{fmt}").exists()]
    if missing:
        started = time.perf_counter()
        print(f"generating {len(missing)} {fmt} bundles into {folder} (once; cached) …", flush=True)
        with get_context("fork").Pool(os.cpu_count() or 2) as pool:
            for done, _ in enumerate(pool.imap_unordered(_make, [(i, fmt, str(folder)) for i in missing], 16), 1):
                if done % 1000 == 0:
                    print(f"  {done}/{len(missing)}", flush=True)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    return [folder / f"{i:06d}.{fmt}" for i in range(count)]


def run(paths: list[Path], workers: int) -> tuple[float, int]:
    sources = [Source(str(p), path=str(p)) for p in paths]
    started = time.perf_counter()
    outcome = consolidate(sources, workers=workers, generated_at="2022-04-01T00:00:00Z")
    elapsed = time.perf_counter() - started
    assert outcome.summary is not None
    assert not outcome.rejected, outcome.rejected[:3]
    return elapsed, len(outcome.summary.rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--format", choices=("zip", "json"), default="zip")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench-consolidate")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    paths = generate(args.count, args.format, args.cache / args.format)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} {args.format} bundles, {size / 1024 / 1024:.0f} MB")

    sample = paths[: min(1000, len(paths))]
    run(sample[:50], 1)  # warm the page cache and the imports
    single, _ = run(sample, 1)
    print(f"1 process:  {len(sample)} bundles in {single:.2f} s = {len(sample) / single:,.0f} bundles/s "
          f"({single / len(sample) * 1000:.2f} ms each)")
    elapsed, rows = run(paths, args.workers)
    print(f"{args.workers} processes: {len(paths)} bundles in {elapsed:.2f} s = {len(paths) / elapsed:,.0f} bundles/s "
          f"(附件4 with {rows} rows)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MB, largest child {children:.0f} MB")

    from jixiao.consolidate.check import check_bundle  # the summary's xlsx, timed apart
    units = [c.unit for c in (check_bundle(p.name, p.read_bytes()) for p in paths[:2000]) if c.unit]
    from jixiao.consolidate import build_summary
    summary = build_summary(units)
    started = time.perf_counter()
    write_summary_xlsx(summary)
    print(f"write 附件4 xlsx of {len(units)} rows: {time.perf_counter() - started:.2f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
