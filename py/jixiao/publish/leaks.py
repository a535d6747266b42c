"""The last check before a site goes out: no file holds a unit's private values.

Why after masking, on the built files: the files are what the public gets, and templates,
openpyxl, mkdocs (its search index escapes every non-ASCII character) and the signer (a
bundle's payload is base64) all had a hand in them. So every file is read as a reader would
see it: zip members (the .xlsx inside a zip too), the decoded payload of a signed JSON, JSON
`\\u` escapes and HTML character references undone. A unit's removed texts are then looked
for as written, and its numbers by their digits through `phones.known_spans`, the very
function the masking applied last: what the check stops is what the masking should have
removed, and what the masking removed cannot trip it.

A unit's values are looked for in its own files (units/SLUG.html, downloads/SLUG.*, its entries
in the search index) and in the shared pages, not in other units' files: one unit's contact
may be another's ordinary word, which that unit had no reason to mask. A person named only after
a 联系人 label is looked for in its own files alone: the label is all that says it is a name.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import json
import re
import zipfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path, PurePosixPath

from . import names, phones
from .redact import Private

SEARCH_INDEX = "search/search_index.json"
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_OWNED = ("units", "downloads")


def readable(data: bytes) -> str:
    """Bytes as text with JSON escapes and HTML/XML character references undone."""
    text = data.decode("utf-8", errors="replace")
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return html.unescape(text) if "&" in text else text


def _payload(data: bytes) -> bytes | None:
    """A signed envelope's payload, decoded; None for any other JSON."""
    try:
        doc = json.loads(data)
        return base64.b64decode(doc["payload"], validate=True) if isinstance(doc, dict) else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _parts(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """The file, the members of a zip (two levels: an .xlsx in a bundle) and a signed payload."""
    yield name, data
    if data.startswith(b"PK") and depth < 2:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _parts(f"{name}/{member}", archive.read(member), depth + 1)
    elif name.endswith(".json") and (payload := _payload(data)) is not None:
        yield f"{name}#payload", payload


def _owner(location: str, slugs: Collection[str]) -> str | None:
    path = PurePosixPath(location.split("#")[0])
    return path.stem if path.parts[:1] in [(folder,) for folder in _OWNED] and path.stem in slugs else None


def _texts(site_dir: Path, slugs: Collection[str]) -> Iterator[tuple[str, str | None, str]]:
    """(name, owning unit or None when shared, readable text) of everything under `site_dir`;
    the search index entry by entry, each owned by the page it indexes."""
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(site_dir).as_posix()
        data = path.read_bytes()
        if rel == SEARCH_INDEX:
            try:
                docs = json.loads(data)["docs"]
                for doc in docs:
                    location = str(doc.get("location", ""))
                    yield (f"{rel}#{location}", _owner(location, slugs),
                           f"{doc.get('title', '')}\n{doc.get('text', '')}")
                continue
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # not the index mkdocs writes: read whole, as shared
        owner = _owner(rel, slugs)
        for name, part in _parts(rel, data):
            yield name, owner, readable(part)


Values = tuple[dict[str, set[str]], dict[str, set[str]]]  # text → slugs, number → slugs


def _values(private: Mapping[str, Private], own: bool = False) -> Values:
    """Each value to the units that must not show it; the persons named after a label count only
    in the unit's `own` files."""
    texts: dict[str, set[str]] = {}
    numbers: dict[str, set[str]] = {}
    for slug, values in private.items():
        for value in values.texts | values.names if own else values.texts:
            texts.setdefault(value, set()).add(slug)
        for number in values.numbers:
            numbers.setdefault(number, set()).add(slug)
    return texts, numbers


def holders(text: str, values: Values) -> set[str]:
    """The units (by slug) one of whose private values `text` holds."""
    texts, numbers = values
    out: set[str] = set()
    for value, slugs in texts.items():
        pattern = names.spaced(value)
        if value in text or (pattern is not None and pattern.search(text)):
            out |= slugs
    for _, _, number in phones.known_spans(phones.fold(text), numbers):
        out |= numbers[number]
    return out


def scan(site_dir: Path, private: Mapping[str, Private]) -> dict[str, list[str]]:
    """Unit slug → the files (zip members, search entries) that hold one of its private values.
    A unit's own file is read for its values alone, a shared one for every unit's."""
    everyone = _values(private)
    own = {slug: _values({slug: values}, own=True) for slug, values in private.items()}
    found: dict[str, list[str]] = {}
    if not any(everyone):
        return found
    for name, owner, text in _texts(site_dir, set(private)):
        for slug in sorted(holders(text, everyone if owner is None else own[owner])):
            found.setdefault(slug, []).append(name)
    return found
