"""Lookups the rules make in a framework, built once per framework object instead of per row.

`evaluate` asked `Framework.level1` (a scan), `_known` (a scan keying every known name) and
`leaf_sections` (a walk) again for every submission; consolidation evaluates thousands of
submissions under the same framework object. The answers are the same as those scans give:
the first match in framework order wins. The index also keeps, per row name, what a row's
checks need of its name (`row_facts`), and the required report sections with their texts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ..model.evaluation import Finding, IndicatorResult
from ..model.framework import Framework, KnownIndicator, Level1Def, QualitativeBand, Rule
from ..model.measures import is_blank
from ..model.numbers import ZERO

_LABEL = re.compile(r"[（(]\s*([0-9０-９]+(?:[.．][0-9０-９]+)?)\s*分\s*[）)]\s*$")


@lru_cache(maxsize=8192)
def split_label(name: str) -> tuple[str, Decimal | None]:
    """'预算编制完整性（2分）' → ('预算编制完整性', 2); the name keeps its own characters."""
    text = name.strip()
    match = _LABEL.search(text)
    if not match:
        return text, None
    return text[: match.start()].strip(), Decimal(unicodedata.normalize("NFKC", match.group(1)))


@lru_cache(maxsize=8192)
def indicator_key(name: str) -> str:
    """An indicator's name without its '（2分）' label, full-width folded, white space dropped.

    Cached: the same names come back in every submission."""
    return name_key(split_label(name)[0])


@lru_cache(maxsize=1024)
def name_key(name: str) -> str:
    """A 一级 or 二级 name as the framework is looked up by: full-width folded, white space
    dropped, so a cell wrapped in Word or Excel ('管理\n指标', '部门预算　管理') is still found."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


@dataclass(frozen=True, slots=True)
class RowFacts:
    """What `_check_item` needs of a row that follows from its name alone (and its place)."""

    name: str  # without its '（2分）' label
    label: Decimal | None
    what: str  # “name”, as the messages quote it
    stripped: str  # the name as typed, stripped
    blank: bool  # no name at all
    known_max: Decimal | None  # the framework's 分值 for a known indicator
    rule: Rule | None  # the framework's rule for a known indicator


_MAX_ROWS = 4096


@dataclass(frozen=True)
class FrameworkIndex:
    levels: dict[str, Level1Def]  # name_key(name) → level
    known: dict[tuple[int, str], dict[str, KnownIndicator]]  # (id of the level, name_key(group)) → key → known
    # (id, path, what) of each required leaf section, for its MISSING_REQUIRED finding
    required_sections: tuple[tuple[str, str, str], ...]
    top_band: QualitativeBand | None
    # (low, high, whether the band equals the top band) of those with both bounds, in order
    bands: tuple[tuple[Decimal, Decimal, bool], ...]
    # (level name, group name, row name, custom) → facts; the same rows recur in every
    # submission under this framework. Bounded: emptied when full.
    rows: dict[tuple[str, str, str, bool], RowFacts]
    # a known row's values and place → its result and findings (rules/indicators.py)
    checked: dict[tuple[str, ...], tuple[IndicatorResult, tuple[Finding, ...]]]

    def level1(self, name: str) -> Level1Def | None:
        return self.levels.get(name_key(name))

    def row_facts(self, level_name: str, group: str, name: str, custom: bool) -> RowFacts:
        key = (level_name, group, name, custom)
        facts = self.rows.get(key)
        if facts is None:
            known = None if custom else self.known_indicator(self.level1(level_name), group, name)
            short, label = split_label(name)
            facts = RowFacts(short, label, f"“{short or '（未命名指标）'}”", name.strip(),
                             is_blank(name), None if known is None else known.max_score,
                             None if known is None else known.rule)
            if len(self.rows) >= _MAX_ROWS:
                self.rows.clear()  # one step, safe with the server's threads (popping the oldest is not)
            self.rows[key] = facts
        return facts

    def known_indicator(self, level: Level1Def | None, group: str, name: str) -> KnownIndicator | None:
        if level is None:
            return None
        names = self.known.get((id(level), name_key(group)))
        return None if names is None else names.get(indicator_key(name))


def _build(fw: Framework) -> FrameworkIndex:
    levels: dict[str, Level1Def] = {}
    known: dict[tuple[int, str], dict[str, KnownIndicator]] = {}
    for level in fw.levels:
        levels.setdefault(name_key(level.name), level)
        for group in level.groups:
            names = known.setdefault((id(level), name_key(group.name)), {})
            for item in group.indicators:
                names.setdefault(indicator_key(item.name), item)
    bands = fw.qualitative_bands
    top = max(bands, key=lambda b: b.high or ZERO) if bands else None
    bounded = tuple((b.low, b.high, b == top) for b in bands
                    if b.low is not None and b.high is not None)
    required = tuple((s.id, f"report.sections.{s.id}", f"自评报告“{s.title}”")
                     for s in fw.leaf_sections() if s.required)
    return FrameworkIndex(levels, known, required, top, bounded, {}, {})


# Keyed by the object's id while holding the object itself, so the id cannot be reused by
# another framework while its entry lives. Frameworks are frozen models; few are ever loaded.
_INDEX: dict[int, tuple[Framework, FrameworkIndex]] = {}
_MAX_INDEXED = 32


def framework_index(fw: Framework) -> FrameworkIndex:
    entry = _INDEX.get(id(fw))
    if entry is not None and entry[0] is fw:
        return entry[1]
    index = _build(fw)
    if len(_INDEX) >= _MAX_INDEXED:
        _INDEX.clear()  # one step, safe with the server's threads
    _INDEX[id(fw)] = (fw, index)
    return index
