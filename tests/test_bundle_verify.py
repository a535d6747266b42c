"""Verifying what comes back: the zip, the .json, the .xlsx alone; edits named; hostile files.

Why: a supervisor gets files by USB stick and e-mail. A change after signing must be named
in the words on the form, and whatever arrives — a zip bomb, `../` names, half a download,
100 MB — must get a clear Chinese verdict, never a traceback.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from bundle_helpers import SIGNED_AT, entries, failures, framework, rezip, seed, seed_bundle, text_of, unit_key
from jixiao.bundle import PrivateKey, build_bundle, verify_file, verify_path
from jixiao.bundle.verify import MAX_FILE_BYTES
from jixiao.render.xlsx import FORM_SHEET, REPORT_SHEET


def bundle_files() -> dict[str, bytes]:
    return entries(seed_bundle()[1])


def edited_xlsx(edit: callable[[openpyxl.Workbook], None]) -> bytes:  # type: ignore[valid-type]
    book = openpyxl.load_workbook(io.BytesIO(bundle_files()[".xlsx"]))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row_of(ws: object, text: str) -> int:
    for row in ws.iter_rows():  # type: ignore[attr-defined]
        for cell in row:
            if cell.value == text:
                return int(cell.row)
    raise AssertionError(text)


# --- the seed example's bundle verifies, whole or in parts ---------------------------------------

def test_seed_bundle_verifies() -> None:
    name, data = seed_bundle()
    verdict = verify_file(name, data)
    assert verdict.ok, text_of(verdict)
    assert verdict.kind == "zip"
    assert verdict.fingerprints == [unit_key().public.fingerprint]
    assert (verdict.unit_code, verdict.year, verdict.total, verdict.grade) == ("360124-KGX", 2021, "98", "优")
    assert verdict.signed_at == "2022-03-01T02:00:00Z"
    codes = {c.code: c.status for c in verdict.checks}
    assert codes == {"SIGNATURE": "ok", "ROSTER": "skip", "PAYLOAD": "ok", "FRAMEWORK": "ok",
                     "EVALUATION": "ok", "CELLS": "ok", "HTML": "ok"}
    assert "未对照公钥名册核对" in text_of(verdict)


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_each_part_verifies_alone(suffix: str) -> None:
    verdict = verify_file(f"part{suffix}", bundle_files()[suffix])
    assert verdict.ok, text_of(verdict)
    assert verdict.kind == suffix[1:]


def test_kind_is_sniffed_from_content_not_name() -> None:
    verdict = verify_file("renamed.txt", bundle_files()[".xlsx"])
    assert verdict.kind == "xlsx" and verdict.ok


@pytest.mark.parametrize(("signed_at", "stamp"), [
    ("2200-06-01T00:00:00+08:00", (2107, 12, 31, 23, 59, 58)),  # crashed: "ushort format requires …"
    ("1975-06-01T00:00:00+08:00", (1980, 6, 1, 0, 0, 0)),
])
def test_a_signing_time_a_zip_date_cannot_hold_still_makes_a_bundle(signed_at: str, stamp: tuple[int, ...]) -> None:
    name, data = build_bundle(seed(), framework(), unit_key(), signed_at)
    assert verify_file(name, data, now=datetime.fromisoformat(signed_at)).ok  # checked on the day it was signed
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {stamp}


def test_sm2_bundle_verifies() -> None:
    name, data = build_bundle(seed(), framework(), PrivateKey.generate("sm2"), SIGNED_AT)
    verdict = verify_file(name, data)
    assert verdict.ok, text_of(verdict)
    assert "SM2" in text_of(verdict)


def test_awkward_text_verifies_without_false_alarms() -> None:
    """Formula-like text, CR line ends, control characters and long paragraphs round-trip."""
    sub = seed()
    sub.goal.target = "=1+1\r\n第二行\r第三行 "
    sub.goal.completion = "@cmd\x07\t"
    sub.indicators[0].groups[0].items[0].deviation = "-2"
    sub.report.sections["application"] = "很长的段落。" * 800
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    verdict = verify_file(name, data)
    assert verdict.ok, text_of(verdict)


def test_pure_python_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_PURE_CRYPTO", "1")
    assert verify_file(*seed_bundle()).ok


def test_bundle_name_is_sanitised() -> None:
    sub = seed().model_copy(update={"unit_name": '科技/工信:局*?"<>|' + "很长" * 60, "unit_code": "../360124"})
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    assert name.startswith("2021-360124-科技_工信_局_很长") and name.endswith("-整体支出绩效自评.zip")
    assert not any(ch in name for ch in '/\\:*?"<>|') and len(name) < 140
    assert all("/" not in n for n in zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_bundle_name_reads_as_it_is() -> None:
    """A right-to-left override made “进贤县恶意‮slx.exe” show in Explorer as ending in “exe.xls…”;
    zero-width, bidi, control and noncharacter code points are dropped from the file name."""
    sub = seed().model_copy(update={
        "unit_name": "进贤县\u202e恶意\u2066slx.exe\u200b\u2069\u200d\ufeff\u00ad\u061c\ufe0f\U000e0041\ufdd0\x85局",
        "unit_code": "360124\u200e-KGX\u2028"})
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    assert name == "2021-360124-KGX-进贤县恶意slx.exe_局-整体支出绩效自评.zip"
    assert zipfile.ZipFile(io.BytesIO(data)).namelist()[0] == name.replace(".zip", ".json")


def test_a_lone_surrogate_is_named_in_chinese() -> None:
    """A JSON \\ud800 escape (or a broken paste in the browser) gives a text UTF-8 cannot write:
    the bundle is refused naming the field, not with "'utf-8' codec can't encode…"."""
    sub = seed()
    sub.indicators[0].groups[0].items[0].deviation = "原因\ud800"
    with pytest.raises(ValueError, match=r"“预算编制完整性（2分）” › 偏差及原因分析中有无法保存的字符") as caught:
        build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    assert "codec" not in str(caught.value)


# --- edits after signing are named ------------------------------------------------------------------

def test_a_cell_edited_with_openpyxl_is_named() -> None:
    def edit(book: openpyxl.Workbook) -> None:
        ws = book[FORM_SHEET]
        ws.cell(row_of(ws, "预算完成率（2分）"), 8).value = 1

    verdict = verify_file("edited.xlsx", edited_xlsx(edit))
    assert failures(verdict) == ["签名后被修改：“预算完成率（2分）”的得分，2 → 1"]
    assert any(c.code == "SIGNATURE" and c.status == "ok" for c in verdict.checks)


def test_edits_of_every_kind_are_named() -> None:
    def edit(book: openpyxl.Workbook) -> None:
        form, report = book[FORM_SHEET], book[REPORT_SHEET]
        form.cell(row_of(form, "评价部门名称"), 2).value = "进贤县某某局"
        form.cell(row_of(form, "资金来源：（1）财政拨款"), 5).value = 5000
        form.cell(row_of(form, "资金来源：（1）财政拨款"), 7).value = "95%"
        form.cell(row_of(form, "预算编制完整性（2分）"), 9).value = "=HYPERLINK(\"http://x\")"
        form["K1"] = "备注"
        report.cell(row_of(report, "自评结果"), 2).value = "良"
        book.create_sheet("补充说明")["A1"] = "另附"

    message = "\n".join(failures(verify_file("edited.xlsx", edited_xlsx(edit))))
    assert "签名后被修改：评价部门名称，进贤县科技和工业信息化局 → 进贤县某某局" in message
    assert "签名后被修改：“资金来源：（1）财政拨款”的全年预算数，5462.67 → 5000.00" in message
    assert "签名后被修改：“资金来源：（1）财政拨款”的执行率，100% → 95%" in message
    assert "签名后被改成公式：“预算编制完整性（2分）”的偏差及原因分析" in message
    assert "签名后新增内容：附件6 自评表!K1“备注”" in message
    assert "签名后被修改：自评报告数据“自评结果”，优 → 良" in message
    assert "签名后新增了工作表“补充说明”" in message


def test_what_a_spreadsheet_shows_is_compared_not_what_openpyxl_reads() -> None:
    """5479.625 shows as 5479.63 (half up, as Excel and LibreOffice round), and a number format
    can show any text over the value ("35" over 34) or nothing (;;;): each is a change."""
    def edit(book: openpyxl.Workbook) -> None:
        ws = book[FORM_SHEET]
        total = row_of(ws, "合计")
        ws.cell(total, 5).value = 5479.625
        ws.cell(row_of(ws, "服务群众办事效率"), 8).number_format = '"35"'
        ws.cell(row_of(ws, "提升群众满意率（10分）"), 8).number_format = ";;;"
        ws.cell(total, 6).number_format = "#,##0.00"  # shows 5,479.62
        ws.cell(row_of(ws, "评价部门名称"), 2).number_format = ';;;"另一个局"'  # the text section

    assert failures(verify_file("edited.xlsx", edited_xlsx(edit))) == [
        "签名后被修改：评价部门名称，进贤县科技和工业信息化局 → 另一个局（单元格格式被改为“;;;\"另一个局\"”）",
        "签名后被修改：“整体支出规模合计”的全年预算数，5479.62 → 5479.63",
        "签名后单元格格式被修改：“整体支出规模合计”的全年执行数，“0.00” → “#,##0.00”，显示的可能已不是签名内容",
        "签名后被修改：“服务群众办事效率”的得分，34 → 35（单元格格式被改为“\"35\"”）",
        "签名后被修改：“提升群众满意率（10分）”的得分，9 → （空）（单元格格式被改为“;;;”）",
    ]


def test_a_float_artefact_score_verifies_untouched_and_after_a_libreoffice_save(tmp_path: Path) -> None:
    """A score pasted as 33.999999999999996 (the model takes 15 decimals on purpose) is more than
    a spreadsheet number holds: openpyxl writes 16 digits, LibreOffice saves 15 (34). The unit's
    own file must verify, and a real edit of that cell must still be named."""
    sub = seed()
    sub.indicators[2].groups[1].items[0].score = Decimal("33.999999999999996")
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    verdict = verify_file(name, data)
    assert verdict.ok, text_of(verdict)
    xlsx = entries(data)[".xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    ws = book[FORM_SHEET]
    ws.cell(row_of(ws, "服务群众办事效率"), 8).value = 33.99
    out = io.BytesIO()
    book.save(out)
    assert failures(verify_file("x.xlsx", out.getvalue())) == [
        "签名后被修改：“服务群众办事效率”的得分，33.999999999999996 → 33.99"]
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("soffice is missing in CI")
        return
    (tmp_path / "unit.xlsx").write_bytes(xlsx)
    subprocess.run([soffice, "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path / "saved"), str(tmp_path / "unit.xlsx")], check=True, capture_output=True,
                   timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    saved = (tmp_path / "saved" / "unit.xlsx").read_bytes()
    assert openpyxl.load_workbook(io.BytesIO(saved))[FORM_SHEET].cell(row_of(ws, "服务群众办事效率"), 8).value == 34
    verdict = verify_file("saved.xlsx", saved)
    assert verdict.ok, text_of(verdict)


def test_a_number_no_spreadsheet_can_hold_is_named_not_a_crash() -> None:
    xlsx = bundle_files()[".xlsx"]
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        files = {info: archive.read(info) for info in archive.infolist()}
    sheet = next(i for i in files if i.filename == "xl/worksheets/sheet1.xml")
    assert files[sheet].count(b"<v>98</v>") == 1  # the 总分
    files[sheet] = files[sheet].replace(b"<v>98</v>", b"<v>1e999</v>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info, data in files.items():
            archive.writestr(info, data)
    assert failures(verify_file("x.xlsx", out.getvalue())) == ["签名后被修改：总分，98 → Infinity"]


def test_characters_a_spreadsheet_cannot_hold_are_replaced_and_verify() -> None:
    """U+FFFE/U+FFFF (and the other noncharacters) made a workbook openpyxl cannot open; they
    become U+FFFD in every typed text, the report's 自评结果 included, and the bundle verifies."""
    sub = seed()
    odd = "甲\uffff乙\ufffe丙\ufdd0丁\U0001fffe戊\x01己"
    sub.unit_name = "进贤县" + odd
    sub.indicators[0].groups[0].items[0].deviation = odd
    sub.report.figures.grade = "优" + odd
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    verdict = verify_file(name, data)
    assert verdict.ok, text_of(verdict)
    book = openpyxl.load_workbook(io.BytesIO(entries(data)[".xlsx"]))
    shown = "甲\ufffd乙\ufffd丙\ufffd丁\ufffd戊\ufffd己"
    assert book[FORM_SHEET].cell(row_of(book[FORM_SHEET], "评价部门名称"), 2).value == "进贤县" + shown
    report = book[REPORT_SHEET]
    assert report.cell(row_of(report, "自评结果"), 2).value == "优" + shown
    # Earlier bundles kept the noncharacters XML allows (U+FDD0, U+1FFFE) as typed: still no change.
    report.cell(row_of(report, "自评结果"), 2).value = "优甲\ufffd乙\ufffd丙\ufdd0丁\U0001fffe戊\ufffd己"
    out = io.BytesIO()
    book.save(out)
    assert verify_file("earlier.xlsx", out.getvalue()).ok


def test_long_texts_continued_on_rows_below_verify_and_edits_there_are_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A long 偏差及原因分析 continues on the rows below its indicator; an edit in its second part
    is named as such, and a bundle written before (the whole text in one row) still verifies."""
    sub = seed()
    sub.indicators[2].groups[1].items[0].deviation = "因疫情影响部分服务事项办理时限延长，群众满意度略有下降。" * 12
    name, data = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    assert verify_file(name, data).ok

    def edit(book: openpyxl.Workbook) -> None:
        ws = book[FORM_SHEET]
        ws.cell(row_of(ws, "服务群众办事效率") + 1, 9).value = "无"

    book = openpyxl.load_workbook(io.BytesIO(entries(data)[".xlsx"]))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    assert failures(verify_file("x.xlsx", out.getvalue())) == [
        "签名后被修改：“服务群众办事效率”的偏差及原因分析（第 2 段），"
        "因疫情影响部分服务事项办理时限延长，群众满意度略有下降。因疫情影响部分服务事项… → 无"]
    monkeypatch.setattr("jixiao.render.xlsx.CHUNK_LINES", 10_000)  # as bundles were written before
    name, earlier = build_bundle(sub, framework(), unit_key(), SIGNED_AT)
    monkeypatch.undo()
    assert entries(earlier)[".xlsx"] != entries(data)[".xlsx"]
    verdict = verify_file(name, earlier)
    assert verdict.ok, text_of(verdict)


def test_cleared_hidden_or_removed_sheets_are_named() -> None:
    def clear(book: openpyxl.Workbook) -> None:
        ws = book[FORM_SHEET]
        ws.cell(row_of(ws, "总分"), 8).value = None
        book[REPORT_SHEET].sheet_state = "hidden"

    message = "\n".join(failures(verify_file("x.xlsx", edited_xlsx(clear))))
    assert "签名后被清空：总分，98 → （空）" in message and "工作表“附件7 自评报告”被隐藏" in message
    gone = "\n".join(failures(verify_file("x.xlsx", edited_xlsx(lambda b: b.remove(b[REPORT_SHEET])))))
    assert "工作表“附件7 自评报告”被删除或改名" in gone


def test_xlsx_without_the_hidden_sheet() -> None:
    verdict = verify_file("x.xlsx", edited_xlsx(lambda b: b.remove(b["签名数据"])))
    assert any("没有签名数据" in m for m in failures(verdict))


def test_edited_xlsx_inside_the_zip_is_named() -> None:
    def edit(book: openpyxl.Workbook) -> None:
        ws = book[FORM_SHEET]
        ws.cell(row_of(ws, "提升群众满意率（10分）"), 8).value = 10

    files = {**bundle_files(), ".xlsx": edited_xlsx(edit)}
    verdict = verify_file("x.zip", rezip(files))
    assert failures(verdict) == ["[xlsx] 签名后被修改：“提升群众满意率（10分）”的得分，9 → 10"]


def test_edited_html_is_named() -> None:
    html = bundle_files()[".html"].decode()
    changed = html.replace(">进贤县科技和工业信息化局</td>", ">进贤县另一个局</td>", 1)
    assert changed != html
    message = "\n".join(failures(verify_file("x.zip", rezip({**bundle_files(), ".html": changed.encode()}))))
    assert "签名后网页内容被修改" in message and "进贤县另一个局" in message
    scripted = html.replace("</body>", "<script>alert(1)</script></body>")
    message = "\n".join(failures(verify_file("x.zip", rezip({**bundle_files(), ".html": scripted.encode()}))))
    assert "网页的代码被修改" in message


def test_parts_from_two_different_bundles_do_not_agree() -> None:
    other = seed().model_copy(update={"total": Decimal(97)})
    _, data = build_bundle(other, framework(), unit_key(), SIGNED_AT)
    mixed = {**bundle_files(), ".xlsx": entries(data)[".xlsx"]}
    assert any("不是同一份" in m for m in failures(verify_file("x.zip", rezip(mixed))))


def test_extra_and_missing_entries() -> None:
    files = bundle_files()
    extra = verify_file("x.zip", rezip({**files, "readme.txt": b"hi"}))
    assert any("多余的文件" in m and "readme.txt" in m for m in failures(extra))
    missing = verify_file("x.zip", rezip({".json": files[".json"], ".xlsx": files[".xlsx"]}))
    assert any("缺少 .html" in m for m in failures(missing))


# --- hostile and broken input ---------------------------------------------------------------------

def zip_with(infos: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in infos:
            archive.writestr(info, data)
    return out.getvalue()


def test_zip_bomb_by_total_size() -> None:
    bomb = zip_with([(f"part{i}.json", bytes(20 * 1024 * 1024)) for i in range(3)])
    assert len(bomb) < 1_000_000
    verdict = verify_file("bomb.zip", bomb)
    assert verdict.readable and not verdict.ok
    assert any("压缩炸弹" in m for m in failures(verdict))


def test_zip_bomb_by_ratio() -> None:
    verdict = verify_file("bomb.zip", zip_with([("a.json", bytes(5 * 1024 * 1024))]))
    assert any("压缩比" in m and "压缩炸弹" in m for m in failures(verdict))


@pytest.mark.parametrize(("name", "words"), [
    ("../../etc/evil.json", "../"),
    ("a/../../evil.json", "../"),
    ("/etc/evil.json", "绝对路径"),
    ("C:/evil.json", "绝对路径"),
    ("a\\..\\evil.json", "反斜杠"),
])
def test_unsafe_entry_names(name: str, words: str) -> None:
    verdict = verify_file("x.zip", zip_with([(name, b"{}")]))
    assert not verdict.ok and any(words in m for m in failures(verdict)), failures(verdict)


def test_symlink_entry() -> None:
    link = zipfile.ZipInfo("x.json")
    link.external_attr = (0o120777 << 16)
    verdict = verify_file("x.zip", zip_with([(link, b"/etc/passwd")]))
    assert any("符号链接" in m for m in failures(verdict))


def test_too_many_entries() -> None:
    verdict = verify_file("x.zip", zip_with([(f"{i}.json", b"{}") for i in range(40)]))
    assert any("条目过多" in m for m in failures(verdict))


def test_truncated_zip_is_unreadable() -> None:
    data = seed_bundle()[1]
    for cut in (10, len(data) // 2, len(data) - 30):
        verdict = verify_file("cut.zip", data[:cut])
        assert not verdict.readable and any("不完整或已损坏" in m for m in failures(verdict)), cut


def test_file_over_the_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.zip"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    verdict = verify_path(big)
    assert not verdict.readable and any("文件过大（100.0 MB）" in m for m in failures(verdict))
    monkeypatch.undo()
    assert not verify_file("big.zip", bytes(MAX_FILE_BYTES + 1)).readable


@pytest.mark.parametrize(("data", "words"), [
    (b"", "空"),
    (b"   \n", "空"),
    (b"%PDF-1.7 ...", "PDF"),
    (bytes(range(256)) * 4, "无法识别"),
    (b"PK\x03\x04" + bytes(100), "不完整或已损坏"),
])
def test_unreadable_bytes(data: bytes, words: str) -> None:
    verdict = verify_file("x", data)
    assert not verdict.readable and any(words in m for m in failures(verdict))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "不存在" in failures(verify_path(tmp_path / "nope.zip"))[0]
    assert "文件夹" in failures(verify_path(tmp_path))[0]


def test_random_damage_never_raises() -> None:
    """Flip bytes anywhere in the bundle: a verdict every time, never an internal error."""
    data = seed_bundle()[1]
    rng = random.Random(2021)
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        verdict = verify_file("x.zip", bytes(damaged))
        assert not any(c.code == "INTERNAL" for c in verdict.checks), text_of(verdict)


def test_entry_whose_data_is_corrupt() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.json", b"{" + b"x" * 200 + b"}")
    data = bytearray(out.getvalue())
    data[60] ^= 0xFF  # inside the stored data: the CRC no longer matches
    verdict = verify_file("x.zip", bytes(data))
    assert not verdict.ok and not any(c.code == "INTERNAL" for c in verdict.checks)
