"""Properties that must hold for every input, checked with hypothesis."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao import Submission, evaluate, load_framework
from jixiao.model.evaluation import Evaluation
from jixiao.model.framework import Rule
from jixiao.model.numbers import MAX_FRACTION_DIGITS, MAX_WHOLE_DIGITS
from jixiao.model.submission import Group, Indicator, Level1
from jixiao.rules.scoring import suggest
from jixiao.samples import random_submission

COMPARATORS = ["", "≥", "≤", ">", "<", "不低于", "不超过", ">=", "<="]
UNITS = ["", "%", "家", "个", "万元", "天", "％"]
decimals = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)
maxima = st.decimals(min_value=Decimal("0.5"), max_value=50, places=1)


@st.composite
def cells(draw: st.DrawFn) -> str:
    """What people write in 年度指标值 / 全年完成值: measures, words, or anything."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(["完整", "规范", "提升", "未完成", "公开", ""]))
    if kind == 3:
        return draw(st.text(max_size=12))
    return f"{draw(st.sampled_from(COMPARATORS))}{draw(decimals)}{draw(st.sampled_from(UNITS))}"


rules = st.one_of(
    st.none(),
    st.sampled_from(["higher", "lower", "equal", "proportional", "qualitative"]).map(
        lambda k: Rule(kind=k)),  # type: ignore[arg-type]
    st.builds(lambda step, loss: Rule(kind="deduction", step=step, loss=loss),
              st.decimals(min_value=Decimal("0.1"), max_value=10, places=1),
              st.decimals(min_value=0, max_value=5, places=1)),
)


@given(rule=rules, target=cells(), actual=cells(), maximum=maxima)
def test_suggestion_lies_between_zero_and_max(rule: Rule | None, target: str, actual: str,
                                              maximum: Decimal) -> None:
    outcome = suggest(rule, target, actual, maximum)
    if outcome.suggested is not None:
        assert 0 <= outcome.suggested <= maximum


@given(target=decimals.filter(lambda d: d > 0), unit=st.sampled_from(UNITS),
       low=decimals, high=decimals, maximum=maxima,
       comparator=st.sampled_from(["≥", "", "不低于"]))
def test_higher_is_better_never_falls_when_actual_rises(
        target: Decimal, unit: str, low: Decimal, high: Decimal, maximum: Decimal,
        comparator: str) -> None:
    low, high = min(low, high), max(low, high)
    goal = f"{comparator}{target}{unit}"
    a = suggest(None, goal, f"{low}{unit}", maximum).suggested
    b = suggest(None, goal, f"{high}{unit}", maximum).suggested
    assert a is not None and b is not None
    assert a <= b


@given(target=decimals.filter(lambda d: d > 0), low=decimals, high=decimals, maximum=maxima)
def test_lower_is_better_never_rises_when_actual_rises(
        target: Decimal, low: Decimal, high: Decimal, maximum: Decimal) -> None:
    low, high = min(low, high), max(low, high)
    a = suggest(None, f"≤{target}%", f"{low}%", maximum).suggested
    b = suggest(None, f"≤{target}%", f"{high}%", maximum).suggested
    assert a is not None and b is not None
    assert a >= b


scores = st.one_of(st.none(), st.decimals(min_value=-5, max_value=60, places=2))


@st.composite
def submissions(draw: st.DrawFn) -> Submission:
    """A generated submission with arbitrary indicator rows put into its tree."""
    fw = load_framework(draw(st.sampled_from(["jinxian-2021", "national-2020"])))
    sub = random_submission(draw(st.integers(0, 10_000)), fw)
    rows = st.builds(Indicator, name=st.text(max_size=20), target=cells(), actual=cells(),
                     max_score=st.one_of(st.none(), maxima), score=scores,
                     deviation=st.sampled_from(["", "原因"]), custom=st.booleans())
    extra = draw(st.lists(rows, max_size=6))
    levels = list(sub.indicators)
    if extra:
        first = levels[0]
        levels[0] = Level1(name=first.name, weight=first.weight,
                           groups=[*first.groups, Group(name="自设指标", items=extra)])
    return sub.model_copy(update={"indicators": levels})


@settings(max_examples=150, deadline=None)
@given(sub=submissions())
def test_total_is_the_sum_of_indicator_scores(sub: Submission) -> None:
    fw = load_framework(sub.framework_id)
    ev = evaluate(sub, fw)
    assert ev.total == sum((r.score or 0 for r in ev.indicators), Decimal(0))
    assert ev.total == sum((lv.score_sum or 0 for lv in ev.level1), Decimal(0))
    for r in ev.indicators:
        if r.suggested is not None and r.max_score is not None:
            assert 0 <= r.suggested <= r.max_score


@settings(max_examples=150, deadline=None)
@given(sub=submissions())
def test_evaluation_survives_a_json_round_trip(sub: Submission) -> None:
    fw = load_framework(sub.framework_id)
    again = Submission.model_validate_json(sub.model_dump_json())
    assert again == sub
    assert evaluate(again, fw).model_dump_json() == evaluate(sub, fw).model_dump_json()


# --- numbers at the edge of what a unit may enter ------------------------------------------------

WHOLE = 10 ** MAX_WHOLE_DIGITS - 1  # 999999999999999
edge_numbers = st.one_of(
    st.sampled_from(["0", "-0", str(WHOLE), f"-{WHOLE}", f"{WHOLE}.{'9' * MAX_FRACTION_DIGITS}",
                     f"0.{'0' * (MAX_FRACTION_DIGITS - 1)}1", f"-0.{'0' * (MAX_FRACTION_DIGITS - 1)}1",
                     f"{WHOLE}.994", "0.005"]),
    st.decimals(min_value=-WHOLE, max_value=WHOLE, places=MAX_FRACTION_DIGITS, allow_nan=False,
                allow_infinity=False).map(lambda d: format(d, "f")),
)

# Amounts are written with two decimals: rounded, they must still have 15 digits at most.
edge_amounts = edge_numbers.filter(lambda text: abs(Decimal(text)) < Decimal(WHOLE) + Decimal("0.995"))


@st.composite
def edge_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A submission whose entered numbers are the largest, smallest and finest a form takes."""
    doc: dict[str, Any] = random_submission(draw(st.integers(0, 1000)), load_framework("jinxian-2021")) \
        .model_dump(mode="json")
    for row in doc["funds"].values():
        row.update(budget=draw(edge_amounts), executed=draw(edge_amounts), rate=draw(edge_numbers))
    doc["report"]["figures"].update(budget=draw(edge_amounts), executed=draw(edge_amounts),
                                    rate=draw(edge_numbers))
    for level in doc["indicators"]:
        level["weight"] = draw(edge_numbers)
        for item in level["groups"][0]["items"]:
            item.update(max_score=draw(edge_numbers), score=draw(edge_numbers))
    doc["total"] = draw(edge_numbers)
    return doc


@settings(max_examples=120, deadline=None)
@given(doc=edge_documents())
def test_any_number_a_form_takes_is_scored_and_survives_signing(doc: dict[str, Any]) -> None:
    """Every number within the entry bounds is scored without an error (a 29-digit score once
    raised decimal.InvalidOperation in the browser), and the submission and its evaluation
    read back from their canonical text as themselves, by the strict and the fast reader."""
    sub = Submission.model_validate(doc)
    ev = evaluate(sub, load_framework(sub.framework_id))
    text = sub.model_dump_canonical()
    assert Submission.model_validate(json.loads(text)).model_dump_canonical() == text
    fast = Submission.model_from_canonical(json.loads(text))
    assert fast is not None and fast.model_dump_canonical() == text
    signed = ev.model_dump_canonical()
    assert Evaluation.model_validate(json.loads(signed)).model_dump_canonical() == signed
    assert "E" not in "".join(r["score"] or "" for r in json.loads(signed)["indicators"])  # never 1E-15
