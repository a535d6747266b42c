"""Coming back to a draft shows its last score at once, before Python has started.

The engine's last evaluation is remembered (remembered.js, localStorage) with the exact form it
scored and the name of the engine (``config.engine``, build/site.py). Here the engine is held
back by a page-side stand-in for ``Worker`` that never answers, so whatever score the page
shows can only be the remembered one: it must be the seed's (98, 优, the two deviation
errors), be marked stale after an edit, and never be shown for another engine's evaluation.
With the real engine, its own answer replaces the remembered one; deleting a draft drops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    deviation_errors,
    form_state,
    import_seed_draft,
    logged_page,
    open_form,
    poll_until,
    type_into,
    wait_drafts,
)
from jixiao.catalog import example_json

pytestmark = pytest.mark.browser

KEY = "jixiao.lastEvaluation"
BUDGET_RATE = "indicators.0.groups.1.items.0.score"  # 预算完成率（2分）
# A Worker that takes messages and never answers: Python "is still starting" for ever.
SILENT_ENGINE = """
window.Worker = class {
  constructor(url, options) { void (options && options.type); }
  postMessage() {}
  addEventListener() {}
  removeEventListener() {}
  terminate() {}
};
"""


@pytest.fixture
def page(browser: Any, site_server: str) -> Iterator[Any]:
    with logged_page(browser, site_server, service_workers="block") as page:
        yield page


def source(page: Any) -> str | None:
    value: str | None = page.evaluate("() => document.querySelector('#jixiao-form').dataset.scoreSource || null")
    return value


def notice(page: Any) -> str:
    text: str = page.evaluate(
        "() => document.querySelector('#jx-notices [data-key=remembered]')?.textContent || ''")
    return text


def reopen(page: Any, url: str, *, engine: bool) -> Any:
    """A new tab of the same browser profile on the 填报 page, once its draft is restored."""
    tab = page.context.new_page()
    if not engine:
        tab.add_init_script(SILENT_ENGINE)
    open_form(tab, url)
    wait_drafts(tab)  # set after the restored draft was shown (and its score recalled)
    return tab


def test_a_reopened_draft_shows_its_remembered_score_until_the_engine_answers(
        site_server: str, page: Any, tmp_path: Path) -> None:
    url = site_server + "/fill.html"
    open_form(page, url)
    import_seed_draft(page, tmp_path)
    poll_until(page, "() => document.querySelector('#jixiao-form').dataset.scoreSource === 'engine'"
                     " && document.querySelector('[data-testid=total-score]').textContent.trim() === '98'",
               timeout=180, what="the engine scored the seed")
    record = json.loads(poll_until(page, f"() => localStorage.getItem('{KEY}')", what="remembered"))
    assert record["engine"] and '"unit_name":"' in record["input"]
    page.close()

    # Python never starts here: the score shown is the remembered one, with its findings.
    tab = reopen(page, url, engine=False)
    state = form_state(tab)
    assert (state["total"], state["grade"], state["engine"]) == ("98", "优", "loading")
    assert len(deviation_errors(state)) == 2
    assert source(tab) == "remembered" and "上次" in notice(tab)
    # Another draft opened before the engine answers: the result on show is not its own.
    seed_id = tab.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId")
    other_draft = tmp_path / "other.json"
    other_draft.write_text(json.dumps({**json.loads(example_json("jinxian-2021")), "unit_name": "另一单位"},
                                      ensure_ascii=False), encoding="utf-8")
    tab.get_by_label("导入草稿").set_input_files(str(other_draft))
    poll_until(tab, "() => document.querySelector('#jixiao-form').dataset.scoreSource === 'stale'",
               what="the seed's score marked stale for another draft")
    tab.select_option("#jx-draft-select", seed_id)  # back to the seed: its score again
    poll_until(tab, "() => document.querySelector('#jixiao-form').dataset.scoreSource === 'remembered'",
               what="the seed's remembered score again")
    assert form_state(tab)["total"] == "98"
    tab.close()

    # Remembered under another engine (a site built from other code): never shown.
    other = page.context.new_page()
    other.goto(site_server + "/guide.html")
    other.evaluate(f"() => {{ const r = JSON.parse(localStorage.getItem('{KEY}')); const real = r.engine;"
                   f" r.engine = 'another-build'; localStorage.setItem('{KEY}', JSON.stringify(r));"
                   f" window.__real = real; }}")
    tab = reopen(other, url, engine=False)
    state = form_state(tab)
    assert (state["total"], state["seq"], source(tab)) == ("—", 0, None)
    tab.close()
    other.evaluate(f"() => {{ const r = JSON.parse(localStorage.getItem('{KEY}')); r.engine = window.__real;"
                   f" localStorage.setItem('{KEY}', JSON.stringify(r)); }}")

    # With the real engine, its own answer replaces the remembered one.
    tab = reopen(other, url, engine=True)
    poll_until(tab, "() => document.querySelector('#jixiao-form').dataset.scoreSource === 'engine'",
               timeout=180, what="the engine's own score")
    state = form_state(tab)
    assert (state["total"], state["grade"], notice(tab)) == ("98", "优", "")
    tab.close()

    # An edit while Python starts: the remembered score is marked as out of date, not passed off.
    tab = reopen(other, url, engine=False)
    assert source(tab) == "remembered"
    type_into(tab, BUDGET_RATE, "1")
    poll_until(tab, "() => document.querySelector('#jixiao-form').dataset.scoreSource === 'stale'",
               what="the remembered score marked stale")
    assert "已修改" in notice(tab)

    # Deleting a draft leaves no copy of a form behind in the remembered evaluation.
    assert tab.evaluate(f"() => localStorage.getItem('{KEY}')")
    tab.on("dialog", lambda dialog: dialog.accept())  # 删除草稿“…”？
    tab.click("#jx-draft-delete")
    poll_until(tab, f"() => localStorage.getItem('{KEY}') === null", what="the remembered evaluation dropped")
    tab.close()
