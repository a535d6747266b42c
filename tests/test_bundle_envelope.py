"""The signed envelope: checked independently, tampered with byte by byte, and malformed.

Why: the envelope is the authoritative artefact. Another implementation (`cryptography`,
with the DSSE pre-authentication encoding rebuilt by hand here) must accept it; any change
to the signature or the payload must fail; a malformed one must get a clear verdict.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bundle_helpers import SIGNED_AT, entries, failures, framework, other_key, seed, seed_bundle, unit_key
from jixiao import __version__, evaluate
from jixiao.bundle import SUBMISSION_TYPE, PrivateKey, parse_envelope, prepare_bundle, verify_file
from jixiao.bundle.archive import finish_bundle
from jixiao.bundle.envelope import (
    Envelope,
    EnvelopeError,
    make_signature,
    pae,
    sign_payload,
    signature_from_parts,
)
from jixiao.bundle.payload import build_payload, payload_bytes
from jixiao.canonical import canonical_json


def envelope_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(entries(seed_bundle()[1])[".json"])
    return doc


def verify_doc(doc: dict[str, Any]) -> Any:
    return verify_file("x.json", json.dumps(doc, ensure_ascii=False).encode())


def signed_json(payload: dict[str, Any] | bytes, key: PrivateKey | None = None) -> bytes:
    body = payload if isinstance(payload, bytes) else canonical_json(payload)
    return sign_payload(SUBMISSION_TYPE, body, [key or unit_key()]).to_json().encode()


def seed_payload() -> dict[str, Any]:
    fw = framework()
    return build_payload(seed(), evaluate(seed(), fw), fw, SIGNED_AT)


# --- format and an independent check -------------------------------------------------------------

def test_envelope_shape() -> None:
    doc = envelope_doc()
    assert set(doc) == {"payloadType", "payload", "signatures"}
    assert doc["payloadType"] == "application/vnd.jixiao.submission+json; version=1"
    [signature] = doc["signatures"]
    assert set(signature) == {"keyid", "alg", "sig", "public_key"}
    assert signature["alg"] == "ed25519"
    assert signature["keyid"] == unit_key().public.fingerprint_hex
    payload = json.loads(base64.b64decode(doc["payload"]))
    assert set(payload) == {"submission", "evaluation", "framework", "software", "signed_at"}
    assert payload["signed_at"] == "2022-03-01T02:00:00Z"
    assert payload["software"] == {"name": "jixiao", "version": __version__}
    fw = framework()
    assert payload["framework"] == {"id": fw.id, "version": fw.version, "sha256": fw.sha256}
    assert payload["submission"]["unit_code"] == "360124-KGX" and payload["submission"]["year"] == 2021
    assert payload["evaluation"]["total"] == "98" and payload["evaluation"]["grade"] == "优"


def test_independent_check_with_cryptography_and_a_hand_built_pae() -> None:
    doc = envelope_doc()
    body = base64.b64decode(doc["payload"])
    kind = doc["payloadType"].encode()
    message = b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" " + str(len(body)).encode() + b" " + body
    assert message == pae(doc["payloadType"], body)
    public = Ed25519PublicKey.from_public_bytes(unit_key().public.raw)  # the key we know, not the file's
    public.verify(base64.b64decode(doc["signatures"][0]["sig"]), message)  # raises if invalid


def test_payload_is_canonical_and_private_fields_are_blanked() -> None:
    sub = seed().model_copy(update={"contact": seed().contact.model_copy(
        update={"name": "张三", "phone": "0791-1234567"})})
    prepared = prepare_bundle(sub, framework(), SIGNED_AT)
    payload = json.loads(prepared.payload)
    assert payload_bytes(payload) == prepared.payload
    assert payload["submission"]["contact"] == {"name": "", "phone": ""}
    assert "张三" not in prepared.payload.decode()


def test_browser_signature_path_prepare_then_finish() -> None:
    """The browser signs `signing_input` itself (WebCrypto) and hands back the signature."""
    prepared = prepare_bundle(seed(), framework(), SIGNED_AT)
    signature = make_signature(unit_key(), SUBMISSION_TYPE, prepared.payload)
    assert unit_key().public.verify(prepared.signing_input, signature.sig)
    name, data = finish_bundle(prepared, [signature])
    assert name == "2021-360124-KGX-进贤县科技和工业信息化局-整体支出绩效自评.zip"
    assert verify_file(name, data).ok
    wrong = make_signature(unit_key(), SUBMISSION_TYPE, prepared.payload + b" ")
    with pytest.raises(ValueError, match="签名无效"):
        finish_bundle(prepared, [wrong])


def test_a_signature_made_outside_python_is_accepted() -> None:
    """WebCrypto in the browser signs `signing_input` with a key Python never sees."""
    browser_key = Ed25519PrivateKey.generate()
    raw_public = browser_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    prepared = prepare_bundle(seed(), framework(), SIGNED_AT)
    signature = signature_from_parts("ed25519", raw_public, browser_key.sign(prepared.signing_input))
    name, data = finish_bundle(prepared, [signature])
    assert verify_file(name, data).ok
    with pytest.raises(EnvelopeError):
        signature_from_parts("ed25519", b"short", b"")


# --- tampering ----------------------------------------------------------------------------------

def test_every_signature_byte_flipped_fails() -> None:
    doc = envelope_doc()
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    for index in range(len(sig)):
        flipped = bytearray(sig)
        flipped[index] ^= 0x01
        doc["signatures"][0]["sig"] = base64.b64encode(bytes(flipped)).decode()
        verdict = verify_doc(doc)
        assert not verdict.ok, index
        assert any("签名无效" in m for m in failures(verdict)), index


def test_sampled_payload_bytes_flipped_fail() -> None:
    doc = envelope_doc()
    payload = base64.b64decode(doc["payload"])
    signature = parse_envelope(json.dumps(doc), SUBMISSION_TYPE).signatures[0]
    positions = random.Random(8032).sample(range(len(payload)), 300)
    for index in positions:
        flipped = bytearray(payload)
        flipped[index] ^= 1 << (index % 8)
        assert not Envelope(SUBMISSION_TYPE, bytes(flipped), (signature,)).valid_signatures(), index
    for index in positions[:15]:  # and through the whole verifier
        flipped = bytearray(payload)
        flipped[index] ^= 0x20
        verdict = verify_doc(dict(doc, payload=base64.b64encode(bytes(flipped)).decode()))
        assert not verdict.ok and any("签名无效" in m for m in failures(verdict)), index


def test_payload_type_is_signed_too() -> None:
    doc = envelope_doc()
    signature = parse_envelope(json.dumps(doc), SUBMISSION_TYPE).signatures[0]
    other = "application/vnd.jixiao.submission+json; version=2"
    assert not signature.verifies(other, base64.b64decode(doc["payload"]))


def test_another_key_in_the_signature_entry_does_not_verify() -> None:
    doc = envelope_doc()
    doc["signatures"][0]["public_key"] = base64.b64encode(other_key().public.raw).decode()
    assert not verify_doc(doc).ok


def test_keyid_is_only_a_hint() -> None:
    doc = envelope_doc()
    doc["signatures"][0]["keyid"] = "whatever"
    verdict = verify_doc(doc)
    assert verdict.ok
    assert any(c.status == "warn" and "keyid" in c.message for c in verdict.checks)


# --- malformed envelopes --------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "words"), [
    ({"signatures": []}, "没有任何签名"),
    ({"payloadType": "application/vnd.in-toto+json"}, "类型不符"),
    ({"payloadType": "application/vnd.jixiao.roster+json; version=1"}, "公钥名册"),
    ({"payload": "这不是 base64!"}, "不是有效的 base64"),
    ({"payload": 12}, "base64 文本"),
    ({"signatures": [{"alg": "rsa", "sig": "AA==", "keyid": ""}]}, "不受支持"),
    ({"signatures": "yes"}, "没有任何签名"),
    ({"extra": 1}, "不认识的字段"),
])
def test_malformed_envelopes_get_clear_verdicts(change: dict[str, Any], words: str) -> None:
    verdict = verify_doc({**envelope_doc(), **change})
    assert not verdict.ok and verdict.readable
    assert any(words in m for m in failures(verdict)), failures(verdict)


def test_signature_entry_without_public_key() -> None:
    doc = envelope_doc()
    del doc["signatures"][0]["public_key"]
    assert any("缺少公钥" in m for m in failures(verify_doc(doc)))


def test_unsigned_submission_json_is_named() -> None:
    verdict = verify_file("seed.json", seed().model_dump_json().encode())
    assert any("未签名的自评表" in m for m in failures(verdict))


def test_parse_envelope_raises_only_envelope_error() -> None:
    for text in ("", "[]", "{", '{"payloadType": 1}', "null", '{"a":' * 100000):
        with pytest.raises(EnvelopeError):
            parse_envelope(text, SUBMISSION_TYPE)


# --- signed, but the payload is wrong --------------------------------------------------------------

def test_signed_payload_with_wrong_schema_names_the_field() -> None:
    payload = seed_payload()
    payload["submission"]["indicators"][0]["groups"][1]["items"][0]["score"] = "两分"
    verdict = verify_file("x.json", signed_json(payload))
    message = " ".join(failures(verdict))
    assert "自评表不符合格式" in message and "预算完成率" in message and "得分" in message


def test_signed_payload_missing_fields_or_not_canonical() -> None:
    payload = seed_payload()
    del payload["software"]
    assert any("缺少 software" in m for m in failures(verify_file("x.json", signed_json(payload))))
    pretty = json.dumps(seed_payload(), ensure_ascii=False, indent=1).encode()
    assert any("规范化" in m for m in failures(verify_file("x.json", signed_json(pretty))))


def test_signed_evaluation_that_does_not_recompute_names_the_fields() -> None:
    payload = seed_payload()
    payload["evaluation"]["total"] = "99"
    payload["evaluation"]["grade"] = "良"
    payload["evaluation"]["indicators"][2]["suggested"] = "1"
    verdict = verify_file("x.json", signed_json(payload))
    [message] = [m for m in failures(verdict)]
    assert "评分结果与复算不符" in message
    assert "总分：签名为 99，复算为 98；等级：签名为 良，复算为 优" in message
    assert "指标“预算完成率”的建议得分：签名为 1，复算为 2" in message


def test_framework_not_shipped_or_with_another_hash() -> None:
    payload = seed_payload()
    payload["framework"]["sha256"] = "0" * 64
    payload["evaluation"]["framework"]["sha256"] = "0" * 64
    assert any("与本程序内置的不同" in m for m in failures(verify_file("x.json", signed_json(payload))))
    payload = seed_payload()
    for ref in (payload["framework"], payload["evaluation"]["framework"]):
        ref["id"] = "guangdong-2030"
    payload["submission"]["framework_id"] = "guangdong-2030"
    assert any("不是本程序内置的" in m for m in failures(verify_file("x.json", signed_json(payload))))
    payload = seed_payload()
    payload["submission"]["framework_id"] = "national-2020"
    assert any("前后矛盾" in m for m in failures(verify_file("x.json", signed_json(payload))))
