"""`jixiao.browser_bundle`, the worker's door for bundles, on CPython.

The browser runs the same module with the real MarkupSafe and pyaes (pure wheels built from the
pinned sdists; tests/test_bundle_pyodide.py runs it there).
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bundle_helpers import SIGNED_AT
from jixiao import browser_bundle as bb
from jixiao.bundle import read_key_file, verify_file
from jixiao.bundle.passphrase import WrongPassphrase
from jixiao.catalog import example_json

SEED = example_json("jinxian-2021")


def test_prepare_sign_elsewhere_finish() -> None:
    """What the page does with WebCrypto; `cryptography` stands in for the browser's signer."""
    signer = Ed25519PrivateKey.generate()
    public = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    prepared = bb.prepare(SEED, "jinxian-2021", "2022-03-01T02:00:00Z")
    assert prepared["signing_input"].startswith(b"DSSEv1 ")
    made = bb.finish(prepared["token"], public, signer.sign(prepared["signing_input"]))
    assert made["name"].endswith("-整体支出绩效自评.zip")
    verdict = verify_file(made["name"], made["data"])
    assert verdict.ok and verdict.fingerprints == [made["fingerprint"]] == [bb.fingerprint(public)]
    # A signature over something else is refused, and the token is spent.
    again = bb.prepare(SEED, "jinxian-2021", "2022-03-01T02:00:00Z")
    with pytest.raises(ValueError, match="签名无效"):
        bb.finish(again["token"], public, signer.sign(b"other"))
    with pytest.raises(Exception, match="过期"):
        bb.finish(again["token"], public, signer.sign(again["signing_input"]))


def test_passphrase_key_file_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    import jixiao.bundle.passphrase as passphrase

    monkeypatch.setattr(passphrase, "ITERATIONS", 1000)  # the format is the same; only slower for real
    made = bb.new_key_file("对的口令", "360124", "某单位", "2022-03-01")
    assert made["encrypted"] and made["unit_code"] == "360124"
    with pytest.raises(WrongPassphrase, match="口令不正确"):
        bb.bundle_with_key_file(SEED, "jinxian-2021", SIGNED_AT, made["key_file"], "错的口令")
    out = bb.bundle_with_key_file(SEED, "jinxian-2021", SIGNED_AT, made["key_file"], "对的口令")
    assert verify_file(out["name"], out["data"]).ok
    assert out["fingerprint"] == made["fingerprint"]
    assert bb.check_key_file(made["key_file"], "对的口令")["fingerprint"] == made["fingerprint"]
    moved = bb.protect_key_file(made["key_file"], "对的口令", "新口令")
    assert read_key_file(moved["key_file"], "新口令").public.fingerprint == made["fingerprint"]


def test_verify_files_with_and_without_roster() -> None:
    from bundle_helpers import seed_bundle

    name, data = seed_bundle()
    answer = bb.verify_files([[name, data], ["broken.zip", data[:100]]], None)
    assert [v["ok"] for v in answer["verdicts"]] == [True, False]
    assert answer["roster"] is False
    answer = bb.verify_files([[name, data]], b"not json")
    assert answer["roster_problem"] and "JSON" in answer["roster_problem"]
    # QA: a roster that could not be read was ignored, and every bundle passed as if none was chosen
    (verdict,) = answer["verdicts"]
    assert verdict["ok"] is False
    assert [c["message"] for c in verdict["checks"] if c["code"] == "ROSTER"] == [
        f"所选的公钥名册无法读取（{answer['roster_problem']}）：未能对照名册核对，请重新选择主管部门签发的名册文件"]
    assert base64.b64encode(data)  # bytes came back untouched


def test_an_unreadable_value_is_refused_not_signed_blank(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page scores "二分" as an unreadable value; signed, it would have read as an empty
    score, not as typed. `jixiao bundle` refuses such a form, so both browser paths do too."""
    import json

    import jixiao.bundle.passphrase as passphrase
    from jixiao.io.errors import InputError

    monkeypatch.setattr(passphrase, "ITERATIONS", 1000)
    doc = json.loads(SEED)
    doc["indicators"][0]["groups"][1]["items"][0]["score"] = "二分"
    text = json.dumps(doc, ensure_ascii=False)
    with pytest.raises(InputError, match=r"无法导出签名材料：.*预算完成率.*“二分”不是数字"):
        bb.prepare(text, "jinxian-2021", "2022-03-01T02:00:00Z")
    made = bb.new_key_file("口令", "360124", "某单位", "2022-03-01")
    with pytest.raises(InputError, match="“二分”不是数字"):
        bb.bundle_with_key_file(text, "jinxian-2021", SIGNED_AT, made["key_file"], "口令")
