"""Firefox for the tests, driven through Marionette (Firefox's own remote protocol).

Playwright drives only its own patched Firefox, which cannot be downloaded here; Debian's
``firefox-esr`` speaks Marionette, whose messages are ``<length>:<json>`` over TCP. This client
does just what the portable edition's tests need: open a page, run a script, set a file input,
save downloads into a folder.

    with firefox(downloads) as ff:
        ff.go("file:///…/fill.html")
        ff.js("return document.title")
        ff.upload("#jx-draft-import", "/path/seed.json")
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BINARY = shutil.which("firefox-esr") or shutil.which("firefox")
# A quiet profile: no update checks, telemetry, safe-browsing lists or captive-portal probes;
# downloads saved without asking.
PREFS: dict[str, Any] = {
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "extensions.update.enabled": False,
    "browser.download.folderList": 2,
    "browser.download.useDownloadDir": True,
    "browser.download.always_ask_before_handling_new_types": False,
    "browser.download.alwaysOpenPanel": False,
    "browser.helperApps.neverAsk.saveToDisk": "application/zip,application/json,text/html,application/octet-stream",
}
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Firefox:
    """One headless Firefox with its own profile, and a Marionette session on it."""

    def __init__(self, binary: str, downloads: Path, port: int) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="jx-firefox-"))
        prefs = {**PREFS, "marionette.port": port, "browser.download.dir": str(downloads)}
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()), encoding="utf-8")
        self.proc = subprocess.Popen([binary, "-marionette", "-headless", "-no-remote", "-profile", str(self.profile)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("Firefox did not start Marionette") from None
                time.sleep(0.2)
        self.sock.settimeout(300)
        self.buffer = b""
        self.sent = 0
        self._read()  # the greeting
        self.cmd("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"pageLoadStrategy": "normal"}}})

    def _read(self) -> Any:
        while b":" not in self.buffer:
            self.buffer += self._recv()
        size, _, rest = self.buffer.partition(b":")
        length = int(size)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("Marionette closed the connection")
        return chunk

    def cmd(self, name: str, params: dict[str, Any] | None = None) -> Any:
        self.sent += 1
        data = json.dumps([0, self.sent, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            message = self._read()
            if message[0] == 1 and message[1] == self.sent:
                if message[2]:
                    raise RuntimeError(f"{name}: {message[2]}")
                return message[3]

    def go(self, url: str) -> None:
        self.cmd("WebDriver:Navigate", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return …``; ``arguments[0]`` …) in the page."""
        return self.cmd("WebDriver:ExecuteScript", {"script": script, "args": list(args)})["value"]

    def click(self, css: str) -> None:
        self.cmd("WebDriver:ElementClick", {"id": self._find(css)})

    def upload(self, css: str, path: Path) -> None:
        """Choose ``path`` in the ``<input type=file>`` at ``css`` (fires input/change)."""
        self.cmd("WebDriver:ElementSendKeys", {"id": self._find(css), "text": str(path)})

    def _find(self, css: str) -> str:
        found = self.cmd("WebDriver:FindElement", {"using": "css selector", "value": css})["value"]
        return str(found[ELEMENT])

    def poll(self, script: str, *args: Any, timeout: float = 180, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                state = self.js("const r = document.querySelector('#jixiao-form')"
                                " || document.querySelector('#jx-verify'); return r && {...r.dataset};")
                raise AssertionError(f"Firefox: timed out waiting for {what or script}: {state}")
            time.sleep(0.1)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cmd("Marionette:Quit")
        with contextlib.suppress(Exception):
            self.sock.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def firefox(downloads: Path) -> Iterator[Firefox]:
    """A headless Firefox saving downloads into ``downloads``; the caller skips when BINARY is None."""
    assert BINARY is not None
    downloads.mkdir(parents=True, exist_ok=True)
    browser = Firefox(BINARY, downloads, free_port())
    try:
        yield browser
    finally:
        browser.close()
