"""The supervisor's 复核分数 on the public pages: only a review in force of exactly that bundle.

A review names the unit, the year and the payload sha256 of the bundle it looked at. Of the
signed reviews given (with a roster, `collect` kept only those the roster's owner signed), the
latest per unit and year is in force (`latest_reviews`, as in 附件4); its score is shown only
when it reviewed the very bundle being published: a review of an earlier submission says
nothing about the resubmission. Only the score is published, never the note or the reviewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..bundle.payload import beijing_time
from ..consolidate.review import Review, latest_reviews
from .collect import Accepted, Rejected

Scores = dict[tuple[int, str], Decimal]  # (year, unit code) → review score, as `publish` takes them


def match(accepted: Sequence[Accepted], reviews: Sequence[tuple[str, Review]]) -> tuple[Scores, list[Rejected]]:
    """The score of each published bundle's review in force, and the reviews in force not used."""
    names = {review.sha256: name for name, review in reviews}
    bundles = {(a.content.submission.unit_code, a.content.submission.year or 0): a for a in accepted}
    scores: Scores = {}
    refused: list[Rejected] = []
    for (code, year), review in latest_reviews(r for _, r in reviews).items():
        bundle = bundles.get((code, year))
        if bundle is None:
            reason = f"{year} 年度没有公开该单位（{code}）的签名材料"
        elif review.doc.payload_sha256 != bundle.payload_sha256:
            reason = (f"复核（{beijing_time(review.doc.reviewed_at)}）针对的是该单位另一份签名材料，不是所公开的"
                      f"（签名时间 {beijing_time(bundle.content.signed_at)}）")
        else:
            scores[(year, code)] = review.score
            continue
        refused.append(Rejected(names[review.sha256], [reason]))
    return scores, refused
