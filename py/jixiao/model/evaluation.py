"""What `evaluate` computes: rates, subtotals, the total, the grade, suggestions, findings."""

from __future__ import annotations

from typing import Any, Literal, Self, TypeVar

from .base import SET_VALUES, Field, Model
from .numbers import Dec, Fixed2

Severity = Literal["error", "warning"]


class _Out(Model, frozen=True):
    """Unknown keys are refused; a result never changes."""

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """`trusted_model(cls, values)` by keywords."""
        return trusted_model(cls, values)


_new = object.__new__
OutT = TypeVar("OutT", bound=_Out)


def trusted_model(cls: type[OutT], values: dict[str, Any]) -> OutT:
    """Build from values `evaluate` computed itself, without validation (which cost half of
    `evaluate`): every field given, each already of its field's type (Decimal, never int or
    str). What validation would give; tests/test_trusted.py checks that a fully validated round
    trip of many evaluations is equal and dumps the same bytes. A function taking the dict:
    `evaluate` builds some sixty of these per submission."""
    model = _new(cls)
    SET_VALUES(model, values)
    return model


# Every model here declares its fields in sorted order, and `evaluate` builds them so: a dump
# is then RFC 8785 canonical JSON as it stands (what a bundle's payload holds), which lets
# consolidation compare a recomputed evaluation with the signed bytes without parsing them.
# tests/test_trusted.py holds every dump to `canonical_json`.


class Finding(_Out, frozen=True):
    """One problem, named in Chinese, pointing at the field it is about."""

    code: str
    message: str
    path: str
    severity: Severity


class FrameworkRef(_Out, frozen=True):
    id: str
    sha256: str
    version: str


class FundResult(_Out, frozen=True):
    budget: Fixed2 = None
    executed: Fixed2 = None
    rate: Fixed2 = Field(default=None, description="计算所得执行率（%）")


class IndicatorResult(_Out, frozen=True):
    max_score: Dec = None
    name: str
    path: str
    rule: str | None = Field(description="评分规则种类；None 表示无法套用规则")
    score: Dec = None
    suggested: Dec = Field(default=None, description="按规则计算的建议得分")


class Level1Result(_Out, frozen=True):
    max_sum: Dec = None
    name: str
    path: str
    score_sum: Dec = None
    weight: Dec = None


class Evaluation(_Out, frozen=True):
    execution_rate: Fixed2 = Field(default=None, description="整体执行率（%）")
    findings: list[Finding]
    framework: FrameworkRef
    funds: dict[str, FundResult] = Field(description="按键名排序")
    grade: str | None = None
    indicators: list[IndicatorResult]
    level1: list[Level1Result]
    total: Dec = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def codes(self, severity: Severity | None = None) -> list[str]:
        return [f.code for f in self.findings if severity in (None, f.severity)]
