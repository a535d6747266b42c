"""What the command line prints and writes, as users rely on it: typed text never steers the
terminal, two outputs never land on one file, and an output that cannot be written is one
Chinese line naming the folder, never "程序内部错误".
"""

from __future__ import annotations

import errno
import json
import os
import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundle_helpers import SIGNED_AT, UNIT_CODE, framework, other_key, seed, supervisor_key, unit_key
from jixiao.bundle import build_bundle
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.roster import enrol, new_roster, roster_json
from jixiao.cli import cli
from jixiao.io.errors import InputError

# A unit name that, printed raw, moves the cursor up two lines and wipes them, rings the bell,
# clears the screen with an 8-bit CSI and reverses the rest of the line.
HOSTILE = "进贤县\x1b[2A\x1b[2K通过\x07局\x9b2J\u202e局信息化业工和技科"
SHOWN = "进贤县\\x1b[2A\\x1b[2K通过\\x07局\\x9b2J\\u202e局信息化业工和技科"
WHEN = "2022-01-01T00:00:00Z"


def run(*args: str, color: bool = True) -> Result:
    """Colours on, as on a terminal: click would otherwise strip every escape sequence itself."""
    return CliRunner().invoke(cli, list(args), color=color)


def inert(text: str) -> str:
    """`text` without click's own colours, asserting that nothing else in it could steer a terminal."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    steering = sorted({ch for ch in plain if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs")})
    assert not steering, f"raw control characters reach the terminal: {steering!r}\n{plain}"
    return plain


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a hostile form, its bundle (signed by the unit key), the unit's and the
    supervisor's key files, and a roster that enrols another key for the unit."""
    monkeypatch.chdir(tmp_path)
    sub = seed().model_copy(update={"unit_name": HOSTILE, "department": HOSTILE})
    Path("hostile.json").write_text(sub.model_dump_json(), encoding="utf-8")
    Path("bund").mkdir()
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    Path("bund", name).write_bytes(data)
    Path("unit.key").write_text(key_file_json(unit_key()), encoding="utf-8")
    Path("sup.key").write_text(key_file_json(supervisor_key()), encoding="utf-8")
    doc = new_roster(supervisor_key(), HOSTILE, WHEN)
    doc = enrol(doc, UNIT_CODE, other_key().public, unit_name=HOSTILE, valid_from=date(2021, 1, 1))
    Path("roster.json").write_text(roster_json(doc, supervisor_key()), encoding="utf-8")
    return tmp_path


# --- typed text on the terminal ---------------------------------------------------------------------

def test_a_bundle_that_fails_cannot_redraw_itself_as_passed(work: Path) -> None:
    """The audit's case: ESC codes in the unit name rewrote the lines above on a real terminal,
    so a bundle refused by the roster read "通过 / ✓ 公钥已登记"."""
    bundle = next(Path("bund").iterdir())
    result = run("verify", str(bundle), "--roster", "roster.json")
    assert result.exit_code == 1, result.output
    out = inert(result.output)
    assert out.splitlines()[0].endswith("：未通过")
    assert SHOWN in out  # shown, visibly escaped, rather than dropped
    listed = run("verify", str(bundle), "--roster", "roster.json", "--json")
    inert(listed.output)  # C1 and bidi characters are \u-escaped in JSON too
    assert json.loads(listed.output)[0]["unit_name"] == HOSTILE  # the same string to a script


def test_check_and_bundle_show_the_typed_name_escaped(work: Path) -> None:
    checked = run("check", "hostile.json")
    assert checked.exit_code == 1
    assert inert(checked.output).startswith(f"{SHOWN} · 2021 年度")
    made = run("bundle", "hostile.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT)
    assert made.exit_code == 0, made.output
    inert(made.output)


def test_consolidation_and_the_store_show_bundle_text_escaped(work: Path) -> None:
    summed = run("consolidate", "bund", "-o", "c.xlsx", "--key", "sup.key")
    assert summed.exit_code == 0, summed.output
    assert SHOWN in inert(summed.output)
    county = run("county", "c.json", "-o", "county.xlsx", "--region", HOSTILE)
    assert county.exit_code == 0, county.output
    assert inert(county.output).count(SHOWN) == 2  # the region typed, the department signed
    assert run("store", "add", "s.sqlite", "bund").exit_code == 0
    for args in (("store", "add", "s.sqlite", "bund"), ("store", "list", "s.sqlite"),
                 ("store", "list", "s.sqlite", "--json")):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "\\u202e" in inert(result.output), args
    reviewed = run("review", "s.sqlite", "--unit", UNIT_CODE, "--year", "2021", "--score", "90", "--key", "sup.key")
    assert reviewed.exit_code == 0, reviewed.output
    assert SHOWN in inert(reviewed.output)


def test_the_roster_list_shows_names_escaped(work: Path) -> None:
    listed = run("roster", "list", "roster.json")
    assert listed.exit_code == 0, listed.output
    assert inert(listed.output).count(SHOWN) == 2  # the owner and the unit


def test_a_hostile_file_name_in_a_folder_is_shown_escaped(work: Path) -> None:
    bundle = next(Path("bund").iterdir())
    bundle.rename(Path("bund") / "a\x1b[2Kb.zip")
    result = run("verify", "bund")
    assert result.exit_code == 0, result.output
    assert inert(result.output).startswith("bund/a\\x1b[2Kb.zip：通过")  # named by its path in the folder


# --- two outputs, one file ------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["consolidate", "county"])
@pytest.mark.parametrize("force", [False, True])
def test_a_summary_output_must_be_an_xlsx(work: Path, command: str, force: bool) -> None:
    """`-o o.json`: the table and its JSON were both written to o.json (the table lost with --force)."""
    Path("kept.json").write_text("mine", encoding="utf-8")
    args = [command, "bund", "-o", "o.json", *(["--force"] if force else [])]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().endswith("-o 应为 .xlsx 文件（如 汇总.xlsx）：汇总表的 JSON 写在它旁边，"
                                          "文件名相同、扩展名为 .json")
    assert not Path("o.json").exists()
    for other in ("o.JSON", "kept.json", "noext"):
        assert run(command, "bund", "-o", other, "--force").exit_code == 2
    assert Path("kept.json").read_text(encoding="utf-8") == "mine"


# --- outputs that cannot be written -----------------------------------------------------------------------

def _refused(result: Result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    assert "程序内部错误" not in result.output and "Errno" not in result.output, result.output
    line = result.output.strip()
    assert "\n" not in line and all(w in line for w in words), line
    return line


def test_an_output_under_a_file_names_the_file(work: Path) -> None:
    Path("somefile").write_text("x", encoding="utf-8")
    reason = "somefile 是文件，不是文件夹"
    assert _refused(run("consolidate", "bund", "-o", "somefile/sub/c.xlsx"), "无法创建文件夹 somefile/sub", reason)
    assert _refused(run("bundle", "hostile.json", "--key", "unit.key", "-o", "somefile/new/"), "somefile/new", reason)
    assert _refused(run("keygen", "-o", "somefile/k.key"), "somefile/k.key", reason)
    assert _refused(run("publish", "bund", "--key", "sup.key", "-o", "somefile/pub"), "somefile", reason)
    assert _refused(run("store", "add", "somefile/s.sqlite", "bund"), "somefile", reason)
    assert Path("somefile").read_text(encoding="utf-8") == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into a read-only folder")
def test_an_output_in_a_read_only_folder_says_so(work: Path) -> None:
    ro = Path("ro")
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert _refused(run("consolidate", "bund", "-o", "ro/sub/c.xlsx"), "无法创建文件夹 ro/sub", "没有写入权限")
        assert _refused(run("consolidate", "bund", "-o", "ro/c.xlsx"), "ro/c.xlsx", "没有写入权限")
        assert _refused(run("bundle", "hostile.json", "--key", "unit.key", "-o", "ro/new/"), "ro/new", "没有写入权限")
        assert _refused(run("publish", "bund", "--key", "sup.key", "-o", "ro/pub"), "ro", "没有写入权限")
        assert _refused(run("store", "add", "ro/s.sqlite", "bund"), "ro", "没有写入权限")
    finally:
        ro.chmod(0o755)
    assert not any(ro.iterdir())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_where_nothing_can_be_made_says_why_in_chinese(work: Path) -> None:
    """`-o /proc/x.xlsx` printed "无法创建 /proc/x.xlsx（No such file or directory）": the system's
    English inside a Chinese line, and the folder is there (it is one where nothing can be made)."""
    assert _refused(run("consolidate", "bund", "-o", "/proc/x.xlsx"), "无法创建 /proc/x.xlsx（该位置不允许新建文件）")
    assert _refused(run("consolidate", "bund", "-o", "/proc/sub/c.xlsx"),
                    "无法创建文件夹 /proc/sub（该位置不允许新建文件夹）")
    assert _refused(run("keygen", "-o", "/proc/k.key"), "无法创建 /proc/k.key（该位置不允许新建文件）")


@pytest.mark.parametrize(("code", "reason"), [
    (errno.ENOENT, "所在文件夹不存在"), (errno.EIO, "磁盘或设备读写出错"), (errno.EROFS, "所在磁盘只读"),
    (errno.EACCES, "没有写入权限"), (errno.ENOSYS, "系统错误 ENOSYS"),
], ids=["ENOENT", "EIO", "EROFS", "EACCES", "ENOSYS"])
def test_every_write_failure_is_told_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int,
                                                 reason: str) -> None:
    """Whatever the system says, the line names the path and a Chinese reason, never its English."""
    from jixiao.cli.files import write_new

    (tmp_path / "here").mkdir()
    target = tmp_path / ("missing" if code == errno.ENOENT else "here") / "c.xlsx"

    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(InputError) as caught:
        write_new(target, b"")
    monkeypatch.undo()
    assert caught.value.message == f"无法创建 {target}（{reason}）"


# --- "-" as an output -------------------------------------------------------------------------------------------

def test_a_dash_is_not_an_output_file(work: Path) -> None:
    """`-o -` created a file literally named "-"; "-" means standard input, where `check` reads it."""
    for args in (("keysheet", "unit.key", "--unit-code", UNIT_CODE, "--unit-name", "单位", "-o", "-"),
                 ("keygen", "-o", "-"), ("bundle", "hostile.json", "--key", "unit.key", "-o", "-"),
                 ("consolidate", "bund", "-o", "-"), ("publish", "bund", "--key", "sup.key", "-o", "-")):
        _refused(run(*args), "-o 不能是“-”", "请给出要创建的")
        assert not Path("-").exists(), args
