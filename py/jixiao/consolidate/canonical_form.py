"""Whether a signed payload is in its RFC 8785 canonical form, decided fast.

The strict reader (`bundle.payload.parse_payload`, through `canonical.canonical_json`) is the
definition; consolidation asks it only about what these tests do not take. `canonical_raw` holds a
whole payload to its canonical form, `plain_canonical` a part of one (consolidation parses only
the submission and the small members of a valid payload: see check.py). The standard library's
json is the parser and printer here, as in Pyodide.
"""

from __future__ import annotations

import json
from typing import Any

from ..canonical import NON_BMP_LEADS, canonical_json

MAX_SAFE_INT = 2**53 - 1
SORTED_KEYS: set[tuple[str, ...]] = set()  # key orders seen sorted: the same few dozen recur in every payload
SORTED_KEYS_LIMIT = 4096


def plain_sorted(value: Any) -> bool:
    """Whether every object of a parsed value has its keys in increasing order and every number is
    an integer within ±(2**53-1): one loop over a stack, no call per value (a recursive walk or a
    sorted `json.dumps` cost several times more). A key order once found sorted is remembered
    (by the keys themselves), so most objects cost a tuple and a set lookup, not a sort."""
    stack = [value]
    pop, push, known = stack.pop, stack.append, SORTED_KEYS
    while stack:
        node = pop()
        if type(node) is dict:
            keys = tuple(node)
            if keys not in known:
                if list(keys) != sorted(keys):  # no equal keys in a dict: sorted means strictly increasing
                    return False
                if len(known) < SORTED_KEYS_LIMIT:
                    known.add(keys)
            items: Any = node.values()
        elif type(node) is list:
            items = node
        else:
            items = (node,)
        for item in items:
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is dict or kind is list:
                push(item)
            elif kind is not int or not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return False  # a float (1.0, 1e2, 1e400 read as inf), an unsafe integer
    return True


def canonical_raw(payload: bytes) -> Any | None:
    """The parsed payload when it is the RFC 8785 form of plain data; None sends it to the strict
    parser. Python's str order is JCS's UTF-16 order for BMP keys; a payload with any character
    beyond the BMP is held to `canonical_json` instead of `plain_canonical`'s round trip."""
    if not beyond_bmp(payload):
        return _round_trip(payload)
    try:
        raw = json.loads(payload, parse_constant=no_float)
        return raw if canonical_json(raw) == payload else None  # it refuses floats and unsafe integers
    except (ValueError, RecursionError):  # not JSON, too deep, or a value canonical_json refuses
        return None


def beyond_bmp(text: bytes) -> bool:
    return any(lead in text for lead in NON_BMP_LEADS)  # memchr: a regex class scan cost 0.09 ms


def no_float(text: str) -> Any:
    raise ValueError("float")


def safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INT:
        raise ValueError("int")
    return value


def plain_canonical(text: bytes) -> Any | None:
    """`text` parsed when it is the canonical form of plain data with no character beyond the BMP."""
    return None if beyond_bmp(text) else _round_trip(text)


_PRINT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _round_trip(text: bytes) -> Any | None:
    """`plain_canonical` for text known to hold no character beyond the BMP.
    `print(parse(t)) == t` pins the spelling (no whitespace, escapes written as JCS writes them:
    json's are the same, no duplicate key, '-0', BOM or trailing text survives the round trip);
    `plain_sorted` adds what the printer would print back unchanged: key order, floats and
    unsafe integers."""
    try:
        value = json.loads(text, parse_constant=no_float)
        printed = _PRINT(value).encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
    except (ValueError, RecursionError):  # not JSON, or too deep
        return None
    return value if printed == text and plain_sorted(value) else None
