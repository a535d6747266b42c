"""Keys, rosters and verification as a supervisor uses them, from an exploratory pass (QA): the
QR text of another unit's 公钥登记表, a browser key file's date, and `verify` on a folder."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from consolidate_helpers import own_bundle, supervisor, tampered_bundle, unit_key_for
from jixiao.bundle.keys import key_file_json
from jixiao.cli import cli


def jixiao(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output + result.stderr


def new_roster(tmp_path: Path) -> tuple[Path, Path]:
    owner = tmp_path / "主管部门.key"
    owner.write_text(key_file_json(supervisor(), None), encoding="utf-8")
    roster = tmp_path / "名册.json"
    code, text = jixiao("roster", "init", roster, "--key", owner, "--name", "主管部门")
    assert code == 0, text
    return roster, owner


def test_the_qr_text_of_another_units_sheet_is_refused(tmp_path: Path) -> None:
    """`--key-file` refused another unit's key file; the same mistake through the sheet's QR text
    (`--public-key 'JIXIAO-KEY:1;…;unit=甲7;…'`) enrolled the key under the code typed."""
    roster, owner = new_roster(tmp_path)
    qr = unit_key_for("甲7").public.qr_text("甲7")
    code, text = jixiao("roster", "add", roster, "--key", owner, "--unit-code", "乙8", "--unit-name", "乙",
                        "--public-key", qr)
    assert code == 2 and "登记表二维码中的单位编码是 甲7，与 --unit-code 乙8 不符" in text, text
    code, text = jixiao("roster", "add", roster, "--key", owner, "--unit-code", "甲7", "--unit-name", "甲",
                        "--public-key", qr)
    assert code == 0 and "已登记：甲7 甲" in text, text


def test_a_browser_key_files_date_is_the_start(tmp_path: Path) -> None:
    """The portal writes the key file's date alone ("2026-12-07"): it was ignored, and the note said
    the public key held no date though a key file was given."""
    roster, owner = new_roster(tmp_path)
    unit_file = tmp_path / "单位.key"
    unit_file.write_text(key_file_json(unit_key_for("甲7"), None, unit_code="甲7", unit_name="甲",
                                       created_at="2026-12-07"), encoding="utf-8")
    code, text = jixiao("roster", "add", roster, "--key", owner, "--unit-code", "甲7", "--unit-name", "甲",
                        "--key-file", unit_file)
    assert code == 0 and "自 2026-12-07 起" in text and "不含生成日期" not in text, text


def test_verify_names_each_file_of_a_folder_by_its_path_and_a_broken_link(tmp_path: Path) -> None:
    """`verify FOLDER` printed 甲/材料.zip and 乙/材料.zip both as 材料.zip (one passed, one not:
    which?), and passed over a link to a missing bundle with exit 0."""
    folder = tmp_path / "收到"
    (folder / "甲").mkdir(parents=True)
    (folder / "乙").mkdir()
    (folder / "甲" / "材料.zip").write_bytes(own_bundle()[1])
    (folder / "乙" / "材料.zip").write_bytes(tampered_bundle()[1])
    code, text = jixiao("verify", folder, "--json")
    names = {v["name"]: v["ok"] for v in json.loads(text)}
    assert names == {str(folder / "甲" / "材料.zip"): True, str(folder / "乙" / "材料.zip"): False}, text
    (folder / "丢失.zip").symlink_to(tmp_path / "不在了.zip")
    code, text = jixiao("verify", folder)
    assert code == 2, text
    assert f"{folder / '丢失.zip'}：无法读取" in text and "是指向不存在的文件的链接（快捷方式）" in text, text
    assert "共 3 个文件：通过 1，未通过 1，无法读取 1" in text, text
