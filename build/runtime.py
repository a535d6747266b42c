"""The Python runtime of the site: Pyodide's files, the wheels, and the package lock beside them.

Why: the browser must find everything it runs under ``pyodide/`` on the same origin, and the
lock Pyodide reads there must name only files that are really in that folder; the upstream
lock lists 357 packages on a CDN that users on a restricted network cannot reach.

The lock entries are built here rather than by ``pyodide_lock.utils.add_wheels_to_spec``:
pyodide-lock 0.1.2 cannot read Pyodide 314's lock (its entries carry a ``tool`` field the
0.1.2 schema forbids), rejects the ``pyemscripten_2026_0_wasm32`` wheel tag, and needs pkginfo.
Its ``PackageSpec``/``InfoSpec`` models still validate every entry we write.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from pyodide_lock.spec import InfoSpec, PackageSpec

REPO = Path(__file__).resolve().parents[1]

# What the browser needs from the npm package; the rest (node glue, typings, consoles) is not
# served. The lock is written anew by write_lock().
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
LOCK_NAME = "pyodide-lock.json"

PROJECT = "jixiao"

# The only tag a wheel built here from a pinned sdist may carry: pure Python, any platform.
PURE_TAG = Tag("py3", "none", "any")
# Zip timestamps of those wheels when SOURCE_DATE_EPOCH is unset (1980-01-01, the zip epoch).
DEFAULT_EPOCH = "315532800"


class RuntimeBuildError(RuntimeError):
    """The runtime folder cannot be made consistent (a wheel does not fit, a dependency lacks)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def copy_runtime(pyodide_dir: Path, dest: Path) -> list[Path]:
    """Copy Pyodide's browser files (not its lock) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(pyodide_dir / name, dest / name)) for name in RUNTIME_FILES]


def build_project_wheel(tmp: Path, repo: Path = REPO) -> Path:
    """``pip wheel . --no-deps``, as a user would; reuses an installed hatchling when present."""
    cmd = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(-2, "--no-build-isolation")  # works offline: no fresh build environment
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeBuildError(f"构建 jixiao 轮子失败：\n{proc.stdout}\n{proc.stderr}")
    wheels = sorted(tmp.glob("jixiao-*.whl"))
    if len(wheels) != 1:
        raise RuntimeBuildError(f"应得到一个 jixiao 轮子，实际：{[w.name for w in wheels]}")
    return wheels[0]


def build_sdist_wheel(sdist: Path, out: Path, name: str, version: str) -> Path:
    """Build a pinned sdist into its pure ``py3-none-any`` wheel, offline and reproducibly.

    Why: pyaes publishes no wheel, and MarkupSafe's are all compiled; both are pure Python at
    heart. pip builds the cached, hash-checked sdist with this environment's setuptools (no
    index, no build isolation: nothing is downloaded). ``CC=/bin/false`` makes MarkupSafe's
    optional C speedups fail to build, so it falls back to its pure-Python code, and
    ``SOURCE_DATE_EPOCH`` fixes the zip timestamps: the same sdist gives the same bytes.
    Anything but one wheel of that name, version and tag is refused.
    """
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CC": "/bin/false",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH,
        "PYTHONHASHSEED": "0",
    }
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=out) as tmp:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "--no-cache-dir", "-q", "-w", tmp, str(sdist)]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeBuildError(f"由 {sdist.name} 构建轮子失败（需要 setuptools，见 pyproject 的 site 依赖）：\n"
                                    f"{proc.stdout}\n{proc.stderr}")
        built = sorted(Path(tmp).glob("*.whl"))
        if len(built) != 1:
            raise RuntimeBuildError(f"由 {sdist.name} 应得到一个轮子，实际：{[w.name for w in built]}")
        wheel_name, wheel_version, _, tags = parse_wheel_filename(built[0].name)
        if tags != frozenset({PURE_TAG}):
            raise RuntimeBuildError(f"由 {sdist.name} 构建的 {built[0].name} 不是纯 Python 轮子（py3-none-any）")
        if wheel_name != canonicalize_name(name) or str(wheel_version) != version:
            raise RuntimeBuildError(f"由 {sdist.name} 构建的 {built[0].name} 不是锁定的 {name} {version}")
        return Path(shutil.move(built[0], out / built[0].name))


def marker_environment(info: InfoSpec) -> dict[str, str]:
    """The PEP 508 environment inside this Pyodide, for evaluating Requires-Dist markers."""
    python = info.python  # e.g. 3.14.2
    major_minor = ".".join(python.split(".")[:2])
    release = info.platform.removeprefix("emscripten_").replace("_", ".")
    return {
        "implementation_name": "cpython",
        "implementation_version": python,
        "os_name": "posix",
        "platform_machine": info.arch,
        "platform_release": release,
        "platform_system": "Emscripten",
        "platform_version": "#1",
        "platform_python_implementation": "CPython",
        "python_full_version": python,
        "python_version": major_minor,
        "sys_platform": "emscripten",
        "extra": "",
    }


def _check_compatible(wheel: Path, info: InfoSpec) -> None:
    """Refuse a wheel this Pyodide cannot load (another CPython, another platform)."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    major, minor = (int(p) for p in info.python.split(".")[:2])
    platforms = {"any", f"pyemscripten_{info.abi_version}_{info.arch}", f"{info.platform}_{info.arch}"}
    for tag in tags:
        if tag.platform not in platforms:
            continue
        if tag.abi == "none" and tag.interpreter in {f"py{major}", *(f"py{major}{m}" for m in range(minor + 1))}:
            return
        if tag.abi in {f"cp{major}{minor}", "abi3"} and tag.interpreter.startswith("cp"):
            return
    raise RuntimeBuildError(f"{wheel.name} 不适用于 Pyodide（Python {info.python}，{info.platform}）")


def _metadata(zf: zipfile.ZipFile) -> email.message.Message:
    names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise RuntimeBuildError(f"{zf.filename}: expected one .dist-info/METADATA, found {names}")
    return email.parser.BytesParser().parsebytes(zf.read(names[0]), headersonly=True)


def _top_level_imports(zf: zipfile.ZipFile) -> list[str]:
    """Importable top-level names: top-level modules, and folders holding Python code."""
    found: set[str] = set()
    for name in zf.namelist():
        parts = name.split("/")
        if len(parts) == 1 and name.endswith((".py", ".pyc")):
            found.add(name.rsplit(".", 1)[0])
        elif len(parts) > 1 and not parts[0].endswith((".dist-info", ".data")) and name.endswith(
            (".py", ".pyc", ".so")
        ):
            found.add(parts[0])
    return sorted(n for n in found if n.isidentifier())


def package_entry(wheel: Path, info: InfoSpec, available: set[str], on_demand: frozenset[str] = frozenset(),
                  missing: list[str] | None = None) -> PackageSpec:
    """A lock entry for ``wheel``; depends only on what is ``available`` in the same folder.

    Requirements in ``on_demand`` are left out of ``depends`` (loaded later by a worker "need"
    message). A requirement that is not available fails, unless ``missing`` is given: then it
    is appended there and left out (the project's own build-time-only dependencies).
    """
    _check_compatible(wheel, info)
    with zipfile.ZipFile(wheel) as zf:
        meta = _metadata(zf)
        imports = _top_level_imports(zf)
    name = canonicalize_name(meta["Name"])
    environment = marker_environment(info)
    depends: list[str] = []
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is not None and not Marker(str(req.marker)).evaluate(environment):
            continue
        dep = canonicalize_name(req.name)
        if dep in on_demand:
            continue
        if dep not in available:
            if missing is None:
                raise RuntimeBuildError(f"{wheel.name} 需要 {dep}，但 pyodide/ 中没有它的轮子")
            missing.append(dep)
            continue
        if dep not in depends:
            depends.append(dep)
    return PackageSpec(
        name=name,
        version=str(meta["Version"]),
        file_name=wheel.name,  # relative: resolved against the lock's own URL, never a CDN
        install_dir="site",
        sha256=sha256_file(wheel),
        package_type="package",
        imports=imports,
        depends=sorted(depends),
    )


def write_lock(upstream_lock: Path, folder: Path, wheels: Iterable[Path], on_demand: Iterable[str] = (),
               missing: list[str] | None = None) -> dict[str, PackageSpec]:
    """Write ``folder/pyodide-lock.json``: our wheels, plus any upstream entry whose file is here.

    Every other upstream entry is dropped, so the browser can never be sent to the CDN.
    ``on_demand`` packages are shipped but not in the project's ``depends`` (loaded when a
    feature needs them). The project's requirements that are not shipped at all (build-time
    only, e.g. jinja2) are appended to ``missing``; the browser's code path must not import
    them, which the end-to-end test proves. A third-party wheel's missing dependency fails.
    """
    lazy = frozenset(canonicalize_name(n) for n in on_demand)
    upstream = json.loads(upstream_lock.read_text(encoding="utf-8"))
    # Pyodide 314's info has no "version" (pyodide-lock 0.1.2 requires one): validate with the
    # npm package's version filled in, but write upstream's info verbatim. Pyodide refuses a
    # lock whose abi_version is not its own.
    package_json = upstream_lock.with_name("package.json")
    npm_version = json.loads(package_json.read_text(encoding="utf-8"))["version"] if package_json.is_file() else "0"
    info = InfoSpec(**{"version": npm_version, **upstream["info"]})
    wheels = sorted(wheels)
    with_names = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            with_names[canonicalize_name(_metadata(zf)["Name"])] = wheel
    packages: dict[str, PackageSpec] = {}
    for key, entry in upstream["packages"].items():
        if (folder / entry["file_name"]).is_file() and key not in with_names:
            fields = {k: v for k, v in entry.items() if k in PackageSpec.model_fields}
            packages[key] = PackageSpec(**fields)
    available = set(with_names) | set(packages)
    for name, wheel in with_names.items():
        project = name == PROJECT
        packages[name] = package_entry(wheel, info, available, lazy if project else frozenset(),
                                       (missing if missing is not None else []) if project else None)
    doc = {
        "info": upstream["info"],
        "packages": {k: packages[k].model_dump() for k in sorted(packages)},
    }
    (folder / LOCK_NAME).write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return packages


def closure(packages: Mapping[str, PackageSpec], roots: Iterable[str]) -> list[str]:
    """The named packages and everything they depend on, in a stable order."""
    seen: list[str] = []
    todo: list[str] = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        if name not in packages:
            raise RuntimeBuildError(f"锁文件中没有 {name}")
        seen.append(name)
        todo.extend(packages[name].depends)
    return seen
