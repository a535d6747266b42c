"""What each field type of a record accepts, how it is written out and how it is described.

One `Plan` per declared type: a check (raw input → value, or `Invalid` with pydantic's error type,
location and context), a dump (value → plain JSON-ready value) and a JSON schema. The conversions
are pydantic's lax ones for JSON-like input ("5" and 5.0 are the integer 5, "yes" is true), so a
unit's file reads as it always did; `tests/test_model_base.py` holds them to pydantic's answers.
`model/base.py` puts the plans of a record's fields together.
"""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass(frozen=True)
class Custom:
    """A field type of our own: `parse` turns raw input into the value (ValueError: the message
    shown to the user), `dump` writes the value as a text (or None), in both modes; `schema` is
    its JSON schema. A text matching `canonical` whole (and no longer than `canonical_length`) is
    promised to be what `dump(read(text))` writes back: the canonical reader takes it as
    `read(text)`, without `parse` and `dump`."""

    parse: Callable[[Any], Any]
    dump: Callable[[Any], str | None]
    schema: dict[str, Any]
    canonical: re.Pattern[str] | None = None
    read: Callable[[str], Any] | None = None
    canonical_length: int = 0


@dataclass(frozen=True)
class FieldInfo:
    """A resolved field: what `model_fields` lists (pydantic's attribute names)."""

    name: str
    annotation: Any  # the declared type, Annotated metadata removed
    default: Any
    default_factory: Callable[[], Any] | None
    title: str | None
    description: str | None
    ge: Any
    le: Any
    min_length: int | None
    max_length: int | None
    pattern: str | None
    metadata: tuple[Any, ...]  # Annotated metadata (our `Custom`)

    def is_required(self) -> bool:
        return self.default is MISSING and self.default_factory is None



# --- errors ----------------------------------------------------------------------------------------

Loc = tuple[int | str, ...]
Item = tuple[Loc, str, str, Any, dict[str, Any] | None]  # loc, type, msg, input, ctx


class Invalid(Exception):
    """Raised inside validation with locations relative to the value being checked."""

    __slots__ = ("items",)

    def __init__(self, items: list[Item]) -> None:
        self.items = items


def bad(kind: str, msg: str, value: Any, ctx: dict[str, Any] | None = None) -> Invalid:
    return Invalid([((), kind, msg, value, ctx)])


def under(key: int | str, items: list[Item]) -> list[Item]:
    return [((key, *loc), kind, msg, value, ctx) for loc, kind, msg, value, ctx in items]


class ValidationError(ValueError):
    """Input that does not fit a model: every problem, each with pydantic's type, loc and context."""

    def __init__(self, title: str, items: list[Item]) -> None:
        super().__init__(title)
        self.title = title
        self._items = items

    def errors(self, *, include_url: bool = False, include_context: bool = True,
               include_input: bool = True) -> list[dict[str, Any]]:
        out = []
        for loc, kind, msg, value, ctx in self._items:
            error: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg}
            if include_input:
                error["input"] = value
            if include_context and ctx is not None:
                error["ctx"] = ctx
            out.append(error)
        return out

    def __str__(self) -> str:
        count = len(self._items)
        lines = [f"{count} validation error{'s' if count != 1 else ''} for {self.title}"]
        for loc, kind, msg, value, _ in self._items:
            lines.append(".".join(str(step) for step in loc) or self.title)
            lines.append(f"  {msg} [type={kind}, input_value={_short(value)}, input_type={type(value).__name__}]")
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:24] + "..." + text[-24:]


# --- one validator per type ------------------------------------------------------------------------

Check = Callable[[Any], Any]
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_MAX_INT_FLOAT = 2.0**63


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _as_int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return int(value)
    if kind is str or isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return int(text.split(".")[0].replace("_", ""))
        raise bad("int_parsing", "Input should be a valid integer, unable to parse string as an integer", value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise bad("finite_number", "Input should be a finite number", value)
        if not value.is_integer():
            raise bad("int_from_float", "Input should be a valid integer, got a number with a fractional part",
                       value)
        if abs(value) >= _MAX_INT_FLOAT:
            raise bad("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size",
                       value)
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise bad("finite_number", "Input should be a finite number", value)
        if value != value.to_integral_value():
            raise bad("int_from_float", "Input should be a valid integer, got a number with a fractional part",
                       value)
        return int(value)
    if isinstance(value, int):
        return int(value)
    raise bad("int_type", "Input should be a valid integer", value)


def _int_check(ge: Any, le: Any) -> Check:
    def check(value: Any) -> int:
        number = _as_int(value)
        if ge is not None and number < ge:
            raise bad("greater_than_equal", f"Input should be greater than or equal to {ge}", value, {"ge": ge})
        if le is not None and number > le:
            raise bad("less_than_equal", f"Input should be less than or equal to {le}", value, {"le": le})
        return number

    return check


def _bool(value: Any) -> bool:
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is int or (kind is float and value.is_integer() and abs(value) < _MAX_INT_FLOAT) or (  # 2.0 reads as 2
            isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()):
        if value == 0 or value == 1:
            return bool(value)
        raise bad("bool_parsing", "Input should be a valid boolean, unable to interpret input", value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise bad("bool_parsing", "Input should be a valid boolean, unable to interpret input", value)
    raise bad("bool_type", "Input should be a valid boolean", value)


def _search(pattern: str) -> Callable[[str], Any]:
    """Pydantic's Rust regex: `$` is the very end of the text (Python's also matches before a final
    newline), and the pattern may match anywhere unless anchored."""
    translated = re.sub(r"(?<!\\)\$$", r"\\Z", pattern)
    return re.compile(translated).search


def _str_check(max_length: int | None, min_length: int | None, pattern: str | None) -> Check:
    search = _search(pattern) if pattern is not None else None

    def check(value: Any) -> str:
        if type(value) is not str:
            if not isinstance(value, str):
                raise bad("string_type", "Input should be a valid string", value)
            value = str(value)
        if max_length is not None and len(value) > max_length:
            raise bad("string_too_long", f"String should have at most {_plural(max_length, 'character')}", value,
                       {"max_length": max_length})
        if min_length is not None and len(value) < min_length:
            raise bad("string_too_short", f"String should have at least {_plural(min_length, 'character')}",
                       value, {"min_length": min_length})
        if search is not None and search(value) is None:
            raise bad("string_pattern_mismatch", f"String should match pattern '{pattern}'", value,
                       {"pattern": pattern})
        return value  # type: ignore[no-any-return]

    return check


def _literal_check(allowed: tuple[Any, ...]) -> Check:
    shown = [repr(a) for a in allowed]
    expected = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]

    def check(value: Any) -> Any:
        for option in allowed:
            if isinstance(option, str):
                if isinstance(value, str) and value == option:
                    return option
            elif isinstance(option, bool):
                if value is option:
                    return option
            elif type(value) in (int, bool, float) and value == option:  # pydantic's lax 1 == True == 1.0
                return option
        raise bad("literal_error", f"Input should be {expected}", value, {"expected": expected})

    return check


def _custom_check(parse: Callable[[Any], Any]) -> Check:
    def check(value: Any) -> Any:
        try:
            return parse(value)
        except ValueError as exc:
            raise bad("value_error", f"Value error, {exc}", value, {"error": exc}) from None

    return check


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() == datetime.min.time() and value.utcoffset() in (None,):
            return value.date()
        raise bad("date_from_datetime_inexact", "Datetimes provided to dates should have zero time - "
                   "e.g. be exact dates", value)
    if isinstance(value, date):
        return value
    if type(value) is int or type(value) is float:  # a unix time, in milliseconds when that large
        seconds = value / 1000 if abs(value) > 2e10 else value
        if seconds != seconds or abs(seconds) > 253402300799:
            raise bad("date_from_datetime_parsing", "Input should be a valid date or datetime, dates after 9999 "
                      "are not supported as unix timestamps", value, {"error": "dates after 9999 are not supported"})
        micros = round(seconds * 1_000_000)  # to the microsecond, as pydantic reads a time
        if micros % 86_400_000_000:
            raise bad("date_from_datetime_inexact", "Datetimes provided to dates should have zero time - "
                      "e.g. be exact dates", value)
        return date(1970, 1, 1) + timedelta(days=micros // 86_400_000_000)
    if isinstance(value, str):
        text = value
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        elif len(text) > 10 and text[10] in "Tt ":
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return _date(moment)
        raise bad("date_from_datetime_parsing", "Input should be a valid date or datetime, invalid date format",
                   value, {"error": "invalid date format"})
    raise bad("date_type", "Input should be a valid date", value)


def _optional(inner: Check) -> Check:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


def _list_check(inner: Check, max_length: int | None, min_length: int | None) -> Check:
    def check(value: Any) -> list[Any]:
        if type(value) is not list:
            if not isinstance(value, list | tuple | set | frozenset):
                raise bad("list_type", "Input should be a valid list", value)
            value = list(value)
        out = []
        errors: list[Item] | None = None
        for index, item in enumerate(value):
            try:
                out.append(inner(item))
            except Invalid as exc:
                errors = (errors or []) + under(index, exc.items)
        if errors:
            raise Invalid(errors)
        size = len(out)
        if max_length is not None and size > max_length:
            raise bad("too_long", f"List should have at most {_plural(max_length, 'item')} after validation, "
                       f"not {size}", value, {"field_type": "List", "max_length": max_length, "actual_length": size})
        if min_length is not None and size < min_length:
            raise bad("too_short", f"List should have at least {_plural(min_length, 'item')} after validation, "
                       f"not {size}", value, {"field_type": "List", "min_length": min_length, "actual_length": size})
        return out

    return check


def _dict_check(key: Check, inner: Check) -> Check:
    def check(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise bad("dict_type", "Input should be a valid dictionary", value)
        out = {}
        errors: list[Item] | None = None
        for raw_key, item in value.items():  # a bad key's value is checked too, as pydantic does
            name = MISSING
            try:
                name = key(raw_key)
            except Invalid as exc:
                errors = (errors or []) + under(raw_key, under("[key]", exc.items))
            try:
                checked = inner(item)
            except Invalid as exc:
                errors = (errors or []) + under(raw_key, exc.items)
                continue
            if name is not MISSING:
                out[name] = checked
        if errors:
            raise Invalid(errors)
        return out

    return check


def _model_check(model: Any) -> Check:  # a `base.Model` class
    def check(value: Any) -> Any:
        if isinstance(value, dict):
            return model._from_dict(value, None)
        if isinstance(value, model):
            return value
        raise bad("model_type", f"Input should be a valid dictionary or instance of {model.__name__}", value,
                   {"class_name": model.__name__})

    return check


# --- dumping ---------------------------------------------------------------------------------------

Dump = Callable[[Any, bool], Any] | None  # (value, json mode) → plain value; None: the value as it is


def _dump_list(inner: Dump) -> Dump:
    if inner is None:
        return lambda value, json_mode: list(value)
    return lambda value, json_mode: [inner(item, json_mode) for item in value]


def _dump_dict(inner: Dump) -> Dump:
    if inner is None:
        return lambda value, json_mode: dict(value)
    return lambda value, json_mode: {k: inner(v, json_mode) for k, v in value.items()}


def _dump_optional(inner: Dump) -> Dump:
    if inner is None:
        return None
    return lambda value, json_mode: None if value is None else inner(value, json_mode)


def _dump_model(value: Any, json_mode: bool) -> dict[str, Any]:
    return value._dump(json_mode)  # type: ignore[no-any-return]


def _dump_date(value: date, json_mode: bool) -> Any:
    return value.isoformat() if json_mode else value


def _dump_custom(custom: Custom) -> Dump:
    dump = custom.dump
    return lambda value, json_mode: dump(value)


# --- writing JSON text ----------------------------------------------------------------------------
# A record writes itself straight to text (`base.py` generates the code from each plan's `shape`),
# as `json.dumps(dump, ensure_ascii=False, separators=(",", ":"))` writes it, or canonically.

ENCODE: Callable[[str], str] = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


# --- the analysis of one annotation ----------------------------------------------------------------

@dataclass
class Plan:
    check: Check
    dump: Dump
    inline: str  # how the generated code may test the common case itself ("" = call `check`)
    schema: Callable[[dict[str, Any]], dict[str, Any]]  # $defs → JSON schema
    shape: tuple[Any, ...] = ("any",)  # what the JSON writer writes: ("str",), ("list", Plan), ("model", cls), …
    limit: int | None = None  # a string's maximum length, for the inlined test
    allowed: tuple[Any, ...] = ()  # a Literal's values


def strip_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(annotation) is typing.Annotated:
        return annotation.__origin__, annotation.__metadata__
    return annotation, ()


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def plan_for(annotation: Any, info: FieldInfo | None, str_max: int | None) -> Plan:
    """How to validate, dump and describe one declared type; `info` carries the field's
    constraints at the top level (None for list items and dict values)."""
    bare, metadata = strip_annotated(annotation)
    custom = next((m for m in metadata if isinstance(m, Custom)), None)
    if custom is not None:
        schema = custom.schema
        return Plan(_custom_check(custom.parse), _dump_custom(custom), "custom", lambda defs: dict(schema),
                    ("custom", custom.dump, custom))
    members = _union_members(bare)
    if members is not None:
        rest = [m for m in members if m is not type(None)]
        if len(rest) != 1 or len(members) != 2:
            raise TypeError(f"unsupported union {annotation!r}")
        inner = plan_for(rest[0], info, str_max)

        def optional_schema(defs: dict[str, Any]) -> dict[str, Any]:
            return {"anyOf": [inner.schema(defs), {"type": "null"}]}

        return Plan(_optional(inner.check), _dump_optional(inner.dump), "optional:" + inner.inline, optional_schema,
                    ("optional", inner), inner.limit, inner.allowed)
    origin = typing.get_origin(bare)
    ge = info.ge if info else None
    le = info.le if info else None
    max_length = info.max_length if info else None
    min_length = info.min_length if info else None
    pattern = info.pattern if info else None
    if origin is typing.Literal:
        allowed = typing.get_args(bare)
        inline = "literal" if all(isinstance(a, str) for a in allowed) else ""
        return Plan(_literal_check(allowed), None, inline, lambda defs: _literal_schema(allowed),
                    ("str",) if all(isinstance(a, str) for a in allowed) else ("any",), allowed=allowed)
    if origin is list:
        (item,) = typing.get_args(bare)
        inner = plan_for(item, None, str_max)

        def list_schema(defs: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"items": inner.schema(defs), "type": "array"}
            if max_length is not None:
                out["maxItems"] = max_length
            if min_length is not None:
                out["minItems"] = min_length
            return out

        return Plan(_list_check(inner.check, max_length, min_length), _dump_list(inner.dump), "", list_schema,
                    ("list", inner))
    if origin is dict:
        key_type, value_type = typing.get_args(bare)
        key = plan_for(key_type, None, str_max)
        inner = plan_for(value_type, None, str_max)
        return Plan(_dict_check(key.check, inner.check), _dump_dict(inner.dump), "",
                    lambda defs: {"additionalProperties": inner.schema(defs), "type": "object"},
                    ("dict", inner, key))
    if bare is str:
        limit = max_length if max_length is not None else str_max

        def str_schema(defs: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "string"}
            if limit is not None:
                out["maxLength"] = limit
            if min_length is not None:
                out["minLength"] = min_length
            if pattern is not None:
                out["pattern"] = pattern
            return out

        inline = "str" if min_length is None and pattern is None else ""
        return Plan(_str_check(limit, min_length, pattern), None, inline, str_schema, ("str",), limit)
    if bare is bool:
        return Plan(_bool, None, "bool", lambda defs: {"type": "boolean"}, ("bool",))
    if bare is int:
        def int_schema(defs: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "integer"}
            if ge is not None:
                out["minimum"] = ge
            if le is not None:
                out["maximum"] = le
            return out

        return Plan(_int_check(ge, le), None, "int", int_schema, ("int",))
    if bare is date:
        return Plan(_date, _dump_date, "", lambda defs: {"format": "date", "type": "string"}, ("date",))
    if bare is Any:
        return Plan(lambda value: value, None, "any", lambda defs: {})
    if isinstance(bare, type) and hasattr(bare, "_from_dict"):  # a record (base.Model)
        model: Any = bare

        def model_schema(defs: dict[str, Any]) -> dict[str, Any]:
            model._schema_into(defs)
            return {"$ref": f"#/$defs/{model.__name__}"}

        return Plan(_model_check(model), _dump_model, "model", model_schema, ("model", model))
    raise TypeError(f"unsupported field type {annotation!r}")


def _literal_schema(allowed: tuple[Any, ...]) -> dict[str, Any]:
    if len(allowed) == 1:
        return {"const": allowed[0], "type": _json_type(allowed[0])}
    return {"enum": list(allowed), "type": _json_type(allowed[0])}


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", str: "string"}.get(type(value), "string")


def fresh(default: Any) -> Any:
    """Defaults are copied per instance, as pydantic does, unless immutable."""
    if default is None or isinstance(default, str | int | float | bool | Decimal | tuple | frozenset | date):
        return default
    return copy.deepcopy(default)

