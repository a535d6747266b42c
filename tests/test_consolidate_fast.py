"""The short cuts behind the consolidation benchmark give the answers of the long way round.

Why: consolidation must reach 1,000 bundles a second, so it skips work (key objects cached per
public key, zip entries inflated straight from memory, the hidden sheet found with `find`, the
Ed25519 point checked with one `pow`). Each short cut must never accept what the long way
refuses, nor change a reason: a cache keyed by public key must not lend a key to a bundle
signed by another, and every odd file must fall through to the parser that names its problem.
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from datetime import date
from pathlib import Path

import pytest
from ecdsa import Ed25519, VerifyingKey  # type: ignore[import-untyped]
from ecdsa.errors import MalformedPointError  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from bundle_helpers import entries, other_key, rezip, seed_bundle, unit_key
from jixiao.bundle import PrivateKey, crypto
from jixiao.bundle.archive import ArchiveError, SafeZip, _inflate, open_zip
from jixiao.bundle.envelope import SUBMISSION_TYPE, pae
from jixiao.bundle.keys import b64
from jixiao.bundle.roster import Roster, enrol, new_roster
from jixiao.consolidate import check as check_module
from jixiao.consolidate import check_bundle
from jixiao.consolidate import hidden_sheet as sheet_module

P = 2**255 - 19

# Every check here runs with orjson (the server) and with the standard library (the browser).
pytestmark = pytest.mark.usefixtures("json_backend")



def _ecdsa_accepts(raw: bytes) -> bool:
    try:
        VerifyingKey.from_string(raw, curve=Ed25519)
    except (MalformedPointError, ValueError, AssertionError):
        return False
    return True


@given(st.binary(min_size=32, max_size=32))
def test_the_point_check_agrees_with_ecdsa(raw: bytes) -> None:
    assert crypto.ed25519_point_ok(raw) == _ecdsa_accepts(raw)


@pytest.mark.parametrize("y", [0, 1, 2, 19, P - 1, P, P + 1, 2**255 - 1])
@pytest.mark.parametrize("sign", [0, 1 << 255])
def test_the_point_check_agrees_with_ecdsa_at_the_edges(y: int, sign: int) -> None:
    raw = ((y & (2**255 - 1)) | sign).to_bytes(32, "little")
    assert crypto.ed25519_point_ok(raw) == _ecdsa_accepts(raw)


# --- the key caches ------------------------------------------------------------------------------

def _envelope(signer: PrivateKey, claimed: PrivateKey) -> bytes:
    """The seed's signed payload, signed by `signer` but naming `claimed`'s public key."""
    doc = json.loads(entries(seed_bundle()[1])[".json"])
    payload = base64.b64decode(doc["payload"])
    doc["signatures"] = [{"keyid": claimed.public.fingerprint_hex, "alg": "ed25519",
                          "sig": b64(signer.sign(pae(SUBMISSION_TYPE, payload))),
                          "public_key": b64(claimed.public.raw)}]
    return json.dumps(doc, ensure_ascii=False).encode()


def test_a_cached_key_is_never_lent_to_another_signer() -> None:
    assert check_bundle("good.json", _envelope(unit_key(), unit_key())).ok  # the unit's key is now cached
    assert check_bundle("again.json", _envelope(unit_key(), unit_key())).ok
    if crypto._fast_ed25519() is not None:
        assert crypto._fast_public.cache_info().hits >= 1
    for signer, claimed in ((other_key(), unit_key()), (unit_key(), other_key())):
        checked = check_bundle("forged.json", _envelope(signer, claimed))
        assert not checked.ok and checked.reasons == ["签名无效：内容在签名后被改动，或签名不属于这份内容"]


def test_the_roster_sees_the_key_that_signed_not_one_cached_before() -> None:
    owner = PrivateKey("ed25519", bytes(range(50, 82)))
    doc = enrol(new_roster(owner, "主管部门", "2022-01-01T00:00:00Z"), "360124-KGX", unit_key().public,
                unit_name="x", valid_from=date(2022, 1, 1))
    roster = Roster(doc, None)
    assert check_bundle("own.json", _envelope(unit_key(), unit_key()), roster).ok
    assert check_module._public.cache_info().currsize >= 1
    other = check_bundle("other.json", _envelope(other_key(), other_key()), roster)
    assert not other.ok
    assert other.reasons[0].startswith("公钥未通过名册核对：名册中没有为单位编码 360124-KGX 登记该公钥")
    assert check_bundle("own.json", _envelope(unit_key(), unit_key()), roster).ok


# --- zip entries read from memory ----------------------------------------------------------------

def _all_entries(data: bytes) -> list[tuple[bytes, zipfile.ZipInfo]]:
    safe = open_zip(data, "x", max_entries=500)
    found = [(data, info) for info in safe.entries.values()]
    for info in safe.entries.values():
        if info.filename.endswith(".xlsx"):
            inner = safe.read(info.filename)
            found += [(inner, i) for i in open_zip(inner, "x", max_entries=500).entries.values()]
    return found


def test_an_entry_read_from_memory_equals_zipfile() -> None:
    for data, info in _all_entries(seed_bundle()[1]):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert _inflate(data, info) == archive.read(info.filename)


def test_a_stored_entry_and_a_damaged_one() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("a.json"), b'{"x": 1}')  # ZIP_STORED
    data = out.getvalue()
    safe = open_zip(data, "x", max_entries=5)
    assert safe.read("a.json") == b'{"x": 1}'
    damaged = data.replace(b'{"x": 1}', b'{"x": 2}')  # same size, wrong CRC
    safe = open_zip(damaged, "x", max_entries=5)
    assert _inflate(damaged, safe.entries["a.json"]) is None
    with pytest.raises(ArchiveError) as caught:
        safe.read("a.json")
    assert caught.value.unreadable and "已损坏" in caught.value.message


def test_a_damaged_deflate_stream_gets_the_zipfile_answer() -> None:
    data = seed_bundle()[1]
    safe = open_zip(data, "x", max_entries=16)
    info = next(i for i in safe.entries.values() if i.filename.endswith(".json"))
    start = info.header_offset + 30 + len(info.filename.encode()) + 40
    damaged = data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1:]
    fast = open_zip(damaged, "x", max_entries=16)
    slow = SafeZip(fast.archive, fast.entries)  # no bytes: zipfile only, as before
    assert _inflate(damaged, info) is None

    def outcome(zip_: SafeZip) -> str:
        try:
            return zip_.read(info.filename).decode("utf-8", "replace")
        except ArchiveError as exc:
            return exc.message

    assert outcome(fast) == outcome(slow)


# --- the hidden sheet found without a parse ------------------------------------------------------

def _sheet() -> bytes:
    safe = open_zip(entries(seed_bundle()[1])[".xlsx"], "x", max_entries=500)
    path = sheet_module._sheet_path(safe)
    assert path is not None
    return safe.read(path)


def _hidden(sheet: bytes, *, quick: bool = True) -> str | None:
    """The envelope `hidden_envelope` reads from a real workbook whose hidden sheet is `sheet`;
    `quick=False` takes the parser only, as before; a refusal comes back as its message."""
    xlsx = entries(seed_bundle()[1])[".xlsx"]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, sheet if info.filename.endswith("sheet3.xml") else src.read(info.filename))
    safe = open_zip(out.getvalue(), "x", max_entries=500)
    short_cut = sheet_module._one_inline_cell
    if not quick:
        sheet_module._one_inline_cell = lambda data: None  # type: ignore[assignment]
    try:
        return sheet_module.hidden_envelope(safe)
    except sheet_module.Refused as exc:
        return f"refused: {exc.message}"
    finally:
        sheet_module._one_inline_cell = short_cut  # type: ignore[assignment]


def test_the_sheet_this_program_writes_takes_the_short_cut() -> None:
    sheet = _sheet()
    quick = sheet_module._one_inline_cell(sheet)
    assert quick is not None and quick == _hidden(sheet, quick=False)
    assert json.loads(quick)["payloadType"] == SUBMISSION_TYPE


OPEN = b'<c r="A1" t="inlineStr"><is><t>'
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


EDITS = [
    (lambda s: s, True),
    (lambda s: s.replace(OPEN + b"{", OPEN + b"\r\n{\r"), True),  # line ends, normalised as the parser does
    (lambda s: b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + s, True),
    (lambda s: s.replace(b"<sheetData>", b"<!-- x --><sheetData>"), False),  # a comment in the frame
    (lambda s: s.replace(b"<pageMargins", b'<foo><c r="A2" t="inlineStr"><is><t>x</t></is></c></foo><pageMargins'),
     False),  # another cell outside sheetData: the parser reads it too
    (lambda s: s.replace(b"<sheetPr>", b'<sheetPr><c r="A2" t="inlineStr"><is><t>x</t></is></c>'), False),
    (lambda s: s.replace(OPEN + b"{", OPEN + b"&#123;"), False),  # an entity, decoded by the parser
    (lambda s: s.replace(OPEN + b"{", OPEN + b"]]>{"), False),  # not well-formed
    (lambda s: s.replace(OPEN + b"{", OPEN + b"\x01{"), False),  # a control character XML forbids
    (lambda s: s.replace(OPEN + b"{", OPEN + b"\xef\xbf\xbe{"), False),  # U+FFFE
    (lambda s: s.replace(OPEN + b"{", OPEN + b"\xff{"), False),  # not UTF-8
    (lambda s: s.replace(NS, b'xmlns="urn:x"'), False),  # another namespace: no cell for the parser
    (lambda s: b'<?xml version="1.0" encoding="ISO-8859-1"?>' + s, False),
    (lambda s: s + b"<x/>", False),  # content after the root element
    (lambda s: s.replace(b"</sheetData>", b"</sheetData><sheetData/>"), False),
    (lambda s: s.replace(b"<worksheet " + NS + b">", b"<worksheet " + NS + b"><!DOCTYPE x>"), False),
    (lambda s: s.replace(b'"alg":"ed25519"', b'"alg":"ed25519&#x22;'), False),  # an entity inside the text
]


@pytest.mark.parametrize(("edit", "short_cut"), EDITS)
def test_an_odd_sheet_gets_the_parser_answer(edit, short_cut: bool) -> None:  # type: ignore[no-untyped-def]
    sheet = edit(_sheet())
    quick = sheet_module._one_inline_cell(sheet)
    assert (quick is not None) == short_cut
    assert _hidden(sheet) == _hidden(sheet, quick=False)
    if quick is not None:
        assert quick == _hidden(sheet, quick=False)


def _workbook(sheet: bytes) -> SafeZip:
    xlsx = entries(seed_bundle()[1])[".xlsx"]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, sheet if info.filename.endswith("sheet3.xml") else src.read(info.filename))
    return open_zip(out.getvalue(), "x", max_entries=500)


@pytest.mark.parametrize("index", range(len(EDITS)))
def test_carries_says_yes_only_where_the_parser_reads_that_text(index: int) -> None:
    edit, short_cut = EDITS[index]
    sheet = edit(_sheet())
    envelope = json.loads(_hidden(_sheet()) or "")
    compact, plain = check_module._compact_plain(envelope)
    assert plain
    parsed = _hidden(sheet, quick=False)
    for text in {compact, parsed or "", compact + " ", compact[:-1]}:
        if sheet_module.carries(_workbook(sheet), text):
            assert parsed == text
    if short_cut and parsed == compact:
        assert sheet_module.carries(_workbook(sheet), compact)  # the sheet this program writes: no scan


def test_only_a_small_frame_is_cached() -> None:
    sheet = _sheet()
    big = sheet.replace(b"<sheetPr>", b"<sheetPr>" + b" " * (sheet_module._FRAME_LIMIT + 1), 1)
    before = sheet_module._frame_ok.cache_info().currsize
    assert sheet_module._one_inline_cell(big) is None
    assert sheet_module._frame_ok.cache_info().currsize == before


def test_the_same_envelope_spelt_otherwise_is_still_compared_as_json() -> None:
    name, data = seed_bundle()
    files = entries(data)
    sheet = _sheet()
    spaced = sheet.replace(b'"alg":"ed25519"', b'"alg": "ed25519"')
    assert spaced != sheet
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(files[".xlsx"])) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, spaced if info.filename.endswith("sheet3.xml") else src.read(info.filename))
    assert check_bundle(name, rezip({**files, ".xlsx": out.getvalue()})).ok  # equal documents, other text


# --- a folder listed once ------------------------------------------------------------------------

def test_a_folder_is_listed_as_rglob_and_resolve_list_it(tmp_path: Path) -> None:
    from jixiao.consolidate.collect import FOLDER_SUFFIXES, folder_files

    for name in ("x.zip", "X.JSON", "a/b/c.xlsx", "a/y.json", ".h.zip", ".hid/q.zip", "a/b/n.txt", "z/.zip",
                 "z/e.", "z/B.zip", "z/a.zip", "a.zip"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "z" / "link.json").symlink_to(tmp_path / "a" / "y.json")
    (tmp_path / "linked").symlink_to(tmp_path / "a")  # a linked folder is not walked
    (tmp_path / "broken.zip").symlink_to(tmp_path / "nowhere.zip")
    (tmp_path / "folder.zip").mkdir()
    for folder in (tmp_path, Path(os.path.relpath(tmp_path))):
        expected = [(p, str(p.resolve())) for p in sorted(
            p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES
            and not p.name.startswith("."))]
        assert folder_files(folder) == expected
        assert len(expected) == 9


# --- canonical JSON through the C encoder --------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)


def _long_way(value: object) -> bytes | str:
    from jixiao.canonical import _encode

    out: list[str] = []
    try:
        _encode(value, out)
        return "".join(out).encode("utf-8")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _short_way(value: object) -> bytes | str:
    from jixiao.canonical import canonical_json

    try:
        return canonical_json(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@given(JSON_VALUES)
def test_canonical_json_is_the_same_either_way(value: object) -> None:
    assert _short_way(value) == _long_way(value)


@pytest.mark.parametrize("value", [1.5, {1: 2}, [2**53], {"a": {1, 2}}, "\ud800", {"\U0001f600": 1, "\uffff": 2},
                                   (1, "a"), {"b": True, "a": None}])
def test_canonical_json_odd_values_answer_as_before(value: object) -> None:
    assert _short_way(value) == _long_way(value)


def test_a_verified_key_is_the_key_checked_the_long_way() -> None:
    from jixiao.bundle.keys import PublicKey

    for key in (unit_key(), other_key(), PrivateKey.generate("sm2")):
        message = b"x"
        assert crypto.verify(key.alg, key.public.raw, message, key.sign(message))  # how check.py gets there
        quick = PublicKey.from_verified(key.alg, key.public.raw)
        assert quick == key.public and hash(quick) == hash(key.public)
        assert quick.fingerprint_hex == key.public.fingerprint_hex


# --- the cyclic collector while checking ---------------------------------------------------------

class _Node:
    pass


@pytest.mark.parametrize("enabled", [True, False])
def test_checking_frees_each_batch_of_cycles_and_leaves_the_collector_as_it_was(
        monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    import gc
    import weakref

    from jixiao.consolidate import Source, collect

    made: list[weakref.ref[_Node]] = []

    def cyclic(name: str, data: bytes, roster: object = None, *, deep: bool = False,
               indicators: bool = True) -> check_module.Checked:
        node = _Node()
        node.me = node  # type: ignore[attr-defined]
        made.append(weakref.ref(node))
        return check_module.Checked(name, "")

    monkeypatch.setattr(collect, "check_bundle", cyclic)
    count = 3 * collect.RANGE + 5
    (gc.enable if enabled else gc.disable)()
    try:
        collect.check_all([Source(f"{i}.json", data=b"{}") for i in range(count)])
        assert gc.isenabled() == enabled
        assert sum(ref() is not None for ref in made) == count % collect.RANGE  # the last, partial batch
    finally:
        gc.enable()
        gc.collect()


# --- the stored spreadsheet and the cached workbook entries --------------------------------------

def test_the_xlsx_is_stored_and_an_old_deflated_one_still_passes() -> None:
    from jixiao.bundle import verify_file

    name, data = seed_bundle()
    kinds = {os.path.splitext(i.filename)[1]: i.compress_type for i in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    assert kinds == {".json": zipfile.ZIP_STORED, ".xlsx": zipfile.ZIP_STORED, ".html": zipfile.ZIP_DEFLATED}
    old = rezip(entries(data))  # every entry deflated, as bundles were written before
    assert check_bundle(name, old).ok and verify_file(name, old).ok


def test_a_cut_bundle_does_not_open_as_the_spreadsheet_inside_it() -> None:
    from jixiao.bundle import verify_file

    data = seed_bundle()[1]
    cut = data[:-30]  # the outer directory's end is gone: zipfile finds the stored xlsx's instead
    checked = check_bundle("cut.zip", cut)
    assert not checked.readable and checked.kind == "" and "不完整或已损坏" in checked.reasons[0]
    assert not verify_file("cut.zip", cut).readable
    with pytest.raises(ArchiveError) as caught:  # data before the first entry (a stub zipfile would skip)
        open_zip(b"PK\x03\x04junk" + data, "压缩包", max_entries=16)
    assert caught.value.unreadable and "不完整或已损坏" in caught.value.message


def test_the_workbook_entries_are_parsed_once_per_stored_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []
    real = sheet_module._sheet_target.__wrapped__

    def counting(book: bytes, rels: bytes) -> str | None:
        parsed.append(book)
        return real(book, rels)

    monkeypatch.setattr(sheet_module, "_sheet_target", counting)
    monkeypatch.setattr(sheet_module, "_TARGETS", {})
    xlsx = entries(seed_bundle()[1])[".xlsx"]
    first = sheet_module.hidden_envelope(open_zip(xlsx, "x", max_entries=500))
    assert first is not None and sheet_module.hidden_envelope(open_zip(xlsx, "x", max_entries=500)) == first
    assert len(parsed) == 1
    out = io.BytesIO()  # the same workbook, its hidden sheet renamed: other stored bytes, another answer
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                body = body.replace('name="签名数据"'.encode(), 'name="其他"'.encode())
            dst.writestr(info, body)
    renamed = open_zip(out.getvalue(), "x", max_entries=500)
    assert renamed.read("xl/workbook.xml") != open_zip(xlsx, "x", max_entries=500).read("xl/workbook.xml")
    assert sheet_module.hidden_envelope(renamed) is None
    assert len(parsed) == 2


def test_the_indicator_scores_are_left_out_only_when_asked() -> None:
    """Only reviews need a unit's per-indicator scores: a run without reviews skips building them,
    and the unit's facts are otherwise the same."""
    from dataclasses import replace

    name, data = seed_bundle()
    full, lean = check_bundle(name, data), check_bundle(name, data, indicators=False)
    assert full.unit is not None and lean.unit is not None
    assert len(full.unit.indicators) == 19  # the seed's scored rows
    assert full.unit.indicators[0].path == "indicators.0.groups.0.items.0"
    assert lean.unit.indicators == () and lean.unit == replace(full.unit, indicators=())
