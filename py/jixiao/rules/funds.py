"""Checks on 整体支出规模: rates, sums of sources and structure, execution over budget."""

from __future__ import annotations

from decimal import Decimal

from ..model.evaluation import Finding, FundResult
from ..model.numbers import matches_as_written, percent, plain, round2
from ..model.submission import FUND_ROWS, FundRow, Funds
from .findings import finding

_PARTS = {"资金来源": ("fiscal", "other"), "资金结构": ("basic", "project")}


def _sum(rows: list[FundRow], field: str) -> Decimal | None:
    values = [getattr(row, field) for row in rows]
    if all(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def effective_total(funds: Funds) -> FundRow:
    """The 整体 row: as declared, or else the sum of sources (or of structure)."""
    if funds.total.budget is not None or funds.total.executed is not None:
        return funds.total
    for a, b in _PARTS.values():
        rows = [getattr(funds, a), getattr(funds, b)]
        budget, executed = _sum(rows, "budget"), _sum(rows, "executed")
        if budget is not None or executed is not None:
            return FundRow(budget=budget, executed=executed)
    return funds.total


def check_funds(funds: Funds) -> tuple[dict[str, FundResult], Decimal | None, list[Finding]]:
    """Per-row computed rates, the overall 执行率, and the findings on the fund block."""
    findings: list[Finding] = []
    results: dict[str, FundResult] = {}
    total = effective_total(funds)
    for key, label in FUND_ROWS.items():
        row = total if key == "total" else getattr(funds, key)
        path = f"funds.{key}"
        rate = None
        if row.budget is not None and row.executed is not None:
            rate = percent(row.executed, row.budget)
            if row.executed > row.budget:
                findings.append(finding(
                    "EXECUTION_OVER_BUDGET", f"{path}.executed", what=label,
                    executed=plain(row.executed), budget=plain(row.budget)))
        declared = getattr(funds, key).rate
        if declared is not None and rate is not None and not matches_as_written(declared, rate):
            findings.append(finding(
                "RATE_MISMATCH", f"{path}.rate", what=label,
                declared=plain(declared), computed=format(rate, "f")))
        results[key] = FundResult.trusted(budget=row.budget, executed=row.executed, rate=rate)

    for name, (a, b) in _PARTS.items():
        parts = [getattr(funds, a), getattr(funds, b)]
        for field, field_label in (("budget", "全年预算数"), ("executed", "全年执行数")):
            part_sum, whole = _sum(parts, field), getattr(total, field)
            if part_sum is None or whole is None or round2(part_sum) == round2(whole):
                continue
            findings.append(finding(
                "FUND_SUM_MISMATCH", f"funds.{a}.{field}",
                what=f"{name}的{field_label}之和 {plain(part_sum)} 不等于整体支出规模 "
                     f"{plain(whole)}"))
    if total.budget is None and total.executed is None:
        findings.append(finding("MISSING_REQUIRED", "funds.total.budget", what="整体支出规模的全年预算数"))
    return results, results["total"].rate, findings
