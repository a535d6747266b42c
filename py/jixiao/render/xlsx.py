"""附件6 (and 附件7) as an .xlsx in the official layout, carrying the signed envelope.

`layout()` places every value in a cell and names it (“预算完成率（2分）”的得分); `write_xlsx`
styles and saves that layout, and the verifier compares a returned workbook against the same
layout, so a change after signing is named by the words on the form. The envelope sits on a
very hidden sheet (chunks of at most 32 767 characters, Excel's cell limit), so the xlsx
alone can be verified. That sheet's part is stored, not deflated (`_stored`): a verifier then
reads it as a slice and a CRC, while the visible parts stay deflated.

Text a unit typed is always a string cell: `=1+1` or `@SUM(…)` never becomes a formula.
A row is at most 409 pt, so a long 年度总体目标, 偏差及原因分析 or 附件7 paragraph continues on
the rows below rather than being cut off in print (`_parts`, PARAGRAPH_CHUNK).
The output reads back through `io.xlsx_read.read_xlsx` to the same evaluation.
"""

from __future__ import annotations

import io
import math
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

from ..catalog import UnknownName, load_framework
from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.submission import Submission
from .bundle_view import NOTES, FormView, Value, form_view
from .text import cell_text, zip_date_time

FORM_SHEET = "附件6 自评表"
REPORT_SHEET = "附件7 自评报告"
ENVELOPE_SHEET = "签名数据"
CHUNK = 32_000  # a cell holds at most 32 767 characters
RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORM_WIDTHS = (12, 7, 14, 28, 14, 14, 7, 7, 22)
REPORT_WIDTHS = (22, 78)
HEADER = ("一级指标", "权重", "二级指标", "三级指标", "年度指标值", "全年完成值", "分值", "得分", "偏差及原因分析")
MAX_ROW_POINTS = 409  # Excel's limit for a row's height
CHUNK_LINES = 16  # a longer 年度总体目标 or 偏差 continues on the next row: 16 lines of 10.5 pt are 232 pt
GOAL_WIDTHS = (sum(FORM_WIDTHS[1:5]), sum(FORM_WIDTHS[5:9]))  # 年初设定目标 B:E, 全年完成情况 F:I
PARAGRAPH_CHUNK = 900  # a longer paragraph continues on the next row, so no row overflows


@dataclass(frozen=True)
class Cell:
    """One written value: where, what, how it is named in a message, and its style."""

    sheet: str
    row: int
    col: int
    value: Value
    label: str
    style: str = "text"
    width: int = 1  # merged columns to the right, this one included
    height: int = 1  # merged rows below, this one included

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"


def _text(text: str) -> Value:
    return Value(cell_text(text) if text else None)


def _parts(text: str, width: float, split: bool) -> list[str]:
    """`text` cut into parts of at most CHUNK_LINES wrapped lines in a column `width` wide, each
    for its own row: a row cannot be taller than 409 pt, and a longer text was cut off at both
    ends, on screen and in print. Cut at a line break where one falls, else after the end of a
    sentence in the part's second half, else where the part is full. `split=False` keeps the
    whole text in one part, as bundles signed before this were written."""
    text = cell_text(text)
    usable = max(width - 1.5, 1.0)  # `_lines` wraps at width - 1.5 column units
    # Bound first (a character is at most 2 units, a paragraph adds at most one line): the
    # verifier lays out every cell of every bundle it is given.
    if not split or text.count("\n") + 1 + 2 * len(text) / usable <= CHUNK_LINES \
            or _lines(text, width) <= CHUNK_LINES:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for paragraph in text.split("\n"):
        while True:
            need = max(1, math.ceil(_units(paragraph) / usable))
            if used + need <= CHUNK_LINES:
                current.append(paragraph)
                used += need
                break
            if current:
                parts.append("\n".join(current))
                current, used = [], 0
                continue
            cut = _cut(paragraph, CHUNK_LINES * usable)
            parts.append(paragraph[:cut])
            paragraph = paragraph[cut:]
    parts.append("\n".join(current))
    return parts


_SENTENCE_ENDS = frozenset("。！？；!?;")


def _cut(paragraph: str, room: float) -> int:
    """Where a paragraph longer than `room` column units is cut: after the last sentence end in
    the second half of what fits, else where it is full (at least one character)."""
    total, fits = 0.0, 0
    for ch in paragraph:
        total += _units(ch)
        if total > room:
            break
        fits += 1
    fits = max(fits, 1)
    return max((i + 1 for i in range(fits // 2, fits) if paragraph[i] in _SENTENCE_ENDS), default=fits)


def _form(view: FormView, split: bool = True) -> Iterator[Cell]:
    s = FORM_SHEET

    def at(row: int, col: int, value: Value | str, label: str, style: str = "text",
           width: int = 1, height: int = 1) -> Cell:
        v = _text(value) if isinstance(value, str) else value
        return Cell(s, row, col, v, label, style, width, height)

    yield at(1, 1, "附件6：", "“附件6：”", "plain")
    yield at(2, 1, "部门（单位）整体支出绩效自评表", "表名", "title", width=9)
    yield at(3, 1, view.year_text, "年度", "subtitle", width=9)
    yield at(4, 1, "单位：万元", "金额单位", "unit", width=9)
    for row, pairs in ((5, (("评价部门名称", view.unit_name), ("下属单位个数", view.subordinate_units))),
                       (6, (("单位编码", view.unit_code), ("主管部门", view.department)))):
        (left, left_value), (right, right_value) = pairs
        yield at(row, 1, left, f"“{left}”标签", "label")
        yield at(row, 2, left_value, left, "text", width=5)
        yield at(row, 7, right, f"“{right}”标签", "label", width=2)
        yield at(row, 9, right_value, right, "center")
    yield at(7, 1, Value(), "", "label", width=4)
    for col, word, width in ((5, "全年预算数", 1), (6, "全年执行数", 1), (7, "执行率", 3)):
        yield at(7, col, word, f"“{word}”表头", "header", width=width)
    yield at(8, 1, "整体支出规模", "“整体支出规模”标签", "label", height=len(view.funds))
    for row, line in enumerate(view.funds, start=8):
        yield at(row, 2, line.label, f"“{line.label}”标签", "text", width=3)
        name = "整体支出规模合计" if line.label == "合计" else line.label
        yield at(row, 5, line.budget, f"“{name}”的全年预算数", "number")
        yield at(row, 6, line.executed, f"“{name}”的全年执行数", "number")
        yield at(row, 7, line.rate, f"“{name}”的执行率", "number", width=3)
    goal = 8 + len(view.funds)
    targets = _parts(view.goal_target, GOAL_WIDTHS[0], split)
    completions = _parts(view.goal_completion, GOAL_WIDTHS[1], split)
    count = max(len(targets), len(completions))
    yield at(goal, 1, "年度总体目标", "“年度总体目标”标签", "label", height=1 + count)
    yield at(goal, 2, "年初设定目标", "“年初设定目标”表头", "header", width=4)
    yield at(goal, 6, "全年完成情况", "“全年完成情况”表头", "header", width=4)
    for number in range(count):  # each part in its own row: a merged cell across a page break is cut
        for col, parts, word in ((2, targets, "年初设定目标"), (6, completions, "全年完成情况")):
            text = parts[number] if number < len(parts) else ""
            label = f"年度总体目标的{word}{_nth(number, max(len(parts), number + 1))}"
            yield at(goal + 1 + number, col, text, label, "text", width=4)
    yield at(goal + 1 + count, 1, "分解目标自评", "“分解目标自评”标签", "label", width=9)
    head = goal + 2 + count
    for col, word in enumerate(HEADER, start=1):
        yield at(head, col, word, f"“{word}”表头", "header")
    yield from _indicators(view, head + 1, at, split)


def _nth(number: int, count: int) -> str:
    return f"（第 {number + 1} 段）" if count > 1 else ""


def _indicators(view: FormView, first: int, at: Any, split: bool) -> Iterator[Cell]:
    """The indicator table; a long 偏差及原因分析 continues on the rows below its indicator, whose
    other cells (and the 一级/二级 cells around them) are merged down over those rows."""
    deviations = [[[_parts(item.deviation, FORM_WIDTHS[8], split) for item in group.items]
                   for group in level.groups] for level in view.levels]
    row = first
    for level, level_parts in zip(view.levels, deviations, strict=True):
        group_rows = [max(1, sum(len(p) for p in group_parts)) for group_parts in level_parts]
        level_rows = max(1, sum(group_rows))
        yield at(row, 1, level.name, f"一级指标“{level.name}”的名称", "label", height=level_rows)
        yield at(row, 2, level.weight, f"一级指标“{level.name}”的权重", "center", height=level_rows)
        group_row = row
        for group, group_parts, rows in zip(level.groups, level_parts, group_rows, strict=True):
            yield at(group_row, 3, group.name, f"二级指标“{group.name}”的名称", "label", height=rows)
            r = group_row
            for item, parts in zip(group.items, group_parts, strict=True):
                who, tall = f"“{item.name or group.name}”", len(parts)
                text, center = ("text", "center") if tall == 1 else ("text_top", "center_top")
                yield at(r, 4, item.name, f"三级指标{who}的名称", text, height=tall)
                yield at(r, 5, item.target, f"{who}的年度指标值", center, height=tall)
                yield at(r, 6, item.actual, f"{who}的全年完成值", center, height=tall)
                yield at(r, 7, item.max_score, f"{who}的分值", center, height=tall)
                yield at(r, 8, item.score, f"{who}的得分", center, height=tall)
                for number, part in enumerate(parts):
                    yield at(r + number, 9, part, f"{who}的偏差及原因分析{_nth(number, tall)}")
                r += tall
            group_row += rows
        row += level_rows
    yield at(row, 1, "总分", "“总分”标签", "label", width=6)
    yield at(row, 7, view.weight_total, "总分行的分值", "center")
    yield at(row, 8, view.total, "总分", "center")
    yield at(row, 9, Value(), "", "center")
    for offset, note in enumerate(NOTES, start=2):
        yield at(row + offset, 1, note, "表下说明", "note", width=9)


def _report(view: FormView) -> Iterator[Cell]:
    s = REPORT_SHEET
    yield Cell(s, 1, 1, _text("附件7："), "“附件7：”", "plain")
    yield Cell(s, 2, 1, _text(view.report_title), "报告标题", "title", width=2)
    yield Cell(s, 3, 1, _text(view.year_text), "报告年度", "subtitle", width=2)
    row = 4
    for section in view.sections:
        style = "heading1" if section.depth == 1 else "heading2"
        yield Cell(s, row, 1, _text(section.title), f"报告标题“{section.title}”", style, width=2)
        row += 1
        number = 0
        for paragraph in section.paragraphs:
            for start in range(0, len(paragraph), PARAGRAPH_CHUNK):
                number += 1
                label = f"自评报告“{section.title}”第 {number} 段"
                piece = paragraph[start:start + PARAGRAPH_CHUNK]
                yield Cell(s, row, 1, _text(piece), label, "paragraph", width=2)
                row += 1
    row += 1
    yield Cell(s, row, 1, _text("报告数据"), "“报告数据”标签", "heading1", width=2)
    for offset, (label, value) in enumerate(view.figures, start=1):
        shown = _text(value.raw) if isinstance(value.raw, str) else value  # 自评结果 is typed text
        yield Cell(s, row + offset, 1, _text(label), f"“{label}”标签", "label")
        yield Cell(s, row + offset, 2, shown, f"自评报告数据“{label}”", "figure")


def outline_framework(evaluation: Evaluation) -> Framework | None:
    """The shipped framework an evaluation names, for the report's section titles."""
    try:
        framework = load_framework(evaluation.framework.id)
    except UnknownName:
        return None
    return framework if framework.sha256 == evaluation.framework.sha256 else None


def layout(submission: Submission, evaluation: Evaluation,
           framework: Framework | None = None, *, split: bool = True) -> list[Cell]:
    """Every cell of 附件6 and 附件7 for this submission, in writing order. `split=False` is the
    layout bundles were written in before long texts continued on the rows below."""
    view = form_view(submission, evaluation, framework or outline_framework(evaluation))
    return [*_form(view, split), *_report(view)]


# --- styling and saving -------------------------------------------------------------------------

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FONT = "宋体"
_STYLES: dict[str, tuple[Font, Alignment]] = {
    "plain": (Font(name=_FONT, size=11), Alignment(vertical="center")),
    "title": (Font(name="黑体", size=18, bold=True), Alignment(horizontal="center", vertical="center")),
    "subtitle": (Font(name=_FONT, size=12), Alignment(horizontal="center", vertical="center")),
    "unit": (Font(name=_FONT, size=10.5), Alignment(horizontal="right", vertical="center")),
    "label": (Font(name=_FONT, size=10.5, bold=True),
              Alignment(horizontal="center", vertical="center", wrap_text=True)),
    "header": (Font(name=_FONT, size=10.5, bold=True),
               Alignment(horizontal="center", vertical="center", wrap_text=True)),
    "text": (Font(name=_FONT, size=10.5), Alignment(horizontal="left", vertical="center", wrap_text=True)),
    "center": (Font(name=_FONT, size=10.5), Alignment(horizontal="center", vertical="center", wrap_text=True)),
    # An indicator whose 偏差 continues below: its cells are merged down and keep their text at
    # the top, in the first row, which never straddles a page break as the merged block may.
    "text_top": (Font(name=_FONT, size=10.5), Alignment(horizontal="left", vertical="top", wrap_text=True)),
    "center_top": (Font(name=_FONT, size=10.5), Alignment(horizontal="center", vertical="top", wrap_text=True)),
    "number": (Font(name=_FONT, size=10.5), Alignment(horizontal="right", vertical="center")),
    "note": (Font(name=_FONT, size=9.5), Alignment(horizontal="left", vertical="top", wrap_text=True)),
    "heading1": (Font(name="黑体", size=12, bold=True), Alignment(vertical="center", wrap_text=True)),
    "heading2": (Font(name=_FONT, size=11, bold=True), Alignment(vertical="center", wrap_text=True)),
    "paragraph": (Font(name=_FONT, size=11), Alignment(vertical="top", wrap_text=True)),
    "figure": (Font(name=_FONT, size=11), Alignment(horizontal="left", vertical="center")),
    "public": (Font(name=_FONT, size=10, bold=True), Alignment(horizontal="right", vertical="center", wrap_text=True)),
}
_LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
_POINTS = {"title": 30.0, "subtitle": 20.0, "unit": 16.0}


def _units(text: str) -> float:
    """Width in Excel column units: a CJK character takes about two."""
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.05 for ch in text)


def _lines(text: str, width: float) -> int:
    usable = max(width - 1.5, 1.0)
    return sum(max(1, math.ceil(_units(part) / usable)) for part in text.split("\n"))


def _restyle(ws: Any, target: Any, change: tuple[Any, ...], apply: Callable[[Any], None]) -> None:
    """`apply(target)`, remembered per workbook: a cell's style is a row of indices into the
    workbook's style tables, and setting a font or a border through openpyxl hashes every style
    object to find its index (2 s for a 10,000-row 附件4). The same start and the same change
    give the same row, so after the first time it is copied — openpyxl's own way of copying a
    cell's style (`_style`). The first time is done the long way, so the tables are built in the
    same order and the file's bytes are the same."""
    memo: dict[tuple[Any, ...], Any] = ws.parent.__dict__.setdefault("_jixiao_styles", {})
    key = (None if target._style is None else tuple(target._style), change)  # None: never styled
    found = memo.get(key)
    if found is None:
        apply(target)
        memo[key] = copy(target._style)
    else:
        target._style = copy(found)


def _put(ws: Any, cell: Cell) -> None:
    target = ws.cell(row=cell.row, column=cell.col)
    raw = cell.value.raw
    target.value = raw
    risky = isinstance(raw, str) and raw.startswith(RISKY_STARTS)
    if risky:
        target.data_type = "s"  # typed text, never a formula
    fmt = cell.value.fmt
    font, alignment = _STYLES[cell.style]

    def apply(target: Any) -> None:
        if risky:
            target.quotePrefix = True  # and Excel keeps it text when the cell is edited
        if fmt:
            target.number_format = fmt
        target.font, target.alignment = font, alignment

    _restyle(ws, target, ("put", risky, fmt, cell.style), apply)
    if cell.width > 1 or cell.height > 1:
        ws.merge_cells(start_row=cell.row, start_column=cell.col,
                       end_row=cell.row + cell.height - 1, end_column=cell.col + cell.width - 1)


def _set_border(target: Any) -> None:
    target.border = _BORDER


def _set_fill(target: Any) -> None:
    target.fill = _LABEL_FILL


def border(ws: Any, target: Any) -> None:
    """The table's thin border on one cell (through the workbook's style memo)."""
    _restyle(ws, target, ("border",), _set_border)


def _finish(ws: Any, cells: list[Cell], widths: tuple[int, ...], bordered: tuple[int, int] | None,
            landscape: bool) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    heights: dict[int, float] = {}
    for cell in cells:
        if cell.style in _POINTS:
            heights[cell.row] = _POINTS[cell.style]
            continue
        span = sum(widths[cell.col - 1:cell.col - 1 + cell.width])
        size = _STYLES[cell.style][0].sz or 11
        need = _lines(cell.value.text, span) * size * 1.35 + 5
        per_row = need / cell.height
        heights[cell.row] = max(heights.get(cell.row, 16.0), per_row)
    for row, points in heights.items():
        ws.row_dimensions[row].height = min(MAX_ROW_POINTS, round(points, 1))
    if bordered:
        for r in range(bordered[0], bordered[1] + 1):
            for c in range(1, len(widths) + 1):
                border(ws, ws.cell(row=r, column=c))
    for cell in cells:
        target = ws.cell(row=cell.row, column=cell.col)
        if cell.style == "figure" or (bordered and bordered[0] <= cell.row <= bordered[1]):
            border(ws, target)
            if cell.style == "label":
                _restyle(ws, target, ("fill",), _set_fill)
        elif cell.style == "label" and cell.sheet == REPORT_SHEET:
            border(ws, target)
            _restyle(ws, target, ("fill",), _set_fill)
    setup = ws.page_setup
    setup.orientation = "landscape" if landscape else "portrait"
    setup.paperSize = ws.PAPERSIZE_A4
    setup.fitToWidth, setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


# A public copy's line (payload.public_note): row, column, merged columns. Beside 附件6：/附件7：,
# so no cell of the unit's layout moves; verify.py checks it, then compares the rest.
PUBLIC_NOTE_AT = {FORM_SHEET: (1, 4, 6), REPORT_SHEET: (1, 2, 1)}


def public_cells(note: str) -> list[Cell]:
    return [Cell(sheet, row, col, Value(note), "公开版标注", "public", width)
            for sheet, (row, col, width) in PUBLIC_NOTE_AT.items()]


def write_xlsx(submission: Submission, evaluation: Evaluation, envelope_json: str | None,
               *, framework: Framework | None = None, dated: datetime | None = None,
               public: str | None = None) -> bytes:
    """The workbook's bytes: 附件6, 附件7 and (when given) the envelope on a very hidden sheet.
    `dated` (aware; a bundle passes its signing time in China) replaces the clock in the document
    properties and the parts' dates, so the same bundle is written to the same bytes. `public`:
    a public copy's line, at the top right of both sheets (PUBLIC_NOTE_AT)."""
    cells = layout(submission, evaluation, framework) + (public_cells(public) if public else [])
    book = Workbook()
    form = book.active
    form.title = FORM_SHEET
    report = book.create_sheet(REPORT_SHEET)
    sheets = {FORM_SHEET: form, REPORT_SHEET: report}
    for cell in cells:
        _put(sheets[cell.sheet], cell)
    form_cells = [c for c in cells if c.sheet == FORM_SHEET]
    total_row = next(c.row for c in form_cells if c.label == "总分")
    _finish(form, form_cells, FORM_WIDTHS, (5, total_row), landscape=True)
    head_row = next(c.row for c in form_cells if c.label == "“一级指标”表头")
    form.print_title_rows = f"{head_row}:{head_row}"
    _finish(report, [c for c in cells if c.sheet == REPORT_SHEET], REPORT_WIDTHS, None, landscape=False)
    if envelope_json is not None:
        hidden = book.create_sheet(ENVELOPE_SHEET)
        for row, start in enumerate(range(0, len(envelope_json), CHUNK), start=1):
            hidden.cell(row=row, column=1, value=envelope_json[start:start + CHUNK]).data_type = "s"
        hidden.sheet_state = "veryHidden"
    book.active = 0
    out = io.BytesIO()
    if dated is None:
        book.save(out)
    else:  # what `book.save` does, but with `dated` where it puts the clock
        book.properties.created = book.properties.modified = dated.astimezone(UTC).replace(tzinfo=None)
        ExcelWriter(book, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    if envelope_json is None and dated is None:
        return out.getvalue()
    stamp = None if dated is None else zip_date_time(dated)
    part = hidden.path.lstrip("/") if envelope_json is not None else None  # the path is known once saved
    return _stored(out.getvalue(), part, stamp)


def _stored(xlsx: bytes, part: str | None, stamp: tuple[int, int, int, int, int, int] | None = None) -> bytes:
    """The same package with `part` stored rather than deflated: the signature sheet is read on
    every check of thousands of bundles and compresses to 30% of 20 kB, while the bundle's zip
    stores the xlsx as it is. Every entry keeps its name, order and attributes, and its date
    unless `stamp` is given; the others are deflated again with zipfile's default level, as
    openpyxl deflated them, so equal input gives equal output."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, stamp or info.date_time)
            entry.compress_type = zipfile.ZIP_STORED if info.filename == part else info.compress_type
            entry.create_system, entry.external_attr = info.create_system, info.external_attr
            target.writestr(entry, source.read(info))
    return out.getvalue()


def envelope_from_book(book: Any) -> str | None:
    """The envelope text from the hidden sheet of a loaded workbook; None when there is none."""
    if ENVELOPE_SHEET not in book.sheetnames:
        return None
    ws = book[ENVELOPE_SHEET]
    parts: list[str] = []
    for row in range(1, ws.max_row + 1):
        value = ws.cell(row=row, column=1).value
        if value is None:
            break
        parts.append(str(value))
    return "".join(parts) or None


def cell_value(raw: Any) -> Decimal | str | None:
    """A loaded cell's value in the terms `layout` uses (numbers as Decimal)."""
    if raw is None or isinstance(raw, str | Decimal):
        return raw
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int | float):
        return Decimal(format(raw, ".15g"))
    return str(raw)
