"""Checks on the indicator tree: weights, 分值, scores, rule suggestions, deviations."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..model.evaluation import Finding, IndicatorResult, Level1Result
from ..model.framework import RULE_NAMES, Framework, Level1Def
from ..model.measures import is_blank
from ..model.numbers import HUNDRED, ZERO, plain, round2
from ..model.submission import Indicator, Level1
from .findings import finding
from .index import FrameworkIndex, framework_index, split_label
from .scoring import Outcome, suggest

__all__ = ["TreeResult", "check_tree", "is_blank_row", "split_label"]


def is_blank_row(item: Indicator) -> bool:
    # The numbers first: a filled-in row is told by its 分值 without a call.
    return (item.max_score is None and item.score is None and is_blank(item.name)
            and is_blank(item.target) and is_blank(item.actual) and is_blank(item.deviation))


@dataclass
class TreeResult:
    level1: list[Level1Result] = field(default_factory=list)
    indicators: list[IndicatorResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    total: Decimal = ZERO


def _check_qualitative(out: list[Finding], fw: Framework, index: FrameworkIndex, path: str,
                       what: str, item: Indicator, outcome: Outcome) -> None:
    if item.score is None or not item.max_score or item.max_score <= 0:
        return
    share = item.score / item.max_score
    bands = [b for b in fw.qualitative_bands
             if b.low is not None and b.high is not None and b.low <= share <= b.high]
    share_text = plain(round2(share * HUNDRED))
    problem = None
    if not bands:
        problem = "不在任何分档内"
    else:
        top = index.top_band
        assert top is not None  # a band matched, so there are bands
        if outcome.met is True and top not in bands:
            problem = (f"，但全年完成值与年度指标值一致，应在“{top.label}”档"
                       f"（{plain(top.low * HUNDRED)}%–{plain(top.high * HUNDRED)}%）")  # type: ignore[operator]
        elif outcome.met is False and bands == [top]:
            problem = f"，但全年完成值表明未达成，不应在“{top.label}”档"
    if problem:
        out.append(finding("QUALITATIVE_BAND", f"{path}.score", what=what,
                           score=plain(item.score), share=share_text, problem=problem))


def _check_item(out: list[Finding], fw: Framework, index: FrameworkIndex, level: Level1Def | None,
                group: str, path: str, item: Indicator) -> IndicatorResult:
    name, label = split_label(item.name)
    what = f"“{name or '（未命名指标）'}”"
    known = None if item.custom else index.known_indicator(level, group, item.name)
    if is_blank(item.name):
        out.append(finding("MISSING_REQUIRED", f"{path}.name", what=f"二级指标“{group}”下的三级指标名称"))
    if label is not None and item.max_score is not None and label != item.max_score:
        out.append(finding("LABEL_WEIGHT_MISMATCH", f"{path}.max_score", name=item.name.strip(),
                           label=plain(label), max=plain(item.max_score)))
    if known is not None and known.max_score is not None and item.max_score is not None \
            and known.max_score != item.max_score:
        out.append(finding("FRAMEWORK_DIFFERS", f"{path}.max_score",
                           what=f"{what}的分值 {plain(item.max_score)} 与指标体系规定的 "
                                f"{plain(known.max_score)} 不同"))
    if item.max_score is None:
        out.append(finding("MISSING_REQUIRED", f"{path}.max_score", what=f"{what}的分值"))
    if item.score is None:
        out.append(finding("MISSING_REQUIRED", f"{path}.score", what=f"{what}的得分"))

    outcome = suggest(known.rule if known else None, item.target, item.actual, item.max_score)
    score, maximum = item.score, item.max_score
    if outcome.problem == "unit":
        out.append(finding("UNIT_MISMATCH", f"{path}.actual", what=what,
                           target=item.target.strip(), actual=item.actual.strip()))
    elif outcome.problem == "not_numeric" and not is_blank(item.actual):
        out.append(finding("VALUE_NOT_NUMERIC", f"{path}.actual", what=what,
                           target=item.target.strip(), actual=item.actual.strip()))
    if score is not None:
        if score < 0:
            out.append(finding("SCORE_NEGATIVE", f"{path}.score", what=what, score=plain(score)))
        elif maximum is not None and score > maximum:
            out.append(finding("SCORE_EXCEEDS_MAX", f"{path}.score", what=what,
                               score=plain(score), max=plain(maximum)))
        else:
            if outcome.suggested is not None and score != outcome.suggested:
                out.append(finding(
                    "SCORE_RULE_MISMATCH", f"{path}.score", what=what,
                    rule=RULE_NAMES[outcome.kind or ""], suggested=plain(outcome.suggested),
                    score=plain(score)))
            if outcome.kind == "qualitative":
                _check_qualitative(out, fw, index, path, what, item, outcome)
        if maximum is not None and 0 <= score < maximum and is_blank(item.deviation):
            out.append(finding("DEVIATION_REASON_MISSING", f"{path}.deviation", what=what,
                               score=plain(score), max=plain(maximum)))
    return IndicatorResult.trusted(path=path, name=name, rule=outcome.kind, max_score=maximum,
                                   score=score, suggested=outcome.suggested)


def check_tree(tree: list[Level1], fw: Framework) -> TreeResult:
    """Walk 一级 → 二级 → 三级, collecting results and findings in table order."""
    res = TreeResult()
    out = res.findings
    weights: list[Decimal] = []
    index = framework_index(fw)
    for i, lv in enumerate(tree):
        lpath = f"indicators.{i}"
        level = index.level1(lv.name.strip())
        if level is None:
            out.append(finding("UNKNOWN_LEVEL1", f"{lpath}.name", name=lv.name, framework=fw.name))
        elif lv.weight is not None and level.weight is not None and lv.weight != level.weight:
            out.append(finding("FRAMEWORK_DIFFERS", f"{lpath}.weight",
                               what=f"一级指标“{lv.name}”的权重 {plain(lv.weight)} 与指标体系规定的 "
                                    f"{plain(level.weight)} 不同"))
        if lv.weight is None:
            out.append(finding("MISSING_REQUIRED", f"{lpath}.weight", what=f"一级指标“{lv.name}”的权重"))
        else:
            weights.append(lv.weight)
        max_sum, score_sum = ZERO, ZERO
        for j, group in enumerate(lv.groups):
            gpath = f"{lpath}.groups.{j}"
            scored = 0
            for k, item in enumerate(group.items):
                if is_blank_row(item):
                    continue
                ipath = f"{gpath}.items.{k}"
                res.indicators.append(_check_item(out, fw, index, level, group.name, ipath, item))
                max_sum += item.max_score or ZERO
                score_sum += item.score or ZERO
                if item.max_score:
                    scored += 1
            if scored == 0:
                out.append(finding("EMPTY_INDICATOR_GROUP", gpath, name=group.name))
        if lv.weight is not None and max_sum != lv.weight:
            out.append(finding("WEIGHT_SUM_MISMATCH", f"{lpath}.weight",
                               what=f"一级指标“{lv.name}”下各指标分值之和 {plain(max_sum)} "
                                    f"不等于权重 {plain(lv.weight)}"))
        if lv.weight is not None and score_sum > lv.weight:
            out.append(finding("SCORE_EXCEEDS_MAX", lpath, what=f"一级指标“{lv.name}”",
                               score=plain(score_sum), max=plain(lv.weight)))
        res.level1.append(Level1Result.trusted(path=lpath, name=lv.name, weight=lv.weight,
                                               max_sum=max_sum, score_sum=score_sum))
        res.total += score_sum
    if weights and sum(weights, ZERO) != fw.total:
        out.append(finding("WEIGHT_SUM_MISMATCH", "indicators",
                           what=f"一级指标权重之和 {plain(sum(weights, ZERO))} 不等于总分 "
                                f"{plain(fw.total or ZERO)}"))
    if not tree:
        out.append(finding("MISSING_REQUIRED", "indicators", what="分解目标自评（指标表）"))
    return res
