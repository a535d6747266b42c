"""Suggested scores: what each rule kind gives for a target, an actual and a 分值.

The rule is the framework's when it names one, else it is inferred from the target's
comparator (≥ or 达到 → higher, ≤ → lower, a bare number → equal, words → qualitative).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from ..model.framework import Rule
from ..model.measures import GE, GT, LE, LT, REACH, Measure, normalize_text, parse_measure
from ..model.numbers import HUNDRED, ZERO, round2

ONE, TWO = Decimal(1), Decimal(2)  # constants: an int operand is converted on every use
ZERO_2 = round2(ZERO)  # 0.00


class Outcome(NamedTuple):
    """The result of applying a rule: a suggestion, or why there is none (a tuple: made per row)."""

    kind: str | None
    suggested: Decimal | None = None
    problem: str | None = None  # "unit" | "not_numeric" | "target_not_numeric" | "actual_range" | None
    met: bool | None = None  # qualitative: True met, False not met, None unknown


# `Outcome(...)` runs the named tuple's Python `__new__`; `suggest` runs once a row, so it
# builds its results with the C one, all four fields given.
_outcome = tuple.__new__
_KIND_OF_COMPARATOR = {GE: "higher", GT: "higher", LE: "lower", LT: "lower", REACH: "higher"}
_RANGES = (GE, GT, LE, LT)  # an actual written with one of these is a range; 达到95% is a value


def infer_kind(target: Measure | None) -> str:
    if target is None:
        return "qualitative"
    return _KIND_OF_COMPARATOR.get(target.comparator, "equal")  # type: ignore[arg-type]


def _clamp(value: Decimal, maximum: Decimal) -> Decimal:
    return round2(min(max(value, ZERO), maximum))


# `_higher` and `_lower` answer rounded; rounding a rounded value again changed nothing.
def _higher(target: Decimal, actual: Decimal, maximum: Decimal) -> Decimal:
    if actual >= target:
        return round2(maximum)
    if target <= ZERO:  # actual/target means nothing here: as 反向's target of 0, met or nothing
        return ZERO_2
    return _clamp(actual / target * maximum, maximum)


def _lower(target: Decimal, actual: Decimal, maximum: Decimal) -> Decimal:
    if actual <= target:
        return round2(maximum)
    if target <= ZERO or actual >= TWO * target:
        return ZERO_2
    return _clamp((ONE - (actual - target) / target) * maximum, maximum)


_TIER_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": operator.le, "<": operator.lt, "=": operator.eq, ">=": operator.ge, ">": operator.gt}


def _tier_hit(op: str, value: Decimal, bound: Decimal) -> bool:
    return _TIER_OPS[op](value, bound)


def _range_short_of(target: Measure | None, actual: Measure) -> bool:
    """An actual written as a range (`<95%`, `≤95%`, `>5%`) against a ≥/≤ target that the range
    does not wholly meet: its number is a bound, and says nothing of how far short it fell."""
    return (target is not None and target.comparator in _KIND_OF_COMPARATOR
            and actual.comparator in _RANGES and not _meets_by_comparator(target, actual))


def _meets_by_comparator(target: Measure, actual: Measure) -> bool:
    """An actual written with the target's own comparator (`≥95%` / `≥95%`) meets it."""
    if actual.comparator not in _RANGES:
        return False
    if actual.comparator in (GE, GT) and target.comparator in (GE, GT, REACH):
        return actual.value >= target.value
    if actual.comparator in (LE, LT) and target.comparator in (LE, LT):
        return actual.value <= target.value
    return False


_MET_WORDS = ("完成", "已完成", "全部完成", "达到", "达标", "实现", "已实现", "是")
_NOT_MET_PREFIXES = ("未", "没有", "不达", "不符")
# A word that negates what follows it (不完整, 尚不规范, 部分未公开) ...
_NEGATIONS = ("不", "未", "没有", "没", "非")
# ... and one that says the target was reached in part only (基本完整, 较为规范, 部分完成).
_HEDGES = ("基本", "部分", "较", "较为", "初步", "大体")


# A rating scale, best first: 良好 against a target of 优秀 falls short of it, 优秀 against 良好
# exceeds it. Only a cell that is one of these words whole is read on the scale.
_RATINGS = {word: rank for rank, words in enumerate((
    ("优秀", "优"), ("良好", "良", "较好"), ("中等", "中", "一般", "合格", "及格"),
    ("较差", "差", "不合格", "不及格"))) for word in words}


@lru_cache(maxsize=8192)
def qualitative_met(target: str, actual: str) -> bool | None:
    """Whether a qualitative actual reports the target achieved; None when it cannot tell.

    The target negated in the actual (不完整 for 完整) is not met; the target hedged (基本完整)
    cannot be told; on the rating scale (优秀, 良好, 合格, …) a lower rating is not met. A target
    that is itself a negation (无重大事故) is met by its own words only: 未发生重大事故 says
    nothing against it.

    Cached: it depends on the two texts only, and the same pairs recur in every submission."""
    t, a = normalize_text(target), normalize_text(actual)
    if not a:
        return None
    if a == t:
        return True
    rated = _RATINGS.get(t), _RATINGS.get(a)
    if None not in rated:
        return rated[1] <= rated[0]  # type: ignore[operator]
    if not t.startswith(("无", *_NEGATIONS)):
        if a.startswith(_NOT_MET_PREFIXES) or a in ("否", "无"):
            return False
        if t and any(word + t in a for word in _NEGATIONS):
            return False
    if t and t in a:
        return None if any(word + t in a for word in _HEDGES) else True
    if a in _MET_WORDS:
        return True
    return None


def suggest(rule: Rule | None, target_text: str, actual_text: str,
            maximum: Decimal | None) -> Outcome:
    """Apply `rule` (or the inferred one) and return the suggestion, if any."""
    target = parse_measure(target_text)
    kind: str
    if rule is not None:
        kind = rule.kind
    elif target is None:
        kind = "qualitative"
    else:  # `infer_kind`, spelt out: this runs for every row
        kind = _KIND_OF_COMPARATOR.get(target.comparator, "equal")  # type: ignore[arg-type]
    if kind == "qualitative" or maximum is None:
        return _outcome(Outcome, (kind, None, None, qualitative_met(target_text, actual_text)))
    if target is None and kind not in ("proportional", "tiers"):  # the framework's numeric rule
        return _outcome(Outcome, (kind, None, "target_not_numeric", None))
    actual = parse_measure(actual_text)
    if actual is None:
        return _outcome(Outcome, (kind, None, "not_numeric", None))
    if target is not None and target.unit != actual.unit and not actual.bare_zero:
        return _outcome(Outcome, (kind, None, "unit", None))
    if kind == "proportional" and target is None and actual.unit != "%" and not actual.bare_zero:
        # A rate needs its %, or a target to be measured against: '98.5' alone is neither.
        return _outcome(Outcome, (kind, None, "target_not_numeric", None))
    if _range_short_of(target, actual) and kind in ("higher", "lower", "deduction"):
        # '<95%' against '≥95%' is a bound, not a value: taken as 95 it scored full marks.
        return _outcome(Outcome, (kind, None, "actual_range", None))
    return _outcome(Outcome, (kind, _suggested(rule, kind, target, actual, maximum), None, None))


def _suggested(rule: Rule | None, kind: str, target: Measure | None, actual: Measure,
               maximum: Decimal) -> Decimal:
    """The suggested score for a numeric actual (its unit already agreed with the target's)."""
    value = actual.value
    if kind == "proportional":
        rate = value / HUNDRED if actual.unit == "%" else (
            value / target.value if target is not None and target.value else ZERO)
        return _clamp(rate * maximum, maximum)
    if kind == "tiers":
        assert rule is not None
        for tier in rule.tiers:
            if tier.bound is not None and tier.points is not None and _tier_hit(
                    tier.op, value, tier.bound):
                return _clamp(tier.points, maximum)
        return _clamp(rule.otherwise or ZERO, maximum)
    assert target is not None  # `suggest` answered not_numeric for the other kinds
    if actual.comparator is not None and _meets_by_comparator(target, actual):
        return round2(maximum)
    if kind == "deduction":
        assert rule is not None and rule.step and rule.loss is not None
        over = value - target.value
        if over <= ZERO:
            return round2(maximum)
        steps = (over / rule.step).to_integral_value(rounding="ROUND_CEILING")
        return _clamp(maximum - steps * rule.loss, maximum)
    if kind == "lower":
        return _lower(target.value, value, maximum)
    if kind == "equal" and value == target.value:
        return round2(maximum)
    if kind == "equal" and target.value == ZERO:  # '0起' against '2起': as 反向's target of 0, not 正向's
        return ZERO_2
    return _higher(target.value, value, maximum)
