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
