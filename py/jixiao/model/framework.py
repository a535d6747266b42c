"""The year's indicator framework (附件5): weights, known indicators, rules, grades, outline.

A framework is data a finance bureau changes each year, so it lives in JSON files under
`jixiao/data/frameworks/` and is identified by id + version + the sha256 of its canonical
JSON. Nothing in the rules knows a framework's indicator names.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from .base import Field, Model, model_validator
from .numbers import Dec

RuleKind = Literal[
    "higher", "lower", "equal", "proportional", "deduction", "tiers", "qualitative"
]

RULE_NAMES: dict[str, str] = {
    "higher": "正向（越高越好）",
    "lower": "反向（越低越好）",
    "equal": "等于",
    "proportional": "按比例",
    "deduction": "扣分",
    "tiers": "阶梯",
    "qualitative": "定性",
}


class _Strict(Model, frozen=True):
    """Unknown keys are refused; a loaded framework never changes."""


class Tier(_Strict, frozen=True):
    """One band of a tiered rule: an actual value `op` `bound` earns `points`."""

    op: Literal["<=", "<", "=", ">=", ">"] = "<="
    bound: Dec
    points: Dec


class QualitativeBand(_Strict, frozen=True):
    """A band for qualitative scores, as fractions of 分值 (0.8–1 = achieved)."""

    label: str
    low: Dec
    high: Dec


class Rule(_Strict, frozen=True):
    """How a known indicator is scored. Parameters only matter for their kind."""

    kind: RuleKind
    step: Dec = Field(default=None, description="扣分: 每超过多少（单位同指标值）扣一次")
    loss: Dec = Field(default=None, description="扣分: 每次扣多少分")
    tiers: list[Tier] = Field(default_factory=list, description="阶梯: 依次判断的档位")
    otherwise: Dec = Field(default=Decimal(0), description="阶梯: 不在任何档位时的得分")

    @model_validator(mode="after")
    def _parameters(self) -> Rule:
        if self.kind == "deduction" and (not self.step or self.loss is None):
            raise ValueError("扣分规则需要 step 与 loss")
        if self.kind == "tiers" and not self.tiers:
            raise ValueError("阶梯规则需要至少一个档位")
        return self


class KnownIndicator(_Strict, frozen=True):
    """A 三级指标 the framework defines, with its 分值 and (optionally) its rule."""

    name: str
    max_score: Dec
    rule: Rule | None = None
    target: str | None = Field(default=None, description="参考年度指标值")
    hint: str | None = Field(default=None, description="指标解释与评分说明")


class GroupDef(_Strict, frozen=True):
    """A 二级指标 with the 三级 indicators the framework knows."""

    name: str
    indicators: list[KnownIndicator] = Field(default_factory=list)
    hint: str | None = None


class Level1Def(_Strict, frozen=True):
    """A 一级指标 and its 权重."""

    name: str
    weight: Dec
    groups: list[GroupDef]


class Grade(_Strict, frozen=True):
    """A grade and the lowest total that earns it."""

    name: str
    min: Dec


class Section(_Strict, frozen=True):
    """A heading of the 附件7 report outline; leaves carry the text a unit writes."""

    id: str
    title: str
    required: bool = True
    hint: str | None = None
    children: list[Section] = Field(default_factory=list)


class Framework(_Strict, frozen=True):
    """The indicator framework of one region and year."""

    id: str
    version: str
    name: str
    region: str
    year: int | None = None
    total: Dec = Decimal(100)
    levels: list[Level1Def]
    grades: list[Grade]
    qualitative_bands: list[QualitativeBand]
    outline: list[Section]
    private_fields: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    sha256: str = Field(default="", description="规范化 JSON 的 SHA-256，加载时计算")

    @model_validator(mode="after")
    def _grades_descending(self) -> Framework:
        mins = [g.min for g in self.grades]
        if None in mins or mins != sorted((m for m in mins if m is not None), reverse=True):
            raise ValueError("等级须给出最低分，并按最低分从高到低排列")
        return self

    def grade_of(self, total: Decimal) -> str | None:
        for grade in self.grades:
            if grade.min is not None and total >= grade.min:
                return grade.name
        return None

    def level1(self, name: str) -> Level1Def | None:
        return next((lv for lv in self.levels if lv.name == name), None)

    def leaf_sections(self) -> list[Section]:
        """The sections a unit writes text into, in outline order."""
        leaves: list[Section] = []

        def walk(sections: list[Section]) -> None:
            for section in sections:
                if section.children:
                    walk(section.children)
                else:
                    leaves.append(section)

        walk(self.outline)
        return leaves
