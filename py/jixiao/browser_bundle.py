"""The door the browser worker calls for signed bundles, keys and the 核验 page.

The worker's generic `call` message runs `jixiao.browser_bundle.<func>(*args)`; bytes travel as
`Uint8Array` both ways, everything else as plain JSON-like values. The functions here only
adapt: the real work is `jixiao.bundle` (the same code as the CLI), so a bundle made in the
browser verifies with `jixiao verify` and the other way round.

MarkupSafe (jinja2's escaping) and pyaes (the key file's AES-CTR) are the real packages here
too: the site build makes pure py3 wheels of them from sdists pinned in
build/artefacts.lock.json (MarkupSafe without its optional C speedups).

Signing with WebCrypto happens in the page: `prepare` returns the DSSE pre-authentication
bytes, the page signs them with its non-extractable key, and `finish` checks the signature and
builds the zip. Without WebCrypto Ed25519, `bundle_with_key_file` signs with the passphrase-
encrypted key file (the CLI's format, so the same file works with `jixiao bundle`).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from .browser import validate_leniently
from .bundle import archive as _archive
from .bundle.envelope import SUBMISSION_TYPE, make_signature, signature_from_parts
from .bundle.keys import (
    PrivateKey,
    PublicKey,
    key_file_is_encrypted,
    key_file_json,
    key_file_labels,
    read_key_file,
    read_public_key_file,
)
from .bundle.verify import verify_file
from .catalog import UnknownName, load_framework
from .io.errors import InputError

_prepared: dict[int, _archive.Prepared] = {}
_tokens = itertools.count(1)


def _submission(submission_json: str, default_framework: str) -> tuple[Any, Any]:
    doc = json.loads(submission_json)
    if not isinstance(doc, dict):
        raise InputError("应为 JSON 对象（一个单位的自评表）")
    if not isinstance(doc.get("framework_id"), str) or not doc["framework_id"].strip():
        doc = {**doc, "framework_id": default_framework}
    sub, problems = validate_leniently(doc)
    if problems:  # signed, they would read as blank, not as typed: `jixiao bundle` refuses them too
        more = f"等 {len(problems)} 处" if len(problems) > 3 else ""
        raise InputError(f"无法导出签名材料：{'；'.join(p.message for p in problems[:3])}{more}。请先改正这些填写内容")
    try:
        framework = load_framework(sub.framework_id)
    except UnknownName:
        raise InputError(f"不认识的指标体系“{sub.framework_id}”，无法导出签名材料") from None
    return sub, framework


def _result(name: str, data: bytes, prepared: _archive.Prepared, public: PublicKey) -> dict[str, Any]:
    ev = prepared.evaluation
    return {"name": name, "data": data, "fingerprint": public.fingerprint, "alg": public.alg,
            "total": str(ev.total) if getattr(ev, "total", None) is not None else "",
            "grade": str(getattr(ev, "grade", "") or ""), "signed_at": prepared.signed_at}


def prepare(submission_json: str, framework_id: str, signed_at: str) -> dict[str, Any]:
    """Step 1 of a WebCrypto export: the bytes the page signs, and a token for `finish`."""
    sub, framework = _submission(submission_json, framework_id)
    prepared = _archive.prepare_bundle(sub, framework, signed_at)
    token = next(_tokens)
    _prepared.clear()  # one export at a time; an abandoned one is forgotten
    _prepared[token] = prepared
    return {"token": token, "signing_input": prepared.signing_input,
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
    sub, framework = _submission(submission_json, framework_id)
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
        if roster and loaded is None:  # QA: checked as if no roster was chosen, every bundle passed
            verdict.checks = [c for c in verdict.checks if c.code != "ROSTER"]
            verdict.add("ROSTER", "fail", f"所选的公钥名册无法读取（{roster_problem}）：未能对照名册核对，"
                                          "请重新选择主管部门签发的名册文件")
        verdicts.append(verdict.to_json())
    return {"verdicts": verdicts, "roster": loaded is not None, "roster_problem": roster_problem}
