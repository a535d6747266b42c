"""The supervisor's roster of unit keys: unit code → enrolled public keys, signed by the supervisor.

A supervisor enrols a unit's key from the stamped 公钥登记表 (the fingerprint typed from paper
is checked against the key), and revokes it when the unit loses it. The roster file is an
envelope of type `application/vnd.jixiao.roster+json; version=1` signed by the supervisor's
own key (the `owner`), so an edit by anyone else shows: a roster whose signature is missing
or invalid is reported and never trusted. Dates are calendar days in China time (UTC+8), the
days a supervisor writes; the signing time a bundle claims is compared in that zone.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from ..canonical import canonical_json
from ..io.errors import InputError
from ..model.base import Field, Model, ValidationError
from .crypto import Alg
from .envelope import ROSTER_TYPE, EnvelopeError, parse_envelope, sign_payload
from .keys import KeyFileError, PrivateKey, PublicKey, b64, group_hex, unb64
from .payload import CHINA

ROSTER_KIND = "jixiao-roster"


class _Strict(Model):
    """Unknown keys are refused."""


class KeyRecord(_Strict):
    alg: Alg
    public_key: str = Field(description="原始公钥的 base64")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description="原始公钥的 SHA-256")

    def public(self) -> PublicKey:
        key = PublicKey(self.alg, unb64(self.public_key, "名册中的公钥"))
        if key.fingerprint_hex != self.fingerprint:
            raise KeyFileError("名册中的公钥与其指纹不符")
        return key


class Entry(KeyRecord):
    unit_name: str = ""
    valid_from: date
    valid_to: date | None = None
    status: Literal["active", "revoked"] = "active"
    revoked_on: date | None = None
    note: str = ""


class Owner(KeyRecord):
    name: str


class RosterDoc(_Strict):
    kind: Literal["jixiao-roster"] = "jixiao-roster"
    version: Literal[1] = 1
    owner: Owner
    updated_at: str = ""
    units: dict[str, list[Entry]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Roster:
    """A loaded roster; `problem` says why it cannot be trusted (None when its signature holds)."""

    doc: RosterDoc
    problem: str | None

    @property
    def trusted(self) -> bool:
        return self.problem is None

    @property
    def owner_fingerprint(self) -> str:
        return group_hex(self.doc.owner.fingerprint)


def record(key: PublicKey) -> dict[str, Any]:
    return {"alg": key.alg, "public_key": b64(key.raw), "fingerprint": key.fingerprint_hex}


def new_roster(owner: PrivateKey, name: str, updated_at: str) -> RosterDoc:
    return RosterDoc(owner=Owner(name=name, **record(owner.public)), updated_at=updated_at)


def roster_json(doc: RosterDoc, owner: PrivateKey) -> str:
    """The signed roster file; only the owner's own key may sign it."""
    if owner.public.fingerprint_hex != doc.owner.fingerprint:
        raise InputError(f"只能用名册所有者的密钥签署名册（所有者指纹 {group_hex(doc.owner.fingerprint)}）")
    payload = canonical_json(doc.model_dump(mode="json"))
    return sign_payload(ROSTER_TYPE, payload, [owner]).to_json() + "\n"


def _doc(data: Any) -> RosterDoc:
    try:
        return RosterDoc.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InputError(f"名册内容不符合格式：{where}：{error['msg']}") from None


def load_roster(data: bytes | str) -> Roster:
    """Read a roster; an unreadable file raises `InputError`, a bad signature sets `problem`."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("名册文件不是有效的 JSON") from None
    if isinstance(raw, dict) and raw.get("kind") == ROSTER_KIND:
        return Roster(_doc(raw), "名册没有签名（是未签名的 JSON）：不能确认名册未被改动")
    if not isinstance(raw, dict) or raw.get("payloadType") != ROSTER_TYPE:
        raise InputError("不是公钥名册文件（应由 jixiao roster init 创建）")
    try:
        body = json.loads(base64.b64decode(str(raw.get("payload", "")), validate=True))
    except (ValueError, RecursionError):
        raise InputError("名册文件已损坏：内容无法解码") from None
    doc = _doc(body)
    if not raw.get("signatures"):
        return Roster(doc, "名册没有签名：不能确认名册未被改动")
    try:
        envelope = parse_envelope(data, ROSTER_TYPE)
    except EnvelopeError as exc:
        return Roster(doc, f"名册的签名无效（{exc.message}）：名册可能被改动过")
    owner = doc.owner.fingerprint
    signers = [s for s in envelope.valid_signatures() if s.public_key.fingerprint_hex == owner]
    if not signers:
        return Roster(doc, f"名册的签名无效：不是所有者（指纹 {group_hex(owner)}）对当前内容的签名，名册可能被改动过")
    return Roster(doc, None)


def enrol(doc: RosterDoc, unit_code: str, key: PublicKey, *, unit_name: str, valid_from: date,
          valid_to: date | None = None, note: str = "", updated_at: str = "") -> RosterDoc:
    code = unit_code.strip()
    if not code:
        raise InputError("请填写单位编码")
    if valid_to is not None and valid_to < valid_from:
        raise InputError("有效期截止日期早于启用日期")
    entries = list(doc.units.get(code, []))
    if any(e.fingerprint == key.fingerprint_hex for e in entries):
        raise InputError(f"单位 {code} 已登记过该公钥（指纹 {key.fingerprint}）")
    entries.append(Entry(unit_name=unit_name, valid_from=valid_from, valid_to=valid_to, note=note,
                         **record(key)))
    return doc.model_copy(update={"units": {**doc.units, code: entries}, "updated_at": updated_at})


def revoke(doc: RosterDoc, unit_code: str, fingerprint: str, on: date, updated_at: str = "") -> RosterDoc:
    code = unit_code.strip()
    entries = list(doc.units.get(code, []))
    for index, entry in enumerate(entries):
        if entry.fingerprint == fingerprint:
            if entry.status == "revoked":
                raise InputError(f"该公钥已于 {entry.revoked_on} 注销")
            entries[index] = entry.model_copy(update={"status": "revoked", "revoked_on": on})
            return doc.model_copy(update={"units": {**doc.units, code: entries}, "updated_at": updated_at})
    raise InputError(f"名册中单位 {code or '（空）'} 名下没有指纹为 {group_hex(fingerprint)} 的公钥")


def check_key(roster: Roster, unit_code: str, key: PublicKey, signed_at: datetime) -> tuple[bool, str]:
    """Is `key` enrolled for `unit_code`, active, and valid on the signing day? (ok, why)."""
    if roster.problem is not None:
        return False, f"{roster.problem}，因此不能据此核对公钥"
    fp = key.fingerprint_hex
    entry = next((e for e in roster.doc.units.get(unit_code, []) if e.fingerprint == fp), None)
    if entry is None:
        others = [code for code, entries in roster.doc.units.items()
                  if code != unit_code and any(e.fingerprint == fp for e in entries)]
        if others:
            return False, f"该公钥登记在单位 {'、'.join(others)} 名下，不是本表的单位编码 {unit_code or '（空）'}"
        enrolled = roster.doc.units.get(unit_code, [])
        listed = "；名册中该单位登记的指纹：" + "、".join(group_hex(e.fingerprint)[:19] + " …" for e in enrolled) \
            if enrolled else "；名册中没有该单位"
        return False, f"名册中没有为单位编码 {unit_code or '（空）'} 登记该公钥{listed}"
    day = signed_at.astimezone(CHINA).date()
    if entry.status == "revoked":
        return False, f"该公钥已于 {entry.revoked_on or '（日期不详）'} 注销，不再可信"
    if day < entry.valid_from:
        return False, f"签名日期 {day} 早于该公钥的启用日期 {entry.valid_from}"
    if entry.valid_to is not None and day > entry.valid_to:
        return False, f"签名日期 {day} 晚于该公钥的有效期截止日 {entry.valid_to}（已过期）"
    until = f"至 {entry.valid_to}" if entry.valid_to else "起长期有效"
    return True, f"名册中单位 {unit_code}（{entry.unit_name}）登记的公钥，{entry.valid_from} {until}"
