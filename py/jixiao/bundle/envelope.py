"""The signed envelope: DSSE (Dead Simple Signing Envelope) with our payload types.

A signature covers the DSSE pre-authentication encoding
`DSSEv1 <len(type)> <type> <len(body)> <body>` (lengths in bytes, ASCII decimal), so the
payload type is signed too and no parser ambiguity reaches the signed bytes. Each signature
names its algorithm and carries the signer's public key: anyone can check integrity offline,
and a roster decides whether that key is trusted. The key id (the fingerprint) is a hint.

Parsing is strict and every problem is one Chinese sentence (`EnvelopeError`), because the
file may come from anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .crypto import ALGORITHMS, SIGNATURE_LENGTH, check_alg
from .keys import KeyFileError, PrivateKey, PublicKey, b64

SUBMISSION_TYPE = "application/vnd.jixiao.submission+json; version=1"
ROSTER_TYPE = "application/vnd.jixiao.roster+json; version=1"
REVIEW_TYPE = "application/vnd.jixiao.review+json; version=1"  # a supervisor's 复核 (consolidate/review.py)
SUMMARY_TYPE = "application/vnd.jixiao.summary+json; version=1"  # a department's 附件4 (consolidate/summary.py)
MAX_SIGNATURES = 16
COUNTY_TYPE = "application/vnd.jixiao.county+json; version=1"  # a finance bureau's county table (cli county)
TYPE_NAMES = {SUBMISSION_TYPE: "签名自评材料", ROSTER_TYPE: "公钥名册", REVIEW_TYPE: "主管部门复核意见",
              SUMMARY_TYPE: "部门自评情况汇总表", COUNTY_TYPE: "县级汇总表"}
# Where each kind is read: a signed document handed to the wrong command is not a tampered one.
TYPE_USE = {SUBMISSION_TYPE: "请用 jixiao verify 核验，或交主管部门汇总",
            ROSTER_TYPE: "名册用于 --roster 选项（jixiao roster list 可查看其内容）",
            REVIEW_TYPE: "复核意见与单位材料一起交给 jixiao consolidate 读取",
            SUMMARY_TYPE: "部门汇总表请用 jixiao county 核对和汇总", COUNTY_TYPE: "县级汇总表由财政局生成，不再汇总"}


class EnvelopeError(Exception):
    """A signed file that is not a well-formed envelope; `message` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of (type, body): the bytes that are signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


@dataclass(frozen=True)
class Signature:
    keyid: str
    alg: str
    sig: bytes
    public_key: PublicKey

    def to_json(self) -> dict[str, str]:
        return {"keyid": self.keyid, "alg": self.alg, "sig": b64(self.sig),
                "public_key": b64(self.public_key.raw)}

    def verifies(self, payload_type: str, payload: bytes) -> bool:
        return self.public_key.verify(pae(payload_type, payload), self.sig)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self, indent: int | None = 2) -> str:
        doc = {"payloadType": self.payload_type, "payload": b64(self.payload),
               "signatures": [s.to_json() for s in self.signatures]}
        separators = (",", ": ") if indent else (",", ":")
        return json.dumps(doc, ensure_ascii=False, indent=indent, separators=separators)

    def valid_signatures(self) -> list[Signature]:
        return [s for s in self.signatures if s.verifies(self.payload_type, self.payload)]


def make_signature(key: PrivateKey, payload_type: str, payload: bytes) -> Signature:
    return Signature(keyid=key.public.fingerprint_hex, alg=key.alg,
                     sig=key.sign(pae(payload_type, payload)), public_key=key.public)


def sign_payload(payload_type: str, payload: bytes, keys: Sequence[PrivateKey]) -> Envelope:
    return Envelope(payload_type, payload,
                    tuple(make_signature(k, payload_type, payload) for k in keys))


def signature_from_parts(alg: str, public_key: bytes, sig: bytes) -> Signature:
    """A signature made elsewhere (WebCrypto in the browser), checked for shape only."""
    try:
        checked = check_alg(alg)
        public = PublicKey(checked, public_key)
    except (ValueError, KeyFileError) as exc:
        raise EnvelopeError(str(exc)) from None
    return Signature(keyid=public.fingerprint_hex, alg=checked, sig=sig, public_key=public)


def _b64_field(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"{what}应为 base64 文本")
    try:
        data = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise EnvelopeError(f"{what}不是有效的 base64 编码") from None
    if base64.b64encode(data).decode("ascii") != value:
        raise EnvelopeError(f"{what}的 base64 编码不规范")
    return data


def _signature(raw: Any, number: int) -> Signature:
    what = f"第 {number} 个签名"
    if not isinstance(raw, dict):
        raise EnvelopeError(f"{what}应为 JSON 对象")
    alg = raw.get("alg")
    if alg not in ALGORITHMS:
        raise EnvelopeError(f"{what}的算法“{str(alg)[:20]}”不受支持（可用：{'、'.join(ALGORITHMS)}）")
    checked = check_alg(str(alg))
    keyid = raw.get("keyid", "")
    if not isinstance(keyid, str):
        raise EnvelopeError(f"{what}的 keyid 应为文本")
    sig = _b64_field(raw.get("sig"), f"{what}的签名值")
    if len(sig) != SIGNATURE_LENGTH[checked]:
        raise EnvelopeError(f"{what}的签名值长度不对（{len(sig)} 字节，应为 {SIGNATURE_LENGTH[checked]}）")
    if "public_key" not in raw:
        raise EnvelopeError(f"{what}缺少公钥（public_key）")
    try:
        public = PublicKey(checked, _b64_field(raw["public_key"], f"{what}的公钥"))
    except KeyFileError as exc:
        raise EnvelopeError(f"{what}的公钥无效：{exc.message}") from None
    return Signature(keyid=keyid, alg=checked, sig=sig, public_key=public)


def _json_problem(exc: ValueError) -> str:
    """Where and why `json.loads` failed, in Chinese: its own words are English (and were cut
    mid-word), and a unit reads them in the portal's upload queue."""
    if isinstance(exc, json.JSONDecodeError):
        return f"第 {exc.lineno} 行第 {exc.colno} 列有格式错误"
    if isinstance(exc, UnicodeDecodeError):
        return "不是 UTF-8 文本"
    if "integer string conversion" in str(exc):
        return f"其中有超过 {sys.get_int_max_str_digits()} 位的整数"
    return "无法解析"


def parse_envelope(text: str | bytes, expected_type: str) -> Envelope:
    """Read an envelope of `expected_type`; raises `EnvelopeError` with the reason."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise EnvelopeError("签名文件的 JSON 嵌套过深") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"签名文件不是有效的 JSON（{_json_problem(exc)}）") from None
    if not isinstance(doc, dict):
        raise EnvelopeError("签名文件应为 JSON 对象")
    if "payloadType" not in doc:
        if {"schema_version", "framework_id", "indicators"} & set(doc):
            raise EnvelopeError("这是未签名的自评表 JSON，不是签名文件：请用 jixiao bundle 生成签名材料")
        raise EnvelopeError("签名文件缺少 payloadType：不是 jixiao 签名文件")
    kind = doc["payloadType"]
    if kind != expected_type:
        expected = TYPE_NAMES.get(expected_type, expected_type)
        if kind in TYPE_NAMES:  # one of ours, given where another kind belongs: say what it is and where it goes
            raise EnvelopeError(f"这是{TYPE_NAMES[kind]}，不是{expected}（此处未核验其签名）：{TYPE_USE[kind]}")
        raise EnvelopeError(f"签名内容类型不符：应为{expected}（{expected_type}），实为“{str(kind)[:80]}”")
    payload = _b64_field(doc.get("payload"), "签名内容（payload）")
    signatures = doc.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("签名文件中没有任何签名（signatures 为空）：内容未经签名，不能确认来源与完整性")
    if len(signatures) > MAX_SIGNATURES:
        raise EnvelopeError(f"签名文件中的签名过多（{len(signatures)} 个，上限 {MAX_SIGNATURES}）")
    extra = set(doc) - {"payloadType", "payload", "signatures"}
    if extra:
        raise EnvelopeError(f"签名文件中有不认识的字段：{'、'.join(sorted(extra))[:80]}")
    parsed = tuple(_signature(raw, i) for i, raw in enumerate(signatures, start=1))
    return Envelope(payload_type=kind, payload=payload, signatures=parsed)
