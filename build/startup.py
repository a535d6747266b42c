"""The engine's start-up packages as one stored zip on ``sys.path``, rather than wheels to install.

Why: Pyodide installs a wheel by unpacking it, file by file, into its in-memory file system,
and loading the engine's pure-Python packages (jixiao, and then pydantic with two small helpers)
that way took 120-180 ms of every page load on the 2-core machine. Python imports straight out of a
zip (zipimport), and out of a *stored* one without inflating anything: the worker fetches this
zip while Python boots, writes it into the file system as one file and puts it first on
``sys.path``. Measured in headless Chromium, side by side under the same load, the time to
``import jixiao.browser`` fell by a fifth to a third.

Only pure Python fits in a zip: a compiled extension must be a real file for ``dlopen``. Such a
package, with everything it depends on, would stay a wheel that Pyodide installs (``packages``
in version.json's ``engine``), so no module is shipped twice. Today the engine needs none.

Inside the zip a module's bytecode sits beside its source as ``mod.pyc`` (zipimport does not
look in ``__pycache__``); both are the unchecked-hash pycs ``precompile`` made, so zipimport
uses them as they are. Our own package keeps its ``.py`` too, which tracebacks read.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

ZIP_NAME = "jixiao-startup.zip"
_CACHED = re.compile(r"^(?P<folder>(?:[^/]+/)*)__pycache__/(?P<module>[^/.]+)\.(?P<tag>[^/.]+)\.pyc$")


class StartupZipError(RuntimeError):
    """The start-up packages cannot be laid out in one zip (two wheels ship the same file)."""


def plan(packages: Mapping[str, Any], roots: Iterable[str],
         closure: Callable[[Mapping[str, Any], Iterable[str]], list[str]]) -> tuple[list[str], list[str]]:
    """(zipped, installed): the start-up closure of ``roots`` split into the pure-Python packages
    the zip carries and the packages Pyodide must install (compiled ones and their dependencies)."""
    needed = closure(packages, roots)
    native = [name for name in needed if not packages[name].file_name.endswith("-none-any.whl")]
    installed = closure(packages, native) if native else []
    return [name for name in needed if name not in installed], installed


def entry_name(name: str, cache_tag: str) -> str | None:
    """Where a wheel's file goes in the zip: ``pkg/__pycache__/mod.<tag>.pyc`` becomes
    ``pkg/mod.pyc`` for the browser's tag and is dropped for any other; the rest stays put."""
    found = _CACHED.match(name)
    if found is None:
        return name
    if found["tag"] != cache_tag:
        return None
    return f"{found['folder']}{found['module']}.pyc"


def write_zip(wheels: Iterable[Path], dest: Path, cache_tag: str,
              date_time: tuple[int, int, int, int, int, int]) -> int:
    """Write ``dest`` from the wheels' files (stored, sorted, dated ``date_time``); returns the count."""
    entries: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = entry_name(info.filename, cache_tag)
                if name is None:
                    continue
                if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
                    raise StartupZipError(f"{wheel.name} 中的文件名不安全：{info.filename}")
                if name in entries:
                    raise StartupZipError(f"{wheel.name} 与 {origin[name]} 都含有 {name}，无法合入同一个启动包")
                entries[name] = archive.read(info)
                origin[name] = wheel.name
    part = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as out:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            out.writestr(info, entries[name])
    part.replace(dest)
    return len(entries)
