"""Build the portal's static site: pages, Python runtime, offline cache, checks.

    build_site(out_dir, framework_id="jinxian-2021") -> BuildReport
    site_is_current(out_dir) -> bool        # `serve` rebuilds only when an input changed

A pipeline of small steps, each naming what it reads and what it writes (jupyterlite style),
so a later step (the portable edition for USB sticks) slots in without touching the others.
The site is built into a sibling folder and swapped in at the end: a failed build never leaves
a half-written site where a server is serving.

Reproducible: no timestamps unless ``SOURCE_DATE_EPOCH`` is set; repacked zips use it too.

Layout of ``out_dir`` (page URLs are ``fill.html`` rather than ``fill/``, so the pages also
work opened from a folder):

    index.html guide.html fill.html framework.html offline.html 404.html
    assets/…                 theme files, the portal's js/css (engine.js, worker.js, offline.js)
    search/search_index.json offline search
    pyodide/                 pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip
                             pyodide-lock.json and every wheel it lists (nothing else)
    version.json             build version, startup download sizes, the CSP for the server
    sw.js                    service worker precaching every file above
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = Path(__file__).resolve().parent
DEFAULT_SRC = REPO / "site_src"
DEFAULT_CONFIG = REPO / "mkdocs.yml"
FORM_MARKER = "<!-- jixiao:form -->"
# Formats already compressed: a server's gzip would not shrink them.
COMPRESSED = (".whl", ".gz", ".png", ".jpg", ".jpeg", ".ico", ".woff", ".woff2")  # our zips are stored: gzip pays
# Dropped from the built site: debugging aids and files that only make sense with a public URL.
PRUNED_SUFFIXES = (".map",)
PRUNED_FILES = ("sitemap.xml", "sitemap.xml.gz")

Progress = Callable[[str], None]


def _sibling(name: str) -> ModuleType:
    """Load ``build/<name>.py`` (build/ is not a package, and must not shadow stdlib ``site``)."""
    key = f"jixiao_build_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BUILD_DIR / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


fetch = _sibling("fetch")
runtime = _sibling("runtime")
precompile_mod = _sibling("precompile")
offline = _sibling("offline")
check = _sibling("check")
portable_mod = _sibling("portable")
startup_mod = _sibling("startup")
snapshot_mod = _sibling("snapshot")


class SiteBuildError(RuntimeError):
    """The site cannot be built as asked; the message says why, in Chinese."""


@dataclass
class BuildReport:
    """What was built, how big it is, and where the time went."""

    out_dir: Path
    version: str
    files: int
    total_bytes: int
    transfer_bytes: int  # gzip -6 estimate of everything; compressed formats counted as they are
    startup_bytes: int  # what a first visit downloads before the engine is ready
    startup_transfer_bytes: int  # the same, gzip-estimated (the server compresses on the fly)
    precompiled: int  # .py files shipped with 3.14 bytecode
    seconds: dict[str, float] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def summary(self) -> str:
        steps = "，".join(f"{name} {s:.1f} 秒" for name, s in self.seconds.items())
        return (
            f"站点 {self.out_dir}（版本 {self.version}）：{self.files} 个文件，"
            f"共 {self.total_bytes / 1e6:.1f} MB，压缩传输约 {self.transfer_bytes / 1e6:.1f} MB，"
            f"评分引擎首次启动需下载 {self.startup_bytes / 1e6:.1f} MB"
            f"（压缩传输约 {self.startup_transfer_bytes / 1e6:.1f} MB）。用时：{steps}。"
        )


@dataclass
class _Build:
    """Everything the steps share. Each step reads and writes only what it declares."""

    out: Path
    staging: Path
    work: Path
    src_dir: Path
    config_file: Path
    framework_id: str
    precompile: bool
    say: Progress
    artefacts: dict[str, Path] = field(default_factory=dict)
    sdists: dict[str, Path] = field(default_factory=dict)
    pyodide: Path | None = None
    packages: dict[str, Any] = field(default_factory=dict)
    precompiled: int = 0
    version: str = ""
    startup: dict[str, int] = field(default_factory=dict)
    cache_tag: str = ""
    engine: dict[str, Any] = field(default_factory=dict)
    node: str = ""  # the node program that runs Pyodide at build time (fetch.node_command)


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[_Build], None]


# --- steps --------------------------------------------------------------------------------------


def _artefacts(b: _Build) -> None:
    """Verify (or download) every pinned artefact first: a bad hash stops the build at once."""
    names = fetch.names_in("core", "export", "signing")
    with _lines_to(b.say):  # fetch reports on stderr
        paths = fetch.fetch(names)
        b.pyodide = fetch.pyodide_dir()
        b.node = fetch.node_command()
    lock = fetch.load_lock()
    b.artefacts = {n: p for n, p in paths.items() if lock[n].kind == "wheel"}
    b.sdists = {n: p for n, p in paths.items() if lock[n].kind == "sdist"}


def _stage(b: _Build) -> None:
    """Copy the sources, then write the framework's pages into the copy (never into site_src)."""
    from jixiao import load_framework
    from jixiao.render import form  # lazy: the renderer is only needed to build

    framework = load_framework(b.framework_id)
    shutil.copytree(b.src_dir, b.staging / "site_src", ignore=shutil.ignore_patterns("__pycache__", ".DS_Store"))
    shutil.copyfile(b.config_file, b.staging / "mkdocs.yml")
    docs = b.staging / "site_src" / "docs"
    if (docs / "framework.md").exists():
        b.say("site_src/docs/framework.md 由构建生成，源文件中的同名文件被覆盖")
    (docs / "framework.md").write_text(form.render_framework_page(framework), encoding="utf-8")
    fill = docs / "fill.md"
    if not fill.is_file():
        raise SiteBuildError("缺少填报页 site_src/docs/fill.md")
    text = fill.read_text(encoding="utf-8")
    if text.count(FORM_MARKER) != 1:
        raise SiteBuildError(f"fill.md 中应恰有一处 {FORM_MARKER} 标记，实际 {text.count(FORM_MARKER)} 处")
    fill.write_text(text.replace(FORM_MARKER, "\n" + form.render_form(framework, engine=engine_id()) + "\n"),
                    encoding="utf-8")


def engine_id() -> str:
    """What the page's scores depend on: the package's sources (rules, models, frameworks) and
    the pinned runtime. The form remembers its last evaluation under this name, so a site built
    from other code never shows an evaluation the old code made."""
    digest = hashlib.sha256()
    _tree_digest(digest, "py/jixiao", REPO / "py" / "jixiao")
    _tree_digest(digest, "lock", fetch.LOCK_FILE)
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _lines_to(say: Progress) -> Iterator[None]:
    """Send what is printed (stdout and stderr) to the progress log, line by line."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    finally:
        for line in buffer.getvalue().splitlines():
            if line.strip():
                say(line)


class _Collect(logging.Handler):
    """Keeps mkdocs' log records (said after the build, outside any output redirection)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self.errors.append(message)
        self.lines.append(f"mkdocs {record.levelname.lower()}: {message}")


def _pages(b: _Build) -> None:
    """mkdocs build through its Python API; its log goes to the progress log, errors fail."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    logger = logging.getLogger("mkdocs")
    handler = _Collect()
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's end-of-life banner
    try:
        with _lines_to(b.say):
            config = load_config(config_file=str(b.staging / "mkdocs.yml"), site_dir=str(b.out))
            config.extra["jixiao"] = {"framework_id": b.framework_id}
            config.plugins.on_startup(command="build", dirty=False)
            try:
                mkdocs_build(config)
            finally:
                config.plugins.on_shutdown()
    except Exception as exc:
        raise SiteBuildError(f"mkdocs 构建失败：{exc}") from exc
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
        for line in handler.lines:
            b.say(line)
    if handler.errors:
        raise SiteBuildError("mkdocs 构建出错：\n" + "\n".join(handler.errors))


def _unused_search_languages(out: Path) -> list[Path]:
    """The theme's lunr language files that the configured search languages never load.

    Every file is precached by every visitor, so 0.9 MB of Thai and Japanese segmenters that
    a Chinese site never asks for is worth dropping.
    """
    index = out / "search" / "search_index.json"
    lunr = out / "assets" / "javascripts" / "lunr"
    if not index.is_file() or not lunr.is_dir():
        return []
    langs = [lang for lang in json.loads(index.read_text(encoding="utf-8"))["config"]["lang"] if lang != "en"]
    keep = {f"lunr.{lang}.min.js" for lang in langs}
    if langs:
        keep |= {"lunr.stemmer.support.min.js", "lunr.multi.min.js"}
    if "ja" in langs or "jp" in langs:
        keep.add("tinyseg.js")
    if "th" in langs:
        keep.add("wordcut.js")
    return [p for p in sorted(lunr.rglob("*.js")) if p.name not in keep]


def _prune(b: _Build) -> None:
    """Drop source maps, unused search languages, and the sitemap (needs a public site_url)."""
    doomed = [p for p in sorted(b.out.rglob("*"))
              if p.is_file() and (p.suffix in PRUNED_SUFFIXES or p.name in PRUNED_FILES)]
    doomed += _unused_search_languages(b.out)
    for path in doomed:
        path.unlink()
    for folder in sorted((p for p in b.out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    b.say(f"删去 {len(doomed)} 个用不到的文件")


def _runtime(b: _Build) -> None:
    assert b.pyodide is not None
    runtime.copy_runtime(b.pyodide, b.out / "pyodide")
    if b.precompile:
        # Pyodide ships the stdlib as sources: compiling them on every page load cost ~2 s.
        result = precompile_mod.precompile_stdlib(b.pyodide, b.out / "pyodide" / "python_stdlib.zip", node=b.node)
        b.precompiled += result.files
        b.say(f"标准库已预编译 {result.files} 个模块，用时 {result.seconds:.1f} 秒")


def _wheels(b: _Build) -> None:
    """The pinned wheels, those built from pinned sdists, and our own, with CPython 3.14 bytecode
    compiled by Pyodide itself."""
    assert b.pyodide is not None
    lock = fetch.load_lock()
    built = [runtime.build_sdist_wheel(path, b.work / "sdist", name, lock[name].version)
             for name, path in b.sdists.items()]
    own = runtime.build_project_wheel(b.work / "own")
    wheels = [*b.artefacts.values(), *built, own]
    mode = "sourceless" if b.precompile else "none"
    # Our own code keeps its source beside the bytecode: its tracebacks stay readable.
    modes = {own.name: "alongside"} if b.precompile else {}
    result = precompile_mod.precompile(wheels, b.out / "pyodide", b.pyodide, mode, modes, node=b.node)
    b.precompiled += result.files
    b.cache_tag = result.cache_tag
    if result.files:
        b.say(f"已预编译 {result.files} 个模块（{result.cache_tag}），用时 {result.seconds:.1f} 秒")


def _lock(b: _Build) -> None:
    assert b.pyodide is not None
    folder = b.out / "pyodide"
    # Export and signing packages are shipped but loaded only when used (worker "need").
    on_demand = fetch.names_in("export", "signing")
    missing: list[str] = []
    b.packages = runtime.write_lock(b.pyodide / runtime.LOCK_NAME, folder, sorted(folder.glob("*.whl")),
                                    on_demand, missing)
    if missing:
        b.say(f"jixiao 的依赖 {'、'.join(sorted(missing))} 不随网页提供（浏览器中的评分不导入它们）")
    # The engine's pure-Python packages go in one stored zip on sys.path (build/startup.py);
    # compiled ones, and what they depend on, stay wheels Pyodide installs.
    zipped, installed = startup_mod.plan(b.packages, ["jixiao"], runtime.closure)
    count = startup_mod.write_zip([folder / b.packages[name].file_name for name in zipped],
                                  folder / startup_mod.ZIP_NAME, b.cache_tag, precompile_mod.zip_date_time())
    b.say(f"启动包 {startup_mod.ZIP_NAME}：{'、'.join(zipped)}（{count} 个文件）；"
          f"由 Pyodide 安装：{'、'.join(installed)}")
    b.engine = {"zip": f"pyodide/{startup_mod.ZIP_NAME}", "packages": installed}
    startup = ["pyodide.asm.wasm", "python_stdlib.zip", runtime.LOCK_NAME, startup_mod.ZIP_NAME]
    startup += [b.packages[name].file_name for name in installed]
    b.startup = {f"pyodide/{name}": (folder / name).stat().st_size for name in startup}


def _snapshot(b: _Build) -> None:
    """The engine started once at build time and saved (build/snapshot.py): the browser restores it."""
    folder = b.out / "pyodide"
    try:
        result = snapshot_mod.make_snapshot(folder, startup_mod.ZIP_NAME, b.framework_id, node=b.node)
    except snapshot_mod.SnapshotError as exc:
        raise SiteBuildError(f"无法生成评分引擎快照：{exc}") from None
    rel = f"pyodide/{snapshot_mod.SNAPSHOT_NAME}"
    placeholder = f"pyodide/{snapshot_mod.PLACEHOLDER_NAME}"
    b.engine = {**b.engine, "snapshot": rel, "stdlib_placeholder": placeholder}
    # What the first score waits for: the snapshot and the start-up zip, not the standard library.
    b.startup = {k: v for k, v in b.startup.items() if not k.endswith("/python_stdlib.zip")}
    b.startup[rel] = result.size
    b.startup[placeholder] = (folder / snapshot_mod.PLACEHOLDER_NAME).stat().st_size
    b.say(f"评分引擎快照 {snapshot_mod.SNAPSHOT_NAME}：{result.size / 1e6:.1f} MB"
          f"（内存 {result.memory / 1e6:.0f} MB），已导入 {result.modules} 个模块，用时 {result.seconds:.1f} 秒")


def _offline(b: _Build) -> None:
    """api/intake for static hosts, version.json (with the CSP the pages need), then sw.js over every file."""
    offline.write_static_intake(b.out)
    content = offline.manifest(b.out, exclude={*offline.NOT_PRECACHED, offline.VERSION_NAME})
    extra = {
        "framework_id": b.framework_id,
        "jixiao": _package_version(),
        "pyodide": fetch.load_lock()["pyodide"].version,
        "content_security_policy": check.content_security_policy(b.out),
        "engine": b.engine,
    }
    b.version = offline.write_version_json(b.out, content, b.startup, extra)
    files = offline.manifest(b.out)
    offline.write_service_worker(b.out, files, b.version)


def _check(b: _Build) -> None:
    problems = check.precache_problems(b.out, offline.SW_NAME, offline.NOT_PRECACHED)
    problems += check.lock_problems(b.out / "pyodide" / runtime.LOCK_NAME)
    problems += [f"引用了其他网站：{ref}" for ref in check.off_origin_references(b.out)]
    if problems:
        raise SiteBuildError("站点检查未通过：\n" + "\n".join(problems))


STEPS: tuple[Step, ...] = (
    Step("artefacts", "核对下载件", ("build/artefacts.lock.json",), ("~/.cache/jixiao/artefacts",), _artefacts),
    Step("stage", "准备页面源文件", ("site_src/", "mkdocs.yml", "framework"), ("staging/",), _stage),
    Step("pages", "生成页面", ("staging/",), ("*.html", "assets/", "search/"), _pages),
    Step("prune", "精简", ("*.map", "sitemap.xml", "assets/javascripts/lunr/"), (), _prune),
    Step("runtime", "复制 Python 运行环境", ("pyodide npm",), ("pyodide/*.mjs", "pyodide/*.wasm", "pyodide/*.zip"),
         _runtime),
    Step("wheels", "打包并预编译 Python 包", ("locked wheels", "locked sdists", "py/jixiao/"), ("pyodide/*.whl",),
         _wheels),
    Step("lock", "写包清单与启动包", ("pyodide/*.whl", "upstream lock"),
         ("pyodide/pyodide-lock.json", "pyodide/jixiao-startup.zip"), _lock),
    Step("snapshot", "生成评分引擎快照", ("pyodide/",),
         ("pyodide/engine.snapshot.gz", "pyodide/stdlib-placeholder.zip"), _snapshot),
    Step("offline", "生成离线缓存", ("every file",), ("api/intake", "version.json", "sw.js"), _offline),
    Step("check", "检查", ("every file",), (), _check),
)


# --- driver -------------------------------------------------------------------------------------


def _package_version() -> str:
    try:
        return metadata.version("jixiao")
    except metadata.PackageNotFoundError:
        return "0"


def _tool_versions() -> dict[str, str]:
    found = {}
    for dist in ("mkdocs", "mkdocs-material", "pymdown-extensions", "pyodide-lock", "packaging", "setuptools"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "-"
    return found


def _tree_digest(digest: hashlib._Hash, label: str, root: Path) -> None:
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        rel = path.relative_to(root).as_posix() if path != root else ""
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(f"{label}/{rel}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def inputs_hash(framework_id: str = "jinxian-2021", *, src_dir: Path = DEFAULT_SRC,
                config_file: Path = DEFAULT_CONFIG, precompile: bool = True, portable: bool = False) -> str:
    """Hash of everything the build reads: sources, package, build scripts, lock, options, tools."""
    digest = hashlib.sha256()
    params = {
        "framework_id": framework_id,
        "precompile": precompile,
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        "tools": _tool_versions(),
    }
    if portable:
        params["portable"] = True
    digest.update(json.dumps(params, sort_keys=True).encode())
    for label, root in (
        ("site_src", src_dir),
        ("mkdocs.yml", config_file),
        ("py/jixiao", REPO / "py" / "jixiao"),
        ("build", BUILD_DIR),
        ("pyproject.toml", REPO / "pyproject.toml"),
    ):
        if root.exists():
            _tree_digest(digest, label, root)
    return digest.hexdigest()


def site_is_current(out_dir: Path, framework_id: str = "jinxian-2021", *, src_dir: Path = DEFAULT_SRC,
                    config_file: Path = DEFAULT_CONFIG, precompile: bool = True, portable: bool = False) -> bool:
    """True when ``out_dir`` holds a complete build of exactly the present inputs."""
    out_dir = Path(out_dir)
    try:
        stamp = json.loads((out_dir / offline.STAMP_NAME).read_text(encoding="utf-8"))
        version = json.loads((out_dir / offline.VERSION_NAME).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return False
    if stamp.get("version") != version or (not portable and not (out_dir / offline.SW_NAME).is_file()):
        return False
    expected = inputs_hash(framework_id, src_dir=src_dir, config_file=config_file, precompile=precompile,
                           portable=portable)
    return bool(stamp.get("inputs") == expected)


def _transfer_size(path: Path) -> int:
    if path.suffix.lower() in COMPRESSED:
        return path.stat().st_size
    data = path.read_bytes()
    return min(len(data), len(gzip.compress(data, compresslevel=6, mtime=0)))


@contextlib.contextmanager
def _display(progress: Progress | None, total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar over the steps when asked for; yields ``start(title)``."""
    if progress is None:
        yield lambda title: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("构建站点", total=total)
        started = [False]

        def start(title: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=title)

        yield start
        bar.update(task, completed=total, description="构建完成")


def _swap_into_place(built: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``built`` with two renames; the old site is deleted afterwards
    (checked again first: the build takes minutes, and the folder may have changed meanwhile)."""
    offline.check_replaceable(out_dir)
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    built.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _work_folder(out_dir: Path) -> Path:
    """The sibling folder the build writes into; a folder that cannot be made is said in Chinese."""
    from jixiao.io.errors import cannot_write

    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    except OSError as exc:
        raise SiteBuildError(f"无法在 {out_dir.parent} 中创建文件夹（{cannot_write(exc, out_dir.parent)}）") from None


def build_site(out_dir: Path, framework_id: str = "jinxian-2021", portable: bool = False,
               progress: Progress | None = None, *, src_dir: Path = DEFAULT_SRC,
               config_file: Path = DEFAULT_CONFIG, precompile: bool = True) -> BuildReport:
    """Build the whole site into ``out_dir`` (replaced only when the build succeeds, and only if it
    is empty or an earlier build: `offline.check_replaceable`).

    ``progress``, when given, receives every log line (mkdocs' included) while a rich progress
    bar shows the steps on stderr. ``precompile=False`` ships the wheels as they are (only for
    measuring what the bytecode buys). ``portable=True`` builds the edition opened from a
    folder by double-click (file://): see build/portable.py.
    """
    steps = portable_mod.steps(STEPS, sys.modules[__name__]) if portable else STEPS
    out_dir = Path(out_dir).resolve()
    offline.check_replaceable(out_dir)
    log: list[str] = []

    def say(message: str) -> None:
        log.append(message)
        if progress is not None:
            progress(message)

    hashed = inputs_hash(framework_id, src_dir=src_dir, config_file=config_file, precompile=precompile,
                         portable=portable)
    built = _work_folder(out_dir)
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="jixiao-site-") as tmp:
            b = _Build(out=built, staging=Path(tmp) / "staging", work=Path(tmp) / "work", src_dir=Path(src_dir),
                       config_file=Path(config_file), framework_id=framework_id, precompile=precompile, say=say)
            b.staging.mkdir()
            b.work.mkdir()
            with _display(progress, len(steps)) as start:
                for step in steps:
                    start(step.title)
                    began = time.monotonic()
                    step.run(b)
                    seconds[step.name] = round(time.monotonic() - began, 2)
                    say(f"{step.title}：{seconds[step.name]:.1f} 秒")
        stamp = {"inputs": hashed, "version": b.version, "framework_id": framework_id,
                 "files": offline.folder_entries(built)}  # what a later build may replace
        (built / offline.STAMP_NAME).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        built.chmod(0o755)  # mkdtemp makes 0700; a server running as another user must read it
        _swap_into_place(built, out_dir)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    paths = [out_dir / rel for rel in offline.site_files(out_dir) if rel != offline.STAMP_NAME]
    transfer = {p: _transfer_size(p) for p in paths}
    engine_files = [*b.startup, "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "assets/js/engine.js",
                    "assets/js/worker.js", offline.VERSION_NAME]
    if portable:
        engine_files = portable_mod.engine_files(b.startup)
    startup = [out_dir / rel for rel in engine_files if (out_dir / rel).is_file()]
    return BuildReport(
        out_dir=out_dir,
        version=b.version,
        files=len(paths),
        total_bytes=sum(p.stat().st_size for p in paths),
        transfer_bytes=sum(transfer.values()),
        startup_bytes=sum(p.stat().st_size for p in startup),
        startup_transfer_bytes=sum(transfer[p] for p in startup),
        precompiled=b.precompiled,
        seconds=seconds,
        log=log,
    )
