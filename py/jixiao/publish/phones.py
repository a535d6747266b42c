"""Phone numbers in free text, in the forms Chinese offices write them.

Masking (redact.py) and the leak check (leaks.py) read numbers through this one module, so the
check stops exactly what the masking should have removed and never what it did remove.

Forms found anywhere: 11-digit mobiles (`13800138000`, `138-0013-8000`, `138 0013 8000`), with
or without `+86`/`0086`/`（+86）`; landlines with an area code, bracketed or not, with or
without separators (`（0791）85621234`, `0791—85621235`, `079185621236`, `0791 8562 1239`,
`+86 791 85621234`), and their extensions (`转801`, `-801`, `（分机801）`). A bare local number
(`85621234`) is taken only after a label (`电话：`, `传真`) or a number already found
(`0791-85621234、85621235`, `… 85621235`), the label as offices word it (`电话号码：`,
`联系电话为`, `联系电话（传真）：`, `电 话：`): alone it is as likely a count or an amount. A
number followed by 元 or % is an amount or a rate (`实现产值13500000000元`), whatever its digits. A local number starts
with 2–9, an area code with 0, and nothing is taken out of a longer run of digits or a decimal
(`5479.62`, `2021`, `〔2021〕12号`, 18-digit codes stay).

Text is first folded one character for one (full-width and other Unicode digits to ASCII,
full-width brackets, em/en dashes and ideographic spaces to ASCII), so a match's span in the
folded text is its span in the text as written.

A number known to be private (the contact's phone, every number masked in the unit's texts)
is then found in any spelling by its digits (`known_spans`): a run of digit groups separated
by spaces, dashes, brackets or `+` whose consecutive groups spell it, with or without the
country code or the leading 0, and, for a landline, its local part alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator

MASK = "（电话已删去）"

_PUNCT = {
    "（": "(", "）": ")", "＋": "+", "\u3000": " ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    **dict.fromkeys("—–－‐‑‒―−﹣", "-"),
}

_PUNCTUATION = re.compile(f"[{''.join(map(re.escape, _PUNCT))}]")
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # \d on str is every Unicode decimal digit

_GAP = r"[ -]{0,3}"  # after a country or area code: '0791——8562', '0791 - 8562'
_LOCAL = r"[2-9][0-9]{2,3}[ -]?[0-9]{4}"
_MOBILE = r"1[3-9][0-9](?:[ -]?[0-9]{4}[ -]?[0-9]{4}|[0-9][ -][0-9]{3}[ -][0-9]{4})"
_AREA = r"(?:\(0?[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})"
_COUNTRY = r"(?:\( ?\+? ?86 ?\)|\+ ?86|0086)"
_EXT = (r"(?:[ ]{0,2}(?:转|分机|(?i:ext)\.?|[xX])[ ]{0,2}[0-9]{1,5}|-[0-9]{1,5}"
        r"|[ ]?\([ ]?(?:转|分机)[ ]?[0-9]{1,5}[ ]?\))")
# not inside a longer number or a decimal, nor an amount or a rate ('13500000000元', '…%')
_END = r"(?![0-9]|\.[0-9])(?![ ]?(?:[万亿]?元|[%％‰]))"
_NATIONAL = rf"(?:{_MOBILE}|{_AREA}{_GAP}{_LOCAL})"
_INTERNATIONAL = rf"{_COUNTRY}{_GAP}(?:{_MOBILE}|(?:\(0?[1-9][0-9]{{1,2}}\)|0?[1-9][0-9]{{1,2}}){_GAP}{_LOCAL})"
PHONE = re.compile(rf"(?<![0-9])(?<![0-9]\.)(?P<number>(?P<intl>{_INTERNATIONAL})|{_NATIONAL})(?:{_EXT})?{_END}")
# '电话：', '电 话：', '联系电话号码：', '联系电话为', '联系电话（传真）：', 'Tel.'
_LABEL = r"(?:电[ ]{0,2}话|手[ ]{0,2}机|传[ ]{0,2}真|座[ ]{0,2}机|热线|联系方式|(?i:tel|fax))"
LABELLED = re.compile(rf"{_LABEL}(?:号码?)?(?:[ ]?\([^()0-9]{{1,8}}\))?[ ]?(?:为|是)?[ ]?[:：.]?[ ]{{0,2}}"
                      rf"(?P<number>{_LOCAL})(?:{_EXT})?{_END}")
# the next number of a list: '、85621235', '或85621235', '0791-85621234 85621235'
FOLLOWING = re.compile(rf"(?:[ ]?[、,，/;；][ ]?|[ ]?[或和及][ ]?|[ ]{{1,2}})(?P<number>{_NATIONAL}|{_LOCAL})"
                       rf"(?:{_EXT})?{_END}")
_RUN = re.compile(r"[0-9](?:[ ()+-]{0,3}[0-9]){6,}")  # digits and separators, seven digits or more
_GROUP = re.compile(r"[0-9]+")
LONGEST = 13  # '86' and a 12-digit landline: no spelling of a number has more digits


def fold(text: str) -> str:
    """The same text, one character for one, with the digits and punctuation of phone numbers in ASCII."""
    if text.isascii():
        return text
    folded = _PUNCTUATION.sub(lambda m: _PUNCT[m.group()], text)  # a regex: few hits, megabytes read
    return _OTHER_DIGIT.sub(lambda m: str(unicodedata.digit(m.group())), folded)


def _local(national: str) -> str:
    """A landline's number without its area code (010 and 02x have two digits after the 0)."""
    return national[3:] if national[1] in "12" else national[4:]


def _identities(number: str, international: bool) -> list[str]:
    """The digit strings that name one number: a mobile's 11 digits; a landline's national
    number (with the 0) and its local part."""
    digits = re.sub(r"[^0-9]", "", number)
    if international:
        digits = digits.removeprefix("00").removeprefix("86")
    if len(digits) == 11 and digits[0] == "1":
        return [digits]
    if len(digits) <= 8:  # a bare local number
        return [digits]
    national = digits if digits[0] == "0" else "0" + digits
    return [national, _local(national)]


def find(folded: str) -> Iterator[tuple[int, int, list[str]]]:
    """(start, end, identities) of every phone number in folded text, extensions included."""
    spans: list[tuple[int, int, list[str]]] = []
    for pattern in (PHONE, LABELLED):
        for match in pattern.finditer(folded):
            start = match.start() if pattern is PHONE else match.start("number")
            if any(start < e and match.end() > s for s, e, _ in spans):
                continue
            spans.append((start, match.end(), _identities(match.group("number"), bool(match.groupdict().get("intl")))))
            end = match.end()
            while (more := FOLLOWING.match(folded, end)) is not None:
                spans.append((more.start("number"), more.end(), _identities(more.group("number"), False)))
                end = more.end()
    yield from sorted(spans)


def _spelled(digits: str, known: Collection[str]) -> str | None:
    """The known number these digits spell: as they are, without a country code, or without the 0."""
    bare = digits.removeprefix("00").removeprefix("86") if digits.startswith(("0086", "86")) else digits
    for candidate in (digits, bare, "0" + bare):
        if candidate in known:
            return candidate
    return None


def known_spans(folded: str, known: Collection[str]) -> Iterator[tuple[int, int, str]]:
    """(start, end, the number) of every spelling of a known number: consecutive digit groups of
    a run, whole groups only, the longest spelling first."""
    if not known:
        return
    for run in _RUN.finditer(folded):
        groups = [(g.start(), g.end(), g.group()) for g in _GROUP.finditer(run.group())]
        i = 0
        while i < len(groups):
            digits, found = "", None
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > LONGEST:
                    break
                if len(digits) >= 7 and (number := _spelled(digits, known)) is not None:
                    found = (j, number)
            if found is None:
                i += 1
                continue
            j, number = found
            yield run.start() + groups[i][0], run.start() + groups[j][1], number
            i = j + 1


def identities(text: str) -> set[str]:
    """Every number in `text` (say, the contact's phone field) by its identities; a run of
    seven digits or more that no pattern takes is a number too, as the field says so."""
    folded = fold(text)
    found = list(find(folded))
    out = {i for _, _, ids in found for i in ids}
    for run in _RUN.finditer(folded):
        if any(run.start() < e and run.end() > s for s, e, _ in found):
            continue
        digits = re.sub(r"[^0-9]", "", run.group())
        if len(digits) >= 7:
            out.add(digits)
            if digits[0] == "0" and 10 <= len(digits) <= 12:
                out.add(_local(digits))
    return out


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], MASK]
        last = end
    return "".join(out) + text[last:]


def mask(text: str, known: Collection[str] = ()) -> tuple[str, set[str]]:
    """`text` with every phone number and every spelling of a known number replaced by MASK,
    and the identities of the numbers found by pattern."""
    found = list(find(fold(text)))
    masked = _replace(text, [(s, e) for s, e, _ in found]) if found else text
    spans = [(s, e) for s, e, _ in known_spans(fold(masked), known)]
    return (_replace(masked, spans) if spans else masked), {i for _, _, ids in found for i in ids}
