"""A supervisor's 复核 (review) of one unit's bundle: a signed document of its own.

The review names the unit, the year and the exact signed payload it looked at (its sha256),
the review score (0–100) with optional per-indicator scores (each within that indicator's
分值) and a note, and is signed by the supervisor's key in a DSSE envelope of type
`application/vnd.jixiao.review+json; version=1`. Nothing is edited in place: a new review of
the same unit and year supersedes the earlier one (it names it in `supersedes`), and the store
keeps every one. A review of an older bundle does not carry over to a resubmission: the
summary leaves the review score blank and says so until the new bundle is reviewed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..bundle.envelope import REVIEW_TYPE, EnvelopeError, parse_envelope, sign_payload
from ..bundle.keys import PrivateKey, group_hex
from ..bundle.payload import beijing_time, signed_at_text
from ..canonical import canonical_json
from ..io.errors import InputError
from ..model.base import Field, Model, ValidationError
from ..model.fields import explain
from ..model.numbers import Dec, parse_score_entry, plain
from ..rules.index import split_label
from .check import UnitFacts

MAX_SCORE = Decimal(100)
_HEX64 = r"^[0-9a-f]{64}$"


class ReviewError(InputError):
    """A review that cannot be made or read, with a one-line Chinese reason."""


class _Model(Model, frozen=True):
    """Unknown keys are refused; a record never changes."""


class IndicatorReview(_Model, frozen=True):
    path: str = Field(max_length=100, description="评分结果中的指标路径，如 indicators.0.groups.0.items.0")
    name: str = Field(max_length=200, title="三级指标")
    score: Dec = Field(title="复核得分")


class ReviewDoc(_Model, frozen=True):
    kind: Literal["jixiao-review"] = "jixiao-review"
    version: Literal[1] = 1
    unit_code: str = Field(min_length=1, max_length=50, title="单位编码")
    unit_name: str = Field(default="", max_length=200, title="单位名称")
    year: int = Field(ge=2000, le=2100, title="年度")
    payload_sha256: str = Field(pattern=_HEX64, description="所复核的签名材料的签名内容 SHA-256")
    score: Dec = Field(title="主管部门复核分数")
    indicators: list[IndicatorReview] = Field(default_factory=list, max_length=500)
    note: str = Field(default="", max_length=2000, title="复核意见")
    reviewer: str = Field(default="", max_length=100, title="复核人")
    reviewed_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    supersedes: str | None = Field(default=None, pattern=_HEX64, description="被取代的上一份复核（其签名文件 SHA-256）")


@dataclass(frozen=True)
class Review:
    """A signed review: the document, the envelope text as stored, its sha256 and signer."""

    doc: ReviewDoc
    envelope: str
    sha256: str
    signer: str  # public key fingerprint, hex

    @property
    def score(self) -> Decimal:
        assert self.doc.score is not None  # checked when made and when read
        return self.doc.score


def _score(raw: object, what: str, maximum: Decimal) -> Decimal:
    """A score within 0…maximum, at most two decimals. Read as a score entry (`parse_score_entry`:
    "95%" is refused), so a 29-digit number is refused by its size before anything formats it;
    -0 is stored as 0."""
    try:
        value = parse_score_entry(raw)
    except ValueError as exc:
        raise ReviewError(f"{what}：{exc}") from None
    if value is None:
        raise ReviewError(f"请填写{what}")
    if value < 0:
        raise ReviewError(f"{what} {plain(value)} 不能为负数")
    if value > maximum:
        raise ReviewError(f"{what} {plain(value)} 超过上限 {plain(maximum)}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ReviewError(f"{what} {value} 最多保留两位小数")
    return value.copy_abs() if value.is_zero() else value


def _indicator(unit: UnitFacts, key: str) -> tuple[str, str, Decimal | None]:
    """A 三级指标 of the reviewed table, named by its path or (uniquely) by its name. The name may be
    given as 附件6 shows it, '提升群众满意率（10分）': the evaluation keeps it without the label
    (`split_label`), and the supervisor copies it from the table."""
    key = key.strip()
    by_path = [i for i in unit.indicators if i.path == key]
    names = {" ".join(key.split()), " ".join(split_label(key)[0].split())}
    found = by_path or [i for i in unit.indicators if " ".join(i.name.split()) in names]
    if not found:
        raise ReviewError(f"“{key[:40]}”不是该单位自评表中的三级指标（请照附件6所列名称，或用指标路径）")
    if len(found) > 1:
        paths = "、".join(i.path for i in found[:4])
        raise ReviewError(f"有 {len(found)} 个三级指标名为“{key[:40]}”，请改用指标路径（{paths}）")
    return found[0].path, found[0].name, found[0].max_score


def make_review(unit: UnitFacts, score: object, *, reviewed_at: str, indicators: Mapping[str, object] | None = None,
                note: str = "", reviewer: str = "", supersedes: str | None = None) -> ReviewDoc:
    """A review document of `unit`'s bundle; raises `ReviewError` for a score out of range."""
    total = _score(score, "复核分数", MAX_SCORE)
    items: list[IndicatorReview] = []
    seen: set[str] = set()
    for key, value in (indicators or {}).items():
        path, name, maximum = _indicator(unit, key)
        if path in seen:
            raise ReviewError(f"三级指标“{name}”给了两次复核得分")
        seen.add(path)
        if maximum is None:
            raise ReviewError(f"三级指标“{name}”没有分值，无法复核其得分")
        items.append(IndicatorReview(path=path, name=name, score=_score(value, f"“{name}”的复核得分", maximum)))
    try:
        return ReviewDoc(unit_code=unit.unit_code, unit_name=unit.unit_name, year=unit.year,
                         payload_sha256=unit.payload_sha256, score=total, indicators=items, note=note.strip(),
                         reviewer=reviewer.strip(), reviewed_at=signed_at_text(reviewed_at), supersedes=supersedes)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ReviewDoc.model_fields.get(str(error["loc"][0])) if error["loc"] else None
        where = field.title if field is not None and field.title else ".".join(str(p) for p in error["loc"])
        raise ReviewError(f"{where}：{explain(error)}") from None


def implied_total(unit: UnitFacts, doc: ReviewDoc) -> Decimal | None:
    """Σ per indicator of the review score where given, else the unit's own: what the per-indicator
    review adds up to (None when no indicator was reviewed)."""
    if not doc.indicators:
        return None
    given = {i.path: i.score for i in doc.indicators}
    return sum((given.get(i.path, i.score) or Decimal(0) for i in unit.indicators), Decimal(0))


def sign_review(doc: ReviewDoc, key: PrivateKey) -> Review:
    text = sign_payload(REVIEW_TYPE, canonical_json(doc.model_dump(mode="json")), [key]).to_json() + "\n"
    return Review(doc, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), key.public.fingerprint_hex)


def read_review(data: bytes | str, trusted: Iterable[str] | None = None) -> Review:
    """A signed review, checked: signature, schema, score ranges, and (when `trusted` lists
    fingerprints, e.g. the roster owner's) that a trusted key signed it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        envelope = parse_envelope(raw, REVIEW_TYPE)
    except EnvelopeError as exc:
        raise ReviewError(exc.message) from None
    valid = envelope.valid_signatures()
    if not valid or len(valid) != len(envelope.signatures):
        raise ReviewError("复核意见的签名无效：内容在签名后被改动")
    allowed = set(trusted) if trusted is not None else None
    signer = next((s for s in valid if allowed is None or s.public_key.fingerprint_hex in allowed), None)
    if signer is None:
        raise ReviewError(f"复核意见不是由主管部门的密钥签名的（签名公钥指纹 {valid[0].public_key.fingerprint}）")
    try:
        body = json.loads(envelope.payload)
        if canonical_json(body) != envelope.payload:
            raise ReviewError("复核意见的签名内容不是规范化 JSON")
        doc = ReviewDoc.model_validate(body)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ReviewError):
            raise
        raise ReviewError("复核意见的内容不符合格式") from None
    _score(doc.score, "复核分数", MAX_SCORE)
    for item in doc.indicators:
        _score(item.score, f"“{item.name}”的复核得分", MAX_SCORE)
    return Review(doc, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest(), signer.public_key.fingerprint_hex)


def latest_reviews(reviews: Iterable[Review]) -> dict[tuple[str, int], Review]:
    """The review in force per (unit code, year): the latest `reviewed_at`, later input winning a tie."""
    latest: dict[tuple[str, int], Review] = {}
    for review in reviews:
        key = (review.doc.unit_code, review.doc.year)
        if key not in latest or review.doc.reviewed_at >= latest[key].doc.reviewed_at:
            latest[key] = review
    return latest


def review_flags(unit: UnitFacts, review: Review) -> list[str]:
    """Why a review does not (or only partly) fit the unit's bundle used in the summary."""
    flags: list[str] = []
    if review.doc.payload_sha256 != unit.payload_sha256:
        flags.append(f"复核（{beijing_time(review.doc.reviewed_at)}）针对的是该单位另一份签名材料，"
                     f"不是本表所用的（签名时间 {beijing_time(unit.signed_at)}）：复核分数未填入，请重新复核")
        return flags
    maxima = {i.path: i.max_score for i in unit.indicators}
    for item in review.doc.indicators:
        maximum = maxima.get(item.path)
        if maximum is None or (item.score is not None and item.score > maximum):
            flags.append(f"复核中“{item.name}”的得分 {plain(item.score or Decimal(0))} 超过其分值"
                         f" {plain(maximum) if maximum is not None else '（无此指标）'}")
    implied = implied_total(unit, review.doc)
    if implied is not None and implied != review.score:
        flags.append(f"复核分数 {plain(review.score)} 与按指标复核得分合计 {plain(implied)} 不一致")
    return flags


def review_status(payload_sha256: str, counted: Review | None, newest: tuple[str, str] | None,
                  owner: str | None) -> tuple[Decimal | None, str]:
    """The 复核分数 that counts for a listed bundle, as the summary fills it in, and a note when a
    stored review is not it. `counted` is the review in force among those `latest_reviews` takes
    (with a roster, the owner's only); `newest` is (sha256, signer fingerprint) of the newest stored,
    any signer: the supervisor must see that it was left out, and why."""
    score: Decimal | None = None
    notes: list[str] = []
    if counted is not None and counted.doc.payload_sha256 == payload_sha256:
        score = counted.score
    elif counted is not None:
        notes.append(f"需重新复核：已有的复核（{beijing_time(counted.doc.reviewed_at)}）针对该单位此前的签名材料")
    if newest is not None and (counted is None or newest[0] != counted.sha256):
        why = "不是名册所有者的密钥签名" if owner is not None and newest[1] != owner else "复核意见核验不通过"
        notes.append(f"{'另有更新的' if counted is not None else '已有'}复核未采用：{why}")
    return score, "；".join(notes)


def describe(review: Review) -> str:
    return (f"{review.doc.unit_code} {review.doc.year} 年度复核分数 {plain(review.score)}"
            f"（{beijing_time(review.doc.reviewed_at)}，公钥指纹 {group_hex(review.signer)[:19]} …）")
