"""The first key press kept on a first visit, with and without Playwright attached to the browser.

Run: python benchmarks/bench_typing_pipe.py [--pairs 8] [--site DIR]
Prints figures; asserts nothing.

Why: `bench_portal.py` drives Chromium through Playwright, which attaches to every page (the
Runtime domain, its own isolated world, its init scripts). A trace of a first visit shows that
work inside the navigation's commit, before the page's HTML is parsed: the main world's
context took 52 ms to set up, 18 of them creating Playwright's utility world, against 15 ms
for the context alone. A unit's browser does none of it. So this script makes first visits
in pairs, one as `bench_portal.py` does (Playwright) and one over a bare DevTools pipe
(`--remote-debugging-pipe`: only the Page domain, the same key recorder as an init script in
the page's own world, key presses through `Input.dispatchKeyEvent`, nothing read back until
the engine has scored), and prints both medians. "A key press kept" is as in bench_portal.py:
the later of the first key press that reached the score field, the end of the frame that drew
that field, and the first contentful paint. Each pipe visit also checks that every key that
reached the field is still in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_portal as bp

READ_BACK = f"JSON.stringify(({bp.KEYS_READ_BACK})({json.dumps(bp.FIELD)}))"


class Pipe:
    """Chromium driven over `--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        to_browser, self._commands = os.pipe()
        self._answers, from_browser = os.pipe()

        def wire() -> None:
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.proc = subprocess.Popen(
            [bp.CHROMIUM, "--headless", "--remote-debugging-pipe", f"--user-data-dir={profile}", *bp.ARGS,
             "about:blank"], preexec_fn=wire, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:  # events are read and dropped: nothing here subscribes to any
            while b"\0" not in self._buffer:
                chunk = os.read(self._answers, 65536)
                if not chunk:
                    raise EOFError("Chromium closed the DevTools pipe")
                self._buffer += chunk
            text, _, self._buffer = self._buffer.partition(b"\0")
            answer = json.loads(text)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def close(self) -> None:
        with contextlib.suppress(EOFError, OSError, RuntimeError):
            self.send("Browser.close")
        self.proc.wait(10)
        os.close(self._commands)
        os.close(self._answers)


def pipe_visit(base: str, profile: Path) -> dict[str, Any]:
    browser = Pipe(profile)
    try:
        page = next(t for t in browser.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = browser.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        browser.send("Page.enable", {}, session)  # init scripts need it; Runtime is never enabled
        browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": bp.KEYS}, session)
        time.sleep(bp.SETTLE)
        browser.send("Page.navigate", {"url": base + "/fill.html"}, session)
        start = time.monotonic()
        while time.monotonic() - start < 1.5:  # about ten presses a second, as bench_portal's loop
            browser.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "7", "code": "Digit7",
                                                    "windowsVirtualKeyCode": 55, "text": "7"}, session)
            browser.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "7", "code": "Digit7",
                                                    "windowsVirtualKeyCode": 55}, session)
            time.sleep(0.08)
        deadline = time.monotonic() + 60
        while not browser.send("Runtime.evaluate", {
                "expression": "!!document.querySelector('#jixiao-form').dataset.engineEvaluatedAt",
                "returnByValue": True}, session)["result"].get("value"):
            if time.monotonic() > deadline:
                raise TimeoutError("the engine never scored")
            time.sleep(0.05)
        answer = browser.send("Runtime.evaluate", {"expression": READ_BACK, "returnByValue": True}, session)
        out: dict[str, Any] = json.loads(answer["result"]["value"])
    finally:
        browser.close()
    return bp.keys_outcome(out)


def playwright_visit(pw: Any, base: str, profile: Path) -> dict[str, Any]:
    context = pw.chromium.launch_persistent_context(profile, executable_path=bp.CHROMIUM, args=bp.ARGS,
                                                    headless=True, service_workers="allow")
    try:
        context.add_init_script(bp.KEYS)
        return bp.typing_visit(context, base)
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--site", type=Path, default=bp.REPO / ".cache" / "site",
                        help="built site folder (built first if missing or stale)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from jixiao.server import create_app
    from jixiao.sitebuild import ensure_site

    ensure_site(args.site, "jinxian-2021")
    print(f"machine: {bp.machine()}")
    app = create_app(args.site)
    app.state.gzip_warming.join()
    kept: dict[str, list[float]] = {"pipe": [], "playwright": []}
    with bp.serve(app) as base, sync_playwright() as pw:
        for pair in range(1, args.pairs + 1):
            for how in kept:
                profile = Path(tempfile.mkdtemp(prefix="jx-typing-"))
                try:
                    out = pipe_visit(base, profile) if how == "pipe" else playwright_visit(pw, base, profile)
                finally:
                    shutil.rmtree(profile, ignore_errors=True)
                if not out["kept"]:
                    raise AssertionError(f"typed key presses were lost: {out}")
                kept[how].append(out["accepted"])
                print(f"pair {pair} {how:10s}: key press kept {out['accepted']:.0f} ms (first press in the field "
                      f"{out['first']:.0f}, field drawn {out['drawn']:.0f}, first paint {out['paint'] or 0:.0f})",
                      flush=True)
    for how, values in kept.items():
        print(f"{how:10s}: first visit, a key press kept: median {statistics.median(values):.0f} ms "
              f"({min(values):.0f}–{max(values):.0f}) [≤ 300 ms]")


if __name__ == "__main__":
    main()
