"""Which bundles may be published: each input verified, the rest listed with a reason.

Publishing is the last door before the public, so nothing is taken on trust: every bundle goes
through `verify_file` (signature, roster when given, schema, framework, recomputed score, cells
and HTML against the signed payload) and only a verdict with no failure is kept. The envelope
is then read a second time from the same bytes, so what is published is exactly what passed.
A public copy made by `jixiao publish` is refused as input: only a unit's original is a source.
When one unit has several verified bundles for a year, the latest signature wins (a tie: the
first met, which in a store is the latest to arrive).

Inputs are files, folders (their .zip bundles) and stores (.sqlite/.db: every bundle and review
they hold, named `STORE:sha256[:12]` as `consolidate` names them). Files and store rows go
through the same `examine`, on bytes. A signed review (a file named, or a store's) is read with
`read_review` and kept for `reviews.match`; the store is opened read-only, never modified.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle.archive import ArchiveError, open_zip
from ..bundle.envelope import SUBMISSION_TYPE, Envelope, parse_envelope
from ..bundle.payload import SignedContent, beijing_time, parse_payload
from ..bundle.roster import Roster
from ..bundle.verify import MAX_BUNDLE_ENTRIES, MAX_FILE_BYTES, Verdict, verify_file
from ..consolidate.collect import STORE_SUFFIXES, folder_files, kind_of
from ..consolidate.review import Review, ReviewError, read_review
from ..io.files import read_at_most, read_problem
from ..render.xlsx import envelope_from_book

SUFFIXES = (".zip", ".json", ".xlsx")  # what a file named on the command line may be
FOLDER_SUFFIXES = (".zip",)  # in a folder only bundles are looked at: key files are .json too


@dataclass(frozen=True)
class Accepted:
    """A verified original: its envelope text (hashed into the public copy) and content."""

    source: str
    envelope: Envelope
    envelope_sha256: str
    content: SignedContent
    verdict: Verdict

    @property
    def payload_sha256(self) -> str:
        """What a review names as the bundle it reviewed."""
        return hashlib.sha256(self.envelope.payload).hexdigest()


@dataclass(frozen=True)
class Rejected:
    source: str
    reasons: list[str]


@dataclass
class Collected:
    """The bundles to publish, what was refused, and the signed reviews that verified (by source)."""

    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    superseded: list[Rejected] = field(default_factory=list)  # verified, but a newer one of the unit counts
    reviews: list[tuple[str, Review]] = field(default_factory=list)
    refused_reviews: list[Rejected] = field(default_factory=list)


def input_files(inputs: list[Path]) -> tuple[list[Path], list[Rejected]]:
    """Files named, plus the bundles (.zip) found in folders named, in a stable order."""
    files: list[Path] = []
    missing: list[Rejected] = []
    for item in inputs:
        if item.is_dir():  # as consolidation lists a folder, a broken link to a bundle named
            unread: list[tuple[Path, str]] = []
            files += [path for path, _ in folder_files(item, unread) if path.suffix.lower() in FOLDER_SUFFIXES]
            missing += [Rejected(str(where), [why]) for where, why in unread
                        if where.is_dir() or where.suffix.lower() in FOLDER_SUFFIXES]
        elif item.is_file():
            files.append(item)
        else:
            missing.append(Rejected(str(item), ["文件或文件夹不存在"]))
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in files:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique, missing


def _read(path: Path) -> bytes | Rejected:
    too_big = Rejected(str(path), [f"文件过大（上限 {MAX_FILE_BYTES // 1024 // 1024} MB）"])
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return too_big
        data = read_at_most(path, MAX_FILE_BYTES)  # capped: the file may have grown since
    except OSError as exc:
        return Rejected(str(path), [read_problem(exc)])
    return too_big if len(data) > MAX_FILE_BYTES else data


def store_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every bundle a store holds, newest arrival first, then every review; the
    store is opened read-only. Raises `InputError` for a file that is not a jixiao store or is damaged."""
    from ..store import Store

    with Store(path, read_only=True) as store:
        for row, data in store.all_documents():
            yield f"{path.name}:{row.sha256[:12]}", data


def documents(files: list[Path]) -> Iterator[tuple[str, bytes | Rejected]]:
    """(name, bytes) of every file, and of every bundle and review in a store; a file that could
    not be read comes as its `Rejected`."""
    for path in files:
        if path.suffix.lower() in STORE_SUFFIXES:
            yield from store_documents(path)
        else:
            yield str(path), _read(path)


def _envelope_text(data: bytes) -> bytes | None:
    """The envelope's bytes inside a zip bundle, a spreadsheet or a bare .json."""
    if not data.startswith(b"PK"):
        return data
    try:
        safe = open_zip(data, "压缩包", max_entries=max(MAX_BUNDLE_ENTRIES, 500))
    except ArchiveError:
        return None
    if "xl/workbook.xml" in safe.entries:
        import openpyxl  # type: ignore[import-untyped]

        with warnings.catch_warnings(action="ignore"):
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
        text = envelope_from_book(book)
        return None if text is None else text.encode("utf-8")
    names = [n for n in safe.entries if n.lower().endswith(".json")]
    return safe.read(names[0]) if len(names) == 1 else None


def _failures(verdict: Verdict) -> list[str]:
    return [c.message for c in verdict.checks if c.status == "fail"] or ["无法读取"]


def examine(name: str, data: bytes, roster: Roster | None) -> Accepted | Rejected:
    """Verify one bundle's bytes; an `Accepted` only when every check passed."""
    verdict = verify_file(Path(name).name, data, roster)
    if not verdict.ok:
        return Rejected(name, _failures(verdict))
    text = _envelope_text(data)
    if text is None:
        return Rejected(name, ["找不到签名文件"])
    envelope = parse_envelope(text, SUBMISSION_TYPE)
    content = parse_payload(envelope.payload)
    if content.redacted:
        return Rejected(name, ["这是已公开的脱敏副本（发布者签名），不是单位签名的原件：请用原件发布"])
    if content.submission.year is None:
        return Rejected(name, ["签名内容中没有年度"])
    return Accepted(name, envelope, hashlib.sha256(text).hexdigest(), content, verdict)


def collect(inputs: list[Path], roster: Roster | None) -> Collected:
    """Verify everything; keep the newest verified bundle per (year, unit code), and the signed
    reviews (with a roster, only those its owner signed)."""
    files, rejected = input_files(inputs)
    out = Collected(rejected=rejected)
    trusted = [roster.doc.owner.fingerprint] if roster is not None else None
    latest: dict[tuple[int, str], Accepted] = {}
    for name, data in documents(files):
        if isinstance(data, Rejected):
            out.rejected.append(data)
            continue
        if kind_of(data) == "review":
            try:
                out.reviews.append((name, read_review(data, trusted)))
            except ReviewError as exc:
                out.refused_reviews.append(Rejected(name, [exc.message]))
            continue
        result = examine(name, data, roster)
        if isinstance(result, Rejected):
            out.rejected.append(result)
            continue
        sub = result.content.submission
        key = (sub.year or 0, sub.unit_code.strip() or sub.unit_name.strip())
        older = latest.get(key)
        if older is not None:
            if older.payload_sha256 == result.payload_sha256:
                continue  # the same signed content again (a zip and its .json): published once
            # As consolidation chooses (`pick_latest`): the later signing time, and on a tie the
            # later input, so the public site and 附件4 never show different bundles of one unit.
            newer, stale = ((result, older) if result.content.signed_at >= older.content.signed_at
                            else (older, result))
            now, was = beijing_time(newer.content.signed_at), beijing_time(stale.content.signed_at)
            reason = (f"与 {newer.source} 签名时间相同（{now}）而内容不同：按给出的顺序取后一份，请向单位核实哪一份为准"
                      if now == was else
                      f"同一单位同一年度已有更新的签名材料（{newer.source}，签名时间 {now}；此份签名时间 {was}）")
            out.superseded.append(Rejected(stale.source, [reason]))
            result = newer
        latest[key] = result
    out.accepted = sorted(latest.values(), key=lambda a: (-(a.content.submission.year or 0),
                                                           a.content.submission.department,
                                                           a.content.submission.unit_kind != "本级",
                                                           a.content.submission.unit_code))
    return out
