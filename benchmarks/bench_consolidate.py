"""Consolidate 10,000 generated bundles: verify + recompute + summarise, on 2 cores.

Run: python benchmarks/bench_consolidate.py [--count 10000] [--workers 2] [--formats zip,json] [--runs 3]

Generates `count` signed bundles once per format (each unit its own Ed25519 key, one
department, one year; `jixiao.samples.random_submission`, defects included), in a process
pool, cached under .cache/bench-consolidate/FORMAT-LAYOUT/ (LAYOUT: a digest of one sample
bundle's bytes, so a new bundle layout is generated afresh), with a roster signed by the
supervisor that enrols every unit's key. Each timed run does what `jixiao consolidate FOLDER
--roster R --key K -o 附件4.xlsx` does, minus the xlsx (timed apart, see below): load and check
the roster, list the folder, check every bundle in `workers` processes (the signature against
the unit's enrolled key, the canonical payload, the schema, the framework, the 附件6
recomputed with `evaluate` and compared with the signed figures, and for a zip the xlsx's
hidden envelope), pick the latest per unit, build the 附件4 and write its signed JSON.

Prints per run: bundles per second (wall), CPU milliseconds per bundle (this process and its
workers), what that CPU cost would give on `workers` idle cores, peak memory (the sum of the
resident sets of this process and its workers, sampled every 0.1 s; their PSS, every second;
and each one's ru_maxrss), and the load average before and after: the machine is shared, and
other work slows every wall-clock figure. Then the single-process rate, and the 附件4 xlsx of every row.
Asserts nothing but that every bundle passed; the target is ≥ 1,000 bundles/s on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import resource
import statistics
import tempfile
import threading
import time
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from jixiao import load_framework
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.bundle.archive import prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
from jixiao.bundle.keys import b64
from jixiao.bundle.roster import Entry, RosterDoc, load_roster, new_roster, roster_json
from jixiao.consolidate import consolidate, expand, summary_json
from jixiao.render.summary_xlsx import write_summary_xlsx
from jixiao.samples import random_submission

REPO = Path(__file__).resolve().parents[1]
SIGNED_AT = "2022-03-01T10:00:00+08:00"
SUPERVISOR = PrivateKey("ed25519", hashlib.sha256(b"bench-supervisor").digest())


def _seed(index: int) -> bytes:
    return hashlib.sha256(f"unit-{index}".encode()).digest()


def _make(args: tuple[int, str, str]) -> None:
    seed, fmt, folder = args
    framework = load_framework("jinxian-2021")
    sub = random_submission(seed, framework).model_copy(update={
        "year": 2021, "department": "示例主管部门", "unit_kind": "本级" if seed == 0 else "所属单位",
        "unit_code": f"B{seed:06d}"})
    key = PrivateKey("ed25519", _seed(seed))
    if fmt == "zip":
        _, data = build_bundle(sub, framework, key, SIGNED_AT)
    else:
        prepared = prepare_bundle(sub, framework, SIGNED_AT)
        data = sign_payload(SUBMISSION_TYPE, prepared.payload, [key]).to_json().encode("utf-8")
    path = Path(folder) / f"{seed:06d}.{fmt}"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def layout_folder(cache: Path, fmt: str) -> Path:
    """Where this writer's bundles are cached: named by the bytes of one sample bundle (the writer
    is deterministic), so a change to the bundle layout never measures bundles of the old one."""
    with tempfile.TemporaryDirectory() as scratch:
        _make((0, fmt, scratch))
        sample = (Path(scratch) / f"{0:06d}.{fmt}").read_bytes()
    return cache / f"{fmt}-{hashlib.sha256(sample).hexdigest()[:12]}"


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


def roster_file(count: int, cache: Path) -> Path:
    """The supervisor's signed roster enrolling every generated unit's key (cached)."""
    path = cache / f"roster-{count}.json"
    if path.exists():
        return path
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    doc = new_roster(SUPERVISOR, "示例主管部门", "2022-01-01T00:00:00Z")
    units = {}
    for i in range(count):
        public = Ed25519PrivateKey.from_private_bytes(_seed(i)).public_key().public_bytes_raw()
        units[f"B{i:06d}"] = [Entry(alg="ed25519", public_key=b64(public), unit_name=f"示例单位{i}",
                                    fingerprint=hashlib.sha256(public).hexdigest(), valid_from=date(2021, 1, 1))]
    doc = RosterDoc.model_validate({**doc.model_dump(), "units": units})
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(roster_json(doc, SUPERVISOR), encoding="utf-8")
    return path


# --- measuring -----------------------------------------------------------------------------------

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> int:
    """RSS in kB from /proc/PID/statm: a counter the kernel keeps, read in microseconds."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kb(pid: int) -> int:
    """PSS in kB: each page shared among the processes that map it (forked workers share most of
    the parent's pages, which a sum of RSS counts three times). The kernel walks the process's
    page tables for it: about 3 ms for a 250 MB process, holding its memory map's lock."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


class PeakMemory:
    """Peaks of the summed RSS (every 0.1 s) and PSS (every second) of this process and its
    children (Linux /proc).

    Why PSS only once a second: reading it for three processes every 0.1 s cost the run it
    measured about 7% of its bundles a second (alternated runs, sampler on: 789, 850, 798/s;
    off: 860, 771, 910/s)."""

    PSS_EVERY = 10  # RSS samples

    def __init__(self) -> None:
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, pss: bool) -> None:
        me = os.getpid()
        pids = (me, *_children(me))
        self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in pids))
        if pss:
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            self._sample(pss=tick % self.PSS_EVERY == 0)
            tick += 1
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run(inputs: list[Path], roster: Path, workers: int, out: Path) -> dict[str, float]:
    """One timed consolidation, as the CLI does it (the xlsx apart); `inputs` is the folder."""
    load_before = os.getloadavg()[0]
    own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    with PeakMemory() as memory:
        started = time.perf_counter()
        loaded = load_roster(roster.read_bytes())
        assert loaded.trusted, loaded.problem
        sources, missing = expand(inputs)
        outcome = consolidate(sources, roster=loaded, workers=workers, generated_at="2022-04-01T00:00:00Z",
                              rejected=missing)
        assert outcome.summary is not None
        out.write_text(summary_json(outcome.summary, SUPERVISOR), encoding="utf-8")
        elapsed = time.perf_counter() - started
    assert not outcome.rejected, outcome.rejected[:3]
    count = len(outcome.summary.rows)
    cpu = (_cpu(resource.RUSAGE_SELF) - own) + (_cpu(resource.RUSAGE_CHILDREN) - children)
    return {"count": count, "elapsed": elapsed, "rate": count / elapsed, "cpu_ms": cpu / count * 1000,
            "peak_mb": memory.peak_kb / 1024, "peak_pss_mb": memory.peak_pss_kb / 1024,
            "load_before": load_before, "load_after": os.getloadavg()[0]}


def single(paths: list[Path], roster: Path) -> float:
    """Bundles per second in this process alone (no pool), over the first 1,000."""
    from jixiao.consolidate import Source

    loaded = load_roster(roster.read_bytes())
    sources = [Source(str(p), path=str(p)) for p in paths]
    consolidate(sources[:50], roster=loaded, workers=1)  # warm the page cache and the imports
    started = time.perf_counter()
    outcome = consolidate(sources, roster=loaded, workers=1)
    assert not outcome.rejected
    return len(sources) / (time.perf_counter() - started)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    from jixiao.bundle.crypto import _fast_ed25519

    ed25519 = "cryptography (OpenSSL)" if _fast_ed25519() is not None else "pure Python (ecdsa)"
    return (f"{platform.machine()} {model or platform.processor()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, Ed25519 through {ed25519}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--formats", default="zip,json")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench-consolidate")
    parser.add_argument("--no-single", action="store_true", help="skip the single-process rate")
    parser.add_argument("--no-xlsx", action="store_true", help="skip writing the 附件4 xlsx")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    roster = roster_file(args.count, args.cache)
    results: dict[str, list[dict[str, float]]] = {}
    summary = None
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "附件4.json"
        for fmt in args.formats.split(","):
            folder = layout_folder(args.cache, fmt)
            paths = generate(args.count, fmt, folder)
            size = sum(p.stat().st_size for p in paths)
            print(f"\n{fmt}: {len(paths)} bundles, {size / 1024 / 1024:.0f} MB, roster of {args.count} units")
            if not args.no_single:
                rate = single(paths[: min(1000, len(paths))], roster)
                print(f"  1 process, no pool: {rate:,.0f} bundles/s ({1000 / rate:.2f} ms each)")
            whole = sum(1 for _ in folder.iterdir()) == len(paths)
            inputs = [folder] if whole else list(paths)  # a smaller --count: those files, not the folder
            for number in range(1, args.runs + 1):
                figures = run(inputs, roster, args.workers, out)
                results.setdefault(fmt, []).append(figures)
                print(f"  run {number}: {figures['count']:.0f} bundles in {figures['elapsed']:.2f} s = "
                      f"{figures['rate']:,.0f} bundles/s; CPU {figures['cpu_ms']:.2f} ms a bundle "
                      f"(→ {args.workers * 1000 / figures['cpu_ms']:,.0f}/s on {args.workers} idle cores); "
                      f"peak RSS {figures['peak_mb']:.0f} MB (PSS {figures['peak_pss_mb']:.0f}); "
                      f"load {figures['load_before']:.2f} → "
                      f"{figures['load_after']:.2f}", flush=True)
        if summary is None:
            from jixiao.consolidate import read_summary

            summary = read_summary(out.read_bytes()).summary
    print()
    for fmt, runs in results.items():
        rates = [r["rate"] for r in runs]
        print(f"{fmt}: best {max(rates):,.0f}, median {statistics.median(rates):,.0f} bundles/s on "
              f"{args.workers} processes; CPU {min(r['cpu_ms'] for r in runs):.2f} ms a bundle; "
              f"peak RSS (parent + workers) {max(r['peak_mb'] for r in runs):.0f} MB, "
              f"PSS {max(r['peak_pss_mb'] for r in runs):.0f} MB; "
              f"load {min(r['load_before'] for r in runs):.2f}–{max(r['load_after'] for r in runs):.2f}")
    print(f"ru_maxrss: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"largest worker {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    if summary is not None and not args.no_xlsx:
        started = time.perf_counter()
        write_summary_xlsx(summary)
        print(f"write the 附件4 xlsx of {len(summary.rows)} rows: {time.perf_counter() - started:.2f} s")
    print("load average at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
