"""Checks on 整体支出规模: rates, sums of sources and structure, execution over budget.

A row is filled whole or left blank (a source the unit does not have): one with a 全年预算数 and
no 全年执行数, or the reverse, is asked for the other."""

from __future__ import annotations

from decimal import Decimal

from ..model.evaluation import Finding, FundResult, trusted_model
from ..model.numbers import ZERO, exact_percent, matches_as_written, plain, round2
from ..model.submission import FUND_ROWS, Funds
from .findings import finding

_PARTS = {"资金来源": ("fiscal", "other"), "资金结构": ("basic", "project")}
_FIELDS = (("budget", "全年预算数"), ("executed", "全年执行数"))


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """0 + a + b with a missing value left out; None when both are missing.

    Starting from 0 as `sum(..., Decimal(0))` did, so that the result's exponent and the
    sign of a zero are what they were."""
    if a is None:
        return None if b is None else ZERO + b
    return ZERO + a if b is None else ZERO + a + b


def effective_total(funds: Funds) -> tuple[Decimal | None, Decimal | None]:
    """The 整体 row's budget and execution: as declared, or else the sum of sources (or of
    structure). Two values, not a `FundRow`: validating one cost more than the checks."""
    total = funds.total
    if total.budget is not None or total.executed is not None:
        return total.budget, total.executed
    for a, b in _PARTS.values():
        x, y = getattr(funds, a), getattr(funds, b)
        budget, executed = _add(x.budget, y.budget), _add(x.executed, y.executed)
        if budget is not None or executed is not None:
            return budget, executed
    return total.budget, total.executed


def check_funds(funds: Funds) -> tuple[dict[str, FundResult], Decimal | None, list[Finding]]:
    """Per-row computed rates, the overall 执行率, and the findings on the fund block."""
    findings: list[Finding] = []
    results: dict[str, FundResult] = {}
    total = effective_total(funds)
    for key, label in FUND_ROWS.items():
        declared_row = getattr(funds, key)
        budget, executed = total if key == "total" else (declared_row.budget, declared_row.executed)
        negative = False
        for field, field_label in _FIELDS:
            value = getattr(declared_row, field)
            if value is not None and value < 0:  # a typed minus sign; -0 is not below zero
                negative = True
                findings.append(finding(
                    "AMOUNT_NEGATIVE", f"funds.{key}.{field}", what=f"{label}的{field_label}", value=plain(value)))
        given = declared_row.budget is not None, declared_row.executed is not None
        if given[0] != given[1]:  # half a row: its rate, and the sums it enters, say nothing
            field, field_label = _FIELDS[given[0]]
            findings.append(finding("MISSING_REQUIRED", f"funds.{key}.{field}", what=f"{label}的{field_label}"))
        rate = exact = None
        if budget is not None and executed is not None and not negative:
            exact = exact_percent(executed, budget)
            rate = None if exact is None else round2(exact)
            if executed > budget:
                findings.append(finding(
                    "EXECUTION_OVER_BUDGET", f"funds.{key}.executed", what=label,
                    executed=plain(executed), budget=plain(budget)))
        declared = declared_row.rate
        if declared is not None and exact is not None and not matches_as_written(declared, exact):
            findings.append(finding(
                "RATE_MISMATCH", f"funds.{key}.rate", what=label,
                declared=plain(declared), computed=format(rate, "f")))
        results[key] = trusted_model(
            FundResult, {"budget": budget, "executed": executed, "rate": rate})

    for name, (a, b) in _PARTS.items():
        x, y = getattr(funds, a), getattr(funds, b)
        for (field, field_label), whole in zip(_FIELDS, total, strict=True):
            part_sum = _add(getattr(x, field), getattr(y, field))
            if part_sum is None or whole is None or round2(part_sum) == round2(whole):
                continue
            findings.append(finding(
                "FUND_SUM_MISMATCH", f"funds.{a}.{field}",
                what=f"{name}的{field_label}之和 {plain(part_sum)} 不等于整体支出规模 "
                     f"{plain(whole)}"))
    if total == (None, None):
        findings.append(finding("MISSING_REQUIRED", "funds.total.budget", what="整体支出规模的全年预算数"))
    ordered = {key: results[key] for key in sorted(results)}  # an Evaluation's keys are sorted
    return ordered, results["total"].rate, findings
