"""The primitives under the signatures: published vectors, both Ed25519 paths, SM2/SM3, the
passphrase construction, canonical JSON against a second implementation, key files.

Why: the browser signs with the pure-Python code and the CLI may use `cryptography`; a
supervisor must get the same answer from either, and from any standard implementation.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from bundle_helpers import seed, unit_key
from jixiao import evaluate, load_framework
from jixiao.bundle import crypto, passphrase
from jixiao.bundle.keys import (
    KeyFileError,
    PrivateKey,
    PublicKey,
    group_hex,
    key_file_json,
    parse_fingerprint,
    public_key_from_text,
    read_key_file,
    read_public_key_file,
)
from jixiao.bundle.passphrase import WrongPassphrase, decrypt_private_key, encrypt_private_key
from jixiao.bundle.payload import build_payload
from jixiao.canonical import canonical_json

# RFC 8032 §7.1, TEST 1 (empty message).
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b")

# GM/T 0003.5-2012 Annex A.2 (also GB/T 32918.5-2017): SM2 on the recommended curve, ID 1234567812345678.
SM2_PRIVATE = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
SM2_PUBLIC = bytes.fromhex(
    "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
SM2_K = int("59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21", 16)
SM2_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
FAST_ITERATIONS = 2_000  # tests only; files we write use passphrase.ITERATIONS


# --- Ed25519 ---------------------------------------------------------------------------------------

def test_ed25519_rfc8032_vector_on_both_paths() -> None:
    assert crypto.public_from_private("ed25519", RFC8032_SECRET) == RFC8032_PUBLIC
    assert crypto.ed25519_sign_pure(RFC8032_SECRET, b"") == RFC8032_SIGNATURE
    assert crypto.ed25519_sign_fast(RFC8032_SECRET, b"") == RFC8032_SIGNATURE
    assert crypto.ed25519_verify_pure(RFC8032_PUBLIC, b"", RFC8032_SIGNATURE)
    assert crypto.ed25519_verify_fast(RFC8032_PUBLIC, b"", RFC8032_SIGNATURE)


def test_pure_python_and_cryptography_give_identical_signatures() -> None:
    for _ in range(20):
        seed_bytes, message = secrets.token_bytes(32), secrets.token_bytes(secrets.randbelow(3000))
        pure = crypto.ed25519_sign_pure(seed_bytes, message)
        assert pure == crypto.ed25519_sign_fast(seed_bytes, message)
        public = crypto.public_from_private("ed25519", seed_bytes)
        assert crypto.ed25519_verify_fast(public, message, pure)
        assert crypto.ed25519_verify_pure(public, message, pure)


def test_pure_path_is_used_when_cryptography_is_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_PURE_CRYPTO", "1")
    assert crypto._fast_ed25519() is None
    signature = crypto.sign("ed25519", RFC8032_SECRET, b"")
    assert signature == RFC8032_SIGNATURE
    assert crypto.verify("ed25519", RFC8032_PUBLIC, b"", signature)


def test_malleated_ed25519_signature_is_refused() -> None:
    """S + L verifies on lax implementations; RFC 8032 requires S < L."""
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(RFC8032_SIGNATURE[32:], "little")
    malleated = RFC8032_SIGNATURE[:32] + (s + order).to_bytes(32, "little")
    assert not crypto.verify("ed25519", RFC8032_PUBLIC, b"", malleated)


def test_bad_inputs_are_simply_invalid() -> None:
    for alg in crypto.ALGORITHMS:
        assert not crypto.verify(alg, b"\x00" * 5, b"m", b"\x00" * 64)
        assert not crypto.verify(alg, b"\x00" * 65, b"m", b"short")


# --- SM2 / SM3 ---------------------------------------------------------------------------------------

def test_sm3_published_vectors() -> None:
    """GB/T 32905-2016 Appendix A."""
    assert crypto.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")


def test_sm2_known_answer_from_the_standard() -> None:
    assert crypto.public_from_private("sm2", SM2_PRIVATE) == SM2_PUBLIC
    signed = crypto.sm2_sign(SM2_PRIVATE, b"message digest", random_bits=lambda bits: SM2_K)
    assert signed == SM2_SIGNATURE
    assert crypto.verify("sm2", SM2_PUBLIC, b"message digest", SM2_SIGNATURE)
    assert not crypto.verify("sm2", SM2_PUBLIC, b"message digesT", SM2_SIGNATURE)
    # The standard user id is part of the digest: another id does not verify.
    assert not crypto.sm2_verify(SM2_PUBLIC, b"message digest", SM2_SIGNATURE, user_id=b"ALICE123@YAHOO.COM")


def test_sm2_round_trip_and_refusals() -> None:
    key = PrivateKey.generate("sm2")
    message = "部门整体支出绩效自评".encode() * 50
    signature = key.sign(message)
    assert len(signature) == 64 and len(key.public.raw) == 65
    assert key.public.verify(message, signature)
    assert not key.public.verify(message + b"!", signature)
    assert not key.public.verify(message, signature[:32] + bytes(32))
    assert signature != key.sign(message)  # SM2 signing is randomised; both verify
    off_curve = SM2_PUBLIC[:-1] + bytes([SM2_PUBLIC[-1] ^ 1])
    with pytest.raises(KeyFileError, match="曲线"):
        PublicKey("sm2", off_curve)


# --- fingerprints and key text ---------------------------------------------------------------------

def test_fingerprint_is_sha256_of_raw_public_key_in_groups_of_four() -> None:
    key = unit_key().public
    assert key.fingerprint_hex == hashlib.sha256(key.raw).hexdigest()
    groups = key.fingerprint.split(" ")
    assert len(groups) == 16 and all(len(g) == 4 for g in groups)
    assert parse_fingerprint(key.fingerprint.upper()) == key.fingerprint_hex
    assert group_hex("abcdef12") == "abcd ef12"
    with pytest.raises(KeyFileError, match="64 位"):
        parse_fingerprint("abcd")


def test_public_key_text_and_qr_text_read_back() -> None:
    key = PrivateKey.generate("sm2").public
    assert public_key_from_text(key.text()) == key
    assert public_key_from_text(key.qr_text("360124-KGX")) == key
    forged = key.qr_text("x").replace(key.fingerprint_hex, "0" * 64)
    with pytest.raises(KeyFileError, match="指纹不符"):
        public_key_from_text(forged)
    with pytest.raises(KeyFileError):
        public_key_from_text("rsa:AAAA")


# --- the passphrase construction ---------------------------------------------------------------------

@pytest.mark.parametrize("length", [16, 32, 64, 80])
def test_pure_python_pbkdf2_matches_hashlib(length: int) -> None:
    salt = secrets.token_bytes(16)
    for password in (b"", b"pw", "口令".encode(), b"x" * 100):
        expected = hashlib.pbkdf2_hmac("sha256", password, salt, 1000, length)
        assert passphrase._pbkdf2_sha256_python(password, salt, 1000, length) == expected


def test_pbkdf2_falls_back_when_hashlib_lacks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 500, 32)
    monkeypatch.delattr(hashlib, "pbkdf2_hmac")  # as in Pyodide
    assert passphrase.pbkdf2_sha256(b"pw", b"salt", 500) == expected


def test_aes_ctr_matches_cryptography() -> None:
    key, iv, data = secrets.token_bytes(32), secrets.token_bytes(16), secrets.token_bytes(100)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    assert passphrase._ctr(key, iv, data) == encryptor.update(data) + encryptor.finalize()


def test_encrypt_decrypt_round_trip_and_fresh_randomness() -> None:
    raw = secrets.token_bytes(32)
    blob = encrypt_private_key(raw, "正确的口令", iterations=FAST_ITERATIONS)
    assert decrypt_private_key(blob, "正确的口令") == raw
    assert raw.hex() not in json.dumps(blob)
    again = encrypt_private_key(raw, "正确的口令", iterations=FAST_ITERATIONS)
    assert again["salt"] != blob["salt"] and again["ciphertext"] != blob["ciphertext"]
    assert encrypt_private_key(raw, "x")["iterations"] == passphrase.ITERATIONS == 600_000


def test_wrong_passphrase_or_tampered_blob_fails_cleanly() -> None:
    blob = encrypt_private_key(secrets.token_bytes(32), "right", iterations=FAST_ITERATIONS)
    with pytest.raises(WrongPassphrase, match="口令不正确"):
        decrypt_private_key(blob, "wrong")
    tampered = dict(blob, iterations=FAST_ITERATIONS + 1)  # parameters are covered by the MAC
    with pytest.raises(WrongPassphrase):
        decrypt_private_key(tampered, "right")
    with pytest.raises(Exception, match="迭代次数"):
        decrypt_private_key(dict(blob, iterations=10**9), "right")
    with pytest.raises(Exception, match="不能为空"):
        encrypt_private_key(b"k" * 32, "")


# --- key files ---------------------------------------------------------------------------------------

def test_plain_and_encrypted_key_files_read_back() -> None:
    key = PrivateKey.generate("ed25519")
    plain = key_file_json(key, unit_code="360124-KGX", unit_name="进贤县科技和工业信息化局")
    doc = json.loads(plain)
    assert doc["format"] == "jixiao-key" and doc["private_key"]["encoding"] == "plain"
    assert doc["fingerprint"] == key.public.fingerprint
    assert read_key_file(plain) == key
    sealed = key_file_json(key, "口令", iterations=FAST_ITERATIONS)
    assert read_key_file(sealed, "口令") == key
    assert read_public_key_file(sealed) == key.public  # no passphrase needed for the public half
    with pytest.raises(KeyFileError, match="口令"):
        read_key_file(sealed)


def test_swapped_public_key_in_a_key_file_is_detected() -> None:
    doc = json.loads(key_file_json(unit_key()))
    doc["public_key"] = json.loads(key_file_json(PrivateKey.generate()))["public_key"]
    with pytest.raises(KeyFileError, match="不匹配"):
        read_key_file(json.dumps(doc))


# --- canonical JSON: ours against rfc8785 -----------------------------------------------------------

def test_seed_payload_canonical_form_matches_rfc8785() -> None:
    fw = load_framework("jinxian-2021")
    payload = build_payload(seed(), evaluate(seed(), fw), fw, "2022-03-01T02:00:00Z")
    assert canonical_json(payload) == rfc8785.dumps(payload)


json_values: Any = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_canonical_json_agrees_with_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)

