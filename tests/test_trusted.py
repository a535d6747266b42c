"""`evaluate` builds its results without validation (`_Out.trusted`) and caches texts and values
(`plain`, `fixed2`, `parse_decimal`): each must give exactly what the validated, uncached path
gives, or a constructed model could carry a wrong type and a cache a wrong byte."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao import Submission, evaluate, load_example, load_framework
from jixiao.canonical import canonical_json
from jixiao.model import numbers
from jixiao.model.base import Model
from jixiao.model.evaluation import Evaluation
from jixiao.samples import random_submission


def _revalidated(value: Any) -> Any:
    """The same tree with every model rebuilt through full validation, bottom up."""
    if isinstance(value, Model):
        return type(value).model_validate({k: _revalidated(v) for k, v in value.__dict__.items()})
    if isinstance(value, list):
        return [_revalidated(v) for v in value]
    if isinstance(value, dict):
        return {k: _revalidated(v) for k, v in value.items()}
    return value


def _assert_same(fast: Any, slow: Any, where: str = "evaluation") -> None:
    """Same types (Decimal stays Decimal, never int), same values, every field and nothing else."""
    assert type(fast) is type(slow), where
    if isinstance(fast, Model):
        assert set(fast.__dict__) == set(slow.__dict__) == set(type(fast).model_fields), where
        for key in fast.__dict__:
            _assert_same(fast.__dict__[key], slow.__dict__[key], f"{where}.{key}")
    elif isinstance(fast, list):
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            _assert_same(a, b, f"{where}.{i}")
    elif isinstance(fast, dict):
        assert list(fast) == list(slow), where
        for key in fast:
            _assert_same(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(fast, Decimal):
        assert fast.as_tuple() == slow.as_tuple(), where
    else:
        assert fast == slow, where


def _submissions() -> list[tuple[str, Submission]]:
    cases = [("example jinxian-2021", load_example("jinxian-2021"))]
    for framework_id in ("jinxian-2021", "national-2020"):
        fw = load_framework(framework_id)
        cases += [(f"{framework_id} #{seed}", random_submission(seed, fw)) for seed in range(150)]
    return cases


@pytest.mark.parametrize("framework_id", ["jinxian-2021", "national-2020"])
def test_trusted_results_equal_a_validated_round_trip(framework_id: str) -> None:
    fw = load_framework(framework_id)
    for name, sub in _submissions():
        result = evaluate(sub, fw)
        validated = Evaluation.model_validate(result.model_dump())
        assert validated == result, name
        assert validated.model_dump_json() == result.model_dump_json(), name
        assert Evaluation.model_validate_json(result.model_dump_json()).model_dump_json() \
            == result.model_dump_json(), name
        _assert_same(result, _revalidated(result), name)
        # consolidation compares this dump with the signed, canonical bytes (consolidate/check.py)
        assert result.model_dump_json().encode("utf-8") == canonical_json(result.model_dump(mode="json")), name


def test_framework_index_is_per_object() -> None:
    """A framework rebuilt (another object, other content) is never answered from the cache."""
    fw = load_framework("jinxian-2021")
    sub = load_example("jinxian-2021")
    first = evaluate(sub, fw)
    renamed = fw.model_copy(update={"levels": [lv.model_copy(update={"name": lv.name + "X"})
                                               for lv in fw.levels]})
    changed = evaluate(sub, renamed)
    assert "UNKNOWN_LEVEL1" in changed.codes() and "UNKNOWN_LEVEL1" not in first.codes()
    assert evaluate(sub, fw) == first


_decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12")) | st.sampled_from(
    [Decimal("-0"), Decimal("0"), Decimal("-0.00"), Decimal("0E+3"), Decimal("1E+2"), Decimal("100"),
     Decimal("1.50"), Decimal("1.5"), Decimal("-0.001"), Decimal("-0.005"), Decimal("0.005")])


@settings(max_examples=400, deadline=None)
@given(st.lists(_decimals, min_size=1, max_size=8))
def test_cached_texts_equal_the_uncached(values: list[Decimal]) -> None:
    # Equal values in any order (1.5 then 1.50, 0 then -0): the cache must not mix them up.
    for value in [*values, *reversed(values), *(v.normalize() for v in values), *(-v for v in values)]:
        assert numbers.plain(value) == numbers._plain(value)
        assert numbers.fixed2(value) == numbers._fixed2(value)
        assert numbers._serialize(value) == numbers._plain(value)
        assert numbers._serialize_fixed(value) == numbers._fixed2(value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.,+-%分万元 ０１２３ \n", max_size=12))
def test_cached_reading_equals_the_uncached(text: str) -> None:
    for _ in range(2):  # the second read comes from the cache
        try:
            expected: Decimal | str | None = numbers._read_text(text)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: Decimal | str | None = numbers.parse_decimal(text)
        except ValueError as exc:
            got = str(exc)
        assert type(got) is type(expected)
        if isinstance(got, Decimal):
            assert isinstance(expected, Decimal) and got.as_tuple() == expected.as_tuple()
        else:
            assert got == expected
