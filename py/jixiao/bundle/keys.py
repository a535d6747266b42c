"""Signing keys, their fingerprints and the key file a unit keeps.

A fingerprint is the SHA-256 of the raw public key, printed in groups of four hex digits:
it is what a unit stamps on its 公钥登记表 and what a supervisor compares by eye.

The key file is JSON (format "jixiao-key", version 1): the algorithm, the public key (base64)
and its fingerprint, optional labels (unit code and name), and the private key either plain
(base64; the file is created with mode 0600) or encrypted under a passphrase (see
`passphrase.py`). Reading checks that the private key still yields the stored public key,
so a public key swapped in the file cannot mislead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..io.errors import InputError
from . import crypto
from .crypto import ALG_NAMES, Alg, check_alg
from .passphrase import decrypt_private_key, encrypt_private_key

KEY_FORMAT = "jixiao-key"
QR_PREFIX = "JIXIAO-KEY:1"


class KeyFileError(InputError):
    """A key file or public key text that cannot be used, with a one-line Chinese reason."""


def group_hex(hex_digits: str) -> str:
    """'a1b2c3d4…' → 'a1b2 c3d4 …', the way a person reads a fingerprint aloud."""
    return " ".join(hex_digits[i:i + 4] for i in range(0, len(hex_digits), 4))


def parse_fingerprint(text: str) -> str:
    """A fingerprint typed by a person (spaces, colons, upper case) as 64 lowercase hex digits."""
    digits = re.sub(r"[\s:：-]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise KeyFileError("公钥指纹应为 64 位十六进制数字（可按四位一组书写）")
    return digits


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError(f"{what}应为 base64 文本")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise KeyFileError(f"{what}不是有效的 base64") from None


@dataclass(frozen=True)
class PublicKey:
    alg: Alg
    raw: bytes

    def __post_init__(self) -> None:
        try:
            crypto.check_public(self.alg, self.raw)
        except ValueError as exc:
            raise KeyFileError(str(exc)) from None

    @classmethod
    def from_verified(cls, alg: Alg, raw: bytes) -> PublicKey:
        """The key of a signature that has just verified. Verifying decoded the point (OpenSSL and
        `ecdsa` both refuse a point off the curve, and SM2 checks it with `_sm2_point`), so it is not
        decoded again: with a roster that second decoding was the dearest step of a bundle's check."""
        key = object.__new__(cls)
        object.__setattr__(key, "alg", alg)
        object.__setattr__(key, "raw", bytes(raw))
        return key

    @property
    def fingerprint_hex(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def fingerprint(self) -> str:
        return group_hex(self.fingerprint_hex)

    @property
    def alg_name(self) -> str:
        return ALG_NAMES[self.alg]

    def verify(self, message: bytes, signature: bytes) -> bool:
        return crypto.verify(self.alg, self.raw, message, signature)

    def text(self) -> str:
        """'ed25519:BASE64', the short form a supervisor can paste into the roster."""
        return f"{self.alg}:{b64(self.raw)}"

    def qr_text(self, unit_code: str = "") -> str:
        """What the QR code on the 公钥登记表 holds; `public_key_from_text` reads it back."""
        return f"{QR_PREFIX};alg={self.alg};unit={unit_code};fp={self.fingerprint_hex};pk={b64(self.raw)}"


@dataclass(frozen=True)
class PrivateKey:
    alg: Alg
    raw: bytes = field(repr=False)
    public: PublicKey = field(init=False)

    def __post_init__(self) -> None:
        try:
            public = crypto.public_from_private(self.alg, self.raw)
        except ValueError as exc:
            raise KeyFileError(str(exc)) from None
        object.__setattr__(self, "public", PublicKey(self.alg, public))

    @classmethod
    def generate(cls, alg: str = "ed25519") -> PrivateKey:
        checked = _alg(alg)
        return cls(checked, crypto.generate_private(checked))

    def sign(self, message: bytes) -> bytes:
        return crypto.sign(self.alg, self.raw, message)


def _alg(alg: Any) -> Alg:
    try:
        return check_alg(str(alg))
    except ValueError as exc:
        raise KeyFileError(str(exc)) from None


def _qr_fields(text: str) -> dict[str, str] | None:
    """The fields of a 公钥登记表's QR text ('JIXIAO-KEY:1;alg=…;unit=…;fp=…;pk=…'), None for other text."""
    text = text.strip()
    if not text.startswith(QR_PREFIX + ";"):
        return None
    return dict(part.partition("=")[::2] for part in text.split(";")[1:])


def qr_unit(text: str) -> str:
    """The unit code the QR text of a 公钥登记表 names ('' for any other public key text)."""
    return (_qr_fields(text) or {}).get("unit", "").strip()


def public_key_from_text(text: str) -> PublicKey:
    """Read 'ed25519:BASE64', 'sm2:BASE64' or the QR text of a 公钥登记表."""
    text = text.strip()
    fields = _qr_fields(text)
    if fields is not None:
        key = PublicKey(_alg(fields.get("alg", "")), unb64(fields.get("pk", ""), "二维码中的公钥"))
        if fields.get("fp") and parse_fingerprint(fields["fp"]) != key.fingerprint_hex:
            raise KeyFileError("二维码中的公钥与其指纹不符")
        return key
    alg, sep, body = text.partition(":")
    if not sep:
        raise KeyFileError("公钥应写作“算法:base64”，如 ed25519:AbC…，或粘贴登记表二维码的内容")
    return PublicKey(_alg(alg.strip().lower()), unb64(body, "公钥"))


# --- the key file -------------------------------------------------------------------------------

def key_file_json(key: PrivateKey, passphrase: str | None = None, *, unit_code: str = "",
                  unit_name: str = "", created_at: str = "", iterations: int | None = None) -> str:
    """The key file's text; the private key encrypted when a passphrase is given."""
    if passphrase is None:
        private: dict[str, Any] = {"encoding": "plain", "key": b64(key.raw)}
    else:
        private = {"encoding": "encrypted", **encrypt_private_key(key.raw, passphrase, iterations=iterations)}
    doc = {"format": KEY_FORMAT, "version": 1, "alg": key.alg, "public_key": b64(key.public.raw),
           "fingerprint": key.public.fingerprint, "unit_code": unit_code, "unit_name": unit_name,
           "created_at": created_at, "private_key": private}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _doc(data: bytes | str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise KeyFileError("不是密钥文件：内容不是 JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FORMAT:
        raise KeyFileError("不是 jixiao 密钥文件（缺少 format: jixiao-key）")
    if doc.get("version") != 1:
        raise KeyFileError(f"不支持的密钥文件版本：{str(doc.get('version'))[:10]}")
    return doc


def read_public_key_file(data: bytes | str) -> PublicKey:
    """The public half of a key file; needs no passphrase."""
    doc = _doc(data)
    return PublicKey(_alg(doc.get("alg")), unb64(doc.get("public_key"), "密钥文件中的公钥"))


def key_file_labels(data: bytes | str) -> dict[str, str]:
    doc = _doc(data)
    return {k: str(doc.get(k) or "") for k in ("unit_code", "unit_name", "created_at")}


def key_file_is_encrypted(data: bytes | str) -> bool:
    private = _doc(data).get("private_key")
    return isinstance(private, dict) and private.get("encoding") == "encrypted"


def read_key_file(data: bytes | str, passphrase: str | None = None) -> PrivateKey:
    """The private key; an encrypted one needs the passphrase (`WrongPassphrase` if wrong)."""
    doc = _doc(data)
    public = read_public_key_file(data)
    private = doc.get("private_key")
    if not isinstance(private, dict):
        raise KeyFileError("密钥文件中没有私钥")
    encoding = private.get("encoding")
    if encoding == "plain":
        raw = unb64(private.get("key"), "密钥文件中的私钥")
    elif encoding == "encrypted":
        if passphrase is None:
            raise KeyFileError("私钥已用口令加密：请提供口令（--passphrase-env 变量名）")
        raw = decrypt_private_key({k: v for k, v in private.items() if k != "encoding"}, passphrase)
    else:
        raise KeyFileError(f"不认识的私钥存储方式“{str(encoding)[:20]}”")
    key = PrivateKey(public.alg, raw)
    if key.public != public:
        raise KeyFileError("密钥文件中的公钥与私钥不匹配（文件可能被改动过）")
    return key
