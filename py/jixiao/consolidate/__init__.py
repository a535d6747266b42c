"""Consolidation: a supervising department's 附件4 from its units' signed bundles, the review
(复核) it records, and the finance bureau's county table from the departments' summaries.

Pure Python, the same in the CLI, on the server and in the browser's 汇总 page:

    check_bundle(name, data, roster) -> Checked      # the envelope path; deep=True adds verify_file
    consolidate(sources, roster=…, rule=…) -> Outcome  # check, pick the latest, build the summary
    build_summary(units, reviews, rule=…) -> DepartmentSummary
    build_county(summaries, rule=…) -> CountySummary

The store (`jixiao.store`) and the intake routes (`jixiao.intake`) are server side only.
"""

from .check import Checked, IndicatorRef, UnitFacts, check_bundle
from .collect import NoSummary, Outcome, Source, check_all, consolidate, expand, kind_of, pick_latest
from .county import CountySummary, build_county
from .review import Review, ReviewDoc, ReviewError, latest_reviews, make_review, read_review, sign_review
from .summary import (
    NOTE,
    SCORE_RULES,
    DepartmentSummary,
    RejectedInput,
    Row,
    ScoreRule,
    SignedSummary,
    SummaryError,
    Totals,
    build_summary,
    read_summary,
    summary_json,
)

__all__ = [
    "NOTE",
    "SCORE_RULES",
    "Checked",
    "CountySummary",
    "DepartmentSummary",
    "IndicatorRef",
    "NoSummary",
    "Outcome",
    "RejectedInput",
    "Review",
    "ReviewDoc",
    "ReviewError",
    "Row",
    "ScoreRule",
    "SignedSummary",
    "Source",
    "SummaryError",
    "Totals",
    "UnitFacts",
    "build_county",
    "build_summary",
    "check_all",
    "check_bundle",
    "consolidate",
    "expand",
    "kind_of",
    "latest_reviews",
    "make_review",
    "pick_latest",
    "read_review",
    "read_summary",
    "sign_review",
    "summary_json",
]
