"""What `evaluate` computes: rates, subtotals, the total, the grade, suggestions, findings."""

from __future__ import annotations

from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .numbers import Dec, Fixed2

Severity = Literal["error", "warning"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """`trusted_model(cls, values)` by keywords."""
        return trusted_model(cls, values)


_new = object.__new__
_set_dict, _set_fields, _set_extra, _set_private = (
    BaseModel.__dict__[name].__set__
    for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))
OutT = TypeVar("OutT", bound=_Out)


def trusted_model(cls: type[OutT], values: dict[str, Any]) -> OutT:
    """Build from values `evaluate` computed itself, without validation (which cost half of
    `evaluate`): every field given, in declaration order, each already of its field's type
    (Decimal, never int or str). What validation would give; tests/test_trusted.py checks
    that a fully validated round trip of many evaluations is equal and dumps the same bytes.

    A function taking the dict, and the slots set through their descriptors: the classmethod
    with keywords and `object.__setattr__` by name cost a third more, and `evaluate` builds
    some sixty of these per submission."""
    model = _new(cls)
    _set_dict(model, values)
    _set_fields(model, set(values))
    _set_extra(model, None)
    _set_private(model, None)
    return model


class Finding(_Out):
    """One problem, named in Chinese, pointing at the field it is about."""

    code: str
    severity: Severity
    path: str
    message: str


class FrameworkRef(_Out):
    id: str
    version: str
    sha256: str


class FundResult(_Out):
    budget: Fixed2 = None
    executed: Fixed2 = None
    rate: Fixed2 = Field(default=None, description="计算所得执行率（%）")


class IndicatorResult(_Out):
    path: str
    name: str
    rule: str | None = Field(description="评分规则种类；None 表示无法套用规则")
    max_score: Dec = None
    score: Dec = None
    suggested: Dec = Field(default=None, description="按规则计算的建议得分")


class Level1Result(_Out):
    path: str
    name: str
    weight: Dec = None
    max_sum: Dec = None
    score_sum: Dec = None


class Evaluation(_Out):
    framework: FrameworkRef
    funds: dict[str, FundResult]
    execution_rate: Fixed2 = Field(default=None, description="整体执行率（%）")
    level1: list[Level1Result]
    indicators: list[IndicatorResult]
    total: Dec = None
    grade: str | None = None
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def codes(self, severity: Severity | None = None) -> list[str]:
        return [f.code for f in self.findings if severity in (None, f.severity)]
