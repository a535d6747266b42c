"""New bundles store the envelope .json and the xlsx's signature sheet (no inflate on a check);
the central directory of a plain zip is read without zipfile. Old bundles verify as before, and a
stored entry that was altered or lies about its size is refused with zipfile's own message."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from bundle_helpers import SIGNED_AT, entries, framework, rezip, seed, seed_bundle, unit_key
from jixiao.bundle import build_bundle, verify_file
from jixiao.bundle.archive import ArchiveError, SafeZip, _directory, open_zip
from jixiao.consolidate import check_bundle
from jixiao.render.xlsx import ENVELOPE_SHEET, _stored, envelope_from_book

SHEET = "xl/worksheets/sheet3.xml"  # the signature sheet: the third one written


def _infos(data: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: i for i in archive.infolist()}


def _by_suffix(data: bytes) -> dict[str, zipfile.ZipInfo]:
    return {PurePosixPath(n).suffix: i for n, i in _infos(data).items()}


def _bundle(files: dict[str, bytes], stored: tuple[str, ...]) -> bytes:
    """A bundle zip of {suffix: bytes}, the suffixes in `stored` stored, the rest deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for suffix, data in files.items():
            method = zipfile.ZIP_STORED if suffix in stored else zipfile.ZIP_DEFLATED
            archive.writestr(f"2021-360124-KGX-x-整体支出绩效自评{suffix}", data, compress_type=method)
    return out.getvalue()


def _message(safe: SafeZip, name: str) -> str:
    try:
        safe.read(name)
    except ArchiveError as exc:
        return exc.message
    return "read"


def _both(data: bytes, name: str) -> tuple[str, str]:
    """What reading `name` gives: straight from memory, and through zipfile alone (as before)."""
    fast = open_zip(data, "x", max_entries=16)
    return _message(fast, name), _message(SafeZip(zipfile.ZipFile(io.BytesIO(data)), fast.entries), name)


def test_a_new_bundle_stores_its_json_and_the_signature_sheet() -> None:
    data = seed_bundle()[1]
    kinds = {s: i.compress_type for s, i in _by_suffix(data).items()}
    assert kinds == {".json": zipfile.ZIP_STORED, ".xlsx": zipfile.ZIP_STORED, ".html": zipfile.ZIP_DEFLATED}
    inner = {n: i.compress_type for n, i in _infos(entries(data)[".xlsx"]).items()}
    assert inner.pop(SHEET) == zipfile.ZIP_STORED
    assert set(inner.values()) == {zipfile.ZIP_DEFLATED}  # the visible parts stay deflated


def test_the_xlsx_opens_in_openpyxl_with_its_signature_sheet_intact() -> None:
    files = entries(seed_bundle()[1])
    book = load_workbook(io.BytesIO(files[".xlsx"]))
    assert book[ENVELOPE_SHEET].sheet_state == "veryHidden"
    text = envelope_from_book(book)
    assert text is not None and text.startswith('{"payloadType"')
    assert files[".json"].decode("utf-8").replace(" ", "").replace("\n", "") == text.replace(" ", "")


def test_storing_keeps_every_part_and_is_reproducible() -> None:
    xlsx = entries(seed_bundle()[1])[".xlsx"]
    deflated = rezip({n: zipfile.ZipFile(io.BytesIO(xlsx)).read(n) for n in _infos(xlsx)})
    once = _stored(deflated, SHEET)
    assert once == _stored(deflated, SHEET) and _stored(once, SHEET) == once
    before, after = _infos(deflated), _infos(once)
    assert list(before) == list(after)
    for name, old in before.items():
        new = after[name]
        assert (new.date_time, new.external_attr, new.create_system, new.CRC, new.file_size) == (
            old.date_time, old.external_attr, old.create_system, old.CRC, old.file_size)


def test_an_old_deflated_bundle_still_passes() -> None:
    name, data = seed_bundle()
    files = entries(data)
    with zipfile.ZipFile(io.BytesIO(files[".xlsx"])) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    files[".xlsx"] = rezip(parts)  # the signature sheet deflated too, as openpyxl writes it
    for old in (rezip(files), _bundle(files, (".xlsx",))):
        assert _by_suffix(old)[".json"].compress_type == zipfile.ZIP_DEFLATED
        assert check_bundle(name, old).ok and verify_file(name, old).ok


def test_an_altered_stored_json_is_refused_as_zipfile_refuses_it() -> None:
    name, data = seed_bundle()
    info = _by_suffix(data)[".json"]
    at = info.header_offset + 30 + len(info.filename.encode()) + 100
    altered = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
    fast, slow = _both(altered, info.filename)
    assert fast == slow and "已损坏" in fast
    checked = check_bundle(name, altered)
    assert not checked.ok and checked.reasons == [fast]


def test_an_altered_stored_signature_sheet_is_refused_as_zipfile_refuses_it() -> None:
    name, data = seed_bundle()
    files = entries(data)
    xlsx = files[".xlsx"]
    info = _infos(xlsx)[SHEET]
    at = info.header_offset + 30 + len(SHEET) + 200
    files[".xlsx"] = xlsx[:at] + bytes([xlsx[at] ^ 0x01]) + xlsx[at + 1:]
    fast, slow = _both(files[".xlsx"], SHEET)
    assert fast == slow and "已损坏" in fast
    checked = check_bundle(name, _bundle(files, (".json", ".xlsx")))
    assert not checked.ok and checked.reasons == [f"[xlsx] {fast}"]


@pytest.mark.parametrize(("fields", "change"), [((24,), -1), ((24,), 1), ((24,), 5000), ((20, 24), -1),
                                               ((20, 24), 1), ((20,), 1)])
def test_a_stored_entry_whose_sizes_lie_gets_the_zipfile_answer(fields: tuple[int, ...], change: int) -> None:
    name, data = seed_bundle()
    info = _by_suffix(data)[".json"]
    encoded = info.filename.encode()
    central = next(i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)
                   and data[i + 46:i + 46 + len(encoded)] == encoded)
    for at in fields:  # 20: the directory's compressed size, 24: its uncompressed size
        at += central
        size = struct.unpack_from("<L", data, at)[0] + change
        data = data[:at] + struct.pack("<L", size) + data[at + 4:]
    fast, slow = _both(data, info.filename)
    assert fast == slow
    if slow != "read":  # zipfile reads a stored entry shorter than declared without complaint
        assert "已损坏" in fast or "超过声明大小" in fast
        checked = check_bundle(name, data)
        assert not checked.ok and checked.reasons == [fast]


def test_the_directory_is_read_as_zipfile_reads_it() -> None:
    data = seed_bundle()[1]
    for blob in (data, entries(data)[".xlsx"]):
        mine = _directory(blob)
        assert mine is not None
        theirs = zipfile.ZipFile(io.BytesIO(blob)).infolist()
        for a, b in zip(mine, theirs, strict=True):
            for slot in zipfile.ZipInfo.__slots__:
                assert getattr(a, slot, None) == getattr(b, slot, None), slot


def test_anything_but_the_plainest_directory_goes_to_zipfile() -> None:
    data = seed_bundle()[1]
    commented = io.BytesIO(data)
    with zipfile.ZipFile(commented, "a") as archive:
        archive.comment = b"note"
    extra = io.BytesIO()
    with zipfile.ZipFile(extra, "w") as archive:
        info = zipfile.ZipInfo("a.json")
        info.extra = b"\xca\xfe\x00\x00"  # an unknown extra field
        archive.writestr(info, b"{}")
    for odd in (commented.getvalue(), extra.getvalue(), b"JUNK" + data, data[:-1]):
        assert _directory(odd) is None
    assert set(open_zip(commented.getvalue(), "x", max_entries=16).entries) == set(_infos(data))
    assert open_zip(extra.getvalue(), "x", max_entries=16).read("a.json") == b"{}"


def test_libreoffice_opens_the_stored_workbook(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "bundle.xlsx"
    source.write_bytes(entries(seed_bundle()[1])[".xlsx"])
    env = {**os.environ, "HOME": str(tmp_path)}  # a private LibreOffice profile
    utf8_csv = "csv:Text - txt - csv (StarCalc):44,34,76"  # comma, quote, UTF-8
    subprocess.run([soffice, "--headless", "--convert-to", utf8_csv, "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180, env=env)
    text = (tmp_path / "bundle.csv").read_text("utf-8")
    assert "部门（单位）整体支出绩效自评表" in text


def test_a_bundle_is_dated_by_its_signature_not_the_clock() -> None:
    xlsx = entries(seed_bundle()[1])[".xlsx"]  # signed 2022-03-01T10:00:00+08:00
    assert {i.date_time for i in _infos(xlsx).values()} == {(2022, 3, 1, 10, 0, 0)}
    core = zipfile.ZipFile(io.BytesIO(xlsx)).read("docProps/core.xml")
    assert core.count(b">2022-03-01T02:00:00Z<") == 2  # created and modified
    name, data = seed_bundle()
    assert build_bundle(seed(), framework(), unit_key(), SIGNED_AT) == (name, data)
