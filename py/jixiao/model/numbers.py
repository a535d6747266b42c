"""Decimal arithmetic for money, rates and scores.

Every amount is a `Decimal`, rounded half up (四舍五入) at the precision the tables print:
money and rates with two decimals, scores with at most two. Floats never enter: a float
given as input is refused by the model before it gets here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Annotated

from .base import Custom

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def round2(value: Decimal) -> Decimal:
    """Round half up to two decimals, the precision of every printed amount."""
    try:
        return value.quantize(CENT, ROUND_HALF_UP)  # positional: a keyword is parsed at each call
    except InvalidOperation:
        return _wide_quantize(value, CENT, ROUND_HALF_UP)


def _wide_quantize(value: Decimal, step: Decimal, rounding: str | None = None) -> Decimal:
    """`quantize` where the result has more digits than the context's 28: a ratio of bounded
    entries can be that large (a rate over a budget of 0.000001), and is kept, not refused."""
    if not value.is_finite():
        raise InvalidOperation(value)
    with localcontext() as wide:
        wide.prec = max(wide.prec, value.adjusted() - step.adjusted() + 3)
        return value.quantize(step, rounding)


def plain(value: Decimal) -> str:
    """Decimal as a plain string without exponent or trailing zeros: 98, 1.5, 0.25."""
    # Most values already print so ('98', '2.5', '-0'), and the rest mostly differ by trailing
    # zeros ('2.00' from `round2`): `str` says it without hashing the value for the cache (a new
    # Decimal's first hash cost more than the rest of this). Short texts only, without an
    # exponent, finite only, so nothing that `_plain` rounds or refuses gets through.
    text = str(value)
    if len(text) <= 20 and "E" not in text and value.is_finite():
        if text[-1] != "0" or "." not in text:
            return text
        return text.rstrip("0").rstrip(".")  # '2.00' → '2', '1.50' → '1.5', '-0.0' → '-0'
    return _cached(_PLAIN, _plain, value)


def fixed2(value: Decimal) -> str:
    """Decimal rounded half up to two decimals, as the tables print money and rates: 5479.62."""
    # Amounts are mostly already of two places (read so, or rounded by `round2`): then `str` says
    # it, a fifth of `_fixed2`'s time and without hashing the value. Exactly two digits after the
    # point means an exponent of -2, which `str` writes without an exponent.
    text = str(value)
    if text[-3:-2] == "." and "E" not in text:
        return text
    return _cached(_FIXED, _fixed2, value)


def _plain(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    # Not `normalize()`: it rounds to the context's 28 digits, and an entry may hold 30.
    return format(value, "f").rstrip("0")


def _fixed2(value: Decimal) -> str:
    return format(round2(value), "f")


# Both texts depend only on the value (1.5 and 1.50 print alike), except that zero keeps its
# sign ("-0"), so zeros are never cached: equal keys always share their text. Serialising an
# evaluation asks for the same few hundred scores and amounts thousands of times.
_PLAIN: dict[Decimal, str] = {}
_FIXED: dict[Decimal, str] = {}
_CACHE_LIMIT = 16384


def _cached(cache: dict[Decimal, str], render: Callable[[Decimal], str], value: Decimal) -> str:
    try:
        text = cache.get(value)
    except TypeError:  # a signalling NaN cannot be hashed: let the renderer raise as it did
        return render(value)
    if text is None:
        text = render(value)
        if value and len(cache) < _CACHE_LIMIT:
            cache[value] = text
    return text


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator as a percentage with two decimals; None when undefined."""
    exact = exact_percent(numerator, denominator)
    return None if exact is None else round2(exact)


def exact_percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator as a percentage, not rounded (to compare with a declared rate:
    rounding 99.495 to 99.50 and then to 100 would call a declared 99% wrong)."""
    if denominator == 0:
        return None
    return numerator * HUNDRED / denominator


def matches_as_written(declared: Decimal, computed: Decimal) -> bool:
    """Compare at the precision the unit wrote (0–2 places): a declared 100% matches 99.996%.

    `computed` should be the exact value, not one already rounded to two places; both sides
    are rounded half up (a declared 99.485 is 99.49 at two places, as the computed one is)."""
    exponent = declared.as_tuple().exponent
    step = _STEPS[max(0, min(2, -exponent)) if isinstance(exponent, int) else 0]
    try:
        return computed.quantize(step, ROUND_HALF_UP) == declared.quantize(step, ROUND_HALF_UP)
    except InvalidOperation:
        return (_wide_quantize(computed, step, ROUND_HALF_UP)
                == _wide_quantize(declared, step, ROUND_HALF_UP))


_STEPS = tuple(Decimal(1).scaleb(-places) for places in range(3))  # 1, 0.1, 0.01


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_decimal(raw: object) -> Decimal | None:
    """Read a number a person typed: '5,462.67', '１００', '98分', '100%', ' 8\\n'.

    Returns None for blank input. Raises ValueError with a Chinese message for text that
    is not a number, so the model can name the field.
    """
    if type(raw) is str:  # the usual case: a JSON string, and the same few hundred recur
        known = _READ.get(raw)
        if known is not None:
            return known
        value = _read_text(raw)
        if value is not None and len(raw) <= 64 and len(_READ) < _CACHE_LIMIT:
            _READ[raw] = value
        return value
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError("应为数字")
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError("应为有限数字")
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        raise ValueError("数字请以字符串书写（例如 \"5479.62\"），以免二进制浮点误差")
    if not isinstance(raw, str):
        raise ValueError("应为数字")
    return _read_text(raw)


_READ: dict[str, Decimal] = {}  # text → its value; Decimals are immutable, so one can be shared


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?(万元|分|%)?$")  # 5,462.67: a comma every three digits


def _read_text(raw: str) -> Decimal | None:
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if "," in text:
        # "1,5" or "16,95" is a decimal comma, not a thousands separator: read as 15 and 1695 it
        # gave a score ten times over or an amount a hundred times over, without a word.
        if not _GROUPED.match(text):
            raise ValueError(f"“{raw.strip()[:40]}”不是数字：千位分隔符“,”应每三位一个（如 5,462.67），小数点请用“.”")
        text = text.replace(",", "")
    for suffix in ("万元", "分", "%"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    if text == "":
        return None
    if not _NUMBER_TEXT.match(text):
        raise ValueError(f"“{raw.strip()[:40]}”不是数字")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"“{raw.strip()[:40]}”不是数字") from exc


def _serialize(value: Decimal | None) -> str | None:
    if value is None:
        return None
    # `plain`'s own shortcut first (no hashing), then its cache: this runs for every decimal of every dump.
    text = str(value)
    if len(text) <= 20 and "E" not in text and ("." not in text or text[-1] != "0") and text[-1:] in _DIGITS:
        return text
    try:
        known = _PLAIN.get(value)
    except TypeError:  # a signalling NaN cannot be hashed
        return _plain(value)
    return _cached(_PLAIN, _plain, value) if known is None else known


_DIGITS = frozenset("0123456789")  # NaN and Infinity end otherwise


# The canonical texts of the two types, what `_serialize` / `fixed2` write and `Decimal` reads
# back unchanged: the records' canonical reader takes them without `parse_decimal`.
PLAIN_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")
FIXED2_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}")


def _serialize_fixed(value: Decimal | None) -> str | None:
    return None if value is None else fixed2(value)


_SCHEMA = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$"}

# A decimal field: accepts "5479.62", 5479, "98分", "100%"; serialises as a plain string.
Dec = Annotated[Decimal | None, Custom(parse_decimal, _serialize, _SCHEMA, PLAIN_TEXT, Decimal, 20)]

# Money and rates as printed in the tables: always two decimals ("5479.62", "100.00").
Fixed2 = Annotated[Decimal | None, Custom(parse_decimal, _serialize_fixed, _SCHEMA, FIXED2_TEXT, Decimal, 30)]


# --- what a unit enters ------------------------------------------------------------------------

# The largest entry: 15 digits before the point (10^15 万元 is some ten thousand times a
# country's budget) and 15 after it (a float's artefacts pasted from a spreadsheet,
# 5479.6200000000001, still fit). Beyond that a number is a slip of the keyboard, and Decimal's
# 28 digits would no longer hold the sums and rates `evaluate` takes of it.
MAX_WHOLE_DIGITS = 15
MAX_FRACTION_DIGITS = 15


def parse_entry(raw: object) -> Decimal | None:
    """`parse_decimal`, refusing what no form means (ValueError with a Chinese message)."""
    value = parse_decimal(raw)
    if value is None:
        return None
    if value.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(_TOO_LARGE)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        raise ValueError(f"小数位数过多（超过 {MAX_FRACTION_DIGITS} 位），请核对")
    return value


def parse_entry_fixed2(raw: object) -> Decimal | None:
    """`parse_entry` for an amount written with two decimals: rounded, it must still fit
    (999999999999999.996 would be written 1000000000000000.00, which is refused when read)."""
    value = parse_entry(raw)
    if value is not None and abs(value) >= _FIXED2_LIMIT:
        raise ValueError(_TOO_LARGE)
    return value


_TOO_LARGE = f"数值过大（整数部分超过 {MAX_WHOLE_DIGITS} 位），请核对"
_FIXED2_LIMIT = Decimal(10) ** MAX_WHOLE_DIGITS - Decimal("0.005")


# --- units a number is typed with ---------------------------------------------------------------

# What each kind of box may end with, and what to say when it ends otherwise: "95%" in a 得分 box
# was read as 95 without a word (a unit that typed a rate there meant something else), and "98分"
# in an amount as 98 万元.
_UNITS = ("万元", "分", "%")
_KINDS: dict[str, tuple[str, str]] = {
    "money": ("万元", "这里填金额（万元），请只填数字，如 5479.62"),
    "rate": ("%", "这里填执行率（百分数），请只填数字，如 100 或 100%"),
    "score": ("分", "这里填分数，请只填数字，如 95 或 95分"),
}


def unit_problem(raw: object, kind: str) -> str | None:
    """The Chinese reason a typed number ends with a unit that does not fit its box (`kind`:
    money, rate or score), else None. Numbers and text ending in a digit are never refused."""
    if type(raw) is not str or raw[-1:].isdigit():
        return None
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    unit = next((u for u in _UNITS if text.endswith(u)), None)
    allowed, hint = _KINDS[kind]
    if unit is None or unit == allowed:
        return None
    return f"“{raw.strip()[:40]}”带有“{unit}”：{hint}"


def _entry_of(kind: str, parse: Callable[[object], Decimal | None]) -> Callable[[object], Decimal | None]:
    def read(raw: object) -> Decimal | None:
        problem = unit_problem(raw, kind)
        if problem is not None:
            raise ValueError(problem)
        return parse(raw)
    read.__name__ = f"parse_{kind}_entry"
    read.__doc__ = f"`{parse.__name__}` for a {kind} box: refuses a unit that belongs to another box."
    return read


def _money(raw: object) -> Decimal | None:
    """An amount as the tables write it, rounded half up to two decimals when read: the form's
    checks then see the figure the signed bundle holds. Scored unrounded, 100.005 + 99.995 was
    200 in the form and 200.01 once signed, and the bundle carried errors the unit never saw."""
    value = parse_entry_fixed2(raw)
    return None if value is None else round2(value)


parse_money_entry = _entry_of("money", _money)
parse_rate_entry = _entry_of("rate", parse_entry)
parse_score_entry = _entry_of("score", parse_entry)


# The canonical texts within those bounds (the canonical reader takes them without `parse_entry`).
ENTRY_TEXT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{0,14}[1-9])?")
ENTRY_FIXED2_TEXT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})\.[0-9]{2}")
_ENTRY_SCHEMA = {"type": ["string", "null"], "pattern": r"^-?\d{1,15}(\.\d{1,15})?$"}

# Numbers a unit enters in its table and report: as `Dec` and `Fixed2`, within the bounds above;
# amounts, rates and scores each refuse the others' units.
EntryDec = Annotated[Decimal | None, Custom(parse_entry, _serialize, _ENTRY_SCHEMA, ENTRY_TEXT, Decimal, 32)]
EntryMoney = Annotated[Decimal | None, Custom(parse_money_entry, _serialize_fixed, _ENTRY_SCHEMA, ENTRY_FIXED2_TEXT,
                                              Decimal, 19)]
EntryRate = Annotated[Decimal | None, Custom(parse_rate_entry, _serialize, _ENTRY_SCHEMA, ENTRY_TEXT, Decimal, 32)]
EntryScore = Annotated[Decimal | None, Custom(parse_score_entry, _serialize, _ENTRY_SCHEMA, ENTRY_TEXT, Decimal, 32)]
