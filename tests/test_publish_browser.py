"""The published site in Chromium: hostile texts show literally and run nothing, search works
offline, nothing is requested off the origin, the table scrolls on a phone and fits A4.

The XSS pages are opened from file:// on purpose: there is no Content-Security-Policy there,
so only the escaping stands between a payload and the page (the served site's CSP would block
inline scripts anyway and hide a mistake).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jixiao.bundle import PrivateKey, verify_file
from jixiao.publish import PublishReport, publish
from jixiao.publish.pages import department_slug
from jixiao.server import create_app
from publish_helpers import HOSTILE, HOSTILE_CODE, HOSTILE_DEPT, HOSTILE_NAME, write_inputs

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "img" / "publish-unit.png"
PROBE = "() => ({pwned: window.__pwned === undefined ? null : String(window.__pwned)})"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PublishReport]:
    root = tmp_path_factory.mktemp("publish-browser")
    write_inputs(root / "in", PrivateKey.generate(), PrivateKey.generate())
    report = publish([root / "in"], root / "site", PrivateKey.generate(), "2022-06-01T10:00:00+08:00")
    return root / "site", report


def _slug(report: PublishReport, code: str) -> str:
    return next(e.slug for e in report.published if e.copy.submission.unit_code == code)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records requests and any dialog (an alert would mean a script ran)."""
    context = browser.new_context()
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.requests = []
    page.dialogs = []
    context.on("request", lambda request: page.requests.append(request.url))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def _poll(page: Any, script: str, timeout: float = 20.0) -> Any:
    """page.wait_for_function is refused by a strict CSP: poll with evaluate instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {script}")


def _search(page: Any, word: str, timeout: float = 30.0) -> str:
    """Type a query and return the results' text; retried until the search worker is ready."""
    query = page.locator("input[data-md-component=search-query]")
    count = "() => document.querySelectorAll('.md-search-result__item').length"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        query.fill("")
        query.press("End")
        _poll(page, f"() => ({count})() === 0")  # no stale results from the last query
        query.fill(word)
        query.press("End")  # the theme searches on keyup; a filled CJK query sends none
        for _ in range(30):
            if page.evaluate(count):
                return str(page.inner_text(".md-search-result"))
            time.sleep(0.1)
    raise AssertionError(f"no search result for {word}")


def test_hostile_texts_show_literally_and_run_nothing(site: tuple[Path, PublishReport], page: Any) -> None:
    out, report = site
    slug = _slug(report, HOSTILE_CODE)
    dept = f"2021/{department_slug(2021, HOSTILE_DEPT)}.html"
    for rel in (f"units/{slug}.html", "index.html", "2021/index.html", dept):
        page.goto((out / rel).as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # give an onerror or onload handler time to fire
        assert page.evaluate(PROBE) == {"pwned": None}, rel
        assert page.dialogs == [], rel
        text = page.inner_text(".jx-pub")
        if rel.startswith("units/"):
            for payload in HOSTILE:
                assert payload in text, payload
            assert "49" not in text.split("{{ 7*7 }}")[0][-5:]  # no template ran
        assert HOSTILE_DEPT in text, rel
        if rel != "index.html":
            assert HOSTILE_NAME in text, rel
        counts = page.evaluate("""() => ({
            scripts: document.querySelectorAll('.jx-pub script').length,
            imgs: document.querySelectorAll('.jx-pub img, .jx-pub svg').length,
            js_links: [...document.querySelectorAll('a[href]')]
                .filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
            handlers: [...document.querySelectorAll('.jx-pub *')]
                .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        })""")
        assert counts == {"scripts": 0, "imgs": 0, "js_links": 0, "handlers": 0}, (rel, counts)
        title = page.title()
        assert "<" not in title and "\"" not in title
    assert page.evaluate(PROBE) == {"pwned": None}
    assert [u for u in page.requests if not u.startswith(("file://", "data:", "blob:"))] == []


def test_served_site_search_phone_print_and_screenshot(site: tuple[Path, PublishReport], browser: Any,
                                                       page: Any) -> None:
    from browser_fixtures import serving

    out, report = site
    seed, hostile = _slug(report, "360124-KGX"), _slug(report, HOSTILE_CODE)
    with serving(create_app(out)) as base:
        page.set_viewport_size({"width": 1280, "height": 1900})  # the summary and the start of 附件6
        page.goto(f"{base}/units/{seed}.html")
        assert "公开版（脱敏副本）" in page.inner_text("[data-testid=redacted-note]")
        assert page.inner_text("[data-testid=total]") == "98"
        assert page.inner_text("[data-testid=grade]") == "优"
        assert "jinxian-2021" in page.inner_text("[data-testid=framework]")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=False)

        # Chinese full-text search, offline: the lunr worker reads the local index only
        page.goto(f"{base}/index.html")
        assert "进贤县科技和工业信息化局" in _search(page, "科技和工业信息化局")
        assert "绩效" in _search(page, "绩效")
        # hostile texts shown as search snippets stay text too
        assert "<script>" in _search(page, "恶意")
        page.wait_for_timeout(300)
        assert page.evaluate(PROBE) == {"pwned": None} and page.dialogs == []

        # a phone: the page does not overflow, the 附件6 table scrolls inside its wrapper
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/units/{hostile}.html")
        widths = page.evaluate("""() => { const s = document.querySelector('.jx-scroll:has(.jx-form)');
            return {doc: document.documentElement.scrollWidth, win: window.innerWidth,
                    inner: s.scrollWidth, outer: s.clientWidth, overflow: getComputedStyle(s).overflowX}; }""")
        assert widths["doc"] <= widths["win"] + 1, widths
        assert widths["inner"] > widths["outer"] and widths["overflow"] == "auto", widths

        # A4: printed, the table is not clipped and fits the page width (A4 is 794 CSS px wide)
        page.set_viewport_size({"width": 794, "height": 1123})
        page.emulate_media(media="print")
        printed = page.evaluate("""() => { const t = document.querySelector('.jx-form');
            const s = t.closest('.jx-scroll');
            return {table: t.getBoundingClientRect().width, overflow: getComputedStyle(s).overflowX,
                    nav: getComputedStyle(document.querySelector('.md-header')).display}; }""")
        assert printed["table"] <= 794 and printed["overflow"] == "visible" and printed["nav"] == "none", printed
        assert page.pdf(format="A4")[:4] == b"%PDF"
        page.emulate_media(media="screen")

        page.goto(f"{base}/verify.html")
        assert "jixiao verify" in page.inner_text(".jx-pub")
        page.goto(f"{base}/units/{seed}.html")
        href = page.evaluate("() => document.querySelector('[data-testid=download-zip]').href")
        download = page.request.get(href)
        assert download.ok and verify_file("public.zip", download.body()).ok
        offsite = [u for u in page.requests if not u.startswith((base + "/", "data:", "blob:"))]
        assert offsite == []
        assert any(u.endswith("search_index.json") for u in page.requests)
