"""Checks on the indicator tree: weights, 分值, scores, rule suggestions, deviations."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..model.evaluation import Finding, IndicatorResult, Level1Result, trusted_model
from ..model.framework import RULE_NAMES, Framework
from ..model.measures import is_blank, normalize_text
from ..model.numbers import HUNDRED, ZERO, plain, round2
from ..model.submission import Indicator, Level1
from .findings import finding
from .index import FrameworkIndex, framework_index, split_label
from .scoring import suggest

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
    scored: bool = False  # some row has a score


# What a unit writes in 偏差及原因分析 when it has nothing to say: for a row that lost points it is
# no explanation at all, as a blank cell is not (real systems refuse to save either).
_NO_REASON = frozenset({"无", "暂无", "没有", "无偏差", "无原因", "不适用"})
_NO_REASON_MARKS = "。.、，,;；:：/／\\-－—_…·"


def _no_reason(text: str) -> str | None:
    """'' for a blank cell, the words for one that says nothing (无, /, 暂无。); None for a reason."""
    if is_blank(text):
        return ""
    words = normalize_text(text).strip(_NO_REASON_MARKS)
    return text.strip()[:12] if not words or words in _NO_REASON else None


def _check_qualitative(out: list[Finding], index: FrameworkIndex, path: str, what: str,
                       score: Decimal | None, maximum: Decimal | None, met: bool | None) -> None:
    if score is None or not maximum or maximum <= ZERO:
        return
    share = score / maximum
    # Whether each band holding the share equals the top band: `top in bands` and
    # `bands == [top]` asked pydantic's `__eq__`; the index has the answers.
    tops = [is_top for low, high, is_top in index.bands if low <= share <= high]
    problem = None
    if not tops:
        problem = "不在任何分档内"
    else:
        top = index.top_band
        assert top is not None  # a band matched, so there are bands
        if met is True and not any(tops):
            problem = (f"，但全年完成值与年度指标值一致，应在“{top.label}”档"
                       f"（{plain(top.low * HUNDRED)}%–{plain(top.high * HUNDRED)}%）")  # type: ignore[operator]
        elif met is False and tops == [True]:
            problem = f"，但全年完成值表明未达成，不应在“{top.label}”档"
    if problem:
        out.append(finding("QUALITATIVE_BAND", f"{path}.score", what=what, score=plain(score),
                           share=plain(round2(share * HUNDRED)), problem=problem))


def _check_item(out: list[Finding], index: FrameworkIndex, level_name: str, group: str, path: str,
                item: Indicator) -> IndicatorResult:
    """One row's findings, in table order; what follows from its name comes from the index."""
    facts = index.row_facts(level_name, group, item.name, item.custom)
    what = facts.what
    score, maximum = item.score, item.max_score
    if facts.blank:
        out.append(finding("MISSING_REQUIRED", f"{path}.name", what=f"二级指标“{group}”下的三级指标名称"))
    if maximum is not None:
        label, known_max = facts.label, facts.known_max
        if label is not None and label != maximum:
            out.append(finding("LABEL_WEIGHT_MISMATCH", f"{path}.max_score", name=facts.stripped,
                               label=plain(label), max=plain(maximum)))
        if known_max is not None and known_max != maximum:
            out.append(finding("FRAMEWORK_DIFFERS", f"{path}.max_score",
                               what=f"{what}的分值 {plain(maximum)} 与指标体系规定的 "
                                    f"{plain(known_max)} 不同"))
    else:
        out.append(finding("MISSING_REQUIRED", f"{path}.max_score", what=f"{what}的分值"))
    if score is None:
        out.append(finding("MISSING_REQUIRED", f"{path}.score", what=f"{what}的得分"))

    kind, suggested, problem, met = suggest(facts.rule, item.target, item.actual, maximum)
    if problem is not None:
        if problem == "unit":
            out.append(finding("UNIT_MISMATCH", f"{path}.actual", what=what,
                               target=item.target.strip(), actual=item.actual.strip()))
        elif problem == "not_numeric" and not is_blank(item.actual):
            out.append(finding("VALUE_NOT_NUMERIC", f"{path}.actual", what=what,
                               target=item.target.strip(), actual=item.actual.strip()))
        elif problem == "actual_range":
            out.append(finding("VALUE_IS_RANGE", f"{path}.actual", what=what,
                               target=item.target.strip(), actual=item.actual.strip()))
        elif problem == "target_not_numeric" and not (is_blank(item.target) and is_blank(item.actual)):
            target = item.target.strip()
            out.append(finding("TARGET_NOT_NUMERIC", f"{path}.target", what=what,
                               rule=RULE_NAMES[kind or ""],
                               target=f"“{target}”不是数值" if target else "为空"))
    if score is not None:
        if score < ZERO:
            out.append(finding("SCORE_NEGATIVE", f"{path}.score", what=what, score=plain(score)))
        elif maximum is not None and score > maximum:
            out.append(finding("SCORE_EXCEEDS_MAX", f"{path}.score", what=what, scored="得分",
                               score=plain(score), limit="分值", max=plain(maximum)))
        else:
            if suggested is not None and score != suggested:
                out.append(finding(
                    "SCORE_RULE_MISMATCH", f"{path}.score", what=what,
                    rule=RULE_NAMES[kind or ""], suggested=plain(suggested), score=plain(score)))
            if kind == "qualitative":
                _check_qualitative(out, index, path, what, score, maximum, met)
        if maximum is not None and ZERO <= score < maximum:
            written = _no_reason(item.deviation)
            if written is not None:
                out.append(finding("DEVIATION_REASON_MISSING", f"{path}.deviation", what=what,
                                   score=plain(score), max=plain(maximum),
                                   written=f"（“{written}”不是原因）" if written else ""))
    return trusted_model(IndicatorResult, {"max_score": maximum, "name": facts.name, "path": path,
                                           "rule": kind, "score": score, "suggested": suggested})


def _check_known_item(out: list[Finding], index: FrameworkIndex, level_name: str, group: str,
                      path: str, item: Indicator) -> IndicatorResult:
    """`_check_item` for a row the framework lists, remembered: units fill most of those rows
    alike (a third fewer rows checked over generated submissions; nearly all when the portal
    re-scores after one edit). The numbers are keyed by their spelling: Decimal('0') equals
    Decimal('-0'), but the two print differently in messages and results."""
    key = (path, level_name, group, item.name, item.target, item.actual, str(item.max_score),
           str(item.score), item.deviation)
    done = index.checked.get(key)
    if done is None:
        found: list[Finding] = []
        done = (_check_item(found, index, level_name, group, path, item), tuple(found))
        if len(index.checked) >= MAX_CHECKED:
            index.checked.clear()  # one step, safe with the server's threads
        index.checked[key] = done
    out += done[1]
    return done[0]


MAX_CHECKED = 4096  # rows remembered per framework: a few MB at most


def check_tree(tree: list[Level1], fw: Framework) -> TreeResult:
    """Walk 一级 → 二级 → 三级, collecting results and findings in table order."""
    res = TreeResult()
    out, results = res.findings, res.indicators
    weights: list[Decimal] = []
    index = framework_index(fw)
    for i, lv in enumerate(tree):
        lpath = f"indicators.{i}"
        name = lv.name.strip()
        level = index.level1(name)
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
                maximum, score = item.max_score, item.score
                if maximum is None and score is None and is_blank_row(item):
                    continue
                check = _check_item if item.custom else _check_known_item
                results.append(check(out, index, name, group.name, f"{gpath}.items.{k}", item))
                max_sum += maximum or ZERO
                if score is not None:
                    res.scored = True
                    score_sum += score or ZERO
                if maximum:
                    scored += 1
            if scored == 0:
                out.append(finding("EMPTY_INDICATOR_GROUP", gpath, name=group.name))
        if lv.weight is not None and max_sum != lv.weight:
            out.append(finding("WEIGHT_SUM_MISMATCH", f"{lpath}.weight",
                               what=f"一级指标“{lv.name}”下各指标分值之和 {plain(max_sum)} "
                                    f"不等于权重 {plain(lv.weight)}"))
        if lv.weight is not None and score_sum > lv.weight:
            out.append(finding("SCORE_EXCEEDS_MAX", lpath, what=f"一级指标“{lv.name}”", scored="得分小计",
                               score=plain(score_sum), limit="权重", max=plain(lv.weight)))
        res.level1.append(trusted_model(Level1Result, {
            "max_sum": max_sum, "name": lv.name, "path": lpath, "score_sum": score_sum,
            "weight": lv.weight}))
        res.total += score_sum
    if weights and sum(weights, ZERO) != fw.total:
        out.append(finding("WEIGHT_SUM_MISMATCH", "indicators",
                           what=f"一级指标权重之和 {plain(sum(weights, ZERO))} 不等于总分 "
                                f"{plain(fw.total or ZERO)}"))
    if not tree:
        out.append(finding("MISSING_REQUIRED", "indicators", what="分解目标自评（指标表）"))
    return res
