"""Verifying a unit's bundle for consolidation: the signed envelope is the authority, cheaply.

`bundle.verify.verify_file` rebuilds every visible cell of the spreadsheet and the whole HTML
page and compares them (70–120 ms a zip). Consolidation takes nothing from those renderings:
every number in 附件4 comes from the signed payload. So the default here is the envelope path
(about 2 ms a zip on CPython):

1. the zip is opened with the same hostile-input limits (`open_zip`) and must hold exactly one
   .json, one .xlsx and one .html;
2. the envelope (.json): its shape, every signature (Ed25519 through `cryptography` when it is
   installed), the roster when one is given;
3. the payload: RFC 8785 canonical form (`canonical_form.py`), the schema (`Submission`), the
   framework named by id, version and hash, and the evaluation recomputed by `evaluate` and
   compared with the signed one (for a valid payload, its canonical bytes with the signed bytes,
   without parsing them: `_signed_as_recomputed`);
4. the spreadsheet carries the *same* envelope on its hidden sheet: only that sheet's XML and
   the shared strings are read (never the whole workbook), and the envelope found there must
   equal the .json one exactly (same payload, same signatures).

What is not looked at: the visible cells and the HTML. A bundle whose visible cells were edited
after signing still consolidates correctly (its row comes from the signed payload, not the
cells); `deep=True` (the CLI's `--deep`) adds the full `verify_file` to name such edits.

Every valid input takes the fast road; anything odd is handed to the strict parsers
(`parse_envelope`, `parse_payload`, `evaluation_differences`) so a refusal carries exactly the
message `jixiao verify` would give. Pure Python (zipfile, json, ElementTree): runs in Pyodide.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from ..bundle import crypto
from ..bundle.archive import ArchiveError, SafeZip, open_zip
from ..bundle.changes import evaluation_differences
from ..bundle.envelope import SUBMISSION_TYPE, EnvelopeError, pae, parse_envelope
from ..bundle.keys import PublicKey
from ..bundle.payload import PayloadError, parse_payload, parse_signed_at
from ..bundle.roster import Roster, check_key
from ..bundle.verify import MAX_BUNDLE_ENTRIES, MAX_FILE_BYTES, MAX_XLSX_ENTRIES, recomputed_otherwise, verify_file
from ..catalog import UnknownName, load_framework
from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.submission import Submission
from ..rules.evaluate import evaluate
from . import fastjson
from .canonical_form import beyond_bmp, canonical_raw, no_float, plain_canonical, safe_int
from .hidden_sheet import Refused as _Refused
from .hidden_sheet import carries, hidden_envelope

_SIGNED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_PAYLOAD_KEYS = {"submission", "evaluation", "framework", "software", "signed_at"}
_REDACTED = "这是已公开的脱敏副本（发布者签名），不是单位签名的原件：汇总须用单位的原件"

# Findings on a unit's own 附件6 that put its 附件4 row in doubt (the row is still written): code →
# the path prefix that makes it the row's. A wrong rate or over-spending of one source alone leaves the
# row's figures as they are; sources or structure not adding up to the total (found at funds.fiscal.* /
# funds.basic.*), a negative part (the total may be their sum) and a 等级 that is not the 总分's
# (report.figures.grade) put them in doubt.
ROW_CODES = {"TOTAL_MISMATCH": "total", "RATE_MISMATCH": "funds.total.", "EXECUTION_OVER_BUDGET": "funds.total.",
             "FUND_SUM_MISMATCH": "funds.", "AMOUNT_NEGATIVE": "funds.", "GRADE_MISMATCH": "report.figures.grade"}


@dataclass(frozen=True)
class IndicatorRef:
    """A scored 三级指标 of the signed table: what a per-indicator review may name."""

    path: str
    name: str
    max_score: Decimal | None
    score: Decimal | None


@dataclass(frozen=True)
class UnitFacts:
    """What consolidation needs from one verified bundle (picklable: crosses process pools)."""

    unit_code: str
    unit_name: str
    unit_kind: str
    department: str
    year: int
    framework_id: str
    framework_version: str
    signed_at: str
    payload_sha256: str
    signers: tuple[str, ...]
    budget: Decimal | None
    executed: Decimal | None
    rate: Decimal | None
    declared_total: Decimal | None
    computed_total: Decimal | None
    grade: str | None
    errors: int
    warnings: int
    flags: tuple[str, ...]
    indicators: tuple[IndicatorRef, ...] = ()

    @property
    def self_score(self) -> Decimal | None:
        """The 总分 the unit declared on its 附件6 (Σ得分 when it left 总分 blank)."""
        return self.declared_total if self.declared_total is not None else self.computed_total

    @property
    def department_name(self) -> str:
        """The 主管部门 a unit belongs to; a 本级 that left it blank is its own department."""
        name = self.department.strip()
        if not name and self.unit_kind == "本级":
            return self.unit_name.strip()
        return name


@dataclass
class Checked:
    """The outcome for one input: `unit` is set only when every check passed."""

    source: str
    sha256: str
    kind: str = ""
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit: UnitFacts | None = None
    unit_code: str = ""
    unit_name: str = ""
    year: int | None = None
    received_at: str = ""  # set when the bytes came from a store
    readable: bool = True  # False: not a bundle at all, or damaged (HTTP 400 rather than 422)
    with_indicators: bool = True  # asked by the caller: only reviews need `UnitFacts.indicators`

    @property
    def ok(self) -> bool:
        return self.unit is not None and not self.reasons

    def fail(self, message: str) -> Checked:
        self.reasons.append(message)
        return self


def check_bundle(source: str, data: bytes, roster: Roster | None = None, *, deep: bool = False,
                 indicators: bool = True) -> Checked:
    """Verify one unit's bundle (.zip, envelope .json or signed .xlsx) for consolidation; never raises.
    Without `indicators` the unit's per-indicator scores (needed only to check reviews) are left out."""
    checked = Checked(source, hashlib.sha256(data).hexdigest(), with_indicators=indicators)
    try:
        _check(checked, data, roster)
    except _Refused as exc:
        checked.fail(exc.message)
        checked.readable = not exc.unreadable
    except Exception as exc:  # hostile input must come back as a reason, never a crash
        checked.fail(f"核验中出现程序内部错误（{type(exc).__name__}），请联系维护人员")
    if deep and checked.ok:
        verdict = verify_file(PurePosixPath(source).name, data, roster)
        checked.reasons += [c.message for c in verdict.checks if c.status == "fail"]
    if checked.reasons:
        checked.unit = None
    return checked


def _check(checked: Checked, data: bytes, roster: Roster | None) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise _Refused(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限 {MAX_FILE_BYTES // 1024 // 1024} MB")
    if not data.strip():
        raise _Refused("文件是空的", unreadable=True)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        safe = _open(data, "压缩包", max(MAX_BUNDLE_ENTRIES, MAX_XLSX_ENTRIES))
        if "xl/workbook.xml" in safe.entries:
            checked.kind = "xlsx"
            text = hidden_envelope(safe)
            if text is None:
                raise _Refused("表格中没有签名数据（不是由 jixiao 导出的签名表格，或签名页被删除）")
            _check_envelope(checked, text.encode("utf-8"), roster)
            return
        checked.kind = "zip"
        _check_zip(checked, safe, roster)
        return
    if data.lstrip()[:1] == b"{" or data.startswith(b"\xef\xbb\xbf"):
        checked.kind = "json"
        _check_envelope(checked, data, roster)
        return
    raise _Refused("无法识别的文件：既不是签名材料 .zip，也不是签名 .json 或 .xlsx", unreadable=True)


def _open(data: bytes, what: str, max_entries: int) -> SafeZip:
    try:
        return open_zip(data, what, max_entries=max_entries)
    except ArchiveError as exc:
        raise _Refused(exc.message, unreadable=exc.unreadable) from None


def _check_zip(checked: Checked, safe: SafeZip, roster: Roster | None) -> None:
    if len(safe.entries) > MAX_BUNDLE_ENTRIES:
        raise _Refused(f"压缩包中的条目过多（{len(safe.entries)} 个，上限 {MAX_BUNDLE_ENTRIES}）")
    by_suffix: dict[str, list[str]] = {}
    parts = (".json", ".xlsx", ".html")
    for name in safe.entries:
        tail = name[-5:].lower()  # 'x.json' without '/' has that suffix in any pathlib: no parse needed
        plain = len(name) > 5 and "/" not in name and tail in parts
        by_suffix.setdefault(tail if plain else PurePosixPath(name).suffix.lower(), []).append(name)
    extra = [n for s, names in by_suffix.items() for n in (names if s not in parts else names[1:])]
    if extra:
        raise _Refused(f"压缩包中有多余的文件：{'、'.join(e[:60] for e in extra[:5])}")
    missing = [s for s in parts if s not in by_suffix]
    if missing:
        raise _Refused(f"压缩包不完整：缺少 {'、'.join(missing)} 文件")
    try:
        envelope_bytes = safe.read(by_suffix[".json"][0])
        xlsx = safe.read(by_suffix[".xlsx"][0])
    except ArchiveError as exc:
        raise _Refused(exc.message) from None
    doc = _check_envelope(checked, envelope_bytes, roster)
    if doc is None:
        return
    inner_zip = _open(xlsx, "[xlsx] 表格", MAX_XLSX_ENTRIES)
    try:  # the writer puts `Envelope.to_json(indent=None)` there: equal text means an equal document
        compact, plain = _compact_plain(doc)
    except ValueError:  # NaN is not equal to itself: leave it to the comparison below
        compact, plain = None, False
    if plain and compact is not None and carries(inner_zip, compact):
        return
    inner = hidden_envelope(inner_zip)
    if inner is None:
        raise _Refused("[xlsx] 表格中没有签名数据（签名页被删除）")
    if inner == compact:
        return
    try:
        inner_doc = json.loads(inner)
    except (ValueError, RecursionError):
        raise _Refused("[xlsx] 表格中的签名数据已损坏") from None
    if inner_doc != doc:
        raise _Refused("[xlsx] 表格中的签名内容与 .json 签名文件不是同一份")


def _compact(doc: dict[str, Any]) -> str:
    """`json.dumps(doc, ensure_ascii=False, separators=(",", ":"))` of an envelope `_shape`
    accepted, member by member, without escaping the 20 kB payload string again: it is canonical
    base64, whose characters JSON writes as they are."""
    return _compact_plain(doc)[0]


_XML_CHANGES = re.compile("[\x00-\x1f<&\ufffe\uffff]|]]>")  # what an XML text node refuses, decodes or rewrites


def _compact_plain(doc: dict[str, Any]) -> tuple[str, bool]:
    """`_compact`, and whether the text holds nothing XML would refuse or read otherwise (control
    characters, markup, ']]>', U+FFFE/U+FFFF): then `carries` may compare it byte for byte. Only
    the small members are searched: the payload is canonical base64. A string is written by
    `encode_basestring`, which is what `json.dumps` calls for one, and the 20 kB is joined once."""
    def xml_plain(text: str) -> bool:  # the regex's answer; for plain ASCII, C scans instead of its alternation
        ascii_plain = text.isascii() and text.isprintable() and "<" not in text and "&" not in text
        return (ascii_plain and "]]>" not in text) or _XML_CHANGES.search(text) is None

    pieces = ["{"]
    plain = True
    for key, value in doc.items():
        name = json.encoder.encode_basestring(key)
        if key == "payload":
            pieces += (name, ':"', f"{value}", '"', ",")
            continue
        if isinstance(value, str):
            text = json.encoder.encode_basestring(value)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        plain = plain and xml_plain(text) and xml_plain(name)
        pieces += (name, ":", text, ",")
    pieces[-1] = "}" if len(pieces) > 1 else "{}"
    return "".join(pieces), plain


# --- the envelope ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Sig:
    alg: crypto.Alg
    public: bytes
    sig: bytes


def _b64(value: Any) -> bytes | None:
    """Canonical base64 only: what `b64encode` of the decoded bytes would give back. binascii's
    strict mode refuses every character outside the standard alphabet, and padding anywhere but
    at the end (a test pins that); the length and the last groups are tested after."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        data = binascii.a2b_base64(value, strict_mode=True)
    except binascii.Error:
        return None
    # Only the last group can be spelt otherwise (padding, unused bits): full groups of alphabet
    # characters decode one to one. Re-encoding the last two groups, not 20 kB, decides.
    size = len(data)
    if len(value) != (size + 2) // 3 * 4:
        return None
    start = max(0, (size - 1) // 3 - 1) * 3
    return data if base64.b64encode(data[start:]).decode("ascii") == value[start // 3 * 4:] else None


def _shape(doc: Any) -> tuple[bytes, list[_Sig]] | None:
    """The payload and signatures of a well-formed submission envelope; None for anything odd."""
    if not isinstance(doc, dict) or set(doc) != {"payloadType", "payload", "signatures"}:
        return None
    if doc["payloadType"] != SUBMISSION_TYPE:
        return None
    payload = _b64(doc["payload"])
    raw_sigs = doc["signatures"]
    if payload is None or not isinstance(raw_sigs, list) or not 1 <= len(raw_sigs) <= 16:
        return None
    sigs: list[_Sig] = []
    for raw in raw_sigs:
        if not isinstance(raw, dict) or raw.get("alg") not in crypto.ALGORITHMS:
            return None
        if not isinstance(raw.get("keyid", ""), str):
            return None
        alg = crypto.check_alg(str(raw["alg"]))
        sig, public = _b64(raw.get("sig")), _b64(raw.get("public_key"))
        if sig is None or public is None or len(sig) != crypto.SIGNATURE_LENGTH[alg] \
                or len(public) != crypto.PUBLIC_LENGTH[alg]:
            return None
        sigs.append(_Sig(alg, public, sig))
    return payload, sigs


def _strict_envelope_problem(data: bytes) -> str:
    """The message the strict parser gives for an envelope the fast reader did not take."""
    try:
        parse_envelope(data, SUBMISSION_TYPE)
    except EnvelopeError as exc:
        return exc.message
    return "签名文件格式不对"


def _check_envelope(checked: Checked, data: bytes, roster: Roster | None) -> dict[str, Any] | None:
    """Check the envelope and its payload; returns the parsed envelope document when valid."""
    try:
        doc = fastjson.loads(data)
    except (ValueError, RecursionError):
        raise _Refused(_strict_envelope_problem(data), unreadable=True) from None
    shape = _shape(doc)
    if shape is None:
        raise _Refused(_strict_envelope_problem(data))
    payload, sigs = shape
    signed = pae(SUBMISSION_TYPE, payload)
    valid = [s for s in sigs if crypto.verify(s.alg, s.public, signed, s.sig)]
    if not valid:
        problem = _strict_envelope_problem(data)
        if problem == "签名文件格式不对":  # well formed, so the signature is what failed
            problem = "签名无效：内容在签名后被改动，或签名不属于这份内容"
        raise _Refused(problem)
    invalid = len(sigs) - len(valid)
    if invalid:
        raise _Refused(f"有 {invalid} 个签名无效：内容在签名后被改动，或签名不属于这份内容")
    facts, when = _check_payload(checked, payload, valid)
    if roster is None:
        checked.notes.append("未对照公钥名册核对（未提供名册）：只核验了完整性")
    else:
        results = [check_key(roster, facts.unit_code, _public(s.alg, s.public), when) for s in valid]
        if not any(ok for ok, _ in results):
            raise _Refused(f"公钥未通过名册核对：{results[0][1]}")
    checked.unit = facts
    return doc  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def _public(alg: crypto.Alg, raw: bytes) -> PublicKey:
    """The `PublicKey` of a signature that verified, one per distinct (algorithm, raw bytes); keyed by
    the bytes themselves, never by a key id or fingerprint the file claims."""
    return PublicKey.from_verified(alg, raw)


# --- the payload -------------------------------------------------------------------------------

def _strict_payload_problem(payload: bytes) -> str:
    try:
        parse_payload(payload)
    except PayloadError as exc:
        return exc.message
    return "签名内容格式不对"


def _strict_raw(payload: bytes) -> dict[str, Any]:
    """What the fast reader did not take gets the strict parser's answer: its refusal (or the note
    that this is a publisher's copy), or, should it accept what `canonical_raw` did not, its own
    parsed payload, so the accepted set is exactly the strict one."""
    try:
        loose = json.loads(payload.decode("utf-8"), parse_float=no_float, parse_constant=no_float,
                           parse_int=safe_int)
    except (ValueError, RecursionError, UnicodeDecodeError):
        loose = None
    if isinstance(loose, dict) and "original" in loose and loose.get("redacted") is True:
        raise _Refused(_REDACTED)
    try:
        return parse_payload(payload).raw
    except PayloadError as exc:
        raise _Refused(exc.message) from None


def _check_payload(checked: Checked, payload: bytes, valid: list[_Sig]) -> tuple[UnitFacts, datetime]:
    done = _signed_as_recomputed(checked, payload, valid)
    if done is not None:
        return done
    raw = canonical_raw(payload)
    if raw is None:
        raw = _strict_raw(payload)
    if not isinstance(raw, dict) or set(raw) != _PAYLOAD_KEYS:
        if isinstance(raw, dict) and "original" in raw and raw.get("redacted") is True:
            raise _Refused(_REDACTED)
        raise _Refused(_strict_payload_problem(payload))
    signed_at = raw["signed_at"]
    if not isinstance(signed_at, str) or not _SIGNED_AT.match(signed_at):
        raise _Refused(_strict_payload_problem(payload))
    try:
        when = parse_signed_at(signed_at)  # parsed once: the roster check needs it too
        submission = Submission.model_validate(raw["submission"])
    except ValueError:  # a ValidationError is a ValueError
        raise _Refused(_strict_payload_problem(payload)) from None
    software = raw["software"]
    if not _software_ok(software):
        raise _Refused(_strict_payload_problem(payload))
    checked.unit_code, checked.unit_name, checked.year = submission.unit_code, submission.unit_name, submission.year
    framework = _framework(raw["framework"], submission)
    recomputed = evaluate(submission, framework)
    dumped = recomputed.model_dump(mode="json")
    notes: tuple[str, ...] = ()
    if dumped != raw["evaluation"]:
        notes = (_evaluation_note(raw["evaluation"], recomputed, str(software["version"])),)
    if submission.year is None:
        raise _Refused("签名内容中没有年度")
    if not submission.unit_code.strip():
        raise _Refused("签名内容中没有单位编码：无法确定是哪个单位")
    return _accepted(checked, submission, recomputed, signed_at, payload, valid, notes), when


def _software_ok(software: Any) -> bool:
    return (isinstance(software, dict) and set(software) == {"name", "version"}
            and all(isinstance(v, str) for v in software.values()))


_EVALUATION_OPEN = b'{"evaluation":'
_SUBMISSION_KEY = b',"submission":'
_FRAMEWORK_KEY = b'},"framework":{'


def _canonical(record: Submission | Evaluation) -> bytes:
    """The record's canonical JSON; ValueError for what RFC 8785 cannot hold (a lone surrogate,
    an unsafe integer), as `canonical_json` refuses it."""
    return record.model_dump_canonical().encode("utf-8")


def _signed_as_recomputed(checked: Checked, payload: bytes, valid: list[_Sig]) -> tuple[UnitFacts, datetime] | None:
    """A valid payload, checked without parsing its evaluation: about half the payload's bytes.

    A canonical payload is `{"evaluation":E,"framework":…,"signed_at":…,"software":…,"submission":S}`.
    The middle members are parsed and held to their canonical form as `canonical_raw` holds the
    whole; S is validated and must be exactly the canonical text of the submission it gives (so S
    is canonical and says nothing the record leaves out); the evaluation recomputed from S must
    be E exactly, as its canonical text. Then the payload is canonical and says what the full path
    would have compared. Anything else, refusals included, returns None and takes the full path,
    whose answers and messages are the only ones given."""
    if not (payload.startswith(_EVALUATION_OPEN) and payload.endswith(b"}")):
        return None
    at = payload.rfind(_SUBMISSION_KEY)  # a key's quote is never bare inside a JSON string
    end = payload.rfind(_FRAMEWORK_KEY, 0, at)
    if at < 0 or end < 0:
        return None
    middle = plain_canonical(b"{" + payload[end + 2:at] + b"}")
    if type(middle) is not dict or set(middle) != {"framework", "signed_at", "software"}:
        return None
    signed_at, software = middle["signed_at"], middle["software"]
    if not isinstance(signed_at, str) or not _SIGNED_AT.match(signed_at) or not _software_ok(software):
        return None
    submission_bytes = payload[at + len(_SUBMISSION_KEY):-1]
    try:
        when = parse_signed_at(signed_at)
        raw = fastjson.loads(submission_bytes)
        # S must be the canonical text of a valid submission: its spelling checked by writing the
        # parsed value back (orjson, keys in the BMP) or the record (our writer), its content by
        # reading it as exactly a record's canonical dump.
        spelt = None if beyond_bmp(submission_bytes) else fastjson.sorted_text(raw)
        if spelt is not None and spelt != submission_bytes:
            return None
        submission = Submission.model_from_canonical(raw)
        if submission is None or (spelt is None and _canonical(submission) != submission_bytes):
            return None
        framework = _framework(middle["framework"], submission)
    except (ValueError, RecursionError, _Refused):  # a lone surrogate or unsafe integer in S: ValueError
        return None
    if submission.year is None or not submission.unit_code.strip():
        return None
    recomputed = evaluate(submission, framework)
    try:
        same = _canonical(recomputed) == payload[len(_EVALUATION_OPEN):end + 1]
    except ValueError:  # e.g. a lone surrogate a message quotes: the full path answers
        return None
    if not same:
        return None
    return _accepted(checked, submission, recomputed, signed_at, payload, valid), when


def _framework(ref: Any, submission: Submission) -> Framework:
    if not (isinstance(ref, dict) and set(ref) == {"id", "version", "sha256"}
            and all(isinstance(v, str) for v in ref.values())):
        raise _Refused("签名内容中的指标体系信息不符合格式")
    if submission.framework_id != ref["id"]:
        raise _Refused("签名内容前后矛盾：自评表、评分结果与所注明的指标体系不一致")
    try:
        framework = load_framework(ref["id"])
    except UnknownName:
        raise _Refused(f"签名内容所用的指标体系“{ref['id'][:60]}”不是本程序内置的，无法复算评分"
                       f"（请升级 jixiao 后再核验）") from None
    if framework.sha256 != ref["sha256"] or framework.version != ref["version"]:
        raise _Refused(f"指标体系“{ref['id']}”与本程序内置的不同：签名时为 {ref['version'][:20]}"
                       f"（sha256 {ref['sha256'][:12]}…），内置为 {framework.version}"
                       f"（sha256 {framework.sha256[:12]}…），无法按同一标准复算")
    return framework


def _evaluation_note(signed: Any, recomputed: Evaluation, version: str) -> str:
    """The note for a signed evaluation that differs from the recomputed one (signed by another
    version of jixiao: the unit's row counts, recomputed), or a refusal (`recomputed_otherwise`)."""
    try:
        differences = evaluation_differences(Evaluation.model_validate(signed), recomputed)
    except ValueError:
        raise _Refused("签名内容中的评分结果不符合格式") from None
    status, message = recomputed_otherwise(version, differences)
    if status == "fail":
        raise _Refused(message)
    return message


def _accepted(checked: Checked, submission: Submission, recomputed: Evaluation, signed_at: str,
              payload: bytes, valid: list[_Sig], notes: tuple[str, ...] = ()) -> UnitFacts:
    """What both paths report for a payload that passed (the full path named the unit earlier, so
    that its refusals can say whose bundle failed)."""
    checked.unit_code, checked.unit_name, checked.year = submission.unit_code, submission.unit_name, submission.year
    return _facts(submission, recomputed, signed_at, hashlib.sha256(payload).hexdigest(),
                  tuple(hashlib.sha256(s.public).hexdigest() for s in valid), checked.with_indicators, notes)


def _facts(sub: Submission, ev: Evaluation, signed_at: str, payload_sha256: str,
           signers: tuple[str, ...], with_indicators: bool, notes: tuple[str, ...] = ()) -> UnitFacts:
    total = ev.funds["total"]
    flags = tuple(f.message for f in ev.findings
                  if f.code in ROW_CODES and f.path.startswith(ROW_CODES[f.code]))
    missing = []
    if total.budget is None:
        missing.append("附件6未填全年预算数")
    if sub.total is None:
        missing.append("附件6未填总分，自评分数取各项得分之和")
    indicators = tuple(IndicatorRef(i.path, i.name, i.max_score, i.score)
                       for i in ev.indicators) if with_indicators else ()
    return UnitFacts(
        unit_code=sub.unit_code.strip(), unit_name=sub.unit_name.strip(), unit_kind=sub.unit_kind,
        department=sub.department.strip(), year=sub.year or 0, framework_id=ev.framework.id,
        framework_version=ev.framework.version, signed_at=signed_at, payload_sha256=payload_sha256,
        signers=signers, budget=total.budget, executed=total.executed, rate=total.rate,
        declared_total=sub.total, computed_total=ev.total, grade=ev.grade,
        errors=len(ev.errors), warnings=len(ev.warnings), flags=(*notes, *missing, *flags), indicators=indicators)
