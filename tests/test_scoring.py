"""Suggested scores per rule kind, as the domain notes state them (domain.md, 'How an
indicator is scored'). Each row: rule, 年度指标值, 全年完成值, 分值 → suggested score."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jixiao.model.framework import Rule
from jixiao.model.measures import parse_measure
from jixiao.rules.scoring import infer_kind, qualitative_met, suggest

DEDUCT = Rule(kind="deduction", step=Decimal(1), loss=Decimal("0.5"))
TIERS = Rule.model_validate({"kind": "tiers", "tiers": [
    {"op": "<=", "bound": "0", "points": "3"},
    {"op": "<=", "bound": "10", "points": "2"},
    {"op": "<=", "bound": "20", "points": "1"}]})

CASES = """
rule          | target  | actual  | max | suggested
inferred      | ≥95%    | 100%    | 2   | 2
inferred      | ≥95%    | 95%     | 4   | 4
inferred      | ≥95%    | 76%     | 4   | 3.2
inferred      | ≥95%    | ≥95%    | 3   | 3
inferred      | ≥83家   | 80家    | 3   | 2.89
inferred      | ≤100%   | 100%    | 2   | 2
inferred      | ≤5%     | 0       | 4   | 4
inferred      | ≤5%     | 6%      | 4   | 3.2
inferred      | ≤5%     | 10%     | 4   | 0
inferred      | ≤5%     | 12%     | 4   | 0
inferred      | ≤0天    | 0天     | 2   | 2
inferred      | ≤0天    | 1天     | 2   | 0
inferred      | 83家    | 83家    | 2   | 2
inferred      | 706.73  | 706.93  | 3   | 3
inferred      | 706.73  | 600     | 3   | 2.55
inferred      | １００％  | 100%    | 8   | 8
inferred      | 不低于90% | 45%   | 10  | 5
inferred      | 95%以上  | 90%     | 2   | 1.89
proportional  | ≥95%    | 100%    | 2   | 2
proportional  | ≥95%    | 87.5%   | 2   | 1.75
proportional  | 100%    | 120%    | 7   | 7
deduction     | ≤100%   | 100%    | 1.5 | 1.5
deduction     | ≤100%   | 101%    | 1.5 | 1
deduction     | ≤100%   | 102.5%  | 1.5 | 0
deduction     | ≤100%   | 110%    | 1.5 | 0
tiers         | 0%      | 0%      | 3   | 3
tiers         | 0%      | 7%      | 3   | 2
tiers         | 0%      | 20%     | 3   | 1
tiers         | 0%      | 20.01%  | 3   | 0
"""


def _rows() -> list[tuple[str, ...]]:
    lines = [line for line in CASES.strip().splitlines()[1:]]
    return [tuple(cell.strip() for cell in line.split("|")) for line in lines]


RULES = {"inferred": None, "proportional": Rule(kind="proportional"),
         "deduction": DEDUCT, "tiers": TIERS}


@pytest.mark.parametrize(("rule", "target", "actual", "maximum", "expected"), _rows())
def test_suggested_score(rule: str, target: str, actual: str, maximum: str,
                         expected: str) -> None:
    outcome = suggest(RULES[rule], target, actual, Decimal(maximum))
    assert outcome.problem is None
    assert outcome.suggested == Decimal(expected)


@pytest.mark.parametrize(("target", "kind"), [
    ("≥95%", "higher"), (">=95%", "higher"), ("不低于95%", "higher"), ("95%以上", "higher"),
    ("≤5%", "lower"), ("不超过5%", "lower"), ("＜3天", "lower"),
    ("83家", "equal"), ("706.73", "equal"),
    ("完整", "qualitative"), ("规范\n合理", "qualitative"), ("", "qualitative"),
])
def test_rule_inferred_from_comparator(target: str, kind: str) -> None:
    assert infer_kind(parse_measure(target)) == kind


@pytest.mark.parametrize(("target", "actual"), [("≥95%", "95"), ("83家", "83个"), ("≤5天", "5%")])
def test_unit_mismatch_gives_no_suggestion(target: str, actual: str) -> None:
    outcome = suggest(None, target, actual, Decimal(2))
    assert outcome.problem == "unit"
    assert outcome.suggested is None


def test_bare_zero_matches_any_unit() -> None:
    assert suggest(None, "≤5%", "0", Decimal(4)).suggested == Decimal(4)
    assert suggest(None, "≤5%", "0.0", Decimal(4)).suggested == Decimal(4)
    assert suggest(None, "≤5%", "0天", Decimal(4)).problem == "unit"


def test_numeric_target_with_words_actual_is_not_scored() -> None:
    outcome = suggest(None, "≥95%", "基本完成", Decimal(2))
    assert outcome.problem == "not_numeric" and outcome.suggested is None


@pytest.mark.parametrize(("target", "actual", "met"), [
    ("完整", "完整", True), ("规范\n合理", "规范 合理", True), ("提升", "明显提升", True),
    ("公开", "未公开", False), ("健全", "没有建立", False), ("提高", "有所变化", None),
    ("完整", "", None),
])
def test_qualitative_met(target: str, actual: str, met: bool | None) -> None:
    assert qualitative_met(target, actual) is met
