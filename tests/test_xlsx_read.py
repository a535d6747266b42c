"""read_xlsx reads a unit's own 附件6/附件7 workbook, messy the way real ones are.

The workbooks are written here with openpyxl directly (never with a writer of ours), laid
out like the seed document's 附件6 and 附件7, with the seed's data and its Word-extraction
mess: merged cells, a blank spacer row, the spilled 提高 / 提高, 分值 stored as "\\n8",
"98分", "100%", full-width digits.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from itertools import pairwise
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from jixiao import evaluate, load_example, load_framework
from jixiao.io.errors import InputError
from jixiao.io.xlsx_read import read_xlsx

SEED = load_example("jinxian-2021")
FW = load_framework("jinxian-2021")

HEADER = ("一级指标", "权重", "二级指标", "三级指标", "年度指标值", "全年完成值", "分值", "得分",
          "偏差及原因分析")

# The seed's indicator table as printed in 附件6. A blank 一级/二级 continues the block above
# (written as merged cells); "\n" is a newline inside the cell; the row under 服务群众办事效率
# is the value that spilled onto the next row when the table was copied out of Word.
TABLE = r"""
| 管理指标   | 30 | 预算编审管理         | 预算编制完整性（2分）            | 完整     | 完整     | 2   | 2   |
|            |    |                      | 绩效目标管理（2分）              | 规范\n合理 | 规范\n合理 | 2 | 2   |
|            |    | 预算执行管理         | 预算完成率（2分）                | ≥95%     | 100%     | 2   | 2   |
|            |    |                      | 三公经费控制率（2分）            | ≤100%    | 100%     | 2   | 2   |
|            |    | 部门结转结余资金管理 | 结转结余率（2分）                | ≤5%      | 0        | 4   | 4   |
|            |    | 预决算信息公开管理   | 预决算信息公开性（5分）          | 公开     | 公开     | 5   | 5   |
|            |    | 部门预算管理         | 在职人员控制率（1.5分）          | ≤100%    | 100%     | 1.5 | 1.5 |
|            |    |                      | 管理制度健全性（1.5分）          | 健全     | 健全     | 1.5 | 1.5 |
|            |    |                      | 资金使用合规性（2分）            | 规范     | 规范     | 2   | 2   |
|            |    | 政府采购管理         | 政府采购执行率（3分）            | ≥95%     | 95%      | 4   | 4   |
|            |    | 资产管理             | 资产管理安全性（2分）            | ≥95%     | 95%      | 2   | 2   |
|            |    |                      | 固定资产利用率（2分）            | ≥95%     | 95%      | 2   | 2   |
| 产出指标   | 25 | 数量指标             | 任务1：保障工资福利等各项人员支出 | 706.73   | 706.93   | 3   | 3   |
|            |    |                      | 任务2：完成企业兑现各项政策奖励   | ≥95%     | ≥95%     | 3   | 3   |
|            |    |                      | 任务3：发展高新技术企业          | 83家     | 83家     | 2   | 2   |
|            |    | 质量指标             | 各项支出事项完整、规范、真实      | 100%     | 100%     | \n8 | \n8 |
|            |    | 时效指标             | 资金及时到位率                   | 100%     | 100%     | 9   | 9   |
| 效果指标   | 35 | 经济效益指标         |                                  |          |          |     |     |
|            |    | 社会效益指标         | 服务群众办事效率                 |          |          | 35  | 34  |
|            |    |                      |                                  | 提高     | 提高     |     |     |
| 满意度指标 | 10 | 满意度指标           | 提升群众满意率（10分）           | 提升     | 提升     | 10  | 9   |
"""
FIGURES = [("全年预算数", "5479.62"), ("全年执行数", "5479.62"), ("执行率", "100%"),
           ("预算单位个数", "1"), ("编制人数", "43人"), ("行政编制人数", "21"),
           ("事业编制人数", "22"), ("实有人数", "109"), ("在职人数", "30"),
           ("离休人员", "2"), ("退休人员", "77"), ("自评结果", "优")]


def table_rows(table: str = TABLE) -> list[list[str]]:
    rows = []
    for line in table.strip().splitlines():
        cells = [c.strip().replace("\\n", "\n") for c in line.strip().strip("|").split("|")]
        rows.append([*cells, ""])  # 偏差及原因分析: blank everywhere in the seed
    return rows


def put(ws: Worksheet, row: int, col: int, value: Any, *, width: int = 1, height: int = 1,
        fmt: str | None = None) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if fmt:
        cell.number_format = fmt
    if width > 1 or height > 1:
        ws.merge_cells(start_row=row, start_column=col, end_row=row + height - 1,
                       end_column=col + width - 1)


def write_form(ws: Worksheet, top: int = 1, left: int = 1, *, merge: bool = True,
               rows: list[list[str]] | None = None, total: tuple[int, Any] = (8, "98分"),
               table_only: bool = False) -> None:
    """附件6 as the seed lays it out, its first cell (or, table_only, its header) at top/left."""
    def at(r: int, c: int, value: Any, **kw: Any) -> None:
        if not table_only or r >= 14:
            put(ws, top + r - 1 - (13 if table_only else 0), left + c - 1, value, **kw)

    at(1, 1, "附件6：")
    at(2, 1, "部门（单位）整体支出绩效自评表", width=9)
    at(3, 1, "（2021年度）", width=9)
    at(4, 1, "评价部门\n名称")
    at(4, 2, "进贤县科技和工业信息化局", width=5)
    at(4, 7, "下属单位个数")
    at(4, 8, 1)
    at(5, 1, "单位编码")
    at(5, 2, "360124-KGX", width=5)
    at(5, 7, "主管部门：")
    at(5, 8, "进贤县科技和工业信息化局", width=2)
    at(6, 1, "整体支出\n规模", height=5)
    for c, word in enumerate(("全年预算数", "全年执行数", "执行率"), start=3):
        at(6, c, word.replace("全年", "全年\n"))
    funds = [("资金来源：（1）财政拨款", "５４６２.６７", "5462.67", "100%", None),
             ("（2）其他资金", 16.95, 16.95, 1, "0%"),  # a real percent cell: 1 shown as 100%
             ("资金结构：（1）基本支出", "637.21", 637.21, "100%", None),
             ("（2）项目支出", 4842.41, "4842.41 ", "100%", None)]
    for r, (label, budget, executed, rate, fmt) in enumerate(funds, start=7):
        at(r, 2, label)
        at(r, 3, budget)
        at(r, 4, executed)
        at(r, 5, rate, fmt=fmt)
    at(11, 1, "年度总体目标", height=2)
    at(11, 2, "年初设定目标", width=4)
    at(11, 6, "全年完成情况", width=4)
    at(12, 2, SEED.goal.target, width=4)
    at(12, 6, SEED.goal.completion, width=4)
    at(13, 1, "分解目标自评", width=9)
    for c, word in enumerate(HEADER, start=1):
        at(14, c, word)
    # row 15 is the blank spacer row the Word table had under its header
    body = table_rows() if rows is None else rows
    for i, cells in enumerate(body):
        for c, typed in enumerate(cells, start=1):
            if typed == "" and c <= 3 and not merge:  # repeated names instead of merges
                typed = next(b[c - 1] for b in reversed(body[: i + 1]) if b[c - 1])
            value: Any = typed
            if c == 2 and typed:
                value = int(typed)
            elif c in (7, 8) and re.fullmatch(r"[\d.]+", typed) and i % 2:
                value = float(typed)  # half the scores typed as numbers, half as text
            if value != "":
                at(16 + i, c, value)
    if merge:
        for c in (1, 2, 3):
            starts = [i for i, cells in enumerate(body) if cells[c - 1]] + [len(body)]
            for a, b in pairwise(starts):
                if b - a > 1:
                    first = top + 15 + a - (13 if table_only else 0)
                    ws.merge_cells(start_row=first, start_column=left + c - 1,
                                   end_row=first + b - a - 1, end_column=left + c - 1)
    end = 16 + len(body)
    at(end, 1, "总分", width=6)
    at(end, 7, 100)
    at(end, total[0], total[1])
    at(end + 2, 1, "说明：1.部门（单位）按照附件5《部门整体支出绩效评价指标体系框架》（参考）设置三级指标；")


def write_report(ws: Worksheet) -> None:
    """附件7: titles in column A, text on the rows below (one section: in the cell beside)."""
    lines: list[Any] = ["附件7：", "县科工信局整体支出绩效自评报告", "（2021年度）"]
    for top in FW.outline:
        lines.append(top.title)
        for section in top.children or [top]:
            text = SEED.report.sections[section.id]
            if section.id == "overview.goals":
                lines.append((section.title, text))
                continue
            if section is not top:
                lines.append(section.title)
            lines += text.split("\n")
    lines += ["", "报告数据", *FIGURES]
    for r, line in enumerate(lines, start=1):
        for c, value in enumerate(line if isinstance(line, tuple) else (line,), start=1):
            ws.cell(row=r, column=c, value=value or None)


def workbook_bytes(*, top: int = 1, left: int = 1, sheet: int = 0, merge: bool = True,
                   report: bool = True, **form: Any) -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "附件6 自评表"
    if sheet:
        first.title = "填表说明"
        first["A1"] = "请按附件6格式填写，金额单位：万元"
    form_sheet = book.create_sheet("附件6 自评表") if sheet else first
    write_form(form_sheet, top, left, merge=merge, **form)
    if report:
        write_report(book.create_sheet("附件7 自评报告"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fold_ws(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_same_as_seed(data: bytes) -> None:
    sub = read_xlsx(data, "jinxian-2021")
    assert sub.model_dump(exclude={"report"}) == SEED.model_dump(exclude={"report"})
    assert sub.report.figures == SEED.report.figures
    assert {k: fold_ws(v) for k, v in sub.report.sections.items()} == {
        k: fold_ws(v) for k, v in SEED.report.sections.items()}
    assert evaluate(sub, FW).model_dump_json() == evaluate(SEED, FW).model_dump_json()


def test_seed_layout_reads_to_the_same_evaluation() -> None:
    sub = read_xlsx(workbook_bytes(), "jinxian-2021")
    got = evaluate(sub, FW)
    assert got.model_dump_json() == evaluate(SEED, FW).model_dump_json()
    assert got.total == 98 and got.grade == "优"
    assert {f.code for f in got.findings} >= {"EMPTY_INDICATOR_GROUP",
                                              "DEVIATION_REASON_MISSING"}
    assert_same_as_seed(workbook_bytes())


def test_spilled_value_and_text_numbers() -> None:
    sub = read_xlsx(workbook_bytes())
    effect = sub.indicators[2]
    assert [g.name for g in effect.groups] == ["经济效益指标", "社会效益指标"]
    assert effect.groups[0].items == []
    item = effect.groups[1].items[0]
    assert (item.name, item.target, item.actual) == ("服务群众办事效率", "提高", "提高")
    assert str(sub.indicators[1].groups[1].items[0].max_score) == "8"
    assert str(sub.total) == "98"
    assert str(sub.funds.fiscal.budget) == "5462.67" and str(sub.funds.other.rate) == "100"
    assert sub.funds.total.budget is None  # the 整体支出规模 row holds the column headers


def test_table_shifted_on_second_sheet_with_repeated_names() -> None:
    assert_same_as_seed(workbook_bytes(top=7, left=3, sheet=1, merge=False))


def test_bare_table_at_row_7_column_c() -> None:
    book = openpyxl.Workbook()
    assert book.active is not None
    write_form(book.active, top=7, left=3, table_only=True)
    assert book.active["C7"].value == "一级指标"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InputError, match="年度"):
        read_xlsx(out.getvalue())
    book.active["A1"] = "（2021年度）"
    out = io.BytesIO()
    book.save(out)
    sub = read_xlsx(out.getvalue())
    assert sub.indicators == SEED.indicators and sub.total == SEED.total
    assert sub.framework_id == "jinxian-2021" and sub.funds == type(SEED.funds)()


def test_spill_appends_to_a_filled_value() -> None:
    rows = table_rows()
    rows[1][4:6] = ["规范", "规范"]
    rows.insert(2, ["", "", "", "", "合理", "合理", "", "", ""])
    assert_same_as_seed(workbook_bytes(rows=rows))


def test_framework_inferred_from_level_names() -> None:
    assert read_xlsx(workbook_bytes(report=False)).framework_id == "jinxian-2021"
    assert read_xlsx(workbook_bytes(), "national-2020").framework_id == "national-2020"


def test_total_from_last_number_when_score_cell_blank() -> None:
    sub = read_xlsx(workbook_bytes(total=(9, "98")))
    assert str(sub.total) == "98"


def error_of(data: bytes, framework_id: str | None = None) -> str:
    with pytest.raises(InputError) as caught:
        read_xlsx(data, framework_id)
    assert "\n" not in caught.value.message
    return caught.value.message


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def test_renamed_docx_is_named_a_word_file() -> None:
    docx = zipped({"[Content_Types].xml": b"<Types/>",
                   "word/document.xml": b"<w:document><w:body/></w:document>"})
    assert "Word" in error_of(docx)


def test_unreadable_bytes() -> None:
    assert "zip" in error_of(os.urandom(2000).replace(b"PK", b"pk"))
    assert "空" in error_of(b"")
    assert "损坏" in error_of(workbook_bytes()[:3000])
    encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le")
    assert "加密" in error_of(encrypted + bytes(512))
    assert "工作簿" in error_of(zipped({"hello.txt": b"hi"}))


def test_empty_workbook_has_no_indicator_table() -> None:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    assert error_of(out.getvalue()) == "没有找到指标表：缺少表头 一级指标/三级指标/分值/得分"


def test_word_in_score_cell_names_indicator_and_column() -> None:
    rows = table_rows()
    rows[2][7] = "优秀"
    message = error_of(workbook_bytes(rows=rows))
    assert "预算完成率（2分）" in message and "得分" in message and "优秀" in message


def with_fiscal_budget(text: str, rows: list[list[str]] | None = None) -> bytes:
    """The workbook with 财政拨款's 全年预算数 (C7) typed as `text`."""
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(rows=rows) if rows is not None else workbook_bytes()))
    book["附件6 自评表"]["C7"] = text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_word_in_fund_cell_names_row_and_column() -> None:
    message = error_of(with_fiscal_budget("待定"))
    assert "财政拨款" in message and "全年预算数" in message and "待定" in message


def test_a_number_beyond_the_entry_bounds_names_its_row_and_column() -> None:
    """The form takes 15 digits either side of the point; beyond that the message names the row
    and column, as for a word (the model's own message said “max_score”)."""
    rows = table_rows()
    rows[2][6] = "7" * 20
    message = error_of(workbook_bytes(rows=rows))
    assert "预算完成率（2分）" in message and "“分值”" in message and "数值过大" in message
    message = error_of(with_fiscal_budget("0." + "0" * 15 + "1"))
    assert "财政拨款" in message and "全年预算数" in message and "小数位数过多" in message


def test_a_unit_of_another_box_names_its_row_and_column() -> None:
    """"95%" in a 得分 cell was read as 95, and "98分" in an amount as 98 万元: each is refused
    with its row and column; a cell's own unit (1.5分 in a 得分, 万元 in an amount) is still read."""
    rows = table_rows()
    rows[2][7] = "2%"
    message = error_of(workbook_bytes(rows=rows))
    assert "预算完成率（2分）" in message and "“得分”" in message and "带有“%”" in message
    message = error_of(with_fiscal_budget("5462.67分"))
    assert "财政拨款" in message and "全年预算数" in message and "带有“分”" in message
    rows = table_rows()
    rows[2][7] = "1.5分"
    sub = read_xlsx(with_fiscal_budget("5462.67万元", rows))
    assert str(sub.indicators[0].groups[1].items[0].score) == "1.5"  # 预算完成率, typed 1.5分
    assert str(sub.funds.fiscal.budget) == "5462.67"


def test_framework_id_unknown_or_unmatched() -> None:
    message = error_of(workbook_bytes(), "nowhere-1999")
    assert "nowhere-1999" in message and "jinxian-2021" in message
    rows = [["甲指标", "100", "乙", "丙", "", "", "100", "100", ""]]
    assert "无法判断指标体系" in error_of(workbook_bytes(rows=rows, report=False))


def test_year_missing() -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report=False)))
    book["附件6 自评表"]["A3"] = "（本年度）"
    out = io.BytesIO()
    book.save(out)
    assert "没有找到年度" in error_of(out.getvalue())
    book["附件6 自评表"]["J1"] = "年度"
    book["附件6 自评表"]["K1"] = "2021年"
    out = io.BytesIO()
    book.save(out)
    assert read_xlsx(out.getvalue()).year == 2021


def test_oversized_inputs_are_refused() -> None:
    rows = table_rows() + [["", "", "", f"指标{i}", "", "", "1", "1", ""] for i in range(5001)]
    assert "5000" in error_of(workbook_bytes(rows=rows, report=False))
    with zipfile.ZipFile(buffer := io.BytesIO(workbook_bytes()), "a",
                         zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", bytes(51 * 1024 * 1024))
    assert "50 MB" in error_of(buffer.getvalue())


def test_without_total_row_the_notes_are_not_an_indicator() -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes()))
    ws = book["附件6 自评表"]
    ws.unmerge_cells("A37:F37")
    for ref in ("A37", "G37", "H37"):
        ws[ref] = None
    out = io.BytesIO()
    book.save(out)
    sub = read_xlsx(out.getvalue())
    assert sub.total is None and sub.indicators == SEED.indicators


def test_whole_sheet_merge_is_refused_before_openpyxl_expands_it() -> None:
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                whole = b'<mergeCell ref="K1:XFD1048576" />'
                content = content.replace(b"<mergeCell ", whole + b"<mergeCell ", 1)
                assert whole in content
            target.writestr(info, content)
    assert "合并单元格范围过大" in error_of(out.getvalue())


def test_a_hidden_old_copy_of_the_table_is_not_read_over_the_visible_one() -> None:
    """QA: the clerk hid the original 附件6 and edited a visible copy; the hidden one, first in the
    workbook, was read (and `bundle` signed its figures)."""
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes()))
    original = book["附件6 自评表"]
    edited = book.copy_worksheet(original)
    edited.title, original.title, original.sheet_state = "附件6（修改后）", "附件6（原稿）", "hidden"
    name = read_xlsx(workbook_bytes()).indicators[0].groups[0].items[0].name
    (row,) = [r for r in range(1, edited.max_row + 1) if any(c.value == name for c in edited[r])]
    edited.cell(row, 8).value = 1  # H: 得分, changed in the visible copy only
    out = io.BytesIO()
    book.save(out)
    assert str(read_xlsx(out.getvalue()).indicators[0].groups[0].items[0].score) == "1"
