"""Signing and verification inside real Pyodide (CPython 3.14, wasm) agree with CPython.

Why: the browser builds the bundle with this same Python, without OpenSSL, `hashlib.pbkdf2_hmac`
or `cryptography`. The same key and time must give the same envelope bytes there (Ed25519 is
deterministic and the payload canonical), a browser-made bundle must verify with the CLI, and
a CLI-made one in the browser. The wheels are those the site ships: pinned in
build/artefacts.lock.json, and pyaes and MarkupSafe built from their pinned sdists into pure py3
wheels by build/runtime.py, so the real packages run here, not stand-ins.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from bundle_helpers import SIGNED_AT, seed_bundle, unit_key
from jixiao import load_example, load_framework
from jixiao.bundle import verify_file
from jixiao.bundle.archive import prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
from pyodide_harness import lock_sdist_wheels, lock_wheels, project_wheel, run_in_pyodide

pytestmark = pytest.mark.pyodide

SCRIPT = """\
import base64, hashlib, sys
from jixiao import load_example, load_framework
from jixiao.bundle import PrivateKey, build_bundle, verify_file
from jixiao.bundle.archive import prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
sub = load_example("jinxian-2021")
fw = load_framework(sub.framework_id)
key = PrivateKey("ed25519", bytes(range(32)))
prepared = prepare_bundle(sub, fw, "{signed_at}")
envelope = sign_payload(SUBMISSION_TYPE, prepared.payload, [key]).to_json()
print(hashlib.sha256(envelope.encode()).hexdigest())
theirs = verify_file("cli.zip", base64.b64decode("{cli_bundle}"))
print(theirs.ok, [c.code for c in theirs.checks])
name, data = build_bundle(sub, fw, key, "{signed_at}")
print(name)
print(base64.b64encode(data).decode())
print(sys.platform)
import markupsafe, pyaes
from importlib.metadata import version
from jixiao.bundle import key_file_json, read_key_file
print(version("markupsafe"), version("pyaes"), *("site-packages" in m.__file__ for m in (markupsafe, pyaes)))
print(read_key_file(key_file_json(key, "口令 pw", iterations=1000), "口令 pw") == key)
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    built = lock_sdist_wheels(tmp_path_factory.mktemp("sdist"), "core", "export", "signing")
    assert {w.name for w in built} == {"markupsafe-3.0.4-py3-none-any.whl", "pyaes-1.6.1-py3-none-any.whl"}
    return [project_wheel(tmp_path_factory.mktemp("own")), *lock_wheels("core", "export", "signing"), *built]


def test_bundles_agree_between_pyodide_and_cpython(wheels: list[Path]) -> None:
    cli_name, cli_bundle = seed_bundle()
    script = SCRIPT.format(signed_at=SIGNED_AT, cli_bundle=base64.b64encode(cli_bundle).decode())
    lines = run_in_pyodide(script, wheels).splitlines()
    digest, cli_verdict, name, browser_zip, platform, real, key_file_ok = lines[:7]
    assert platform == "emscripten"
    assert real == "3.0.4 1.6.1 True True", real  # the real MarkupSafe and pyaes, from the built wheels
    assert key_file_ok == "True"  # pyaes's AES-CTR round-trips a passphrase key file in Pyodide


    prepared = prepare_bundle(load_example("jinxian-2021"), load_framework("jinxian-2021"), SIGNED_AT)
    here = sign_payload(SUBMISSION_TYPE, prepared.payload, [unit_key()]).to_json()
    assert digest == hashlib.sha256(here.encode()).hexdigest()  # the same bytes in both runtimes

    assert cli_verdict.startswith("True"), cli_verdict  # a CLI-made bundle verifies in the browser
    assert name == cli_name
    verdict = verify_file(name, base64.b64decode(browser_zip))  # a browser-made one with the CLI
    assert verdict.ok, [c.message for c in verdict.checks]
