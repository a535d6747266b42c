"""Odd but realistic entries, as units type them: each test pins what the checker tells the
unit (suggested score, findings, rates) for one case an audit of the rules found wrong."""

from __future__ import annotations

from decimal import Decimal

from jixiao import Framework, Submission, evaluate
from jixiao.model.measures import parse_measure
from jixiao.rules.scoring import suggest

# Paths into the seed's tree.
PROCUREMENT = "indicators.0.groups.5.items.0"  # 政府采购执行率（3分）, 分值 4, ≥95% / 95%


def _variant(seed: Submission, changes: dict[str, object]) -> Submission:
    doc = seed.model_dump(mode="json")
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: object = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]
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
