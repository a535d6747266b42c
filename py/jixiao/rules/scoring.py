"""Suggested scores: what each rule kind gives for a target, an actual and a 分值.

The rule is the framework's when it names one, else it is inferred from the target's
comparator (≥ → higher, ≤ → lower, a bare number → equal, words → qualitative).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ..model.framework import Rule
from ..model.measures import EQ, GE, GT, LE, LT, Measure, normalize_text, parse_measure
from ..model.numbers import HUNDRED, ZERO, round2


class Outcome(NamedTuple):
    """The result of applying a rule: a suggestion, or why there is none (a tuple: made per row)."""

    kind: str | None
    suggested: Decimal | None = None
    problem: str | None = None  # "unit" | "not_numeric" | None
    met: bool | None = None  # qualitative: True met, False not met, None unknown


def infer_kind(target: Measure | None) -> str:
    if target is None:
        return "qualitative"
    if target.comparator in (GE, GT):
        return "higher"
    if target.comparator in (LE, LT):
        return "lower"
    return "equal"


def _clamp(value: Decimal, maximum: Decimal) -> Decimal:
    return round2(min(max(value, ZERO), maximum))


def _higher(target: Decimal, actual: Decimal, maximum: Decimal) -> Decimal:
    if actual >= target or target <= 0:
        return maximum
    return _clamp(actual / target * maximum, maximum)


def _lower(target: Decimal, actual: Decimal, maximum: Decimal) -> Decimal:
    if actual <= target:
        return maximum
    if target <= 0 or actual >= 2 * target:
        return ZERO
    return _clamp((1 - (actual - target) / target) * maximum, maximum)


def _tier_hit(op: str, value: Decimal, bound: Decimal) -> bool:
    return {
        "<=": value <= bound, "<": value < bound, "=": value == bound,
        ">=": value >= bound, ">": value > bound,
    }[op]


def _meets_by_comparator(target: Measure, actual: Measure) -> bool:
    """An actual written with the target's own comparator (`≥95%` / `≥95%`) meets it."""
    if actual.comparator is None or actual.comparator == EQ:
        return False
    if actual.comparator in (GE, GT) and target.comparator in (GE, GT):
        return actual.value >= target.value
    if actual.comparator in (LE, LT) and target.comparator in (LE, LT):
        return actual.value <= target.value
    return False


_MET_WORDS = ("完成", "已完成", "全部完成", "达到", "达标", "实现", "已实现", "是")
_NOT_MET_PREFIXES = ("未", "没有", "不达", "不符")


def qualitative_met(target: str, actual: str) -> bool | None:
    """Whether a qualitative actual reports the target achieved; None when it cannot tell."""
    t, a = normalize_text(target), normalize_text(actual)
    if not a:
        return None
    if a == t:
        return True
    if a.startswith(_NOT_MET_PREFIXES) or a in ("否", "无"):
        return False
    if (t and t in a) or a in _MET_WORDS:
        return True
    return None


def suggest(rule: Rule | None, target_text: str, actual_text: str,
            maximum: Decimal | None) -> Outcome:
    """Apply `rule` (or the inferred one) and return the suggestion, if any."""
    target = parse_measure(target_text)
    kind = rule.kind if rule is not None else infer_kind(target)
    if kind == "qualitative" or maximum is None:
        return Outcome(kind, met=qualitative_met(target_text, actual_text))
    actual = parse_measure(actual_text)
    if actual is None:
        return Outcome(kind, problem="not_numeric")
    if target is not None and target.unit != actual.unit and not actual.bare_zero:
        return Outcome(kind, problem="unit")
    value = actual.value
    if kind == "proportional":
        rate = value / HUNDRED if actual.unit == "%" else (
            value / target.value if target is not None and target.value else ZERO)
        return Outcome(kind, _clamp(rate * maximum, maximum))
    if kind == "tiers":
        assert rule is not None
        for tier in rule.tiers:
            if tier.bound is not None and tier.points is not None and _tier_hit(
                    tier.op, value, tier.bound):
                return Outcome(kind, _clamp(tier.points, maximum))
        return Outcome(kind, _clamp(rule.otherwise or ZERO, maximum))
    if target is None:
        return Outcome(kind, problem="not_numeric")
    if _meets_by_comparator(target, actual):
        return Outcome(kind, round2(maximum))
    if kind == "deduction":
        assert rule is not None and rule.step and rule.loss is not None
        over = value - target.value
        if over <= 0:
            return Outcome(kind, round2(maximum))
        steps = (over / rule.step).to_integral_value(rounding="ROUND_CEILING")
        return Outcome(kind, _clamp(maximum - steps * rule.loss, maximum))
    if kind == "lower":
        return Outcome(kind, round2(_lower(target.value, value, maximum)))
    if kind == "equal" and value == target.value:
        return Outcome(kind, round2(maximum))
    return Outcome(kind, round2(_higher(target.value, value, maximum)))
