"""The portable edition in headless Chromium, opened through file:// (as by a double-click).

Run: python benchmarks/bench_portable.py [--runs 3] [--edits 200] [--site DIR]
Prints the figures of bench_portal.py for the portable edition; asserts nothing.

For each run:

* first open: a fresh browser profile;
* repeat open: the same profile opened again (browser restarted). There is no service worker
  and no HTTP cache on file://; what can carry over is the browser's own caching of scripts.

Times are read back from the page as in bench_portal.py (its probe, polling and re-score code
are imported, not copied): form accepts input (DOMContentLoaded, first field enabled and
focusable), first score shown (``data-evaluated-at``), re-score from an edit's input event to
the DOM update over N edits. Python runs on the main thread here, so the page also reports its
long tasks (> 50 ms, the Long Tasks API) until the first score: how long typing may stall
while the engine starts. Bytes: the files the page read from the folder until the first score.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

import bench_portal  # noqa: E402  (the served site's benchmark: probe, polling, re-score)

LONG_TASKS = """
window.__jxLong = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__jxLong.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
} catch {}
"""


def file_bytes(urls: list[str]) -> int:
    """Sizes on disk of the distinct file:// URLs read."""
    paths = {Path(unquote(urlparse(u).path)) for u in urls if u.startswith("file://")}
    return sum(p.stat().st_size for p in paths if p.is_file())


def visit(context: Any, url: str) -> dict[str, Any]:
    page = bench_portal.settled_page(context)  # opened in a browser whose own start-up has settled
    requests: list[tuple[float, str]] = []
    page.on("request", lambda r: requests.append((time.monotonic(), r.url)))
    started = time.monotonic()  # just before navigation starts: page times are from there
    page.goto(url)
    bench_portal.poll(page, "() => window.__jxProbe")
    bench_portal.poll(page, "() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq || 0) >= 1")
    out: dict[str, Any] = page.evaluate("""() => {
      const root = document.querySelector('#jixiao-form');
      const score = Number(root.dataset.firstEvaluatedAt);
      const long = (window.__jxLong || []).filter(([start]) => start < score);
      return { input: window.__jxProbe.dcl, inputOk: window.__jxProbe.inputOk, score,
               source: root.dataset.firstSource,
               longest: Math.max(0, ...long.map(([, d]) => d)), longTotal: long.reduce((a, [, d]) => a + d, 0),
               offline: root.dataset.offline };
    }""")
    out["phases"] = page.evaluate("() => document.querySelector('#jixiao-form').dataset.enginePhases")
    # Files asked for before the first score (page time vs. this clock: a few ms of slack).
    out["bytes"] = file_bytes([u for at, u in requests if (at - started) * 1000 <= out["score"]])
    out["network"] = [u for _, u in requests if not u.startswith(("file://", "data:", "blob:"))]
    out["page"] = page
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--site", type=Path, default=REPO / ".cache" / "portable",
                        help="portable edition folder (built first if missing or stale)")
    parser.add_argument("--settle", type=float, default=bench_portal.SETTLE,
                        help="seconds a launched browser is left to finish starting before each visit")
    args = parser.parse_args()
    bench_portal.SETTLE = args.settle

    from playwright.sync_api import sync_playwright

    from browser_fixtures import build_or_reuse_portable

    site_dir = build_or_reuse_portable(args.site.resolve())
    url = (site_dir / "fill.html").as_uri()
    print(f"site: {url}")
    print(f"machine: {bench_portal.machine()}")
    rows: dict[str, list[float]] = {k: [] for k in (
        "first.input", "first.score", "repeat.input", "repeat.score", "bytes", "longest", "rescore.median",
        "rescore.p95")}
    with sync_playwright() as pw:
        for run in range(args.runs):
            profile = Path(tempfile.mkdtemp(prefix="jx-bench-portable-"))
            try:
                opened = []
                for _ in range(2):
                    ctx = pw.chromium.launch_persistent_context(
                        profile, executable_path=bench_portal.CHROMIUM, args=bench_portal.ARGS, headless=True)
                    ctx.add_init_script(bench_portal.PROBE)
                    ctx.add_init_script(LONG_TASKS)
                    visited = visit(ctx, url)
                    if len(opened) == 1:
                        edits = bench_portal.rescore(visited["page"], args.edits) if args.edits else [0.0]
                    else:
                        visited["page"].wait_for_timeout(2000)  # the unit reads its score, then closes
                    ctx.close()
                    opened.append(visited)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            first, again = opened
            assert first["inputOk"] and again["inputOk"], "the first field was not enabled and focusable"
            assert not first["network"] and not again["network"], (first["network"], again["network"])
            rows["first.input"].append(first["input"])
            rows["first.score"].append(first["score"])
            rows["repeat.input"].append(again["input"])
            rows["repeat.score"].append(again["score"])
            rows["bytes"].append(first["bytes"])
            rows["longest"].append(max(first["longest"], again["longest"]))
            rows["rescore.median"].append(statistics.median(edits))
            rows["rescore.p95"].append(bench_portal.p95(edits))
            print(f"run {run + 1}: first open input {first['input']:.0f} ms, score {first['score']:.0f} ms "
                  f"(longest main-thread task {first['longest']:.0f} ms, {first['longTotal']:.0f} ms in long tasks); "
                  f"repeat input {again['input']:.0f} ms, score {again['score']:.0f} ms "
                  f"({again['source']}; longest task {again['longest']:.0f} ms); "
                  f"re-score median {statistics.median(edits):.1f} ms, "
                  f"p95 {bench_portal.p95(edits):.1f} ms; read {first['bytes'] / 1e6:.2f} MB from the folder; "
                  f"engine phases first {first['phases']}, repeat {again['phases']}", flush=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nportable edition, file://, median of {args.runs} runs:")
    print(f"  first open : form accepts input {med['first.input'] / 1000:.3f} s, "
          f"score shown {med['first.score'] / 1000:.2f} s")
    print(f"  repeat open: form accepts input {med['repeat.input'] / 1000:.3f} s, "
          f"score shown {med['repeat.score'] / 1000:.2f} s")
    print(f"  re-score after an edit ({args.edits} edits): median {med['rescore.median']:.1f} ms, "
          f"p95 {med['rescore.p95']:.1f} ms")
    print(f"  longest main-thread task before the first score: {med['longest']:.0f} ms")
    print(f"  read from the folder until the first score: {med['bytes'] / 1e6:.2f} MB")
    print(f"machine after the runs: {bench_portal.machine()}")


if __name__ == "__main__":
    sys.exit(main())
