"""What differs from the signed payload, named in the words on the form.

- A returned workbook is compared cell by cell with the layout rebuilt from the payload, on
  the visible sheets (附件6, 附件7): 签名后被修改：“预算完成率（2分）”的得分，2 → 1.
- The HTML is rebuilt byte for byte; when it differs, its first changed lines are named.
- A signed evaluation this program does not reproduce (the signer's software scored
  differently: another version, or a modified copy) is named by field — 总分, 等级,
  “预算完成率”的建议得分 — never as a JSON diff.
"""

from __future__ import annotations

import difflib
import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.numbers import plain
from ..model.submission import FUND_ROWS, Submission
from ..render.bundle_view import MONEY, display
from ..render.text import cell_text
from ..render.xlsx import ENVELOPE_SHEET, FORM_SHEET, REPORT_SHEET, Cell, cell_value, layout

MAX_MESSAGES = 30


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    if not text:
        return "（空）"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sheet_cells(ws: Any) -> dict[tuple[int, int], Any]:
    """Non-empty cells of a worksheet, read from its sparse store (never a huge grid)."""
    return {pos: cell for pos, cell in list(ws._cells.items())
            if cell.value is not None and not (isinstance(cell.value, str) and cell.value == "")}


def changed_cell(expected: Cell, actual: Any) -> str | None:
    """A message when what a reader sees in one cell differs from what was signed: its value
    (numbers as a spreadsheet holds them), or a number format jixiao did not write there."""
    want = expected.value.text
    if actual is None:
        return None if want == "" else f"签名后被清空：{expected.label}，{_quote(want)} → （空）"
    where = expected.label or f"{expected.sheet}!{expected.coordinate}"
    got = shown(actual.value, _format(actual))
    if actual.data_type == "f":
        return f"签名后被改成公式：{where}，{_quote(want)} → {_quote(got or '')}"
    fmt, written = _format(actual), expected.value.fmt or GENERAL
    if fmt != written:
        if got is not None and got != want:
            return f"签名后被修改：{where}，{_quote(want)} → {_quote(got)}（单元格格式被改为“{fmt[:40]}”）"
        seen = f"，仍显示“{_quote(got)}”" if got is not None else "，显示的可能已不是签名内容"
        return f"签名后单元格格式被修改：{where}，“{written}” → “{fmt[:40]}”{seen}"
    held, now = _held(expected.value.raw), _held(actual.value)
    if held is not None and now is not None:  # numbers: equal as a spreadsheet holds them
        if held == now:
            return None
        got = got if got != want else plain(now)  # 5479.62 → 5479.6200001, not 5479.62 → 5479.62
    elif got == want or (isinstance(actual.value, str) and cell_text(actual.value) == want):
        return None  # a noncharacter in a bundle made before they were replaced reads as U+FFFD
    return f"签名后被{'填写' if want == '' else '修改'}：{where}，{_quote(want)} → {_quote(got or '')}"


# --- what a number format shows ----------------------------------------------------------------------

GENERAL = "General"
_CONDITION = re.compile(r"\[[<>=]")


def _format(cell: Any) -> str:
    fmt = str(cell.number_format or GENERAL)
    return GENERAL if fmt.lower() == "general" else fmt


def _held(raw: Any) -> Decimal | None:
    """A number as a spreadsheet holds it: 15 significant digits. Excel shows no more,
    LibreOffice saves no more and openpyxl writes 16, so a score of 33.999999999999996 (a float
    artefact the model accepts) comes back as 34 from an untouched file."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        return None
    try:
        value = float(raw)
    except OverflowError:
        return None
    return Decimal(format(value, ".15g")) if math.isfinite(value) else None


def _split(fmt: str) -> list[str]:
    """The sections of a number format (positive;negative;zero;text), quotes and escapes kept."""
    sections, start, quoted, escaped = [], 0, False, False
    for i, ch in enumerate(fmt):
        if escaped:
            escaped = False
        elif ch == "\\" and not quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            sections.append(fmt[start:i])
            start = i + 1
    return [*sections, fmt[start:]]


def _literal(section: str, text: str | None = None) -> str | None:
    """What a section shows when it holds only literal text (and `@`, the cell's text, when
    `text` is given); None when it formats a number (0 # ? General, dates, …)."""
    out: list[str] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            out.append(section[i + 1:end])
            i = end + 1
        elif ch == "\\":
            out.append(section[i + 1:i + 2])
            i += 2
        elif ch == "[":  # a colour or a locale; [$¥-804] shows its symbol
            end = section.find("]", i)
            if end < 0:
                return None
            tag = section[i + 1:end]
            if tag.startswith("$"):
                out.append(tag[1:].split("-")[0])
            i = end + 1
        elif ch in "_*":  # _x: the width of x as a space; *x: x repeated to fill (drawn as one)
            out.append(" " if ch == "_" else section[i + 1:i + 2])
            i += 2
        elif ch == "@" and text is not None:
            out.append(text)
            i += 1
        elif ch in "0#?@.,%" or (ch.isascii() and ch.isalpha()):
            return None
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def shown(raw: Any, fmt: str) -> str | None:
    """The text a spreadsheet shows for a cell value under a number format: the formats jixiao
    writes (General, 0.00), and a literal one (“"35"”, “;;;”) that shows something other than
    the value. None when the format does something else with the number."""
    value = cell_value(raw)
    if fmt in (GENERAL, MONEY) or value is None:
        return display(value, "" if fmt == GENERAL else fmt)
    sections = _split(fmt)[:4]
    if any(_CONDITION.search(section) for section in sections):
        return None
    if isinstance(value, str):
        if len(sections) == 4:
            return _literal(sections[3], value)
        return _literal(sections[0], value) if len(sections) == 1 and "@" in sections[0] else value
    if value < 0 and len(sections) >= 2:
        return _literal(sections[1])
    if value == 0 and len(sections) >= 3:
        return _literal(sections[2])
    literal = _literal(sections[0])
    return None if literal is None else ("-" if value < 0 else "") + literal


def compare_workbook(book: Any, submission: Submission, evaluation: Evaluation,
                     framework: Framework) -> list[str]:
    """Every visible difference between a loaded workbook and the signed content. A workbook
    written before long texts continued on the rows below (the same layout unless one did) is
    compared with that layout when it does not match this one."""
    cells = layout(submission, evaluation, framework)
    messages = _compare(book, cells)
    if messages:
        earlier = layout(submission, evaluation, framework, split=False)
        if earlier != cells and not _compare(book, earlier):
            return []
    return messages


def _compare(book: Any, layout_cells: list[Cell]) -> list[str]:
    expected: dict[str, dict[tuple[int, int], Cell]] = {FORM_SHEET: {}, REPORT_SHEET: {}}
    for cell in layout_cells:
        expected[cell.sheet][(cell.row, cell.col)] = cell
    messages: list[str] = []
    for name, cells in expected.items():
        if name not in book.sheetnames:
            messages.append(f"签名后工作表“{name}”被删除或改名")
            continue
        ws = book[name]
        if ws.sheet_state != "visible":
            messages.append(f"签名后工作表“{name}”被隐藏")
        present = _sheet_cells(ws)
        for pos, cell in cells.items():
            if (message := changed_cell(cell, present.get(pos))) is not None:
                messages.append(message)
        for pos in sorted(set(present) - set(cells)):
            added = present[pos]
            value = shown(added.value, _format(added))
            value = display(cell_value(added.value)) if value is None else value
            messages.append(f"签名后新增内容：{name}!{added.coordinate}“{_quote(value)}”")
    for ws in book.worksheets:
        if ws.title not in expected and ws.title != ENVELOPE_SHEET and ws.sheet_state == "visible" \
                and _sheet_cells(ws):
            messages.append(f"签名后新增了工作表“{ws.title}”")
    if len(messages) > MAX_MESSAGES:
        messages = [*messages[:MAX_MESSAGES], f"……另有 {len(messages) - MAX_MESSAGES} 处改动未列出"]
    return messages


class _Text(HTMLParser):
    """The visible text of a page, one line per block, without the style sheet."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag in ("p", "tr", "h1", "h2", "h3", "td", "th", "br", "footer"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return [line for line in (re.sub(r"\s+", " ", s).strip() for s in "".join(parser.parts).split("\n"))
            if line]


def compare_html(actual: str, expected: str) -> list[str]:
    """Nothing when the page is the one rebuilt from the signed payload; else what changed."""
    if actual == expected:
        return []
    old, new = page_text(expected), page_text(actual)
    messages: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        before = _quote(" ".join(old[a1:a2])) if a2 > a1 else "（无）"
        after = _quote(" ".join(new[b1:b2])) if b2 > b1 else "（删除）"
        messages.append(f"签名后网页内容被修改：{before} → {after}")
        if len(messages) >= 5:
            break
    return messages or ["签名后网页的代码被修改（可见文字未变，但可能加入了脚本或改变了样式）"]


# --- the evaluation ---------------------------------------------------------------------------

LIMIT = 10
_TOP = {"total": "总分", "grade": "等级", "execution_rate": "整体执行率", "framework": "指标体系信息"}
_ORDER = {k: i for i, k in enumerate(("total", "grade", "execution_rate", "funds", "level1", "indicators"))}
_FIELDS = {"budget": "全年预算数", "executed": "全年执行数", "rate": "执行率", "score": "得分",
           "suggested": "建议得分", "max_score": "分值", "rule": "评分规则", "weight": "权重",
           "max_sum": "分值合计", "score_sum": "得分合计", "name": "名称", "path": "位置"}


def _show(value: Any) -> str:
    if value is None:
        return "（空）"
    text = str(value) if not isinstance(value, dict | list) else "…"
    return text if len(text) <= 30 else text[:29] + "…"


def _walk(a: Any, b: Any, path: tuple[str | int, ...], out: list[tuple[tuple[str | int, ...], Any, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=lambda k: (_ORDER.get(k, len(_ORDER)), k)):
            _walk(a.get(key), b.get(key), (*path, key), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, (*path, index), out)
    elif a != b:
        out.append((path, a, b))


def _name(path: tuple[str | int, ...], signed: dict[str, Any]) -> str:
    head = path[0]
    if head in _TOP and len(path) == 1:
        return _TOP[str(head)]
    field = _FIELDS.get(str(path[-1]), str(path[-1]))
    if head == "funds" and len(path) == 3:
        return f"{FUND_ROWS.get(str(path[1]), str(path[1]))}的{field}"
    if head in ("indicators", "level1") and len(path) == 3 and isinstance(path[1], int):
        rows = signed.get(str(head)) or []
        name = rows[path[1]].get("name", "") if path[1] < len(rows) else ""
        kind = "一级指标" if head == "level1" else "指标"
        return f"{kind}“{name}”的{field}"
    return ".".join(str(p) for p in path)


def evaluation_differences(signed: Evaluation, recomputed: Evaluation) -> list[str]:
    """'总分：签名为 98，复算为 97' lines, at most LIMIT (then a count of the rest)."""
    a, b = signed.model_dump(mode="json"), recomputed.model_dump(mode="json")
    lines: list[str] = []
    fa, fb = a.pop("findings"), b.pop("findings")
    found: list[tuple[tuple[str | int, ...], Any, Any]] = []
    _walk(a, b, (), found)
    for path, x, y in found:
        if isinstance(x, list) or isinstance(y, list):
            lines.append(f"{_name(path, a)}的条目数：签名为 {len(x or [])}，复算为 {len(y or [])}")
        else:
            lines.append(f"{_name(path, a)}：签名为 {_show(x)}，复算为 {_show(y)}")
    if fa != fb:
        codes_a = sorted(f["code"] for f in fa)
        codes_b = sorted(f["code"] for f in fb)
        if codes_a != codes_b:
            lines.append(f"问题清单：签名时 {len(fa)} 条，复算 {len(fb)} 条")
        else:
            lines.append("问题清单的内容与复算不同")
    if len(lines) > LIMIT:
        lines = [*lines[:LIMIT], f"另有 {len(lines) - LIMIT} 处不同"]
    return lines
