"""Run Python code inside real Pyodide under Node, for tests that compare it with CPython.

Why: the package must behave byte for byte the same in the browser. Node with the pinned
Pyodide from ``build/`` is the fastest faithful stand-in, under the node the build itself runs. A
download failure skips only outside CI (``CI=true`` turns it into a failure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from browser_fixtures import load_build_module

REPO = Path(__file__).resolve().parents[1]
NODE_RUNNER = REPO / "build" / "pyodide_node.mjs"
IN_CI = os.environ.get("CI", "").lower() == "true"

fetch = load_build_module("fetch")


def node_or_skip() -> str:
    """The node the build runs (``fetch.node_command``: the pinned one from PyPI); skips on a
    platform with no pinned one and no Node 20+, and on network trouble outside CI."""
    try:
        return str(_fetched_by(fetch.node_command))
    except fetch.NodeError as exc:
        pytest.skip(f"no Node.js 20+ for this platform: {exc}")


def _fetched(call: str, *args: object) -> object:
    """Run a fetch.py function; network trouble skips locally and fails in CI."""
    return _fetched_by(getattr(fetch, call), *args)


def _fetched_by(function: Callable[..., object], *args: object) -> object:
    try:
        return function(*args)
    except fetch.DownloadError as exc:
        if IN_CI:
            pytest.fail(f"artefact download failed in CI: {exc}")
        pytest.skip(f"artefact download failed (offline?): {exc}")


def lock_wheels(*groups: str) -> list[Path]:
    """The pinned browser wheels of the given lock groups, downloaded and verified."""
    names = [n for n in fetch.names_in(*groups) if fetch.load_lock()[n].kind == "wheel"]
    paths = _fetched("fetch", names)
    assert isinstance(paths, dict)
    return [paths[n] for n in names]


def lock_sdist_wheels(out: Path, *groups: str) -> list[Path]:
    """The pinned sdists of the given lock groups, built into pure wheels as the site build does."""
    lock = fetch.load_lock()
    names = [n for n in fetch.names_in(*groups) if lock[n].kind == "sdist"]
    paths = _fetched("fetch", names)
    assert isinstance(paths, dict)
    runtime = load_build_module("runtime")
    return [runtime.build_sdist_wheel(paths[n], Path(out), n, lock[n].version) for n in names]


def run_in_pyodide(script: str, wheels: list[Path], timeout: float = 600) -> str:
    """Install ``wheels`` into a fresh Pyodide, run ``script``, return exactly what it printed.

    Fails the test, with Pyodide's stderr (the traceback), if the script raises.
    """
    node = node_or_skip()
    pyodide = _fetched("pyodide_dir")
    with tempfile.TemporaryDirectory(prefix="jixiao-pyodide-") as tmp:
        script_path = Path(tmp) / "script.py"
        script_path.write_text(script, encoding="utf-8")
        cmd = [node, str(NODE_RUNNER), "--pyodide", str(pyodide)]
        for wheel in wheels:
            cmd += ["--wheel", str(wheel)]
        cmd.append(str(script_path))
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        pytest.fail(f"script failed in Pyodide (exit {proc.returncode}):\n{stderr}")
    print(f"pyodide run: {elapsed:.2f} s ({len(wheels)} wheels)", file=sys.stderr)
    return proc.stdout.decode("utf-8")


def run_in_cpython(script: str, timeout: float = 600) -> str:
    """Run ``script`` with this interpreter against the source tree; return its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "py"), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="jixiao-cpython-") as tmp:
        script_path = Path(tmp) / "script.py"
        script_path.write_text(script, encoding="utf-8")
        cmd = [sys.executable, str(script_path)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=env)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        pytest.fail(f"script failed in CPython (exit {proc.returncode}):\n{stderr}")
    return proc.stdout.decode("utf-8")


def project_wheel(tmpdir: Path) -> Path:
    """Build this project's wheel into ``tmpdir`` the way a user would (``pip wheel .``)."""
    out = Path(tmpdir)
    cmd = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"building the project wheel failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = sorted(out.glob("jixiao-*.whl"))
    assert len(wheels) == 1, f"expected one jixiao wheel in {out}, found {wheels}"
    return wheels[0]
