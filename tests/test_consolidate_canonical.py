"""The consolidation check's fast canonical test accepts exactly what the strict parser accepts.

Why: `check.py` decides "is this payload RFC 8785 canonical?" with json (parse, print back
compactly, compare the bytes) and one walk for key order, floats and unsafe integers, instead of the
strict `parse_payload` (json + sorted `canonical_json`). A difference in either direction would
let a non-canonical payload into 附件4 or turn a good unit away; a refusal must also carry the
strict parser's own message, as `jixiao verify` gives it.
"""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundle_helpers import entries, seed_bundle, unit_key
from jixiao.bundle import verify_file
from jixiao.bundle.envelope import SUBMISSION_TYPE, pae
from jixiao.bundle.keys import b64
from jixiao.bundle.payload import PayloadError, parse_payload, parse_signed_at
from jixiao.canonical import canonical_json
from jixiao.consolidate import check_bundle
from jixiao.consolidate.canonical_form import _PRINT, canonical_raw, plain_sorted
from jixiao.consolidate.check import _b64

# Every check here runs with orjson (the server) and with the standard library (the browser).
pytestmark = pytest.mark.usefixtures("json_backend")



def _strict(payload: bytes) -> object:
    """What `parse_payload` makes of the bytes as far as canonical form goes (None: refused)."""
    try:
        raw = json.loads(payload.decode("utf-8"))
        return raw if canonical_json(raw) == payload else None
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


def _same(payload: bytes) -> None:
    """The fast answer is the strict one (both parse with json, so nesting too deep for one is too
    deep for the other)."""
    strict = _strict(payload)
    fast = canonical_raw(payload)
    if fast is not None:
        assert fast == strict and type(fast) is type(strict)
    else:
        assert strict is None, payload[:200]


def _seed_payload() -> bytes:
    return base64.b64decode(json.loads(entries(seed_bundle()[1])[".json"])["payload"])


def _with_software(version_json: bytes) -> bytes:
    """The seed payload with the software version spelt as given (any JSON text)."""
    payload = _seed_payload()
    old = b'"version":"' + json.loads(payload)["software"]["version"].encode() + b'"'
    assert payload.count(old) == 1
    return payload.replace(old, b'"version":' + version_json)


def _envelope(payload: bytes) -> bytes:
    """The bytes signed properly by the seed unit's key, as an envelope .json."""
    key = unit_key()
    return json.dumps({"payloadType": SUBMISSION_TYPE, "payload": b64(payload), "signatures": [{
        "keyid": key.public.fingerprint_hex, "alg": "ed25519", "sig": b64(key.sign(pae(SUBMISSION_TYPE, payload))),
        "public_key": b64(key.public.raw)}]}).encode()


def _moved_first(payload: bytes, key: bytes) -> bytes:
    """The member starting at `key` (the last one) moved to the front of the payload."""
    at = payload.rindex(key)
    return b"{" + payload[at + 1:-1] + b"," + payload[1:at] + b"}"


def _moved_last(payload: bytes, key: bytes, before: bytes) -> bytes:
    """The member starting at `key` moved after the one starting at `before` (the last)."""
    start, end = payload.rindex(key), payload.rindex(before)
    return payload[:start] + payload[end:-1] + payload[start:end] + b"}"


CRAFTED = {
    "as signed": lambda p: p,
    "unsorted keys": lambda p: p.replace(b'{"evaluation":', b'{"signed_at":"x","evaluation":', 1),
    "whitespace": lambda p: p.replace(b'","', b'", "', 1),
    "trailing whitespace": lambda p: p + b" ",
    "trailing garbage": lambda p: p + b"x",
    "two documents": lambda p: p + b"{}",
    "BOM": lambda p: b"\xef\xbb\xbf" + p,
    "float": lambda p: _with_software(b"1.5"),
    "1.0": lambda p: _with_software(b"1.0"),
    "1e2": lambda p: _with_software(b"1e2"),
    "1E2": lambda p: _with_software(b"1E2"),
    "1e400": lambda p: _with_software(b"1e400"),
    "NaN": lambda p: _with_software(b"NaN"),
    "Infinity": lambda p: _with_software(b"Infinity"),
    "-Infinity": lambda p: _with_software(b"-Infinity"),
    "2**53-1": lambda p: _with_software(str(2**53 - 1).encode()),
    "-(2**53-1)": lambda p: _with_software(str(-(2**53 - 1)).encode()),
    "2**53": lambda p: _with_software(str(2**53).encode()),
    "-2**53": lambda p: _with_software(str(-(2**53)).encode()),
    "2**64": lambda p: _with_software(str(2**64).encode()),
    "-0": lambda p: _with_software(b"-0"),
    "0": lambda p: _with_software(b"0"),
    "leading zero": lambda p: _with_software(b"01"),
    "true": lambda p: _with_software(b"true"),
    "null": lambda p: _with_software(b"null"),
    "nested": lambda p: _with_software(b'{"b":[1,{"a":null}],"a":"x"}'),
    "nested sorted": lambda p: _with_software(b'{"a":"x","b":[1,{"a":null}]}'),
    "escaped slash": lambda p: _with_software(b'"a\\/b"'),
    "escaped letter": lambda p: _with_software(b'"\\u0041"'),
    "escaped newline as u000a": lambda p: _with_software(b'"\\u000a"'),
    "newline": lambda p: _with_software(b'"\\n"'),
    "raw newline": lambda p: _with_software(b'"\n"'),
    "u001f": lambda p: _with_software(b'"\\u001f"'),
    "uppercase u001F": lambda p: _with_software(b'"\\u001F"'),
    "raw DEL": lambda p: _with_software(b'"\x7f"'),
    "escaped DEL": lambda p: _with_software(b'"\\u007f"'),
    "raw U+2028": lambda p: _with_software('"\u2028\u2029"'.encode()),
    "escaped U+2028": lambda p: _with_software(b'"\\u2028"'),
    "non-ASCII": lambda p: _with_software('"版本é"'.encode()),
    "non-ASCII escaped": lambda p: _with_software(b'"\\u7248"'),
    "non-BMP": lambda p: _with_software('"😀"'.encode()),
    "non-BMP escaped": lambda p: _with_software(b'"\\ud83d\\ude00"'),
    "lone surrogate": lambda p: _with_software(b'"\\ud800"'),
    "lone low surrogate": lambda p: _with_software(b'"\\udc00x"'),
    "raw surrogate bytes": lambda p: _with_software(b'"\xed\xa0\x80"'),
    "invalid UTF-8": lambda p: _with_software(b'"\xff"'),
    "overlong UTF-8": lambda p: _with_software(b'"\xc0\xaf"'),
    "non-BMP keys, UTF-16 order": lambda p: _with_software('{"😀":1,"\uffff":2}'.encode()),
    "non-BMP keys, code point order": lambda p: _with_software('{"\uffff":2,"😀":1}'.encode()),
    "BMP keys, UTF-16 order": lambda p: _with_software('{"\ue000":1,"\uffff":2}'.encode()),
    "duplicate key": lambda p: _with_software(b'{"a":1,"a":1}'),
    "duplicate payload key": lambda p: p.replace(b'{"evaluation":', b'{"evaluation":null,"evaluation":', 1),
    "deep": lambda p: _with_software(b"[" * 300 + b"]" * 300),
    # the shape the shortcut in `_signed_as_recomputed` slices by
    "whitespace before the submission": lambda p: p.replace(b',"submission":{', b',"submission": {', 1),
    "two submissions": lambda p: p.replace(b',"submission":{', b',"submission":{},"submission":{', 1),
    "submission first": lambda p: _moved_first(p, b',"submission":'),
    "framework member twice": lambda p: p.replace(b',"framework":{', b',"framework":{},"framework":{', 1),
    "software after the submission": lambda p: _moved_last(p, b',"software":', b',"submission":'),
    "evaluation members unsorted": lambda p: p.replace(
        b'{"evaluation":{"execution_rate":', b'{"evaluation":{"total":"1","execution_rate":', 1),
    "evaluation with a float": lambda p: p.replace(
        b'{"evaluation":{"execution_rate":"', b'{"evaluation":{"execution_rate":1.5,"x":"', 1),
    "not an object": lambda p: b'["x"]',
    "empty": lambda p: b"",
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_payload_gets_the_strict_answer(name: str) -> None:
    payload = CRAFTED[name](_seed_payload())
    _same(payload)
    try:
        parse_payload(payload)
        strict_message = None
    except PayloadError as exc:
        strict_message = exc.message
    data = _envelope(payload)
    checked = check_bundle("x.json", data)
    verdict = verify_file("x.json", data)
    assert checked.ok == verdict.ok
    if strict_message is None:
        assert checked.ok, checked.reasons  # only the software version changed: still the seed's figures
    else:
        assert checked.reasons == [strict_message]
        assert strict_message in [c.message for c in verdict.checks if c.status == "fail"]


def test_the_crafted_cases_cover_both_answers() -> None:
    answers = {name: canonical_raw(make(_seed_payload())) is not None for name, make in CRAFTED.items()}
    assert answers["as signed"] and answers["nested sorted"] and answers["raw U+2028"] and answers["non-BMP"]
    assert answers["non-BMP keys, UTF-16 order"] and answers["2**53-1"] and answers["raw DEL"]
    assert not answers["non-BMP keys, code point order"] and not answers["2**53"] and not answers["1.0"]
    assert not answers["escaped letter"] and not answers["duplicate key"] and not answers["-0"]


SCALARS = st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.text() | st.floats(allow_nan=False)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=16)


@given(JSON_VALUES)
def test_generated_values_spelt_several_ways_get_the_strict_answer(value: object) -> None:
    spellings = [
        json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass"),
        json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"),
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode(),
        json.dumps(value, sort_keys=True).encode(),
    ]
    with contextlib.suppress(ValueError):
        spellings.append(canonical_json(value))
    for payload in spellings:
        _same(payload)


ESCAPED = [chr(c) for c in range(0x20)] + ["\x7f", "\x80", "\x9f", "\u2028", "\u2029", "\ufeff", "\ufffd", "\ufffe",
                                           "\uffff", "é", "版", "😀", '"', "\\", "/"]


@pytest.mark.parametrize("char", ESCAPED, ids=[f"U+{ord(c):04X}" for c in ESCAPED])
def test_the_printer_escapes_as_jcs_does(char: str) -> None:
    for value in (char, {char: char}, [f"a{char}b"]):
        assert _PRINT(value).encode("utf-8") == canonical_json(value)
        assert canonical_raw(canonical_json(value)) == value


def _canonical_b64(value: str) -> bytes | None:
    """The long way: decoded strictly, and only a spelling `b64encode` gives back."""
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return data if base64.b64encode(data).decode() == value else None


B64_TEXT = st.text(alphabet="AQgw+/-_=Zz09 \n\"\\é", max_size=14)


@given(st.binary(max_size=40) | B64_TEXT)
def test_base64_is_taken_in_its_canonical_spelling_only(value: bytes | str) -> None:
    if isinstance(value, bytes):  # a real encoding, then edits of it
        text = base64.b64encode(value).decode()
        for spelt in (text, text.rstrip("="), text + "=", text.replace("+", "-").replace("/", "_"),
                      text[:-2] + "==" if text.endswith("=") else text + "A", text[:-1] + "R" if text else "R"):
            assert _b64(spelt) == _canonical_b64(spelt)
    else:
        assert _b64(value) == _canonical_b64(value)


def test_base64_of_every_length_and_last_symbol() -> None:
    for size in range(7):
        text = base64.b64encode(bytes(range(200, 200 + size))).decode()
        pad = len(text) - len(text.rstrip("="))
        for symbol in "AQgw+/-_=":
            spelt = text[:len(text) - pad - 1] + symbol + "=" * pad if size else symbol
            assert _b64(spelt) == _canonical_b64(spelt)
        assert _b64(text) == bytes(range(200, 200 + size))


STANDARD = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
ODD = [chr(c) for c in range(128)] + ["é", "\xa0", "\u0660", "\uff0b", "\uff21", "\u2028", "😀"]


@pytest.mark.parametrize("char", ODD, ids=[f"U+{ord(c):04X}" for c in ODD])
def test_the_decoder_refuses_what_is_no_base64_character(char: str) -> None:
    """What `_b64` leaves to binascii's strict decoder: any character but the alphabet is refused."""
    import binascii

    good = base64.b64encode(bytes(range(12))).decode()
    for spelt in (char + good[1:], good[:8] + char + good[9:], good[:-1] + char):
        if char in STANDARD or char == "=":
            continue
        if spelt.isascii():
            with pytest.raises(binascii.Error):
                binascii.a2b_base64(spelt, strict_mode=True)
        assert _b64(spelt) is None


def test_a_remembered_key_order_never_passes_the_same_keys_in_another_order() -> None:
    assert plain_sorted({"a": 1, "b": {"c": "x", "d": None}})  # remembered: ("a", "b"), ("c", "d")
    assert not plain_sorted({"b": {"c": "x", "d": None}, "a": 1})
    assert not plain_sorted({"a": 1, "b": {"d": None, "c": "x"}})
    assert not plain_sorted({"a": 1.0, "b": {"c": "x", "d": None}})  # a known order, a float in it


@pytest.mark.parametrize("text", [
    "2022-03-01T02:00:00Z", "1999-12-31T23:59:59Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
    "2022-13-01T00:00:00Z", "2022-00-10T00:00:00Z", "2022-03-01T24:00:00Z", "2022-03-01T02:60:00Z",
    "2022-03-01T02:00:60Z", "2022-3-1T2:0:0Z", "2022-03-01T02:00:00", "2022-03-01 02:00:00Z",
    "２０２２-03-01T02:00:00Z", "2022-03-01T02:00:00Z\n", "", "0000-01-01T00:00:00Z",
])
def test_signed_at_is_read_as_strptime_reads_it(text: str) -> None:
    """The written form is parsed without `strptime`: same time, same refusals."""
    def strptime(value: str) -> object:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return ValueError

    def ours(value: str) -> object:
        try:
            return parse_signed_at(value)
        except ValueError:
            return ValueError

    assert ours(text) == strptime(text)


def _tampered_evaluation(payload: bytes) -> bytes:
    doc = json.loads(payload)
    doc["evaluation"]["total"] = "97"
    return canonical_json(doc)


def _checked_both_ways(data: bytes) -> tuple[object, object]:
    from jixiao.consolidate import check as check_module

    fast = check_bundle("x.json", data)
    original = check_module._signed_as_recomputed
    check_module._signed_as_recomputed = lambda *args: None  # type: ignore[assignment]
    try:
        full = check_bundle("x.json", data)
    finally:
        check_module._signed_as_recomputed = original
    return fast, full


def _signed_under_earlier_rules(payload: bytes) -> bytes:
    doc = json.loads(_tampered_evaluation(payload))
    doc["software"]["version"] = "0.1.0"
    return canonical_json(doc)


ALSO = {"evaluation tampered": _tampered_evaluation, "signed under earlier rules": _signed_under_earlier_rules}


@pytest.mark.parametrize("name", [*CRAFTED, *ALSO])
def test_the_shortcut_answers_as_the_full_path(name: str) -> None:
    """`_signed_as_recomputed` reads only part of the payload; every answer, facts included, is the full path's."""
    fast, full = _checked_both_ways(_envelope({**CRAFTED, **ALSO}[name](_seed_payload())))
    assert fast == full


def test_a_valid_payload_takes_the_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortcut is what makes consolidation fast: a valid bundle never needs the full parse."""
    from jixiao.consolidate import check as check_module

    def refuse(payload: bytes) -> None:
        raise AssertionError("the full path was taken")

    monkeypatch.setattr(check_module, "canonical_raw", refuse)
    assert check_bundle("x.json", _envelope(_seed_payload())).ok
    assert check_bundle("x.zip", seed_bundle()[1]).ok


def test_a_tampered_evaluation_is_named() -> None:
    checked = check_bundle("x.json", _envelope(_tampered_evaluation(_seed_payload())))
    assert not checked.ok
    assert checked.reasons[0].startswith("签名中的评分结果与复算不符")
