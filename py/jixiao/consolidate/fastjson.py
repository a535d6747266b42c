"""JSON for thousands of bundles: orjson (Rust) where it is installed, the standard library elsewhere.

Why: consolidation parses every signed submission and proves its text canonical. On CPython with
the `cli` extra, orjson parses a submission in half json's time and writes it back with sorted
keys in a sixth. In Pyodide (the 汇总 page) it is absent and json does the same work. Either
way the answers are the same: orjson's strings are escaped exactly as json's (and RFC 8785's),
it refuses more than json (a BOM, a lone surrogate, NaN), and what it refuses is handed to json;
`tests/test_consolidate_canonical.py` runs every crafted payload through both.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # Pyodide, or an install without the cli extra
    orjson = None


def loads(data: bytes) -> Any:
    """Parsed JSON; ValueError (or RecursionError) for what json refuses too."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # a BOM, a lone surrogate, NaN, a number too large: json decides, as before
    return json.loads(data)


def sorted_text(value: Any) -> bytes | None:
    """`value` written compactly with its keys sorted by code point, as RFC 8785 writes plain data
    whose keys lie in the BMP; None when orjson is not here (the caller writes it another way)."""
    if orjson is None:
        return None
    try:
        text: bytes = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return b""  # nothing canonical can be written of it
    return text
