"""The portable edition: the portal from a folder or USB stick, opened by double-click (file://).

Why: many units have no intranet web server. Browsers refuse ``fetch()``, module scripts and
workers on ``file://``, so the same pages and the same Python run differently there:

* our ES modules (site_src/docs/assets/js) become ONE classic script, ``assets/js/portable.js``:
  each module in its own function scope, imports turned into lookups in a small registry
  (``modules_to_classic``, a transform of our own code only, checked by tests);
* ``worker.js`` runs on the main thread behind the same ``Engine`` (``engine.js`` is handed a
  stand-in for ``Worker`` that talks over a ``MessageChannel``);
* ``offline.js`` is replaced by ``site_src/portable/portable-offline.js`` (no service worker);
* Pyodide's ``pyodide.asm.mjs`` becomes a classic script, and the wasm, the standard library,
  the lock and every wheel are shipped as base64 inside ``<script>`` files under
  ``pyodide/data/``; ``fetch`` is answered from them (``site_src/portable/portable-runtime.js``);
* mkdocs' search is left out (its worker cannot start on file://), and a plain Chinese note on
  the pages says what differs.

The build runs the normal pipeline (build/site.py) with three steps swapped in: ``portable``
(after staging: the derived mkdocs.yml and the classic bundle), ``pack`` (instead of the
service worker) and ``check``. Page and Python code are shared; the served site is unchanged.

    zip_folder(out_dir, zip_path)    # the folder as one zip, for handing round (--zip); an existing
                                     # zip is replaced only if it is an earlier one of this folder
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

BUILD_DIR = Path(__file__).resolve().parent
REPO = BUILD_DIR.parent
PORTABLE_SRC = "portable"  # under site_src/: portable-only page code, never served by the normal site
RUNTIME_JS = "portable-runtime.js"
BUNDLE = "assets/js/portable.js"
JS_PREFIX = "assets/js/"
# Modules swapped for a portable version (the module name the others import stays the same).
REPLACED = {"offline.js": "portable-offline.js"}
# Modules that run in the worker in the served site: here on the main thread, fresh per Engine.
WORKER_MODULES = ("worker.js",)
DATA_DIR = "pyodide/data"
FILES_PLACEHOLDER = "/*JX_PORTABLE_FILES*/{}"
# Already deflated: gzip would not shrink them.
NOT_GZIPPED = (".whl", ".zip")
NOTE_MARK = "jx-portable-note"
README_NAME = "使用说明.txt"


class PortableBuildError(RuntimeError):
    """The portable edition cannot be built as asked; the message says why, in Chinese."""


# --- our ES modules → one classic script -------------------------------------------------------

_STATIC_IMPORT = re.compile(
    r"""^import\s*\{(?P<names>[^}]*)\}\s*from\s*["']\./(?P<module>[\w.-]+\.js)["'];?[ \t]*$""", re.MULTILINE)
_EXPORT_DECL = re.compile(
    r"^export\s+(?P<kind>(?:async\s+)?function\*?|class|const|let)\s+(?P<name>[A-Za-z_$][\w$]*)", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\s*\(")
_LEFTOVER = re.compile(r"""^(?:export\s|import\s*[{*\w][^\n]*\bfrom\s*["']|import\s*["'])""", re.MULTILINE)


def _binding(spec: str) -> str:
    """``a as b`` → ``a: b`` (object destructuring)."""
    name, _, alias = (part.strip() for part in spec.partition(" as "))
    return f"{name}: {alias}" if alias else name


def module_to_function(name: str, text: str) -> tuple[str, list[str]]:
    """One ES module as the body of a function: (body, names of the modules it imports).

    Handles exactly the forms our code uses: ``import {a, b as c} from "./x.js"``, ``export``
    before function/class/const/let declarations, dynamic ``import(…)`` and ``import.meta.url``.
    Anything else (default exports, ``export {…}``, bare imports) is refused, so a new form in
    the page code fails the build instead of silently misbehaving on the USB stick.
    """
    deps: list[str] = []

    def static(match: re.Match[str]) -> str:
        module = match.group("module")
        deps.append(module)
        names = ", ".join(_binding(s) for s in match.group("names").split(",") if s.strip())
        return f"const {{ {names} }} = __jx_require({json.dumps(module)});"

    body = _STATIC_IMPORT.sub(static, text)
    exports = [m.group("name") for m in _EXPORT_DECL.finditer(body)]
    body = _EXPORT_DECL.sub(lambda m: f"{m.group('kind')} {m.group('name')}", body)
    body = _DYNAMIC_IMPORT.sub("__jx_import(", body)
    body = body.replace("import.meta.url", "__jx_meta.url")
    leftover = _LEFTOVER.search(body)
    if leftover or "import.meta" in body:
        line = body.count("\n", 0, leftover.start()) + 1 if leftover else 0
        raise PortableBuildError(f"便携版无法转换 {name} 第 {line} 行的模块语法"
                                 "（只支持 import {…} from \"./x.js\" 与 export 声明）")
    body += f"\nreturn {{ {', '.join(exports)} }};\n"
    return body, deps


def modules_to_classic(sources: Mapping[str, str], entries: list[str], runtime: str) -> str:
    """The runtime, then every module reachable from ``entries`` (static or dynamic imports), as
    ``__jx_define(name, isWorker, function (…) {…})``, then ``__jx_start(entry)`` for each."""
    order: list[str] = []
    bodies: dict[str, str] = {}
    todo = list(entries)
    while todo:
        name = todo.pop(0)
        if name in bodies:
            continue
        if name not in sources:
            raise PortableBuildError(f"便携版：找不到被引用的脚本 {name}")
        body, deps = module_to_function(name, sources[name])
        dynamic = re.findall(r"""__jx_import\(\s*["']\./([\w.-]+\.js)["']""", body)
        bodies[name] = body
        order.append(name)
        todo += deps + dynamic
        if name == "engine.js":
            todo += [w for w in WORKER_MODULES if w in sources]
    parts = [
        "// Generated by build/portable.py from site_src/docs/assets/js and site_src/portable: do not edit.\n"
        "// 便携版页面脚本：各模块各自在一个函数作用域中（经典脚本，可从 file:// 打开）。\n",
        runtime.rstrip() + "\n",
    ]
    for name in order:
        worker = name in WORKER_MODULES
        parts.append(
            f"\n__jx_define({json.dumps(name)}, {json.dumps(worker)}, "
            "function (__jx_require, __jx_import, __jx_meta, self, Worker) {\n\"use strict\";\n"
            f"{bodies[name].rstrip()}\n}});\n")
    parts += [f"\n__jx_start({json.dumps(entry)});" for entry in entries]
    parts.append("\n")
    return "".join(parts)


def page_modules(src_dir: Path) -> dict[str, str]:
    """Our page modules by file name, portable replacements swapped in under the original names."""
    js = src_dir / "docs" / "assets" / "js"
    portable = src_dir / PORTABLE_SRC
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(js.glob("*.js"))}
    for original, replacement in REPLACED.items():
        sources[original] = (portable / replacement).read_text(encoding="utf-8")
    return sources


# --- Pyodide as classic scripts and data scripts -----------------------------------------------


def classic_pyodide_asm(text: str) -> str:
    """``pyodide.asm.mjs`` as a classic script: its default export becomes a global, and
    ``import.meta.url`` the runtime's base (a folder is only known when the page opens)."""
    export = "export default _createPyodideModule;"
    if text.count(export) != 1 or text.count("import.meta.url") < 1:
        raise PortableBuildError("pyodide.asm.mjs 的结构与预期不同（Pyodide 版本变了？），无法制作便携版")
    text = text.replace(export, "globalThis._createPyodideModule = _createPyodideModule;")
    text = text.replace("import.meta.url", '(globalThis.__jxPyodideBase + "pyodide.asm.mjs")')
    if "import.meta" in text or re.search(r"^export\s", text, re.MULTILINE):
        raise PortableBuildError("pyodide.asm.mjs 仍含模块语法，无法制作便携版")
    return text


def data_script(name: str, data: bytes) -> tuple[str, bool]:
    """A classic script handing ``data`` (gzip-compressed where it shrinks) to the runtime."""
    packed = not name.endswith(NOT_GZIPPED)
    if packed:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    text = (f"__jxPortableData({json.dumps(name)}, {json.dumps(packed)}, "
            f'"{base64.b64encode(data).decode("ascii")}");\n')
    return text, packed


# --- steps ----------------------------------------------------------------------------------------


def _load_config(config_file: Path) -> dict[str, Any]:
    import yaml

    config: dict[str, Any] = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    return config


def entry_modules(config: Mapping[str, Any]) -> list[str]:
    """The page's module scripts as mkdocs.yml lists them (``assets/js/app.js`` → ``app.js``)."""
    entries = []
    for item in config.get("extra_javascript") or []:
        path = item.get("path", "") if isinstance(item, dict) else str(item)
        if not path.startswith(JS_PREFIX) or "/" in path[len(JS_PREFIX):]:
            raise PortableBuildError(f"便携版只支持 {JS_PREFIX} 下的页面脚本，mkdocs.yml 列出了 {path}")
        entries.append(path[len(JS_PREFIX):])
    return entries


def _derive_config(config_file: Path) -> None:
    """The staged mkdocs.yml for the portable pages: no search (its worker cannot start on
    file://), the classic bundle instead of the module scripts."""
    import yaml

    config = _load_config(config_file)
    plugins = config.get("plugins") or []
    config["plugins"] = [p for p in plugins if p != "search" and not (isinstance(p, dict) and "search" in p)]
    theme = config.get("theme") or {}
    theme["features"] = [f for f in theme.get("features") or [] if not str(f).startswith("search")]
    config["extra_javascript"] = [{"path": BUNDLE, "defer": True}]
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _portable(b: Any) -> None:
    src = b.staging / "site_src"
    runtime = (src / PORTABLE_SRC / RUNTIME_JS).read_text(encoding="utf-8")
    entries = entry_modules(_load_config(b.staging / "mkdocs.yml"))
    bundle = modules_to_classic(page_modules(src), entries, runtime)
    target = src / "docs" / BUNDLE
    target.write_text(bundle, encoding="utf-8")
    _derive_config(b.staging / "mkdocs.yml")
    b.say(f"便携版脚本：{len(bundle) / 1e3:.0f} kB")


NOTE_FULL = (
    "这是<strong>便携版</strong>：直接从本文件夹（如 U 盘）双击打开，不需要服务器，也不需要网络。"
    "与网站版的不同：评分程序在本页面内运行（没有后台线程），启动和评分时页面可能短暂停顿；"
    "不需要、也不使用离线缓存；站内搜索不可用。"
    "<strong>草稿只保存在这台电脑的这个浏览器里</strong>，换电脑、换浏览器或清除浏览数据后就看不到了："
    "请随时点“导出草稿”把草稿存成文件（可存回 U 盘），到别处用“导入草稿”继续。"
)
NOTE_VERIFY = "这是<strong>便携版</strong>：从本文件夹直接打开，不需要服务器和网络；核验在本页面内进行，文件不会上传。"
NOTE_OFFLINE = "您正在使用<strong>便携版</strong>：下文“方式 B：便携版”一节说明它与网站版的不同。"
NOTE_PAGES = {"index.html": NOTE_FULL, "fill.html": NOTE_FULL, "verify.html": NOTE_VERIFY, "offline.html": NOTE_OFFLINE}
ARTICLE = '<article class="md-content__inner md-typeset">'

README_TEXT = """部门整体支出绩效自评 · 便携版

使用方法：双击本文件夹中的 index.html（或 fill.html 直接填报），用新版 Chrome、Edge、Firefox
或国产浏览器的“极速模式”打开。不需要服务器，不需要网络，整个文件夹可以放在 U 盘里。

注意：草稿只保存在当前电脑的当前浏览器里。换电脑、换浏览器或清除浏览数据之前，请在填报页点
“导出草稿”，把草稿存成文件；到别处打开便携版后，用“导入草稿”继续填写。

请保持文件夹完整（不要只复制 index.html）：评分程序在 pyodide 文件夹中。
"""


def _add_notes(out: Path) -> None:
    for name, text in NOTE_PAGES.items():
        page = out / name
        if not page.is_file():
            continue
        html = page.read_text(encoding="utf-8")
        if html.count(ARTICLE) != 1:
            raise PortableBuildError(f"{name} 的页面结构与预期不同，无法加入便携版说明")
        note = (f'<div class="admonition info {NOTE_MARK}" data-testid="portable-note" role="note">'
                f'<p class="admonition-title">便携版</p><p>{text}</p></div>')
        page.write_text(html.replace(ARTICLE, ARTICLE + note), encoding="utf-8")


def _pack(b: Any, site: Any) -> None:
    """Pyodide as classic scripts and data scripts; notes on the pages; version.json."""
    out: Path = b.out
    folder = out / "pyodide"
    data_dir = out / DATA_DIR
    data_dir.mkdir(parents=True)
    loader = b.pyodide / "pyodide.js"
    if not loader.is_file():
        raise PortableBuildError(f"Pyodide 缺少经典脚本加载器 {loader}")
    (folder / "pyodide.js").write_bytes(loader.read_bytes())
    asm = folder / "pyodide.asm.mjs"
    (folder / "pyodide.asm.js").write_text(classic_pyodide_asm(asm.read_text(encoding="utf-8")), encoding="utf-8")
    asm.unlink()
    (folder / "pyodide.mjs").unlink()
    files: dict[str, dict[str, Any]] = {}
    payloads = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in ("pyodide.js", "pyodide.asm.js"))
    for path in payloads:
        raw = path.read_bytes()
        text, packed = data_script(path.name, raw)
        script = f"{DATA_DIR}/{path.name}.js"
        (out / script).write_text(text, encoding="ascii")
        files[f"pyodide/{path.name}"] = {"script": script, "size": len(raw), "gzip": packed,
                                         "sha256": hashlib.sha256(raw).hexdigest()}
        path.unlink()
    # Our ES modules live inside portable.js now; the module files are not shipped.
    js = out / "assets" / "js"
    for path in sorted(js.glob("*.js")):
        if path.name != Path(BUNDLE).name:
            path.unlink()
    _add_notes(out)
    (out / README_NAME).write_text(README_TEXT, encoding="utf-8")
    content = site.offline.manifest(out, exclude={site.offline.VERSION_NAME, site.offline.STAMP_NAME})
    extra = {"edition": "portable", "framework_id": b.framework_id, "jixiao": site._package_version(),
             "pyodide": site.fetch.load_lock()["pyodide"].version, "engine": b.engine}
    b.version = site.offline.write_version_json(out, content, b.startup, extra)
    version_text = (out / site.offline.VERSION_NAME).read_text(encoding="utf-8")
    table = {"version": b.version, "files": files, "inline": {"version.json": version_text}}
    bundle = out / BUNDLE
    text = bundle.read_text(encoding="utf-8")
    if text.count(FILES_PLACEHOLDER) != 1:
        raise PortableBuildError(f"{BUNDLE} 中应恰有一处 {FILES_PLACEHOLDER}")
    bundle.write_text(text.replace(FILES_PLACEHOLDER, json.dumps(table, ensure_ascii=False)), encoding="utf-8")
    total = sum(f["size"] for f in files.values())
    b.say(f"便携版：{len(files)} 个运行文件（{total / 1e6:.1f} MB）写成脚本，放在 {DATA_DIR}/")


def engine_files(startup: Mapping[str, int]) -> list[str]:
    """What the portable page reads before its engine is ready (for the build report)."""
    data = [f"{DATA_DIR}/{Path(rel).name}.js" for rel in startup]
    return [*data, "pyodide/pyodide.js", "pyodide/pyodide.asm.js", BUNDLE]


def problems(out: Path, site: Any) -> list[str]:
    """What is wrong with a built portable folder (empty when it is whole and self-contained)."""
    found: list[str] = []
    for name in ("index.html", "fill.html", "verify.html", BUNDLE, "pyodide/pyodide.js", "pyodide/pyodide.asm.js"):
        if not (out / name).is_file():
            found.append(f"缺少 {name}")
    for name in ("sw.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "search/search_index.json"):
        if (out / name).exists():
            found.append(f"便携版不应包含 {name}")
    for page in sorted(out.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        if 'type="module"' in html:
            found.append(f"{page.name} 仍以模块方式加载脚本（file:// 下浏览器拒绝）")
    bundle = (out / BUNDLE).read_text(encoding="utf-8") if (out / BUNDLE).is_file() else ""
    table = re.search(r"^\s*const FILES = (\{.*\});$", bundle, re.MULTILINE)
    if not table:
        found.append(f"{BUNDLE} 中没有运行文件清单")
    else:
        for rel, entry in json.loads(table.group(1))["files"].items():
            if not (out / entry["script"]).is_file():
                found.append(f"运行文件 {rel} 的脚本 {entry['script']} 不存在")
    for rel in site.check.site_files(out):
        if rel.startswith(DATA_DIR + "/") or not rel.lower().endswith(site.check.SCANNED_SUFFIXES):
            continue  # data scripts: one base64 string each, checked by the table above
        found += [f"引用了其他网站：{ref}" for ref in site.check.scan_file(out / rel, rel)]
    return found


def _check(b: Any, site: Any) -> None:
    found = problems(b.out, site)
    if found:
        raise PortableBuildError("便携版检查未通过：\n" + "\n".join(found))


def steps(base: tuple[Any, ...], site: Any) -> tuple[Any, ...]:
    """The site build's steps with the portable ones swapped in (no service worker, no sw check)."""
    by_name = {s.name: s for s in base}
    step = site.Step

    def with_site(run: Callable[[Any, Any], None]) -> Callable[[Any], None]:
        return lambda b: run(b, site)

    return (
        by_name["artefacts"], by_name["stage"],
        step("portable", "便携版脚本与页面配置", ("staging/",), ("staging/mkdocs.yml", BUNDLE), _portable),
        by_name["pages"], by_name["prune"], by_name["runtime"], by_name["wheels"], by_name["lock"], by_name["snapshot"],
        step("pack", "便携版打包运行文件", ("pyodide/",), (DATA_DIR + "/", "version.json"), with_site(_pack)),
        step("check", "检查", ("every file",), (), with_site(_check)),
    )


# --- zip -------------------------------------------------------------------------------------------


def check_zip_target(zip_path: Path, folder_name: str) -> None:
    """Refuse to replace ``zip_path`` unless it is an earlier zip of a folder named ``folder_name``
    (every entry under ``folder_name/``, its index.html and version.json among them)."""
    if not zip_path.exists() and not zip_path.is_symlink():
        return
    names: list[str] = []
    if zip_path.is_file() and not zip_path.is_symlink():
        try:
            with zipfile.ZipFile(zip_path) as zf:
                names = zf.namelist()
        except (OSError, ValueError, zipfile.BadZipFile):
            pass
    top = f"{folder_name}/"
    if names and all(n.startswith(top) for n in names) and {f"{top}index.html", f"{top}version.json"} <= set(names):
        return
    raise PortableBuildError(f"{zip_path} 已存在且不是之前打包的站点：不会覆盖，请先移走它或换一个输出文件夹")


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """``folder`` as one zip whose top-level entry is the folder itself (unzip → a folder to open).

    Reproducible: sorted entries, timestamps from SOURCE_DATE_EPOCH (else 1980-01-01). An existing
    ``zip_path`` is replaced only if it is an earlier zip of this folder (`check_zip_target`).
    """
    import tempfile
    import time

    from jixiao.io.errors import cannot_write

    folder = Path(folder).resolve()
    check_zip_target(zip_path, folder.name)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    stamp = time.gmtime(max(epoch, 315532800))[:6]
    try:
        handle, name = tempfile.mkstemp(prefix=f".{zip_path.name}.", suffix=".part", dir=zip_path.parent)
    except OSError as exc:
        raise PortableBuildError(f"无法创建 {zip_path}（{cannot_write(exc, zip_path)}）") from None
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = path.relative_to(folder).as_posix()
                if rel == ".jixiao-build.json":
                    continue
                info = zipfile.ZipInfo(f"{folder.name}/{rel}", date_time=stamp)  # type: ignore[arg-type]
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
        tmp.chmod(0o644)  # mkstemp makes 0600; the zip is for handing round
        check_zip_target(zip_path, folder.name)  # again: zipping takes a while
        tmp.replace(zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return zip_path
