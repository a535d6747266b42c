"""One draft open in two tabs (Chromium): neither tab's typing is lost.

Every tab autosaves its whole form. Before, a second tab opened on the same draft and edited
later wrote its older form over the first tab's edits, with no word. Now:

* a tab that has nothing unsaved takes the other tab's saved content at once (BroadcastChannel)
  and says so;
* a tab that never heard (here: a page without BroadcastChannel, as in an opaque origin) and
  edits a draft saved elsewhere since it read it is refused by the store (a read-and-write in
  one IndexedDB transaction). Its form becomes a new draft "…（本页副本）" with a warning, and the
  draft as the other tab saved it is untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    import_seed_draft,
    logged_page,
    open_form,
    poll_until,
    type_into,
    wait_drafts,
    wait_saved,
)

pytestmark = pytest.mark.browser

UNIT = "unit_name"
CONTACT = "contact.name"
STORED = """async (id) => {
  const { loadDraft, listDrafts } = await import('./assets/js/drafts.js');
  const d = await loadDraft(id);
  return { unit: d.submission.unit_name, contact: d.submission.contact?.name ?? '',
           names: (await listDrafts()).map((x) => x.name) };
}"""


def value(page: Any, path: str) -> str:
    return str(page.locator(f'#jixiao-form [data-path="{path}"]').input_value())


def test_two_tabs_on_one_draft_lose_nothing(browser: Any, site_server: str, tmp_path: Path) -> None:
    with logged_page(browser, site_server) as first:
        context = first.context
        open_form(first, f"{site_server}/fill.html")
        import_seed_draft(first, tmp_path)
        draft = wait_drafts(first)
        wait_saved(first)

        second = context.new_page()
        open_form(second, f"{site_server}/fill.html")
        assert wait_drafts(second) == draft  # the last-opened draft, in both tabs

        # Typed in the first tab: the second, with nothing unsaved, takes it.
        type_into(first, UNIT, "甲单位")
        wait_saved(first)
        poll_until(second, "(p) => document.querySelector(`#jixiao-form [data-path='${p}']`).value === '甲单位'",
                   UNIT, what="second tab took the first tab's save")
        poll_until(second, "() => (document.querySelector('#jx-notices')?.textContent || '').includes('另一个标签页')",
                   what="second tab says it took the other tab's save")  # said once the form is written

        # A third tab that cannot hear the others (no BroadcastChannel) holds the draft as it was.
        context.add_init_script("delete window.BroadcastChannel;")
        third = context.new_page()
        open_form(third, f"{site_server}/fill.html")
        assert wait_drafts(third) == draft
        assert value(third, UNIT) == "甲单位"

        type_into(first, UNIT, "乙单位")  # saved in the first tab: the third has not seen it
        wait_saved(first)
        type_into(third, CONTACT, "张三")
        poll_until(third, "(d) => document.querySelector('#jixiao-form').dataset.draftId !== d", draft,
                   what="third tab's form kept as a new draft")
        poll_until(third, "() => (document.querySelector('#jx-notices')?.textContent || '').includes('已另存为新草稿')",
                   what="third tab says its form was kept as a copy")
        assert third.locator("#jx-draft-name").input_value().endswith("（本页副本）")
        assert value(third, CONTACT) == "张三" and value(third, UNIT) == "甲单位"

        stored = first.evaluate(STORED, draft)
        assert stored["unit"] == "乙单位" and stored["contact"] != "张三", stored  # the first tab's, untouched
        assert any(name.endswith("（本页副本）") for name in stored["names"]), stored
