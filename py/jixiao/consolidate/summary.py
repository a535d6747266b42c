"""附件4 部门整体支出自评情况汇总表 as data: built from verified bundles, pure.

`build_summary(units, reviews, …) -> DepartmentSummary`: one row per unit, the department's own
level (本级) first, then its 所属单位 by unit code; 合计: money summed, 执行率 = Σ执行 / Σ预算
(never a mean of rates), scores by the chosen rule — budget-weighted Σ(分×预算)/Σ预算
(default), the plain mean, or the 本级's own — rounded half up to two decimals. Every number of
a row comes from the unit's signed payload; the row's `flags` say where that payload disagrees
with itself (总分 ≠ Σ得分, a wrong 执行率, sources not adding up) or where the review does not
fit. The review total is given only when every unit has been reviewed.

The summary is what the finance bureau consumes: `summary_json` signs its canonical JSON
(type `application/vnd.jixiao.summary+json; version=1`), `read_summary` checks one.
`compare_summaries` names every row of an earlier summary that disagrees with this one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from .. import __version__
from ..bundle.envelope import SUMMARY_TYPE, EnvelopeError, parse_envelope, sign_payload
from ..bundle.keys import PrivateKey
from ..canonical import canonical_json
from ..io.errors import InputError
from ..model.base import Field, Model, ValidationError
from ..model.numbers import Dec, Fixed2, percent, plain, round2
from ..render.text import cell_text
from .check import UnitFacts
from .collector import paused
from .review import Review, review_flags

ScoreRule = Literal["weighted", "mean", "own"]
SCORE_RULES: dict[str, str] = {"weighted": "按全年预算数加权平均", "mean": "简单平均", "own": "取部门本级的分数"}
NOTE = "注：此表由各主管部门填报，部门本级绩效自评情况填写在第一行，所属单位自评情况依次往下填写。"
SUMMARY_KIND: Final = "jixiao-department-summary"


class SummaryError(InputError):
    """A summary that cannot be built or read, with a one-line Chinese reason; `refused` lists the
    inputs left out on the way and why, for a door to show beside the reason."""

    def __init__(self, message: str, refused: Sequence[RejectedInput] = ()) -> None:
        super().__init__(message)
        self.refused = list(refused)


class _Model(Model, frozen=True):
    """Unknown keys are refused; a record never changes."""


# The models below declare their fields in sorted order: a dump is then canonical JSON as it stands,
# which `summary_payload` signs without a second pass (tests/test_consolidate.py checks it).


class Row(_Model, frozen=True):
    """One line of 附件4."""

    budget: Fixed2 = Field(default=None, title="全年预算数")
    executed: Fixed2 = Field(default=None, title="全年执行数")
    flags: list[str] = Field(default_factory=list)
    grade: str | None = None
    index: int = Field(title="序号")
    payload_sha256: str = ""
    rate: Fixed2 = Field(default=None, title="执行率")
    review_score: Dec = Field(default=None, title="主管部门复核分数")
    review_sha256: str | None = None
    self_score: Dec = Field(default=None, title="所属单位自评分数")
    signed_at: str = ""
    signers: list[str] = Field(default_factory=list)
    unit_code: str = Field(title="单位编码")
    unit_kind: Literal["本级", "所属单位"]
    unit_name: str = Field(title="预算单位")


class Totals(_Model, frozen=True):
    """The 合计 row."""

    budget: Fixed2 = None
    executed: Fixed2 = None
    rate: Fixed2 = None
    review_score: Fixed2 = None
    self_score: Fixed2 = None


class RejectedInput(_Model, frozen=True):
    name: str
    reasons: list[str]
    sha256: str = ""


class DepartmentSummary(_Model, frozen=True):
    department: str
    department_code: str = Field(default="", description="部门本级的单位编码")
    generated_at: str = ""
    kind: Literal["jixiao-department-summary"] = SUMMARY_KIND
    notes: list[str] = Field(default_factory=list)
    rejected: list[RejectedInput] = Field(default_factory=list)
    rows: list[Row]
    score_rule: ScoreRule = "weighted"
    software: str = f"jixiao {__version__}"
    total: Totals
    version: Literal[1] = 1
    year: int

    @property
    def title(self) -> str:
        return f"{self.year}年度部门整体支出自评情况汇总表"


# --- building --------------------------------------------------------------------------------

_DIGIT_RUNS = re.compile(r"(\d+)")


def code_order(code: str) -> tuple[tuple[int, int, str], ...]:
    """A unit code's place in the table: runs of digits by their value ("360124-KGX-2" before
    "-10", as people number units), the rest as text; "-02" and "-2" stay apart (by spelling)."""
    return tuple((1, int(part), part) if part.isdigit() else (0, 0, part) for part in _DIGIT_RUNS.split(code))


def order_units(units: Iterable[UnitFacts]) -> list[UnitFacts]:
    """本级 first, then 所属单位, each by unit code (`code_order`): the same order on every run."""
    return sorted(units, key=lambda u: (u.unit_kind != "本级", code_order(u.unit_code), u.unit_name))


def score_total(rows: Sequence[tuple[Decimal | None, Decimal | None, bool]], rule: ScoreRule
                ) -> tuple[Decimal | None, str | None]:
    """The 合计 score of (score, budget, is 本级) rows under `rule`, and a note when it cannot be
    given or leaves rows out. Rounded half up to two decimals."""
    scored = [(s, b, own) for s, b, own in rows if s is not None]
    if not scored:
        return None, None
    if rule == "own":
        own = [s for s, _, is_own in scored if is_own]
        if len(own) != 1:
            return None, "没有（或有多个）部门本级的分数，无法按“取部门本级的分数”计算合计"
        return round2(own[0]), None
    if rule == "mean":
        return round2(sum((s for s, _, _ in scored), Decimal(0)) / len(scored)), None
    weighted = [(s, b) for s, b, _ in scored if b is not None and b > 0]
    weight = sum((b for _, b in weighted), Decimal(0))
    if weight == 0:
        return None, "各单位全年预算数均为空或为零，无法按预算数加权计算合计"
    value = round2(sum((s * b for s, b in weighted), Decimal(0)) / weight)
    left = len(scored) - len(weighted)
    return value, (f"{left} 个单位全年预算数为空或为零，未计入加权合计" if left else None)


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def build_summary(units: Sequence[UnitFacts], reviews: Mapping[tuple[str, int], Review] | None = None, *,
                  rule: ScoreRule = "weighted", department: str | None = None, generated_at: str = "",
                  rejected: Sequence[RejectedInput] = ()) -> DepartmentSummary:
    """附件4 of one department and one year from its units' verified bundles."""
    if not units:
        raise SummaryError("没有通过核验的签名材料，无法汇总")
    years = sorted({u.year for u in units})
    if len(years) > 1:
        raise SummaryError(f"材料分属多个年度（{'、'.join(map(str, years))}）："
                           f"一张汇总表只能是一个年度，请用 --year 选择")
    names = sorted({u.department_name for u in units if u.department_name})
    if department is None:
        if len(names) > 1:
            raise SummaryError(f"材料分属多个主管部门（{'、'.join(names)}）：请用 --department 选择一个")
        department = names[0] if names else ""
    reviews = reviews or {}
    ordered = order_units(units)
    rows: list[Row] = []
    notes: list[str] = []
    for index, unit in enumerate(ordered, start=1):
        flags = list(unit.flags)
        review = reviews.get((unit.unit_code, unit.year))
        review_score: Decimal | None = None
        if review is not None:
            problems = review_flags(unit, review)
            flags += problems
            if review.doc.payload_sha256 == unit.payload_sha256:
                review_score = review.score
        rows.append(Row(index=index, unit_code=unit.unit_code, unit_name=unit.unit_name,
                        unit_kind="本级" if unit.unit_kind == "本级" else "所属单位",
                        budget=unit.budget, executed=unit.executed, rate=unit.rate, self_score=unit.self_score,
                        review_score=review_score, grade=unit.grade, signed_at=unit.signed_at,
                        payload_sha256=unit.payload_sha256, signers=list(unit.signers),
                        review_sha256=review.sha256 if review is not None and review_score is not None else None,
                        flags=flags))
    own = [r for r in rows if r.unit_kind == "本级"]
    if not own:
        notes.append("没有部门本级的签名材料：表中第一行应为部门本级")
    elif len(own) > 1:
        notes.append(f"有 {len(own)} 个单位标为部门本级：{'、'.join(r.unit_name for r in own)}")
    budget, executed = _sum(r.budget for r in rows), _sum(r.executed for r in rows)
    rate = percent(executed, budget) if budget is not None and executed is not None else None
    self_total, note = score_total([(r.self_score, r.budget, r.unit_kind == "本级") for r in rows], rule)
    if note:
        notes.append(f"自评分数合计：{note}")
    unreviewed = [r for r in rows if r.review_score is None]
    review_total: Decimal | None = None
    if unreviewed and len(unreviewed) < len(rows):
        notes.append(f"尚有 {len(unreviewed)} 个单位未复核，复核分数合计暂不计算")
    elif not unreviewed:
        review_total, note = score_total([(r.review_score, r.budget, r.unit_kind == "本级") for r in rows], rule)
        if note:
            notes.append(f"复核分数合计：{note}")
    return DepartmentSummary(
        year=years[0], department=department, department_code=own[0].unit_code if own else "",
        score_rule=rule, rows=rows,
        total=Totals(budget=budget, executed=executed, rate=rate, self_score=self_total, review_score=review_total),
        notes=notes, rejected=list(rejected), generated_at=generated_at)


# --- signing and reading -----------------------------------------------------------------------

def summary_payload(summary: DepartmentSummary) -> bytes:
    """The canonical JSON that is signed: the model's own dump (fields in sorted order), a fifth
    of `canonical_json(model_dump)`'s time for 10,000 rows."""
    return summary.model_dump_json().encode("utf-8")


def summary_json(summary: DepartmentSummary, key: PrivateKey | None) -> str:
    """The summary file: a signed envelope, or (without a key) the plain document, marked unsigned."""
    with paused():  # a 10,000-row document: see collector.py
        if key is None:
            return json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
        return sign_payload(SUMMARY_TYPE, summary_payload(summary), [key]).to_json() + "\n"


@dataclass(frozen=True)
class SignedSummary:
    summary: DepartmentSummary
    sha256: str
    signers: tuple[str, ...]  # fingerprints (hex) of valid signatures; empty when unsigned


def read_summary(data: bytes | str, *, allow_unsigned: bool = False) -> SignedSummary:
    """A department summary file: signature and schema checked; raises `SummaryError`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith(b"PK"):  # the 附件4 .xlsx itself: its signed JSON lies beside it
        raise SummaryError("这是表格（.xlsx 或 .zip），不是签名汇总表：请给出与附件4 表格同名、在它旁边的 .json 文件")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise SummaryError("汇总表文件不是有效的 JSON") from None
    if isinstance(doc, dict) and doc.get("kind") == SUMMARY_KIND:
        if not allow_unsigned:
            raise SummaryError("汇总表没有签名：不能确认来自主管部门（请用 jixiao consolidate --key 生成签名汇总表）")
        return SignedSummary(_model(doc), digest, ())
    try:
        envelope = parse_envelope(raw, SUMMARY_TYPE)
    except EnvelopeError as exc:
        raise SummaryError(exc.message) from None
    valid = envelope.valid_signatures()
    if not valid or len(valid) != len(envelope.signatures):
        raise SummaryError("汇总表的签名无效：内容在签名后被改动")
    try:
        body = json.loads(envelope.payload)
    except (ValueError, RecursionError):
        raise SummaryError("汇总表的签名内容不是 JSON") from None
    if canonical_json(body) != envelope.payload:
        raise SummaryError("汇总表的签名内容不是规范化 JSON")
    return SignedSummary(_model(body), digest, tuple(s.public_key.fingerprint_hex for s in valid))


def _model(doc: object) -> DepartmentSummary:
    try:
        return DepartmentSummary.model_validate(doc)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise SummaryError(f"汇总表内容不符合格式：{'.'.join(str(p) for p in error['loc'])}：{error['msg']}") from None


# --- an earlier summary against this one -------------------------------------------------------

@dataclass(frozen=True)
class SheetRow:
    """A row as an earlier 附件4 states it (from its signed JSON or read back from its xlsx)."""

    unit_name: str
    budget: Decimal | None
    executed: Decimal | None
    rate: Decimal | None
    self_score: Decimal | None
    review_score: Decimal | None
    unit_code: str = ""


def sheet_rows(summary: DepartmentSummary) -> tuple[list[SheetRow], SheetRow]:
    rows = [SheetRow(r.unit_name, r.budget, r.executed, r.rate, r.self_score, r.review_score, r.unit_code)
            for r in summary.rows]
    t = summary.total
    return rows, SheetRow("合计", t.budget, t.executed, t.rate, t.self_score, t.review_score)


_COLUMNS = (("budget", "全年预算数"), ("executed", "全年执行数"), ("rate", "执行率"),
            ("self_score", "所属单位自评分数"), ("review_score", "主管部门复核分数"))


def _shown(value: Decimal | None) -> str:
    return "（空）" if value is None else plain(value)


def _differs(old: Decimal | None, new: Decimal | None) -> bool:
    if old is None or new is None:
        return old is not new
    return round2(old) != round2(new)


def _as_written(name: str) -> str:
    """A unit name as an 附件4 .xlsx gives it back: characters a cell cannot hold are U+FFFD
    there, and the reader strips the cell."""
    return cell_text(name).strip()


def compare_summaries(name: str, old_rows: Sequence[SheetRow], old_total: SheetRow | None,
                      new: DepartmentSummary) -> list[str]:
    """Every row of an earlier summary (`name`) that disagrees with the units' bundles."""
    messages: list[str] = []
    current = {r.unit_code or r.unit_name: r for r in sheet_rows(new)[0]}
    by_name = {_as_written(r.unit_name): r for r in sheet_rows(new)[0]}
    seen: set[str] = set()
    for number, old in enumerate(old_rows, start=1):
        match = current.get(old.unit_code) if old.unit_code else by_name.get(_as_written(old.unit_name))
        if match is None:
            messages.append(f"{name} 第 {number} 行“{old.unit_name}”没有对应的通过核验的单位签名材料")
            continue
        seen.add(match.unit_code or match.unit_name)
        for attr, label in _COLUMNS:
            before, after = getattr(old, attr), getattr(match, attr)
            if _differs(before, after):
                messages.append(f"{name} 第 {number} 行“{old.unit_name}”的{label}为 {_shown(before)}，"
                                f"单位签名材料为 {_shown(after)}")
    for key, row in current.items():
        if key not in seen:
            messages.append(f"{name} 中缺少“{row.unit_name}”（{row.unit_code}）这一行")
    if old_total is not None:
        _, total = sheet_rows(new)
        for attr, label in _COLUMNS:
            before, after = getattr(old_total, attr), getattr(total, attr)
            if _differs(before, after):
                messages.append(f"{name} 合计行的{label}为 {_shown(before)}，按单位签名材料汇总为 {_shown(after)}")
    return messages
