"""The door the browser worker calls for signed bundles, keys and the 核验 page.

The worker's generic `call` message runs `jixiao.browser_bundle.<func>(*args)`; bytes travel as
`Uint8Array` both ways, everything else as plain JSON-like values. The functions here only
adapt: the real work is `jixiao.bundle` (the same code as the CLI), so a bundle made in the
browser verifies with `jixiao verify` and the other way round.

Two requirements have no pure-Python wheel on PyPI and are therefore not shipped to the
browser: MarkupSafe (jinja2's escaping; its wheels are all compiled) and pyaes (sdist only).
`install_stand_ins()` puts small pure-Python stand-ins in their place when, and only when,
the real package cannot be imported: `Markup`/`escape` with MarkupSafe's exact output, and
AES-CTR checked against pyaes in the tests. On CPython the real packages are always used.

Signing with WebCrypto happens in the page: `prepare` returns the DSSE pre-authentication
bytes, the page signs them with its non-extractable key, and `finish` checks the signature and
builds the zip. Without WebCrypto Ed25519, `bundle_with_key_file` signs with the passphrase-
encrypted key file (the CLI's format, so the same file works with `jixiao bundle`).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import string
import sys
import types
from typing import Any

# --- stand-ins for MarkupSafe and pyaes (browser only) --------------------------------------------

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def _markupsafe_module() -> types.ModuleType:
    """MarkupSafe's public API, pure Python, with the same escaping (`&#39;`, `&#34;`)."""

    class Markup(str):
        __slots__ = ()

        def __new__(cls, obj: Any = "", encoding: str | None = None, errors: str = "strict") -> Markup:
            if hasattr(obj, "__html__"):
                obj = obj.__html__()
            if encoding is None:
                return super().__new__(cls, obj)
            return super().__new__(cls, obj, encoding, errors)

        def __html__(self) -> Markup:
            return self

        def __add__(self, other: Any) -> Markup:
            if isinstance(other, str) or hasattr(other, "__html__"):
                return self.__class__(super().__add__(self.escape(other)))
            return NotImplemented

        def __radd__(self, other: Any) -> Markup:
            if isinstance(other, str) or hasattr(other, "__html__"):
                return self.escape(other).__add__(self)
            return NotImplemented

        def __mul__(self, num: Any) -> Markup:
            if isinstance(num, int):
                return self.__class__(super().__mul__(num))
            return NotImplemented

        __rmul__ = __mul__

        def __mod__(self, value: Any) -> Markup:
            if isinstance(value, tuple):
                value = tuple(_escape_arg(x) for x in value)
            elif hasattr(type(value), "__getitem__") and not isinstance(value, str):
                value = {k: _escape_arg(v) for k, v in value.items()} if isinstance(value, dict) else _escape_arg(value)
            else:
                value = (_escape_arg(value),)
            return self.__class__(super().__mod__(value))

        def __repr__(self) -> str:
            return f"{self.__class__.__name__}({super().__repr__()})"

        def join(self, seq: Any) -> Markup:
            return self.__class__(super().join(map(self.escape, seq)))

        def format(self, *args: Any, **kwargs: Any) -> Markup:
            formatter = EscapeFormatter(self.escape)
            return self.__class__(formatter.vformat(self, args, kwargs))

        def __html_format__(self, format_spec: str) -> Markup:
            if format_spec:
                raise ValueError("Unsupported format specification for Markup.")
            return self

        def striptags(self) -> str:
            import re

            text = re.sub(r"<!--.*?-->|<[^>]*>", "", str(self), flags=re.S)
            return self.__class__(" ".join(text.split())).unescape()

        def unescape(self) -> str:
            import html

            return html.unescape(str(self))

        @classmethod
        def escape(cls, s: Any) -> Markup:
            rv = escape(s)
            if rv.__class__ is not cls:
                return cls(rv)
            return rv

    class EscapeFormatter(string.Formatter):
        __slots__ = ("escape",)

        def __init__(self, escape: Any) -> None:
            self.escape = escape
            super().__init__()

        def format_field(self, value: Any, format_spec: str) -> str:
            if hasattr(value, "__html_format__"):
                rv = value.__html_format__(format_spec)
            elif hasattr(value, "__html__"):
                if format_spec:
                    raise ValueError(f"Format specifier {format_spec} given, but {type(value)} does not"
                                     " define __html__. A class that defines __html__ must define"
                                     " __html_format__ to work with format specifiers.")
                rv = value.__html__()
            else:
                rv = string.Formatter.format_field(self, value, str(format_spec))
            return str(self.escape(rv))

    def _escape_arg(value: Any) -> Any:
        if hasattr(value, "__html__") or isinstance(value, str):
            return escape(value)
        return value

    def escape(s: Any) -> Markup:
        if type(s) is str:
            return Markup(s.translate(_ESCAPE_TABLE))
        if hasattr(s, "__html__"):
            return Markup(s.__html__())
        return Markup(str(s).translate(_ESCAPE_TABLE))

    def escape_silent(s: Any) -> Markup:
        return Markup() if s is None else escape(s)

    def soft_str(s: Any) -> str:
        return s if isinstance(s, str) else str(s)

    module = types.ModuleType("markupsafe", "Pure-Python stand-in for MarkupSafe (jixiao.browser_bundle)")
    module.Markup = Markup  # type: ignore[attr-defined]
    module.EscapeFormatter = EscapeFormatter  # type: ignore[attr-defined]
    module.escape = escape  # type: ignore[attr-defined]
    module.escape_silent = escape_silent  # type: ignore[attr-defined]
    module.soft_str = soft_str  # type: ignore[attr-defined]
    module.__version__ = "3.0.3+jixiao-stand-in"  # type: ignore[attr-defined]
    Markup.__module__ = EscapeFormatter.__module__ = "markupsafe"
    return module


def _aes_tables() -> tuple[list[int], list[int]]:
    """The AES S-box (FIPS 197) and round constants, computed rather than typed in."""
    sbox = [0] * 256
    p = q = 1
    while True:  # p walks GF(2^8) by 3, q by its inverse 1/3
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1 | q >> 7) & 0xFF) ^ ((q << 2 | q >> 6) & 0xFF) ^ ((q << 3 | q >> 5) & 0xFF) \
            ^ ((q << 4 | q >> 4) & 0xFF)
        sbox[p] = x ^ 0x63
        if p == 1:
            break
    sbox[0] = 0x63
    rcon, r = [], 1
    for _ in range(10):
        rcon.append(r)
        r = ((r << 1) ^ (0x1B if r & 0x80 else 0)) & 0xFF
    return sbox, rcon


def _pyaes_module() -> types.ModuleType:
    """What `jixiao.bundle.passphrase` uses of pyaes: `Counter` and `AESModeOfOperationCTR`."""
    sbox, rcon = _aes_tables()

    def xtime(a: int) -> int:
        return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1

    def expand(key: bytes) -> list[list[int]]:
        nk = len(key) // 4
        if len(key) not in (16, 24, 32):
            raise ValueError("Invalid key size")
        rounds = nk + 6
        words = [list(key[4 * i:4 * i + 4]) for i in range(nk)]
        for i in range(nk, 4 * (rounds + 1)):
            t = list(words[i - 1])
            if i % nk == 0:
                t = [sbox[b] for b in t[1:] + t[:1]]
                t[0] ^= rcon[i // nk - 1]
            elif nk > 6 and i % nk == 4:
                t = [sbox[b] for b in t]
            words.append([a ^ b for a, b in zip(words[i - nk], t, strict=True)])
        return [[b for word in words[4 * r:4 * r + 4] for b in word] for r in range(rounds + 1)]

    def encrypt_block(round_keys: list[list[int]], block: bytes) -> bytes:
        s = [b ^ k for b, k in zip(block, round_keys[0], strict=True)]
        last = len(round_keys) - 1
        for rnd in range(1, last + 1):
            s = [sbox[b] for b in s]
            s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major state)
            if rnd != last:
                mixed = []
                for c in range(4):
                    a = s[4 * c:4 * c + 4]
                    t = a[0] ^ a[1] ^ a[2] ^ a[3]
                    mixed += [a[i] ^ t ^ xtime(a[i] ^ a[(i + 1) % 4]) for i in range(4)]
                s = mixed
            s = [b ^ k for b, k in zip(s, round_keys[rnd], strict=True)]
        return bytes(s)

    class Counter:
        def __init__(self, initial_value: int = 1) -> None:
            self.value = initial_value % (1 << 128)

        def increment(self) -> None:
            self.value = (self.value + 1) % (1 << 128)

    class AESModeOfOperationCTR:
        name = "Counter (CTR)"

        def __init__(self, key: bytes, counter: Counter | None = None) -> None:
            self._keys = expand(bytes(key))
            self._counter = counter or Counter()
            self._stream = b""

        def encrypt(self, data: bytes) -> bytes:
            while len(self._stream) < len(data):
                self._stream += encrypt_block(self._keys, self._counter.value.to_bytes(16, "big"))
                self._counter.increment()
            out = bytes(a ^ b for a, b in zip(data, self._stream, strict=False))
            self._stream = self._stream[len(data):]
            return out

        decrypt = encrypt

    module = types.ModuleType("pyaes", "Pure-Python stand-in for pyaes's AES-CTR (jixiao.browser_bundle)")
    module.Counter = Counter  # type: ignore[attr-defined]
    module.AESModeOfOperationCTR = AESModeOfOperationCTR  # type: ignore[attr-defined]
    module.encrypt_block = encrypt_block  # type: ignore[attr-defined]
    module.expand_key = expand  # type: ignore[attr-defined]
    return module


def install_stand_ins(*, force: bool = False) -> list[str]:
    """Put the stand-ins in `sys.modules` where the real package is missing; returns their names."""
    installed = []
    for name, make in (("markupsafe", _markupsafe_module), ("pyaes", _pyaes_module)):
        if name in sys.modules and not force:
            continue
        if force or importlib.util.find_spec(name) is None:
            sys.modules[name] = make()
            installed.append(name)
    return installed


install_stand_ins()

# --- the functions the page calls ---------------------------------------------------------------

from .browser import validate_leniently  # noqa: E402
from .bundle import archive as _archive  # noqa: E402  (after the stand-ins on purpose)
from .bundle.envelope import SUBMISSION_TYPE, make_signature, signature_from_parts  # noqa: E402
from .bundle.keys import (  # noqa: E402
    PrivateKey,
    PublicKey,
    key_file_is_encrypted,
    key_file_json,
    key_file_labels,
    read_key_file,
    read_public_key_file,
)
from .bundle.verify import verify_file  # noqa: E402
from .catalog import UnknownName, load_framework  # noqa: E402
from .io.errors import InputError  # noqa: E402

_prepared: dict[int, _archive.Prepared] = {}
_tokens = itertools.count(1)


def _submission(submission_json: str, default_framework: str) -> tuple[Any, Any, int]:
    doc = json.loads(submission_json)
    if not isinstance(doc, dict):
        raise InputError("应为 JSON 对象（一个单位的自评表）")
    if not isinstance(doc.get("framework_id"), str) or not doc["framework_id"].strip():
        doc = {**doc, "framework_id": default_framework}
    sub, problems = validate_leniently(doc)
    try:
        framework = load_framework(sub.framework_id)
    except UnknownName:
        raise InputError(f"不认识的指标体系“{sub.framework_id}”，无法导出签名材料") from None
    return sub, framework, len(problems)


def _result(name: str, data: bytes, prepared: _archive.Prepared, public: PublicKey) -> dict[str, Any]:
    ev = prepared.evaluation
    return {"name": name, "data": data, "fingerprint": public.fingerprint, "alg": public.alg,
            "total": str(ev.total) if getattr(ev, "total", None) is not None else "",
            "grade": str(getattr(ev, "grade", "") or ""), "signed_at": prepared.signed_at}


def prepare(submission_json: str, framework_id: str, signed_at: str) -> dict[str, Any]:
    """Step 1 of a WebCrypto export: the bytes the page signs, and a token for `finish`."""
    sub, framework, dropped = _submission(submission_json, framework_id)
    prepared = _archive.prepare_bundle(sub, framework, signed_at)
    token = next(_tokens)
    _prepared.clear()  # one export at a time; an abandoned one is forgotten
    _prepared[token] = prepared
    return {"token": token, "signing_input": prepared.signing_input, "dropped": dropped,
            "stem": _archive.bundle_stem(prepared.submission)}


def finish(token: int, public_key: bytes, signature: bytes) -> dict[str, Any]:
    """Step 2: check the page's Ed25519 signature and build the zip."""
    prepared = _prepared.pop(int(token), None)
    if prepared is None:
        raise InputError("待签名的内容已过期，请重新点击“导出签名材料”")
    public = PublicKey("ed25519", bytes(public_key))
    sig = signature_from_parts("ed25519", public.raw, bytes(signature))
    name, data = _archive.finish_bundle(prepared, [sig])
    return _result(name, data, prepared, public)


def bundle_with_key_file(submission_json: str, framework_id: str, signed_at: str, key_file: str,
                         passphrase: str | None) -> dict[str, Any]:
    """The pure-Python path: unlock the key file (PBKDF2, slow in the browser), sign, build."""
    key = read_key_file(key_file, passphrase or None)
    sub, framework, _ = _submission(submission_json, framework_id)
    prepared = _archive.prepare_bundle(sub, framework, signed_at)
    signature = make_signature(key, SUBMISSION_TYPE, prepared.payload)
    name, data = _archive.finish_bundle(prepared, [signature])
    return _result(name, data, prepared, key.public)


def new_key_file(passphrase: str, unit_code: str = "", unit_name: str = "", created_at: str = "",
                 alg: str = "ed25519") -> dict[str, Any]:
    """A fresh key, its private half encrypted under `passphrase` (the CLI's key-file JSON)."""
    if not passphrase:
        raise InputError("请设置口令：私钥将用口令加密后保存在本浏览器中")
    key = PrivateKey.generate(alg)
    text = key_file_json(key, passphrase, unit_code=unit_code, unit_name=unit_name, created_at=created_at)
    return {"key_file": text, **key_file_info(text)}


def key_file_info(text: str) -> dict[str, Any]:
    """What the page shows of a key file without its passphrase."""
    public = read_public_key_file(text)
    return {"fingerprint": public.fingerprint, "alg": public.alg, "alg_name": public.alg_name,
            "public_key": public.raw, "public_text": public.text(),
            "encrypted": key_file_is_encrypted(text), **key_file_labels(text)}


def check_key_file(text: str, passphrase: str | None) -> dict[str, Any]:
    """Unlock once (wrong passphrase → `WrongPassphrase`); the file itself is never changed."""
    key = read_key_file(text, passphrase or None)
    return {"fingerprint": key.public.fingerprint}


def protect_key_file(text: str, passphrase: str | None, new_passphrase: str) -> dict[str, Any]:
    """An imported key file re-encrypted under the passphrase this browser will ask for."""
    key = read_key_file(text, passphrase or None)
    labels = key_file_labels(text)
    out = key_file_json(key, new_passphrase, unit_code=labels["unit_code"], unit_name=labels["unit_name"],
                        created_at=labels["created_at"])
    return {"key_file": out, **key_file_info(out)}


def fingerprint(public_key: bytes) -> str:
    return PublicKey("ed25519", bytes(public_key)).fingerprint


def key_sheet(public_key: bytes, unit_name: str, unit_code: str, created_at: str = "",
              alg: str = "ed25519") -> str:
    """The printable 公钥登记表 (standalone HTML)."""
    from .render.report_html import render_key_sheet

    return render_key_sheet(PublicKey(alg, bytes(public_key)), unit_name, unit_code, created_at=created_at)  # type: ignore[arg-type]


def verify_files(files: list[Any], roster: bytes | None = None) -> dict[str, Any]:
    """Verdicts for [[name, bytes], …]; a roster that cannot be read is named, not raised."""
    from .bundle.roster import load_roster

    loaded, roster_problem = None, None
    if roster:
        try:
            loaded = load_roster(bytes(roster))
            roster_problem = loaded.problem
        except InputError as exc:
            roster_problem = str(exc)
    verdicts = []
    for name, data in files:
        verdict = verify_file(str(name), bytes(data), loaded)
        verdicts.append(verdict.to_json())
    return {"verdicts": verdicts, "roster": loaded is not None, "roster_problem": roster_problem}


def warm() -> bool:
    """Import what an export needs (openpyxl, jinja2, the renderers) ahead of the first click."""
    import openpyxl  # type: ignore[import-untyped]  # noqa: F401

    from .render import report_html, xlsx  # noqa: F401

    report_html.bundle_environment().get_template(report_html.TEMPLATE)
    return True
