"""The 附件6/附件7 workbook we write: official layout, safe text, read back, opened by LibreOffice.

Why: supervisors open the xlsx in Excel or WPS and print it; it must look like the table they
know, fit one page wide, keep a unit's `=…` text as text, carry the envelope invisibly, and
read back through our own reader to the same evaluation. Compared by meaning (values,
merges, styles), never by bytes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from jixiao import evaluate, load_example, load_framework
from jixiao.io.xlsx_read import read_xlsx
from jixiao.model.submission import Submission
from jixiao.render.report_html import render_report_html
from jixiao.render.xlsx import CHUNK, ENVELOPE_SHEET, FORM_SHEET, REPORT_SHEET, envelope_from_book, write_xlsx
from jixiao.samples import random_submission

FW = load_framework("jinxian-2021")
IN_CI = os.environ.get("CI", "").lower() == "true"


def seed() -> Submission:
    return load_example("jinxian-2021")


def written(sub: Submission | None = None, envelope: str | None = None) -> bytes:
    sub = sub or seed()
    return write_xlsx(sub, evaluate(sub, FW), envelope)


def book_of(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def find(ws: Any, text: str) -> Any:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell
    raise AssertionError(f"{text} not found")


# --- read back -----------------------------------------------------------------------------------------

def test_seed_reads_back_to_the_same_evaluation() -> None:
    back = read_xlsx(written(), "jinxian-2021")
    assert evaluate(back, FW).model_dump_json() == evaluate(seed(), FW).model_dump_json()
    assert back.indicators == seed().indicators
    assert (back.unit_name, back.unit_code, back.department, back.year) == (
        "进贤县科技和工业信息化局", "360124-KGX", "进贤县科技和工业信息化局", 2021)
    assert back.report.figures == seed().report.figures
    assert back.funds.fiscal == seed().funds.fiscal


@pytest.mark.parametrize("framework_id", ["jinxian-2021", "national-2020"])
def test_generated_submissions_read_back_to_the_same_evaluation(framework_id: str) -> None:
    fw = load_framework(framework_id)
    for number in range(25):
        sub = random_submission(number, fw)
        expected = evaluate(sub, fw).model_dump_json()
        back = read_xlsx(write_xlsx(sub, evaluate(sub, fw), None), framework_id)
        assert evaluate(back, fw).model_dump_json() == expected, number


# --- the official layout ---------------------------------------------------------------------------------

def test_title_units_and_labels() -> None:
    ws = book_of(written())[FORM_SHEET]
    assert ws["A2"].value == "部门（单位）整体支出绩效自评表" and ws["A2"].font.b
    assert ws["A3"].value == "（2021年度）"
    assert ws["A4"].value == "单位：万元" and ws["A4"].alignment.horizontal == "right"
    for label, value in (("评价部门名称", "进贤县科技和工业信息化局"), ("下属单位个数", 1),
                         ("单位编码", "360124-KGX"), ("主管部门", "进贤县科技和工业信息化局")):
        cell = find(ws, label)
        right = ws.cell(cell.row, cell.column + (1 if label in ("评价部门名称", "单位编码") else 2))
        assert right.value == value, label
    fiscal = find(ws, "资金来源：（1）财政拨款")
    assert ws.cell(fiscal.row, 5).value == 5462.67 and ws.cell(fiscal.row, 5).number_format == "0.00"
    assert ws.cell(fiscal.row, 7).value == "100%"
    total = find(ws, "合计")
    assert [ws.cell(total.row, c).value for c in (5, 6)] == [5479.62, 5479.62]


def test_merged_cells_for_level1_and_level2() -> None:
    ws = book_of(written())[FORM_SHEET]
    merged = {str(r) for r in ws.merged_cells.ranges}
    manage = find(ws, "管理指标")
    assert f"A{manage.row}:A{manage.row + 11}" in merged  # 12 三级 rows under 管理指标
    assert f"B{manage.row}:B{manage.row + 11}" in merged and ws.cell(manage.row, 2).value == 30
    group = find(ws, "部门预算管理")
    assert f"C{group.row}:C{group.row + 2}" in merged
    empty = find(ws, "经济效益指标")  # an empty 二级 group keeps its row
    assert ws.cell(empty.row, 4).value is None
    total = find(ws, "总分")
    assert f"A{total.row}:F{total.row}" in merged
    assert (ws.cell(total.row, 7).value, ws.cell(total.row, 8).value) == (100, 98)


def test_borders_widths_wrap_and_print_setup() -> None:
    ws = book_of(written())[FORM_SHEET]
    header = find(ws, "偏差及原因分析")
    assert header.border.left.style == "thin" and header.border.bottom.style == "thin"
    assert ws.cell(find(ws, "总分").row, 9).border.right.style == "thin"
    assert ws.column_dimensions["D"].width >= 25 and ws.column_dimensions["B"].width < 10
    assert find(ws, "绩效目标管理（2分）").alignment.wrap_text
    setup = ws.page_setup
    assert (setup.orientation, int(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == f"${header.row}:${header.row}"
    report = book_of(written())[REPORT_SHEET]
    assert report.page_setup.orientation == "portrait" and report.page_setup.fitToWidth == 1


def test_report_sheet_has_sections_and_the_figures_the_reader_reads() -> None:
    ws = book_of(written())[REPORT_SHEET]
    assert ws["A2"].value == "进贤县科技和工业信息化局整体支出绩效自评报告"
    for section in FW.leaf_sections():
        assert find(ws, section.title).font.b
    data = find(ws, "报告数据")
    labels = [ws.cell(data.row + i, 1).value for i in range(1, 13)]
    assert labels == ["全年预算数", "全年执行数", "执行率", "预算单位个数", "编制人数", "行政编制人数",
                      "事业编制人数", "实有人数", "在职人数", "离休人员", "退休人员", "自评结果"]
    assert ws.cell(data.row + 12, 2).value == "优"


# --- safety and the envelope ----------------------------------------------------------------------------

RISKY = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "\t=tab", "\r=cr", "=HYPERLINK(\"http://evil\",\"点我\")"]


def test_formula_injection_stays_text() -> None:
    sub = seed()
    items = [item for level in sub.indicators for group in level.groups for item in group.items]
    for item, text in zip(items, RISKY, strict=False):
        item.deviation = text
    sub.goal.target = "=cmd|' /C calc'!A0"
    data = written(sub)
    ws = book_of(data)[FORM_SHEET]
    for text in [*RISKY, "=cmd|' /C calc'!A0"]:
        cell = find(ws, text.replace("\r", "\n"))  # XML turns CR into LF; the layout does it first
        assert cell.data_type == "s", text
        assert cell.value == text.replace("\r", "\n")
    assert find(ws, "=1+1").quotePrefix
    back = read_xlsx(data, "jinxian-2021")
    assert back.goal.target == "=cmd|' /C calc'!A0"


def test_characters_xml_cannot_hold_are_replaced_not_fatal() -> None:
    """Controls, U+FFFE/U+FFFF, the other noncharacters and lone surrogates become U+FFFD: any
    one of them left in made a file that openpyxl (and Excel) could not open."""
    sub = seed()
    sub.goal.completion = "完成\x00\x07情况"
    sub.goal.target = "目标\uffff\ufffe\ufdd0\U0010ffff\ud800"
    sub.report.figures.grade = "优\uffff"
    data = written(sub)
    ws = book_of(data)[FORM_SHEET]
    assert find(ws, "完成\ufffd\ufffd情况")
    assert find(ws, "目标" + "\ufffd" * 5)
    assert find(book_of(data)[REPORT_SHEET], "优\ufffd")
    back = read_xlsx(data, "jinxian-2021")
    assert back.goal.target == "目标" + "\ufffd" * 5 and back.report.figures.grade == "优\ufffd"


def test_envelope_on_a_very_hidden_sheet_in_chunks() -> None:
    envelope = '{"payload": "' + "A" * (CHUNK * 2 + 10) + '"}'
    book = book_of(written(envelope=envelope))
    hidden = book[ENVELOPE_SHEET]
    assert hidden.sheet_state == "veryHidden"
    assert [len(hidden.cell(r, 1).value) for r in (1, 2, 3)] == [CHUNK, CHUNK, len(envelope) - 2 * CHUNK]
    assert all(len(hidden.cell(r, 1).value) <= 32_767 for r in (1, 2, 3))
    assert envelope_from_book(book) == envelope
    assert book.active.title == FORM_SHEET
    assert envelope_from_book(book_of(written())) is None


def test_html_is_standalone_escaped_and_prints_landscape() -> None:
    sub = seed()
    sub.unit_name = "<script>alert('x')</script>局"
    html = render_report_html(sub, evaluate(sub, FW), signed_at="2022-03-01T02:00:00Z")
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "@page { size: A4 landscape" in html and "http" not in html and "src=" not in html
    assert "98" in html and "附件7" in html and "签名时间 2022-03-01T02:00:00Z" in html
    assert html == render_report_html(sub, evaluate(sub, FW), signed_at="2022-03-01T02:00:00Z")


# --- LibreOffice opens it and prints it one page wide ------------------------------------------------------

def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is missing in CI (./dev setup_system installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def test_libreoffice_converts_it_to_a_pdf_that_fits_one_page_wide(tmp_path: Path) -> None:
    soffice, pdftotext, pdfinfo = _tool("soffice"), _tool("pdftotext"), _tool("pdfinfo")
    source = tmp_path / "seed.xlsx"
    source.write_bytes(written(envelope='{"hidden": "not printed"}'))
    env = {**os.environ, "HOME": str(tmp_path)}  # a private LibreOffice profile
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180, env=env)
    pdf = tmp_path / "seed.pdf"
    info = subprocess.run([pdfinfo, "-f", "1", "-l", "20", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 2 <= pages <= 6
    sizes = [line for line in info.splitlines() if line.startswith("Page") and "size:" in line]
    landscape = [s for s in sizes if float(s.split()[3]) > float(s.split()[5])]
    assert 1 <= len(landscape) <= 2  # 附件6: landscape, the rest (附件7) portrait

    def page_text(number: int) -> str:
        return subprocess.run([pdftotext, "-layout", "-f", str(number), "-l", str(number), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout

    first = page_text(1)
    assert "部门（单位）整体支出绩效自评表" in first and "进贤县科技和工业信息化局" in first
    for number in range(1, len(landscape) + 1):  # each 附件6 page holds the full width of the table
        text = page_text(number)
        assert "一级指标" in text and "偏差及原因分析" in text, number
    table = "".join(page_text(n) for n in range(1, len(landscape) + 1))
    total_line = next(line for line in table.splitlines() if "总分" in line)
    assert "100" in total_line and "98" in total_line
    everything = "".join(page_text(n) for n in range(1, pages + 1))
    assert "报告数据" in everything and "not printed" not in everything
    assert Decimal("5479.62") and "5479.62" in everything


GOAL = "围绕两个主导产业发展确保六稳目标突出六保任务不断推动县域经济高质量快速发展" * 32 + "结尾标记乙"  # 1,189
REASON = "因疫情影响部分服务事项办理时限延长，群众满意度略有下降。" * 28 + "结尾标记甲"  # 789


def long_texts() -> Submission:
    sub = seed()
    sub.goal.target = GOAL
    sub.indicators[2].groups[1].items[0].deviation = REASON
    return sub


def _cut_lines(pdf: Path, texts: tuple[str, ...]) -> list[str]:
    """Lines of `texts` a PDF draws across its page's margins or on top of other words:
    LibreOffice puts a cell's whole text in the PDF and clips it to the cell, so a text cut off
    at the top or bottom of its row shows so."""
    out = subprocess.run([_tool("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for page in out.split("<page ")[1:]:
        height = float(re.search(r'height="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        words = [(*map(float, box), text) for *box, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)]
        ours = [w for w in words if any(w[4] in text for text in texts)]
        found += [w[4] for w in ours if w[1] < 30 or w[3] > height - 30]
        found += [f"{a[4]} / {b[4]}" for a in ours for b in words
                  if a is not b and a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]
    return found


def test_long_texts_continue_on_the_rows_below_and_print_whole(tmp_path: Path) -> None:
    """A 年度总体目标 or 偏差及原因分析 needing more than a row's 409 pt was cut off at both ends, on
    screen and in print. It now continues on the rows below (the 标签 and the indicator's other
    cells merged down over them), every row under the limit, and reads back whole."""
    data = written(long_texts())
    ws = book_of(data)[FORM_SHEET]
    label = find(ws, "年度总体目标")
    goal_rows = next(r for r in ws.merged_cells.ranges if r.min_row == label.row and r.min_col == 1)
    parts = [ws.cell(r, 2).value for r in range(label.row + 1, goal_rows.max_row + 1)]
    assert len(parts) == 3 and "".join(parts) == GOAL
    item = find(ws, "服务群众办事效率")
    merged = next(r for r in ws.merged_cells.ranges if r.min_row == item.row and r.min_col == 4)
    reasons = [ws.cell(r, 9).value for r in range(item.row, merged.max_row + 1)]
    assert len(reasons) == 6 and "".join(reasons) == REASON
    assert all(part.endswith("。") for part in reasons[:-1])  # cut after a sentence
    heights = [d.height for d in ws.row_dimensions.values() if d.height]
    assert max(heights) < 409
    back = read_xlsx(data, "jinxian-2021")
    assert back.goal.target.replace("\n", "") == GOAL
    assert back.indicators[2].groups[1].items[0].deviation.replace("\n", "") == REASON
    assert evaluate(back, FW).model_dump_json() == evaluate(long_texts(), FW).model_dump_json()

    soffice = _tool("soffice")
    (tmp_path / "long.xlsx").write_bytes(data)
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(tmp_path / "long.xlsx")], check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(tmp_path)})
    assert _cut_lines(tmp_path / "long.pdf", (GOAL, REASON)) == []


@pytest.mark.parametrize("seed", [0, 7])
def test_the_style_memo_writes_the_same_workbook_as_setting_every_style(seed: int,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Styles are copied from the first cell styled alike (2 s → under 1 s for a 10,000-row 附件4):
    every part of the file must be what setting each cell's font, border and fill gives."""
    import zipfile

    from jixiao.render import xlsx as module

    fw = load_framework("jinxian-2021")
    sub = random_submission(seed, fw).model_copy(update={"unit_name": "=HYPERLINK(\"x\")"})  # a quoted cell too

    def parts() -> dict[str, bytes]:
        data = write_xlsx(sub, evaluate(sub, fw), '{"payload":"x"}', framework=fw)
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return {n: book.read(n) for n in book.namelist() if n != "docProps/core.xml"}  # core.xml: the clock

    memo = parts()
    monkeypatch.setattr(module, "_restyle", lambda ws, target, change, apply: apply(target))
    assert memo == parts()
