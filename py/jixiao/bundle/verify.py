"""Verify a signed bundle (.zip), envelope (.json) or spreadsheet (.xlsx), offline.

`verify_file` never raises: every problem, including hostile input (zip bombs, `../`
entries, truncated files, a 100 MB upload), becomes a `Verdict` of Chinese check lines.
The file's kind is sniffed from its bytes, not its name. Checks, in order: the envelope's
shape, the signature, the roster (when given), the payload's schema, the framework, the
evaluation recomputed, and for a spreadsheet or a zip every visible cell and entry against
the one signed payload. The same function runs in the browser's 核验 page.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .. import __version__
from ..catalog import UnknownName, load_framework
from ..io.files import read_at_most, read_problem
from ..model.framework import Framework
from ..render.report_html import render_report_html
from ..render.xlsx import envelope_from_book, public_cells
from ..rules.evaluate import evaluate
from .archive import ArchiveError, open_zip
from .changes import changed_cell, compare_html, compare_workbook, evaluation_differences
from .crypto import ALG_NAMES
from .envelope import SUBMISSION_TYPE, Envelope, EnvelopeError, parse_envelope
from .keys import group_hex
from .payload import PayloadError, SignedContent, beijing_time, parse_payload, public_note, signed_later_than
from .roster import Roster, check_key

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_BUNDLE_ENTRIES, MAX_XLSX_ENTRIES = 16, 500
Status = Literal["ok", "fail", "skip", "warn"]
Kind = Literal["zip", "json", "xlsx"]


@dataclass(frozen=True)
class Check:
    code: str  # SIGNATURE ROSTER PAYLOAD FRAMEWORK EVALUATION CELLS HTML ARCHIVE READ INTERNAL
    status: Status
    message: str


@dataclass
class Verdict:
    """The outcome for one file; `ok` only when it was read and no check failed."""

    name: str
    kind: Kind | None = None
    readable: bool = True
    checks: list[Check] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    unit_code: str | None = None
    unit_name: str | None = None
    year: int | None = None
    signed_at: str | None = None
    total: str | None = None
    grade: str | None = None

    @property
    def ok(self) -> bool:
        return self.readable and not any(c.status == "fail" for c in self.checks)

    def add(self, code: str, status: Status, message: str) -> None:
        self.checks.append(Check(code, status, message))

    def unreadable(self, message: str) -> Verdict:
        self.readable = False
        self.add("READ", "fail", message)
        return self

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _size_problem(size: int) -> str:
    return f"文件过大（{size / 1024 / 1024:.1f} MB），上限 {MAX_FILE_BYTES // 1024 // 1024} MB：未读取"


def verify_path(path: Path | str, roster: Roster | None = None) -> Verdict:
    """Verify a file on disk; its size is checked before a byte is read."""
    path = Path(path)
    verdict = Verdict(path.name)
    try:
        if path.is_dir():
            return verdict.unreadable("这是一个文件夹，其中没有 .zip、.json 或 .xlsx 文件")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return verdict.unreadable(_size_problem(size))
        data = read_at_most(path, MAX_FILE_BYTES)
    except OSError as exc:
        return verdict.unreadable(read_problem(exc))
    return verify_file(path.name, data, roster)


def verify_file(name: str, data: bytes, roster: Roster | None = None, now: datetime | None = None) -> Verdict:
    """Verify one file's bytes; `name` is only for the report. A bundle signed more than a day
    after `now` (default: this computer's clock) fails, as consolidation and the store refuse it."""
    verdict = Verdict(name)
    try:
        _verify(verdict, data, roster)
    except Exception as exc:  # the verdict must come back whatever the input did
        verdict.add("INTERNAL", "fail", f"核验中出现程序内部错误（{type(exc).__name__}），请联系维护人员")
    late = signed_later_than(verdict.signed_at, now or datetime.now(UTC), "核验时的时间") if verdict.signed_at else None
    if late is not None:
        verdict.add("SIGNED_AT", "fail", late)
    return verdict


def _verify(verdict: Verdict, data: bytes, roster: Roster | None) -> None:
    if len(data) > MAX_FILE_BYTES:
        verdict.unreadable(_size_problem(len(data)))
        return
    if not data.strip():
        verdict.unreadable("文件是空的")
        return
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            safe = open_zip(data, "压缩包", max_entries=max(MAX_BUNDLE_ENTRIES, MAX_XLSX_ENTRIES))
        except ArchiveError as exc:
            _archive_problem(verdict, exc)
            return
        if "xl/workbook.xml" in safe.entries:
            verdict.kind = "xlsx"
            _verify_xlsx(verdict, data, roster)
        else:
            verdict.kind = "zip"
            _verify_zip(verdict, data, roster)
        return
    text = data.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("{"):
        verdict.kind = "json"
        _verify_text(verdict, text, roster)
        return
    if data.startswith(b"%PDF"):
        verdict.unreadable("这是 PDF 文件：请核验签名材料 .zip、.json 或导出的 .xlsx")
        return
    verdict.unreadable("无法识别的文件：既不是签名材料 .zip，也不是签名 .json 或 .xlsx")


def _archive_problem(verdict: Verdict, exc: ArchiveError) -> None:
    if exc.unreadable:
        verdict.unreadable(exc.message)
    else:
        verdict.add("ARCHIVE", "fail", exc.message)


# --- the envelope and its payload ------------------------------------------------------------------

def _verify_envelope(verdict: Verdict, envelope: Envelope, roster: Roster | None) -> SignedContent | None:
    valid = envelope.valid_signatures()
    for sig in envelope.signatures:
        fp = sig.public_key.fingerprint
        if fp not in verdict.fingerprints:
            verdict.fingerprints.append(fp)
        if sig in valid:
            verdict.add("SIGNATURE", "ok", f"签名有效（{ALG_NAMES[sig.alg]}，公钥指纹 {fp}）")
            if sig.keyid and sig.keyid != sig.public_key.fingerprint_hex:
                verdict.add("SIGNATURE", "warn",
                            "签名的 keyid 与公钥指纹不一致（keyid 仅作提示，已按公钥核验）")
        else:
            verdict.add("SIGNATURE", "fail",
                        f"签名无效：内容在签名后被改动，或签名不属于这份内容（公钥指纹 {fp}）")
    if not valid:
        return None
    try:
        content = parse_payload(envelope.payload)
    except PayloadError as exc:
        verdict.add("PAYLOAD", "fail", f"{exc.message}")
        return None
    sub = content.submission
    verdict.unit_code, verdict.unit_name, verdict.year = sub.unit_code, sub.unit_name, sub.year
    verdict.signed_at = content.signed_at
    ev = content.evaluation
    verdict.total = None if ev.total is None else str(ev.model_dump(mode="json")["total"])
    verdict.grade = ev.grade
    if roster is None:
        verdict.add("ROSTER", "skip", "未对照公钥名册核对（未提供名册）：只核验了完整性，"
                                      "请确认公钥指纹与单位盖章的公钥登记表一致")
    else:
        results = [check_key(roster, sub.unit_code, s.public_key, content.signed_time) for s in valid]
        good = next((why for ok, why in results if ok), None)
        if good is not None:
            verdict.add("ROSTER", "ok", f"公钥已登记：{good}（名册所有者指纹 {roster.owner_fingerprint}）")
        else:
            verdict.add("ROSTER", "fail", f"公钥未通过名册核对：{results[0][1]}")
    verdict.add("PAYLOAD", "ok",
                f"内容：{sub.unit_name or '（未填单位名称）'}（单位编码 {sub.unit_code or '（空）'}），"
                f"{sub.year} 年度，指标体系 {content.framework.id}（{content.framework.version}），"
                f"签名时间（北京时间）{beijing_time(content.signed_at)}，"
                f"{content.software.name} {content.software.version}")
    if content.original is not None:
        original = content.original
        verdict.add("PAYLOAD", "ok",
                    f"这是发布者签名的公开副本（已删去不公开的字段），不是单位签名的原件：原件签名文件 sha256 "
                    f"{original.envelope_sha256}，原件由公钥指纹 {'、'.join(group_hex(s) for s in original.signers)}"
                    f" 签名于（北京时间）{beijing_time(original.signed_at)}")
    framework = _framework(verdict, content)
    if framework is not None:
        _recompute(verdict, content, framework)
    return content


def _framework(verdict: Verdict, content: SignedContent) -> Framework | None:
    ref = content.framework
    if content.evaluation.framework != ref or content.submission.framework_id != ref.id:
        verdict.add("FRAMEWORK", "fail", "签名内容前后矛盾：自评表、评分结果与所注明的指标体系不一致")
        return None
    try:
        framework = load_framework(ref.id)
    except UnknownName:
        verdict.add("FRAMEWORK", "fail", f"签名内容所用的指标体系“{ref.id}”不是本程序内置的，无法复算评分"
                                         f"（请升级 jixiao 后再核验）")
        return None
    if framework.sha256 != ref.sha256 or framework.version != ref.version:
        verdict.add("FRAMEWORK", "fail",
                    f"指标体系“{ref.id}”与本程序内置的不同："
                    f"签名时为 {ref.version}（sha256 {ref.sha256[:12]}…），"
                    f"内置为 {framework.version}（sha256 {framework.sha256[:12]}…），无法按同一标准复算")
        return None
    verdict.add("FRAMEWORK", "ok", f"指标体系与内置“{ref.id}”（{ref.version}）一致")
    return framework


def _recompute(verdict: Verdict, content: SignedContent, framework: Framework) -> None:
    recomputed = evaluate(content.submission, framework)
    differences = evaluation_differences(content.evaluation, recomputed)
    if not differences:
        verdict.add("EVALUATION", "ok",
                    f"评分复算一致：总分 {verdict.total or '—'}，等级 {verdict.grade or '—'}")
        return
    verdict.add("EVALUATION", *recomputed_otherwise(content.software.version, differences))


def recomputed_otherwise(version: str, differences: list[str]) -> tuple[Status, str]:
    """The verdict on a signed evaluation that `evaluate` no longer gives, the same in `verify` and
    consolidation. Signed by this version of jixiao: changed after signing or computed wrongly, so it
    fails. Signed by another version: the scoring rules differ between the two (the version moves
    whenever they change, tests/test_rules_version.py), and the unit could not have signed the new
    answer. Refusing would send every unit that signed before an upgrade back to export again for
    nothing: its submission is signed and intact, and every figure consolidation counts is read from
    the submission or recomputed from it. So it is a warning, and says which answer counts."""
    listed = "；".join(differences) or "评分结果的写法不同"
    if version == __version__:
        return "fail", f"签名中的评分结果与复算不符：{listed}"
    return "warn", (f"签名时用的是 jixiao {version[:20]}，本程序为 {__version__}，评分规则有更新，"
                    f"复算结果与签名时不同：{listed}。汇总按本程序复算的结果；如需一致，请该单位用当前版本重新导出签名材料")


def _verify_text(verdict: Verdict, text: str, roster: Roster | None
                 ) -> tuple[Envelope, SignedContent | None] | None:
    try:
        envelope = parse_envelope(text, SUBMISSION_TYPE)
    except EnvelopeError as exc:
        verdict.add("SIGNATURE", "fail", f"{exc.message}")
        return None
    return envelope, _verify_envelope(verdict, envelope, roster)


# --- spreadsheets and zips -----------------------------------------------------------------------

def _open_book(verdict: Verdict, data: bytes, where: str) -> tuple[Any, str] | None:
    """The loaded workbook and the envelope text on its hidden sheet, or None (reported)."""
    try:
        open_zip(data, f"{where}表格", max_entries=MAX_XLSX_ENTRIES)
    except ArchiveError as exc:
        _archive_problem(verdict, exc)
        return None
    import openpyxl  # type: ignore[import-untyped]  # only spreadsheets need it

    try:
        with warnings.catch_warnings(action="ignore"):
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    except Exception:  # openpyxl raises anything from KeyError to XML errors
        verdict.unreadable(f"{where}表格已损坏，无法打开")
        return None
    text = envelope_from_book(book)
    if text is None:
        verdict.add("SIGNATURE", "fail", f"{where}表格中没有签名数据（不是由 jixiao 导出的签名表格，或签名页被删除）")
        return None
    return book, text


def _take_public_note(book: Any, content: SignedContent, bare_ok: bool) -> tuple[list[str], bool]:
    """A public copy's sheets open with its line (PUBLIC_NOTE_AT): checked as a reader sees it,
    text and number format as for any cell (';;;' hides it), then cleared in the loaded book, so
    the rest is compared with the layout the unit signed. Returns the changes and whether the
    sheets are bare: neither has the line, as every public copy made before 324ec0f (same
    version, same payload: nothing else tells them apart). Bare sheets are not a change when
    `bare_ok` (the zip's page is bare too, or there is no page); a line missing from one part
    only, or altered, always is."""
    note = public_note(content)
    if note is None:
        return [], False
    changes: list[str] = []
    bare = True
    for expected in public_cells(note):
        if expected.sheet not in book.sheetnames:
            continue  # compare_workbook names the sheet
        cell = book[expected.sheet].cell(row=expected.row, column=expected.col)
        present = cell.value not in (None, "")
        bare = bare and not present
        label = f"公开版标注（{expected.sheet}!{expected.coordinate}）"
        if (change := changed_cell(replace(expected, label=label), cell if present else None)) is not None:
            changes.append(change)
        cell.value = None
    return ([] if bare and bare_ok else changes), bare


def _compare_cells(verdict: Verdict, book: Any, content: SignedContent, where: str, bare_ok: bool = True) -> bool:
    """Reports the sheets' changes; True when they are an earlier public copy's (bare, accepted)."""
    framework = _known_framework(content)
    if framework is None:
        verdict.add("CELLS", "fail", f"{where}无法比对表格内容：指标体系不是内置的")
        return False
    changes, bare = _take_public_note(book, content, bare_ok)
    changes += compare_workbook(book, content.submission, content.evaluation, framework)
    for change in changes:
        verdict.add("CELLS", "fail", f"{where}{change}")
    if not changes:
        verdict.add("CELLS", "ok", f"{where}表格中附件6、附件7的可见单元格与签名内容一致")
    return bare and bare_ok


def _earlier_public_copy(verdict: Verdict) -> None:
    verdict.add("PAYLOAD", "warn", "较早版本发布的公开版（文件中没有公开版标注）：它是发布机关签名的公开副本，"
                                   "以签名内容为准（见上）")


def _verify_xlsx(verdict: Verdict, data: bytes, roster: Roster | None) -> None:
    opened = _open_book(verdict, data, "")
    if opened is None:
        return
    book, text = opened
    checked = _verify_text(verdict, text, roster)
    if checked is not None and checked[1] is not None and _compare_cells(verdict, book, checked[1], ""):
        _earlier_public_copy(verdict)


def _known_framework(content: SignedContent) -> Framework | None:
    try:
        framework = load_framework(content.framework.id)
    except UnknownName:
        return None
    return framework if framework.sha256 == content.framework.sha256 else None


_PARTS = (".json", ".xlsx", ".html")


def _bundle_files(verdict: Verdict, data: bytes) -> dict[str, bytes] | None:
    """The bundle's three entries by suffix; extra or missing entries are failures."""
    try:
        safe = open_zip(data, "压缩包", max_entries=MAX_BUNDLE_ENTRIES)
        by_suffix: dict[str, list[str]] = {}
        for entry in safe.entries:
            by_suffix.setdefault(Path(entry).suffix.lower(), []).append(entry)
        extra = [n for s, names in by_suffix.items() for n in (names if s not in _PARTS else names[1:])]
        if extra:
            verdict.add("ARCHIVE", "fail", f"压缩包中有多余的文件：{'、'.join(e[:60] for e in extra[:5])}")
        missing = [s for s in _PARTS if s not in by_suffix]
        if missing:
            verdict.add("ARCHIVE", "fail", f"压缩包不完整：缺少 {'、'.join(missing)} 文件")
        return {s: safe.read(names[0]) for s, names in by_suffix.items() if s in _PARTS}
    except ArchiveError as exc:
        _archive_problem(verdict, exc)
        return None


def _verify_zip(verdict: Verdict, data: bytes, roster: Roster | None) -> None:
    """The envelope is checked once, from the .json; the .xlsx and .html must match it. A public
    copy's page and sheets all carry its line, or (an earlier copy) none of them do."""
    files = _bundle_files(verdict, data)
    if files is None or ".json" not in files:
        return
    checked = _verify_text(verdict, files[".json"].decode("utf-8", errors="replace"), roster)
    if checked is None:
        return
    envelope, content = checked
    if content is None:
        return
    framework = _known_framework(content)
    page = _page_changes(files[".html"].decode("utf-8", errors="replace"), content, framework) \
        if ".html" in files and framework is not None else None
    page_bare = page is not None and page[1]
    sheets_bare: bool | None = None
    if ".xlsx" in files and (opened := _open_book(verdict, files[".xlsx"], "[xlsx] ")) is not None:
        book, text = opened
        try:
            inner = parse_envelope(text, SUBMISSION_TYPE)
        except EnvelopeError as exc:
            verdict.add("ARCHIVE", "fail", f"[xlsx] 表格中的签名数据无效：{exc.message}")
        else:
            if inner.payload != envelope.payload or not inner.valid_signatures():
                verdict.add("ARCHIVE", "fail", "[xlsx] 表格中的签名内容与 .json 签名文件不是同一份")
            else:
                sheets_bare = _compare_cells(verdict, book, content, "[xlsx] ", bare_ok=page is None or page_bare)
    if page is not None:
        changes = [] if page_bare and sheets_bare is not False else page[0]
        for change in changes:
            verdict.add("HTML", "fail", f"[html] {change}")
        if not changes:
            verdict.add("HTML", "ok", "[html] 网页与签名内容一致")
    if sheets_bare or (page_bare and sheets_bare is None):
        _earlier_public_copy(verdict)


def _page_changes(html: str, content: SignedContent, framework: Framework) -> tuple[list[str], bool]:
    """The page against the one rebuilt from the payload, and whether it is bare: a public copy's
    page as the earlier writer made it (no line, the unit's footer), byte for byte."""
    def render(public: str | None) -> str:
        return render_report_html(content.submission, content.evaluation, framework=framework,
                                  signed_at=content.signed_at, software_version=content.software.version,
                                  public=public)

    note = public_note(content)
    changes = compare_html(html, render(note))
    return changes, note is not None and bool(changes) and html == render(None)
