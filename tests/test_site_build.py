"""The built site: whole, pinned, offline-capable, and never reaching another origin.

One session build (``built_site``, reused from .cache/test-site/ when no input changed) feeds
every test here; one more build proves that a tampered artefact lock stops the build.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import add_test_page, load_build_module, site_sources, stand_in_renderer
from jixiao import __version__
from jixiao.catalog import example_json

site = load_build_module("site")
check = load_build_module("check")
fetch = load_build_module("fetch")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_file_is_precached_under_its_hash(built_site: Path) -> None:
    listing = check.precache_listing(built_site / "sw.js")
    on_disk = {p.relative_to(built_site).as_posix() for p in built_site.rglob("*") if p.is_file()}
    # api/intake answers "no intake" on a static host; the network (a real intake server) decides
    assert set(listing) == on_disk - {"sw.js", ".jixiao-build.json", "api/intake"}
    assert json.loads((built_site / "api" / "intake").read_text(encoding="utf-8"))["accepting"] is False
    for rel, revision in listing.items():
        assert _sha256(built_site / rel).startswith(revision), rel
    assert "pyodide/pyodide.asm.wasm" in listing  # the 9.6 MB runtime too
    version = json.loads((built_site / "version.json").read_text(encoding="utf-8"))["version"]
    assert f'const VERSION = "{version}";' in (built_site / "sw.js").read_text(encoding="utf-8")


def test_the_lock_lists_our_wheels_and_only_files_that_are_here(built_site: Path) -> None:
    lock = json.loads((built_site / "pyodide" / "pyodide-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    assert {"jixiao", "openpyxl", "ecdsa"} <= set(packages)
    assert not {"pydantic", "pydantic-core"} & set(packages)  # our records need no compiled package
    assert "numpy" not in packages  # upstream's 357 CDN-only entries are gone
    for key, entry in packages.items():
        path = built_site / "pyodide" / entry["file_name"]
        assert "/" not in entry["file_name"] and path.is_file(), key
        assert _sha256(path) == entry["sha256"], key
        assert set(entry["depends"]) <= set(packages), key
    # openpyxl (export) and the signing packages load on demand, not at startup
    assert packages["jixiao"]["depends"] == []
    assert lock["info"]["abi_version"] == "2026_0"
    assert sorted(p.name for p in (built_site / "pyodide").iterdir() if not p.name.endswith(".whl")) == [
        "engine.snapshot.gz", "jixiao-startup.zip", "pyodide-lock.json", "pyodide.asm.mjs", "pyodide.asm.wasm",
        "pyodide.mjs", "python_stdlib.zip", "stdlib-placeholder.zip"]


def test_the_engine_starts_from_one_zip_and_nothing_compiled(built_site: Path) -> None:
    """The engine's pure-Python package comes as one stored zip on sys.path (no unpacking in the
    browser), and nothing else is installed before the first score: no compiled side module."""
    import zipfile

    version = json.loads((built_site / "version.json").read_text(encoding="utf-8"))
    engine = version["engine"]
    assert engine == {"zip": "pyodide/jixiao-startup.zip", "packages": [], "snapshot": "pyodide/engine.snapshot.gz",
                      "stdlib_placeholder": "pyodide/stdlib-placeholder.zip"}
    shipped = zipfile.ZipFile(built_site / engine["zip"])
    names = set(shipped.namelist())
    assert {i.compress_type for i in shipped.infolist()} == {zipfile.ZIP_STORED}
    # Bytecode where zipimport looks for it: beside the module, never in __pycache__.
    assert {"jixiao/__init__.py", "jixiao/__init__.pyc", "jixiao/browser.pyc", "jixiao/model/base.pyc"} <= names
    assert not [n for n in names if "__pycache__" in n]
    assert {n.split("/")[0] for n in names} == {"jixiao", f"jixiao-{__version__}.dist-info"}
    assert any(n.startswith("jixiao/data/") and n.endswith(".json") for n in names)  # frameworks as resources
    # The progress bar counts what the first score waits for: the snapshot and the start-up zip,
    # not the standard library (written in after the engine is up).
    assert set(version["startup"]) == {"pyodide/pyodide.asm.wasm", "pyodide/pyodide-lock.json",
                                       "pyodide/engine.snapshot.gz", "pyodide/stdlib-placeholder.zip",
                                       "pyodide/jixiao-startup.zip"}


def test_wheels_carry_python_314_bytecode(built_site: Path) -> None:
    import zipfile

    own = next((built_site / "pyodide").glob("jixiao-*.whl"))
    names = zipfile.ZipFile(own).namelist()
    assert "jixiao/browser.py" in names  # our source stays, for readable tracebacks
    assert "jixiao/__pycache__/browser.cpython-314.pyc" in names
    openpyxl = next((built_site / "pyodide").glob("openpyxl-3*.whl"))
    names = zipfile.ZipFile(openpyxl).namelist()
    assert "openpyxl/workbook/workbook.pyc" in names and "openpyxl/workbook/workbook.py" not in names


def test_the_standard_library_ships_as_314_bytecode(built_site: Path) -> None:
    """Pyodide's stdlib zip holds sources; compiling them on each page load cost ~2 s of boot."""
    import importlib.util
    import zipfile

    upstream = zipfile.ZipFile(fetch.pyodide_dir() / "python_stdlib.zip").namelist()
    shipped = zipfile.ZipFile(built_site / "pyodide" / "python_stdlib.zip")
    names = shipped.namelist()
    sources = [n for n in upstream if n.endswith(".py")]
    assert len(sources) > 500
    assert not [n for n in names if n.endswith(".py")]
    assert sorted(n[:-1] for n in names if n.endswith(".pyc")) == sorted(sources)
    assert {n for n in upstream if not n.endswith(".py")} <= set(names)  # data files kept
    pyc = shipped.read("json/__init__.pyc")
    assert pyc[:4] != importlib.util.MAGIC_NUMBER  # not the host's (3.11) bytecode …
    assert pyc[4:8] == (1).to_bytes(4, "little")  # … but an unchecked-hash pyc (PEP 552)
    # Stored: zipimport would otherwise inflate each of the ~120 modules boot imports.
    assert {i.compress_type for i in shipped.infolist()} == {zipfile.ZIP_STORED}


def test_no_built_file_reaches_another_origin(built_site: Path) -> None:
    assert check.off_origin_references(built_site) == []


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("a.html", '<script src="https://cdn.example.com/x.js"></script>', ["https://cdn.example.com/x.js"]),
        ("a.html", '<link rel="stylesheet" href="//fonts.example.com/css">', ["//fonts.example.com/css"]),
        ("a.html", '<a href="https://www.example.gov.cn/">财政局</a>', ["https://www.example.gov.cn/"]),
        ("a.html", '<div style="background:url(https://x.example/a.png)"></div>', ["https://x.example/a.png"]),
        ("a.html", '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0"/></svg>', []),
        ("a.html", "<p>详见 https://www.example.gov.cn 的通知</p>", []),  # prose, not a link
        ("a.js", 'import x from "https://esm.example/x.js";', ["https://esm.example/x.js"]),
        ("a.js", 'await import("https://esm.example/y.js")', ["https://esm.example/y.js"]),
        ("a.js", "fetch(`https://api.example/v1`)", ["https://api.example/v1"]),
        ("a.js", 'new Worker("//w.example/w.js")', ["//w.example/w.js"]),
        ("a.js", "/*! licence: https://opensource.org/licenses/MIT */ const a = 1;", []),
        ("a.js", 'throw new Error("see https://docs.example/errors")', []),
        ("a.css", "@import url('https://fonts.example/css');", ["https://fonts.example/css"]),
        ("a.css", "a{background:url(data:image/svg+xml;base64,AAAA)}", []),
        ("a.json", '{"file_name": "https://cdn.example/pydantic.whl"}', ["https://cdn.example/pydantic.whl"]),
    ],
)
def test_the_origin_scan_flags_loads_not_prose(tmp_path: Path, name: str, text: str, found: list[str]) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert [ref.url for ref in check.off_origin_references(tmp_path)] == found


def test_the_404_page_speaks_chinese_and_leads_home(built_site: Path) -> None:
    """Material's own 404 page said "404 - Not found" on a site in Chinese."""
    page = (built_site / "404.html").read_text(encoding="utf-8")
    assert "<h1>404 - 找不到该页面</h1>" in page and "Not found" not in page
    assert '<a href="/index.html">首页</a>' in page


def test_inline_scripts_are_allowed_by_hash_only(built_site: Path) -> None:
    csp = json.loads((built_site / "version.json").read_text(encoding="utf-8"))["content_security_policy"]
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "'wasm-unsafe-eval'" in csp and "'unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")
    assert check.inline_script_hashes(built_site), "the theme's inline scripts need hashes"


def test_the_form_page_fetches_its_modules_from_the_head(built_site: Path) -> None:
    """The form's modules are fetched at once (modulepreload in the <head>), not when the parser
    reaches app.js at the end of the body; only on the 填报 page."""
    html = (built_site / "fill.html").read_text(encoding="utf-8")
    head = html[: html.index("</head>")]
    for name in ("app", "form", "results", "drafts", "draftfile", "remembered", "engine"):
        assert f'<link rel="modulepreload" href="assets/js/{name}.js">' in head, name
    assert "modulepreload" not in (built_site / "guide.html").read_text(encoding="utf-8")


def test_site_is_current_notices_a_changed_source(built_site: Path, tmp_path: Path) -> None:
    src, config = site_sources(tmp_path / "a")
    copy = tmp_path / "site_src"
    shutil.copytree(src, copy)
    with stand_in_renderer():
        assert site.site_is_current(built_site, src_dir=copy, config_file=config)
        (copy / "docs" / "guide.md").write_text("# 填报说明\n\n改过了。\n", encoding="utf-8")
        assert not site.site_is_current(built_site, src_dir=copy, config_file=config)
    assert not site.site_is_current(tmp_path / "nothing-here")


def test_a_tampered_artefact_lock_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel whose bytes do not match the pinned sha256 is refused and nothing is written."""
    lock = json.loads(fetch.LOCK_FILE.read_text(encoding="utf-8"))
    real = fetch.fetch(fetch.names_in("core", "export", "signing"))  # the verified real files
    cache = tmp_path / "cache"
    cache.mkdir()
    for path in real.values():
        shutil.copyfile(path, cache / path.name)
    victim = next(a for a in lock["artefacts"] if a["name"] == "et_xmlfile")
    victim["sha256"] = "0" * 64
    # "Download" the real bytes from a local copy: no network, and fetch must still refuse them.
    origin = tmp_path / "origin"
    origin.mkdir()
    shutil.copyfile(real["et_xmlfile"], origin / victim["filename"])
    victim["url"] = (origin / victim["filename"]).as_uri()
    tampered = tmp_path / "artefacts.lock.json"
    tampered.write_text(json.dumps(lock), encoding="utf-8")
    load_lock = fetch.load_lock
    monkeypatch.setattr(fetch, "load_lock", lambda path=tampered: load_lock(path))
    monkeypatch.setenv("JIXIAO_CACHE", str(cache))
    src, config = site_sources(tmp_path / "src")
    out = tmp_path / "out"
    with stand_in_renderer(), pytest.raises(fetch.ArtefactError, match=r"et_xmlfile .* 的 sha256 与锁定文件不符"):
        site.build_site(out, src_dir=src, config_file=config)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]


def test_a_form_page_without_its_marker_stops_the_build(tmp_path: Path) -> None:
    src, config = site_sources(tmp_path / "src")
    copy = tmp_path / "site_src"
    shutil.copytree(src, copy)
    (copy / "docs" / "fill.md").write_text("# 填报\n\n（忘了标记）\n", encoding="utf-8")
    with stand_in_renderer(), pytest.raises(site.SiteBuildError, match="jixiao:form"):
        site.build_site(tmp_path / "out", src_dir=copy, config_file=config)
    assert not (tmp_path / "out").exists()


SMOKE_JS = """
import { Engine, browserSupport } from "/assets/js/engine.js";
import { registerServiceWorker } from "/assets/js/offline.js";
const out = (window.__smoke = { support: browserSupport(), stages: [] });
try {
  const engine = new Engine();
  engine.onprogress = (p) => out.stages.push(p.stage);
  const ready = await engine.ready;
  out.readyMs = ready.ms;
  const submission = await (await fetch("/_test/example.json")).json();
  let t = performance.now();
  const ev = await engine.evaluate(submission, "jinxian-2021");
  out.firstMs = performance.now() - t;
  out.total = ev.total;
  out.grade = ev.grade;
  out.times = [];
  for (let i = 0; i < 50; i++) {
    t = performance.now();
    await engine.evaluate(submission, "jinxian-2021");
    out.times.push(performance.now() - t);
  }
  // latest wins: a burst of 8 calls costs one evaluation (the worker waits a turn before it
  // starts, so the burst has arrived), two at most: the one it started on (which answers every
  // call up to its own, one or a few) and the newest (which answers the rest, the last included).
  const burst = await Promise.all(Array.from({ length: 8 }, () => engine.evaluate(submission, "jinxian-2021")));
  out.burstAnswers = new Set(burst).size;
  const newest = burst[burst.length - 1], from = burst.indexOf(newest);
  out.burstRest = burst.slice(from).every((r) => r === newest) && burst.slice(0, from).every((r) => r === burst[0]);
  try {
    await engine.evaluate("{不是 JSON", "jinxian-2021");
  } catch (e) {
    out.badJson = e.message;
  }
  await engine.need(["openpyxl"]);
  out.offline = await registerServiceWorker({ after: engine.ready });
  await navigator.serviceWorker.ready;
  out.done = true;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
}
"""
SMOKE_HTML = """<!doctype html><meta charset="utf-8"><title>smoke</title>
<script type="module" src="/_test/smoke.js"></script>"""
OFFLINE_CHECK = """async (submission) => {
  const { Engine } = await import("/assets/js/engine.js");
  const engine = new Engine();
  const ready = await engine.ready;
  return { total: (await engine.evaluate(submission, "jinxian-2021")).total, readyMs: ready.ms };
}"""


def _wait(page: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    """Poll ``window.<name>`` until done (wait_for_function would need eval, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        result: dict[str, Any] | None = page.evaluate(f"window.{name}")
        if result and (result.get("done") or result.get("error")):
            break
        assert time.monotonic() < deadline, f"timed out waiting for window.{name}: {result}"
        page.wait_for_timeout(100)
    assert not result.get("error"), result["error"]
    return result


@pytest.mark.browser
def test_the_engine_scores_the_seed_in_chromium_and_offline(site_server: str, page_logged: Any) -> None:
    """Real Chromium, real server: 98/优, timings printed, then the same again with the network off."""
    add_test_page("smoke.html", SMOKE_HTML)
    add_test_page("smoke.js", SMOKE_JS)
    add_test_page("example.json", example_json("jinxian-2021"))
    console: list[str] = []
    page_logged.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page_logged.goto(site_server + "/_test/smoke.html")
    result = _wait(page_logged, "__smoke")
    assert result["support"] is None
    assert (result["total"], result["grade"]) == ("98", "优")
    assert result["burstAnswers"] in (1, 2) and result["burstRest"]
    assert result["badJson"].startswith("填报数据不是有效的 JSON")
    assert result["stages"][0] == "download" and result["stages"][-1] == "ready"
    assert result["offline"] == "offline-ready"
    times = sorted(result["times"])
    print(f"\nengine ready {result['readyMs']} ms; first evaluation {result['firstMs']:.0f} ms; "
          f"50 more: median {statistics.median(times):.1f} ms, p95 {times[int(0.95 * len(times)) - 1]:.1f} ms")

    # The service worker now holds every file: with the network off, a real page opens and
    # the engine boots and scores from the cache alone.
    page_logged.context.set_offline(True)
    page_logged.goto(site_server + "/index.html")
    assert page_logged.title()
    offline = page_logged.evaluate(OFFLINE_CHECK, example_json("jinxian-2021"))
    assert offline["total"] == "98"
    print(f"offline, from the service worker's cache: engine ready {offline['readyMs']} ms")
    page_logged.context.set_offline(False)
    assert not [line for line in console if "Content Security Policy" in line], console


def test_the_offline_page_states_the_folder_sizes_it_builds(built_site: Path, portable_site: Path) -> None:
    """An IT officer sizes the share or the USB stick from 离线使用: it said about 19 and 20 MB,
    for folders of 32 and 34 MB."""
    import re

    def megabytes(folder: Path) -> float:
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6

    text = (Path(__file__).resolve().parents[1] / "site_src" / "docs" / "offline.md").read_text(encoding="utf-8")
    stated = {name: float(size) for name, size in re.findall(r"得到文件夹 `([\w-]+)/`（约 (\d+) MB", text)}
    assert set(stated) == {"site", "jixiao-portable"}, stated
    for name, folder in (("site", built_site), ("jixiao-portable", portable_site)):
        actual = megabytes(folder)
        assert abs(stated[name] - actual) <= 0.15 * actual, (name, stated[name], actual)
