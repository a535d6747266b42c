"""Typing into the 填报 form before its scripts ran loses nothing.

The fields take typing as soon as the parser has drawn them, before app.js (a module, run after
the parser) attaches its handlers and restores the last draft from IndexedDB. Here app.js is
held back by a Playwright route, the user types meanwhile, then app.js is let through: the
typed values must survive the restore, be saved and be scored. Service workers are blocked so
that the route sees every request for app.js (a controlling worker would answer it from its
cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser_fixtures import (
    form_state,
    logged_page,
    open_form,
    poll_until,
    type_into,
    wait_drafts,
    wait_engine,
    wait_saved,
)

pytestmark = pytest.mark.browser

FORM = "#jixiao-form"
BUDGET_RATE = "indicators.0.groups.1.items.0.score"  # 预算完成率（2分）
LEVEL_SUM = "indicators.0.score_sum"  # 管理指标's shown 得分 subtotal


def field(path: str) -> str:
    return f'{FORM} [data-path="{path}"]'


@pytest.fixture
def page(browser: Any, site_server: str) -> Iterator[Any]:
    """A page in a context without service workers; fails the test if a request left the origin."""
    with logged_page(browser, site_server, service_workers="block") as page:
        yield page


def open_with_app_held(page: Any, url: str) -> list[Any]:
    """Navigate with every request for app.js held; return once the form's fields are drawn."""
    held: list[Any] = []
    page.add_init_script("document.addEventListener('DOMContentLoaded', () => { window.__testDcl = true; })")
    page.route("**/assets/js/app.js", lambda route: held.append(route))
    page.goto(url, wait_until="commit")  # "load" would wait for app.js
    page.wait_for_selector(field(BUDGET_RATE), state="visible")
    poll_until(page, "() => document.querySelector('#jx-export') !== null", what="the whole form parsed")
    return held


def release(page: Any, held: list[Any]) -> None:
    assert held, "app.js was never requested"
    for route in held:
        route.continue_()
    page.unroute("**/assets/js/app.js")


def scripts_have_not_run(page: Any) -> bool:
    return bool(page.evaluate("""() => !window.__testDcl
      && !document.querySelector('#jixiao-form').dataset.jxStarted && window.__jxTyped instanceof Set"""))


def wait_scored_with(page: Any, path: str, value: str) -> dict[str, Any]:
    """Wait for an evaluation that shows `value` at the output `path` (``data-out``)."""
    wait_engine(page)
    poll_until(page, """([path, value]) => {
      const root = document.querySelector('#jixiao-form');
      const out = root.querySelector(`[data-out="${path}"]`);
      return Number(root.dataset.evaluatedSeq || 0) >= 1 && out && out.textContent.trim() === value;
    }""", [path, value], what=f"an evaluation with {path} = {value}")
    return form_state(page)


def values(page: Any, *paths: str) -> list[str]:
    return [page.locator(field(p)).input_value() for p in paths]


def assert_first_draft_holds(page: Any, unit_name: str, score: str) -> None:
    """The first draft keeps what was typed: in the form, in the table's head (which repeats the
    unit name), scored, saved, and there again after a reload."""
    draft = wait_drafts(page)
    wait_saved(page)
    assert values(page, "unit_name", BUDGET_RATE) == [unit_name, score]
    assert page.locator(f'{FORM} [data-show="unit_name"]').inner_text() == unit_name
    wait_scored_with(page, LEVEL_SUM, score)
    page.reload()
    assert wait_drafts(page) == draft
    assert values(page, "unit_name", BUDGET_RATE) == [unit_name, score]


def test_typing_before_the_scripts_survives_the_draft_restore(site_server: str, page: Any) -> None:
    url = site_server + "/fill.html"
    # A draft from an earlier visit.
    open_form(page, url)
    draft = wait_drafts(page)
    type_into(page, "unit_name", "甲单位")
    type_into(page, "contact.name", "张三")
    wait_saved(page)

    # Come back; type while app.js is still on its way.
    held = open_with_app_held(page, url)
    assert scripts_have_not_run(page)
    type_into(page, "contact.name", "李四")
    type_into(page, BUDGET_RATE, "1")
    assert scripts_have_not_run(page)
    release(page, held)

    # The draft is restored around the typed fields, which keep the user's values…
    assert wait_drafts(page) == draft
    wait_saved(page)
    assert values(page, "unit_name", "contact.name", BUDGET_RATE) == ["甲单位", "李四", "1"]
    # …are scored…
    shown = wait_scored_with(page, LEVEL_SUM, "1")
    assert shown["seq"] >= 1
    # …and saved: a plain reload finds them in the same draft.
    page.reload()
    assert wait_drafts(page) == draft
    assert values(page, "unit_name", "contact.name", BUDGET_RATE) == ["甲单位", "李四", "1"]


def test_typing_before_the_scripts_on_a_first_visit_becomes_the_draft(site_server: str, page: Any) -> None:
    url = site_server + "/fill.html"
    held = open_with_app_held(page, url)
    assert scripts_have_not_run(page)
    type_into(page, "unit_name", "乙单位")
    type_into(page, BUDGET_RATE, "2")
    release(page, held)

    assert_first_draft_holds(page, "乙单位", "2")


# The first draft's save is held: its request's success handler waits for `__testOpenGate()`.
# The record is in IndexedDB at once; only the page's code waiting for it is held back.
HOLD_FIRST_DRAFT_SAVE = """(() => {
  let gate;
  window.__testGate = new Promise((resolve) => { gate = resolve; });
  window.__testOpenGate = () => gate();
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const req = put.apply(this, args);
    if (this.name !== "drafts" || window.__testHeld) return req;
    window.__testHeld = true;
    const set = Object.getOwnPropertyDescriptor(IDBRequest.prototype, "onsuccess").set;
    Object.defineProperty(req, "onsuccess", {
      set(fn) { set.call(req, (event) => window.__testGate.then(() => fn.call(req, event))); },
    });
    return req;
  };
})();"""


def test_typing_while_the_first_draft_is_saved_is_kept(site_server: str, page: Any) -> None:
    """A first visit saves the form as a new draft; what is typed while that save is on its way
    stays in the form, is saved, and is scored (it was once replaced by the saved copy)."""
    url = site_server + "/fill.html"
    page.add_init_script(HOLD_FIRST_DRAFT_SAVE)
    page.goto(url)
    poll_until(page, "() => window.__testHeld === true", what="the first draft's save under way")
    type_into(page, "unit_name", "丙单位")
    type_into(page, BUDGET_RATE, "2")
    assert not page.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId")
    page.evaluate("() => window.__testOpenGate()")

    assert_first_draft_holds(page, "丙单位", "2")


def test_the_theme_starts_after_the_form_is_ready(site_server: str, page: Any) -> None:
    """Material's bundle no longer holds up DOMContentLoaded (main.html starts it then): it still
    starts (its document$ sees the page) and its search answers."""
    page.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
      const started = !!document.querySelector('#jixiao-form').dataset.jxStarted;
      window.__testAtDcl = { bundle: typeof window.document$, started };
    })""")
    open_form(page, site_server + "/fill.html")
    assert page.evaluate("() => window.__testAtDcl") == {"bundle": "undefined", "started": True}
    poll_until(page, "() => !!window.document$", what="Material's bundle")
    assert page.evaluate("() => new Promise((done) => window.document$.subscribe((d) => done(d === document)))")
    query = page.locator("input[data-md-component=search-query]")
    for _ in range(60):  # the search worker builds its index first
        query.fill("")
        query.fill("草稿")
        query.press("End")  # the theme searches on keyup
        page.wait_for_timeout(250)
        if page.locator(".md-search-result__item").count():
            break
    assert "草稿" in page.inner_text(".md-search-result")


def test_chinese_text_is_set_in_a_named_chinese_font(site_server: str, page: Any) -> None:
    """The stylesheet names Chinese system fonts (portal.css): Chromium then lays out the 附件6
    with one font instead of asking the system for a fallback run by run, which made the first
    layout slower. Debian's is Noto Sans CJK SC (installed by ./dev), in its Simplified Chinese
    forms; every glyph of these cells comes from it."""
    open_form(page, site_server + "/fill.html")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in (f"{FORM} .jx-table caption", f"{FORM} [data-show=\"indicators.0.groups.1.name\"]", "h1"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, selector
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]  # of its text
        assert fonts and {f["familyName"] for f in fonts} == {"Noto Sans CJK SC"}, (selector, fonts)
