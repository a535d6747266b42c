"""From inputs to a 附件4: gather, check (in parallel when asked), pick, summarise.

Inputs are files (bundles .zip/.json/.xlsx, signed reviews .json, an earlier 附件4 .xlsx or
its summary .json), folders (searched recursively for the same) and, on the server or the
command line, a store (.sqlite/.db: every bundle and review it holds). Each document is
sniffed from its bytes, never trusted by its name.

Rules: every bundle is checked (`check_bundle`); what fails is listed with its reasons. Of
the bundles that pass, the latest per unit and year counts (by signing time, then by arrival
in a store, then by input order); the others are listed as superseded. Bundles of another
year or 主管部门 than the one being summarised are listed as left out, and a run that would
mix years or departments is refused with the choices, so a stray file never reaches the
wrong table. Reviews: the latest per unit and year; with a roster, only those signed by the
roster's owner (the supervisor) count.

`workers > 1` checks in a process pool (CPython only; the browser calls the same code with
one worker). With fork, the workers inherit the list of sources and are sent index ranges; each
reads its own files and sends back only the small facts (`Checked`), so no file's bytes and no
big object crosses a pipe.
"""

from __future__ import annotations

import gc
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from ..bundle.archive import ArchiveError, open_zip
from ..bundle.envelope import REVIEW_TYPE, SUBMISSION_TYPE, SUMMARY_TYPE
from ..bundle.payload import beijing_time, signed_later_than
from ..bundle.roster import Roster
from ..bundle.verify import MAX_FILE_BYTES
from ..io.files import read_at_most, read_problem
from ..render.xlsx import ENVELOPE_SHEET
from .check import Checked, UnitFacts, check_bundle
from .collector import paused
from .review import Review, ReviewError, latest_reviews, read_review
from .summary import (
    SUMMARY_KIND,
    DepartmentSummary,
    RejectedInput,
    ScoreRule,
    SheetRow,
    SummaryError,
    build_summary,
    compare_summaries,
    read_summary,
    sheet_rows,
)

STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
FOLDER_SUFFIXES = (".zip", ".json", ".xlsx")
EMPTY_FOLDER = "文件夹中没有 .zip、.json 或 .xlsx 文件"  # a folder named expecting bundles: said, not passed over
_TYPE = re.compile(rb'"payloadType"\s*:\s*"([^"]{1,120})"')
_KIND = re.compile(rb'"kind"\s*:\s*"' + SUMMARY_KIND.encode() + rb'"')

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Source:
    """One document to look at: bytes in memory, or a file read when it is checked."""

    name: str
    data: bytes | None = None
    path: str | None = None
    received_at: str = ""

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return read_at_most(self.path, MAX_FILE_BYTES)


@dataclass
class Outcome:
    """Everything a consolidation run found; `summary` is None when nothing could be summarised."""

    summary: DepartmentSummary | None = None
    checked: list[Checked] = field(default_factory=list)
    rejected: list[RejectedInput] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # the same signed content given again: counted once
    left_out: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    earlier: list[tuple[str, list[SheetRow], SheetRow | None]] = field(default_factory=list)

    @property
    def accepted(self) -> list[UnitFacts]:
        return [c.unit for c in self.checked if c.unit is not None]


class NoSummary(SummaryError):
    """No 附件4 can be built from what passed. Its `refused` (as any `SummaryError`'s) names each
    input refused and why; `outcome` keeps the rest of the run (the 汇总 page counts the checks)."""

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message, outcome.rejected)
        self.outcome = outcome


# --- finding the inputs --------------------------------------------------------------------------

def expand(inputs: Iterable[str | Path]) -> tuple[list[Source], list[RejectedInput]]:
    """Files as given, folders searched recursively, stores opened: in a stable order."""
    sources: list[Source] = []
    missing: list[RejectedInput] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = str(path.resolve())
        if key not in seen:
            seen.add(key)
            sources.append(Source(str(path), path=str(path)))

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            unread: list[tuple[Path, str]] = []
            listed = folder_files(path, unread)
            missing += [RejectedInput(name=str(where), reasons=[why]) for where, why in unread]
            if not listed and not unread:
                missing.append(RejectedInput(name=str(path), reasons=[EMPTY_FOLDER]))
            for found, key in listed:
                if key not in seen:
                    seen.add(key)
                    sources.append(Source(str(found), path=str(found)))
        elif path.is_file() and path.suffix.lower() in STORE_SUFFIXES:
            sources += store_sources(path)
        elif path.is_file():
            add(path)
        else:
            missing.append(RejectedInput(name=str(path), reasons=["文件或文件夹不存在"]))
    return sources, missing


def folder_files(folder: Path, unread: list[tuple[Path, str]] | None = None) -> list[tuple[Path, str]]:
    """The files `sorted(folder.rglob("*"))` gives (bundle suffixes, not hidden; real directories are
    walked, linked ones are not, as CPython 3.11 does), each with its resolved path. One `scandir`
    per directory says which entries are links, so only those are resolved one by one: resolving
    and sorting 10,000 `Path`s cost 0.4 s before the first bundle was checked. What rglob passes
    over without a word, a bundle's link to a missing file and a folder that cannot be read, goes
    into `unread` with the reason (QA: a bundle behind a broken link was left out unsaid)."""
    root = os.path.realpath(folder)
    found: list[tuple[tuple[str, ...], Path, str]] = []

    def walk(directory: Path, relative: tuple[str, ...]) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except PermissionError:
            if unread is not None:
                unread.append((directory, "无权读取此文件夹，其中的材料无法读取"))
            return
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                walk(directory / name, (*relative, name))
                continue
            dot = name.rfind(".")
            if name.startswith(".") or not 0 < dot < len(name) - 1 or name[dot:].lower() not in FOLDER_SUFFIXES:
                continue
            try:
                if not entry.is_file():
                    if unread is not None and entry.is_symlink() and not os.path.exists(entry.path):
                        unread.append((directory / name, "是指向不存在的文件的链接（快捷方式），无法读取"))
                    continue
                link = entry.is_symlink()
            except OSError:
                continue
            parts = (*relative, name)
            key = os.path.realpath(entry.path) if link else os.path.join(root, *parts)
            found.append((parts, directory / name, key))

    walk(folder, ())
    found.sort(key=lambda item: item[0])  # Path order: part by part
    return [(path, key) for _, path, key in found]


def store_sources(path: Path) -> list[Source]:
    """Every bundle and review a store holds, as sources (server side: needs sqlite3)."""
    from ..store import Store

    with Store(path, read_only=True) as store:
        return [Source(f"{path.name}:{row.sha256[:12]}", data=data, received_at=row.received_at)
                for row, data in store.all_documents()]


def kind_of(data: bytes) -> str:
    """'bundle', 'review', 'summary', 'summary_xlsx' or 'other', from the bytes alone."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            safe = open_zip(data, "文件", max_entries=500)
            if "xl/workbook.xml" not in safe.entries:
                return "bundle"
            book = safe.read("xl/workbook.xml")
        except ArchiveError:
            return "bundle"  # check_bundle names the problem
        return "bundle" if ENVELOPE_SHEET.encode("utf-8") in book else "summary_xlsx"
    head = data[:600]
    match = _TYPE.search(head)
    if match is not None:
        kind = match.group(1).decode("utf-8", "replace")
        return {SUBMISSION_TYPE: "bundle", REVIEW_TYPE: "review", SUMMARY_TYPE: "summary"}.get(kind, "other")
    if _KIND.search(data[:4096]):
        return "summary"
    return "bundle" if data.lstrip()[:1] == b"{" else "other"


# --- checking, in parallel when asked ------------------------------------------------------------

_WORKER: dict[str, Any] = {}
_INHERITED: dict[int, Sequence[Source]] = {}  # set just before a fork: the children see it, nothing is pickled
_JOB_IDS = itertools.count()
RANGE = 32  # bundles per task: small enough to balance two busy cores, large enough that IPC is noise


def _init_worker(roster: Roster | None, deep: bool, keep: bool, job: int | None = None) -> None:
    _WORKER.update(roster=roster, deep=deep, keep=keep, sources=_INHERITED.get(job) if job is not None else None)
    gc.freeze()  # what the parent built stays out of every collection (and its pages are not copied)


def _check_one(source: Source) -> Checked:
    return _check(source, _WORKER.get("roster"), bool(_WORKER.get("deep")), bool(_WORKER.get("keep", True)))


def _check(source: Source, roster: Roster | None, deep: bool, keep: bool = True) -> Checked:
    try:
        data = source.read()
    except OSError as exc:
        return Checked(source.name, "").fail(read_problem(exc))
    checked = check_bundle(source.name, data, roster, deep=deep, indicators=keep)
    checked.received_at = source.received_at
    return checked


Checker = Callable[[Source], Checked | None]


def check_all(sources: Sequence[Source], roster: Roster | None = None, *, deep: bool = False, workers: int = 1,
              progress: Progress | None = None, keep_indicators: bool = True,
              checked_before: Checker | None = None) -> list[Checked]:
    """`check_bundle` for every source, in input order; `workers > 1` uses a process pool.
    Without `keep_indicators` the per-indicator scores (needed only to check reviews) are dropped.
    `checked_before` (one process only) answers for sources checked earlier with the same roster
    (the browser's 汇总 page checks in slices between repaints); None means check it now."""
    total = len(sources)
    if workers <= 1 or total < 2 * workers:
        out = []
        with paused():
            for done, source in enumerate(sources, start=1):
                earlier = checked_before(source) if checked_before is not None else None
                out.append(earlier if earlier is not None else _check(source, roster, deep, keep_indicators))
                if done % RANGE == 0:
                    gc.collect(1)
                if progress is not None:
                    progress(done, total)
        return out
    import multiprocessing  # not in Pyodide: only reached with workers > 1

    results: list[Checked | None] = [None] * total
    method = _start_method()
    context = multiprocessing.get_context(method)
    if method != "fork":  # spawn: the children see nothing of ours, so each task carries its sources
        chunk = max(1, min(64, total // (workers * 8)))
        with context.Pool(workers, _init_worker, (roster, deep, keep_indicators)) as pool:
            for done, (index, checked) in enumerate(pool.imap_unordered(_indexed, enumerate(sources), chunk), 1):
                results[index] = checked
                if progress is not None:
                    progress(done, total)
        return [r for r in results if r is not None]
    job = next(_JOB_IDS)
    _INHERITED[job] = sources
    step = max(1, min(RANGE, total // (workers * 4)))
    ranges = [(start, min(start + step, total)) for start in range(0, total, step)]
    done = 0
    try:
        with context.Pool(workers, _init_worker, (roster, deep, keep_indicators, job)) as pool:
            for start, batch in pool.imap_unordered(_check_range, ranges):
                results[start:start + len(batch)] = batch
                done += len(batch)
                if progress is not None:
                    progress(done, total)
    finally:
        del _INHERITED[job]
    return [r for r in results if r is not None]


def _indexed(item: tuple[int, Source]) -> tuple[int, Checked]:
    return item[0], _check_one(item[1])


def _check_range(bounds: tuple[int, int]) -> tuple[int, list[Checked]]:
    """Check the inherited sources[start:stop]: the task is two integers, the answer small facts."""
    start, stop = bounds
    sources = _WORKER["sources"]
    with paused():
        batch = [_check_one(sources[i]) for i in range(start, stop)]
        gc.collect(1)
    return start, batch


def _start_method() -> str:
    return "fork" if os.name == "posix" and "fork" in _methods() else "spawn"


def _methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


# --- choosing and summarising --------------------------------------------------------------------

def pick_latest(checked: Sequence[Checked]) -> tuple[list[Checked], list[str], list[str]]:
    """The bundle in force per (year, unit code), the superseded ones and the copies of one signed
    content (the same file twice, or a zip and its .json), described: a copy counts once, and
    saying so squares "2 份通过" with one row."""
    best: dict[tuple[int, str], tuple[tuple[str, str, int], Checked]] = {}
    superseded: list[str] = []
    copies: list[str] = []
    for order, item in enumerate(checked):
        unit = item.unit
        if unit is None:
            continue
        key = (unit.year, unit.unit_code)
        rank = (unit.signed_at, item.received_at, order)
        held = best.get(key)
        if held is None:
            best[key] = (rank, item)
            continue
        if held[1].unit is not None and held[1].unit.payload_sha256 == unit.payload_sha256:
            copies.append(f"{item.source}：与 {held[1].source} 是同一份签名内容（{unit.unit_name}（{unit.unit_code}）"
                          f"{unit.year} 年度），只计一次")
            continue
        newer, older = ((rank, item), held) if rank > held[0] else (held, (rank, item))
        best[key] = newer
        # Both signing times, in Beijing time: a resubmission often keeps its file name.
        was, now = (beijing_time(x[1].unit.signed_at if x[1].unit else "") for x in (older, newer))
        if older[0][0] == newer[0][0]:  # one signing time, two contents: which one counts is a guess
            superseded.append(f"{older[1].source}：{unit.unit_name}（{unit.unit_code}）{unit.year} 年度与 "
                              f"{newer[1].source} 签名时间相同（{now}）而内容不同：按收到或给出的顺序取后一份，"
                              "此份不计，请向单位核实哪一份为准")
            continue
        superseded.append(f"{older[1].source}（签名时间 {was}）：{unit.unit_name}（{unit.unit_code}）{unit.year} 年度"
                          f"已有更新的签名材料（{newer[1].source}，签名时间 {now}），此份不计")
    return [item for _, item in best.values()], superseded, copies


def _choices(units: Sequence[UnitFacts], attr: str) -> str:
    counts: dict[Any, int] = {}
    for unit in units:
        value = getattr(unit, attr)
        counts[value] = counts.get(value, 0) + 1
    return "、".join(f"{value or '（空）'}（{n} 份）" for value, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def consolidate(sources: Sequence[Source], *, roster: Roster | None = None, rule: ScoreRule = "weighted",
                department: str | None = None, year: int | None = None, deep: bool = False, workers: int = 1,
                progress: Progress | None = None, generated_at: str = "",
                rejected: Sequence[RejectedInput] = (), checked_before: Checker | None = None,
                now: datetime | None = None) -> Outcome:
    """Check every source and build the department's 附件4; raises `NoSummary` (a `SummaryError`)
    when none passed, or the passing bundles span several years or departments and no choice was made.
    A bundle signed more than a day after `now` (default: this computer's clock), or after it
    reached the store, is refused (`signed_later_than`)."""
    outcome = Outcome(rejected=list(rejected))
    bundles: list[Source] = []
    others: list[tuple[str, Source, bytes]] = []
    for source in sources:
        if source.data is None and source.path is not None:
            suffix = os.path.splitext(source.path)[1].lower()  # PurePath's suffix: 8 µs a file, 10,000 files
            if suffix == ".zip" or (suffix == ".json" and kind_of(_head(source.path)) == "bundle"):
                bundles.append(source)  # read in the worker: the parent never holds every file
                continue
        try:
            data = source.read()
        except OSError as exc:
            outcome.rejected.append(RejectedInput(name=source.name, reasons=[read_problem(exc)]))
            continue
        kind = kind_of(data)
        if kind == "bundle":
            bundles.append(Source(source.name, data=data, received_at=source.received_at))
        else:
            others.append((kind, source, data))
    reviews_given = any(kind == "review" for kind, _, _ in others)
    outcome.checked = check_all(bundles, roster, deep=deep, workers=workers, progress=progress,
                                keep_indicators=reviews_given, checked_before=checked_before)
    _refuse_future(outcome.checked, now or datetime.now(UTC))
    with paused():
        try:
            _summarise(outcome, others, roster, rule, department, year, generated_at)
        except SummaryError as exc:
            raise NoSummary(exc.message, outcome) from None
    return outcome


def _refuse_future(checked: Sequence[Checked], now: datetime) -> None:
    """Refuse each passing bundle signed more than a day after it reached the store, or after `now`
    for a file: it would count over every correction signed before that date."""
    for item in checked:
        if item.unit is None:
            continue
        received = _received(item.received_at)
        when = "收到材料的时间" if received else "本次汇总的时间"
        reason = signed_later_than(item.unit.signed_at, received or now, when)
        if reason is not None:
            item.fail(reason)
            item.unit = None


def _received(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _summarise(outcome: Outcome, others: list[tuple[str, Source, bytes]], roster: Roster | None,
               rule: ScoreRule, department: str | None, year: int | None, generated_at: str) -> None:
    """Everything after the checks: reviews and earlier summaries read, the latest bundle per unit, 附件4."""
    for item in outcome.checked:
        if not item.ok:
            outcome.rejected.append(RejectedInput(name=item.source, sha256=item.sha256, reasons=item.reasons))
    trusted = [roster.doc.owner.fingerprint] if roster is not None else None
    for kind, source, data in others:
        _other(outcome, kind, source, data, trusted)
    current, outcome.superseded, outcome.copies = pick_latest(outcome.checked)
    units = [c.unit for c in current if c.unit is not None]
    chosen = _select(outcome, units, year, department)
    reviews = latest_reviews(outcome.reviews)
    listed = [RejectedInput(name=PurePath(r.name).name, sha256=r.sha256, reasons=r.reasons) for r in outcome.rejected]
    outcome.summary = build_summary(chosen, reviews, rule=rule, department=department, generated_at=generated_at,
                                    rejected=listed)
    for name, rows, total in outcome.earlier:
        outcome.differences += compare_summaries(name, rows, total, outcome.summary)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(4096)
    except OSError:
        return b""  # read again later, where the error is reported


def _other(outcome: Outcome, kind: str, source: Source, data: bytes, trusted: list[str] | None) -> None:
    if kind == "review":
        try:
            outcome.reviews.append(read_review(data, trusted))
        except ReviewError as exc:
            outcome.rejected.append(RejectedInput(name=source.name, reasons=[f"复核意见未采用：{exc.message}"]))
    elif kind == "summary":
        try:
            signed = read_summary(data, allow_unsigned=True)
        except SummaryError as exc:
            outcome.rejected.append(RejectedInput(name=source.name, reasons=[f"已有汇总表无法读取：{exc.message}"]))
            return
        rows, total = sheet_rows(signed.summary)
        outcome.earlier.append((source.name, rows, total))
    elif kind == "summary_xlsx":
        from ..render.summary_xlsx import read_summary_xlsx

        try:
            rows, xlsx_total = read_summary_xlsx(data)
        except Exception:  # openpyxl raises anything on a damaged file
            rows, xlsx_total = [], None
        if not rows:
            outcome.rejected.append(RejectedInput(name=source.name, reasons=[
                "既不是签名材料，也不是附件4汇总表（找不到“序号”“预算单位”表头）"]))
            return
        outcome.earlier.append((source.name, rows, xlsx_total))
    else:
        unknown = "无法识别的文件：不是签名材料（.zip、.json、.xlsx）、复核意见或汇总表"
        reason = "文件是空的" if not data.strip() else unknown
        outcome.rejected.append(RejectedInput(name=source.name, reasons=[reason]))


def _select(outcome: Outcome, units: list[UnitFacts], year: int | None, department: str | None) -> list[UnitFacts]:
    if not units:
        raise SummaryError("没有通过核验的签名材料")
    if year is None:
        years = {u.year for u in units}
        if len(years) > 1:
            raise SummaryError(f"通过核验的材料分属多个年度：{_choices(units, 'year')}。一张汇总表只能是一个年度，"
                               f"请用 --year 选择")
        year = units[0].year
    in_year = [u for u in units if u.year == year]
    outcome.left_out += [f"{u.unit_name}（{u.unit_code}）：{u.year} 年度，不是所汇总的 {year} 年度"
                         for u in units if u.year != year]
    if not in_year:
        raise SummaryError(f"没有 {year} 年度的通过核验的材料（有：{_choices(units, 'year')}）")
    if department is None:
        names = {u.department_name for u in in_year}
        if len(names) > 1:
            counts: dict[str, int] = {}
            for u in in_year:
                counts[u.department_name] = counts.get(u.department_name, 0) + 1
            listed = "、".join(f"{n or '（空）'}（{c} 份）" for n, c in sorted(counts.items()))
            raise SummaryError(f"通过核验的材料分属多个主管部门：{listed}。请用 --department 选择一个")
        return in_year
    chosen = [u for u in in_year if u.department_name == department.strip()]
    outcome.left_out += [f"{u.unit_name}（{u.unit_code}）：主管部门为“{u.department_name or '（空）'}”，"
                         f"不是“{department}”"
                         for u in in_year if u.department_name != department.strip()]
    if not chosen:
        raise SummaryError(f"没有主管部门为“{department}”的通过核验的材料"
                           f"（有：{_choices(in_year, 'department_name')}）")
    return chosen


def iter_rejections(outcome: Outcome) -> Iterator[tuple[str, str]]:
    for item in outcome.rejected:
        for reason in item.reasons:
            yield item.name, reason
