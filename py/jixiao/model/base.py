"""Records declared like pydantic models, validated and written by a few hundred lines of our own.

Why not pydantic: in the browser, pydantic-core is a 4.7 MB WebAssembly side module. Measured in
headless Chromium on a 2-core machine, loading it and importing pydantic kept the scoring engine
from its first score about 1.2 s longer on a first visit, and its compilation took 1.2 s of the
second core's time while the page was still laying out the form. Everything here is plain
Python from the standard library, so the engine needs nothing but Pyodide's own runtime.

What is kept of pydantic is what this package uses: classes declared with annotations and
`Field(...)`; `model_validate` / `model_validate_json` / `model_dump` / `model_dump_json` /
`model_copy` / `model_fields` / `model_json_schema`; `ValidationError.errors()` with pydantic's
error types, locations and context (`model/fields.py` turns them into Chinese); lax conversions
as pydantic makes them for JSON-like input ("5" and 5.0 are the integer 5, "yes" is true).
Extra keys are always refused. `tests/test_model_base.py` holds validation to a pydantic copy of
the models over generated inputs.

Validation and dumping are generated once per class (the dataclasses way), on first use: the
checks of a typical field are inlined, so valid input costs a dictionary lookup and a type
test per field, and only invalid input builds error records.
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, dataclass_transform

from .codegen import Compiled, generate
from .fieldtypes import (
    MISSING,
    Custom,
    FieldInfo,
    Invalid,
    ValidationError,
    plan_for,
    strip_annotated,
)

__all__ = ["SET_VALUES", "Custom", "Field", "FieldInfo", "Model", "ValidationError", "model_validator"]

M = TypeVar("M", bound="Model")


class _FieldSpec:
    __slots__ = ("default", "default_factory", "description", "ge", "le", "max_length", "min_length",
                 "pattern", "title")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, title: str | None,
                 description: str | None, ge: Any, le: Any, min_length: int | None, max_length: int | None,
                 pattern: str | None) -> None:
        self.default, self.default_factory = default, default_factory
        self.title, self.description = title, description
        self.ge, self.le = ge, le
        self.min_length, self.max_length, self.pattern = min_length, max_length, pattern


def Field(default: Any = MISSING, *, default_factory: Callable[[], Any] | None = None,
          title: str | None = None, description: str | None = None, ge: Any = None, le: Any = None,
          min_length: int | None = None, max_length: int | None = None, pattern: str | None = None) -> Any:
    """A field's default and constraints, as in pydantic (`ge`/`le` for integers, lengths for
    strings and lists, `pattern` for strings, searched as pydantic's Rust regex does)."""
    return _FieldSpec(default, default_factory, title, description, ge, le, min_length, max_length, pattern)




def model_validator(*, mode: str) -> Callable[[Callable[[M], M]], Callable[[M], M]]:
    """Marks a method run on every validated instance (pydantic's `mode="after"`); a ValueError it
    raises is reported as a `value_error` of the whole record."""
    if mode != "after":
        raise ValueError("only mode='after' is supported")

    def mark(method: Callable[[M], M]) -> Callable[[M], M]:
        method.__jixiao_after__ = True  # type: ignore[attr-defined]
        return method

    return mark



# Sets a record's values (the dict itself, held by the record) past a frozen record's
# __setattr__: the `__dict__` descriptor's setter, taken from `Model` once it exists (below).
SET_VALUES: Callable[[Any, dict[str, Any]], None]


# --- the base class --------------------------------------------------------------------------------

class _ModelMeta(type):
    @property
    def model_fields(cls) -> dict[str, FieldInfo]:
        return cls._compiled().fields  # type: ignore[attr-defined, no-any-return]


@dataclass_transform(kw_only_default=True, field_specifiers=(Field,))
class Model(metaclass=_ModelMeta):
    """A record: annotated fields, validated on construction and by `model_validate`."""

    __jixiao_frozen__: ClassVar[bool] = False
    __jixiao_str_max__: ClassVar[int | None] = None
    __jixiao_compiled__: ClassVar[Compiled | None] = None
    __jixiao_declared__: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, *, frozen: bool | None = None, str_max_length: int | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if frozen is not None:
            cls.__jixiao_frozen__ = frozen
        if str_max_length is not None:
            cls.__jixiao_str_max__ = str_max_length
        cls.__jixiao_compiled__ = None
        declared: dict[str, Any] = {}
        for name in cls.__annotations__:  # the class's own (3.10+), whether stored or made lazily (3.14)
            if name.startswith("_"):
                continue
            declared[name] = cls.__dict__.get(name, MISSING)
            if name in cls.__dict__:
                delattr(cls, name)  # the instance's value, never the class's default, is seen
        cls.__jixiao_declared__ = declared

    # -- resolution, on first use (annotations may name classes defined later in the module) --

    @classmethod
    def _compiled(cls) -> Compiled:
        compiled = cls.__dict__.get("__jixiao_compiled__")
        if compiled is None:
            compiled = cls._compile()
            cls.__jixiao_compiled__ = compiled
        return compiled

    @classmethod
    def _compile(cls) -> Compiled:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields: dict[str, FieldInfo] = {}
        for klass in reversed(cls.__mro__):
            declared = klass.__dict__.get("__jixiao_declared__")
            if not declared:
                continue
            for name, spec in declared.items():
                fields.pop(name, None)
                fields[name] = _field_info(name, hints[name], spec)
        plans = {name: plan_for(hints[name], info, cls.__jixiao_str_max__) for name, info in fields.items()}
        afters = [lambda obj, name=name: getattr(obj, name)() for name in dir(cls)
                  if getattr(getattr(cls, name, None), "__jixiao_after__", False)]
        return generate(cls, fields, plans, afters, SET_VALUES)

    @classmethod
    def _from_dict(cls: type[M], data: dict[str, Any], target: M | None) -> M:
        return cls._compiled().from_dict(data, target)  # type: ignore[no-any-return]

    def _dump(self, json_mode: bool) -> dict[str, Any]:
        return type(self)._compiled().dump(self, json_mode)

    def _json(self, canonical: bool) -> str:
        compiled = type(self)._compiled()
        return (compiled.write_sorted if canonical else compiled.write)(self)

    # -- pydantic's API, the part this package uses --

    def __init__(self, **data: Any) -> None:
        try:
            type(self)._from_dict(data, self)
        except Invalid as exc:
            raise ValidationError(type(self).__name__, exc.items) from None

    @classmethod
    def model_validate(cls: type[M], obj: Any) -> M:
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, dict):
            raise ValidationError(cls.__name__, [((), "model_type", f"Input should be a valid dictionary or "
                                                  f"instance of {cls.__name__}", obj, {"class_name": cls.__name__})])
        try:
            return cls._from_dict(obj, None)
        except Invalid as exc:
            raise ValidationError(cls.__name__, exc.items) from None

    @classmethod
    def model_validate_json(cls: type[M], data: str | bytes | bytearray) -> M:
        """JSON text, nested at most `MAX_JSON_DEPTH` deep (pydantic's parser stops there too)."""
        try:
            raw = json.loads(data)
            if _opens(data) > MAX_JSON_DEPTH and _deeper_than(raw, MAX_JSON_DEPTH):  # fewer opens: not that deep
                raise RecursionError
        except (ValueError, RecursionError) as exc:
            message = "recursion limit exceeded" if isinstance(exc, RecursionError) else str(exc)
            raise ValidationError(cls.__name__, [((), "json_invalid", f"Invalid JSON: {message}", data,
                                                  {"error": message})]) from None
        if not isinstance(raw, dict):
            raise ValidationError(cls.__name__, [((), "model_type", "Input should be an object", raw,
                                                  {"class_name": cls.__name__})])
        return cls.model_validate(raw)

    @classmethod
    def model_from_canonical(cls: type[M], data: Any) -> M | None:
        """The record `data` is the canonical dump of (every field, keys in RFC 8785's order, each
        value as the dump writes it), or None: then `model_validate` says what it is. Takes
        `data` over (converted values replace raw ones in it): give it freshly parsed JSON."""
        return cls._compiled().from_canonical(data)  # type: ignore[no-any-return]

    def model_dump(self, *, mode: str = "python", exclude: set[str] | None = None) -> dict[str, Any]:
        out = self._dump(mode == "json")
        for name in exclude or ():
            out.pop(name, None)
        return out

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """Compact JSON, fields in declared order (as pydantic writes it), written straight to text."""
        if indent is None:
            return self._json(False)
        return json.dumps(self._dump(True), ensure_ascii=False, indent=indent)

    def model_dump_canonical(self) -> str:
        """The RFC 8785 canonical JSON of `model_dump(mode="json")` (what `canonical.canonical_json`
        makes of it, which refuses the same integers), written straight to text: consolidation
        compares it with signed bytes."""
        return self._json(True)

    def model_copy(self: M, *, update: dict[str, Any] | None = None, deep: bool = False) -> M:
        values = dict(self.__dict__)
        if deep:
            values = copy.deepcopy(values)
        if update:
            values.update(update)
        obj = object.__new__(type(self))
        SET_VALUES(obj, values)
        return obj

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        cls._schema_into(defs)
        top = dict(defs.pop(cls.__name__))
        if defs:
            top["$defs"] = dict(sorted(defs.items()))
        return top

    @classmethod
    def _schema_into(cls, defs: dict[str, Any]) -> None:
        if cls.__name__ in defs:
            return
        defs[cls.__name__] = {}  # a placeholder first: a model may contain itself
        compiled = cls._compiled()
        properties: dict[str, Any] = {}
        for name, info in compiled.fields.items():
            schema = compiled.plans[name].schema(defs)
            if info.title:
                schema["title"] = info.title
            if info.description:
                schema["description"] = info.description
            if not info.is_required() and info.default_factory is None:
                schema["default"] = _schema_default(info.default)
            properties[name] = schema
        out: dict[str, Any] = {"additionalProperties": False, "properties": properties, "title": cls.__name__,
                               "type": "object"}
        required = [name for name, info in compiled.fields.items() if info.is_required()]
        if required:
            out["required"] = required
        doc = (cls.__doc__ or "").strip()
        if doc:
            out["description"] = doc
        defs[cls.__name__] = out

    # -- the object protocol --

    def __setattr__(self, name: str, value: Any) -> None:
        if type(self).__jixiao_frozen__:
            raise ValidationError(type(self).__name__, [((name,), "frozen_instance", "Instance is frozen", value,
                                                          None)])
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if type(self).__jixiao_frozen__:
            raise ValidationError(type(self).__name__, [((name,), "frozen_instance", "Instance is frozen", None,
                                                          None)])
        object.__delattr__(self, name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        if not type(self).__jixiao_frozen__:
            raise TypeError(f"unhashable type: '{type(self).__name__}'")
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        yield from self.__dict__.items()


SET_VALUES = Model.__dict__["__dict__"].__set__


MAX_JSON_DEPTH = 200


def _opens(data: str | bytes | bytearray) -> int:
    """How many '[' and '{' the text holds, strings included: no nesting goes deeper."""
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep (one loop, no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        items = node.values() if type(node) is dict else node if type(node) is list else ()
        stack.extend((item, depth + 1) for item in items if type(item) is dict or type(item) is list)
    return False


def _schema_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _field_info(name: str, annotation: Any, spec: Any) -> FieldInfo:
    bare, metadata = strip_annotated(annotation)
    if isinstance(spec, _FieldSpec):
        return FieldInfo(name, bare, spec.default, spec.default_factory, spec.title, spec.description, spec.ge,
                         spec.le, spec.min_length, spec.max_length, spec.pattern, metadata)
    return FieldInfo(name, bare, spec, None, None, None, None, None, None, None, None, metadata)
