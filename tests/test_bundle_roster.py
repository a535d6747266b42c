"""The supervisor's roster: which key may sign for which unit, when; and the roster's own seal.

Why: a valid signature only proves that *some* key signed. Trust comes from the roster, so
a key that is not enrolled, enrolled for another unit, revoked, or outside its dates must
fail, and so must a roster whose own signature is missing or broken.
"""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from bundle_helpers import UNIT_CODE, failures, other_key, seed_bundle, supervisor_key, text_of, unit_key
from jixiao.bundle import load_roster, verify_file
from jixiao.bundle.keys import PublicKey
from jixiao.bundle.payload import parse_signed_at
from jixiao.bundle.roster import Roster, RosterDoc, check_key, enrol, new_roster, revoke, roster_json
from jixiao.io.errors import InputError


def roster_with(*entries: tuple[str, PublicKey, dict[str, object]]) -> RosterDoc:
    doc = new_roster(supervisor_key(), "进贤县财政局", "2022-01-01T00:00:00Z")
    for code, key, options in entries:
        doc = enrol(doc, code, key, unit_name=str(options.pop("unit_name", "单位")),
                    valid_from=options.pop("valid_from", date(2022, 1, 1)), **options)  # type: ignore[arg-type]
    return doc


def signed(doc: RosterDoc) -> Roster:
    return load_roster(roster_json(doc, supervisor_key()))


def verdict_with(roster: Roster) -> str:
    verdict = verify_file(*seed_bundle(), roster=roster)
    roster_lines = [c for c in verdict.checks if c.code == "ROSTER"]
    assert len(roster_lines) == 1, text_of(verdict)
    return ("通过 " if verdict.ok else "未通过 ") + roster_lines[0].message


def test_enrolled_key_passes() -> None:
    roster = signed(roster_with((UNIT_CODE, unit_key().public, {"unit_name": "进贤县科技和工业信息化局"})))
    assert roster.trusted
    outcome = verdict_with(roster)
    assert outcome.startswith("通过 公钥已登记") and "2022-01-01 起长期有效" in outcome
    assert roster.owner_fingerprint in outcome


def test_key_not_in_roster_fails() -> None:
    outcome = verdict_with(signed(roster_with((UNIT_CODE, other_key().public, {}))))
    assert outcome.startswith("未通过") and "没有为单位编码 360124-KGX 登记该公钥" in outcome


def test_unit_missing_from_roster_fails() -> None:
    outcome = verdict_with(signed(roster_with()))
    assert outcome.startswith("未通过") and "名册中没有该单位" in outcome


def test_key_enrolled_for_another_unit_fails() -> None:
    outcome = verdict_with(signed(roster_with(("360124-CZJ", unit_key().public, {}))))
    assert outcome.startswith("未通过") and "登记在单位 360124-CZJ 名下" in outcome


def test_revoked_key_fails() -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {}))
    doc = revoke(doc, UNIT_CODE, unit_key().public.fingerprint_hex, date(2022, 6, 1))
    outcome = verdict_with(signed(doc))
    assert outcome.startswith("未通过") and "已于 2022-06-01 注销" in outcome
    with pytest.raises(InputError, match="已于 2022-06-01 注销"):
        revoke(doc, UNIT_CODE, unit_key().public.fingerprint_hex, date(2022, 7, 1))


@pytest.mark.parametrize(("valid_from", "valid_to", "words"), [
    (date(2021, 1, 1), date(2022, 2, 28), "已过期"),
    (date(2022, 3, 2), None, "早于该公钥的启用日期"),
])
def test_outside_validity_fails(valid_from: date, valid_to: date | None, words: str) -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {"valid_from": valid_from, "valid_to": valid_to}))
    outcome = verdict_with(signed(doc))
    assert outcome.startswith("未通过") and words in outcome


def test_validity_is_judged_by_the_china_calendar_day() -> None:
    """Signed 2022-03-01T02:00Z = 10:00 in Beijing: a key valid to 2022-03-01 still holds."""
    doc = roster_with((UNIT_CODE, unit_key().public, {"valid_to": date(2022, 3, 1)}))
    assert verdict_with(signed(doc)).startswith("通过")


def test_roster_without_signature_fails() -> None:
    text = json.loads(roster_json(roster_with((UNIT_CODE, unit_key().public, {})), supervisor_key()))
    text["signatures"] = []
    roster = load_roster(json.dumps(text))
    assert not roster.trusted and "名册没有签名" in str(roster.problem)
    outcome = verdict_with(roster)
    assert outcome.startswith("未通过") and "名册没有签名" in outcome
    plain = load_roster(roster_with().model_dump_json())
    assert "未签名的 JSON" in str(plain.problem)


def test_roster_edited_after_signing_fails() -> None:
    doc = roster_with((UNIT_CODE, other_key().public, {}))
    text = json.loads(roster_json(doc, supervisor_key()))
    body = json.loads(base64.b64decode(text["payload"]))
    body["units"][UNIT_CODE][0].update(public_key=base64.b64encode(unit_key().public.raw).decode(),
                                       fingerprint=unit_key().public.fingerprint_hex)
    text["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    roster = load_roster(json.dumps(text))
    assert not roster.trusted and "名册的签名无效" in str(roster.problem)
    assert verdict_with(roster).startswith("未通过")


def test_roster_signed_by_someone_else_fails() -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {}))
    with pytest.raises(InputError, match="名册所有者"):
        roster_json(doc, other_key())
    forged = doc.model_copy(update={"owner": doc.owner.model_copy(
        update={"public_key": base64.b64encode(other_key().public.raw).decode(),
                "fingerprint": other_key().public.fingerprint_hex})})
    text = json.loads(roster_json(forged, other_key()))
    text["payload"] = base64.b64encode(doc.model_dump_json().encode()).decode()  # claim the real owner
    assert "名册的签名无效" in str(load_roster(json.dumps(text)).problem)


def test_enrol_refuses_duplicates_and_bad_dates() -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {}))
    with pytest.raises(InputError, match="已登记过"):
        enrol(doc, UNIT_CODE, unit_key().public, unit_name="x", valid_from=date(2022, 1, 1))
    with pytest.raises(InputError, match="早于启用日期"):
        enrol(doc, "X", other_key().public, unit_name="x", valid_from=date(2022, 2, 1), valid_to=date(2022, 1, 1))


def test_unreadable_roster_files() -> None:
    for data, words in ((b"nope", "不是有效的 JSON"), (b"{}", "不是公钥名册"),
                        (b'{"payloadType": "application/vnd.jixiao.roster+json; version=1", "payload": "%%"}',
                         "内容无法解码")):
        with pytest.raises(InputError, match=words):
            load_roster(data)


def test_check_key_reports_each_reason_directly() -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {"unit_name": "科工信局"}))
    ok, why = check_key(signed(doc), UNIT_CODE, unit_key().public, parse_signed_at("2022-03-01T02:00:00Z"))
    assert ok and "科工信局" in why
    assert failures(verify_file(*seed_bundle(), roster=signed(doc))) == []
