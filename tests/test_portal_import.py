"""What a unit brings to the 填报 page from elsewhere: draft files and key files, and what the
page signs. Each case once lost or changed what the unit entered without saying so.

- A draft saved as GBK was decoded with U+FFFD for every Chinese character and imported as a
  new draft ("已导入"); now refused, as `jixiao check` refuses it.
- A draft file that leaves out what the model defaults (schema_version, unit_kind) showed those
  empty: an error on a hidden field the unit could not fix, and an exported draft the CLI refused.
- A draft of a framework the site does not have was said to be checked "by its own framework",
  while the findings said it was scored by the page's.
- A value the checker cannot read ("二分" in a 得分 box) was signed as blank; the CLI refuses
  such a form, and now the page does too.
- An imported SM2 key was described as Ed25519.
- A 73 kB draft of 20,000 empty rows (the model allows 400,000) froze the page; the page now
  takes at most 2,000 and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    form_state,
    open_form,
    open_form_with_seed,
    poll_until,
    type_into,
    wait_drafts,
    wait_engine,
)
from jixiao.catalog import example_json
from jixiao.model.submission import Submission
from jixiao_process import run_jixiao

pytestmark = pytest.mark.browser
SCORE = "indicators.0.groups.1.items.0.score"  # 预算完成率（2分）
NOTICE = '#jx-notices [data-key="{}"]'


def notice_text(page: Any, key: str) -> str:
    box = page.locator(NOTICE.format(key))
    box.wait_for()
    return str(box.inner_text())


def import_file(page: Any, path: Path) -> None:
    page.get_by_label("导入草稿").set_input_files(str(path))


def test_draft_files_from_elsewhere(page_logged: Any, site_server: str, tmp_path: Path) -> None:
    page = page_logged
    open_form(page, f"{site_server}/fill.html")
    before = wait_drafts(page)
    count = page.locator("#jx-draft-select option").count()

    gbk = tmp_path / "单位草稿（GBK）.json"
    gbk.write_bytes(example_json("jinxian-2021").encode("gbk"))
    import_file(page, gbk)
    assert "不是 UTF-8 编码" in notice_text(page, "import")
    assert page.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId") == before
    assert page.locator("#jx-draft-select option").count() == count  # no garbled draft kept

    # 20,000 rows froze the page for half a minute and every key press after for seconds.
    huge = tmp_path / "huge.json"
    groups = [{"name": f"二级{g}", "items": [{}] * 200} for g in range(11)]
    doc = {"framework_id": "jinxian-2021", "year": 2021, "indicators": [{"name": "一级", "groups": groups}]}
    huge.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    import_file(page, huge)
    poll_until(page, "() => /2200 行/.test(document.querySelector('#jx-notices [data-key=import]')?.textContent)",
               what="too many rows refused")
    assert page.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId") == before

    minimal = tmp_path / "minimal.json"
    minimal.write_text(json.dumps({"framework_id": "jinxian-2021", "year": 2021, "unit_name": "手写的单位"},
                                  ensure_ascii=False), encoding="utf-8")
    import_file(page, minimal)
    poll_until(page, "(b) => document.querySelector('#jixiao-form').dataset.draftId !== b", before,
               what="minimal draft imported")
    wait_engine(page)
    poll_until(page, "() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq || 0) >= 1",
               what="scored")
    state = form_state(page)
    assert not [f for f in state["findings"] if f["code"] == "INVALID_VALUE"], state["findings"]
    assert page.locator('#jixiao-form [data-path="unit_kind"]').input_value() == "本级"
    with page.expect_download() as info:
        page.click("#jx-draft-export")
    exported = tmp_path / "exported.json"
    info.value.save_as(exported)
    sub = Submission.model_validate_json(exported.read_text(encoding="utf-8"))  # what `jixiao check` reads
    assert (sub.unit_name, sub.unit_kind, sub.schema_version) == ("手写的单位", "本级", "1")
    # A name typed with a right-to-left override: the file is named without it.
    type_into(page, "unit_name", "单位\u202egpj.exe")
    with page.expect_download() as info:
        page.click("#jx-draft-export")
    assert info.value.suggested_filename == "2021-单位gpj.exe-草稿.json", ascii(info.value.suggested_filename)

    other = json.loads(example_json("jinxian-2021"))
    other["framework_id"] = "shanghai-2030"
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    import_file(page, unknown)
    said = notice_text(page, "framework")
    assert "不是本站内置的" in said and "按本页的" in said, said
    assert "按草稿自己的指标体系" not in said


def test_pictures_other_versions_and_an_emptied_name_are_told_not_taken(page_logged: Any, site_server: str,
                                                                         tmp_path: Path) -> None:
    """QA: a PNG given to 导入草稿 was called "not UTF-8 (maybe GBK)"; a draft whose format version
    is not 1 was imported with an error on a field the page has no box for; clearing the draft's
    name and pressing 重命名 left the box empty and said nothing."""
    page = page_logged
    open_form(page, f"{site_server}/fill.html")
    before = wait_drafts(page)
    picture = tmp_path / "截图.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    import_file(page, picture)
    said = notice_text(page, "import")
    assert "这不是草稿文件（.json）" in said and "GBK" not in said, said
    newer = json.loads(example_json("jinxian-2021"))
    newer["schema_version"] = "9"
    later = tmp_path / "newer.json"
    later.write_text(json.dumps(newer, ensure_ascii=False), encoding="utf-8")
    import_file(page, later)
    poll_until(page, "() => /格式版本为“9”/.test(document.querySelector('#jx-notices [data-key=import]')?.textContent)",
               what="a newer format refused")
    assert page.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId") == before

    name_box = page.locator("#jx-draft-name")
    kept = name_box.input_value()
    name_box.fill("")
    page.click("#jx-draft-rename")
    poll_until(page, "(k) => document.querySelector('#jx-draft-name').value === k", kept, what="the name restored")
    assert "草稿名称不能为空" in notice_text(page, "drafts")


def test_unreadable_values_are_not_signed_and_an_sm2_key_is_named(page_logged: Any, site_server: str,
                                                                  tmp_path: Path) -> None:
    page = page_logged
    open_form_with_seed(page, site_server, tmp_path)
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'webcrypto'", what="key made")
    type_into(page, SCORE, "二分")
    poll_until(page, """(path) => [...document.querySelectorAll('[data-testid=findings] li.jx-finding')]
      .some((li) => li.dataset.code === 'INVALID_VALUE')""", SCORE, what="the unreadable score found")
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("[data-testid=export-bundle]")
    status = poll_until(page, """() => { const s = document.querySelector('#jx-export-status');
      return /无法识别/.test(s.textContent) && s.textContent; }""", what="export refused")
    assert "“二分”不是数字" in status and "预算完成率" in status, status
    page.wait_for_timeout(500)
    assert not downloads

    # An SM2 key file from `jixiao keygen --alg sm2`, imported with its passphrase.
    key = tmp_path / "sm2.json"
    done = run_jixiao("keygen", "--alg", "sm2", "-o", str(key), "--passphrase-env", "JX_PASS",
                      env={"JX_PASS": "国密口令 2022"})
    assert done.returncode == 0, done.stdout + done.stderr
    page.fill("[data-testid=key-passphrase]", "国密口令 2022")
    page.set_input_files("[data-testid=key-import]", str(key))
    poll_until(page, "() => /已导入签名密钥/.test(document.querySelector('#jx-export-status').textContent)",
               timeout=180, what="SM2 key imported")
    status = page.locator("[data-testid=key-status]").inner_text()
    assert "SM2" in status and "Ed25519" not in status, status
