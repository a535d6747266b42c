"""The supervisor's dashboard in a real browser (Debian's Chromium): entering a review works.

The intake tests post the review form with hand-written headers; a browser decides its own
`Origin`. The page once sent `Referrer-Policy: no-referrer`, under which Chromium sends
`Origin: null` on the page's own form, and the same-origin check refused every review typed on
the dashboard. Here the real `jixiao serve --store --review-key` is driven by a browser that
signs in with the credential (HTTP Basic, as a supervisor's browser asks for it):

* a score above 100 is refused on a readable page (not raw JSON) naming the limit, with a link
  back to the unit's row, and nothing is recorded;
* a valid score with a note is signed and recorded, the page comes back to the dashboard and
  shows the score and the note as text (the note's markup is not interpreted);
* a page on another site that makes the signed-in browser post a review (a `text/plain` form
  shaped as JSON, which needs no CORS preflight) is refused and records nothing.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from consolidate_helpers import own_bundle, supervisor
from jixiao.bundle.keys import key_file_json
from jixiao.store import Store
from jixiao_process import JIXIAO, answers, free_port, stand_in_site, stop, wait_up

pytestmark = pytest.mark.browser

TOKEN = "admin-browser-token-0123"


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`jixiao serve` with a store holding the department's own bundle, and a review key."""
    key_file = tmp_path / "supervisor.key"
    key_file.write_text(key_file_json(supervisor()), encoding="utf-8")
    key_file.chmod(0o600)
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    db = tmp_path / "intake.sqlite"
    port = free_port()
    proc = subprocess.Popen([JIXIAO, "serve", "--site", str(stand_in_site(tmp_path / "site")), "--port", str(port),
                             "--store", str(db), "--token-file", str(token_file), "--review-key", str(key_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_up(proc, answers(base)), "jixiao serve did not start"
        posted = httpx.post(base + "/api/bundles", content=own_bundle()[1], headers={"Content-Type": "application/zip"})
        assert posted.status_code == 201, posted.text
        yield base, db
    finally:
        print(stop(proc))


def test_review_entered_on_the_dashboard(browser: Any, dashboard: tuple[str, Path]) -> None:
    base, db = dashboard
    context = browser.new_context(http_credentials={"username": "主管", "password": TOKEN})
    try:
        page = context.new_page()
        page.goto(base + "/admin/")
        row = page.locator('tr[id="u-360124-KGX"]')
        assert "进贤县科技和工业信息化局" in row.inner_text()

        row.locator("input[name=score]").fill("120")
        with page.expect_navigation():
            row.locator("button[type=submit]").click()
        assert page.locator("h1").inner_text() == "复核未记录"
        assert "超过上限 100" in page.locator("[role=alert]").inner_text()
        back = page.locator("a", has_text="返回主管部门工作台")
        assert back.get_attribute("href") == "/admin/?year=2021#u-360124-KGX"
        with Store(db, create=False) as store:
            assert store.review_rows("360124-KGX", 2021) == []

        with page.expect_navigation():
            back.click()
        row = page.locator('tr[id="u-360124-KGX"]')
        row.locator("input[name=score]").fill("96")
        row.locator("input[name=note]").fill("支出进度偏慢<b>请说明</b>")
        with page.expect_navigation():
            row.locator("button[type=submit]").click()
        assert page.url.startswith(base + "/admin/?year=2021"), page.url
        text = page.locator('tr[id="u-360124-KGX"]').inner_text()
        assert "96" in text and "支出进度偏慢<b>请说明</b>" in text, text
        # Times in Beijing time: the bundle was signed at 2022-03-01T10:00:00+08:00.
        assert "2022-03-01 10:00:00" in text and "本页时间均为北京时间" in page.inner_text("body"), text
        with Store(db, create=False) as store:
            [recorded] = store.review_rows("360124-KGX", 2021)
        assert recorded.sha256
    finally:
        context.close()


def _other_site(target: str) -> ThreadingHTTPServer:
    """A page on another site (127.0.0.2) that auto-submits a review of 7 to `target`."""
    page = ('<!doctype html><meta charset=utf-8><title>别的网站</title>'
            f'<form id=f method=post enctype="text/plain" action="{target}">'
            """<input name='{"unit_code":"360124-KGX","year":2021,"score":"7","note":"forged","pad":"' value='"}'>"""
            "</form><script>document.getElementById('f').submit()</script>").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_review_posted_by_another_site_is_refused(browser: Any, dashboard: tuple[str, Path]) -> None:
    base, db = dashboard
    other = _other_site(base + "/api/admin/reviews")
    context = browser.new_context(http_credentials={"username": "主管", "password": TOKEN})
    try:
        page = context.new_page()
        page.goto(base + "/admin/")  # signed in: the browser now sends the credential when asked
        with page.expect_navigation(url=base + "/api/admin/reviews"):
            page.goto(f"http://127.0.0.2:{other.server_port}/")
        assert "其他网站" in page.inner_text("body")
        with Store(db, create=False) as store:
            assert store.review_rows("360124-KGX", 2021) == []
    finally:
        context.close()
        other.shutdown()
