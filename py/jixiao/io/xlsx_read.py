"""Read a unit's existing 附件6 (and optional 附件7) .xlsx into a `Submission`.

Units keep these tables in Excel, often pasted from Word, so nothing is found by cell address:
the reader looks for label words, fills merged ranges, carries blank 一级/二级 cells forward,
joins values spilled onto the next row and reads numbers typed as text. Anything unreadable
becomes one `InputError` with a one-line Chinese reason; no openpyxl or zipfile error escapes.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from io import BytesIO
from typing import Any

import openpyxl  # type: ignore[import-untyped]

from ..catalog import UnknownName, framework_ids, load_framework
from ..model import submission as m
from ..model.base import ValidationError
from ..model.fields import describe_validation_error
from ..model.framework import Framework
from ..model.numbers import HUNDRED, parse_decimal, parse_entry, plain, unit_problem
from .errors import InputError

MAX_UNCOMPRESSED = 50 * 1024 * 1024  # openpyxl keeps every cell in memory: refuse zip bombs
MAX_TABLE_ROWS = 5000
MAX_MERGED = 1_000_000
_MERGE_REF = re.compile(rb"""<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*["']([^"']*)["']""")
Pos = tuple[int, int]  # (row, column)
Span = tuple[int, int]  # (first column, last column) of a header, merged or not
Got = tuple[Any, str]  # a cell's value and number format; (None, "") when blank
Words = dict[str, tuple[str, ...]]

_HEAD: Words = {"l1": ("一级指标",), "weight": ("权重", "权重(分)"), "l2": ("二级指标",),
                "name": ("三级指标",), "target": ("年度指标值", "年度目标值", "指标值", "目标值"),
                "actual": ("全年完成值", "实际完成值", "全年实际完成值", "完成值"),
                "max": ("分值", "标准分值", "指标分值", "满分"), "score": ("得分", "自评得分", "自评分"),
                "deviation": ("偏差及原因分析", "偏差原因分析", "偏差分析", "偏差情况及原因分析")}
_NUMERIC = {"weight": "权重", "max": "分值", "score": "得分"}
_NUMERIC_KIND = {"max": "score", "score": "score"}  # a 权重 may be written 20 or 20%
_TOTAL_WORDS = {"总分", "合计", "总计", "总得分"}
_FUND_KEYS = {"fiscal": "财政拨款", "other": "其他资金", "basic": "基本支出",
              "project": "项目支出", "total": "整体支出规模"}  # specific words first
_FUND_HEAD: Words = {"budget": ("全年预算数", "预算数"), "executed": ("全年执行数", "执行数"), "rate": ("执行率",)}
_GOAL_HEAD: Words = {"target": ("年初设定目标",), "completion": ("全年完成情况",)}
_LABELS: Words = {"unit_name": ("评价部门名称", "部门名称", "单位名称", "评价单位名称"),
                  "unit_code": ("单位编码", "单位代码"), "department": ("主管部门", "主管部门名称"),
                  "subordinate_units": ("下属单位个数",), "year": ("年度",)}
_FIGURES = {"全年预算数": "budget", "全年执行数": "executed", "执行率": "rate", "自评结果": "grade",
            "预算单位个数": "unit_count"} | {f.title or k: k for k, f in m.Staffing.model_fields.items()}
_KNOWN_LABELS = {w for words in (_LABELS, _FUND_HEAD, _GOAL_HEAD)
                 for options in words.values() for w in options} | set(_FIGURES)


def fold(text: str) -> str:
    """NFKC without whitespace, so '一级\\n指标' and '（四）' match their clean spellings."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _label(text: str) -> str:
    """A label cell's key: folded, without a trailing colon, full stop or unit like （万元）."""
    return re.sub(r"\([^()]*\)$", "", fold(text).rstrip(":。")).rstrip(":")


@dataclass
class Sheet:
    """A worksheet as a sparse grid; merged ranges are filled from their top-left cell."""

    title: str
    values: dict[Pos, Any] = field(default_factory=dict)
    formats: dict[Pos, str] = field(default_factory=dict)
    origin: dict[Pos, Pos] = field(default_factory=dict)  # filled cell -> its top-left
    rows: dict[int, list[int]] = field(default_factory=dict)

    def text(self, pos: Pos) -> str:
        return _text(self.values.get(pos), self.formats.get(pos, ""))

    def rows_in(self, first: float, last: float) -> list[int]:
        return [r for r in sorted(self.rows) if first <= r <= last]

    def own(self, row: int) -> list[int]:
        """Columns typed in this row, without merge continuations: a block counts once."""
        return [c for c in self.rows.get(row, []) if (row, c) not in self.origin]

    def right(self, pos: Pos) -> str:
        """The next non-empty cell to the right, outside the label's own merged block."""
        row, top = pos[0], self.origin.get(pos, pos)
        cols = (c for c in self.rows.get(row, []) if c > pos[1]
                and self.origin.get((row, c), (row, c)) != top)
        value = self.text((row, next(cols, 0)))
        return "" if _label(value) in _KNOWN_LABELS else value

    def in_span(self, row: int, span: Span) -> Got:
        col = next((c for c in self.own(row) if span[0] <= c <= span[1]), 0)
        return self.values.get((row, col)), self.formats.get((row, col), "")


def _text(value: Any, fmt: str) -> str:
    """A cell as the text a person sees: numbers without float noise, 0.95 in % as 95%."""
    if value is None or isinstance(value, str):
        return (value or "").replace("\r\n", "\n").strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _number(value, fmt, "单元格")
        return "" if number is None else plain(number) + ("%" if "%" in fmt else "")
    return str(value).removesuffix(" 00:00:00").strip()  # a date shows as 2021-12-31


def _number(value: Any, fmt: str, what: str) -> Decimal | None:
    """A number cell: floats at Excel's 15 digits, percent formats ×100, '\\n8' and '98分'."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        number = Decimal(value) if isinstance(value, int) else Decimal(format(value, ".15g"))
        return number * HUNDRED if "%" in fmt else number
    try:
        return parse_decimal(re.sub(r"\s+", "", value) if isinstance(value, str) else value)
    except ValueError:
        raise InputError(f"{what}不是数字：“{' '.join(str(value).split())[:40]}”") from None


def _entry(value: Any, fmt: str, what: str, kind: str | None = None) -> Decimal | None:
    """`_number` for a cell the form's model takes (分值, 得分, amounts, rates): beyond the entry
    bounds, or typed with another box's unit (`kind`: money, rate, score), it is refused here,
    where the row and column can still be named."""
    problem = unit_problem(value, kind) if kind is not None else None
    if problem is not None:
        raise InputError(f"{what}：{problem}")
    number = _number(value, fmt, what)
    try:
        return parse_entry(number)
    except ValueError as exc:
        raise InputError(f"{what}：{exc}") from None


def _count(text: str, what: str) -> int | None:
    number = _number(re.sub(r"[人个名户]$", "", fold(text)), "", what)
    if number is not None and (number != number.to_integral_value() or number < 0):
        raise InputError(f"{what}应为非负整数：“{' '.join(text.split())[:40]}”")
    return None if number is None else int(number)


def _open(data: bytes) -> list[Sheet]:
    """Refuse what is not a sane .xlsx before openpyxl sees it, then load every sheet."""
    ole = data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc and encrypted files
    for wrong, problem in (
            (not data, "文件是空的：请选择自评表 .xlsx 文件"),
            (ole and "EncryptedPackage".encode("utf-16-le") in data, "文件设置了打开密码（已加密）"),
            (ole and "WordDocument".encode("utf-16-le") in data, "这是 Word 文件（.doc），不是 Excel 表格"),
            (ole, "这是旧版 Excel 文件（.xls）：请在 Excel 中另存为 .xlsx 后上传"),
            (data[:5] == b"%PDF-", "这是 PDF 文件，不是 Excel 表格")):
        if wrong:
            raise InputError(problem if "：" in problem else f"{problem}：请上传 .xlsx 自评表")
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            for wrong, problem in (
                    ("word/document.xml" in names, "这是 Word 文件（.docx），不是 Excel 表格"),
                    (any(n.startswith("ppt/") for n in names), "这是 PowerPoint 文件，不是 Excel 表格"),
                    ("xl/workbook.xml" not in names, "不是 .xlsx 文件：压缩包中没有 Excel 工作簿"),
                    (any(i.flag_bits & 1 for i in infos), "文件已加密"),
                    (len(infos) > 10_000 or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED,
                     "文件解压后超过 50 MB，拒绝读取")):
                if wrong:
                    raise InputError(problem if "：" in problem else f"{problem}：请上传 .xlsx 自评表")
            # openpyxl makes an object for every cell of a merged range: size them up first
            merged = sum(_area(ref) for i in infos if i.filename.startswith("xl/worksheets/")
                         for ref in _MERGE_REF.findall(zf.read(i)))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error):
        what = "压缩包已损坏" if data[:2] == b"PK" else "不是 zip 格式"
        raise InputError(f"不是有效的 .xlsx 文件（{what}）：请上传 Excel 自评表") from None
    if merged > MAX_MERGED:
        raise InputError("合并单元格范围过大（整行或整列合并），拒绝读取：请取消这些合并后再上传")
    try:
        with warnings.catch_warnings(action="ignore"):  # "extension is not supported" noise
            book = openpyxl.load_workbook(BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises anything from KeyError to XML errors
        raise InputError(f"无法打开 .xlsx：文件已损坏或格式不受支持（{type(exc).__name__}）") from None
    # Hidden sheets are not what the clerk sees and prints: an old 附件6 kept hidden before the
    # edited copy was read, and signed, instead of it (QA). All hidden: read them all.
    shown = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    return [_sheet(ws) for ws in shown or book.worksheets]


def _area(ref: bytes) -> int:
    """Cells in a merged range 'A1:XFD1048576'; a ref the regex cannot vouch for counts as huge."""
    if not (got := re.fullmatch(rb"([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})", ref)):
        return MAX_MERGED + 1 if b":" in ref or b"&" in ref else 1
    c1, c2 = (reduce(lambda n, ch: n * 26 + ch - 64, g, 0) for g in got.group(1, 3))
    return (abs(int(got[4]) - int(got[2])) + 1) * (abs(c2 - c1) + 1)


def _sheet(ws: Any) -> Sheet:
    """Copy the typed cells from the sparse ws._cells (iter_rows would create empty ones)."""
    sheet = Sheet(str(ws.title))
    for (r, c), cell in list(ws._cells.items()):
        if cell.value is not None and not (isinstance(cell.value, str) and not cell.value.strip()):
            sheet.values[(r, c)] = cell.value
            sheet.formats[(r, c)] = str(cell.number_format or "")
    for rng in ws.merged_cells.ranges:  # sized by _open: at most MAX_MERGED cells in all
        if (top := (rng.min_row, rng.min_col)) in sheet.values:
            for r, c in ((r, c) for r in range(rng.min_row, rng.max_row + 1)
                         for c in range(rng.min_col, rng.max_col + 1) if (r, c) != top):
                sheet.values[r, c], sheet.formats[r, c] = sheet.values[top], sheet.formats[top]
                sheet.origin[r, c] = top
    for r, c in sorted(sheet.values):
        sheet.rows.setdefault(r, []).append(c)
    return sheet


def _spans(sheet: Sheet, row: int, words: Words) -> dict[str, Span]:
    """Columns of each header word in a row; a merged header cell spans several columns."""
    folded = {c: fold(sheet.text((row, c))) for c in sheet.own(row)}
    spans: dict[str, Span] = {}
    for key, options in words.items():
        if (col := next((c for o in options for c, f in folded.items() if f == o), None)):
            end = col
            while sheet.origin.get((row, end + 1)) == (row, col):
                end += 1
            spans[key] = (col, end)
    return spans


def _headers(scopes: list[tuple[Sheet, float]], words: Words, need: tuple[str, ...]
             ) -> Iterator[tuple[Sheet, int, float, dict[str, Span]]]:
    """Rows holding the needed header words, searched sheet by sheet, top to bottom."""
    for sheet, last_row in scopes:
        for head in sheet.rows_in(0, last_row):
            if all(k in (spans := _spans(sheet, head, words)) for k in need):
                yield sheet, head, last_row, spans


def _read_table(sheet: Sheet, head: int, spans: dict[str, Span]
                ) -> tuple[list[m.Level1], Decimal | None]:
    """The indicator tree below the header, down to the 总分 row; blanks carry forward."""
    levels = [m.Level1(name="")]  # takes rows above the first 一级 name; dropped if unused
    group: m.Group | None = None
    last: m.Indicator | None = None
    total: Decimal | None = None
    for count, row in enumerate(sheet.rows_in(head + 1, math.inf), start=1):
        if count > MAX_TABLE_ROWS:
            raise InputError(f"指标表超过 {MAX_TABLE_ROWS} 行，拒绝读取：请删除多余的行")
        got = {k: sheet.in_span(row, spans.get(k, (0, -1))) for k in _HEAD}
        words = [fold(sheet.text((row, c))) for c in sheet.own(row) if c < spans["max"][0]]
        if words and re.match(r"(说明|注|备注)\d*[:.]", words[0]):
            break  # the notes under a table that has no 总分 row
        if any(w in _TOTAL_WORDS for w in words):
            others = [t for c in sheet.own(row) if not spans["max"][0] <= c <= spans["max"][1]
                      and re.fullmatch(r"[\d.]+分?", t := fold(sheet.text((row, c))))]
            total = (_entry(*got["score"], "“总分”行的“得分”", "score") if got["score"][0] is not None
                     else _entry(others[-1], "", "“总分”", "score") if others else None)
            break  # 总分: the 得分 column, else the last number outside the 分值 column
        text = {k: _text(*v) for k, v in got.items()}
        item = text["name"] or (last.name if last else "") or text["l2"] or text["l1"]
        where = {"weight": text["l1"] or levels[-1].name, "max": item, "score": item}
        num = {k: _entry(*got[k], f"第{row}行“{where[k]}”的“{c}”", _NUMERIC_KIND.get(k)) for k, c in _NUMERIC.items()}
        if text["l1"] and fold(text["l1"]) != fold(levels[-1].name):
            levels.append(m.Level1(name=text["l1"]))
            group = last = None
        if num["weight"] is not None and levels[-1].weight is None:
            levels[-1].weight = num["weight"]
        spill = {k: text[k] for k in ("target", "actual", "deviation") if text[k]}
        new_group = bool(text["l2"]) and (group is None or fold(text["l2"]) != fold(group.name))
        is_item = bool(text["name"]) or num["max"] is not None or num["score"] is not None
        if new_group or (group is None and (is_item or spill)):
            group, last = m.Group(name=text["l2"]), None
            levels[-1].groups.append(group)
        if group is not None and (is_item or (spill and last is None)):
            last = m.Indicator(name=text["name"], max_score=num["max"], score=num["score"],
                               target=text["target"], actual=text["actual"],
                               deviation=text["deviation"])
            group.items.append(last)
        elif last is not None:  # a value spilled onto the next row belongs to the row above
            for key, value in spill.items():
                setattr(last, key, f"{old}\n{value}" if (old := getattr(last, key)) else value)
    return [lv for lv in levels if lv.name or lv.groups or lv.weight is not None], total


def _framework(framework_id: str | None, levels: list[m.Level1]) -> Framework:
    """The named framework, else the shipped one whose 一级 (then 二级) names match best."""
    if framework_id is not None:
        try:
            return load_framework(framework_id)
        except UnknownName as exc:
            raise InputError(str(exc)) from None
    l1 = {fold(lv.name) for lv in levels}
    l2 = {fold(g.name) for lv in levels for g in lv.groups}
    scored = [((len(l1 & {fold(d.name) for d in fw.levels}),
                len(l2 & {fold(g.name) for d in fw.levels for g in d.groups})), fw)
              for fw in map(load_framework, framework_ids())]
    (hits, _), best = max(scored, key=lambda pair: pair[0])  # the first wins a tie
    if hits == 0:
        raise InputError(f"无法判断指标体系：一级指标“{'、'.join(lv.name for lv in levels)}”"
                         f"与已有指标体系都不匹配，可用：{'、'.join(framework_ids())}")
    return best


def _labels(sheets: list[Sheet], words: Words) -> dict[str, str]:
    """Labelled cells (评价部门名称, 单位编码, …): the value is the next cell to the right."""
    found: dict[str, str] = {}
    for sheet, pos in ((s, pos) for s in sheets for pos in sorted(s.values)):
        key = _label(sheet.text(pos))
        for name, options in words.items():
            if key in options and name not in found and (value := sheet.right(pos)):
                found[name] = value
    return found


def _year(sheets: list[Sheet], labelled: str) -> int:
    """The title's （2021年度）, else a labelled 年度 cell."""
    texts = [fold(s.text(pos)) for s in sheets for pos in sorted(s.values)]
    found = [mt.group(1) for t in texts if (mt := re.search(r"\((\d{4})年度?\)", t))] + (
        re.findall(r"\d{4}", fold(labelled))[:1])
    if not found:
        raise InputError("没有找到年度：标题中应有“（2021年度）”，或填写“年度”单元格")
    if not 2000 <= int(found[0]) <= 2100:
        raise InputError(f"年度 {found[0]} 不在 2000–2100 之间")
    return int(found[0])


def _funds(scopes: list[tuple[Sheet, float]]) -> m.Funds:
    """The five fund rows, by label words, under the 全年预算数/全年执行数/执行率 header."""
    for sheet, head, last_row, spans in _headers(scopes, _FUND_HEAD, ("budget", "executed")):
        rows: dict[str, m.FundRow] = {}
        for r in sheet.rows_in(head, min(last_row, head + 12)):
            label = "".join(fold(sheet.text((r, c))) for c in sheet.own(r)
                            if c < spans["budget"][0])
            key = next((k for k, word in _FUND_KEYS.items() if word in label), None)
            if key is not None and key not in rows:
                rows[key] = m.FundRow(**{  # the header row's own cells are the header words
                    f: _entry(*sheet.in_span(r, s), f"“{_FUND_KEYS[key]}”的“{_FUND_HEAD[f][0]}”",
                             "rate" if f == "rate" else "money")
                    for f, s in spans.items() if r != head})
        return m.Funds(**rows)
    return m.Funds()


def _goal(scopes: list[tuple[Sheet, float]]) -> m.Goal:
    """年初设定目标 / 全年完成情况 header; the values sit on the next non-blank row, and a long
    text continues on the rows below that hold nothing outside those columns (as we write it)."""
    for sheet, head, last_row, spans in _headers(scopes, _GOAL_HEAD, ("target",)):
        found: dict[str, str] | None = None
        for r in sheet.rows_in(head + 1, last_row):
            got = {k: _text(*sheet.in_span(r, s)) for k, s in spans.items()}
            if found is None:
                if r > head + 5:
                    break
                if any(got.values()):
                    found = got
                continue
            inside = all(any(a <= c <= b for a, b in spans.values()) for c in sheet.own(r))
            if not inside or not any(got.values()):
                break
            found = {k: "\n".join(t for t in (found[k], got[k]) if t) for k in found}
        if found is not None:
            return m.Goal(**found)
    return m.Goal()


def _report(sheets: list[Sheet], fw: Framework) -> m.Report:
    """附件7: a leaf section title starts its section; 报告数据 labels give the figures."""
    leaves = {_label(s.title): s.id for s in fw.leaf_sections()}
    titles = {_label(s.title) for top in fw.outline for s in (top, *top.children)} | set(leaves)
    sections: dict[str, str] = {}
    for sheet in sheets:
        current: str | None = None
        lines: list[str] = []
        for row in [*sorted(sheet.rows), -1]:
            keys = [(c, _label(sheet.text((row, c)))) for c in sheet.own(row)]
            hit = next(((c, leaves[k]) for c, k in keys if k in leaves), None)
            stop = row < 0 or any(k in titles or k in _FIGURES or k == "报告数据" for _, k in keys)
            if current is not None and stop and (text := "\n".join(lines).strip()):
                sections.setdefault(current, text)
            current = None if stop else current
            if hit and (right := sheet.right((row, hit[0]))):
                sections.setdefault(hit[1], right)
            elif hit:
                current, lines = hit[1], []
            elif current is not None:
                lines.append(" ".join(sheet.text((row, c)) for c, _ in keys))
    figures: dict[str, Any] = {  # a percent-formatted 1 already reads "100%"
        k: v if k == "grade" else _entry(v, "", f"自评报告的“{k}”", "rate" if k == "rate" else "money")
        if k in ("budget", "executed", "rate") else _count(v, f"自评报告的“{k}”")
        for k, v in _labels(sheets, {k: (label,) for label, k in _FIGURES.items()}).items()}
    staffing = {k: figures.pop(k) for k in list(figures) if k in m.Staffing.model_fields}
    return m.Report(sections=sections, figures=m.ReportFigures(**figures, staffing=m.Staffing(**staffing)))


def read_xlsx(data: bytes, framework_id: str | None = None) -> m.Submission:
    """Read a unit's 附件6 (+ 附件7) workbook; raises `InputError` for anything unreadable."""
    if framework_id is not None:
        _framework(framework_id, [])  # an unknown id is refused before any parsing
    sheets = _open(data)
    reports = [s for s in sheets if "附件7" in s.title or "报告" in s.title]
    forms = [s for s in sheets if s not in reports]
    found = next(_headers([(s, math.inf) for s in forms + reports], _HEAD,
                          ("l1", "name", "max", "score")), None)
    if found is None:
        raise InputError("没有找到指标表：缺少表头 一级指标/三级指标/分值/得分")
    table, head, _, spans = found
    reports = [s for s in reports if s is not table]
    ordered = [table] + [s for s in forms if s is not table]
    scopes = [(table, head - 1)] + [(s, math.inf) for s in ordered[1:]]
    try:
        levels, total = _read_table(table, head, spans)
        fw = _framework(framework_id, levels)
        for level in levels:  # '管理 指标' from a wrapped cell takes the framework's spelling
            if known := next((d for d in fw.levels if fold(d.name) == fold(level.name)), None):
                level.name = known.name
                for group in level.groups:
                    group.name = next((g.name for g in known.groups
                                       if fold(g.name) == fold(group.name)), group.name)
        labels = _labels(ordered, _LABELS)
        sub = labels.get("subordinate_units", "")
        return m.Submission(
            framework_id=fw.id, framework_version=fw.version,
            year=_year(ordered + reports, labels.get("year", "")),
            unit_name=labels.get("unit_name", ""), unit_code=labels.get("unit_code", ""),
            department=labels.get("department", ""),
            subordinate_units=_count(sub, "下属单位个数") if sub else None,
            funds=_funds(scopes), goal=_goal(scopes), total=total,
            indicators=[m.Level1.model_validate(lv.model_dump()) for lv in levels],  # validated whole, limits included
            report=_report(reports, fw))
    except ValidationError as exc:
        raise InputError(f"表格内容无法读取：{describe_validation_error(exc)}") from None
