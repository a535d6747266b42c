"""Site storage refused (a private window, or a browser set to block site data): the page says
so, still scores, and 导出草稿 saves what was typed.

Chromium with site data blocked throws a SecurityError on reading `window.indexedDB` and
`window.localStorage`; an init script does the same before any of the page's scripts run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import import_seed_draft, open_form, poll_until, type_into, wait_total

pytestmark = pytest.mark.browser

BLOCK_STORAGE = """
for (const name of ["indexedDB", "localStorage"]) {
  Object.defineProperty(window, name, {
    configurable: true,
    get() { throw new DOMException(`Access to ${name} is denied for this document.`, "SecurityError"); },
  });
}
"""
NOTICE = '#jx-notices [data-key="drafts"]'


def test_blocked_storage_is_said_and_export_keeps_the_typing(page_logged: Any, site_server: str,
                                                              tmp_path: Path) -> None:
    page = page_logged
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(BLOCK_STORAGE)
    open_form(page, f"{site_server}/fill.html")
    poll_until(page, "() => document.querySelector('#jixiao-form').dataset.draftState === 'unavailable'",
               what="drafts marked unavailable")
    notice = page.locator(NOTICE)
    notice.wait_for()
    assert "不允许本页保存草稿" in notice.inner_text() and "导出草稿" in notice.inner_text()

    # Filling in and scoring work as anywhere else, drafts in memory for this page.
    import_seed_draft(page, tmp_path)
    wait_total(page, "98")
    type_into(page, "unit_name", "隐私窗口里的单位")
    with page.expect_download() as info:
        notice.get_by_role("button", name="导出草稿").click()
    saved = tmp_path / "exported.json"
    info.value.save_as(saved)
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert doc["unit_name"] == "隐私窗口里的单位"
    assert doc["total"] == "98"
    assert not errors, errors
