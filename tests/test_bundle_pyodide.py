"""Signing and verification inside real Pyodide (CPython 3.14, wasm) agree with CPython.

Why: the browser builds the bundle with this same Python, without OpenSSL, `hashlib.pbkdf2_hmac`
or `cryptography`. The same key and time must give the same envelope bytes there (Ed25519 is
deterministic and the payload canonical), a browser-made bundle must verify with the CLI, and
a CLI-made one in the browser. The wheels not yet pinned in build/artefacts.lock.json (pyaes,
MarkupSafe from their sdists, as pure py3 wheels; jinja2; segno) are built here from PyPI.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundle_helpers import SIGNED_AT, seed_bundle, unit_key
from jixiao import load_example, load_framework
from jixiao.bundle import verify_file
from jixiao.bundle.archive import prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
from pyodide_harness import IN_CI, lock_wheels, project_wheel, run_in_pyodide

pytestmark = pytest.mark.pyodide

EXTRA = {"jinja2": "jinja2==3.1.6", "segno": "segno==1.6.6"}
FROM_SDIST = {"markupsafe": "markupsafe==3.0.3", "pyaes": "pyaes==1.6.1"}

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
"""


def _pip(*args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        message = f"pip {' '.join(args[:2])} failed: {proc.stderr[-500:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("wheels")
    _pip("download", "--no-deps", "--only-binary=:all:", "-d", str(out), *EXTRA.values(), cwd=out)
    pure = {**os.environ, "CC": "/bin/false"}  # no C compiler: MarkupSafe builds its pure fallback
    _pip("wheel", "--no-deps", "--no-binary", ":all:", "-w", str(out), *FROM_SDIST.values(), cwd=out, env=pure)
    built = sorted(out.glob("*.whl"))
    assert all(w.name.endswith("-py3-none-any.whl") or "py2.py3" in w.name for w in built), built
    return [project_wheel(tmp_path_factory.mktemp("own")), *lock_wheels("core", "export", "signing"), *built]


def test_bundles_agree_between_pyodide_and_cpython(wheels: list[Path]) -> None:
    cli_name, cli_bundle = seed_bundle()
    script = SCRIPT.format(signed_at=SIGNED_AT, cli_bundle=base64.b64encode(cli_bundle).decode())
    lines = run_in_pyodide(script, wheels).splitlines()
    digest, cli_verdict, name, browser_zip, platform = lines[:5]
    assert platform == "emscripten"


    prepared = prepare_bundle(load_example("jinxian-2021"), load_framework("jinxian-2021"), SIGNED_AT)
    here = sign_payload(SUBMISSION_TYPE, prepared.payload, [unit_key()]).to_json()
    assert digest == hashlib.sha256(here.encode()).hexdigest()  # the same bytes in both runtimes

    assert cli_verdict.startswith("True"), cli_verdict  # a CLI-made bundle verifies in the browser
    assert name == cli_name
    verdict = verify_file(name, base64.b64decode(browser_zip))  # a browser-made one with the CLI
    assert verdict.ok, [c.message for c in verdict.checks]
