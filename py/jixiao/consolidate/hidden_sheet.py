"""The envelope on a signed spreadsheet's very hidden sheet, read without opening the workbook.

Why: consolidation checks thousands of bundles, and `envelope_from_book` (openpyxl) takes tens of
milliseconds a workbook. Only workbook.xml and its relationships (to find the sheet), that sheet's
XML and, when the sheet points there, the shared strings are read. The sheet this program writes
(one inline string in A1) is found with `find`; anything spelt otherwise gets ElementTree, which
answers as `envelope_from_book` does. Refusals are `Refused`, which `check.py` turns into reasons.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from ..bundle.archive import ArchiveError, SafeZip
from ..render.xlsx import ENVELOPE_SHEET

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class Refused(Exception):
    """A bundle refused: `message` is the reason shown; `unreadable` marks damage, not a failed check."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unreadable = unreadable


def _read(safe: SafeZip, name: str) -> bytes:
    try:
        return safe.read(name)
    except ArchiveError as exc:
        raise Refused(f"[xlsx] {exc.message}") from None


def _parse(data: bytes) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        raise Refused("[xlsx] 表格已损坏，无法读取签名页") from None


_CELL_OPEN = b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
_CELL_CLOSE = b"</t></is></c></row></sheetData>"
_NOT_PLAIN = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *b"<&"])  # C0 controls XML forbids, markup
_FRAME_LIMIT = 16 * 1024  # ours is under 1 kB
_DECLARATION = re.compile(rb'<\?xml version="1\.0"(?: encoding="[Uu][Tt][Ff]-8")?(?: standalone="(?:yes|no)")?\s*\?>')


def _one_inline_cell(sheet: bytes) -> str | None:
    """The text of the hidden sheet as this program writes it (one inline string in A1), found with
    `find` instead of a parse of 22 kB; None sends the sheet to the parser. Taken only when the
    parser could not answer otherwise: plain text (no markup, entities, ']]>', control characters,
    U+FFFE/U+FFFF, bad UTF-8) inside a frame that `_frame_ok` has parsed with no other cell in it."""
    start = sheet.find(_CELL_OPEN)
    if start < 0:
        return None
    begin = start + len(_CELL_OPEN)
    end = sheet.find(_CELL_CLOSE, begin)
    if end <= begin:
        return None
    text = sheet[begin:end]
    if len(text.translate(None, _NOT_PLAIN)) != len(text) or b"]]>" in text:  # one pass for markup and controls
        return None
    if not text.isascii() and (b"\xef\xbf\xbe" in text or b"\xef\xbf\xbf" in text):
        return None
    before, after = sheet[:start], sheet[end + len(_CELL_CLOSE):]
    if len(before) + len(after) > _FRAME_LIMIT or not _frame_ok(before, after):
        return None  # a large frame is not ours: parsed whole, and never held in the cache
    try:
        value = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")  # as the parser gives it
    return value


def carries(safe: SafeZip, text: str) -> bool:
    """Whether `hidden_envelope(safe) == text`, decided without scanning the 22 kB sheet: for a
    `text` with nothing XML refuses or reads otherwise (the caller's promise: no control character,
    '<', '&', ']]>', U+FFFE or U+FFFF), the sheet's bytes equal to it, between the cell's open and
    close tags inside a frame `_frame_ok` accepts, are exactly what `_one_inline_cell` returns: the
    first close tag follows (the text has no '<'), and every test it makes on the text holds.
    False means not known: the caller asks `hidden_envelope`, which then reads the sheet again."""
    path = _sheet_path(safe)
    if path is None or path not in safe.entries:
        return False
    sheet = _read(safe, path)
    start = sheet.find(_CELL_OPEN)
    if start < 0:
        return False
    try:
        expected = text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    begin = start + len(_CELL_OPEN)
    end = begin + len(expected)
    if not sheet.startswith(expected, begin) or not sheet.startswith(_CELL_CLOSE, end):  # no 20 kB slice
        return False
    before, after = sheet[:start], sheet[end + len(_CELL_CLOSE):]
    return len(before) + len(after) <= _FRAME_LIMIT and _frame_ok(before, after)


@lru_cache(maxsize=64)
def _frame_ok(before: bytes, after: bytes) -> bool:
    """Whether the sheet around the cell is well-formed XML whose only sheetData is that one, in the
    main namespace, with no other cell: then parsing the whole sheet finds exactly the one cell.
    Cached on the bytes, which are the same for every sheet this program writes. No DTD, comment,
    CDATA or processing instruction (they could hide or redefine what follows), UTF-8 only."""
    head = before.removeprefix(b"\xef\xbb\xbf")
    declaration = _DECLARATION.match(head) if head.startswith(b"<?") else None
    if declaration is not None:
        head = head[declaration.end():]
    if any(b"<!" in part or b"<?" in part for part in (head, after)):
        return False
    try:
        root = ET.fromstring(before + b"<sheetData/>" + after)
    except ET.ParseError:
        return False
    found = [e for e in root.iter() if isinstance(e.tag, str) and e.tag.rpartition("}")[2] == "sheetData"]
    if len(found) != 1 or found[0].tag != f"{_NS_MAIN}sheetData" or len(found[0]) or found[0].text:
        return False
    return next(root.iter(f"{_NS_MAIN}c"), None) is None


_TARGETS: dict[tuple[object, ...], tuple[str | None]] = {}  # one lookup: safe with threads and clear()
_TARGETS_LIMIT = 64


def _sheet_path(safe: SafeZip) -> str | None:
    """Where the hidden sheet's XML is, from workbook.xml and its relationships. Every workbook
    this program writes has the same two small entries, so the answer is kept per entry *as
    stored* (method, sizes, CRC and the stored bytes themselves, not a name or a CRC alone):
    equal stored bytes inflate to equal bytes, and a read that failed raised before anything was
    kept, so a hit gives what reading would. Even a wrong answer could not pass a mismatch: the
    sheet found must carry the exact envelope of a bundle's .json, or a valid signature alone."""
    names = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    if not all(n in safe.entries for n in names):
        return None
    key = tuple(safe.raw(n) for n in names)
    cacheable = None not in key
    hit = _TARGETS.get(key) if cacheable else None
    if hit is not None:
        return hit[0]
    try:
        book, rels = (safe.read(n) for n in names)
    except ArchiveError as exc:
        raise Refused(f"[xlsx] {exc.message}") from None
    target = _sheet_target(book, rels)
    if cacheable:
        if len(_TARGETS) >= _TARGETS_LIMIT:
            _TARGETS.clear()
        _TARGETS[key] = (target,)
    return target


@lru_cache(maxsize=64)
def _sheet_target(book: bytes, rels: bytes) -> str | None:
    """Cached on the bytes: every workbook this program writes has the same two small files."""
    try:
        book_xml, rels_xml = ET.fromstring(book), ET.fromstring(rels)
    except ET.ParseError:
        raise Refused("[xlsx] 表格已损坏，无法读取签名页") from None
    rid = next((s.get(f"{_NS_REL}id") for s in book_xml.iter(f"{_NS_MAIN}sheet") if s.get("name") == ENVELOPE_SHEET),
               None)
    if rid is None:
        return None
    target = next((r.get("Target") for r in rels_xml.iter(f"{_NS_PKG_REL}Relationship") if r.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _text(node: ET.Element) -> str:
    """A shared or inline string: the text of every <t> in it (rich text has several runs)."""
    return "".join(t.text or "" for t in node.iter(f"{_NS_MAIN}t"))


_SI = re.compile(rb"<si>(.*?)</si>", re.S)
_T = re.compile(rb"<t(?: [^>]*)?>([^<&]*)</t>")
_SI_WRAP = b'<si xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">%b</si>'


class _Strings:
    """The shared strings, decoded only where the hidden sheet points. Each <si> is cut out by a
    regex (its text cannot hold '</si>': XML escapes '<'); a plain '<t>text</t>' is read as is,
    anything with markup or entities is parsed alone, and a file spelt otherwise (prefixes,
    attributes on <si>, comments, CDATA, empty <si/>) gets the full XML parse."""

    def __init__(self, safe: SafeZip) -> None:
        self.pieces: list[bytes] | None = None
        self.parsed: list[str] | None = None
        name = "xl/sharedStrings.xml"
        if name not in safe.entries:
            self.parsed = []
            return
        try:
            data = safe.read(name)
        except ArchiveError as exc:
            raise Refused(f"[xlsx] {exc.message}") from None
        if not any(odd in data for odd in (b"<si ", b"<si/>", b":si", b"<!")):
            self.pieces = _SI.findall(data)
        else:
            try:
                table = ET.fromstring(data)
            except ET.ParseError:
                raise Refused("[xlsx] 表格已损坏，无法读取签名页") from None
            self.parsed = [_text(si) for si in table.iter(f"{_NS_MAIN}si")]

    def __len__(self) -> int:
        return len(self.pieces) if self.pieces is not None else len(self.parsed or [])

    def __getitem__(self, index: int) -> str:
        if self.pieces is None:
            return (self.parsed or [])[index]
        try:
            return _si(self.pieces[index])
        except (ET.ParseError, UnicodeDecodeError):
            raise Refused("[xlsx] 表格已损坏，无法读取签名页") from None


def _si(piece: bytes) -> str:
    match = _T.fullmatch(piece)
    if match is not None:  # what an XML parser would give: line ends normalised to LF
        return match.group(1).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    return _text(ET.fromstring(_SI_WRAP % piece))


def hidden_envelope(safe: SafeZip) -> str | None:
    """The envelope text on the very hidden sheet, read from that sheet's XML and the shared
    strings only; None when the workbook has no such sheet. Mirrors `envelope_from_book`."""
    path = _sheet_path(safe)
    if path is None or path not in safe.entries:
        return None
    data = _read(safe, path)
    quick = _one_inline_cell(data)
    if quick is not None:
        return quick
    sheet = _parse(data)
    column_a: dict[int, tuple[str, ET.Element]] = {}
    for cell in sheet.iter(f"{_NS_MAIN}c"):
        ref = cell.get("r", "")
        if ref.startswith("A") and ref[1:].isdigit():
            column_a[int(ref[1:])] = (cell.get("t", "n"), cell)
    strings: _Strings | None = None
    parts: list[str] = []
    row = 1
    while row in column_a:
        kind, cell = column_a[row]
        if kind == "inlineStr":
            parts.append(_text(cell))
        else:
            value = cell.find(f"{_NS_MAIN}v")
            if value is None or value.text is None:
                break
            if kind == "s":
                if strings is None:
                    strings = _Strings(safe)
                index = int(value.text) if value.text.isdigit() else -1
                if not 0 <= index < len(strings):
                    raise Refused("[xlsx] 表格已损坏：签名页引用了不存在的文字")
                parts.append(strings[index])
            else:
                parts.append(value.text)
        row += 1
    return "".join(parts) or None
