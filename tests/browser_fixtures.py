"""Session fixtures for tests that need the built site, a server, or a real browser.

Use from a test module (or, once, from conftest.py so each fixture exists only once):

    from browser_fixtures import *  # noqa: F403  (built_site, site_server, browser, page_logged, …)

    @pytest.mark.browser
    def test_something(site_server, page_logged):
        page_logged.goto(site_server + "/fill.html")

* ``built_site`` -> Path: the site built once per session, or reused from ``.cache/test-site/``
  when ``site_is_current`` says no input changed (a file lock keeps parallel runs apart). Until
  the front end's pages exist, missing ones are stood in for by placeholders in a temp copy.
* ``site_server`` -> str: ``http://127.0.0.1:PORT`` serving ``built_site`` with the real
  server (uvicorn in a thread). Test-only pages: ``add_test_page(name, text)`` serves them at
  ``/_test/<name>`` without touching the built folder.
* ``browser``: Playwright (sync) driving Debian's Chromium, headless.
* ``page_logged``: a fresh context and page; ``page_logged.requests`` lists every request URL.
  At teardown the fixture fails the test if any request left the server's origin.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mimetypes
import os
import shutil
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jixiao import sitebuild

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "test-site"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"

# Front-end files the build needs; stood in for until they exist in site_src/.
PLACEHOLDERS = {
    "docs/index.md": "# 部门整体支出绩效自评\n\n（占位首页）[填报](fill.md)\n",
    "docs/guide.md": "# 填报说明\n\n（占位）\n",
    "docs/fill.md": "# 填报\n\n<!-- jixiao:form -->\n",
    "docs/offline.md": "# 离线使用\n\n（占位）\n",
    "docs/assets/js/app.js": "// 占位：页面脚本尚未写好\n",
    "docs/assets/css/portal.css": "/* 占位 */\n",
}

__all__ = [
    "add_test_page",
    "browser",
    "built_site",
    "deviation_errors",
    "export_signed_bundle",
    "export_status",
    "file_page",
    "form_state",
    "import_seed_draft",
    "load_build_module",
    "open_form",
    "open_form_with_seed",
    "page_logged",
    "poll_until",
    "portable_site",
    "requests_outside",
    "serving",
    "shown_verdicts",
    "site_server",
    "site_sources",
    "stand_in_renderer",
    "type_into",
    "wait_drafts",
    "wait_engine",
    "wait_saved",
    "wait_total",
    "wait_warm",
]


def load_build_module(name: str = "site") -> types.ModuleType:
    """``build/<name>.py``, loaded once as the CLI loads it (``jixiao.sitebuild``): the tests run from a checkout."""
    module = sitebuild.load_build_module(name)
    assert module is not None, f"build/{name}.py not found: the tests run from a source checkout"
    return module


def site_sources(tmp: Path) -> tuple[Path, Path]:
    """(site_src, mkdocs.yml) to build from: the real ones, or a copy with placeholders added."""
    src = REPO / "site_src"
    missing = [rel for rel in PLACEHOLDERS if not (src / rel).is_file()]
    if not missing:
        return src, REPO / "mkdocs.yml"
    overlay = tmp / "site_src"
    if src.is_dir():
        shutil.copytree(src, overlay, ignore=shutil.ignore_patterns("__pycache__"))
    for rel in missing:
        path = overlay / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PLACEHOLDERS[rel], encoding="utf-8")
    return overlay, REPO / "mkdocs.yml"


@contextlib.contextmanager
def stand_in_renderer() -> Iterator[bool]:
    """Provide ``jixiao.render.form`` with minimal stand-ins while the real one is missing.

    Yields True when the stand-in is in use.
    """
    try:
        from jixiao.render import form

        real = callable(getattr(form, "render_form", None)) and callable(
            getattr(form, "render_framework_page", None))
    except ImportError:
        real = False
    if real:
        yield False
        return
    fake = types.ModuleType("jixiao.render.form")
    fake.render_form = lambda fw: f'<form id="jx-form" data-framework="{fw.id}"><p>（表单占位）</p></form>'  # type: ignore[attr-defined]
    fake.render_framework_page = lambda fw: f"# 指标体系\n\n{fw.name}（占位）\n"  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as mp:
        if "jixiao.render" not in sys.modules:
            try:
                import jixiao.render  # noqa: F401
            except ImportError:
                package = types.ModuleType("jixiao.render")
                package.__path__ = []
                mp.setitem(sys.modules, "jixiao.render", package)
        mp.setitem(sys.modules, "jixiao.render.form", fake)
        mp.setattr(sys.modules["jixiao.render"], "form", fake, raising=False)
        yield True


def _build_or_reuse(out: Path, tmp: Path) -> Path:
    site = load_build_module("site")
    src, config = site_sources(tmp)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building the same folder
        with stand_in_renderer():
            if site.site_is_current(out, src_dir=src, config_file=config):
                return out
            started = time.monotonic()
            report = site.build_site(out, src_dir=src, config_file=config)
            print(f"\nbuilt the test site in {time.monotonic() - started:.1f} s: {report.summary()}", file=sys.stderr)
    return out


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site (reused from .cache/test-site/ when no input changed)."""
    fetch = load_build_module("fetch")
    try:
        return _build_or_reuse(CACHE, tmp_path_factory.mktemp("site-src"))
    except fetch.DownloadError as exc:
        if IN_CI:
            pytest.fail(f"artefact download failed in CI: {exc}")
        pytest.skip(f"artefact download failed (offline?): {exc}")


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free port; yields its base URL."""
    import uvicorn

    from jixiao.server import listen

    sock = listen("127.0.0.1", 0)  # as `jixiao serve` does (Nagle off: see listen)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


_TEST_PAGES: dict[str, str] = {}


def add_test_page(name: str, text: str) -> str:
    """Serve ``text`` at ``/_test/<name>`` on ``site_server``; returns that path."""
    _TEST_PAGES[name] = text
    return f"/_test/{name}"


@pytest.fixture(scope="session")
def site_server(built_site: Path) -> Iterator[str]:
    """Base URL of the real server (jixiao.server) serving the built site, in a thread."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from jixiao.server import create_app

    policy = json.loads((built_site / "version.json").read_text(encoding="utf-8"))["content_security_policy"]

    async def test_page(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _TEST_PAGES:
            return PlainTextResponse("no such test page", status_code=404)
        kind = mimetypes.guess_type(name)[0] or "text/plain"
        if kind == "application/javascript":
            kind = "text/javascript"
        # Under the site's own policy, so a test page proves what a real page may do.
        headers = {"Cache-Control": "no-store", "Content-Security-Policy": policy}
        return Response(_TEST_PAGES[name], media_type=kind, headers=headers)

    app = create_app(built_site, extra_routes=[Route("/_test/{name}", test_page)])
    with serving(app) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright's sync API (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def logged_page(browser: Any, site_server: str, service_workers: str = "allow") -> Iterator[Any]:
    """A new context and page; ``.requests`` logs every URL; on leaving, asserts none left the origin."""
    context = browser.new_context(service_workers=service_workers)
    context.set_default_timeout(60_000)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.requests = requests
    yield page
    context.close()
    offsite = requests_outside(requests, site_server)
    assert not offsite, f"requests left {site_server}: {offsite}"


@pytest.fixture
def page_logged(browser: Any, site_server: str) -> Iterator[Any]:
    with logged_page(browser, site_server) as page:
        yield page


# --- shared page helpers and the portable edition ------------------------------------------------

PORTABLE_CACHE = REPO / ".cache" / "test-portable"
# What a page shows when a poll times out: every portal root's data attributes and status line.
_PAGE_STATE = """() => {
  const pick = (sel) => { const el = document.querySelector(sel); return el ? {...el.dataset} : null; };
  const text = (sel) => document.querySelector(sel)?.textContent;
  return {form: pick('#jixiao-form'), status: text('#jx-status'), export: pick('#jx-export'),
          exportStatus: text('#jx-export-status'), verify: pick('#jx-verify'), verifyStatus: text('#jx-verify-status'),
          notices: text('#jx-notices')};
}"""


def poll_until(page: Any, script: str, arg: Any = None, timeout: float = 120, what: str = "") -> Any:
    """Poll ``script`` (a JS function of one argument) with ``page.evaluate`` until it returns
    something truthy. Not ``wait_for_function``: the served site's CSP forbids the ``eval`` it needs."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or script}: {page.evaluate(_PAGE_STATE)}")
        page.wait_for_timeout(50)


def open_form(page: Any, url: str) -> None:
    """Go to a 填报 page and wait for its fields."""
    page.goto(url)
    page.wait_for_selector("#jixiao-form [data-path]")


def form_state(page: Any) -> dict[str, Any]:
    """What the 填报 page shows: engine and draft state, total, grade and the findings."""
    state: dict[str, Any] = page.evaluate("""() => {
      const root = document.querySelector("#jixiao-form");
      return {
        engine: root.dataset.engineState,
        seq: Number(root.dataset.evaluatedSeq || 0),
        draft: root.dataset.draftState,
        draftId: root.dataset.draftId,
        offline: root.dataset.offline,
        badge: document.querySelector("#jx-offline-status")?.textContent || "",
        total: root.querySelector("[data-testid=total-score]").textContent.trim(),
        grade: root.querySelector("[data-testid=grade]").textContent.trim(),
        findings: [...root.querySelectorAll("[data-testid=findings] li.jx-finding")].map((li) => ({
          code: li.dataset.code,
          text: li.textContent,
          path: li.querySelector("button[data-target-path]")?.dataset.targetPath,
        })),
      };
    }""")
    return state


def wait_engine(page: Any) -> None:
    poll_until(page, "() => document.querySelector('#jixiao-form')?.dataset.engineState === 'ready'",
               what="engine ready", timeout=180)


def wait_total(page: Any, total: str) -> dict[str, Any]:
    """Wait until the engine is ready, an evaluation is shown and the total reads ``total``."""
    wait_engine(page)
    poll_until(page, """(total) => {
      const root = document.querySelector("#jixiao-form");
      return Number(root.dataset.evaluatedSeq || 0) >= 1
        && root.querySelector("[data-testid=total-score]").textContent.trim() === total;
    }""", total, what=f"total {total}")
    return form_state(page)


def deviation_errors(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of a ``form_state`` that ask for a missing deviation reason."""
    return [f for f in state["findings"] if f["code"] == "DEVIATION_REASON_MISSING"]


def wait_drafts(page: Any) -> str:
    """Wait until the drafts store is open; the current draft's id."""
    return str(poll_until(page, "() => document.querySelector('#jixiao-form')?.dataset.draftId",
                          what="drafts ready"))


def wait_saved(page: Any) -> None:
    poll_until(page, "() => document.querySelector('#jixiao-form').dataset.draftState === 'saved'",
               what="draft saved")


def type_into(page: Any, path: str, value: str) -> None:
    """Type into the field at ``path`` as a person does (``input``, then ``change``)."""
    box = page.locator(f'#jixiao-form [data-path="{path}"]')
    box.fill(value)
    box.dispatch_event("change")


def export_status(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('#jx-export-status').textContent"))


def shown_verdicts(page: Any) -> list[dict[str, Any]]:
    """The 核验 page's verdicts: ok ("true"/"false"), file name and text."""
    found: list[dict[str, Any]] = page.evaluate("""() => [...document.querySelectorAll('[data-testid=verdict]')]
      .map((v) => ({ ok: v.dataset.ok, name: v.dataset.name, text: v.textContent }))""")
    return found


def requests_outside(requests: list[str], origin: str) -> list[str]:
    """The requests that went anywhere but ``origin`` (blob: and data: are the page's own)."""
    return [u for u in requests if not (u.startswith(origin + "/") or u.startswith(("data:", "blob:")))]


def import_seed_draft(page: Any, tmp_path: Path, example: str = "jinxian-2021", name: str = "") -> Path:
    """Import the seed example through 导入草稿 on an open 填报 page (as ``name``, by default
    ``<example>.json``); returns the file imported."""
    from jixiao.catalog import example_json

    seed = tmp_path / (name or f"{example}.json")
    seed.write_text(example_json(example), encoding="utf-8")
    before = wait_drafts(page)
    page.get_by_label("导入草稿").set_input_files(str(seed))
    poll_until(page, "(b) => document.querySelector('#jixiao-form').dataset.draftId !== b", before,
               what="seed imported")
    return seed


def open_form_with_seed(page: Any, base: str, tmp_path: Path, query: str = "") -> None:
    """Open 填报 on the served site (``query`` e.g. ``?jx-signing=python``), accept every confirm(),
    import the seed as ``seed.json`` and wait until the export section is ready."""
    page.on("dialog", lambda dialog: dialog.accept())  # "检查发现 2 个错误。仍要导出？" → yes
    open_form(page, f"{base}/fill.html{query}")
    import_seed_draft(page, tmp_path, name="seed.json")
    poll_until(page, "() => document.querySelector('#jx-export')?.dataset.bundleState === 'ready'",
               timeout=180, what="export section ready")


def wait_warm(page: Any) -> None:
    """Wait until the signing packages are preloaded (the export section's ``warmMs``)."""
    poll_until(page, "() => !!document.querySelector('#jx-export').dataset.warmMs", timeout=120,
               what="bundle packages preloaded")


def export_signed_bundle(page: Any, out: Path) -> tuple[Path, dict[str, str]]:
    """Click 导出签名材料 (a key must exist); save the download into ``out``; the section's dataset."""
    page.evaluate("() => { delete document.querySelector('#jx-export').dataset.exportMs; }")
    with page.expect_download(timeout=180_000) as info:
        page.click("[data-testid=export-bundle]")
    download = info.value
    out.mkdir(parents=True, exist_ok=True)
    target = out / download.suggested_filename
    download.save_as(str(target))
    poll_until(page, "() => !!document.querySelector('#jx-export').dataset.exportMs", what="export finished")
    data: dict[str, str] = page.evaluate("() => ({...document.querySelector('#jx-export').dataset})")
    return target, data


def build_or_reuse_portable(out: Path = PORTABLE_CACHE) -> Path:
    """The portable edition in ``out``, rebuilt only when an input changed (file lock for parallel runs)."""
    site = load_build_module("site")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if site.site_is_current(out, portable=True):
            return out
        started = time.monotonic()
        report = site.build_site(out, portable=True)
        print(f"\nbuilt the portable edition in {time.monotonic() - started:.1f} s: {report.summary()}",
              file=sys.stderr)
    return out


@pytest.fixture(scope="session")
def portable_site() -> Path:
    """The portable edition (build_site(portable=True)), reused from .cache/test-portable/."""
    fetch = load_build_module("fetch")
    try:
        return build_or_reuse_portable()
    except fetch.DownloadError as exc:
        if IN_CI:
            pytest.fail(f"artefact download failed in CI: {exc}")
        pytest.skip(f"artefact download failed (offline?): {exc}")


@pytest.fixture
def file_page(browser: Any, portable_site: Path) -> Iterator[Any]:
    """A new context and page for the portable edition; ``.requests`` logs every URL and
    ``.errors`` every uncaught page error. At teardown: no request may be anything but a file of
    the portable folder (or data:/blob:), i.e. no network request at all."""
    context = browser.new_context()
    context.set_default_timeout(60_000)
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.requests = requests
    page.errors = errors
    yield page
    context.close()
    network = requests_outside(requests, portable_site.resolve().as_uri())
    assert not network, f"requests outside the portable folder: {network}"
