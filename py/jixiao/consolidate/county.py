"""The finance bureau's level: the departments' signed 附件4 summaries in one county table.

One section per 主管部门 (in the order of their 本级 unit codes), each with its rows and its own
合计 as the department signed it, then a 总计 over every unit row: money summed, 执行率 =
Σ执行 / Σ预算, the score by the bureau's rule (budget-weighted by default, or the plain mean).
Each section is checked against itself: its 合计 (the review 合计 too, given only when every unit
is reviewed) is recomputed from its rows under the department's declared rule, and a difference
is flagged, as is a 复核分数 outside 0–100 and each input the department's summary lists as
refused (its table lacks that unit). A summary signed by a key that the bureau's roster
does not list for that department (by its 本级 unit code) is refused; so is an unsigned one.
When two summaries name the same department, the later one counts; the same file given twice
counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from .. import __version__
from ..bundle.payload import beijing_time, parse_signed_at
from ..bundle.roster import Roster, check_key
from ..model.base import Field, Model
from ..model.numbers import ZERO, Fixed2, percent, plain, round2
from .review import MAX_SCORE
from .summary import (
    DepartmentSummary,
    RejectedInput,
    Row,
    ScoreRule,
    SignedSummary,
    SummaryError,
    Totals,
    score_total,
)

COUNTY_NOTE = ("注：按主管部门分节，每节第一行为部门本级，所属单位依次往下；各节合计为主管部门签名汇总表所列，"
               "总计由各单位数据重新计算。")


class _Model(Model, frozen=True):
    """Unknown keys are refused; a record never changes."""


class Section(_Model, frozen=True):
    department: str
    department_code: str
    summary_sha256: str
    signers: list[str]
    score_rule: ScoreRule
    rows: list[Row]
    total: Totals
    flags: list[str] = Field(default_factory=list)


class CountySummary(_Model, frozen=True):
    kind: Literal["jixiao-county-summary"] = "jixiao-county-summary"
    version: Literal[1] = 1
    year: int
    region: str
    score_rule: ScoreRule
    sections: list[Section]
    total: Totals
    notes: list[str] = Field(default_factory=list)
    rejected: list[RejectedInput] = Field(default_factory=list)
    generated_at: str = ""
    software: str = f"jixiao {__version__}"

    @property
    def title(self) -> str:
        return f"{self.year}年度部门整体支出自评情况汇总表"

    @property
    def note(self) -> str:
        return COUNTY_NOTE


def _signed_by_department(signed: SignedSummary, roster: Roster) -> str | None:
    """None when a signer is enrolled for the department's 本级 code in the roster; else why not."""
    summary = signed.summary
    if not signed.signers:
        return "汇总表没有签名"
    if not summary.generated_at:
        return "汇总表没有生成时间，无法核对签名公钥的有效期"
    when = parse_signed_at(summary.generated_at)
    reasons: list[str] = []
    for fingerprint in signed.signers:
        entry = next((e for e in roster.doc.units.get(summary.department_code, []) if e.fingerprint == fingerprint),
                     None)
        if entry is None:
            reasons.append(f"名册中没有为部门本级单位编码 {summary.department_code or '（空）'} 登记该签名公钥")
            continue
        ok, why = check_key(roster, summary.department_code, entry.public(), when)
        if ok:
            return None
        reasons.append(why)
    return reasons[0]


def _check_totals(summary: DepartmentSummary) -> list[str]:
    flags: list[str] = []
    rows = summary.rows
    budgets = [r.budget for r in rows if r.budget is not None]
    executed = [r.executed for r in rows if r.executed is not None]
    expected = {
        "budget": sum(budgets, Decimal(0)) if budgets else None,
        "executed": sum(executed, Decimal(0)) if executed else None,
    }
    budget, spent = expected["budget"], expected["executed"]
    expected_rate = percent(spent, budget) if budget is not None and spent is not None else None
    expected_self, _ = score_total([(r.self_score, r.budget, r.unit_kind == "本级") for r in rows], summary.score_rule)
    # The review 合计 as `build_summary` gives it: only when every unit has been reviewed.
    expected_review = (score_total([(r.review_score, r.budget, r.unit_kind == "本级") for r in rows],
                                   summary.score_rule)[0]
                       if all(r.review_score is not None for r in rows) else None)
    labels = (("budget", "全年预算数", budget), ("executed", "全年执行数", spent), ("rate", "执行率", expected_rate),
              ("self_score", "自评分数", expected_self), ("review_score", "复核分数", expected_review))
    for attr, label, want in labels:
        got = getattr(summary.total, attr)
        if (got is None) != (want is None) or (got is not None and want is not None and round2(got) != round2(want)):
            flags.append(f"合计行的{label}为 {plain(got) if got is not None else '（空）'}，"
                         f"按各行重新计算为 {plain(want) if want is not None else '（空）'}")
    for row in rows:  # a signed summary is the department's word, not checked against 0–100 when read
        score = row.review_score
        if score is not None and not ZERO <= score <= MAX_SCORE:
            flags.append(f"第 {row.index} 行（{row.unit_name}）的主管部门复核分数 {plain(score)} 不在 0–100 之间")
    return flags


def _left_out_by_department(summary: DepartmentSummary) -> list[str]:
    """What the department's own summary records as refused (a unit whose bundle failed, its key
    not enrolled…): its table lacks those units, and the bureau should know before adding it up."""
    return [f"部门汇总时未采用 {r.name}：{'；'.join(r.reasons[:2])}" for r in summary.rejected]


def build_county(summaries: Sequence[SignedSummary], *, rule: ScoreRule = "weighted", region: str = "",
                 roster: Roster | None = None, generated_at: str = "",
                 rejected: Sequence[RejectedInput] = (), year: int | None = None) -> CountySummary:
    """The county table of one year (`year`, or the only one given) from the departments'
    summaries; raises `SummaryError`."""
    if rule == "own":
        raise SummaryError("县级汇总没有“本级”一说：总计分数请按预算数加权（weighted）或简单平均（mean）")
    refused = list(rejected)
    kept: dict[tuple[str, int], SignedSummary] = {}
    seen: set[str] = set()
    other_years = 0
    for signed in summaries:
        if signed.sha256 in seen:
            continue  # the same file twice (named twice, or by name and in its folder): nothing to say
        seen.add(signed.sha256)
        summary = signed.summary
        if year is not None and summary.year != year:
            other_years += 1
            continue
        name = f"{summary.department}（{signed.sha256[:12]}…）"
        if roster is not None:
            problem = _signed_by_department(signed, roster)
            if problem is not None:
                refused.append(RejectedInput(name=name, sha256=signed.sha256, reasons=[problem]))
                continue
        key = (summary.department_code or summary.department, summary.year)  # a year's newer one replaces it
        older = kept.get(key)
        if older is not None:
            newer, stale = ((signed, older) if summary.generated_at >= older.summary.generated_at else (older, signed))
            refused.append(RejectedInput(
                name=f"{stale.summary.department}（{stale.sha256[:12]}…）", sha256=stale.sha256,
                reasons=[f"同一主管部门有更新的汇总表（生成于 {beijing_time(newer.summary.generated_at)}）"]))
            signed = newer
        kept[key] = signed
    if not kept:
        raise SummaryError(f"没有 {year} 年度的部门汇总表" if other_years else "没有可用的部门汇总表", refused)
    years = sorted({s.summary.year for s in kept.values()})
    if len(years) > 1:
        raise SummaryError(f"汇总表分属多个年度（{'、'.join(map(str, years))}）：一张县级汇总表只能是一个年度，"
                           f"请用 --year 选择", refused)
    ordered = sorted(kept.values(), key=lambda s: (s.summary.department_code or "~", s.summary.department))
    sections = [Section(department=s.summary.department, department_code=s.summary.department_code,
                        summary_sha256=s.sha256, signers=list(s.signers), score_rule=s.summary.score_rule,
                        rows=s.summary.rows, total=s.summary.total,
                        flags=[*_check_totals(s.summary), *_left_out_by_department(s.summary)])
                for s in ordered]
    rows = [r for section in sections for r in section.rows]
    budget = _sum([r.budget for r in rows])
    executed = _sum([r.executed for r in rows])
    rate = percent(executed, budget) if budget is not None and executed is not None else None
    notes: list[str] = [f"另有 {other_years} 份其他年度的汇总表未纳入本表"] if other_years else []
    self_total, note = score_total([(r.self_score, r.budget, False) for r in rows], rule)
    if note:
        notes.append(f"自评分数总计：{note}")
    review_total: Decimal | None = None
    if all(r.review_score is not None for r in rows):
        review_total, note = score_total([(r.review_score, r.budget, False) for r in rows], rule)
        if note:
            notes.append(f"复核分数总计：{note}")
    else:
        notes.append(f"尚有 {sum(r.review_score is None for r in rows)} 个单位未复核，复核分数总计暂不计算")
    return CountySummary(year=years[0], region=region, score_rule=rule, sections=sections,
                         total=Totals(budget=budget, executed=executed, rate=rate, self_score=self_total,
                                      review_score=review_total),
                         notes=notes, rejected=refused, generated_at=generated_at)


def _sum(values: list[Decimal | None]) -> Fixed2:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None
