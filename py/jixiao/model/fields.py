"""Naming a field by its official Chinese title, for messages about a field.

A validation error's location (`indicators.0.groups.1.items.2.score`) becomes the words on
the paper form: 分解目标自评 › 第1个一级指标“管理指标” › … › 得分. Used by the file loader
(one line for the whole file) and by the browser entry (one finding per bad field).
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from .base import Model, ValidationError
from .submission import Submission

_PROBLEMS: dict[str, str] = {
    "missing": "缺少此项（必填）",
    "extra_forbidden": "不是自评表中的项目（可能拼写有误）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "string_type": "应为文本",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "应为{expected}",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "string_too_long": "文字过长（上限 {max_length} 字）",
    "string_too_short": "不能为空",
    "too_long": "条目过多（上限 {max_length} 项）",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表（JSON 数组）",
    "finite_number": "应为有限数字",
    "json_invalid": "JSON 格式错误",
}


_UNTITLED = {"schema_version": "格式版本"}


def describe(loc: tuple[int | str, ...] | list[int | str], raw: Any = None) -> str:
    """The place of one field, in official titles (row names taken from `raw` when given)."""
    return " › ".join(_labels(tuple(loc), raw))


def explain(error: Any) -> str:
    """One validation error (`ValidationError.errors()` item) as a Chinese phrase."""
    return _problem(error)


def describe_validation_error(exc: ValidationError, raw: Any = None) -> str:
    """The first problem as '分解目标自评 › … › 得分：“九十”不是数字（共 N 处）'."""
    errors = exc.errors(include_url=False)
    if not errors:  # pragma: no cover - validation never raises an empty error
        return "自评表内容无效"
    first = errors[0]
    where = " › ".join(_labels(first["loc"], raw))
    problem = _problem(first)
    line = f"{where}：{problem}" if where else problem
    if len(errors) > 1:
        line += f"（共 {len(errors)} 处）"
    return " ".join(line.split())


def _problem(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "json_invalid" and "recursion" in str(ctx.get("error", "")):
        return "JSON 嵌套层数过深"
    template = _PROBLEMS.get(kind)
    if template is None:
        return str(error["msg"])
    values = dict(ctx)
    if "expected" in values:  # "'本级' or '所属单位'" → "“本级”或“所属单位”"
        values["expected"] = "或".join(f"“{v}”" for v in re.findall(r"'([^']*)'", str(values["expected"])))
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return str(error["msg"])


def _labels(loc: tuple[int | str, ...], raw: Any) -> list[str]:
    """Official titles along a validation error's location, with row numbers and names."""
    labels: list[str] = []
    kind: Any = Submission
    node: Any = raw
    for step in loc:
        kind = _unwrap(kind)
        node = _child(node, step)
        if isinstance(kind, type) and issubclass(kind, Model) and isinstance(step, str):
            field = kind.model_fields.get(step)
            if field is None:
                labels.append(f"“{clip(step)}”")
                kind = None
                continue
            element = _element_model(field.annotation)
            title = field.title or _UNTITLED.get(step)
            if step == "name" and kind is not Submission and labels and labels[-1].startswith("第"):
                labels.append("名称")  # "第1个一级指标 › 名称", not "… › 一级指标"
            elif title and title != _name_title(element) and (not labels or labels[-1] != title):
                labels.append(title)  # a list of named rows is named by its rows ("第2个三级指标")
            elif not title and element is None:
                labels.append(step)
            kind = field.annotation
        elif isinstance(step, int) and typing.get_origin(kind) is list:
            element = _element_model(kind)
            noun = _name_title(element)
            name = node.get("name") if isinstance(node, dict) else None
            label = f"第{step + 1}个{noun}" if noun else f"第{step + 1}项"
            if isinstance(name, str) and name.strip():
                label += f"“{clip(' '.join(name.split()))}”"
            labels.append(label)
            kind = typing.get_args(kind)[0]
        elif isinstance(step, str) and typing.get_origin(kind) is dict:
            labels.append(f"“{clip(step)}”")
            kind = typing.get_args(kind)[1]
        elif kind is None or isinstance(step, int):
            labels.append(str(step + 1 if isinstance(step, int) else step))
        # any other step is a union member's tag (e.g. 'int'): not part of the place
    return labels


def _unwrap(kind: Any) -> Any:
    """`X | None` → X, so optional sub-models are walked like required ones."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return kind


def _element_model(kind: Any) -> type[Model] | None:
    if typing.get_origin(kind) is list:
        element = typing.get_args(kind)[0]
        if isinstance(element, type) and issubclass(element, Model):
            return element
    return None


def _name_title(model: type[Model] | None) -> str | None:
    if model is None:
        return None
    field = model.model_fields.get("name")
    return field.title if field is not None else None


def _child(node: Any, step: int | str) -> Any:
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def clip(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
