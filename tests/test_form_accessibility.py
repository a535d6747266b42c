"""The 填报 page for keyboard and screen-reader users, in Debian's Chromium through Playwright.

What such a user depends on: every box in the table says which row it belongs to ("预算完成率
得分", not a bare "得分"; a row just added and not yet named says its group); the add/remove
buttons say which group or row; the engine's start-up and the results are announced politely,
once, not per percent or keystroke; and the focus stays where the user is when the page changes
under it.

Names are read from Chromium's accessibility tree (``get_by_role`` matches the computed name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import import_seed_draft, open_form, poll_until, wait_drafts, wait_engine, wait_total

pytestmark = pytest.mark.browser

FORM = "#jixiao-form"
BUDGET_RATE = "indicators.0.groups.1.items.0.score"  # 管理指标 / 预算执行管理 / 预算完成率（2分）


def path_of(locator: Any) -> str:
    return str(locator.get_attribute("data-path"))


def test_every_box_in_the_table_names_its_row(site_server: str, page_logged: Any) -> None:
    page = page_logged
    open_form(page, site_server + "/fill.html")
    wait_drafts(page)  # the drafts bar re-renders the tree from the templates: names must survive it
    form = page.locator(FORM)

    def box(name: str, role: str = "textbox") -> str:
        found = form.get_by_role(role, name=name, exact=True)  # type: ignore[arg-type]
        assert found.count() == 1, (name, found.count())
        return path_of(found)

    # 三级 rows: the indicator's name, then the column's official name.
    assert box("预算完成率 得分") == BUDGET_RATE
    assert box("预算完成率 分值") == "indicators.0.groups.1.items.0.max_score"
    assert box("预算完成率 年度指标值") == "indicators.0.groups.1.items.0.target"
    assert box("预算完成率 全年完成值") == "indicators.0.groups.1.items.0.actual"
    assert box("预算完成率 偏差及原因分析") == "indicators.0.groups.1.items.0.deviation"
    names = form.get_by_role("textbox", name="预算执行管理 三级指标", exact=True)  # the box's value says which
    assert [path_of(names.nth(i)) for i in range(names.count())] == [
        "indicators.0.groups.1.items.0.name", "indicators.0.groups.1.items.1.name"]
    # 权重: which 一级; the funds: which row.
    assert box("管理指标 权重") == "indicators.0.weight"
    assert box("资金来源：（1）财政拨款 全年预算数") == "funds.fiscal.budget"
    assert box("合计 执行率") == "funds.total.rate"
    # No box in the table is left with a bare column name.
    bare = {"得分", "分值", "年度指标值", "全年完成值", "偏差及原因分析", "权重", "全年预算数", "全年执行数", "执行率"}
    for name in bare:
        assert form.get_by_role("textbox", name=name, exact=True).count() == 0, name

    # 添加三级指标 says which group; the new row's 删除 says which row, by the name as typed.
    add = form.get_by_role("button", name="添加三级指标 预算执行管理", exact=True)
    assert add.count() == 1
    add.focus()
    page.keyboard.press("Enter")
    new_name = "indicators.0.groups.1.items.2.name"
    poll_until(page, "(p) => document.activeElement?.dataset?.path === p", new_name, what="focus on the new row")
    # Until it has a name, the new row's boxes say whose group they are in, not a bare "得分".
    unnamed = "预算执行管理下未命名的指标"
    assert box(f"{unnamed} 得分") == "indicators.0.groups.1.items.2.score"
    assert form.get_by_role("button", name=f"删除此行 {unnamed}", exact=True).count() == 1
    page.keyboard.type("自设指标")
    assert box("自设指标 得分") == "indicators.0.groups.1.items.2.score"
    assert form.get_by_role("textbox", name=f"{unnamed} 得分", exact=True).count() == 0
    assert box("预算完成率 得分") == BUDGET_RATE  # the named rows never carried the words
    remove = form.get_by_role("button", name="删除此行 自设指标", exact=True)
    assert remove.count() == 1

    # Removing it (confirmed: the row has content) puts the focus on its group's 添加 button.
    page.once("dialog", lambda dialog: dialog.accept())
    remove.focus()
    page.keyboard.press("Enter")
    poll_until(page, "() => document.activeElement?.dataset?.action === 'add-item'", what="focus after removal")
    assert page.evaluate("() => document.activeElement.dataset.groupPath") == "indicators.0.groups.1"
    assert form.get_by_role("textbox", name="自设指标 得分", exact=True).count() == 0


# Records every text the engine's status line (a live region) and the results announcer take.
RECORD = """() => {
  window.__jxSaid = { status: [], announce: [] };
  const watch = (id, into) => {
    const el = document.getElementById(id);
    if (!el) return false;
    new MutationObserver(() => window.__jxSaid[into].push(el.textContent))
      .observe(el, { childList: true, characterData: true, subtree: true });
    return true;
  };
  const start = () => { watch('jx-status', 'status'); watch('jx-announce', 'announce'); };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}"""


def test_start_up_and_results_are_announced_politely_and_the_focus_stays(
        site_server: str, page_logged: Any, tmp_path: Path) -> None:
    page = page_logged
    page.add_init_script(f"({RECORD})()")
    open_form(page, site_server + "/fill.html")
    wait_engine(page)

    # The status line says each stage once; the percent is the progress bar's value.
    said = page.evaluate("() => window.__jxSaid.status")
    assert said and not any("%" in text for text in said), said
    assert len(said) == len(set(said)) <= 6, said
    bar = page.get_by_role("progressbar", name="评分引擎加载进度")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert bar.get_attribute("aria-valuetext")

    import_seed_draft(page, tmp_path)
    wait_total(page, "98")
    poll_until(page, "() => document.getElementById('jx-announce').textContent.includes('总分 98')",
               what="the seed's result announced")
    # Notices ("已导入…为新草稿") are added to a polite live region, so they are read out too: each
    # had role="status" of its own, which most screen readers do not read when inserted whole.
    notice = poll_until(page, """() => [...document.querySelectorAll('#jx-notices .jx-notice')]
        .filter((n) => n.textContent.includes('已导入')).map((n) => ({
          live: n.closest('[aria-live]')?.getAttribute('aria-live'), role: n.getAttribute('role') }))[0]""",
                        what="the import notice")
    assert notice == {"live": "polite", "role": None}, notice

    # Typing a score, key by key: the result is announced once, after the pause, with the
    # finding now on the focused field.
    page.evaluate("() => { window.__jxSaid.announce = []; }")
    score = page.locator(f'{FORM} [data-path="{BUDGET_RATE}"]')
    score.focus()
    page.keyboard.press("Control+A")
    for key in ("1", "0", "Backspace"):
        page.keyboard.press(key)
        page.wait_for_timeout(150)
    poll_until(page, "() => window.__jxSaid.announce.length > 0", what="an announcement")
    page.wait_for_timeout(2000)
    announced = page.evaluate("() => window.__jxSaid.announce")
    assert len(announced) == 1, announced
    assert announced[0].startswith("总分 97，等级 优；错误 "), announced
    assert "本项：警告：“预算完成率”" in announced[0], announced  # its aria-describedby message
    assert score.get_attribute("aria-describedby")

    # A finding, by keyboard: Enter moves the focus to its field.
    finding = page.locator(f'[data-testid=findings] button[data-target-path="{BUDGET_RATE}"]').first
    finding.focus()
    page.keyboard.press("Enter")
    poll_until(page, "(p) => document.activeElement?.dataset?.path === p", BUDGET_RATE, what="focus on the field")

    # The list is rebuilt while a keyboard user is in it (a change scored meanwhile): the focus
    # stays on that finding rather than falling back to the top of the page.
    finding.focus()
    before = page.evaluate("() => document.querySelector('#jx-findings-list').dataset.signature")
    page.evaluate("""(p) => {
      const el = document.querySelector(`#jixiao-form [data-path="${p}"]`);
      el.value = '1';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }""", "indicators.0.groups.1.items.1.score")  # 三公经费控制率 2 → 1: a new finding in the list
    poll_until(page, "(b) => document.querySelector('#jx-findings-list').dataset.signature !== b", before,
               what="the findings list rebuilt")
    inside = page.evaluate("""() => {
      const el = document.activeElement;
      return { inList: !!el.closest('#jx-findings-list'), target: el.dataset.targetPath || null };
    }""")
    assert inside == {"inList": True, "target": BUDGET_RATE}, inside


def test_arrowing_through_the_draft_list_opens_only_the_draft_picked(site_server: str, page_logged: Any) -> None:
    """A closed <select> changes, and fires "change", on every arrow key: each draft passed on
    the way was opened, the whole form rewritten under the user. Now Enter (or leaving the list)
    opens the draft the keys picked; the mouse still opens at once."""
    page = page_logged
    open_form(page, site_server + "/fill.html")
    draft = "() => document.querySelector('#jixiao-form').dataset.draftId"
    first = wait_drafts(page)
    ids = [first]
    for _ in range(2):  # three drafts in all, the newest opened
        page.get_by_role("button", name="新建", exact=True).click()
        ids.append(poll_until(page, f"(ids) => !ids.includes(({draft})()) && ({draft})()", ids, what="a new draft"))
    order = page.evaluate("() => [...document.querySelectorAll('#jx-draft-select option')].map((o) => o.value)")
    assert sorted(order) == sorted(ids) and page.evaluate(draft) == ids[-1]
    opened: list[str] = []
    page.expose_function("jxOpened", lambda draft_id: opened.append(draft_id))
    page.evaluate("""() => {
      const root = document.querySelector('#jixiao-form');
      new MutationObserver(() => window.jxOpened(root.dataset.draftId))
        .observe(root, { attributes: true, attributeFilter: ['data-draft-id'] });
    }""")

    select = page.get_by_role("combobox", name="草稿", exact=True)
    assert select.get_attribute("aria-describedby")
    select.focus()
    here = order.index(ids[-1])
    assert here in (0, 2), order  # the newest draft is at one end of the list
    step, target = ("ArrowDown", order[2]) if here == 0 else ("ArrowUp", order[0])
    page.keyboard.press(step)
    page.keyboard.press(step)
    page.wait_for_timeout(500)
    assert page.evaluate(draft) == ids[-1] and not opened, opened  # nothing opened on the way
    page.keyboard.press("Enter")
    poll_until(page, f"(t) => ({draft})() === t", target, what="the picked draft opened")
    page.wait_for_timeout(300)
    assert opened == [target], opened
    assert page.evaluate("() => document.activeElement.id") == "jx-draft-select"

    # The mouse (a pick from the open list) opens at once.
    page.select_option("#jx-draft-select", ids[-1])
    poll_until(page, f"(t) => ({draft})() === t", ids[-1], what="the draft picked by mouse opened")


def test_keys_typed_on_a_button_of_the_form_do_not_leave_the_page(site_server: str, page_logged: Any) -> None:
    """Material's shortcuts ('.' next page, ',' previous page, 's' search) took "1.2" typed while
    the focus sat on 删除此行 (between two boxes in the Tab order) and left the form mid-entry.
    Outside the page's content (the header) they still work."""
    page = page_logged
    open_form(page, site_server + "/fill.html")
    wait_drafts(page)
    page.wait_for_function("() => document.querySelector('.md-search') !== null && window.component$ !== undefined")
    page.locator(f'{FORM} button[data-action="add-item"]').first.click()  # the new row's name has the focus
    page.keyboard.type("信息公开率")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.action") == "remove-item"
    page.keyboard.type("1.2,s")
    page.wait_for_timeout(300)
    assert page.url.endswith("/fill.html"), page.url
    assert not page.evaluate("document.getElementById('__search').checked")
    page.locator("body").focus()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press(".")  # Material's own shortcut, outside the form: the next page
    page.wait_for_url("**/framework.html")


def test_a_table_wider_than_the_window_shows_a_shadow_where_columns_are_hidden(site_server: str,
                                                                                page_logged: Any) -> None:
    """QA: at 800 px the 附件6 table scrolled sideways with no cue that columns were cut off. A
    shadow now darkens the edge that hides columns, and goes once that edge is reached. The
    table's own text is hidden here, so each edge's pixels are the box's background alone, held
    against the same edge with that background removed."""
    page = page_logged
    page.set_viewport_size({"width": 800, "height": 900})
    open_form(page, site_server + "/fill.html")
    wait_drafts(page)
    wait_engine(page)  # nothing above the table moves any more
    wrap = page.locator(".jx-table-wrap").first
    wrap.scroll_into_view_if_needed()
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth + 50")
    page.add_style_tag(content=".jx-table-wrap > table { visibility: hidden; }")

    def edges() -> tuple[bytes, bytes]:
        """The box's left and right 6 px, as pixels (PNG)."""
        page.wait_for_timeout(100)
        box = wrap.bounding_box()
        assert box is not None
        return tuple(page.screenshot(clip={"x": x, "y": box["y"], "width": 6, "height": box["height"]})  # type: ignore[return-value]
                     for x in (box["x"], box["x"] + box["width"] - 6))

    wrap.evaluate("w => { w.style.background = 'none'; }")
    blank = edges()
    wrap.evaluate("w => { w.style.background = ''; }")
    shaded = [(left != blank[0], right != blank[1]) for left, right in [edges()]]
    wrap.evaluate("w => { w.scrollLeft = (w.scrollWidth - w.clientWidth) / 2; }")
    shaded += [(left != blank[0], right != blank[1]) for left, right in [edges()]]
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    shaded += [(left != blank[0], right != blank[1]) for left, right in [edges()]]
    # at the start only the right edge hides columns; in the middle both; at the end only the left
    assert shaded == [(False, True), (True, True), (True, False)], shaded


def test_notes_look_like_notes_and_no_empty_box_stands_for_a_missing_key(site_server: str,
                                                                          page_logged: Any) -> None:
    """QA: the framed "不公开" tags beside the contact boxes read as buttons to press, and an empty
    grey code box followed "尚未生成签名密钥"."""
    page = page_logged
    open_form(page, site_server + "/fill.html")
    wait_drafts(page)
    tag = page.locator(".jx-private").first
    style = tag.evaluate("""t => { const s = getComputedStyle(t);
      return [s.borderTopStyle, getComputedStyle(t, '::before').content, getComputedStyle(t, '::after').content]; }""")
    assert style == ["none", '"（"', '"）"'], style
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'none'", what="no key yet")
    # (read from the style, not by layout: the section below the first screen is laid out lazily)
    shown = "() => getComputedStyle(document.querySelector('[data-testid=key-fingerprint]')).display"
    assert page.locator("[data-testid=key-status]").text_content() == "尚未生成签名密钥。"
    assert page.evaluate(shown) == "none"
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState !== 'none'", what="key made")
    assert page.evaluate(shown) != "none" and page.locator("[data-testid=key-fingerprint]").text_content()


def test_a_key_made_before_eight_in_the_morning_is_dated_that_beijing_day(site_server: str,
                                                                          page_logged: Any) -> None:
    """QA: at 04:53 Beijing time on 12-08 the key status and its 公钥登记表 said 生成于 2026-12-07 (the
    UTC date), beside an export signed 2026-12-08 04:53."""
    from datetime import UTC, datetime

    page = page_logged
    page.clock.set_fixed_time(datetime(2026, 12, 7, 20, 53, tzinfo=UTC))  # 2026-12-08 04:53 in Beijing
    open_form(page, site_server + "/fill.html")
    wait_drafts(page)
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'none'", what="no key yet")
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState !== 'none'", what="key made")
    status = page.locator("[data-testid=key-status]").text_content() or ""
    assert "生成于 2026-12-08" in status, status
