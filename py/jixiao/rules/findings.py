"""The one registry of finding codes: stable code → severity and Chinese message template.

Codes are an interface (tests, the browser, supervisors' scripts match on them); messages
are for people and may be reworded. Every finding the rules raise is made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model.evaluation import Finding, Severity, trusted_model


@dataclass(frozen=True)
class Code:
    severity: Severity
    template: str
    meaning: str


REGISTRY: dict[str, Code] = {
    "SCORE_EXCEEDS_MAX": Code(
        "error", "{what}的{scored} {score} 超过{limit} {max}", "得分高于分值（或一级指标小计高于权重）"),
    "SCORE_NEGATIVE": Code("error", "{what}的得分 {score} 为负数", "得分为负数"),
    "SCORE_RULE_MISMATCH": Code(
        "warning", "{what}：按“{rule}”规则建议得分 {suggested}，填报得分 {score}",
        "填报得分与规则计算的建议得分不一致"),
    "QUALITATIVE_BAND": Code(
        "warning", "{what}：定性指标得分 {score}（占分值 {share}%）{problem}",
        "定性指标得分不在与完成情况相符的分档内"),
    "DEVIATION_REASON_MISSING": Code(
        "error", "{what}得分 {score} 低于分值 {max}，须填写偏差及原因分析{written}",
        "扣分的指标未填写偏差及原因分析"),
    "WEIGHT_SUM_MISMATCH": Code(
        "error", "{what}", "一级指标权重之和不为总分，或某一级指标下分值之和不等于其权重"),
    "TOTAL_MISMATCH": Code(
        "error", "填报总分 {declared} 与各指标得分之和 {computed} 不一致",
        "填报总分不等于各指标得分之和"),
    "RATE_MISMATCH": Code(
        "error", "{what}的执行率填报为 {declared}%，按执行数/预算数计算应为 {computed}%",
        "填报执行率与执行数/预算数不符"),
    "FUND_SUM_MISMATCH": Code("error", "{what}", "资金来源或资金结构之和不等于整体支出规模"),
    "GRADE_MISMATCH": Code(
        "error", "自评结果填报为“{declared}”，按总分 {total} 应为“{computed}”",
        "自评等级与总分对应的等级不符"),
    "LABEL_WEIGHT_MISMATCH": Code(
        "warning", "“{name}”名称标注 {label} 分，但分值为 {max}",
        "指标名称中标注的分数与分值不符"),
    "EMPTY_INDICATOR_GROUP": Code(
        "warning", "二级指标“{name}”下没有计分的三级指标", "二级指标下没有计分的三级指标"),
    "EXECUTION_OVER_BUDGET": Code(
        "warning", "{what}的全年执行数 {executed} 超过全年预算数 {budget}",
        "执行数超过预算数（执行率高于 100%）"),
    "AMOUNT_NEGATIVE": Code(
        "error", "{what} {value} 为负数", "全年预算数或执行数为负数"),
    "UNIT_MISMATCH": Code(
        "error", "{what}：年度指标值“{target}”与全年完成值“{actual}”的计量单位不一致",
        "年度指标值与全年完成值的计量单位不一致"),
    "MISSING_REQUIRED": Code("error", "请填写{what}", "必填项为空"),
    "REPORT_TABLE_MISMATCH": Code("error", "{what}", "自评报告中的数字与自评表不符"),
    "VALUE_NOT_NUMERIC": Code(
        "warning", "{what}：年度指标值“{target}”是数值，全年完成值“{actual}”不是，无法按规则计分",
        "年度指标值为数值而全年完成值不是"),
    "TARGET_NOT_NUMERIC": Code(
        "warning", "{what}：指标体系规定按“{rule}”规则计分，但年度指标值{target}，无法计算建议得分",
        "按数值规则计分的指标，年度指标值不是数值"),
    "VALUE_IS_RANGE": Code(
        "warning", "{what}：全年完成值“{actual}”是一个范围，说明不了比年度指标值“{target}”差多少，"
        "无法计算建议得分，请填写实际完成的数值",
        "全年完成值写成未达到年度指标值的范围（如目标 ≥95%、完成 ≤90%）"),
    "FRAMEWORK_DIFFERS": Code("warning", "{what}", "填报的权重或分值与指标体系规定不同"),
    "UNKNOWN_LEVEL1": Code(
        "error", "一级指标“{name}”不在指标体系“{framework}”中", "一级指标不在指标体系中"),
    "INVALID_VALUE": Code("error", "{what}：{problem}", "无法读取的填报值（如得分处填了文字）"),
    "AMOUNT_ROUNDED": Code(
        "warning", "{what}填的是 {typed}：金额保留两位小数，按 {kept} 计算和签名", "金额超过两位小数，按四舍五入计"),
    "FRAMEWORK_MISMATCH": Code(
        "error", "本表按指标体系“{declared}”填报，但评分使用的是“{used}”",
        "填报所用指标体系与评分所用指标体系不同"),
}


# code → (severity, the template's bound `format_map`): two look-ups less per finding, and
# `format_map(values)` reads the keywords' dict as it is (`format(**values)` copied it again).
_MAKE = {code: (entry.severity, entry.template.format_map) for code, entry in REGISTRY.items()}


def finding(code: str, path: str, **values: Any) -> Finding:
    """Make a finding from the registry; a missing placeholder is a programming error."""
    severity, fill = _MAKE[code]
    return trusted_model(
        Finding, {"code": code, "message": fill(values), "path": path, "severity": severity})
