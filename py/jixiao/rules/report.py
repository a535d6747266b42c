"""Checks that need the whole submission: required fields, totals, grade, the report's numbers."""

from __future__ import annotations

from decimal import Decimal

from ..model.evaluation import Finding, FundResult
from ..model.framework import Framework
from ..model.measures import is_blank
from ..model.numbers import exact_percent, matches_as_written, plain, round2
from ..model.submission import Staffing, Submission
from .findings import finding
from .index import framework_index


def check_required(sub: Submission, fw: Framework) -> list[Finding]:
    out: list[Finding] = []
    for path, label, value in (
        ("unit_name", "评价部门名称", sub.unit_name),
        ("unit_code", "单位编码", sub.unit_code),
        ("department", "主管部门", sub.department),
        ("goal.target", "年度总体目标：年初设定目标", sub.goal.target),
        ("goal.completion", "年度总体目标：全年完成情况", sub.goal.completion),
    ):
        if is_blank(value):
            out.append(finding("MISSING_REQUIRED", path, what=label))
    if sub.year is None:
        out.append(finding("MISSING_REQUIRED", "year", what="年度"))
    sections = sub.report.sections
    for section_id, path, what in framework_index(fw).required_sections:
        if is_blank(sections.get(section_id)):
            out.append(finding("MISSING_REQUIRED", path, what=what))
    return out


def check_total_and_grade(sub: Submission, fw: Framework, total: Decimal,
                          grade: str | None) -> list[Finding]:
    out: list[Finding] = []
    if sub.total is not None and sub.total != total:
        out.append(finding("TOTAL_MISMATCH", "total", declared=plain(sub.total),
                           computed=plain(total)))
    declared = sub.report.figures.grade.strip()
    if not declared:
        out.append(finding("MISSING_REQUIRED", "report.figures.grade", what="自评结果（等级）"))
    elif grade is not None and declared != grade:
        out.append(finding("GRADE_MISMATCH", "report.figures.grade", declared=declared,
                           total=plain(total), computed=grade))
    return out


def _staffing(staff: Staffing) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for field, whole, parts, words in (
        ("authorized", staff.authorized, (staff.authorized_admin, staff.authorized_institution),
         "编制人数 {whole} 不等于行政编制与事业编制之和 {sum}"),
        ("actual", staff.actual, (staff.in_service, staff.retired_early, staff.retired),
         "实有人数 {whole} 不等于在职、离休、退休人数之和 {sum}"),
    ):
        known = [p for p in parts if p is not None]
        if whole is not None and len(known) == len(parts) and sum(known) != whole:
            problems.append((field, words.format(whole=whole, sum=sum(known))))
    return problems


def check_report_figures(sub: Submission, total_row: FundResult) -> list[Finding]:
    """The report restates the table; every restated number must agree with it."""
    out: list[Finding] = []
    fig = sub.report.figures
    for field, label, stated, table in (
        ("budget", "全年预算数", fig.budget, total_row.budget),
        ("executed", "全年执行数", fig.executed, total_row.executed),
    ):
        if stated is not None and table is not None and round2(stated) != round2(table):
            out.append(finding("REPORT_TABLE_MISMATCH", f"report.figures.{field}",
                               what=f"自评报告中的{label} {plain(stated)} 万元与自评表的 "
                                    f"{plain(table)} 万元不一致"))
    rate, table_rate = fig.rate, total_row.rate
    # Compared with the exact rate: the table's is rounded to two places already.
    exact = None if table_rate is None or total_row.budget is None or total_row.executed is None \
        else exact_percent(total_row.executed, total_row.budget)
    if rate is not None and exact is not None and not matches_as_written(rate, exact):
        out.append(finding("REPORT_TABLE_MISMATCH", "report.figures.rate",
                           what=f"自评报告中的执行率 {plain(rate)}% 与自评表的 "
                                f"{format(table_rate, 'f')}% 不一致"))
    for field, message in _staffing(fig.staffing):
        out.append(finding("REPORT_TABLE_MISMATCH", f"report.figures.staffing.{field}",
                           what=f"自评报告中的{message}"))
    return out
