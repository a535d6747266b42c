"""Naming a field by its official Chinese title, from a path like indicators.0.groups.1.items.2.score.

Messages about a field (validation errors, unreadable input) must use the names on the paper
form, not the model's English attribute names.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from .submission import Submission


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class inside list[M], M | None, dict[str, M], or M itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def describe(path: str | tuple[Any, ...] | list[Any], root: type[BaseModel] = Submission) -> str:
    """'indicators.0.groups.1.items.2.score' → '分解目标自评第1项 › 二级指标第2项 › 三级指标第3项 › 得分'."""
    parts = path.split(".") if isinstance(path, str) else [str(p) for p in path]
    names: list[str] = []
    model: type[BaseModel] | None = root
    i = 0
    while i < len(parts):
        part = parts[i]
        if model is None or part not in model.model_fields:
            names.append(".".join(parts[i:]))
            break
        info = model.model_fields[part]
        title = info.title or part
        origin = get_origin(info.annotation) or next(
            (get_origin(a) for a in get_args(info.annotation) if get_origin(a)), None)
        model = _model_of(info.annotation)
        if origin is list and i + 1 < len(parts) and parts[i + 1].isdigit():
            names.append(f"{title}第{int(parts[i + 1]) + 1}项")
            i += 2
            continue
        if origin is dict and i + 1 < len(parts):
            names.append(title)
            if model is None:  # a free-text map (report sections): the rest is one key
                names.append(".".join(parts[i + 1:]))
                break
            names.append(parts[i + 1])
            i += 2
            continue
        names.append(title)
        i += 1
    return " › ".join(names)


_PROBLEMS = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "string_too_long": "内容过长（上限 {max_length} 字）",
    "string_too_short": "不能为空",
    "too_long": "条目过多（上限 {max_length} 项）",
    "missing": "必须填写",
    "literal_error": "取值应为 {expected}",
    "extra_forbidden": "不是自评表的字段",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
}


def explain(error: Any) -> str:
    """One pydantic error (an ErrorDetails dict) as a Chinese phrase."""
    kind = error.get("type", "")
    if kind == "value_error":
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ")
    template = _PROBLEMS.get(kind)
    if template is None:
        return "取值无效"
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split("{")[0].strip() or "取值无效"
