"""The supervisor's roster: which key may sign for which unit, when; and the roster's own seal.

Why: a valid signature only proves that *some* key signed. Trust comes from the roster, so
a key that is not enrolled, enrolled for another unit, revoked, or outside its dates must
fail, and so must a roster whose own signature is missing or broken.

A key taken out of use is either retired (停用: lost or no longer used, not in other hands; what
it signed up to the day still counts) or revoked (注销: may be in other hands; nothing it ever
signed counts). Revoking was the only way, so a unit whose key was merely lost dropped out of
附件4 with the bundles it had handed in months before.
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
from jixiao.bundle.roster import Roster, RosterDoc, check_key, enrol, new_roster, retire, revoke, roster_json
from jixiao.consolidate import NoSummary, Source, check_bundle, consolidate
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


# --- 停用 (retire) and 注销 (revoke) -------------------------------------------------------------------
# The seed bundle is signed 2022-03-01T10:00+08:00.

FP = unit_key().public.fingerprint_hex


def refusal_of_consolidation(roster: Roster) -> str:
    """Why 附件4 leaves the seed bundle out ("" when it is in), by the check every door uses
    (consolidate, the intake, the 汇总 page) and by a whole run."""
    name, data = seed_bundle()
    checked = check_bundle(name, data, roster)
    try:
        outcome = consolidate([Source(name, data=data)], roster=roster)
    except NoSummary as exc:
        assert not checked.ok
        assert [r.reasons for r in exc.refused] == [checked.reasons]
        return " ".join(checked.reasons)
    assert checked.ok and outcome.summary is not None
    assert [r.unit_code for r in outcome.summary.rows] == [UNIT_CODE]
    return ""


def test_material_signed_on_or_before_the_retire_day_still_counts() -> None:
    doc = retire(roster_with((UNIT_CODE, unit_key().public, {})), UNIT_CODE, FP, date(2022, 3, 1))
    outcome = verdict_with(signed(doc))
    assert outcome.startswith("通过") and "2022-01-01 至 2022-03-01（已于 2022-03-01 停用" in outcome, outcome
    assert refusal_of_consolidation(signed(doc)) == ""


def test_material_signed_after_the_retire_day_is_refused_naming_it() -> None:
    doc = retire(roster_with((UNIT_CODE, unit_key().public, {})), UNIT_CODE, FP, date(2022, 2, 28))
    outcome = verdict_with(signed(doc))
    assert outcome.startswith("未通过"), outcome
    assert "已停用（停用日期 2022-02-28 之后签署）：签名日期 2022-03-01 在停用日期之后" in outcome
    assert "注销" not in outcome and "过期" not in outcome
    assert "已停用（停用日期 2022-02-28 之后签署）" in refusal_of_consolidation(signed(doc))


def test_revoking_refuses_what_was_signed_before_too() -> None:
    """Revoked after the signing day, or after the key was retired (found leaked after all)."""
    active = roster_with((UNIT_CODE, unit_key().public, {}))
    for doc in (revoke(active, UNIT_CODE, FP, date(2022, 6, 1)),
                revoke(retire(active, UNIT_CODE, FP, date(2022, 3, 1)), UNIT_CODE, FP, date(2022, 6, 1))):
        outcome = verdict_with(signed(doc))
        assert outcome.startswith("未通过") and "已于 2022-06-01 注销" in outcome
        assert "含注销前签署的材料" in outcome
        assert "已于 2022-06-01 注销" in refusal_of_consolidation(signed(doc))
        assert doc.units[UNIT_CODE][0].status == "revoked"


def test_retire_refuses_what_it_cannot_mean() -> None:
    doc = roster_with((UNIT_CODE, unit_key().public, {"valid_from": date(2022, 1, 1)}))
    with pytest.raises(InputError, match="名册中没有单位 360124-XXX"):
        retire(doc, "360124-XXX", FP, date(2022, 3, 1))
    with pytest.raises(InputError, match=f"单位 {UNIT_CODE} 名下没有指纹为 "):
        retire(doc, UNIT_CODE, other_key().public.fingerprint_hex, date(2022, 3, 1))
    with pytest.raises(InputError, match="停用日期 2021-12-31 早于该公钥的启用日期 2022-01-01"):
        retire(doc, UNIT_CODE, FP, date(2021, 12, 31))
    assert retire(doc, UNIT_CODE, FP, date(2022, 1, 1)).units[UNIT_CODE][0].valid_to == date(2022, 1, 1)
    revoked = revoke(doc, UNIT_CODE, FP, date(2022, 6, 1))
    with pytest.raises(InputError, match="已于 2022-06-01 注销：注销比停用更严"):
        retire(revoked, UNIT_CODE, FP, date(2022, 3, 1))


def test_a_retire_day_can_move_earlier_never_later() -> None:
    """Later would let material signed after the key was declared out of use count again."""
    doc = retire(roster_with((UNIT_CODE, unit_key().public, {})), UNIT_CODE, FP, date(2022, 3, 1), "t1")
    with pytest.raises(InputError, match="已于 2022-03-01 停用，无需重复停用"):
        retire(doc, UNIT_CODE, FP, date(2022, 3, 1))
    with pytest.raises(InputError, match="停用日期只能提前，不能推后到 2022-04-01"):
        retire(doc, UNIT_CODE, FP, date(2022, 4, 1))
    earlier = retire(doc, UNIT_CODE, FP, date(2022, 2, 1), "t2")
    entry = earlier.units[UNIT_CODE][0]
    assert (entry.status, entry.valid_to, earlier.updated_at) == ("retired", date(2022, 2, 1), "t2")
    # A key enrolled with an end date is not extended by retiring it later.
    ending = roster_with((UNIT_CODE, unit_key().public, {"valid_to": date(2022, 2, 1)}))
    with pytest.raises(InputError, match="有效期已于 2022-02-01 截止：停用日期 2022-03-01 不能晚于它"):
        retire(ending, UNIT_CODE, FP, date(2022, 3, 1))


def test_a_retired_entry_is_kept_in_the_signed_roster() -> None:
    doc = retire(roster_with((UNIT_CODE, unit_key().public, {})), UNIT_CODE, FP, date(2022, 3, 1))
    loaded = signed(doc)
    assert loaded.trusted
    entry = loaded.doc.units[UNIT_CODE][0]
    assert (entry.status, entry.valid_to, entry.revoked_on) == ("retired", date(2022, 3, 1), None)


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
