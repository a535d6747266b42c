"""`jixiao.browser_bundle`, the worker's door for bundles, on CPython; and its stand-ins.

The browser has no MarkupSafe and no pyaes (neither has a pure wheel on PyPI), so the module
supplies pure-Python stand-ins there. They must give byte-identical output: the verifier
rebuilds the bundle's HTML and compares, and a key file encrypted in the browser must open
with the CLI. A subprocess hides the real packages and renders the same things.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import pyaes  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bundle_helpers import SIGNED_AT
from jixiao import browser_bundle as bb
from jixiao.bundle import read_key_file, verify_file
from jixiao.bundle.passphrase import WrongPassphrase
from jixiao.catalog import example_json

SEED = example_json("jinxian-2021")

HIDDEN = """
import base64, hashlib, importlib.util, io, json, sys, zipfile
hidden = {"markupsafe", "pyaes"}
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ImportError(name)
sys.meta_path.insert(0, Hide())
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name in hidden else real_find_spec(name, *a)
from jixiao import browser_bundle as bb
import markupsafe, pyaes
assert markupsafe.__version__.endswith("stand-in"), markupsafe.__version__
from jixiao.bundle import PrivateKey, build_bundle, key_file_json
from jixiao import load_example, load_framework
sub = load_example("jinxian-2021")
key = PrivateKey("ed25519", bytes(range(32)))
name, data = build_bundle(sub, load_framework(sub.framework_id), key, sys.argv[1])
html = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".html")][0]
print(hashlib.sha256(zipfile.ZipFile(io.BytesIO(data)).read(html)).hexdigest())
print(hashlib.sha256(bb.key_sheet(key.public.raw, "某<单位>&'\\"", "A1", "2022-03-01").encode()).hexdigest())
print(json.dumps(key_file_json(key, "口令 pw", iterations=1000)))
"""


def test_stand_ins_give_identical_output() -> None:
    proc = subprocess.run([sys.executable, "-c", HIDDEN, SIGNED_AT], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    html_digest, sheet_digest, key_file = proc.stdout.splitlines()
    from jixiao import load_example, load_framework
    from jixiao.bundle import PrivateKey, build_bundle

    sub = load_example("jinxian-2021")
    key = PrivateKey("ed25519", bytes(range(32)))
    _, data = build_bundle(sub, load_framework(sub.framework_id), key, SIGNED_AT)
    zf = zipfile.ZipFile(io.BytesIO(data))
    html = next(n for n in zf.namelist() if n.endswith(".html"))
    assert html_digest == hashlib.sha256(zf.read(html)).hexdigest()
    sheet = bb.key_sheet(key.public.raw, "某<单位>&'\"", "A1", "2022-03-01")
    assert sheet_digest == hashlib.sha256(sheet.encode()).hexdigest()
    assert read_key_file(json.loads(key_file), "口令 pw") == key  # encrypted by the stand-in AES


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_ctr_stand_in_matches_pyaes(size: int) -> None:
    stand_in = bb._pyaes_module()
    for length in (0, 1, 15, 16, 17, 100):
        key, iv, data = os.urandom(size), int.from_bytes(os.urandom(16), "big"), os.urandom(length)
        real = pyaes.AESModeOfOperationCTR(key, counter=pyaes.Counter(initial_value=iv)).encrypt(data)
        ours = stand_in.AESModeOfOperationCTR(key, counter=stand_in.Counter(initial_value=iv)).encrypt(data)
        assert ours == real
    # The counter wraps at 2**128 like pyaes's.
    top = (1 << 128) - 1
    key = os.urandom(size)
    assert stand_in.AESModeOfOperationCTR(key, counter=stand_in.Counter(initial_value=top)).encrypt(bytes(40)) == \
        pyaes.AESModeOfOperationCTR(key, counter=pyaes.Counter(initial_value=top)).encrypt(bytes(40))


def test_aes_fips197_vector() -> None:
    aes = bb._pyaes_module()
    block = aes.encrypt_block(aes.expand_key(bytes(range(32))), bytes.fromhex("00112233445566778899aabbccddeeff"))
    assert block.hex() == "8ea2b7ca516745bfeafc49904b496089"  # FIPS 197, appendix C.3


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
    assert base64.b64encode(data)  # bytes came back untouched
