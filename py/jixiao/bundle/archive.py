"""The download: one zip with the envelope (.json), the spreadsheet (.xlsx) and the HTML.

Made in two steps so the browser can sign with a key Python never sees (a non-extractable
WebCrypto key): `prepare_bundle` gives the bytes to sign, `finish_bundle` takes signatures.
`build_bundle` does both with a key file's key, for the CLI and the pure-Python fallback.
No clock: the signing time comes from the caller and also dates the zip entries.

Opening a zip from anywhere (`open_zip`) trusts nothing: entry count, declared sizes and
compression ratios (zip bombs), names that climb out (`../`, absolute paths, drive letters,
backslashes), symlinks, encryption and duplicates are all decided from the central directory
before a byte is inflated; reads are capped at the declared size, which `zipfile` enforces.
The plainest layout (ours, openpyxl's) is read without `zipfile`, for speed, into the very
entries `zipfile` would make; anything else, and every read that is not plain, goes to `zipfile`.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..model.evaluation import Evaluation
from ..model.fields import describe
from ..model.framework import Framework
from ..model.submission import Submission
from ..render.report_html import render_report_html
from ..render.text import file_part, zip_date_time
from ..render.xlsx import write_xlsx
from ..rules.evaluate import evaluate
from .envelope import SUBMISSION_TYPE, Envelope, Signature, make_signature, pae
from .keys import PrivateKey
from .payload import CHINA, build_payload, parse_signed_at, payload_bytes, redact, signed_at_text

SUFFIX = "整体支出绩效自评"
_NAME_LIMIT, _CODE_LIMIT = 60, 40


def bundle_stem(submission: Submission) -> str:
    """'{year}-{unit code}-{unit name}-整体支出绩效自评', safe on Windows, macOS and Linux and
    read as it is (no bidi or zero-width characters from the typed name: `file_part`)."""
    code = file_part(submission.unit_code, _CODE_LIMIT, "无编码")
    name = file_part(submission.unit_name, _NAME_LIMIT, "未填单位名称")
    year = submission.year if submission.year is not None else "年度未填"
    return f"{year}-{code}-{name}-{SUFFIX}"


@dataclass(frozen=True)
class Prepared:
    """What is about to be signed: the redacted submission, its evaluation, the payload."""

    submission: Submission
    evaluation: Evaluation
    framework: Framework
    signed_at: str
    payload: bytes

    @property
    def signing_input(self) -> bytes:
        """The DSSE PAE bytes a signer signs (WebCrypto `sign` takes exactly these)."""
        return pae(SUBMISSION_TYPE, self.payload)


def prepare_bundle(submission: Submission, framework: Framework,
                   signed_at: str | datetime) -> Prepared:
    if submission.year is None:
        raise ValueError("请先填写年度：签名材料以年度、单位编码区分")
    if not submission.unit_code.strip():  # signed, it would be refused by every intake and consolidation
        raise ValueError("请先填写单位编码：签名材料以年度、单位编码区分，主管部门据此认定是哪个单位")
    clean = redact(submission, framework)
    evaluation = evaluate(clean, framework)
    when = signed_at_text(signed_at)
    try:
        payload = payload_bytes(build_payload(clean, evaluation, framework, when))
    except UnicodeEncodeError:
        raise ValueError(_unencodable(clean)) from None
    return Prepared(clean, evaluation, framework, when, payload)


def _unencodable(submission: Submission) -> str:
    """Where a text holds a lone UTF-16 surrogate (a broken paste; UTF-8 cannot write it), in
    the form's titles: the signed bytes cannot be made, and 'utf-8 codec…' helps nobody."""
    data = submission.model_dump(mode="json")

    def find(node: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            if _broken(key) or _broken(child):
                return (*path, key)
            if (found := find(child, (*path, key))) is not None:
                return found
        return None

    where = find(data, ())
    place = describe(where, data) if where else "自评表"
    return f"{place}中有无法保存的字符（残缺的 UTF-16 代理字符，多由复制粘贴产生）：请删去后重新导出"


def _broken(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


# The .xlsx is already a deflated zip: deflating it again saved 5% and cost every reader an inflate.
# The .json is read on every check of thousands of bundles: stored, it is a slice and a CRC, not
# a 50 µs inflate, for about 15 kB more a bundle. Readers take either method (older bundles deflate it).
_STORED = (".json", ".xlsx")


def bundle_zip(stem: str, files: Sequence[tuple[str, bytes]], signed_at: str) -> bytes:
    """The bundle's zip: members named `stem` + suffix, dated by the signing time, the .json and
    .xlsx stored; also the publisher's public copy (`publish.redact`), so both read alike."""
    stamp = zip_date_time(parse_signed_at(signed_at).astimezone(CHINA))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, data in files:
            info = zipfile.ZipInfo(f"{stem}{suffix}", date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if suffix in _STORED else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def finish_bundle(prepared: Prepared, signatures: Sequence[Signature]) -> tuple[str, bytes]:
    """(file name, zip bytes); every signature must verify over the prepared payload."""
    envelope = Envelope(SUBMISSION_TYPE, prepared.payload, tuple(signatures))
    if not signatures or len(envelope.valid_signatures()) != len(signatures):
        raise ValueError("签名无效：与待签名内容不符")
    text = envelope.to_json()
    stem = bundle_stem(prepared.submission)
    xlsx = write_xlsx(prepared.submission, prepared.evaluation, envelope.to_json(indent=None),
                      framework=prepared.framework, dated=parse_signed_at(prepared.signed_at).astimezone(CHINA))
    html = render_report_html(prepared.submission, prepared.evaluation,
                              framework=prepared.framework, signed_at=prepared.signed_at)
    files = [(".json", (text + "\n").encode("utf-8")), (".xlsx", xlsx), (".html", html.encode("utf-8"))]
    return f"{stem}.zip", bundle_zip(stem, files, prepared.signed_at)


def build_bundle(submission: Submission, framework: Framework, key: PrivateKey,
                 signed_at: str | datetime) -> tuple[str, bytes]:
    """Redact, evaluate, sign and package one submission: (file name, zip bytes)."""
    prepared = prepare_bundle(submission, framework, signed_at)
    signature = make_signature(key, SUBMISSION_TYPE, prepared.payload)
    return finish_bundle(prepared, [signature])


# --- opening a zip that may be hostile ------------------------------------------------------------

MAX_TOTAL_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 200  # deflate rarely beats 100:1 on real files; bombs reach 1000:1
RATIO_FLOOR = 1024 * 1024  # small entries may compress as well as they like


class ArchiveError(Exception):
    """A zip refused or unreadable; `unreadable` separates damage (exit 2) from danger (exit 1)."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unreadable = unreadable


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zipfile's structFileHeader: 30 bytes
_PLAIN_FLAGS = 0x0806  # deflate level hints, UTF-8 names; 0x0008 (data descriptor) is allowed too


class SafeZip:
    """A checked zip: `entries` by name, `data` the whole file when it is in memory (lets `read`
    inflate without zipfile's layers). `archive`, the `zipfile` view, is opened on first use
    when the directory was read without it."""

    def __init__(self, archive: zipfile.ZipFile | None, entries: dict[str, zipfile.ZipInfo],
                 data: bytes = b"") -> None:
        self._archive = archive
        self.entries = entries
        self.data = data

    @property
    def archive(self) -> zipfile.ZipFile:
        if self._archive is None:
            self._archive = zipfile.ZipFile(io.BytesIO(self.data))
        return self._archive

    def read(self, name: str) -> bytes:
        info = self.entries[name]
        quick = _inflate(self.data, info) if self.data else None
        if quick is not None:
            return quick
        try:
            archive = self.archive
            with archive.open(archive.getinfo(name)) as handle:  # zipfile's own entry, as it judges it
                data = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError):
            raise ArchiveError(f"压缩包中的“{name}”已损坏，无法解压", unreadable=True) from None
        if len(data) > info.file_size:
            raise ArchiveError(f"压缩包中的“{name}”实际大小超过声明大小，拒绝读取")
        return data

    def raw(self, name: str) -> tuple[int, int, int, int, bytes] | None:
        """The entry as stored (method, sizes, CRC, the stored or deflated bytes), for a cache of
        small entries that many files share: equal raw entries read to equal bytes. None when the
        entry is not plain (it is then read, and judged, every time)."""
        info = self.entries[name]
        span = _span(self.data, info) if self.data else None
        if span is None:
            return None
        return info.compress_type, info.compress_size, info.file_size, info.CRC, self.data[span[0]:span[1]]


def _span(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """Where the entry's stored or deflated bytes lie in `data`, when its local header is plain and
    matches the directory (name, flags, bounds); None for anything else."""
    offset = info.header_offset
    if info.flag_bits & ~(_PLAIN_FLAGS | 0x0008) or offset < 0 or offset + _LOCAL_HEADER.size > len(data):
        return None
    (magic, _, flags, _, _, _, _, _, _, name_length, extra_length) = _LOCAL_HEADER.unpack_from(data, offset)
    if magic != b"PK\x03\x04":
        return None
    start = offset + _LOCAL_HEADER.size
    try:
        name = data[start:start + name_length].decode("utf-8" if flags & 0x0800 else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    start += name_length + extra_length
    end = start + info.compress_size
    limit = getattr(info, "_end_offset", None)  # newer zipfile refuses overlapping entries
    if end > len(data) or (limit is not None and end > limit):
        return None
    return start, end


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The entry's bytes read straight from memory (a third of zipfile's cost on small entries),
    or None for anything but the plain case, which `zipfile` then reads and judges as before:
    the local header must match the directory, the stream must end exactly at the declared size
    and the CRC must agree, so whatever this returns `zipfile` would have returned too."""
    span = _span(data, info)
    if span is None:
        return None
    start, end = span
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            return None
        out = data[start:end]
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(data[start:end], info.file_size + 1)
        except zlib.error:
            return None
        if not inflater.eof or inflater.unconsumed_tail:
            return None
    else:
        return None
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    return out


@lru_cache(maxsize=256)  # every xlsx has the same part names
def _unsafe_name(name: str) -> str | None:
    if not name or "\x00" in name:
        return "条目名称为空或含有空字符"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "条目使用了绝对路径"
    if "\\" in name:
        return "条目名称含有反斜杠"
    if any(part == ".." for part in name.split("/")):
        return "条目名称含有“../”，会写到解压目录之外"
    return None


_END = struct.Struct("<4s4H2LH")  # end of central directory: 22 bytes
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir: 46 bytes
_END_OFFSET = "_end_offset" in zipfile.ZipInfo.__slots__  # newer zipfile bounds each entry by the next


def _directory(data: bytes) -> list[zipfile.ZipInfo] | None:
    """The entries `zipfile.ZipFile(data).infolist()` gives, built the way it builds them, for
    the plainest layout only: no archive comment, zip64, split or prepended data, the directory
    right before its end record, no extra field or comment on an entry, entries in file order.
    Three quarters of zipfile's instructions on an xlsx's eleven entries (no file object, no
    seeks); None sends anything else to zipfile."""
    end = len(data) - _END.size
    if end < 20 or data[end:end + 4] != b"PK\x05\x06" or data[end - 20:end - 16] == b"PK\x06\x07":
        return None  # under 42 bytes, zipfile's zip64 probe fails its own way; a zip64 locator
    _, disk, first_disk, on_disk, count, span, start, comment = _END.unpack_from(data, end)
    if disk or first_disk or on_disk != count or comment or start + span != end:
        return None
    infos: list[zipfile.ZipInfo] = []
    position, last = start, -1
    while position < end:
        if position + _CENTRAL.size > end:
            return None
        (magic, create_version, create_system, extract_version, reserved, flags, method, time, date, crc,
         compressed, size, name_length, extra_length, comment_length, volume, internal, external,
         offset) = _CENTRAL.unpack_from(data, position)
        position += _CENTRAL.size + name_length
        if (magic != b"PK\x01\x02" or extra_length or comment_length or position > end
                or extract_version > zipfile.MAX_EXTRACT_VERSION or offset <= last):
            return None
        try:
            name = data[position - name_length:position].decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError:
            return None
        info = zipfile.ZipInfo(name)
        info.header_offset, last = offset, offset
        (info.create_version, info.create_system, info.extract_version, info.reserved, info.flag_bits,
         info.compress_type, info.CRC, info.compress_size, info.file_size) = (
            create_version, create_system, extract_version, reserved, flags, method, crc, compressed, size)
        info.volume, info.internal_attr, info.external_attr = volume, internal, external
        info._raw_time = time  # type: ignore[attr-defined]  # a slot typeshed leaves out
        info.date_time = ((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F,
                          time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2)
        infos.append(info)
    if len(infos) != count:
        return None
    if _END_OFFSET:
        for info, bound in zip(infos, [*(i.header_offset for i in infos[1:]), start], strict=True):
            info._end_offset = bound  # type: ignore[attr-defined]
    return infos


def open_zip(data: bytes, what: str, *, max_entries: int) -> SafeZip:
    """Check the central directory of `data`; raises `ArchiveError` with a Chinese reason."""
    archive = None
    infos = _directory(data)
    if infos is None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise ArchiveError(f"{what}不完整或已损坏（可能下载中断），无法打开", unreadable=True) from None
    if infos and min(info.header_offset for info in infos) != 0:
        # zipfile takes data before the first entry as a prepended stub; ours have none. A cut
        # bundle would otherwise open as the stored .xlsx inside it, whose directory then ends the data.
        raise ArchiveError(f"{what}不完整或已损坏（可能下载中断），无法打开", unreadable=True)
    if len(infos) > max_entries:
        raise ArchiveError(f"{what}中的条目过多（{len(infos)} 个，上限 {max_entries}），拒绝解压")
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        shown = name[:80]
        if (problem := _unsafe_name(name)) is not None:
            raise ArchiveError(f"{what}中有不安全的条目“{shown}”：{problem}，拒绝解压")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"{what}中的“{shown}”是符号链接，拒绝解压")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{what}中的“{shown}”已加密，无法核验")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"{what}中的“{shown}”使用了不支持的压缩方式", unreadable=True)
        if name in entries:
            raise ArchiveError(f"{what}中有重名条目“{shown}”，拒绝解压")
        total += info.file_size
        if total > MAX_TOTAL_UNCOMPRESSED:
            limit = MAX_TOTAL_UNCOMPRESSED // 1024 // 1024
            raise ArchiveError(f"{what}解压后将超过 {limit} MB（疑似压缩炸弹），拒绝解压")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ArchiveError(f"{what}中的“{shown}”压缩比高达 {ratio}:1（疑似压缩炸弹），拒绝解压")
        entries[name] = info
    return SafeZip(archive, entries, bytes(data))
