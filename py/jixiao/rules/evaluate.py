"""`evaluate(submission, framework) -> Evaluation`: the one pure entry point of the rules.

No I/O and no clock: the CLI, the browser worker, bundle verification and consolidation
all call this same function and must get byte-identical JSON for the same input.
"""

from __future__ import annotations

from ..model.evaluation import Evaluation, FrameworkRef
from ..model.framework import Framework
from ..model.submission import Submission
from .findings import finding
from .funds import check_funds
from .indicators import check_tree
from .report import check_report_figures, check_required, check_total_and_grade


def evaluate(submission: Submission, framework: Framework) -> Evaluation:
    """Score and check one submission under one framework."""
    findings = []
    if submission.framework_id != framework.id:
        findings.append(finding("FRAMEWORK_MISMATCH", "framework_id",
                                declared=submission.framework_id, used=framework.id))
    findings += check_required(submission, framework)
    funds, execution_rate, fund_findings = check_funds(submission.funds)
    findings += fund_findings
    tree = check_tree(submission.indicators, framework)
    findings += tree.findings
    # No grade for a form with nothing scored yet: a blank form is not 差.
    grade = framework.grade_of(tree.total) if tree.scored else None
    findings += check_total_and_grade(submission, framework, tree.total, grade)
    findings += check_report_figures(submission, funds["total"])
    return Evaluation.trusted(  # fields in sorted order: see model/evaluation.py
        execution_rate=execution_rate,
        findings=findings,
        framework=FrameworkRef.trusted(id=framework.id, sha256=framework.sha256,
                                       version=framework.version),
        funds=funds,
        grade=grade,
        indicators=tree.indicators,
        level1=tree.level1,
        total=tree.total,
    )
