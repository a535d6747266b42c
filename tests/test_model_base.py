"""Our records (model/base.py) validate, convert, refuse and write exactly as pydantic did.

Why: the package's models were pydantic models until the browser's start-up made us write our
own. Units' files, signed bundles and every error message depend on what validation accepts
and how it names a problem, so the reference is pydantic itself: each record class is turned
into its pydantic twin (same fields, defaults, constraints, validators) and both are given the
same generated JSON-like input, valid or broken. Accepted input must dump the same; refused
input must give the same error types, locations and messages, in the same order.
"""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Annotated, Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao.bundle.payload import Original
from jixiao.bundle.roster import RosterDoc
from jixiao.consolidate.review import ReviewDoc
from jixiao.model.base import Model, ValidationError
from jixiao.model.fieldtypes import Custom, strip_annotated
from jixiao.model.framework import Framework
from jixiao.model.submission import Submission

_TWINS: dict[type[Model], type[pydantic.BaseModel]] = {}
_BUILDING: set[type[Model]] = set()


def twin(model: type[Model]) -> Any:
    """The pydantic model declared as `model` is: what this package's models were. A model that
    contains itself (an outline section's children) refers to its twin by name until it is built."""
    if model in _TWINS:
        return _TWINS[model]
    if model in _BUILDING:
        return model.__name__
    _BUILDING.add(model)
    fields: dict[str, Any] = {}
    hints = typing.get_type_hints(model, include_extras=True)
    for name, info in model.model_fields.items():
        kwargs = {k: getattr(info, k) for k in ("title", "description", "ge", "le", "min_length", "max_length",
                                                "pattern") if getattr(info, k) is not None}
        if info.default_factory is not None:
            factory = info.default_factory
            kwargs["default_factory"] = twin(factory) if isinstance(factory, type) and issubclass(factory, Model) \
                else factory
        elif not info.is_required():
            kwargs["default"] = info.default
        fields[name] = (_twin_type(hints[name]), pydantic.Field(**kwargs))
    validators = {}
    for attr in dir(model):
        method = getattr(model, attr, None)
        if getattr(method, "__jixiao_after__", False):
            validators[attr] = pydantic.model_validator(mode="after")(_after(method))
    config = pydantic.ConfigDict(extra="forbid", frozen=model.__jixiao_frozen__,
                                 str_max_length=model.__jixiao_str_max__)
    built = pydantic.create_model(model.__name__, __config__=config, __validators__=validators, **fields)
    _BUILDING.discard(model)
    _TWINS[model] = built
    built.model_rebuild(_types_namespace={model.__name__: built})
    return built


def _after(method: Any) -> Any:
    def check(self: Any) -> Any:
        method(self)
        return self

    return check


def _twin_type(annotation: Any) -> Any:
    bare, metadata = strip_annotated(annotation)
    custom = next((m for m in metadata if isinstance(m, Custom)), None)
    if custom is not None:
        return Annotated[bare, pydantic.BeforeValidator(custom.parse),
                         pydantic.PlainSerializer(custom.dump, when_used="always")]
    if isinstance(bare, type) and issubclass(bare, Model):
        return twin(bare)
    origin, args = typing.get_origin(bare), typing.get_args(bare)
    if origin in (typing.Union, __import__("types").UnionType):
        return typing.Union[tuple(_twin_type(a) for a in args)]  # noqa: UP007 - built from a tuple
    if origin is list:
        return list[_twin_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_twin_type(args[0]), _twin_type(args[1])]  # type: ignore[misc]
    return bare


def _outcome(model: type[Any], data: Any) -> tuple[str, Any]:
    try:
        return "ok", model.model_validate(data).model_dump(mode="json")
    except (ValidationError, pydantic.ValidationError) as exc:
        return "refused", [_error(e) for e in exc.errors()]


def _error(error: Any) -> tuple[str, tuple[Any, ...], str]:
    """A date (only the roster has them) is refused in the same places; pydantic's date parser
    names more kinds of mistake than ours ("invalid character in year"), which is not copied."""
    if error["type"].startswith("date"):
        return "date", tuple(error["loc"]), ""
    return error["type"], tuple(error["loc"]), error["msg"]


def assert_same(model: type[Model], data: Any) -> None:
    ours, theirs = _outcome(model, data), _outcome(twin(model), data)
    assert ours == theirs, data


# --- inputs: JSON-like values, near misses first ---------------------------------------------------

ODD = st.sampled_from([None, True, False, 0, 1, 2, -1, 5, 5.0, 5.5, 1e20, float("inf"), float("nan"), "", " ", "5",
                       " 5 ", "5.0", "5.5", "+5", "-0", "1_000", "0x10", "abc", "true", "yes", "off", "T", "98分",
                       "１００", "5,462.67", "100%", "2021-01-01", "2021-1-1", "本级", "所属单位", "x" * 201, [], {},
                       [1], {"a": 1}, Decimal("5")])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                       | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


def values_for(annotation: Any, info: Any = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value the annotation would take, or a near miss of it, or anything at all."""
    bare, metadata = strip_annotated(annotation)
    if any(isinstance(m, Custom) for m in metadata):
        good: st.SearchStrategy[Any] = st.sampled_from(["5479.62", "98", "0", "-0", "1.50", "100%", "9分", "１２",
                                                        " 8\n", "", None, 3, "九十", 1.5, True, "1e5", "--1"])
    elif isinstance(bare, type) and issubclass(bare, Model):
        good = documents(bare, depth + 1) if depth < 4 else st.just({})
    else:
        origin, args = typing.get_origin(bare), typing.get_args(bare)
        if origin in (typing.Union, __import__("types").UnionType):
            good = st.one_of(*[values_for(a, info, depth) for a in args])
        elif origin is list:
            limit = getattr(info, "max_length", None) or 3
            good = st.lists(values_for(args[0], None, depth + 1), max_size=min(limit + 1, 4)) if depth < 4 \
                else st.just([])
        elif origin is dict:
            good = st.dictionaries(st.text(max_size=5) | st.integers(-1000, 1000), values_for(args[1], None, depth + 1),
                                   max_size=3)
        elif origin is typing.Literal:
            good = st.sampled_from(args)
        elif bare is str:
            limit = getattr(info, "max_length", None)
            good = st.text(max_size=12) | (st.text(min_size=limit, max_size=limit + 2) if limit else st.nothing())
            if getattr(info, "pattern", None):
                good = good | st.from_regex(info.pattern.removesuffix("$") + r"\Z", fullmatch=False) \
                    | st.just("a" * 64 + "\n") | st.just("0" * 64 + "\n")
        elif bare is int:
            good = st.integers(-5, 2200) | st.sampled_from(["2021", " 2021 ", "2021.0", "二〇二一", 2021.0, 2021.5])
        elif bare is bool:
            good = st.booleans() | st.sampled_from([0, 1, 2, "true", "no", "maybe", 1.0])
        else:
            good = st.sampled_from(["2021-01-01", "2021-01-01T00:00:00", "2021-01-01T08:00:00", "01/01/2021", 5])
    return st.one_of(good, good, good, ODD, JSONISH)


def documents(model: type[Model], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(model, include_extras=True)
    parts = {name: values_for(hints[name], info, depth) for name, info in model.model_fields.items()}

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        doc = {}
        for name, values in parts.items():
            if draw(st.integers(0, 9)) < 8:  # most fields given, some left out (missing or default)
                doc[name] = draw(values)
        if draw(st.integers(0, 19)) == 0:
            doc[draw(st.sampled_from(["extra", "备注", "score "]))] = draw(JSONISH)
        return doc

    return build()


MODELS = [Submission, Framework, ReviewDoc, RosterDoc, Original]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_generated_input_gets_pydantic_answer(model: type[Model]) -> None:
    @settings(max_examples=300, deadline=None)
    @given(documents(model))
    def check(data: dict[str, Any]) -> None:
        assert_same(model, data)

    check()


def test_real_documents_get_pydantic_answer(seed: Submission, jinxian: Framework) -> None:
    """The seed and a framework as they are, then with one typical mistake each."""
    assert_same(Submission, seed.model_dump(mode="json"))
    assert_same(Framework, {k: v for k, v in jinxian.model_dump(mode="json").items() if k != "sha256"})
    doc = seed.model_dump(mode="json")
    doc["indicators"][0]["groups"][1]["items"][0]["score"] = "两分"
    doc["year"] = "二〇二一"
    doc["unit_kind"] = "下属单位"
    doc["funds"]["total"]["budget"] = 5479.62
    doc["contact"]["email"] = "x@y"
    assert_same(Submission, doc)
    framework = {k: v for k, v in jinxian.model_dump(mode="json").items() if k != "sha256"}
    framework["grades"] = list(reversed(framework["grades"]))  # the model validator refuses
    assert_same(Framework, framework)


def test_json_input_gets_pydantic_answer() -> None:
    for text in ['{"framework_id": "x", "year": 2021}', '{"framework_id": "x", "year": 20.5}', "[1]", "{", "",
                 '{"framework_id": "x"} x', '{"framework_id": 1}']:
        ours = _outcome_json(Submission, text)
        theirs = _outcome_json(twin(Submission), text)
        assert ours[0] == theirs[0], text
        if ours[0] == "ok" or ours[1][0][0] != "json_invalid":
            assert ours == theirs, text


def _outcome_json(model: type[Any], text: str) -> tuple[str, Any]:
    try:
        return "ok", model.model_validate_json(text).model_dump(mode="json")
    except (ValidationError, pydantic.ValidationError) as exc:
        return "refused", [_error(e) for e in exc.errors()]


def test_dumps_equal_pydantic_dumps(seed: Submission, jinxian: Framework) -> None:
    """JSON text too (compact, field order, non-ASCII as it is), and the Python-mode dump."""
    theirs = twin(Submission).model_validate(seed.model_dump(mode="json"))
    assert seed.model_dump_json() == theirs.model_dump_json()
    assert seed.model_dump_json(indent=2) == theirs.model_dump_json(indent=2)
    assert seed.model_dump() == theirs.model_dump()
    roster = {"owner": {"alg": "ed25519", "public_key": "QUJD", "fingerprint": "0" * 64, "name": "主管部门"},
              "units": {"U1": [{"alg": "ed25519", "public_key": "QUJD", "fingerprint": "1" * 64,
                                "valid_from": "2021-01-01"}]}}
    assert RosterDoc.model_validate(roster).model_dump() == twin(RosterDoc).model_validate(roster).model_dump()
    assert RosterDoc.model_validate(roster).model_dump_json() \
        == twin(RosterDoc).model_validate(roster).model_dump_json()


def test_frozen_records_refuse_changes_and_compare_by_value(jinxian: Framework) -> None:
    with pytest.raises(ValidationError):
        jinxian.name = "x"  # type: ignore[misc]
    assert Framework.model_validate(jinxian.model_dump(mode="json")) == jinxian
    assert jinxian.grades[0] == type(jinxian.grades[0]).model_validate(jinxian.grades[0].model_dump())
    assert hash(jinxian.grades[0]) == hash(type(jinxian.grades[0]).model_validate(jinxian.grades[0].model_dump()))


@pytest.mark.parametrize("custom", ["Dec", "Fixed2"])
def test_a_canonical_decimal_text_reads_as_parse_reads_it_and_dumps_back(custom: str) -> None:
    """The canonical reader takes a text matching the type's pattern as `Decimal(text)`, without
    `parse_decimal` and the dump: that must be the same value, written back as the same text."""
    from jixiao.model import numbers

    spec = next(m for m in typing.get_args(getattr(numbers, custom)) if isinstance(m, Custom))
    assert spec.canonical is not None and spec.read is not None

    @settings(max_examples=2000, deadline=None)
    @given(st.from_regex(spec.canonical, fullmatch=True).filter(lambda t: len(t) <= spec.canonical_length))
    def check(text: str) -> None:
        value = spec.read(text)
        parsed = spec.parse(text)
        assert value == parsed and value.as_tuple() == parsed.as_tuple(), text
        assert spec.dump(value) == text

    check()
