"""The offline portal in headless Chromium: how soon a unit can type, and how soon it sees a score.

Run: python benchmarks/bench_portal.py [--runs 3] [--edits 200] [--repeats 1] [--site DIR]
Prints figures; asserts nothing (targets live in the README, not in timed tests).

For each run:

* first visit: a fresh browser profile (empty HTTP cache, no service worker);
* repeat visit: the same profile opened again (browser restarted) after the first visit's
  service worker has cached the site. With ``--repeats K`` it is opened K times, and the
  engine's own first score is printed for each: Chromium keeps more of Pyodide's compiled wasm
  in its code cache after every visit, so the engine starts sooner on the third or fourth than
  on the second. The figures in the summary are the first repeat's; the edits run on the last.

All times are read back from the page (``performance.now()``, whose origin is the navigation
start), never measured around Playwright calls:

* form accepts input: DOMContentLoaded, when the first form field is checked to be enabled
  and focusable (an init script does the check). That is a proxy: the fields take typing as
  soon as they are drawn (the inline recorder in the page's `<head>` keeps what is typed before
  app.js runs). So each run also makes two typing visits (a fresh profile, then the same one
  again), where real key presses are sent through the browser's input pipeline (CDP, as a
  keyboard would) from the moment the navigation commits until the engine has scored, so that
  every step of the start-up is typed through. "A key press kept" is the later of the first key
  press that reached the score field and the end of the frame that first drew that field (a
  user types where they can see; the first paint alone may show only the header), and the visit
  checks that every key that reached the field is still in it once the draft is saved (typing
  through a first visit's start-up once lost keys: the first draft's save wrote the form back).
  Typing visits are apart from the scoring visits, whose remembered score typing would change;
* score shown: when the first evaluation was written into the DOM (``data-first-evaluated-at``,
  stamped by results.js). On a repeat visit that is the draft's remembered evaluation
  (remembered.js) when the engine scored the same form before; the engine's own first answer
  (``data-engine-evaluated-at``, stamped by app.js) is printed beside it;
* re-score: from an edit's input event (``data-input-at``, stamped by app.js) to the DOM
  update that followed it, over N edits of a score field, begun as soon as the engine has
  scored the page (the slowest edit is printed too: the first edits once waited 1.7-1.9 s for
  the export packages' preloading, which a p95 over 200 edits hid);
* bytes: counted by the server as they leave it (after gzip), before the first score and in
  all (the service worker's precache included).

The yardstick (``--bare K`` runs, default 1): the issue compares the portal with bare Pyodide
loading pydantic and openpyxl (about 3.8 s on a first visit and 1.7 s on a repeat one, on the
machine of the day it was filed). This machine's speed drifts by half between hours, so each
batch also times exactly that, in the same browser: a page of its own (not part of the site)
that imports the stock ``pyodide.mjs`` from the sha256-checked artefact cache, boots it with the
stock standard library and loads the upstream pydantic and openpyxl wheels (what the issue and
runtime-facts.md timed), then imports both (which the portal must also do), timed from
navigation; first visit in a fresh profile, repeat visit in the same profile (HTTP cache).

Each visit is made in a browser that has finished starting: it is launched, its own start-up work
is left to settle (``--settle`` seconds, default 3), and the address is then opened in the tab it
opened with, as a unit does in a browser already running. Navigating the instant the browser
starts measured Chromium's own start-up too: a trace of such a first visit showed its omnibox
WebUI renderer taking 1.6 s of CPU in the first 4 s, on a machine with two cores
(``--settle 0`` measures that way).

The server is `jixiao serve`'s app, and the first visit waits until it has gzipped the site once
(at start, in the background: a second of CPU that a unit, arriving at a server started long
before, never shares).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
FIELD = '#jixiao-form [data-path="indicators.0.groups.1.items.0.score"]'

# Runs in the page before its own scripts (DevTools injection: not subject to the page's CSP).
PROBE = """
document.addEventListener("DOMContentLoaded", () => {
  const t = performance.now();
  const el = document.querySelector("#jixiao-form input[data-path]:not([type=hidden])");
  let ok = false;
  if (el && !el.disabled && !el.readOnly) {
    el.focus({ preventScroll: true }); ok = document.activeElement === el; el.blur();
  }
  window.__jxProbe = { dcl: t, inputOk: ok };
});
"""

# Typing visits: the score field is focused as soon as the parser has made it (a user clicks
# it once it is drawn: the first paint is the other bound), and each key press that reaches it
# is counted and timed by the page's own clock.
KEYS = """
(() => {
  const SEL = __FIELD__;
  const probe = window.__jxKeys = { first: 0, count: 0, drawn: 0 };
  const grab = () => {
    const el = document.querySelector(SEL);
    if (!el) return false;
    if (!probe.made) {  // the frame after the parser made the field draws it: time that frame's end
      probe.made = performance.now();
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { probe.drawn = performance.now(); };
        channel.port2.postMessage(0);
      });
    }
    if (document.activeElement !== el) { el.focus({ preventScroll: true }); }
    return document.activeElement === el;
  };
  document.addEventListener("keydown", (e) => { if (e.key === "7") grab(); }, true);
  document.addEventListener("input", (e) => {
    if (!e.target.matches || !e.target.matches(SEL)) return;
    probe.count += 1;
    if (!probe.first) probe.first = performance.now();
  }, true);
  new MutationObserver((_, obs) => { if (grab()) obs.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();
""".replace("__FIELD__", json.dumps(FIELD))


class ByteCounter:
    """ASGI wrapper counting response body bytes as sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting(message: Any) -> None:
            if message["type"] == "http.response.body":
                self.sent += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    import uvicorn

    from jixiao.server import listen

    sock = listen("127.0.0.1", 0)  # the socket `jixiao serve` listens on (Nagle off: see listen)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


BARE_PAGE = b"""<!doctype html><meta charset="utf-8"><title>bare Pyodide</title>
<script type="module">
const { loadPyodide } = await import("./pyodide.mjs");
const py = await loadPyodide({ indexURL: new URL("./", location.href).href });
const booted = performance.now();
await py.loadPackage(["pydantic", "openpyxl"], { messageCallback() {} });
const loaded = performance.now();
py.runPython("import pydantic, openpyxl");
window.__bare = { booted, loaded, imported: performance.now() };
</script>"""


def bare_folder() -> Path:
    """Stock Pyodide with the upstream pydantic and openpyxl wheels (the lock's "yardstick" and
    "export" groups, fetched and sha256-checked like every artefact; the site ships no pydantic),
    and a lock naming them, written as the site build writes its own."""
    sys.path.insert(0, str(REPO / "build"))
    from fetch import fetch, names_in, pyodide_dir
    from runtime import LOCK_NAME, write_lock

    folder = Path(tempfile.mkdtemp(prefix="jx-bare-"))
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        shutil.copy(pyodide_dir() / name, folder / name)
    wheels = [Path(shutil.copy(path, folder / path.name)) for path in fetch(names_in("yardstick", "export")).values()]
    write_lock(pyodide_dir() / LOCK_NAME, folder, wheels)
    (folder / "bare.html").write_bytes(BARE_PAGE)
    return folder


class WithBare:
    """The site's app, plus the yardstick's folder under /__bare/ (static files, no CSP)."""

    def __init__(self, app: Any, folder: Path) -> None:
        from starlette.staticfiles import StaticFiles

        self.app, self.bare = app, StaticFiles(directory=folder)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__bare/"):
            scope = {**scope, "path": scope["path"][len("/__bare"):], "root_path": ""}
            await self.bare(scope, receive, send)
            return
        await self.app(scope, receive, send)


SETTLE = 3.0  # seconds a freshly launched browser is left alone before the visit (--settle)


def settled_page(context: Any) -> Any:
    """The tab the browser opened with (a new one if none), once its start-up has settled."""
    page = context.pages[0] if context.pages else context.new_page()
    time.sleep(SETTLE)
    return page


def bare_visit(context: Any, base: str) -> dict[str, float]:
    page = settled_page(context)
    page.goto(base + "/__bare/bare.html")
    out: dict[str, float] = poll(page, "() => window.__bare")
    time.sleep(3)  # as the portal's first visit stays up: Chromium writes its wasm code cache meanwhile
    page.close()
    return out


def poll(page: Any, script: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        time.sleep(0.02)


def visit(context: Any, base: str, counter: ByteCounter, *, wait_offline: bool) -> dict[str, Any]:
    page = settled_page(context)
    counter.sent = 0
    page.goto(base + "/fill.html")
    poll(page, "() => window.__jxProbe")
    poll(page, "() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq || 0) >= 1")
    to_score = counter.sent
    poll(page, "() => document.querySelector('#jixiao-form').dataset.engineEvaluatedAt")
    out = page.evaluate("""() => {
      const root = document.querySelector('#jixiao-form');
      const nav = performance.getEntriesByType('navigation')[0];
      return { input: window.__jxProbe.dcl, inputOk: window.__jxProbe.inputOk,
               score: Number(root.dataset.firstEvaluatedAt), engine: Number(root.dataset.engineEvaluatedAt),
               source: root.dataset.firstSource,
               controlled: !!navigator.serviceWorker.controller,
               domInteractive: nav.domInteractive,
               paint: performance.getEntriesByType('paint')
                 .find((e) => e.name === 'first-contentful-paint')?.startTime };
    }""")
    out["phases"] = page.evaluate("() => document.querySelector('#jixiao-form').dataset.enginePhases")
    out["bytes_to_score"] = to_score
    if wait_offline:
        poll(page, "() => document.querySelector('#jixiao-form').dataset.offline === 'offline-ready'")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        out["bytes_all"] = counter.sent
    out["page"] = page
    return out


# What KEYS recorded, read back once the typing is over (a function of the field's selector).
KEYS_READ_BACK = """(sel) => {
  const el = document.querySelector(sel);
  const paint = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
  return { first: window.__jxKeys.first, count: window.__jxKeys.count, value: el.value,
           drawn: window.__jxKeys.drawn, paint: paint ? paint.startTime : null };
}"""


def keys_outcome(out: dict[str, Any]) -> dict[str, Any]:
    """`kept`: every press that reached the field is in it; `accepted`: the later of the first
    press in the field, the end of the frame that drew it, and the first contentful paint."""
    out["kept"] = out["value"].count("7") >= out["count"]
    out["accepted"] = max(out["first"], out["drawn"], out["paint"] or 0)
    return out


def typing_visit(context: Any, base: str) -> dict[str, Any]:
    """Press '7' from the moment the navigation commits until the engine has scored the form
    (through the whole start-up: drafts opening, the first draft saved, Python starting), then
    check that every press that reached the score field is still in it."""
    page = settled_page(context)
    page.goto(base + "/fill.html", wait_until="commit")
    deadline = time.monotonic() + 60
    while not page.evaluate("() => !!(window.__jxKeys && window.__jxKeys.count"
                            " && document.querySelector('#jixiao-form').dataset.engineEvaluatedAt)"):
        page.keyboard.press("7")
        if time.monotonic() > deadline:
            raise TimeoutError("the key presses did not reach the score field, or the engine never scored")
    page.keyboard.press("7")
    poll(page, "() => document.querySelector('#jixiao-form').dataset.draftState === 'saved'")
    out = page.evaluate(KEYS_READ_BACK, FIELD)
    page.close()
    return keys_outcome(out)


def rescore(page: Any, edits: int) -> list[float]:
    """Type into a score field `edits` times; ms from each input event to the DOM update."""
    box = page.locator(FIELD)
    times: list[float] = []
    for n in range(edits):
        seq = page.evaluate("() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq)")
        box.fill("1" if n % 2 == 0 else "2")
        poll(page, f"() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq) > {seq}", 30)
        at = page.evaluate("() => { const d = document.querySelector('#jixiao-form').dataset;"
                           " return Number(d.evaluatedAt) - Number(d.inputAt); }")
        times.append(at)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}; {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeat visits per run (browser restarted each time); edits run on the last")
    parser.add_argument("--bare", type=int, default=1,
                        help="yardstick runs: bare Pyodide loading pydantic and openpyxl (0: none)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds a launched browser is left to finish starting before each visit")
    parser.add_argument("--site", type=Path, default=REPO / ".cache" / "site",
                        help="built site folder (built first if missing or stale)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    globals()["SETTLE"] = args.settle

    from playwright.sync_api import sync_playwright

    from jixiao.server import create_app
    from jixiao.sitebuild import ensure_site

    built, _ = ensure_site(args.site, "jinxian-2021")
    print(f"site: {args.site} ({'built now' if built else 'up to date'})")
    print(f"machine: {machine()}")
    print(f"each visit opens the site {SETTLE:g} s after the browser was launched")
    app = create_app(args.site)
    app.state.gzip_warming.join()  # a unit's first visit meets a server started long before
    bare = bare_folder()
    counter = ByteCounter(WithBare(app, bare))
    rows: dict[str, list[float]] = {k: [] for k in (
        "first.input", "first.score", "repeat.input", "repeat.score", "repeat.engine", "bytes.score", "bytes.all",
        "rescore.median", "rescore.p95", "rescore.max", "first.keys", "repeat.keys")}
    with serve(counter) as base, sync_playwright() as pw:
        for run in range(args.runs):
            profile = Path(tempfile.mkdtemp(prefix="jx-bench-"))
            try:
                ctx = pw.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, args=ARGS, headless=True, service_workers="allow")
                ctx.add_init_script(PROBE)
                first = visit(ctx, base, counter, wait_offline=True)
                ctx.close()
                repeats = []
                for n in range(args.repeats):
                    ctx = pw.chromium.launch_persistent_context(
                        profile, executable_path=CHROMIUM, args=ARGS, headless=True, service_workers="allow")
                    ctx.add_init_script(PROBE)
                    repeats.append(visit(ctx, base, counter, wait_offline=False))
                    if n == args.repeats - 1:
                        edits = rescore(repeats[-1]["page"], args.edits) if args.edits else [0.0]
                    ctx.close()
                again = repeats[0]
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            typed = []
            profile = Path(tempfile.mkdtemp(prefix="jx-bench-keys-"))
            try:
                for _ in range(2):  # a fresh profile, then the same profile again
                    ctx = pw.chromium.launch_persistent_context(
                        profile, executable_path=CHROMIUM, args=ARGS, headless=True, service_workers="allow")
                    ctx.add_init_script(KEYS)
                    typed.append(typing_visit(ctx, base))
                    if not typed[-1]["kept"]:
                        raise AssertionError(f"typed key presses were lost: {typed[-1]}")
                    ctx.close()
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            rows["first.keys"].append(typed[0]["accepted"])
            rows["repeat.keys"].append(typed[1]["accepted"])
            assert first["inputOk"] and again["inputOk"], "the first field was not enabled and focusable"
            assert again["controlled"], "the repeat visit was not served by the service worker"
            rows["first.input"].append(first["input"])
            rows["first.score"].append(first["score"])
            rows["repeat.input"].append(again["input"])
            rows["repeat.score"].append(again["score"])
            rows["repeat.engine"].append(again["engine"])
            for n, later in enumerate(repeats):
                rows.setdefault(f"repeat{n + 1}.engine", []).append(later["engine"])
            rows["bytes.score"].append(first["bytes_to_score"])
            rows["bytes.all"].append(first["bytes_all"])
            rows["rescore.median"].append(statistics.median(edits))
            rows["rescore.p95"].append(p95(edits))
            rows["rescore.max"].append(max(edits))
            print(f"run {run + 1}: first visit HTML parsed {first['domInteractive']:.0f} ms, first paint "
                  f"{first['paint'] or 0:.0f} ms, input {first['input']:.0f} ms, score {first['score']:.0f} ms; "
                  f"repeat input {again['input']:.0f} ms, score {again['score']:.0f} ms "
                  f"({again['source']}; engine's own {again['engine']:.0f} ms); "
                  f"re-score median {statistics.median(edits):.1f} ms, p95 {p95(edits):.1f} ms, "
                  f"slowest {max(edits):.0f} ms (the first edit {edits[0]:.0f} ms); "
                  f"first-visit bytes {first['bytes_to_score'] / 1e6:.2f} MB to score, "
                  f"{first['bytes_all'] / 1e6:.2f} MB with the offline cache; typing visits: key press kept at "
                  f"{typed[0]['accepted']:.0f} / {typed[1]['accepted']:.0f} ms (first press in the field "
                  f"{typed[0]['first']:.0f} / {typed[1]['first']:.0f}, field drawn {typed[0]['drawn']:.0f} / "
                  f"{typed[1]['drawn']:.0f}, first paint {typed[0]['paint'] or 0:.0f} / "
                  f"{typed[1]['paint'] or 0:.0f}); worker phases (ms from worker start) "
                  f"first {first['phases']}, repeat {again['phases']}", flush=True)
            if args.repeats > 1:
                print("  the engine's own first score on repeat visits 1.." + str(args.repeats) + ": "
                      + ", ".join(f"{later['engine']:.0f} ms ({later['source']})" for later in repeats), flush=True)

        yard: dict[str, list[float]] = {"first": [], "repeat": [], "first.imported": [], "repeat.imported": []}
        for _ in range(args.bare):
            profile = Path(tempfile.mkdtemp(prefix="jx-bench-bare-"))
            try:
                for which in ("first", "repeat"):
                    ctx = pw.chromium.launch_persistent_context(
                        profile, executable_path=CHROMIUM, args=ARGS, headless=True)
                    times = bare_visit(ctx, base)
                    yard[which].append(times["loaded"])
                    yard[f"{which}.imported"].append(times["imported"])
                    ctx.close()
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            print(f"yardstick: bare Pyodide with pydantic and openpyxl loaded at {yard['first'][-1]:.0f} ms "
                  f"(first visit) / {yard['repeat'][-1]:.0f} ms (repeat visit; Python booted at "
                  f"{times['booted']:.0f} ms); both imported at "
                  f"{yard['first.imported'][-1]:.0f} / {yard['repeat.imported'][-1]:.0f} ms", flush=True)
    shutil.rmtree(bare, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nmedian of {args.runs} runs (targets in brackets):")
    print(f"  first visit : form accepts input {med['first.input'] / 1000:.3f} s (DOMContentLoaded), "
          f"a key press kept {med['first.keys'] / 1000:.3f} s [≤ 0.3 s], "
          f"score shown {med['first.score'] / 1000:.2f} s [≤ 3.0 s]")
    print(f"  repeat visit: form accepts input {med['repeat.input'] / 1000:.3f} s (DOMContentLoaded), "
          f"a key press kept {med['repeat.keys'] / 1000:.3f} s [≤ 0.3 s], "
          f"score shown {med['repeat.score'] / 1000:.2f} s [≤ 1.0 s], "
          f"the engine's own score {med['repeat.engine'] / 1000:.2f} s")
    if args.repeats > 1:
        print("  the engine's own first score, repeat visit 1.." + str(args.repeats) + ": "
              + ", ".join(f"{med[f'repeat{n + 1}.engine'] / 1000:.2f} s" for n in range(args.repeats)))
    print(f"  re-score after an edit ({args.edits} edits): median {med['rescore.median']:.1f} ms, "
          f"p95 {med['rescore.p95']:.1f} ms [p95 ≤ 50 ms], slowest {med['rescore.max']:.0f} ms")
    if args.bare:
        print(f"  yardstick ({args.bare} runs): bare Pyodide with pydantic and openpyxl "
              f"{statistics.median(yard['first']) / 1000:.2f} s first visit, "
              f"{statistics.median(yard['repeat']) / 1000:.2f} s repeat visit "
              "(the issue's figures: about 3.8 s and 1.7 s); imported too: "
              f"{statistics.median(yard['first.imported']) / 1000:.2f} s / "
              f"{statistics.median(yard['repeat.imported']) / 1000:.2f} s")
    print(f"  bytes on a first visit: {med['bytes.score'] / 1e6:.2f} MB until the first score, "
          f"{med['bytes.all'] / 1e6:.2f} MB including the offline cache")


if __name__ == "__main__":
    sys.exit(main())
