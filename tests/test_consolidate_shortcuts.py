"""The shortcuts of `consolidate.check` give exactly what the plain computations give."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao.consolidate.check import _b64, _compact


def _b64_reference(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return None
    return data if base64.b64encode(data).decode("ascii") == value else None


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n"


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=16) | st.binary(max_size=40).map(
    lambda b: base64.b64encode(b).decode("ascii")))
def test_canonical_base64_as_the_full_reencoding_decides(value: str) -> None:
    for text in (value, value + "=", value[:-1], value.rstrip("="), value + "AAAA", value[:-2] + "B" + value[-1:]):
        assert _b64(text) == _b64_reference(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.dictionaries(
    st.sampled_from(["keyid", "alg", "sig", "public_key", "payload"]),
    st.text(alphabet='ab"\\:,{}payload\u4e2d\u00e9\x01', max_size=20)), max_size=3),
    st.booleans())
def test_compact_envelope_equals_json_dumps(payload: bytes, signatures: list[dict[str, str]],
                                            payload_first: bool) -> None:
    encoded = base64.b64encode(payload).decode("ascii")
    doc: dict[str, Any] = (
        {"payload": encoded, "payloadType": 'x"payload":""', "signatures": signatures} if payload_first
        else {"signatures": signatures, "payloadType": 'a"payload":""b', "payload": encoded})
    assert _compact(doc) == json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
