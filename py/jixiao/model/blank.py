"""An empty submission shaped by a framework: the form a unit starts from.

The framework decides the 一级 with their 权重, the 二级 groups, the 三级 indicators it knows
(name, 分值, reference target) and the report sections; everything the unit types stays empty.
The year is a parameter: the library never reads the clock.
"""

from __future__ import annotations

from .framework import Framework, GroupDef
from .submission import Group, Indicator, Level1, Report, Submission


def _group(group: GroupDef) -> Group:
    return Group(name=group.name, items=[
        Indicator(name=known.name, target=known.target or "", max_score=known.max_score)
        for known in group.indicators
    ])


def blank_submission(framework: Framework, year: int) -> Submission:
    """The framework's table with nothing filled in; `evaluate` lists what is still missing."""
    return Submission(
        framework_id=framework.id,
        framework_version=framework.version,
        year=year,
        indicators=[
            Level1(name=level.name, weight=level.weight, groups=[_group(g) for g in level.groups])
            for level in framework.levels
        ],
        report=Report(sections={section.id: "" for section in framework.leaf_sections()}),
    )
