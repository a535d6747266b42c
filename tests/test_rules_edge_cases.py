"""Odd but realistic entries, as units type them: each test pins what the checker tells the
unit (suggested score, findings, rates) for one case an audit of the rules found wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bundle_helpers import set_path
from jixiao import Framework, Submission, evaluate
from jixiao.model.measures import parse_measure
from jixiao.rules.scoring import qualitative_met, suggest

# Paths into the seed's tree.
PROCUREMENT = "indicators.0.groups.5.items.0"  # 政府采购执行率（3分）, 分值 4, ≥95% / 95%
COMPLETENESS = "indicators.0.groups.0.items.0"  # 预算编制完整性（2分）, 定性, 完整 / 完整


def _variant(seed: Submission, changes: dict[str, object]) -> Submission:
    doc = seed.model_dump(mode="json")
    for path, value in changes.items():
        set_path(doc, path, value)
    return Submission.model_validate(doc)


def test_ji_yixia_is_at_most() -> None:
    """'5%及以下' is ≤5%, as '95%及以上' is ≥95%: its unit is %, not '%及'."""
    assert parse_measure("5%及以下") == ("<=", Decimal(5), "%")
    outcome = suggest(None, "5%及以下", "3%", Decimal(4))
    assert (outcome.kind, outcome.problem, outcome.suggested) == ("lower", None, Decimal(4))


def test_ji_yixia_target_gives_no_unit_mismatch(seed: Submission, jinxian: Framework) -> None:
    sub = _variant(seed, {"indicators.0.groups.2.items.0.target": "5%及以下",
                          "indicators.0.groups.2.items.0.actual": "3%"})
    assert "UNIT_MISMATCH" not in evaluate(sub, jinxian).codes()


# 财政拨款 200.00 / 198.99 → 99.495%: shown as 99.50 at two places, but 99 at none.
_RATE_99_495 = {
    "funds.fiscal.budget": "200.00", "funds.fiscal.executed": "198.99",
    "funds.other.budget": "0", "funds.other.executed": "0", "funds.other.rate": None,
    "funds.basic.budget": "100", "funds.basic.executed": "100",
    "funds.project.budget": "100", "funds.project.executed": "98.99", "funds.project.rate": "98.99",
    "report.figures.budget": "200", "report.figures.executed": "198.99"}


def test_rate_declared_in_whole_percent_is_rounded_once(seed: Submission,
                                                        jinxian: Framework) -> None:
    """A declared 99% is 99.495% rounded half up to a whole percent: it is right. It was
    compared with the two-place 99.50 rounded again (100), and called wrong twice."""
    sub = _variant(seed, {**_RATE_99_495, "funds.fiscal.rate": "99", "report.figures.rate": "99"})
    ev = evaluate(sub, jinxian)
    assert ev.funds["fiscal"].rate == Decimal("99.50")  # the table still shows two places
    assert "RATE_MISMATCH" not in ev.codes()
    assert "report.figures.rate" not in [f.path for f in ev.findings]


def test_rate_declared_100_for_99_495_is_still_wrong(seed: Submission, jinxian: Framework) -> None:
    sub = _variant(seed, {**_RATE_99_495, "funds.fiscal.rate": "100", "report.figures.rate": "100"})
    ev = evaluate(sub, jinxian)
    assert [(f.code, f.path) for f in ev.findings if f.path.endswith("rate")] == [
        ("RATE_MISMATCH", "funds.fiscal.rate"), ("REPORT_TABLE_MISMATCH", "report.figures.rate")]


def test_rate_declared_with_three_places_rounds_half_up(seed: Submission,
                                                        jinxian: Framework) -> None:
    """200.00 / 198.97 → 99.485% exactly: a declared 99.485 is right (its two-place form was
    rounded half to even, 99.48, against the computed 99.49)."""
    sub = _variant(seed, {**_RATE_99_495, "funds.fiscal.executed": "198.97",
                          "funds.project.executed": "98.97", "funds.project.rate": "98.97",
                          "report.figures.executed": "198.97",
                          "funds.fiscal.rate": "99.485", "report.figures.rate": "99.485"})
    ev = evaluate(sub, jinxian)
    assert [f for f in ev.findings if f.path.endswith("rate")] == []


@pytest.mark.parametrize(("target", "actual", "met"), [
    ("完整", "不完整", False), ("规范", "不规范", False), ("公开", "不公开", False),
    ("健全", "尚不健全", False), ("规范", "部分不规范", False),
    ("完整", "基本完整", None), ("完成", "基本完成", None), ("规范", "较为规范", None),
    ("无重大事故", "未发生重大事故", None),
    ("提高", "不断提高", True), ("提升", "有所提升", True), ("无", "无", True),
])
def test_qualitative_actual_negated_or_hedged(target: str, actual: str, met: bool | None) -> None:
    assert qualitative_met(target, actual) is met


def test_not_complete_with_full_score_is_named(seed: Submission, jinxian: Framework) -> None:
    """全年完成值 '不完整' against 年度指标值 '完整' was read as met (完整 is in 不完整): full
    marks passed, and 1.5 of 2 was told it should be in the 达成 band."""
    ev = evaluate(_variant(seed, {f"{COMPLETENESS}.actual": "不完整"}), jinxian)
    band = [f for f in ev.findings if f.code == "QUALITATIVE_BAND"]
    assert [f.path for f in band] == [f"{COMPLETENESS}.score"]
    assert "全年完成值表明未达成" in band[0].message
    partly = _variant(seed, {f"{COMPLETENESS}.actual": "不完整", f"{COMPLETENESS}.score": "1.5",
                             f"{COMPLETENESS}.deviation": "部分收入未纳入预算"})
    assert "QUALITATIVE_BAND" not in evaluate(partly, jinxian).codes()


def test_basically_complete_is_not_said_to_equal_the_target(seed: Submission,
                                                            jinxian: Framework) -> None:
    sub = _variant(seed, {f"{COMPLETENESS}.actual": "基本完整", f"{COMPLETENESS}.score": "1.5",
                          f"{COMPLETENESS}.deviation": "个别项目未细化"})
    assert "QUALITATIVE_BAND" not in evaluate(sub, jinxian).codes()


@pytest.mark.parametrize(("target", "actual", "suggested"), [
    ("≥0%", "-25.43%", "0"), ("≥0%", "0%", "4"), ("≥0%", "3%", "4"),
    ("≥-5%", "-10%", "0"), ("≥-5%", "-5%", "4"), ("0%", "-1%", "0"),
])
def test_higher_with_a_target_of_zero_or_below(target: str, actual: str, suggested: str) -> None:
    """正向 with a target of 0 (同比增长≥0%) or below: full when met, else 0. Any actual got
    full marks (a fall of 25.43% against ≥0% among them): actual/target × 分值 has no meaning."""
    assert suggest(None, target, actual, Decimal(4)).suggested == Decimal(suggested)


def test_growth_below_a_zero_target_is_not_full_marks(seed: Submission, jinxian: Framework) -> None:
    sub = _variant(seed, {"indicators.1.groups.0.items.2.name": "规模以上工业产值增长率",
                          "indicators.1.groups.0.items.2.target": "≥0%",
                          "indicators.1.groups.0.items.2.actual": "-25.43%"})
    ev = evaluate(sub, jinxian)
    row = next(r for r in ev.indicators if r.name == "规模以上工业产值增长率")
    assert (row.rule, row.suggested) == ("higher", Decimal("0.00"))
    assert "SCORE_RULE_MISMATCH" in ev.codes()


@pytest.mark.parametrize(("target", "said"), [("较高", "年度指标值“较高”不是数值"), ("", "年度指标值为空")])
def test_words_target_under_a_numeric_rule_names_the_target(
        seed: Submission, jinxian: Framework, target: str, said: str) -> None:
    """政府采购执行率 is scored 正向 by the framework. With 年度指标值 '较高' (or blank) and
    全年完成值 '95%', the message said 年度指标值“较高”是数值，全年完成值“95%”不是: the reverse."""
    ev = evaluate(_variant(seed, {f"{PROCUREMENT}.target": target}), jinxian)
    assert "VALUE_NOT_NUMERIC" not in ev.codes()
    hits = [f for f in ev.findings if f.code == "TARGET_NOT_NUMERIC"]
    assert [f.path for f in hits] == [f"{PROCUREMENT}.target"]
    assert said in hits[0].message and "正向" in hits[0].message
    assert "全年完成值“95%”不是" not in hits[0].message


def test_wrapped_level_and_group_names_are_the_framework_s(seed: Submission,
                                                           jinxian: Framework) -> None:
    """A cell wrapped in Word or Excel: '管理\\n指标' was an unknown 一级指标 (error), and under
    '部门预算\\n管理' 在职人员控制率 lost its 扣分 rule: 101% was suggested 1.49 by the inferred
    反向 rule instead of 1 (and the right score 1 was flagged)."""
    staff = "indicators.0.groups.4.items.0"  # 在职人员控制率（1.5分）, 扣分 0.5 per point over
    sub = _variant(seed, {"indicators.0.name": "管理\n指标", "indicators.0.groups.4.name": "部门预算　管理",
                          f"{staff}.actual": "101%", f"{staff}.score": "1", f"{staff}.deviation": "超编",
                          "total": "97.5"})
    ev = evaluate(sub, jinxian)
    assert "UNKNOWN_LEVEL1" not in ev.codes() and "SCORE_RULE_MISMATCH" not in ev.codes()
    row = next(r for r in ev.indicators if r.path == staff)
    assert (row.rule, row.suggested) == ("deduction", Decimal("1.00"))


def test_proportional_without_percent_or_target_gives_no_suggestion(national: Framework) -> None:
    """预算执行率 (按比例) with a blank 年度指标值 and a 全年完成值 of '98.5' (no %): the rate
    was taken as 0 and 0 suggested against the unit's 7, an error of the checker's own."""
    from jixiao.samples import random_submission

    doc = random_submission(7, national).model_dump(mode="json")
    row = doc["indicators"][0]["groups"][0]["items"][0]
    row.update(target="", actual="98.5", score="6.9", deviation="部分项目未支付")
    ev = evaluate(Submission.model_validate(doc), national)
    result = next(r for r in ev.indicators if r.path == "indicators.0.groups.0.items.0")
    assert (result.rule, result.suggested) == ("proportional", None)
    assert "indicators.0.groups.0.items.0.score" not in [f.path for f in ev.findings]
    assert [f.code for f in ev.findings if f.path == "indicators.0.groups.0.items.0.target"] == [
        "TARGET_NOT_NUMERIC"]
    assert suggest(national.levels[0].groups[0].indicators[0].rule, "", "98.5%",
                   Decimal(7)).suggested == Decimal("6.90")


def test_level1_subtotal_above_weight_says_weight(seed: Submission, jinxian: Framework) -> None:
    """The 一级 row has a 权重, not a 分值: '一级指标“满意度指标”的得分 11 超过分值 10' named the
    wrong column."""
    sat = "indicators.3.groups.0.items.0"
    ev = evaluate(_variant(seed, {f"{sat}.max_score": "12", f"{sat}.score": "11",
                                  f"{sat}.deviation": "样本少"}), jinxian)
    level = [f.message for f in ev.findings if (f.code, f.path) == ("SCORE_EXCEEDS_MAX", "indicators.3")]
    assert level == ["一级指标“满意度指标”的得分小计 11 超过权重 10"]
    row = _variant(seed, {f"{sat}.score": "11"})
    assert [f.message for f in evaluate(row, jinxian).findings if f.path == f"{sat}.score"] == [
        "“提升群众满意率”的得分 11 超过分值 10"]


@pytest.mark.parametrize(("target", "actual", "suggested"), [
    ("0起", "2起", "0.00"), ("0起", "0起", "4.00"), ("0", "3", "0.00"), ("0%", "1.5%", "0.00")])
def test_equal_to_a_target_of_zero_is_met_only_by_zero(target: str, actual: str, suggested: str) -> None:
    """等于 with a target of 0 (安全事故 0起): '2起' got full marks, as 正向 took any count ≥ 0
    to meet it. Now as 反向's target of 0: only 0 is full marks."""
    assert suggest(None, target, actual, Decimal(4)).suggested == Decimal(suggested)


@pytest.mark.parametrize(("target", "actual"), [
    ("≥95%", "<95%"), ("≥95%", "≤95%"), ("≥95%", "≥90%"), ("≤5%", "≥5%"), ("≤5%", ">5%")])
def test_an_actual_written_as_a_range_short_of_the_target_gets_no_suggestion(target: str, actual: str) -> None:
    """'<95%' against '≥95%' was read as 95 and suggested full marks; a range short of the target
    says nothing of how far short it is."""
    outcome = suggest(None, target, actual, Decimal(4))
    assert (outcome.suggested, outcome.problem) == (None, "actual_range")


@pytest.mark.parametrize(("target", "actual"), [("≥95%", "≥95%"), ("≥95%", ">96%"), ("≤5%", "≤4%"), ("≤5%", "<5%")])
def test_a_range_within_the_target_still_meets_it(target: str, actual: str) -> None:
    assert suggest(None, target, actual, Decimal(4)).suggested == Decimal("4.00")


def test_a_range_short_of_the_target_is_named_on_the_actual(seed: Submission, jinxian: Framework) -> None:
    task2 = "indicators.1.groups.0.items.1"  # 任务2：完成企业兑现各项政策奖励, ≥95% / ≥95%, 3 of 3
    ev = evaluate(_variant(seed, {f"{task2}.actual": "<95%"}), jinxian)
    hits = [f for f in ev.findings if f.code == "VALUE_IS_RANGE"]
    assert [(f.path, f.severity) for f in hits] == [(f"{task2}.actual", "warning")]
    assert "“<95%”是一个范围" in hits[0].message and "请填写实际完成的数值" in hits[0].message
    row = next(r for r in ev.indicators if r.path == task2)
    assert row.suggested is None


# --- How units write it, read as they mean it (0.3.0) ------------------------------------------

TASK3 = "indicators.1.groups.0.items.2"  # 任务3：发展高新技术企业, 83家 / 83家, 2 of 2: a row the unit sets


@pytest.mark.parametrize(("target", "actual", "suggested"), [
    ("达到95%", "96%", "4.00"), ("达到95%", "95%", "4.00"), ("达到95%", "76%", "3.20"),
    ("达95%以上", "90%", "3.79"), ("≥95%", "达到95%", "4.00"), ("≥98%", "达到49%", "2.00")])
def test_reach_is_at_least_as_a_target_and_a_value_as_an_actual(target: str, actual: str, suggested: str) -> None:
    """'达到95%' as a target was words (定性: no suggestion for any actual); as an actual it is the
    value reached, not a range ('达到49%' against ≥98% is 49/98 of the points, not VALUE_IS_RANGE)."""
    outcome = suggest(None, target, actual, Decimal(4))
    assert (outcome.kind, outcome.suggested, outcome.problem) == ("higher", Decimal(suggested), None)


def test_reach_written_as_a_range_is_still_a_range() -> None:
    assert parse_measure("达到95%以上") == (">=", Decimal(95), "%")
    assert suggest(None, "达到95%", "≤90%", Decimal(4)).problem == "actual_range"


def test_ri_and_tian_are_one_unit(seed: Submission, jinxian: Framework) -> None:
    """'≤5天' against '3日' was a unit mismatch (an error, no suggestion): both are days. Working
    days are not calendar days, so 个工作日 stays its own unit."""
    assert suggest(None, "≤5天", "3日", Decimal(2)).suggested == Decimal("2.00")
    assert suggest(None, "≤5日", "6天", Decimal(2)).suggested == Decimal("1.60")
    assert suggest(None, "≤5个工作日", "3天", Decimal(2)).problem == "unit"
    ev = evaluate(_variant(seed, {f"{TASK3}.target": "≤5天", f"{TASK3}.actual": "3日"}), jinxian)
    assert "UNIT_MISMATCH" not in ev.codes() and "SCORE_RULE_MISMATCH" not in ev.codes()


@pytest.mark.parametrize(("target", "actual", "met"), [
    ("优秀", "良好", False), ("良好", "优秀", True), ("优", "良", False), ("合格", "优秀", True),
    ("合格", "不合格", False), ("良好", "较好", True), ("良好", "一般", False), ("中", "合格", True)])
def test_ratings_are_read_on_their_scale(target: str, actual: str, met: bool) -> None:
    assert qualitative_met(target, actual) is met


def test_good_against_excellent_with_full_marks_is_named(seed: Submission, jinxian: Framework) -> None:
    """良好 against a target of 优秀 could not be told, so full marks passed without a word."""
    ev = evaluate(_variant(seed, {f"{COMPLETENESS}.target": "优秀", f"{COMPLETENESS}.actual": "良好"}), jinxian)
    band = [f for f in ev.findings if f.code == "QUALITATIVE_BAND"]
    assert [f.path for f in band] == [f"{COMPLETENESS}.score"] and "表明未达成" in band[0].message
    above = evaluate(_variant(seed, {f"{COMPLETENESS}.target": "良好", f"{COMPLETENESS}.actual": "优秀"}), jinxian)
    assert "QUALITATIVE_BAND" not in above.codes()


@pytest.mark.parametrize("written", ["无", "无。", " 暂无 ", "/", "——", "没有", "无偏差"])
def test_none_is_not_a_reason(seed: Submission, jinxian: Framework, written: str) -> None:
    """A row that lost points with 偏差及原因分析 '无' passed as explained: it says there is none."""
    ev = evaluate(_variant(seed, {f"{TASK3}.score": "1.5", f"{TASK3}.deviation": written}), jinxian)
    hits = [f for f in ev.findings if f.code == "DEVIATION_REASON_MISSING" and f.path.startswith(TASK3)]
    assert [(f.path, f.severity) for f in hits] == [(f"{TASK3}.deviation", "error")]
    assert hits[0].message.endswith(f"须填写偏差及原因分析（“{written.strip()}”不是原因）")


@pytest.mark.parametrize("written", ["无人申报，企业数未达目标", "市场原因", "无"])
def test_a_reason_or_no_lost_points_is_not_asked_for(seed: Submission, jinxian: Framework, written: str) -> None:
    score = "2" if written == "无" else "1.5"  # 无 beside full marks asks nothing
    ev = evaluate(_variant(seed, {f"{TASK3}.score": score, f"{TASK3}.deviation": written}), jinxian)
    assert not [f for f in ev.findings if f.code == "DEVIATION_REASON_MISSING" and f.path.startswith(TASK3)]


def test_a_blank_reason_keeps_its_message(seed: Submission, jinxian: Framework) -> None:
    ev = evaluate(_variant(seed, {f"{TASK3}.score": "1.5"}), jinxian)
    hits = [f.message for f in ev.findings if f.code == "DEVIATION_REASON_MISSING" and f.path.startswith(TASK3)]
    assert hits == ["“任务3：发展高新技术企业”得分 1.5 低于分值 2，须填写偏差及原因分析"]


@pytest.mark.parametrize(("row", "blank", "asked"), [
    ("other", "executed", "请填写资金来源：（2）其他资金的全年执行数"),
    ("basic", "budget", "请填写资金结构：（1）基本支出的全年预算数"),
    ("total", "executed", "请填写整体支出规模的全年执行数")])
def test_half_a_fund_row_asks_for_the_other_half(seed: Submission, jinxian: Framework, row: str, blank: str,
                                                 asked: str) -> None:
    """A fund row with a 预算数 and no 执行数 (or the reverse) gave no rate and no word about it."""
    changes: dict[str, object] = {f"funds.{row}.{blank}": None}
    if row == "total":
        changes.update({"funds.total.budget": "5479.62", "funds.total.rate": None})
    ev = evaluate(_variant(seed, changes), jinxian)
    missing = [(f.path, f.message) for f in ev.findings if f.code == "MISSING_REQUIRED"]
    assert missing == [(f"funds.{row}.{blank}", asked)]


def test_a_fund_row_left_whole_blank_asks_nothing(seed: Submission, jinxian: Framework) -> None:
    """A unit with no 其他资金 leaves the row blank; the sources then add up without it."""
    ev = evaluate(_variant(seed, {"funds.other.budget": None, "funds.other.executed": None,
                                  "funds.other.rate": None, "funds.fiscal.budget": "5479.62",
                                  "funds.fiscal.executed": "5479.62"}), jinxian)
    assert [f for f in ev.findings if f.path.startswith("funds.")] == []
