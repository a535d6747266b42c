"""The supervisor's roster of unit keys: unit code → enrolled public keys, signed by the supervisor.

A supervisor enrols a unit's key from the stamped 公钥登记表 (the fingerprint typed from paper
is checked against the key). A key that is lost or no longer used, with no sign that anyone else
has it, is retired (停用) on a day: what it signed up to that day still counts, nothing later
does. A key that may be in other hands (leaked, stolen, copied) is revoked (注销): nothing it ever
signed counts, earlier material included, since a signing date is the signer's own word and
whoever holds the key can write any date. The roster file is an
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
    # "retired" (停用): valid to `valid_to`, the day it was retired; "revoked" (注销): never valid.
    status: Literal["active", "retired", "revoked"] = "active"
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
    # One key, two units: what either signed would verify as the other's.
    other = next((c for c, listed in doc.units.items() if c != code
                  and any(e.fingerprint == key.fingerprint_hex for e in listed)), None)
    if other is not None:
        raise InputError(f"该公钥已登记在单位 {other} 名下：一把签名密钥只能代表一个单位，"
                         f"否则它签的材料也能冒充单位 {code}。请核对是否拿错了密钥文件或公钥登记表")
    entries.append(Entry(unit_name=unit_name, valid_from=valid_from, valid_to=valid_to, note=note,
                         **record(key)))
    return doc.model_copy(update={"units": {**doc.units, code: entries}, "updated_at": updated_at})


def _find(doc: RosterDoc, unit_code: str, fingerprint: str) -> tuple[str, list[Entry], int]:
    code = unit_code.strip()
    entries = list(doc.units.get(code, []))
    for index, entry in enumerate(entries):
        if entry.fingerprint == fingerprint:
            return code, entries, index
    if code not in doc.units:
        raise InputError(f"名册中没有单位 {code or '（空）'}")
    raise InputError(f"名册中单位 {code} 名下没有指纹为 {group_hex(fingerprint)} 的公钥")


def revoke(doc: RosterDoc, unit_code: str, fingerprint: str, on: date, updated_at: str = "") -> RosterDoc:
    """注销: the key may be in other hands, so nothing it signed counts, whatever date it claims.
    A retired key may still be revoked (found to have leaked after all)."""
    code, entries, index = _find(doc, unit_code, fingerprint)
    entry = entries[index]
    if entry.status == "revoked":
        raise InputError(f"该公钥已于 {entry.revoked_on} 注销")
    entries[index] = entry.model_copy(update={"status": "revoked", "revoked_on": on})
    return doc.model_copy(update={"units": {**doc.units, code: entries}, "updated_at": updated_at})


def retire(doc: RosterDoc, unit_code: str, fingerprint: str, on: date, updated_at: str = "") -> RosterDoc:
    """停用: the key is lost or no longer used, not known to be leaked. Its validity ends on `on`
    (its `valid_to`): material signed up to that day still counts, later material does not.

    The day can only end the validity earlier, never later: a later day would let material
    signed after the key was declared out of use count again. So retiring again to a later day,
    or past an end date the key already had, is refused; retiring again to an earlier day (the
    key turned out to be lost before it was reported) is allowed."""
    code, entries, index = _find(doc, unit_code, fingerprint)
    entry = entries[index]
    if entry.status == "revoked":
        raise InputError(f"该公钥已于 {entry.revoked_on} 注销：注销比停用更严（用它签署的材料一律不予通过，"
                         f"含注销前签署的），不能改为停用")
    if on < entry.valid_from:
        raise InputError(f"停用日期 {on} 早于该公钥的启用日期 {entry.valid_from}：停用日期应在启用日期当天或之后")
    if entry.status == "retired":
        if on == entry.valid_to:
            raise InputError(f"该公钥已于 {entry.valid_to} 停用，无需重复停用")
        if entry.valid_to is not None and on > entry.valid_to:
            raise InputError(f"该公钥已于 {entry.valid_to} 停用：停用日期只能提前，不能推后到 {on}"
                             f"（推后会让停用后签署的材料重新通过）")
    elif entry.valid_to is not None and on > entry.valid_to:
        raise InputError(f"该公钥的有效期已于 {entry.valid_to} 截止：停用日期 {on} 不能晚于它"
                         f"（晚于它会让截止后签署的材料重新通过）")
    entries[index] = entry.model_copy(update={"status": "retired", "valid_to": on})
    return doc.model_copy(update={"units": {**doc.units, code: entries}, "updated_at": updated_at})


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
        return False, (f"该公钥已于 {entry.revoked_on or '（日期不详）'} 注销（可能已落入他人之手），"
                       f"用它签署的材料一律不予通过，含注销前签署的材料")
    if entry.status == "retired" and entry.valid_to is None:  # never written by `retire`
        return False, "名册中该公钥标为停用，却没有停用日期，不能确认签名是否在停用之前"
    if day < entry.valid_from:
        return False, f"签名日期 {day} 早于该公钥的启用日期 {entry.valid_from}"
    if entry.valid_to is not None and day > entry.valid_to:
        if entry.status == "retired":
            return False, (f"该公钥已停用（停用日期 {entry.valid_to} 之后签署）：签名日期 {day} 在停用日期之后，"
                           f"不予通过；该公钥在停用日期当天及以前签署的材料仍然有效")
        return False, f"签名日期 {day} 晚于该公钥的有效期截止日 {entry.valid_to}（已过期）"
    until = f"至 {entry.valid_to}" if entry.valid_to else "起长期有效"
    if entry.status == "retired":
        until += f"（已于 {entry.valid_to} 停用，签名日期不晚于停用日期）"
    return True, f"名册中单位 {unit_code}（{entry.unit_name}）登记的公钥，{entry.valid_from} {until}"
