"""A private key encrypted under a passphrase, with primitives that run in Pyodide.

Pyodide's hashlib has no scrypt and no pbkdf2_hmac, and no wasm wheel of a C cipher exists,
so the construction uses only what runs there, each piece standard and each available in
WebCrypto too (should the browser ever want to open the same file natively):

- KDF: PBKDF2-HMAC-SHA256, 600 000 iterations (OWASP 2023), 16-byte random salt → 32-byte
  master key; `hashlib.pbkdf2_hmac` when present, else the same function over `hashlib`
  (about 1 s on CPython; a few seconds in the browser, once per unlock).
- Two keys from the master by HKDF-Expand (RFC 5869, one block): one to encrypt, one to MAC.
- Cipher: AES-256-CTR from `pyaes` (the most used pure-Python AES), 16-byte random initial
  counter block.
- Integrity: encrypt-then-MAC, HMAC-SHA256 over the canonical JSON of every other field
  (scheme, iterations, salt, iv, ciphertext), compared in constant time before decrypting.

A wrong passphrase fails the MAC and raises `WrongPassphrase`; nothing is ever written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from typing import Any

import pyaes  # type: ignore[import-untyped]

from ..canonical import canonical_json
from ..io.errors import InputError

SCHEME = "pbkdf2-sha256+aes-256-ctr+hmac-sha256"
ITERATIONS = 600_000
MIN_ITERATIONS, MAX_ITERATIONS = 1_000, 10_000_000  # refuse files that would hang the browser
_FIELDS = {"scheme", "iterations", "salt", "iv", "ciphertext", "mac"}


class WrongPassphrase(InputError):
    """The MAC does not match: a wrong passphrase, or a damaged key file."""


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """PBKDF2-HMAC-SHA256 (RFC 8018); falls back to pure Python where hashlib lacks it."""
    native = getattr(hashlib, "pbkdf2_hmac", None)
    if native is not None:
        derived: bytes = native("sha256", password, salt, iterations, length)
        return derived
    return _pbkdf2_sha256_python(password, salt, iterations, length)


def _pbkdf2_sha256_python(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """RFC 8018 §5.2 with HMAC's inner and outer hash states computed once and copied."""
    key = hashlib.sha256(password).digest() if len(password) > 64 else password
    key = key.ljust(64, b"\0")
    inner, outer = hashlib.sha256(), hashlib.sha256()
    inner.update(bytes(b ^ 0x36 for b in key))
    outer.update(bytes(b ^ 0x5C for b in key))

    def prf(message: bytes) -> bytes:
        i, o = inner.copy(), outer.copy()
        i.update(message)
        o.update(i.digest())
        return o.digest()

    blocks = []
    for index in range(1, -(-length // 32) + 1):
        u = prf(salt + index.to_bytes(4, "big"))
        acc = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = prf(u)
            acc ^= int.from_bytes(u, "big")
        blocks.append(acc.to_bytes(32, "big"))
    return b"".join(blocks)[:length]


def _expand(master: bytes, info: bytes) -> bytes:
    """HKDF-Expand (RFC 5869) for one 32-byte block."""
    return hmac.new(master, info + b"\x01", hashlib.sha256).digest()


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    counter = pyaes.Counter(initial_value=int.from_bytes(iv, "big"))
    cipher = pyaes.AESModeOfOperationCTR(key, counter=counter)
    out: bytes = cipher.encrypt(data)
    return out


def _password(passphrase: str) -> bytes:
    text = unicodedata.normalize("NFC", passphrase)  # the same words typed on another IME
    if not text:
        raise InputError("口令不能为空")
    return text.encode("utf-8")


def _keys(passphrase: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    master = pbkdf2_sha256(_password(passphrase), salt, iterations)
    return _expand(master, b"jixiao key file v1 encryption"), _expand(master, b"jixiao key file v1 mac")


def _mac(mac_key: bytes, fields: dict[str, Any]) -> bytes:
    body = canonical_json({k: v for k, v in fields.items() if k != "mac"})
    return hmac.new(mac_key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encrypt_private_key(raw: bytes, passphrase: str, *, iterations: int | None = None) -> dict[str, Any]:
    """The private key as a JSON-ready dict; see the module docstring for the construction."""
    iterations = iterations or ITERATIONS
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    enc_key, mac_key = _keys(passphrase, salt, iterations)
    blob: dict[str, Any] = {"scheme": SCHEME, "iterations": iterations, "salt": _b64(salt),
                            "iv": _b64(iv), "ciphertext": _b64(_ctr(enc_key, iv, raw))}
    blob["mac"] = _b64(_mac(mac_key, blob))
    return blob


def _field(blob: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = blob.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError
        data = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise InputError(f"密钥文件已损坏：加密私钥的“{name}”不是 base64") from None
    if length is not None and len(data) != length:
        raise InputError(f"密钥文件已损坏：加密私钥的“{name}”长度不对")
    return data


def decrypt_private_key(blob: Any, passphrase: str) -> bytes:
    """The raw private key; raises `WrongPassphrase` when the MAC does not match."""
    if not isinstance(blob, dict) or set(blob) != _FIELDS:
        raise InputError("密钥文件已损坏：加密私钥的字段不完整")
    if blob["scheme"] != SCHEME:
        raise InputError(f"不支持的私钥加密方式“{str(blob['scheme'])[:40]}”")
    iterations = blob["iterations"]
    if not isinstance(iterations, int) or not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise InputError("密钥文件已损坏：口令派生的迭代次数不在允许范围内")
    salt, iv = _field(blob, "salt", 16), _field(blob, "iv", 16)
    ciphertext, mac = _field(blob, "ciphertext"), _field(blob, "mac", 32)
    enc_key, mac_key = _keys(passphrase, salt, iterations)
    if not hmac.compare_digest(_mac(mac_key, blob), mac):
        raise WrongPassphrase("口令不正确（或密钥文件已损坏），无法解开私钥；密钥文件未作任何改动")
    return _ctr(enc_key, iv, ciphertext)
