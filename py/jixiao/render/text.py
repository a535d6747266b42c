"""Text a unit typed, made safe to write: into a spreadsheet cell, and into a file name.

Both take whatever was pasted (from Word, a web page, another spreadsheet) and must never fail
on it. A cell is XML 1.0 inside the .xlsx: one character XML cannot hold (U+FFFF, a C0 control)
makes the whole file unreadable, in openpyxl, Excel and LibreOffice alike. A file name is read
by a person in Explorer: a right-to-left override or a zero-width character there makes
“…‮xslx.exe” look like it ends in “.xlsx”.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

REPLACEMENT = "\ufffd"

# Noncharacters: U+FDD0–U+FDEF and the last two code points of every plane. XML 1.0 refuses
# U+FFFE and U+FFFF outright and discourages the rest; openpyxl writes them, then cannot read
# its own file back. Surrogates (U+D800–U+DFFF) cannot be encoded at all.
_NONCHARACTERS = r"\ufdd0-\ufdef\ufffe\uffff" + "".join(
    rf"\U{plane:04x}fffe\U{plane:04x}ffff" for plane in range(1, 17))

# What a cell cannot keep: openpyxl's own ILLEGAL_CHARACTERS_RE (C0 controls but tab, LF, CR),
# the surrogates and the noncharacters.
_CELL_ILLEGAL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff{_NONCHARACTERS}]")


def cell_text(text: str) -> str:
    """Text as a cell can keep it: characters XML cannot hold become U+FFFD (as openpyxl would
    have to refuse the whole file), and CR becomes LF (an XML parser turns it into LF on reading)."""
    return _CELL_ILLEGAL.sub(REPLACEMENT, text.replace("\r\n", "\n").replace("\r", "\n"))


# --- file names ------------------------------------------------------------------------------------

# Path separators, Windows' reserved characters and every control character (C0, DEL, C1).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f-\x9f]+')

# Unicode's default-ignorable code points (DerivedCoreProperties.txt): drawn as nothing, or
# steering the direction of what follows. Most are format characters (Cf); the rest are fillers
# and variation selectors, which letters of other categories would not reveal.
_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    rf"\U0001d173-\U0001d17a\U000e0000-\U000e0fff\ud800-\udfff{_NONCHARACTERS}]")


def _visible(ch: str) -> bool:
    return unicodedata.category(ch) != "Cf"  # format characters the list above may not name yet


def file_part(text: str, limit: int, empty: str) -> str:
    """A file-name part that reads as what it is: no path or reserved characters, no control,
    format (bidi, zero-width) or noncharacter code points, no edge dots, at most `limit` chars."""
    text = _INVISIBLE.sub("", text)
    if not text.isprintable():  # rare: only then look at each character's category
        text = "".join(ch for ch in text if _visible(ch))
    text = unicodedata.normalize("NFC", text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", "_", text).strip("._ ")[:limit].strip("._ ")
    return text or empty


def zip_date_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """`when` as a zip entry's date: an MS-DOS date holds 1980 to 2107 only, and a signing time
    outside that (a PC whose clock is wrong) must not stop a bundle being written. The time
    itself is in the signed .json; the entries' dates only make equal input give equal bytes."""
    if when.year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
