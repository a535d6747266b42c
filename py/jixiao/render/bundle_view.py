"""附件6 and 附件7 as printed values: one view shared by the spreadsheet and the HTML.

Both renderings of a signed bundle are made from this view, so they cannot disagree with
each other, and the verifier rebuilds it from the signed payload to compare cell by cell.
A value keeps its type (text, Decimal, int) and an Excel number format; `Value.text` is how
it reads on paper (a rate is stored as a fraction with a % format, as Excel does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..model.evaluation import Evaluation
from ..model.framework import Framework, Section
from ..model.numbers import HUNDRED, fixed2, plain
from ..model.submission import FundRow, Submission

Raw = str | Decimal | int | None
MONEY = "0.00"

NOTES = (
    "说明：1.部门（单位）按照附件5《部门整体支出绩效评价指标体系框架》（参考）设置三级指标；",
    "2.上述产出指标和效益指标根据年初设定的绩效目标既可以按照重点任务完成情况分别填列，"
    "也可以依据所有重点任务归纳提炼综合指标。",
)


@dataclass(frozen=True)
class Value:
    raw: Raw = None
    fmt: str = ""

    @property
    def text(self) -> str:
        return display(self.raw, self.fmt)


def display(raw: object, fmt: str = "") -> str:
    """A cell as a person reads it: 5462.67, 100%, 1.5, text as typed. Money is rounded half up,
    as Excel and LibreOffice show it (5479.625 reads 5479.63), not half to even."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int | float | Decimal):
        number = raw if isinstance(raw, Decimal) else Decimal(format(raw, ".15g"))
        if not number.is_finite():
            return str(raw)
        if "%" in fmt:
            return plain(number * HUNDRED) + "%"
        return fixed2(number) if fmt == MONEY else plain(number)
    return str(raw)


def number(value: Decimal | None) -> Value:
    return Value(None if value is None else Decimal(plain(value)))


def money(value: Decimal | None) -> Value:
    return Value(None if value is None else Decimal(plain(value)), MONEY)


def rate(value: Decimal | None) -> Value:
    """A percentage as the unit wrote it, '95%' or '99.50%': text, because the places written
    decide how strictly it is checked, and a number cell (0.95 as a float) would lose them."""
    if value is None:
        return Value()
    return Value(format(value, "f") + "%")


@dataclass(frozen=True)
class FundLine:
    label: str
    budget: Value
    executed: Value
    rate: Value


@dataclass(frozen=True)
class ItemView:
    name: str
    target: str
    actual: str
    max_score: Value
    score: Value
    deviation: str


@dataclass(frozen=True)
class GroupView:
    name: str
    items: list[ItemView]

    @property
    def rows(self) -> int:
        return max(1, len(self.items))


@dataclass(frozen=True)
class LevelView:
    name: str
    weight: Value
    groups: list[GroupView]

    @property
    def rows(self) -> int:
        return max(1, sum(g.rows for g in self.groups))


@dataclass(frozen=True)
class SectionView:
    id: str
    title: str
    depth: int  # 1: 一、…  2: （一）…
    paragraphs: list[str]


@dataclass(frozen=True)
class FormView:
    year: int | None
    unit_name: str
    unit_code: str
    department: str
    subordinate_units: Value
    funds: list[FundLine]
    goal_target: str
    goal_completion: str
    levels: list[LevelView]
    weight_total: Value
    total: Value
    report_title: str
    sections: list[SectionView] = field(default_factory=list)
    figures: list[tuple[str, Value]] = field(default_factory=list)

    @property
    def year_text(self) -> str:
        return f"（{self.year}年度）" if self.year is not None else "（　　　　年度）"


_FUND_LABELS = (("total", "合计"), ("fiscal", "资金来源：（1）财政拨款"), ("other", "（2）其他资金"),
                ("basic", "资金结构：（1）基本支出"), ("project", "（2）项目支出"))


def _fund_line(key: str, label: str, row: FundRow, evaluation: Evaluation) -> FundLine:
    if key == "total" and row.budget is None and row.executed is None:
        computed = evaluation.funds.get("total")  # the sum of sources, as `evaluate` took it
        if computed is not None:
            shown = row.rate if row.rate is not None else computed.rate
            return FundLine(label, money(computed.budget), money(computed.executed),
                            rate(None if shown is None else Decimal(plain(shown))))
    return FundLine(label, money(row.budget), money(row.executed), rate(row.rate))


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _sections(submission: Submission, framework: Framework | None) -> list[SectionView]:
    texts = submission.report.sections
    out: list[SectionView] = []
    seen: set[str] = set()

    def leaf(section: Section, depth: int) -> None:
        seen.add(section.id)
        out.append(SectionView(section.id, section.title, depth, paragraphs(texts.get(section.id, ""))))

    for top in framework.outline if framework else []:
        if top.children:
            out.append(SectionView(top.id, top.title, 1, []))
            for child in top.children:
                leaf(child, 2)
        else:
            leaf(top, 1)
    for section_id, text in texts.items():  # sections the outline does not know stay visible
        if section_id not in seen:
            out.append(SectionView(section_id, section_id, 2, paragraphs(text)))
    return out


def _figures(submission: Submission) -> list[tuple[str, Value]]:
    fig = submission.report.figures
    staff = fig.staffing
    return [("全年预算数", money(fig.budget)), ("全年执行数", money(fig.executed)),
            ("执行率", rate(fig.rate)), ("预算单位个数", Value(fig.unit_count)),
            ("编制人数", Value(staff.authorized)), ("行政编制人数", Value(staff.authorized_admin)),
            ("事业编制人数", Value(staff.authorized_institution)), ("实有人数", Value(staff.actual)),
            ("在职人数", Value(staff.in_service)), ("离休人员", Value(staff.retired_early)),
            ("退休人员", Value(staff.retired)), ("自评结果", Value(fig.grade or None))]


def form_view(submission: Submission, evaluation: Evaluation,
              framework: Framework | None = None) -> FormView:
    """The printed form of one submission; `framework` supplies the report's section titles."""
    sub = submission
    levels = [LevelView(level.name, number(level.weight), [
        GroupView(group.name, [ItemView(i.name, i.target, i.actual, number(i.max_score),
                                        number(i.score), i.deviation) for i in group.items])
        for group in level.groups]) for level in sub.indicators]
    weights = [lv.weight for lv in sub.indicators if lv.weight is not None]
    total = sub.total if sub.total is not None else evaluation.total
    name = sub.unit_name.strip()
    return FormView(
        year=sub.year, unit_name=sub.unit_name, unit_code=sub.unit_code, department=sub.department,
        subordinate_units=Value(sub.subordinate_units),
        funds=[_fund_line(k, label, getattr(sub.funds, k), evaluation) for k, label in _FUND_LABELS],
        goal_target=sub.goal.target, goal_completion=sub.goal.completion, levels=levels,
        weight_total=number(sum(weights, Decimal(0)) if weights else None), total=number(total),
        report_title=f"{name}整体支出绩效自评报告" if name else "整体支出绩效自评报告",
        sections=_sections(sub, framework), figures=_figures(sub))
