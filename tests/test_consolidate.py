"""附件4 from a department's bundles: order, sums, rates, scores, 合计, the 注 — cell by cell.

The department (see consolidate_helpers): the seed as 本级 and three units with round numbers,
plus a fifth unit whose signed JSON was edited after signing and must be listed as rejected.
"""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bundle_helpers import SIGNED_AT, framework, seed
from consolidate_helpers import (
    DEPARTMENT,
    UNITS,
    earlier_rules_envelope,
    own_bundle,
    supervisor,
    tampered_bundle,
    unit_bundle,
    unit_key_for,
    unit_submission,
    write_department,
)
from jixiao import Submission
from jixiao.bundle import build_bundle
from jixiao.cli import cli
from jixiao.consolidate import (
    NOTE,
    Source,
    SummaryError,
    build_summary,
    check_bundle,
    consolidate,
    make_review,
    read_summary,
    sign_review,
    summary_json,
)
from jixiao.consolidate.review import ReviewError
from jixiao.render.summary_xlsx import CHECK_SHEET, SHEET, read_summary_xlsx, summary_file_name, write_summary_xlsx

HEADER = ["序号", "预算单位", "全年预算数", "全年执行数", "执行率", "所属单位自评分数", "主管部门复核分数"]
# (序号, name, budget, executed, rate as a fraction, self score): 本级 first, then by unit code
EXPECTED_ROWS = [
    (1, "进贤县科技和工业信息化局", "5479.62", "5479.62", "1", "98"),
    (2, "进贤县科技情报研究所", "120.5", "120.5", "1", "95"),
    (3, "进贤县中小企业服务中心", "80", "60", "0.75", "85"),
    (4, "进贤县工业园区服务中心", "300", "270", "0.9", "90"),
]


def dec(value: Any) -> Decimal | None:
    """A cell value as Decimal (openpyxl reads numbers back as int or float)."""
    if value is None:
        return None
    return Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)


def sources(*, tampered: bool = True) -> list[Source]:
    made = [own_bundle(), *(unit_bundle(code) for code, *_ in UNITS)]
    if tampered:
        made.append(tampered_bundle())
    return [Source(name, data=data) for name, data in made]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dept") / "bundles"
    write_department(path)
    return path


@pytest.fixture(scope="module")
def cli_run(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("out") / "附件4.xlsx"
    result = CliRunner().invoke(cli, ["consolidate", str(folder), "-o", str(out), "--json", "-j", "1"])
    return result, json.loads(result.output), out


def test_cli_writes_the_seed_layout_cell_by_cell(cli_run: tuple[Any, dict[str, Any], Path]) -> None:
    result, _, out = cli_run
    assert result.exit_code == 1, result.output  # one bundle rejected: something to look at
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [SHEET, CHECK_SHEET]
    ws = book[SHEET]
    assert ws["A1"].value == "附件4："
    assert ws["A2"].value == "2021年度部门整体支出自评情况汇总表"
    assert ws["A3"].value == f"主管部门（盖章）：{DEPARTMENT}"
    assert ws["F3"].value == "单位：万元"
    assert [c.value for c in ws[4]] == HEADER
    for row, (index, name, budget, executed, rate, score) in enumerate(EXPECTED_ROWS, start=5):
        cells = ws[row]
        assert cells[0].value == index
        assert cells[1].value == name
        assert dec(cells[2].value) == Decimal(budget)
        assert dec(cells[3].value) == Decimal(executed)
        assert dec(cells[4].value) == Decimal(rate)
        assert dec(cells[5].value) == Decimal(score)
        assert cells[6].value is None  # not reviewed
        assert cells[2].number_format == "0.00" and cells[4].number_format == "0.00%"
    total = ws[9]
    assert total[0].value == "合计"
    assert dec(total[2].value) == Decimal("5980.12")  # Σ 预算
    assert dec(total[3].value) == Decimal("5930.12")  # Σ 执行
    assert dec(total[4].value) == Decimal("0.9916")  # Σ执行/Σ预算 = 99.16%, never the mean of rates (91.25%)
    weighted = (98 * Decimal("5479.62") + 95 * Decimal("120.50") + 85 * 80 + 90 * 300) / Decimal("5980.12")
    assert dec(total[5].value) == weighted.quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal("97.36")
    assert total[6].value is None
    assert ws["A10"].value == NOTE
    assert NOTE == "注：此表由各主管部门填报，部门本级绩效自评情况填写在第一行，所属单位自评情况依次往下填写。"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A2:G2", "A3:D3", "F3:G3", "A9:B9", "A10:G10"} <= merged
    assert ws.max_row == 10
    assert ws["A5"].border.left.style == "thin" and ws["G9"].border.bottom.style == "thin"


def test_the_tampered_bundle_is_listed_with_its_reason(cli_run: tuple[Any, dict[str, Any], Path]) -> None:
    _, report, out = cli_run
    rejected = report["rejected"]
    assert len(rejected) == 1
    assert rejected[0]["name"].endswith("360124-KGX-04-进贤县被改动单位-整体支出绩效自评.zip")
    assert "签名无效" in rejected[0]["reasons"][0]
    assert [r["unit_code"] for r in report["summary"]["rows"]] == [
        "360124-KGX", "360124-KGX-01", "360124-KGX-02", "360124-KGX-03"]
    check = openpyxl.load_workbook(out)[CHECK_SHEET]
    lines = [[c.value for c in row] for row in check.iter_rows(min_row=2)]
    assert any(line[0] == "未汇总" and "被改动单位" in line[1] and "签名无效" in line[2] for line in lines)
    # the signed JSON beside it (unsigned here: no --key) carries the same rows and the rejection
    doc = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert doc["total"] == {"budget": "5980.12", "executed": "5930.12", "rate": "99.16", "self_score": "97.36",
                            "review_score": None}
    assert doc["rejected"][0]["name"] == "2021-360124-KGX-04-进贤县被改动单位-整体支出绩效自评.zip"


def test_other_score_rules() -> None:
    units = [c.unit for c in (check_bundle(s.name, s.data or b"") for s in sources(tampered=False)) if c.unit]
    assert len(units) == 4
    assert build_summary(units, rule="mean").total.self_score == Decimal("92")  # (98+95+85+90)/4
    assert build_summary(units, rule="own").total.self_score == Decimal("98")  # the 本级's
    without_own = build_summary([u for u in units if u.unit_kind != "本级"], rule="own")
    assert without_own.total.self_score is None
    assert any("本级" in note for note in without_own.notes)


def test_reviews_fill_the_review_column_and_its_total() -> None:
    checked = [check_bundle(s.name, s.data or b"") for s in sources(tampered=False)]
    units = {c.unit.unit_code: c.unit for c in checked if c.unit}
    scores = {"360124-KGX": "96", "360124-KGX-01": "95", "360124-KGX-02": "80", "360124-KGX-03": "88.5"}
    reviews = {}
    for code, score in scores.items():
        doc = make_review(units[code], score, reviewed_at="2022-04-01T10:00:00+08:00", note="复核")
        reviews[(code, 2021)] = sign_review(doc, supervisor())
    summary = build_summary(list(units.values()), reviews)
    assert [r.review_score for r in summary.rows] == [Decimal("96"), Decimal("95"), Decimal("80"), Decimal("88.5")]
    expected = (96 * Decimal("5479.62") + 95 * Decimal("120.50") + 80 * 80 + Decimal("88.5") * 300) / Decimal("5980.12")
    assert summary.total.review_score == expected.quantize(Decimal("0.01"), ROUND_HALF_UP)
    ws = openpyxl.load_workbook(io.BytesIO(write_summary_xlsx(summary)))[SHEET]
    assert [dec(ws.cell(row=r, column=7).value) for r in range(5, 9)] == [
        Decimal("96"), Decimal("95"), Decimal("80"), Decimal("88.5")]
    assert dec(ws["G9"].value) == summary.total.review_score

    partial = build_summary(list(units.values()), {k: v for k, v in reviews.items() if k[0] != "360124-KGX-02"})
    assert partial.total.review_score is None
    assert any("1 个单位未复核" in note for note in partial.notes)


def test_a_review_of_an_older_bundle_does_not_carry_over() -> None:
    code = "360124-KGX-01"
    older = check_bundle("old", unit_bundle(code)[1]).unit
    newer = check_bundle("new", unit_bundle(code, "2022-03-05T10:00:00+08:00")[1]).unit
    assert older and newer and older.payload_sha256 != newer.payload_sha256
    review = sign_review(make_review(older, "90", reviewed_at="2022-03-02T00:00:00Z"), supervisor())
    summary = build_summary([newer], {(code, 2021): review})
    assert summary.rows[0].review_score is None
    assert "请重新复核" in summary.rows[0].flags[0]


def test_review_limits() -> None:
    unit = check_bundle("own", own_bundle()[1]).unit
    assert unit is not None
    when = "2022-04-01T00:00:00Z"
    for score in ("100.01", "-1", "九十", ""):
        with pytest.raises(ReviewError):
            make_review(unit, score, reviewed_at=when)
    with pytest.raises(ReviewError, match="超过上限 2"):
        make_review(unit, "95", reviewed_at=when, indicators={"预算编制完整性": "2.5"})
    with pytest.raises(ReviewError, match="“95%”带有“%”：这里填分数"):  # was read as 95
        make_review(unit, "95%", reviewed_at=when)
    assert make_review(unit, "95分", reviewed_at=when).score == Decimal("95")
    with pytest.raises(ReviewError, match="不是该单位自评表中的三级指标"):
        make_review(unit, "95", reviewed_at=when, indicators={"不存在的指标": "1"})
    doc = make_review(unit, "96", reviewed_at=when, indicators={"服务群众办事效率": "32",
                                                               "indicators.3.groups.0.items.0": "9"})
    assert [(i.name, i.score) for i in doc.indicators] == [("服务群众办事效率", Decimal("32")),
                                                            ("提升群众满意率", Decimal("9"))]
    assert make_review(unit, "100", reviewed_at=when).score == Decimal("100")


def test_a_review_names_an_indicator_as_its_table_shows_it() -> None:
    """附件6 shows '提升群众满意率（10分）' (12 of the seed's 19 三级指标 carry a label); the evaluation
    keeps the name without it. The supervisor copies the name from the table: it must be taken."""
    unit = check_bundle("own", own_bundle()[1]).unit
    assert unit is not None
    when = "2022-04-01T00:00:00Z"
    for shown in ("提升群众满意率（10分）", "提升群众满意率(10分)", " 提升群众满意率 （10 分） "):
        doc = make_review(unit, "97", reviewed_at=when, indicators={shown: "8"})
        assert [(i.path, i.name, i.score) for i in doc.indicators] == [
            ("indicators.3.groups.0.items.0", "提升群众满意率", Decimal("8"))]
    with pytest.raises(ReviewError, match="给了两次"):
        make_review(unit, "97", reviewed_at=when, indicators={"提升群众满意率（10分）": "8", "提升群众满意率": "9"})


def test_a_row_whose_sources_or_grade_contradict_its_own_table_is_flagged() -> None:
    """附件4 copies the row from the unit's 附件6: sources or structure that do not add up to the
    total, or a 等级 that is not the one of its 总分, put the row in doubt (docs: Row checks)."""
    code = "360124-KGX-05"
    data = unit_submission(code, "进贤县科技馆", "80.00", "40.00", 98).model_dump(mode="json")
    data["funds"]["fiscal"]["budget"] = "70.00"  # 资金来源 70 + 0 against 整体 80
    data["report"]["figures"]["grade"] = "良"  # 总分 98 is 优
    bundle = build_bundle(Submission.model_validate(data), framework(), unit_key_for(code), SIGNED_AT)[1]
    unit = check_bundle("u.zip", bundle).unit
    assert unit is not None
    flags = build_summary([unit]).rows[0].flags
    assert flags == ["资金来源的全年预算数之和 70 不等于整体支出规模 80", "自评结果填报为“良”，按总分 98 应为“优”"]
    own = check_bundle("own", own_bundle()[1]).unit
    assert own is not None and own.flags == ()  # the seed adds up and its grade is right


def test_the_latest_signature_counts_and_the_older_is_listed() -> None:
    code = "360124-KGX-03"
    later = "2022-03-10T09:00:00+08:00"
    outcome = consolidate([*sources(tampered=False), Source("later.zip", data=unit_bundle(code, later)[1])])
    assert outcome.summary is not None
    row = next(r for r in outcome.summary.rows if r.unit_code == code)
    assert row.signed_at == "2022-03-10T01:00:00Z"
    assert len(outcome.superseded) == 1 and "已有更新的签名材料" in outcome.superseded[0]
    assert len(outcome.summary.rows) == 4


def test_a_unit_signed_under_earlier_rules_is_counted_and_named_for_a_look() -> None:
    """A rules change between a unit's signing and consolidation: the unit stays in 附件4 with the
    figures of its signed submission, the same 合计, and a 需核对 line saying what differed."""
    code = "360124-KGX-03"
    kept = [s for s in sources(tampered=False) if code not in s.name]
    outcome = consolidate([*kept, Source("earlier.json", data=earlier_rules_envelope(code))])
    assert outcome.summary is not None and not outcome.rejected
    row = next(r for r in outcome.summary.rows if r.unit_code == code)
    assert (row.budget, row.executed, row.self_score) == (Decimal("300.00"), Decimal("270.00"), Decimal("90"))
    assert len(row.flags) == 1 and row.flags[0].startswith("签名时用的是 jixiao 0.1.0")
    assert outcome.summary.total == consolidate(sources(tampered=False)).summary.total  # type: ignore[union-attr]
    check = openpyxl.load_workbook(io.BytesIO(write_summary_xlsx(outcome.summary)))[CHECK_SHEET]
    lines = [[c.value for c in line] for line in check.iter_rows(min_row=2)]
    assert ["需核对", "4. 进贤县工业园区服务中心（360124-KGX-03）", row.flags[0]] in lines


def test_a_superseded_bundle_of_the_same_file_name_is_told_apart_by_its_signing_time() -> None:
    """A resubmission usually keeps its file name (it is made of the unit and the year): the line
    named the same file twice. Both signing times now say which is which, in Beijing time."""
    code = "360124-KGX-03"
    outcome = consolidate([Source("单位.zip", data=unit_bundle(code, "2022-03-01T10:00:00+08:00")[1]),
                           Source("单位.zip", data=unit_bundle(code, "2022-03-10T09:00:00+08:00")[1])])
    assert outcome.superseded == [
        "单位.zip（签名时间 2022-03-01 10:00:00）：进贤县工业园区服务中心（360124-KGX-03）2021 年度"
        "已有更新的签名材料（单位.zip，签名时间 2022-03-10 09:00:00），此份不计"], outcome.superseded


def test_mixed_years_and_departments_are_refused_until_chosen() -> None:
    other_year = build_bundle(unit_submission("360124-KGX-09", "下一年度单位", "10", "10", 90, year=2022),
                              framework(), unit_key_for("360124-KGX-09"), SIGNED_AT)
    school = unit_submission("360124-JY-01", "进贤县某学校", "10", "10", 90, department="进贤县教育局")
    other_dept = build_bundle(school, framework(), unit_key_for("360124-JY-01"), SIGNED_AT)
    mixed = [*sources(tampered=False), Source(*other_year), Source(*other_dept)]
    with pytest.raises(SummaryError, match="多个年度") as years:
        consolidate(mixed)
    assert "2021（5 份）" in years.value.message and "2022（1 份）" in years.value.message
    with pytest.raises(SummaryError, match="多个主管部门"):
        consolidate(mixed, year=2021)
    outcome = consolidate(mixed, year=2021, department=DEPARTMENT)
    assert outcome.summary is not None and len(outcome.summary.rows) == 4
    assert len(outcome.left_out) == 2


def test_an_earlier_summary_that_disagrees_is_named(tmp_path: Path) -> None:
    outcome = consolidate(sources(tampered=False))
    assert outcome.summary is not None
    book = openpyxl.load_workbook(io.BytesIO(write_summary_xlsx(outcome.summary)))
    book[SHEET]["C6"] = 130.5  # 科技情报研究所's budget, typed over
    book[SHEET]["F8"] = 91
    edited = io.BytesIO()
    book.save(edited)
    rows, total = read_summary_xlsx(edited.getvalue())
    assert [r.unit_name for r in rows][:2] == ["进贤县科技和工业信息化局", "进贤县科技情报研究所"]
    assert total is not None and total.budget == Decimal("5980.12")

    again = consolidate([*sources(tampered=False), Source("旧附件4.xlsx", data=edited.getvalue())])
    assert again.differences == [
        "旧附件4.xlsx 第 2 行“进贤县科技情报研究所”的全年预算数为 130.5，单位签名材料为 120.5",
        "旧附件4.xlsx 第 4 行“进贤县工业园区服务中心”的所属单位自评分数为 91，单位签名材料为 90",
    ]
    signed = summary_json(outcome.summary, supervisor())
    assert consolidate([*sources(tampered=False), Source("附件4.json", data=signed.encode())]).differences == []


def test_a_unit_name_a_cell_cannot_hold_reads_back_from_the_summary() -> None:
    """A unit named with a pasted U+FFFF made an 附件4 openpyxl could not open; now the cell shows
    U+FFFD, the sheet reads back, and fed back in it matches its unit, with no false difference.
    The download's name drops the department's bidi and zero-width characters."""
    odd = unit_submission("360124-KGX-05", "进贤县\uffff服务中心\ufffe", "10.00", "10.00", 90,
                          department="进贤县科技和工业信息化局\u202e\u200b")
    own = seed().model_copy(update={"department": odd.department})
    made = [build_bundle(own, framework(), unit_key_for("own"), SIGNED_AT),
            build_bundle(odd, framework(), unit_key_for("360124-KGX-05"), SIGNED_AT)]
    outcome = consolidate([Source(name, data=data) for name, data in made])
    assert outcome.summary is not None
    xlsx = write_summary_xlsx(outcome.summary)
    assert openpyxl.load_workbook(io.BytesIO(xlsx))[SHEET]["B6"].value == "进贤县\ufffd服务中心\ufffd"
    rows, _ = read_summary_xlsx(xlsx)
    assert [r.unit_name for r in rows] == ["进贤县科技和工业信息化局", "进贤县\ufffd服务中心\ufffd"]
    again = consolidate([*(Source(name, data=data) for name, data in made), Source("旧附件4.xlsx", data=xlsx)])
    assert again.differences == []
    assert summary_file_name(outcome.summary) == "2021-进贤县科技和工业信息化局-附件4部门整体支出自评情况汇总表.xlsx"


def test_signed_summary_reads_back_and_tampering_shows() -> None:
    outcome = consolidate(sources(tampered=False), generated_at="2022-04-01T00:00:00Z")
    assert outcome.summary is not None
    text = summary_json(outcome.summary, supervisor())
    signed = read_summary(text)
    assert signed.summary == outcome.summary
    assert signed.signers == (supervisor().public.fingerprint_hex,)
    doc = json.loads(text)
    import base64

    payload = base64.b64decode(doc["payload"]).replace(b'"5980.12"', b'"5990.12"')
    doc["payload"] = base64.b64encode(payload).decode()
    with pytest.raises(SummaryError, match="签名无效"):
        read_summary(json.dumps(doc))
    with pytest.raises(SummaryError, match="没有签名"):
        read_summary(summary_json(outcome.summary, None))


def test_the_signed_summary_is_canonical_json() -> None:
    """`summary_payload` signs the model's own dump: its fields are declared in sorted order, so the
    dump is the RFC 8785 form of the document. Reviews, notes, rejections and awkward names included."""
    from dataclasses import replace

    from jixiao.canonical import canonical_json
    from jixiao.consolidate.summary import RejectedInput, summary_payload

    checked = [check_bundle(s.name, s.data or b"") for s in sources(tampered=False)]
    units = [c.unit for c in checked if c.unit]
    odd = ['名"称\\\n\t', "\u2028<&>", "😀 单位", "\x7f\x1f"]
    units = [replace(u, unit_name=name, flags=(name,)) for u, name in zip(units, odd, strict=True)]
    review = sign_review(make_review(units[1], "95", reviewed_at="2022-04-01T10:00:00+08:00", note="复核"),
                         supervisor())
    summary = build_summary(units, {(units[1].unit_code, 2021): review}, generated_at="2022-04-01T00:00:00Z",
                            rejected=[RejectedInput(name="坏.zip", sha256="0" * 64, reasons=["签名无效"])])
    assert summary.notes and summary.rejected and Decimal("95") in [r.review_score for r in summary.rows]
    assert summary_payload(summary) == canonical_json(summary.model_dump(mode="json"))
    assert read_summary(summary_json(summary, supervisor())).summary == summary


def test_rerunning_into_the_folder_it_reads_does_not_check_the_new_table_against_the_one_it_replaces(
        tmp_path: Path) -> None:
    """`consolidate FOLDER -o FOLDER/附件4.xlsx --force` after a unit resubmitted read the old 附件4
    as an input: every row the correction changed was reported, in the new table itself, as the
    new table disagreeing with its own earlier version."""
    folder = tmp_path / "收件"
    write_department(folder, tampered=False)
    out = folder / "附件4.xlsx"
    first = CliRunner().invoke(cli, ["consolidate", str(folder), "-o", str(out), "-j", "1"])
    assert first.exit_code == 0, first.output
    code = "360124-KGX-03"
    corrected = build_bundle(unit_submission(code, "进贤县工业园区服务中心", "400", "380", 95), framework(),
                             unit_key_for(code), "2022-03-10T09:00:00+08:00")
    (folder / "更正.zip").write_bytes(corrected[1])
    again = CliRunner().invoke(cli, ["consolidate", str(folder), "-o", str(out), "-j", "1", "--force"])
    assert again.exit_code == 0, again.output
    assert "与已有汇总表不符" not in again.output
    book = openpyxl.load_workbook(out)
    assert [c.value for c in book[SHEET]["C"]][4:8] == [5479.62, 120.5, 80, 400]  # the correction counts
    assert CHECK_SHEET not in book.sheetnames or all(
        "已有汇总表" not in str(line) for line in book[CHECK_SHEET].iter_rows(values_only=True))


def test_a_table_without_its_own_level_exits_as_needing_a_look(tmp_path: Path) -> None:
    """附件4 begins with the department's 本级: without it (or with two) the note said so, yet the
    run exited 0, which scripts read as all clear."""
    folder = tmp_path / "units"
    folder.mkdir()
    for code, *_ in UNITS:
        name, data = unit_bundle(code)
        (folder / name).write_bytes(data)
    result = CliRunner().invoke(cli, ["consolidate", str(folder), "-o", str(tmp_path / "a.xlsx"), "-j", "1"])
    assert result.exit_code == 1, result.output
    assert "说明：没有部门本级的签名材料：表中第一行应为部门本级" in result.output
    (folder / own_bundle()[0]).write_bytes(own_bundle()[1])
    whole = CliRunner().invoke(cli, ["consolidate", str(folder), "-o", str(tmp_path / "b.xlsx"), "-j", "1"])
    assert whole.exit_code == 0, whole.output


def test_units_are_listed_by_the_numbers_in_their_codes() -> None:
    """Sorted as text, 360124-KGX-10 came before 360124-KGX-2."""
    made = [build_bundle(unit_submission(code, f"单位{code[-2:]}", "10", "10", 90), framework(), unit_key_for(code),
                         SIGNED_AT) for code in ("360124-KGX-10", "360124-KGX-2", "360124-KGX-9")]
    outcome = consolidate([Source(*own_bundle()), *(Source(n, data=d) for n, d in made)])
    assert outcome.summary is not None
    assert [r.unit_code for r in outcome.summary.rows] == [
        "360124-KGX", "360124-KGX-2", "360124-KGX-9", "360124-KGX-10"]
