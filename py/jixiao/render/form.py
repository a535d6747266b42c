"""The 填报 form, the 指标体系 reference page and the findings table, rendered from data.

The form is server-rendered at build time from a framework's blank submission, so the page
shows and accepts typing before any JavaScript or Python has loaded. The browser later
re-renders the indicator tree from the `<template>` elements made by the same macros.
Everything a unit or a framework wrote is escaped: HTML by Jinja's autoescape, Markdown by
`md_text`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, get_args

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..catalog import framework_ids
from ..model.base import Model
from ..model.blank import blank_submission
from ..model.framework import RULE_NAMES, Framework, KnownIndicator, Section
from ..model.measures import parse_measure
from ..model.numbers import plain
from ..model.submission import Staffing, Submission
from ..rules.findings import REGISTRY
from ..rules.indicators import split_label
from ..rules.scoring import infer_kind

# Table order of the 整体支出规模 rows: the paper's four, then their 合计 (the model's `total`).
FUND_ROWS: list[tuple[str, str]] = [
    ("fiscal", "资金来源：（1）财政拨款"),
    ("other", "（2）其他资金"),
    ("basic", "资金结构：（1）基本支出"),
    ("project", "（2）项目支出"),
    ("total", "合计"),
]
# Dict-valued fields whose keys may contain dots: the rest of such a path is one key.
MAP_PATHS = ["report.sections"]
SEVERITY_NAMES = {"error": "错误", "warning": "警告"}
_PLACEHOLDER = re.compile(r"__[LGI]__")


def field_id(path: str) -> str:
    """A stable element id for a model path: `funds.total.rate` → `jx-f-funds-total-rate`."""
    return "jx-f-" + re.sub(r"[^A-Za-z0-9_-]", "_", path.replace(".", "-"))


def _model_in(annotation: Any) -> type[Model] | None:
    """The model class inside `M`, `M | None` or `list[M]`."""
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


@cache
def field_title(path: str) -> str:
    """The official Chinese name (the model's title) of the field at `path`.

    Raises KeyError for a path the Submission model does not have, so a template typo fails
    the build instead of producing a field the core would refuse.
    """
    kind: Any = Submission
    title: str | None = None
    for step in _PLACEHOLDER.sub("0", path).split("."):
        if step.isdigit():
            continue
        model = _model_in(kind)
        if model is None or step not in model.model_fields:
            raise KeyError(f"自评表没有字段 {path}")
        info = model.model_fields[step]
        title, kind = info.title, info.annotation
    return title or path


def _key(name: str) -> str:
    return re.sub(r"\s+", "", split_label(name)[0])


def _known_names(framework: Framework) -> dict[str, dict[str, list[str]]]:
    """一级 → 二级 → the 三级 names the framework defines, as the browser compares them."""
    return {
        level.name: {group.name: [known.name for known in group.indicators] for group in level.groups}
        for level in framework.levels
    }


def _removable(framework: Framework, level: str, group: str, item: dict[str, Any]) -> bool:
    """A unit may remove the rows it added; the framework's own indicators stay."""
    if item.get("custom"):
        return True
    known = _known_names(framework).get(level.strip(), {}).get(group, [])
    return _key(item.get("name") or "") not in {_key(name) for name in known}


def _table_rows(framework: Framework, level: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one 一级 block in order, with which spanning cells each row starts."""
    rows: list[dict[str, Any]] = []
    for gi, group in enumerate(level["groups"]):
        items = group["items"]
        group_rows = len(items) + 1
        for ii, item in enumerate([*items, None]):
            rows.append({
                "kind": "add" if item is None else "item",
                "group_index": gi,
                "group": group,
                "group_rows": group_rows,
                "item_index": ii,
                "item": item,
                "removable": item is not None and _removable(framework, level["name"], group["name"], item),
                "with_l1": not rows,
                "with_l2": ii == 0,
            })
    return rows


def _json_for_script(value: Any) -> Markup:
    """JSON safe inside <script>: no `<`, `>` or `&` can end the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return Markup(text)  # every character that could close the element is escaped above


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("jixiao", "render/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(fid=field_id, title=field_title)
    return env


def _blank(framework: Framework, year: int | None) -> dict[str, Any]:
    data = blank_submission(framework, year or 2000).model_dump(mode="json")
    if year is None:
        data["year"] = None  # no year known at build time: the browser fills in last year
    return data


def render_form(framework: Framework, submission: Submission | None = None, *,
                year: int | None = None, engine: str = "") -> str:
    """The HTML fragment of the whole form (附件6 then 附件7), ready to drop into a page.

    Without a submission the form is the framework's blank table for `year` (default: the
    framework's own year; none when the framework is not tied to a year). `engine` names the
    scoring code the page ships (build/site.py): an evaluation the page remembers is shown
    again only under the same engine.
    """
    year = year if year is not None else framework.year
    blank = _blank(framework, year)
    data = submission.model_dump(mode="json") if submission is not None else blank
    outline_ids = {section.id for section in framework.leaf_sections()}
    levels = [
        {"index": li, "level": level, "table_rows": rows,
         "rows": len(rows) + 1}
        for li, level in enumerate(data["indicators"])
        for rows in [_table_rows(framework, level)]
    ]
    config = {
        "framework": {
            "id": framework.id,
            "version": framework.version,
            "name": framework.name,
            "year": framework.year,
            "grades": [{"name": g.name, "min": plain(g.min) if g.min is not None else None}
                       for g in framework.grades],
            "known": _known_names(framework),
            "private_fields": framework.private_fields,
        },
        "frameworks": framework_ids(),  # what the engine can score a draft by (others: by this page's)
        "rule_names": RULE_NAMES,
        "map_paths": MAP_PATHS,
        "blank": blank,
        "engine": engine,
    }
    return _environment().get_template("form.html").render(
        framework=framework,
        framework_total=plain(framework.total) if framework.total is not None else "",
        data=data,
        levels=levels,
        fund_rows=FUND_ROWS,
        outline=framework.outline,
        extra_sections=[(k, v) for k, v in data["report"]["sections"].items() if k not in outline_ids],
        staffing_fields=list(Staffing.model_fields),
        grade_names=[grade.name for grade in framework.grades],
        private_paths=set(framework.private_fields),
        config_json=_json_for_script(config),
        empty_level={"name": "", "weight": None},
        empty_group={"name": ""},
        empty_item={"name": "", "target": "", "actual": "", "max_score": None, "score": None,
                    "deviation": "", "custom": True},
    )


# ---------------------------------------------------------------- Markdown pages

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>])")


def md_text(value: object) -> str:
    """Text for a Markdown page: Markdown syntax and HTML both neutralised, one line."""
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("\\<", "&lt;").replace("\\>", "&gt;")


_OPS = {"<=": "≤", "<": "<", "=": "=", ">=": "≥", ">": ">"}


def _rule_text(known: KnownIndicator) -> str:
    rule = known.rule
    if rule is None:  # the checker reads the rule off the target the unit writes (rules/scoring.py)
        if not known.target:
            return "按年度指标值的写法判断"
        return f"按年度指标值的写法判断（“{known.target}”为{RULE_NAMES[infer_kind(parse_measure(known.target))]}）"
    name = RULE_NAMES[rule.kind]
    if rule.kind == "deduction" and rule.step is not None and rule.loss is not None:
        return f"{name}：每超过 {plain(rule.step)} 扣 {plain(rule.loss)} 分，扣完为止"
    if rule.kind == "tiers":
        bands = "；".join(f"{_OPS[tier.op]} {plain(tier.bound)} 得 {plain(tier.points)} 分"
                         for tier in rule.tiers if tier.bound is not None and tier.points is not None)
        otherwise = plain(rule.otherwise) if rule.otherwise is not None else "0"
        return f"{name}：{bands}；其余得 {otherwise} 分"
    return name


def _outline_lines(sections: list[Section], depth: int = 0) -> list[str]:
    lines: list[str] = []
    for section in sections:
        note = "" if section.required else "（选填）"
        lines.append("    " * depth + f"- {md_text(section.title)}{md_text(note) if note else ''}")
        lines += _outline_lines(section.children, depth + 1)
    return lines


def render_framework_page(framework: Framework) -> str:
    """Markdown for the 指标体系 reference page: weights, indicators, rules, grades, outline."""
    fw = framework
    out = [f"# 指标体系：{md_text(fw.name)}", ""]
    out += [
        "| 项目 | 内容 |", "| --- | --- |",
        f"| 指标体系 | {md_text(fw.name)} |",
        f"| 编号与版本 | {md_text(fw.id)}（{md_text(fw.version)}） |",
        f"| 适用地区 | {md_text(fw.region)} |",
        f"| 年度 | {md_text(fw.year) if fw.year is not None else '不限'} |",
        f"| 总分 | {md_text(plain(fw.total)) if fw.total is not None else ''} |",
        "",
    ]
    if fw.notes:
        out += ["## 说明", ""] + [f"- {md_text(note)}" for note in fw.notes] + [""]
    out += ["## 一级指标与权重", "", "| 一级指标 | 权重 | 二级指标 |", "| --- | --- | --- |"]
    for level in fw.levels:
        groups = "、".join(md_text(g.name) for g in level.groups)
        out.append(f"| {md_text(level.name)} | {md_text(plain(level.weight)) if level.weight is not None else ''} "
                   f"| {groups} |")
    out.append("")
    for level in fw.levels:
        out += [f"## {md_text(level.name)}（权重 {md_text(plain(level.weight)) if level.weight is not None else '—'}）",
                ""]
        for group in level.groups:
            out += [f"### {md_text(group.name)}", ""]
            if group.hint:
                out += [md_text(group.hint), ""]
            if not group.indicators:
                out += ["由单位按年初设定的绩效目标自行设置三级指标。", ""]
                continue
            out += ["| 三级指标 | 分值 | 评分规则 | 参考指标值 | 指标解释与评分说明 |",
                    "| --- | --- | --- | --- | --- |"]
            for known in group.indicators:
                points = md_text(plain(known.max_score)) if known.max_score is not None else ""
                out.append(
                    f"| {md_text(known.name)} | {points} | {md_text(_rule_text(known))} "
                    f"| {md_text(known.target) if known.target else '—'} "
                    f"| {md_text(known.hint) if known.hint else ''} |")
            out.append("")
    out += ["## 等级", "", "| 等级 | 总分 |", "| --- | --- |"]
    previous = None
    for grade in fw.grades:
        low = plain(grade.min) if grade.min is not None else "0"
        if previous is None:
            span = f"≥ {low}"
        elif grade.min is not None and grade.min <= 0:
            span = f"< {previous}"
        else:
            span = f"≥ {low} 且 < {previous}"
        out.append(f"| {md_text(grade.name)} | {md_text(span)} |")
        previous = low
    out += ["", "## 定性指标的得分分档", "",
            "定性指标（如“完整”“规范”“公开”）没有计算公式，得分须落在与完成情况相符的分档内（占分值的比例）：", "",
            "| 分档 | 占分值 |", "| --- | --- |"]
    for band in fw.qualitative_bands:
        low = plain(band.low * 100) if band.low is not None else ""
        high = plain(band.high * 100) if band.high is not None else ""
        out.append(f"| {md_text(band.label)} | {md_text(f'{low}%–{high}%')} |")
    out += ["", "## 自评报告提纲", "", *_outline_lines(fw.outline), ""]
    out += ["## 不公开的字段", ""]
    if fw.private_fields:
        out += [f"- {md_text(field_title(path))}（{md_text(path)}）" for path in fw.private_fields]
    else:
        out.append("无。")
    out.append("")
    return "\n".join(out)


def render_findings_table() -> str:
    """Markdown table of every finding code the checker can raise, from the one registry."""
    out = ["| 代码 | 类别 | 含义 |", "| --- | --- | --- |"]
    order = sorted(REGISTRY.items(), key=lambda kv: (kv[1].severity != "error", kv[0]))
    for code, entry in order:
        out.append(f"| `{code}` | {md_text(SEVERITY_NAMES[entry.severity])} | {md_text(entry.meaning)} |")
    return "\n".join(out) + "\n"
