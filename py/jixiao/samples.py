"""Deterministic generated submissions, for benchmarks and for comparing runtimes.

`random_submission(seed, framework)` gives the same submission for the same seed on every
Python (CPython, Pyodide), so the two runtimes can be compared evaluation by evaluation.
Only integers come from the generator; every amount is built from them as a Decimal.
"""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from .model.framework import Framework, GroupDef
from .model.submission import (
    FundRow,
    Funds,
    Goal,
    Group,
    Indicator,
    Level1,
    Report,
    ReportFigures,
    Staffing,
    Submission,
)

_WORDS = ("完整", "规范", "健全", "公开", "提升", "提高", "及时", "有效")
_UNITS = ("%", "家", "个", "万元", "天", "")


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _target_actual(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(6)
    if shape == 0:
        word = rng.choice(_WORDS)
        return word, rng.choice([word, word, "基本" + word, "未" + word])
    value, unit = rng.randint(1, 120), rng.choice(_UNITS)
    actual = max(0, value + rng.randint(-30, 30))
    actual_unit = unit if rng.randrange(12) else rng.choice(_UNITS)
    comparator = ("≥", "≤", "", "≥", "")[shape - 1]
    return f"{comparator}{value}{unit}", f"{actual}{actual_unit}"


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """Split `total` points into `parts` positive multiples of 0.5."""
    halves = int(total * 2)
    parts = max(1, min(parts, halves))
    cuts = sorted(rng.sample(range(1, halves), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, halves]
    return [Decimal(b - a) / 2 for a, b in itertools.pairwise(bounds)]


def _score(rng: random.Random, maximum: Decimal) -> Decimal:
    roll = rng.randrange(10)
    if roll < 6:
        return maximum
    if roll == 9:
        return maximum + 1 if rng.randrange(2) else Decimal(-1)
    return Decimal(rng.randint(0, int(maximum * 2))) / 2


def _group(rng: random.Random, gdef: GroupDef, share: Decimal) -> Group:
    items: list[Indicator] = []
    if gdef.indicators:
        for known in gdef.indicators:
            target = known.target or "完整"
            actual = target if rng.randrange(3) else _target_actual(rng)[1]
            maximum = known.max_score or Decimal(1)
            items.append(Indicator(name=known.name, target=target, actual=actual,
                                   max_score=maximum, score=_score(rng, maximum)))
    elif share > 0:
        for n, maximum in enumerate(_split(share, rng.randint(1, 3), rng), start=1):
            target, actual = _target_actual(rng)
            score = _score(rng, maximum)
            items.append(Indicator(
                name=f"{gdef.name}{n}", target=target, actual=actual, max_score=maximum,
                score=score, deviation="" if rng.randrange(3) == 0 else "进度偏差，已整改",
                custom=True))
    return Group(name=gdef.name, items=items)


def random_submission(seed: int, framework: Framework) -> Submission:
    """A plausible, imperfect submission: some rows are wrong on purpose."""
    rng = random.Random(seed)
    fiscal, other = _money(rng, 10, 9000), _money(rng, 0, 500)
    basic = (fiscal + other) * rng.randint(5, 40) / 100
    basic = basic.quantize(Decimal("0.01"))
    project = fiscal + other - basic
    ratio = Decimal(rng.randint(80, 102)) / 100

    def row(budget: Decimal) -> FundRow:
        executed = (budget * ratio).quantize(Decimal("0.01"))
        rate = (executed * 100 / budget).quantize(Decimal(1)) if budget else None
        return FundRow(budget=budget, executed=executed, rate=rate)

    levels: list[Level1] = []
    for level in framework.levels:
        weight = level.weight or Decimal(0)
        fixed = sum((k.max_score or Decimal(0) for g in level.groups for k in g.indicators),
                    Decimal(0))
        open_groups = [g for g in level.groups if not g.indicators]
        shares = _split(weight - fixed, len(open_groups), rng) if weight > fixed else []
        share_of = dict(zip((g.name for g in open_groups), shares, strict=False))
        groups = [_group(rng, g, share_of.get(g.name, Decimal(0))) for g in level.groups]
        levels.append(Level1(name=level.name, weight=weight, groups=groups))
    total = sum((i.score or Decimal(0) for lv in levels for g in lv.groups for i in g.items),
                Decimal(0))
    declared_total = total if rng.randrange(5) else total + 1
    grade = framework.grade_of(declared_total) or ""
    sections = {s.id: f"第{seed}号单位关于“{s.title}”的说明。" for s in framework.leaf_sections()}
    admin, inst = rng.randint(0, 40), rng.randint(0, 40)
    return Submission(
        framework_id=framework.id, framework_version=framework.version,
        year=2021 + rng.randrange(4), unit_name=f"示例单位{seed}", unit_code=f"U{seed:06d}",
        department="示例主管部门", unit_kind="本级" if seed % 4 == 0 else "所属单位",
        subordinate_units=rng.randint(0, 5),
        funds=Funds(fiscal=row(fiscal), other=row(other), basic=row(basic), project=row(project)),
        goal=Goal(target="完成年度重点任务", completion="已完成年度重点任务"),
        indicators=levels, total=declared_total,
        report=Report(sections=sections, figures=ReportFigures(
            budget=fiscal + other, rate=None, grade=grade,
            staffing=Staffing(authorized=admin + inst, authorized_admin=admin,
                              authorized_institution=inst))),
    )
