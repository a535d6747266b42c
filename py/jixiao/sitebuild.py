"""The bridge from the CLI to the site build in the source tree's `build/` folder.

Building the portal needs the sources (site_src/, mkdocs.yml, build/), so it runs from a
checkout; an installed wheel can still serve a site that was built and copied elsewhere.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from .io.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SITE = REPO / ".cache" / "site"


def load_build_module(name: str) -> ModuleType | None:
    """`build/<name>.py` as module `jixiao_build_<name>`, or None outside a source checkout.

    build/ is not a package, and `build/site.py` must never be imported as `site`.
    """
    path = REPO / "build" / f"{name}.py"
    if not path.is_file():
        return None
    key = f"jixiao_build_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@contextlib.contextmanager
def build_failures() -> Iterator[None]:
    """The build's own errors (a missing page, a sha256 mismatch, a failed snapshot…) say what
    went wrong: the CLI reports them as such, not as an internal error with a class name."""
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.startswith("jixiao_build_"):
            raise InputError(str(exc)) from exc
        raise


def build_module() -> ModuleType:
    """`build/site.py`; a clear error when the sources are not here."""
    module = load_build_module("site")
    if module is None:
        raise InputError("构建站点需要源码目录（含 build/、site_src/、mkdocs.yml）；"
                         "或用 --site 指定已构建好的站点文件夹")
    return module


def ensure_site(out_dir: Path, framework_id: str, *, force: bool = False,
                progress: Any = None) -> tuple[bool, Any]:
    """Build into `out_dir` unless it already holds a build of exactly these sources."""
    module = build_module()
    if not force and module.site_is_current(out_dir, framework_id):
        return False, None
    with build_failures():
        return True, module.build_site(out_dir, framework_id=framework_id, progress=progress)


def check_built_site(site_dir: Path) -> None:
    if not (site_dir / "index.html").is_file() or not (site_dir / "version.json").is_file():
        raise InputError(f"{site_dir} 不是构建好的站点（缺少 index.html 或 version.json）")
