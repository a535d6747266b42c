"""Signature primitives behind one small interface: Ed25519 and SM2 with SM3 (国密).

Pure Python, so the browser (Pyodide has no OpenSSL and no wasm wheel of `cryptography`)
signs with the same code as the CLI: Ed25519 from `ecdsa`, SM2/SM3 from `gmalg`. On CPython
the `cryptography` package, when installed, is a faster path for Ed25519; Ed25519 is
deterministic, so both paths give the same bytes (a test holds them to it).

Raw encodings, which are what fingerprints hash and files carry:
- Ed25519: private = the 32-byte seed, public = 32 bytes (RFC 8032), signature = 64 bytes.
- SM2: private = d as 32 bytes big-endian, public = 65 bytes 04‖X‖Y (uncompressed),
  signature = r‖s, 32 bytes each; the digest is SM3(Z_A ‖ M) with the standard user id
  "1234567812345678" (GB/T 35276 default).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from ecdsa import Ed25519, SigningKey, VerifyingKey  # type: ignore[import-untyped]
from ecdsa.errors import MalformedPointError  # type: ignore[import-untyped]
from ecdsa.keys import BadSignatureError  # type: ignore[import-untyped]
from gmalg.sm2 import SM2Core, _ecdlp  # type: ignore[import-untyped]
from gmalg.sm3 import SM3  # type: ignore[import-untyped]

Alg = Literal["ed25519", "sm2"]
ALGORITHMS: tuple[Alg, ...] = ("ed25519", "sm2")
ALG_NAMES: dict[str, str] = {"ed25519": "Ed25519", "sm2": "SM2（国密，SM3 杂凑）"}
SM2_USER_ID = b"1234567812345678"

PRIVATE_LENGTH = {"ed25519": 32, "sm2": 32}
PUBLIC_LENGTH = {"ed25519": 32, "sm2": 65}
SIGNATURE_LENGTH = {"ed25519": 64, "sm2": 64}

_ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
_ED25519_P = 2**255 - 19
_ED25519_D = -121665 * pow(121666, -1, _ED25519_P) % _ED25519_P
_SM2_N: int = _ecdlp.fpn.p  # gmalg names the group order's field "fpn"
_SM2_P: int = _ecdlp.fp.p


def _fast_ed25519() -> Any | None:
    """The `cryptography` Ed25519 module when available and not switched off, else None."""
    if os.environ.get("JIXIAO_PURE_CRYPTO") == "1":
        return None
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # Pyodide, or a plain install without the optional package
        return None
    return ed25519


def check_alg(alg: str) -> Alg:
    if alg == "ed25519":
        return "ed25519"
    if alg == "sm2":
        return "sm2"
    raise ValueError(f"不支持的签名算法“{alg[:20]}”，可用：{'、'.join(ALGORITHMS)}")


# --- Ed25519 ---------------------------------------------------------------------------------

def ed25519_sign_pure(seed: bytes, message: bytes) -> bytes:
    return bytes(SigningKey.from_string(seed, curve=Ed25519).sign(message))


def ed25519_sign_fast(seed: bytes, message: bytes) -> bytes:
    fast = _fast_ed25519()
    if fast is None:
        raise RuntimeError("cryptography is not available")
    signature: bytes = fast.Ed25519PrivateKey.from_private_bytes(seed).sign(message)
    return signature


def ed25519_verify_pure(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        key = VerifyingKey.from_string(public, curve=Ed25519)
        return bool(key.verify(signature, message))
    except (BadSignatureError, MalformedPointError, ValueError, AssertionError):
        return False


@lru_cache(maxsize=4096)
def _fast_public(module: Any, public: bytes) -> Any:
    """The `cryptography` key object for these exact 32 bytes: loaded once per key, not per bundle."""
    return module.Ed25519PublicKey.from_public_bytes(public)


def ed25519_verify_fast(public: bytes, message: bytes, signature: bytes) -> bool:
    fast = _fast_ed25519()
    if fast is None:
        raise RuntimeError("cryptography is not available")
    from cryptography.exceptions import InvalidSignature

    try:
        _fast_public(fast, bytes(public)).verify(bytes(signature), bytes(message))
    except (InvalidSignature, ValueError):
        return False
    return True


def ed25519_point_ok(public: bytes) -> bool:
    """Whether `ecdsa` would decode these 32 bytes as an Ed25519 point, at under half its cost.

    `ecdsa` takes y from the low 255 bits (not reduced, the sign bit ignored) and accepts exactly
    when x² = (y² − 1) / (d·y² + 1) has a square root mod p (its inverse of 0 is 0); Euler's
    criterion answers that with one `pow` instead of its pure-Python Jacobi symbol and sqrt
    (measured 1.06 ms → 0.47 ms a key on the shared benchmark machine). A test holds both to
    the same answer."""
    p = _ED25519_P
    y = int.from_bytes(public, "little") & ((1 << 255) - 1)
    denominator = (_ED25519_D * y * y + 1) % p
    x2 = (y * y - 1) * (pow(denominator, -1, p) if denominator else 0) % p
    return x2 == 0 or pow(x2, (p - 1) // 2, p) == 1


def _ed25519_public(seed: bytes) -> bytes:
    return bytes(SigningKey.from_string(seed, curve=Ed25519).get_verifying_key().to_string())


# --- SM2 / SM3 ---------------------------------------------------------------------------------

def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905); Pyodide's hashlib has no sm3, so always gmalg's."""
    digest = SM3()
    digest.update(data)
    value: bytes = digest.value()
    return value


def _sm2_core(random_bits: Callable[[int], int] | None = None) -> Any:
    # A fresh core per call: gmalg keeps one mutable hash object inside it.
    return SM2Core(_ecdlp, SM3(), random_bits or secrets.randbits)


def _sm2_point(public: bytes) -> tuple[int, int]:
    """Decode and validate an uncompressed SM2 point; raises ValueError when it is not one."""
    if len(public) != 65 or public[0] != 0x04:
        raise ValueError("SM2 公钥应为 65 字节的非压缩点（04‖X‖Y）")
    x, y = int.from_bytes(public[1:33], "big"), int.from_bytes(public[33:], "big")
    if not (x < _SM2_P and y < _SM2_P and _ecdlp.ec.isvalid((x, y))):
        raise ValueError("SM2 公钥不在曲线上")
    return x, y


def _sm2_public(private: bytes) -> bytes:
    d = int.from_bytes(private, "big")
    if not 1 <= d <= _SM2_N - 2:
        raise ValueError("SM2 私钥超出取值范围")
    x, y = _sm2_core().generate_pk(d)
    return b"\x04" + int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def sm2_sign(private: bytes, message: bytes, *, user_id: bytes = SM2_USER_ID,
             random_bits: Callable[[int], int] | None = None) -> bytes:
    """SM2 signature r‖s; `random_bits` only for known-answer tests (k from the standard)."""
    core = _sm2_core(random_bits)
    d = int.from_bytes(private, "big")
    if not 1 <= d <= _SM2_N - 2:
        raise ValueError("SM2 私钥超出取值范围")
    r, s = core.sign(message, d, user_id, core.generate_pk(d))
    return int(r).to_bytes(32, "big") + int(s).to_bytes(32, "big")


def sm2_verify(public: bytes, message: bytes, signature: bytes, *,
               user_id: bytes = SM2_USER_ID) -> bool:
    try:
        point = _sm2_point(public)
    except ValueError:
        return False
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return bool(_sm2_core().verify(message, r, s, user_id, point))


# --- the interface the rest of the package uses ------------------------------------------------

def generate_private(alg: Alg) -> bytes:
    """A new private key from the OS's randomness (crypto.getRandomValues in the browser)."""
    if alg == "ed25519":
        return secrets.token_bytes(32)
    while True:
        private = secrets.token_bytes(32)
        if 1 <= int.from_bytes(private, "big") <= _SM2_N - 2:
            return private


def public_from_private(alg: Alg, private: bytes) -> bytes:
    if len(private) != PRIVATE_LENGTH[alg]:
        raise ValueError(f"{ALG_NAMES[alg]} 私钥应为 {PRIVATE_LENGTH[alg]} 字节")
    return _ed25519_public(private) if alg == "ed25519" else _sm2_public(private)


def check_public(alg: Alg, public: bytes) -> None:
    """Raise ValueError (in Chinese) when `public` is not a usable key of this algorithm."""
    if len(public) != PUBLIC_LENGTH[alg]:
        raise ValueError(f"{ALG_NAMES[alg]} 公钥应为 {PUBLIC_LENGTH[alg]} 字节，实为 {len(public)} 字节")
    if alg == "sm2":
        _sm2_point(public)
        return
    if not ed25519_point_ok(public):
        raise ValueError("Ed25519 公钥无效（不是曲线上的点）")


def sign(alg: Alg, private: bytes, message: bytes) -> bytes:
    if alg == "sm2":
        return sm2_sign(private, message)
    if _fast_ed25519() is not None:
        return ed25519_sign_fast(private, message)
    return ed25519_sign_pure(private, message)


def verify(alg: Alg, public: bytes, message: bytes, signature: bytes) -> bool:
    """True only for a valid signature; any malformed input is simply not valid."""
    if len(signature) != SIGNATURE_LENGTH[alg]:
        return False
    if alg == "sm2":
        return sm2_verify(public, message, signature)
    if len(public) != 32 or int.from_bytes(signature[32:], "little") >= _ED25519_ORDER:
        return False  # RFC 8032 §5.1.7: S must be below the group order (no malleability)
    if _fast_ed25519() is not None:
        return ed25519_verify_fast(public, message, signature)
    return ed25519_verify_pure(public, message, signature)
