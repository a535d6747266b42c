"""evaluate() on the seed and on one-defect variants of it: every registry code is shown to
fire, on the field it names, and nothing else changes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from bundle_helpers import set_path
from jixiao import Framework, Submission, evaluate
from jixiao.rules.findings import REGISTRY

# Paths into the seed's tree, named for what they are.
BUDGET_COMPLETION = "indicators.0.groups.1.items.0"   # 预算完成率（2分）
CARRYOVER = "indicators.0.groups.2.items.0"           # 结转结余率（2分）, 分值 4
OUTPUT_TASK3 = "indicators.1.groups.0.items.2"        # 任务3：发展高新技术企业 83家
SERVICE = "indicators.2.groups.1.items.0"             # 服务群众办事效率 34/35
SATISFACTION = "indicators.3.groups.0.items.0"        # 提升群众满意率 9/10


def test_seed_scores_98_excellent(seed: Submission, jinxian: Framework) -> None:
    ev = evaluate(seed, jinxian)
    assert ev.total == Decimal(98)
    assert ev.grade == "优"
    assert ev.execution_rate == Decimal("100.00")
    assert [(lv.name, lv.score_sum) for lv in ev.level1] == [
        ("管理指标", 30), ("产出指标", 25), ("效果指标", 34), ("满意度指标", 9)]
    assert [(f.code, f.path) for f in ev.errors] == [
        ("DEVIATION_REASON_MISSING", f"{SERVICE}.deviation"),
        ("DEVIATION_REASON_MISSING", f"{SATISFACTION}.deviation"),
    ]
    assert "服务群众办事效率" in ev.errors[0].message
    assert "提升群众满意率" in ev.errors[1].message
    assert sorted(ev.codes("warning")) == [
        "EMPTY_INDICATOR_GROUP", "LABEL_WEIGHT_MISMATCH", "LABEL_WEIGHT_MISMATCH"]
    assert not [c for c in ev.codes() if c.startswith("SCORE_")]


def test_seed_funds(seed: Submission, jinxian: Framework) -> None:
    ev = evaluate(seed, jinxian)
    total = ev.funds["total"]
    assert (total.budget, total.executed, total.rate) == (
        Decimal("5479.62"), Decimal("5479.62"), Decimal("100.00"))
    assert ev.funds["fiscal"].rate == Decimal(100)


def test_seed_suggestions_agree_with_its_scores(seed: Submission, jinxian: Framework) -> None:
    ev = evaluate(seed, jinxian)
    scored = {r.name: r for r in ev.indicators}
    assert scored["预算完成率"].rule == "proportional"
    assert scored["在职人员控制率"].rule == "deduction"
    assert scored["任务1：保障工资福利等各项人员支出"].rule == "equal"
    assert scored["服务群众办事效率"].rule == "qualitative"
    assert scored["服务群众办事效率"].suggested is None
    assert all(r.suggested in (None, r.score) for r in ev.indicators)


def _set(path: str, value: object) -> Callable[[dict[str, object]], None]:
    def mutate(doc: dict[str, object]) -> None:
        set_path(doc, path, value)
    return mutate


def _many(*mutations: Callable[[dict[str, object]], None]) -> Callable[[dict[str, object]], None]:
    def mutate(doc: dict[str, object]) -> None:
        for m in mutations:
            m(doc)
    return mutate


# One defect at a time → the code it must raise, on the field it must name.
VARIANTS: list[tuple[str, Callable[[dict[str, object]], None], str, str]] = [
    ("得分高于分值", _many(_set(f"{BUDGET_COMPLETION}.score", "3"), _set(f"{CARRYOVER}.score", "3"),
                     _set(f"{CARRYOVER}.deviation", "有结余")),
     "SCORE_EXCEEDS_MAX", f"{BUDGET_COMPLETION}.score"),
    ("负分", _set(f"{BUDGET_COMPLETION}.score", "-1"),
     "SCORE_NEGATIVE", f"{BUDGET_COMPLETION}.score"),
    ("得分与规则不符", _many(_set(f"{OUTPUT_TASK3}.actual", "70家"),
                      _set(f"{OUTPUT_TASK3}.deviation", "市场原因")),
     "SCORE_RULE_MISMATCH", f"{OUTPUT_TASK3}.score"),
    ("定性得分不在分档内", _many(_set(f"{SATISFACTION}.score", "5"),
                        _set(f"{SATISFACTION}.deviation", "调查样本少")),
     "QUALITATIVE_BAND", f"{SATISFACTION}.score"),
    ("权重之和不为100", _many(_set("indicators.3.weight", "15"), _set(f"{SATISFACTION}.max_score", "15"),
                         _set(f"{SATISFACTION}.score", "15")),
     "WEIGHT_SUM_MISMATCH", "indicators"),
    ("总分不符", _set("total", "99"), "TOTAL_MISMATCH", "total"),
    ("执行率不符", _set("funds.fiscal.rate", "99"), "RATE_MISMATCH", "funds.fiscal.rate"),
    ("资金来源之和不符", _set("funds.other.budget", "17.95"),
     "FUND_SUM_MISMATCH", "funds.basic.budget"),
    ("等级不符", _set("report.figures.grade", "良"), "GRADE_MISMATCH", "report.figures.grade"),
    ("执行超预算", _set("funds.basic.executed", "700"),
     "EXECUTION_OVER_BUDGET", "funds.basic.executed"),
    ("预算数为负", _set("funds.basic.budget", "-637.21"), "AMOUNT_NEGATIVE", "funds.basic.budget"),
    ("计量单位不符", _set(f"{OUTPUT_TASK3}.actual", "83个"),
     "UNIT_MISMATCH", f"{OUTPUT_TASK3}.actual"),
    ("必填为空", _set("unit_name", " "), "MISSING_REQUIRED", "unit_name"),
    ("报告缺节", _set("report.sections.application", ""),
     "MISSING_REQUIRED", "report.sections.application"),
    ("报告预算数不符", _set("report.figures.budget", "5497.62"),
     "REPORT_TABLE_MISMATCH", "report.figures.budget"),
    ("报告人数不符", _set("report.figures.staffing.retired", 76),
     "REPORT_TABLE_MISMATCH", "report.figures.staffing.actual"),
    ("数值目标的文字完成值", _set(f"{OUTPUT_TASK3}.actual", "基本完成"),
     "VALUE_NOT_NUMERIC", f"{OUTPUT_TASK3}.actual"),
    ("完成值写成未达到目标的范围", _set("indicators.1.groups.0.items.1.actual", "<95%"),
     "VALUE_IS_RANGE", "indicators.1.groups.0.items.1.actual"),
    ("数值规则的文字指标值", _set("indicators.0.groups.5.items.0.target", "较高"),
     "TARGET_NOT_NUMERIC", "indicators.0.groups.5.items.0.target"),
    ("分值与体系不同", _many(_set(f"{CARRYOVER}.max_score", "2"), _set(f"{CARRYOVER}.score", "2")),
     "FRAMEWORK_DIFFERS", f"{CARRYOVER}.max_score"),
    ("未知一级指标", _set("indicators.3.name", "社会评价指标"), "UNKNOWN_LEVEL1", "indicators.3.name"),
    ("体系不符", _set("framework_id", "national-2020"), "FRAMEWORK_MISMATCH", "framework_id"),
]


@pytest.mark.parametrize(("what", "mutate", "code", "path"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_one_defect_one_finding(seed: Submission, jinxian: Framework, what: str,
                                mutate: Callable[[dict[str, object]], None], code: str,
                                path: str) -> None:
    doc = seed.model_dump(mode="json")
    mutate(doc)
    ev = evaluate(Submission.model_validate(doc), jinxian)
    hits = [f for f in ev.findings if f.code == code]
    assert [f.path for f in hits] == [path], ev.findings
    assert hits[0].severity == REGISTRY[code].severity
    assert hits[0].message and "{" not in hits[0].message


def test_every_registered_code_is_exercised() -> None:
    shown = {v[2] for v in VARIANTS} | {
        "DEVIATION_REASON_MISSING", "LABEL_WEIGHT_MISMATCH", "EMPTY_INDICATOR_GROUP",
        "INVALID_VALUE", "AMOUNT_ROUNDED"}  # both raised by the form's door: tests/test_browser_entry.py
    assert shown == set(REGISTRY)


def test_level1_subtotal_above_weight(seed: Submission, jinxian: Framework) -> None:
    doc = seed.model_dump(mode="json")
    _set(f"{SATISFACTION}.max_score", "12")(doc)
    _set(f"{SATISFACTION}.score", "11")(doc)
    ev = evaluate(Submission.model_validate(doc), jinxian)
    assert ("SCORE_EXCEEDS_MAX", "indicators.3") in [(f.code, f.path) for f in ev.findings]


def test_thresholds_come_from_the_framework(seed: Submission, jinxian: Framework) -> None:
    """A province with 80/70/60 cut-offs grades the same 98 as 优, and 85 as 优 too."""
    data = jinxian.model_dump(mode="json")
    data["grades"] = [{"name": "优", "min": "80"}, {"name": "良", "min": "70"},
                      {"name": "中", "min": "60"}, {"name": "差", "min": "0"}]
    strict = Framework.model_validate(data)
    assert strict.grade_of(Decimal(85)) == "优"
    assert jinxian.grade_of(Decimal(85)) == "良"
    assert jinxian.grade_of(Decimal("89.99")) == "良"
    assert jinxian.grade_of(Decimal(90)) == "优"
    assert jinxian.grade_of(Decimal("59.99")) == "差"


def test_second_framework_scores_its_own_layout(national: Framework) -> None:
    from jixiao.samples import random_submission

    sub = random_submission(7, national)
    ev = evaluate(sub, national)
    assert [lv.name for lv in ev.level1] == ["预算执行率", "产出指标", "效益指标", "满意度指标"]
    assert [lv.weight for lv in ev.level1] == [10, 50, 30, 10]
    by_name = {r.name: r for r in ev.indicators}
    assert by_name["预算执行率"].rule == "proportional"
    assert by_name["预算调整率"].rule == "tiers"


def test_evaluation_is_deterministic(seed: Submission, jinxian: Framework) -> None:
    assert evaluate(seed, jinxian).model_dump_json() == evaluate(seed, jinxian).model_dump_json()


def test_framework_hash_changes_with_content(jinxian: Framework) -> None:
    from jixiao.catalog import framework_from_data

    data = jinxian.model_dump(mode="json")
    assert framework_from_data(data).sha256 == jinxian.sha256
    data["levels"][0]["weight"] = "31"
    assert framework_from_data(data).sha256 != jinxian.sha256
