"""What a unit signs: its submission, the evaluation, the framework, software and time.

Everything that matters (unit code, year, framework id, version and hash) is inside the
signed bytes, which are the RFC 8785 canonical JSON of the payload (our `canonical.py`: every
amount is a decimal string, so there are no floats to print; `rfc8785` cross-checks it in a
test). Fields the framework marks private (contact person, phone) are blanked before
signing: a signed bundle may be published, and nothing can be removed from it afterwards.
The signing time is passed in by the caller; the core never reads the clock.

A public copy (`jixiao publish`) is a second payload signed by the publisher: it carries
`redacted: true` and `original` (the unit's envelope sha256, payload sha256, signers and
signing time), so a reader knows it is not what the unit signed and which original it stands for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .. import __version__
from ..canonical import canonical_json
from ..model.base import Field, Model, ValidationError
from ..model.evaluation import Evaluation, FrameworkRef
from ..model.fields import describe_validation_error
from ..model.framework import Framework
from ..model.submission import Submission

SOFTWARE = "jixiao"
CHINA = timezone(timedelta(hours=8), "CST")
_SIGNED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_KEYS = {"submission", "evaluation", "framework", "software", "signed_at"}
_PUBLIC_KEYS = {"redacted", "original"}  # both or neither: only a publisher's public copy has them


class PayloadError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Software(Model, frozen=True):
    name: str
    version: str


class Original(Model, frozen=True):
    """The unit's own signed bundle a public copy was made from (which is never published)."""

    envelope_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    payload_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signers: list[str] = Field(min_length=1, max_length=16)  # public key fingerprints, hex
    signed_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def signed_at_text(value: str | datetime) -> str:
    """An ISO 8601 UTC time to the second, '2022-03-01T02:00:00Z'; naive datetimes are refused."""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"签名时间“{text[:40]}”不是 ISO 8601 时间（如 2022-03-01T10:00:00+08:00）") from None
    if value.tzinfo is None:
        raise ValueError("签名时间须带时区（如 2022-03-01T02:00:00Z）")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SIGNED_AT_EXACT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")


def parse_signed_at(text: str) -> datetime:
    """'2022-03-01T02:00:00Z' as an aware UTC datetime; ValueError when it is not a time. The
    written form is read without `strptime` (a twelfth of its cost: consolidation parses one a
    bundle); any other spelling gets `strptime`'s answer."""
    exact = _SIGNED_AT_EXACT.fullmatch(text)
    if exact is not None:
        year, month, day, hour, minute, second = map(int, exact.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def in_china(text: str) -> datetime | None:
    """A stored ISO 8601 time that carries its zone, as a time in China; None when it is not one
    (such times are shown to people or give a default date, never trusted)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(CHINA) if moment.tzinfo is not None else None


def beijing_time(text: str | None) -> str:
    """A stored ISO time as people here read it, in Beijing time ('2026-11-28 23:58:27'): the
    browser signs in UTC ('…Z'), the CLI at +08:00, and both are one clock to a reader. As stored
    when it cannot be read (it is shown, never trusted)."""
    moment = in_china(text) if text else None
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else (text or "")


CLOCK_SLACK = timedelta(days=1)  # clocks drift and zones get mixed up; a day beyond that is a wrong date


def signed_later_than(signed_at: str | None, moment: datetime, moment_name: str = "收到材料的时间") -> str | None:
    """Why a bundle signed more than a day after `moment` (when it was received, or checked) is
    refused, or None: the bundle in force is the latest by signing time, so one from a computer
    whose clock says 2099 would stay in force over every correction the unit sends later."""
    try:
        signed = parse_signed_at(signed_at or "")
    except ValueError:
        return None  # verification already refused an unreadable time
    if signed <= moment + CLOCK_SLACK:
        return None
    return (f"签名时间（北京时间 {signed.astimezone(CHINA):%Y-%m-%d %H:%M}）比{moment_name}"
            f"（{moment.astimezone(CHINA):%Y-%m-%d %H:%M}）晚一天以上，签名所用电脑的日期或时间有误："
            f"请把该电脑的日期和时间改正确，重新导出签名材料后再提交")


def redact(submission: Submission, framework: Framework) -> Submission:
    """Blank every field the framework marks private (dotted paths such as 'contact.phone')."""
    data = submission.model_dump(mode="json")
    for path in framework.private_fields:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and last in node:
            node[last] = "" if isinstance(node[last], str) else None
    return Submission.model_validate(data)


def build_payload(submission: Submission, evaluation: Evaluation, framework: Framework,
                  signed_at: str | datetime) -> dict[str, Any]:
    return {
        "submission": submission.model_dump(mode="json"),
        "evaluation": evaluation.model_dump(mode="json"),
        "framework": {"id": framework.id, "version": framework.version, "sha256": framework.sha256},
        "software": {"name": SOFTWARE, "version": __version__},
        "signed_at": signed_at_text(signed_at),
    }


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return canonical_json(payload)


@dataclass(frozen=True)
class SignedContent:
    """A parsed, schema-checked payload."""

    submission: Submission
    evaluation: Evaluation
    framework: FrameworkRef
    software: Software
    signed_at: str
    raw: dict[str, Any]
    original: Original | None = None  # set only on a publisher's redacted public copy

    @property
    def redacted(self) -> bool:
        return self.original is not None

    @property
    def signed_time(self) -> datetime:
        return parse_signed_at(self.signed_at)


def _beijing(signed_at: str) -> str:
    return parse_signed_at(signed_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M（北京时间）")


def public_note(content: SignedContent) -> str | None:
    """The line a public copy's page and sheets open with; None for a unit's own bundle. Made
    from the signed payload alone, so the verifier rebuilds it to the character."""
    if content.original is None:
        return None
    return (f"公开版（已删去联系人、电话等不公开的信息），由发布机关于 {_beijing(content.signed_at)}发布签名；"
            f"单位签名的原件（签名于 {_beijing(content.original.signed_at)}）由发布机关留存，不公开。")


def _model(kind: type[Model], data: Any, what: str) -> Any:
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        detail = describe_validation_error(exc, data) if kind is Submission else _first(exc)
        raise PayloadError(f"签名内容中的{what}不符合格式：{detail}") from None


def _first(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(p) for p in error['loc'])}：{error['msg']}"


def parse_payload(data: bytes) -> SignedContent:
    """Schema-check the signed bytes; raises `PayloadError` naming the first problem."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise PayloadError("签名内容的 JSON 嵌套过深") from None
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("签名内容不是 UTF-8 编码的 JSON") from None
    if not isinstance(raw, dict):
        raise PayloadError("签名内容应为 JSON 对象")
    public = set(raw) & _PUBLIC_KEYS
    if public and (public != _PUBLIC_KEYS or raw["redacted"] is not True):
        raise PayloadError("签名内容中的公开副本标记不完整：redacted 应为 true，且须同时注明原件（original）")
    if set(raw) - public != _KEYS:
        missing, extra = _KEYS - set(raw), set(raw) - _KEYS - public
        parts = ([f"缺少 {'、'.join(sorted(missing))}"] if missing else []) + (
            [f"多出 {'、'.join(sorted(extra))[:60]}"] if extra else [])
        raise PayloadError(f"签名内容的字段不对：{'；'.join(parts)}")
    try:
        canonical = canonical_json(raw)
    except ValueError as exc:
        raise PayloadError(f"签名内容含有不允许的值：{exc}") from None
    if canonical != data:
        raise PayloadError("签名内容不是规范化 JSON（RFC 8785）：可能不是本系统生成的")
    signed_at = raw["signed_at"]
    if not isinstance(signed_at, str) or not _SIGNED_AT.match(signed_at):
        raise PayloadError("签名内容中的签名时间格式不对（应为 2022-03-01T02:00:00Z）")
    try:
        parse_signed_at(signed_at)
    except ValueError:
        raise PayloadError(f"签名内容中的签名时间“{signed_at}”不是有效时间") from None
    return SignedContent(
        submission=_model(Submission, raw["submission"], "自评表"),
        evaluation=_model(Evaluation, raw["evaluation"], "评分结果"),
        framework=_model(FrameworkRef, raw["framework"], "指标体系信息"),
        software=_model(Software, raw["software"], "软件信息"),
        signed_at=signed_at,
        raw=raw,
        original=_model(Original, raw["original"], "原件信息") if public else None,
    )
