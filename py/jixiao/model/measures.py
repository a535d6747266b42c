"""Reading the 年度指标值 / 全年完成值 cells: `≥95%`, `≤5%`, `83家`, `706.73`, `完整`.

A cell is either a measure (an optional comparator, a number and a unit) or qualitative
text. Units are compared as written — a mismatch is reported, never converted — except that
a bare 0 matches any unit (the seed's 结转结余率 `≤5%` / `0`), and 日 is read as 天: two words
for the same unit, not a conversion (个工作日 stays its own unit).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

GE, LE, GT, LT, EQ = ">=", "<=", ">", "<", "="
# 达到95% / 达95%: as a target it asks for at least 95%; as an actual it reports 95% reached, a
# value rather than a range. The scoring rules read it by which side it stands on.
REACH = "reach"

# Longest words first so that 大于等于 wins over 大于.
_PREFIXES: list[tuple[str, str]] = sorted(
    [
        ("达到", REACH), ("达", REACH),
        (">=", GE), ("≥", GE), ("≧", GE), ("⩾", GE), ("不低于", GE), ("不少于", GE),
        ("大于等于", GE), ("大于或等于", GE), ("至少", GE), ("不小于", GE),
        ("<=", LE), ("≤", LE), ("≦", LE), ("⩽", LE), ("不高于", LE), ("不超过", LE),
        ("不多于", LE), ("小于等于", LE), ("小于或等于", LE), ("不大于", LE), ("最多", LE),
        (">", GT), ("大于", GT), ("高于", GT), ("超过", GT),
        ("<", LT), ("小于", LT), ("低于", LT),
        ("=", EQ), ("等于", EQ),
    ],
    key=lambda pair: -len(pair[0]),
)
# The same words as one pattern, tried in that order (an alternation takes its first match):
# one regex call instead of thirty `startswith`. A cell is parsed once, then cached, but a
# batch of new submissions brings new cells, and parsing was a fifth of `evaluate`.
_PREFIX = re.compile("|".join(re.escape(word) for word, _ in _PREFIXES))
_COMPARATOR_OF = {word: comp for word, comp in reversed(_PREFIXES)}  # the first one wins
_SUFFIXES: list[tuple[str, str]] = sorted(
    [("以上", GE), ("及以上", GE), ("以内", LE), ("以下", LE), ("及以下", LE)],
    key=lambda pair: -len(pair[0]))
_SUFFIX_WORDS = tuple(word for word, _ in _SUFFIXES)
_SAME_UNIT = {"日": "天"}
_BODY = re.compile(r"^(?P<num>[+-]?(\d+(\.\d+)?|\.\d+))(?P<unit>[^\d.+-]{0,8})$")


class Measure(NamedTuple):
    """A number with its comparator and unit, as a target or an actual was written.

    A named tuple (it was a frozen dataclass, whose `__init__` cost half of a parse)."""

    comparator: str | None
    value: Decimal
    unit: str

    @property
    def bare_zero(self) -> bool:
        return self.value == 0 and self.unit == ""


@lru_cache(maxsize=8192)
def normalize_text(text: str | None) -> str:
    """Fold full-width forms and drop all white space, so '规范\\n合理' == '规范 合理'.

    Cached: the same cells are read again on every keystroke in the browser.
    """
    return _normalize(text)


def _normalize(text: str | None) -> str:
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    # `split()` splits at exactly the characters `\s` matches (both ask `str.isspace`).
    return "".join(folded.split()).replace(",", "")


@lru_cache(maxsize=8192)
def parse_measure(text: str | None) -> Measure | None:
    """The measure a cell states, or None when it is qualitative (or blank)."""
    body = _normalize(text)  # not through `normalize_text`'s cache: this one caches the result
    if not body:
        return None
    comparator: str | None = None
    prefix = _PREFIX.match(body)
    if prefix is not None:
        comparator, body = _COMPARATOR_OF[prefix.group()], body[prefix.end():]
    if body.endswith(_SUFFIX_WORDS):  # seldom: one call instead of four
        for word, comp in _SUFFIXES:
            if body.endswith(word):
                if comparator is None or comparator == REACH:  # 达到95%以上 is ≥95%
                    comparator = comp
                body = body[: -len(word)]
                break
    match = _BODY.match(body)
    if not match:
        return None
    unit = match.group("unit")
    return Measure(comparator, Decimal(match.group("num")), _SAME_UNIT.get(unit, unit))


def is_blank(text: str | None) -> bool:
    """Nothing but white space (full-width spaces and newlines included)."""
    return not text or not text.strip()
