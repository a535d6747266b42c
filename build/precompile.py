"""Precompile the browser wheels' Python files to CPython 3.14 bytecode, inside Pyodide itself.

Why: without bytecode, every page load compiles jixiao (and, on export, openpyxl) from source in the browser
(several hundred milliseconds on a slow office PC). The host runs CPython 3.11 and its bytecode
is useless to 3.14, and pyodide-build's ``py-compile`` needs Python >= 3.12 and compiles for the
host's own version; so the pinned Pyodide compiles under Node (``build/pyodide_node.mjs``),
producing exactly the magic number the browser expects.

Two layouts:

* ``alongside`` (default): ``pkg/__pycache__/mod.cpython-314.pyc`` next to ``pkg/mod.py``, as
  unchecked-hash pycs (PEP 552). The source stays for tracebacks; the pyc is used as is, never
  revalidated (the files never change once installed in the browser).
* ``sourceless``: ``pkg/mod.pyc`` replaces ``pkg/mod.py``, as Pyodide's own distribution does.
  Smaller, but tracebacks lose their source lines.

Repacked wheels are deterministic: entry dates come from ``SOURCE_DATE_EPOCH`` (else 1980-01-01)
and ``RECORD`` is regenerated with the new hashes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

NODE_RUNNER = Path(__file__).with_name("pyodide_node.mjs")
MODES = ("none", "alongside", "sourceless")

_COMPILE_SCRIPT = """\
import base64, importlib.util, json, py_compile, site, sys, tempfile
from pathlib import Path

FILES = json.loads({files!r})
SITE = Path(site.getsitepackages()[0])
TMP = Path(tempfile.mkdtemp())
pycs = {{}}
for i, rel in enumerate(FILES):
    cfile = TMP / f"{{i}}.pyc"
    py_compile.compile(str(SITE / rel), cfile=str(cfile), dfile=str(SITE / rel), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    pycs[rel] = base64.b64encode(cfile.read_bytes()).decode()
print(json.dumps({{"cache_tag": sys.implementation.cache_tag,
                  "magic": importlib.util.MAGIC_NUMBER.hex(), "pycs": pycs}}))
"""


class PrecompileError(RuntimeError):
    """Pyodide could not compile the wheels (a syntax error, or Node/Pyodide missing)."""


@dataclass(frozen=True)
class PrecompileResult:
    wheels: list[Path]
    files: int
    cache_tag: str
    seconds: float


def zip_date_time() -> tuple[int, int, int, int, int, int]:
    """Entry timestamp for repacked zips: SOURCE_DATE_EPOCH, else the zip format's epoch."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return (1980, 1, 1, 0, 0, 0)
    t = time.gmtime(max(int(epoch), 315532800))  # zip cannot store dates before 1980
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _python_files(wheel: Path) -> list[str]:
    """The importable .py files of a wheel (not its .data or .dist-info folders)."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    return [
        n for n in names
        if n.endswith(".py") and not any(p.endswith((".data", ".dist-info")) for p in n.split("/")[:-1])
    ]


def _run_in_pyodide(script: str, wheels: list[Path], pyodide: Path, what: str, node: str) -> dict[str, Any]:
    """Run ``script`` in the pinned Pyodide under ``node`` (``wheels`` installed); its stdout is JSON."""
    with tempfile.TemporaryDirectory(prefix="jixiao-precompile-") as tmp:
        script_path = Path(tmp) / "compile.py"
        script_path.write_text(script, encoding="utf-8")
        cmd = [node, str(NODE_RUNNER), "--pyodide", str(pyodide)]
        for wheel in wheels:
            cmd += ["--wheel", str(wheel)]
        cmd.append(str(script_path))
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=900)
    if proc.returncode != 0:
        raise PrecompileError(f"compiling {what} in Pyodide failed:\n" + proc.stderr.decode("utf-8", "replace"))
    doc: dict[str, Any] = json.loads(proc.stdout)
    if not str(doc["cache_tag"]).startswith("cpython-"):
        raise PrecompileError(f"unexpected cache tag from Pyodide: {doc['cache_tag']!r}")
    return doc


def _compile_in_pyodide(wheels: list[Path], files: list[str], pyodide: Path, node: str) -> tuple[str, dict[str, bytes]]:
    doc = _run_in_pyodide(_COMPILE_SCRIPT.format(files=json.dumps(files)), wheels, pyodide, "the wheels", node)
    pycs = {rel: base64.b64decode(data) for rel, data in doc["pycs"].items()}
    return str(doc["cache_tag"]), pycs


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _pyc_name(py_name: str, cache_tag: str, mode: str) -> str:
    path = PurePosixPath(py_name)
    if mode == "sourceless":
        return str(path.with_suffix(".pyc"))
    return str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc")


def repack(wheel: Path, dest: Path, pycs: dict[str, bytes], cache_tag: str, mode: str) -> Path:
    """Write ``wheel`` into ``dest`` with its bytecode added, deterministically, RECORD renewed."""
    out = dest / wheel.name
    date_time = zip_date_time()
    entries: list[tuple[zipfile.ZipInfo, bytes]] = []
    record_name = None
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name.endswith(".dist-info/RECORD"):
                record_name = name
                continue
            if name.endswith(".dist-info/RECORD.jws") or name.endswith(".dist-info/RECORD.p7s"):
                continue  # a signature over the old RECORD would now be false
            data = zf.read(info)
            if mode != "sourceless" or name not in pycs:
                entries.append((_zipinfo(name, info.external_attr, date_time), data))
            if name in pycs:
                pyc = _pyc_name(name, cache_tag, mode)
                entries.append((_zipinfo(pyc, 0o644 << 16, date_time), pycs[name]))
    if record_name is None:
        raise PrecompileError(f"{wheel.name} has no RECORD: not a wheel?")
    record = "\n".join([*(_record_line(i.filename, d) for i, d in entries), f"{record_name},,", ""])
    entries.append((_zipinfo(record_name, 0o644 << 16, date_time), record.encode()))
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    os.replace(tmp, out)
    return out


def _zipinfo(name: str, external_attr: int, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.external_attr = external_attr or (0o644 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the mode bits above mean what they say
    return info


def precompile(wheels: list[Path], dest: Path, pyodide: Path, mode: str = "alongside",
               modes: Mapping[str, str] | None = None, *, node: str) -> PrecompileResult:
    """Compile every wheel's modules in one Pyodide run under ``node`` (``fetch.node_command``); write the
    repacked wheels into ``dest``.

    ``mode`` applies to every wheel unless ``modes`` names another for a wheel's file name.
    """
    chosen = {w: (modes or {}).get(w.name, mode) for w in wheels}
    bad = sorted({m for m in chosen.values() if m not in MODES})
    if bad:
        raise ValueError(f"mode must be one of {MODES}, not {bad}")
    started = time.monotonic()
    dest.mkdir(parents=True, exist_ok=True)
    out = [Path(shutil.copyfile(w, dest / w.name)) for w, m in chosen.items() if m == "none"]
    todo = [w for w, m in chosen.items() if m != "none"]
    if not todo:
        return PrecompileResult(out, 0, "", time.monotonic() - started)
    per_wheel = {w: _python_files(w) for w in todo}
    all_files = [f for files in per_wheel.values() for f in files]
    if len(all_files) != len(set(all_files)):
        raise PrecompileError("two wheels install the same module file; refusing to guess")
    # Every wheel is installed (so imports between them resolve), only the chosen ones compiled.
    cache_tag, pycs = _compile_in_pyodide(wheels, all_files, pyodide, node)
    for w, files in per_wheel.items():
        out.append(repack(w, dest, {f: pycs[f] for f in files}, cache_tag, chosen[w]))
    return PrecompileResult(out, len(pycs), cache_tag, time.monotonic() - started)


# --- the standard library -------------------------------------------------------------------------
# Pyodide 314 ships python_stdlib.zip as .py sources only, so every page load compiled the ~120
# stdlib modules that start-up imports: measured in headless Chromium on the 2-core machine, boot
# (loadPyodide without packages) fell from 3.5-3.7 s to 1.1-2.1 s with bytecode. Sourceless
# unchecked-hash pycs: zipimport uses them as they are, with no source to compare against.
# Stored, not deflated: zipimport inflates every module it imports, and boot imports about 120.
# Measured in headless Chromium (repeat visits), boot fell from 630-690 ms to 360-390 ms; the
# zip grows from 4.5 to 10.6 MB, which the server gzips back to about the deflated size.

_STDLIB_SCRIPT = """\
import base64, importlib._bootstrap_external as bx, importlib.util, io, json, sys, zipfile

DATE = tuple(json.loads({date!r}))
src = zipfile.ZipFile(next(p for p in sys.path if p.endswith(".zip")))
buf = io.BytesIO()
compiled = kept = 0
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
    for info in src.infolist():
        data = src.read(info)
        name = info.filename
        if name.endswith(".py"):
            code = compile(data, name, "exec", dont_inherit=True)
            data = bytes(bx._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            name = name[:-3] + ".pyc"
            compiled += 1
        else:
            kept += 1
        entry = zipfile.ZipInfo(name, DATE)
        entry.external_attr = info.external_attr
        entry.compress_type = zipfile.ZIP_STORED
        out.writestr(entry, data)
print(json.dumps({{"cache_tag": sys.implementation.cache_tag, "compiled": compiled, "kept": kept,
                  "zip": base64.b64encode(buf.getvalue()).decode()}}))
"""


def precompile_stdlib(pyodide: Path, dest: Path, *, node: str) -> PrecompileResult:
    """Write ``dest``: Pyodide's python_stdlib.zip with every module as 3.14 bytecode (sourceless),
    stored uncompressed, compiled under ``node`` (``fetch.node_command``)."""
    started = time.monotonic()
    script = _STDLIB_SCRIPT.format(date=json.dumps(list(zip_date_time())))
    doc = _run_in_pyodide(script, [], pyodide, "the standard library", node)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(base64.b64decode(doc["zip"]))
    os.replace(part, dest)
    return PrecompileResult([dest], int(doc["compiled"]), str(doc["cache_tag"]), time.monotonic() - started)
