"""附件4 (and the finance bureau's county table) as .xlsx, in the seed's layout and the 附件6 styles.

附件4 sheet, as the paper form: “附件4：”; the title `{year}年度部门整体支出自评情况汇总表`;
`主管部门（盖章）：{name}` with `单位：万元` on the same line; the header 序号 / 预算单位 /
全年预算数 / 全年执行数 / 执行率 / 所属单位自评分数 / 主管部门复核分数; one row per unit
(本级 first); 合计; the 注 line word for word. Money is a number with two decimals, 执行率 a
number shown as a percentage with two decimals, scores numbers shown with “分” — so the sheet
still sums in Excel. A second sheet, 核对情况, lists what a supervisor must look at: rows whose
bundle disagrees with itself, reviews that do not fit, rejected inputs with their reasons.

`read_summary_xlsx` reads an earlier 附件4 back (this layout, or a hand-made one with the same
header words) so its rows can be checked against the units' bundles.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from ..bundle.payload import beijing_time
from ..consolidate.summary import NOTE, SCORE_RULES, DepartmentSummary, Row, SheetRow, Totals
from ..model.numbers import HUNDRED
from .bundle_view import MONEY, Value
from .text import cell_text, file_part
from .xlsx import Cell, _finish, _put, border

SHEET = "附件4 汇总表"
CHECK_SHEET = "核对情况"
COUNTY_SHEET = "汇总表"
HEADER = ("序号", "预算单位", "全年预算数", "全年执行数", "执行率", "所属单位自评分数", "主管部门复核分数")
WIDTHS = (7, 34, 14, 14, 11, 16, 16)
CHECK_WIDTHS = (12, 34, 90)
RATE = "0.00%"
SCORE = 'General"分"'


def summary_file_name(summary: DepartmentSummary) -> str:
    """'{year}-{主管部门}-附件4部门整体支出自评情况汇总表.xlsx', the department's name made safe as a
    file name (no path, bidi or zero-width characters: it is typed by the units)."""
    department = file_part(summary.department, 60, "主管部门")
    return f"{summary.year}-{department}-附件4部门整体支出自评情况汇总表.xlsx"


def _text(text: str) -> Value:
    return Value(cell_text(text) if text else None)


def _money(value: Decimal | None) -> Value:
    return Value(value, MONEY) if value is not None else Value()


def _rate(value: Decimal | None) -> Value:
    return Value(value / HUNDRED, RATE) if value is not None else Value()


def _score(value: Decimal | None) -> Value:
    return Value(value, SCORE) if value is not None else Value()


def _numbers(s: str, row: int, item: Row | Totals) -> Iterator[Cell]:
    who = getattr(item, "unit_name", "合计")
    yield Cell(s, row, 3, _money(item.budget), f"“{who}”的全年预算数", "number")
    yield Cell(s, row, 4, _money(item.executed), f"“{who}”的全年执行数", "number")
    yield Cell(s, row, 5, _rate(item.rate), f"“{who}”的执行率", "number")
    yield Cell(s, row, 6, _score(item.self_score), f"“{who}”的所属单位自评分数", "center")
    yield Cell(s, row, 7, _score(item.review_score), f"“{who}”的主管部门复核分数", "center")


def summary_layout(summary: DepartmentSummary) -> list[Cell]:
    """Every cell of the 附件4 sheet, in writing order."""
    s = SHEET
    cells = [
        Cell(s, 1, 1, _text("附件4："), "“附件4：”", "plain"),
        Cell(s, 2, 1, _text(summary.title), "表名", "title", width=7),
        Cell(s, 3, 1, _text(f"主管部门（盖章）：{summary.department}"), "主管部门", "plain", width=4),
        Cell(s, 3, 6, _text("单位：万元"), "金额单位", "unit", width=2),
    ]
    cells += [Cell(s, 4, col, _text(word), f"“{word}”表头", "header") for col, word in enumerate(HEADER, start=1)]
    row = 5
    for item in summary.rows:
        cells.append(Cell(s, row, 1, Value(item.index), f"第 {item.index} 行的序号", "center"))
        cells.append(Cell(s, row, 2, _text(item.unit_name), f"第 {item.index} 行的预算单位", "text"))
        cells += _numbers(s, row, item)
        row += 1
    cells.append(Cell(s, row, 1, _text("合计"), "“合计”", "label", width=2))
    cells += _numbers(s, row, summary.total)
    cells.append(Cell(s, row + 1, 1, _text(NOTE), "表下注", "note", width=7))
    return cells


def _check_rows(summary: DepartmentSummary, extra: Sequence[str]) -> list[tuple[str, str, str]]:
    lines: list[tuple[str, str, str]] = [("汇总规则", "合计分数", SCORE_RULES[summary.score_rule])]
    for row in summary.rows:
        for flag in row.flags:
            lines.append(("需核对", f"{row.index}. {row.unit_name}（{row.unit_code}）", flag))
    lines += [("说明", "", note) for note in summary.notes]
    lines += [("与已有汇总表不符", "", message) for message in extra]
    for rejected in summary.rejected:
        lines += [("未汇总", rejected.name, reason) for reason in rejected.reasons]
    for row in summary.rows:
        who = f"{row.index}. {row.unit_name}（{row.unit_code}）"
        lines.append(("材料来源", who, f"签名时间 {beijing_time(row.signed_at)}；签名内容 sha256 {row.payload_sha256}；"
                                       f"签名公钥指纹 {'、'.join(row.signers)}"))
    return lines


def _check_sheet(book: Any, lines: list[tuple[str, str, str]]) -> None:
    ws = book.create_sheet(CHECK_SHEET)
    cells = [Cell(CHECK_SHEET, 1, col, _text(word), f"“{word}”表头", "header")
             for col, word in enumerate(("类别", "对象", "说明"), start=1)]
    for row, line in enumerate(lines, start=2):
        cells += [Cell(CHECK_SHEET, row, col, _text(text), "", "text") for col, text in enumerate(line, start=1)]
    for cell in cells:
        _put(ws, cell)
    _finish(ws, cells, CHECK_WIDTHS, (1, len(lines) + 1), landscape=True)


def _save(book: Any) -> bytes:
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_summary_xlsx(summary: DepartmentSummary, *, differences: Sequence[str] = ()) -> bytes:
    """The workbook's bytes: the 附件4 sheet and the 核对情况 sheet."""
    cells = summary_layout(summary)
    book = Workbook()
    ws = book.active
    ws.title = SHEET
    for cell in cells:
        _put(ws, cell)
    last = 5 + len(summary.rows)
    _finish(ws, cells, WIDTHS, (4, last), landscape=False)
    ws.print_title_rows = "4:4"
    _check_sheet(book, _check_rows(summary, differences))
    return _save(book)


# --- the county table --------------------------------------------------------------------------

def county_layout(county: Any) -> tuple[list[Cell], list[int]]:
    """Cells of the county table (one section per 主管部门) and the rows of its section headings."""
    s = COUNTY_SHEET
    cells = [
        Cell(s, 1, 1, _text(county.title), "表名", "title", width=7),
        Cell(s, 2, 1, _text(f"汇总单位：{county.region}"), "汇总单位", "plain", width=4),
        Cell(s, 2, 6, _text("单位：万元"), "金额单位", "unit", width=2),
    ]
    cells += [Cell(s, 3, col, _text(word), f"“{word}”表头", "header") for col, word in enumerate(HEADER, start=1)]
    headings: list[int] = []
    row = 4
    for number, section in enumerate(county.sections, start=1):
        headings.append(row)
        cells.append(Cell(s, row, 1, _text(f"{_chinese_number(number)}、主管部门：{section.department}"),
                          f"第 {number} 节", "label", width=7))
        row += 1
        for item in section.rows:
            cells.append(Cell(s, row, 1, Value(item.index), "序号", "center"))
            cells.append(Cell(s, row, 2, _text(item.unit_name), "预算单位", "text"))
            cells += _numbers(s, row, item)
            row += 1
        cells.append(Cell(s, row, 1, _text("合计"), f"“{section.department}”合计", "label", width=2))
        cells += _numbers(s, row, section.total)
        row += 1
    cells.append(Cell(s, row, 1, _text("总计"), "“总计”", "label", width=2))
    cells += _numbers(s, row, county.total)
    cells.append(Cell(s, row + 1, 1, _text(county.note), "表下注", "note", width=7))
    return cells, headings


def write_county_xlsx(county: Any) -> bytes:
    cells, _ = county_layout(county)
    book = Workbook()
    ws = book.active
    ws.title = COUNTY_SHEET
    for cell in cells:
        _put(ws, cell)
    last = max(c.row for c in cells) - 1
    _finish(ws, cells, WIDTHS, (3, last), landscape=False)
    for cell in cells:  # merged section headings: border on every column they span
        if cell.width > 1 and 3 <= cell.row <= last:
            for col in range(cell.col, cell.col + cell.width):
                border(ws, ws.cell(row=cell.row, column=col))
    ws.print_title_rows = "3:3"
    lines = [("汇总规则", "总计分数", SCORE_RULES[county.score_rule])]
    for section in county.sections:
        lines.append(("材料来源", section.department,
                      f"汇总表 sha256 {section.summary_sha256}；"
                      f"签名公钥指纹 {'、'.join(section.signers) or '（未签名）'}"))
        lines += [("需核对", section.department, flag) for flag in section.flags]
        for row in section.rows:
            lines += [("需核对", f"{section.department} · {row.unit_name}", flag) for flag in row.flags]
    lines += [("说明", "", note) for note in county.notes]
    for rejected in county.rejected:
        lines += [("未汇总", rejected.name, reason) for reason in rejected.reasons]
    _check_sheet(book, lines)
    return _save(book)


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


# --- reading an earlier 附件4 back ---------------------------------------------------------------

def _fold(value: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))) if value is not None else ""


def _number(value: Any, fmt: str, *, percent: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)
        return number * HUNDRED if percent and "%" in fmt else number
    text = _fold(value).replace(",", "")
    for suffix in ("万元", "分", "%"):
        text = text.removesuffix(suffix)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def read_summary_xlsx(data: bytes) -> tuple[list[SheetRow], SheetRow | None]:
    """The rows and the 合计 of an 附件4 workbook (found by its header words on any sheet)."""
    with warnings.catch_warnings(action="ignore"):
        book = load_workbook(io.BytesIO(data), data_only=True)
    for ws in book.worksheets:
        grid = list(ws.iter_rows(max_row=min(ws.max_row, 5000), max_col=min(ws.max_column, 20)))
        for r, line in enumerate(grid):
            words = [_fold(c.value) for c in line]
            if "序号" in words and "预算单位" in words:
                return _rows_after(grid[r + 1:], words)
    return [], None


def _rows_after(grid: list[Any], words: list[str]) -> tuple[list[SheetRow], SheetRow | None]:
    def col(*names: str) -> int | None:
        return next((i for i, w in enumerate(words) for n in names if w == n), None)

    where = {"name": col("预算单位"), "budget": col("全年预算数"), "executed": col("全年执行数"),
             "rate": col("执行率"), "self": col("所属单位自评分数", "自评分数"),
             "review": col("主管部门复核分数", "复核分数"), "index": col("序号")}

    def cell(line: Any, key: str) -> tuple[Any, str]:
        i = where[key]
        if i is None or i >= len(line):
            return None, ""
        return line[i].value, str(line[i].number_format or "")

    def sheet_row(line: Any, name: str) -> SheetRow:
        return SheetRow(name, _number(*cell(line, "budget")), _number(*cell(line, "executed")),
                        _number(*cell(line, "rate"), percent=True), _number(*cell(line, "self")),
                        _number(*cell(line, "review")))

    rows: list[SheetRow] = []
    for line in grid:
        first = _fold(cell(line, "index")[0])
        name = _fold(cell(line, "name")[0])
        if first == "合计" or name == "合计":
            return rows, sheet_row(line, "合计")
        if first.startswith("注") or not name:
            continue
        rows.append(sheet_row(line, str(cell(line, "name")[0]).strip()))
    return rows, None
