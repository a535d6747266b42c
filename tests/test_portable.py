"""The portable edition (issue #7): the portal opened from a folder by double-click (file://).

- The build's own pieces: our ES modules become function-scoped classic code (and a form the
  transform does not know stops the build); pyodide.asm.mjs becomes a classic script; the
  folder holds no service worker, no module script, no search, and names no other origin;
  ``--zip`` packs the folder reproducibly.
- In Debian's Chromium with default flags, through a ``file://`` URL: the 填报 page imports the
  seed through 导入草稿 (98, 优, the two missing deviation reasons), re-scores an edit, keeps the
  draft over a reload, exports it as a file, makes a WebCrypto key and exports a signed bundle
  that ``jixiao verify`` accepts; the 核验 page verifies bundles; no page throws; and no request
  is anything but a file of the folder (``file_page`` checks that at teardown).

Conditions are polled with ``page.evaluate`` (``poll_until``), as on the served site.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    deviation_errors,
    export_signed_bundle,
    import_seed_draft,
    load_build_module,
    open_form,
    poll_until,
    shown_verdicts,
    type_into,
    wait_saved,
    wait_total,
)
from jixiao_process import broken_signature, cli_signed_bundle, run_jixiao

portable = load_build_module("portable")
site = load_build_module("site")

FORM = "#jixiao-form"
BUDGET_RATE = "indicators.0.groups.1.items.0.score"  # 预算完成率（2分）, seed score 2


# --- the transform ---------------------------------------------------------------------------------


def test_a_module_becomes_a_function_body() -> None:
    source = (
        'import { a, b as c } from "./x.js";\n'
        "const SITE = new URL('../../', import.meta.url);\n"
        "export const ANSWER = 42;\n"
        "export async function go() { return (await import(\"./y.js\")).y + c; }\n"
        "export class Thing {}\n"
        "const GLUE = `\nimport json, traceback\nfrom jixiao.browser import evaluate_json\n`;\n"
    )
    body, deps = portable.module_to_function("m.js", source)
    assert deps == ["x.js"]
    assert 'const { a, b: c } = __jx_require("x.js");' in body
    assert "__jx_meta.url" in body and "import.meta" not in body
    assert '__jx_import("./y.js")' in body
    assert "\nconst ANSWER = 42;" in body and "\nasync function go()" in body and "\nclass Thing" in body
    assert "import json, traceback" in body  # Python inside a template string is left alone
    assert body.rstrip().endswith("return { ANSWER, go, Thing };")


@pytest.mark.parametrize("line", [
    "export default function main() {}",
    "export { a, b };",
    'import thing from "./x.js";',
    'import * as all from "./x.js";',
    'import "./side-effect.js";',
])
def test_module_forms_the_transform_does_not_know_stop_the_build(line: str) -> None:
    with pytest.raises(portable.PortableBuildError, match=r"m\.js 第 1 行"):
        portable.module_to_function("m.js", line + "\n")


def test_the_bundle_follows_static_and_dynamic_imports_and_the_worker() -> None:
    sources = {
        "app.js": 'import { f } from "./form.js";\nimport("./engine.js");\n',
        "form.js": "export function f() {}\n",
        "engine.js": "export class Engine {}\n",
        "worker.js": "self.postMessage(1);\n",
        "unused.js": "export const nobody = 1;\n",
    }
    text = portable.modules_to_classic(sources, ["app.js"], "// runtime\n")
    defined = [line.split('"')[1] for line in text.splitlines() if line.startswith("__jx_define(")]
    assert defined == ["app.js", "form.js", "engine.js", "worker.js"]
    assert '__jx_define("worker.js", true,' in text and '__jx_define("app.js", false,' in text
    assert text.rstrip().endswith('__jx_start("app.js");')
    with pytest.raises(portable.PortableBuildError, match=r"missing\.js"):
        portable.modules_to_classic({"app.js": 'import { x } from "./missing.js";\n'}, ["app.js"], "")


def test_pyodide_asm_becomes_a_classic_script() -> None:
    text = "async function _createPyodideModule(){var s=import.meta.url}\nexport default _createPyodideModule;\n"
    out = portable.classic_pyodide_asm(text)
    assert "export" not in out and "import.meta" not in out
    assert "globalThis._createPyodideModule = _createPyodideModule;" in out
    assert '(globalThis.__jxPyodideBase + "pyodide.asm.mjs")' in out
    with pytest.raises(portable.PortableBuildError, match="Pyodide"):
        portable.classic_pyodide_asm("export default somethingElse;")


def test_data_scripts_round_trip() -> None:
    import base64
    import gzip

    payload = bytes(range(256)) * 40
    for name in ("a.wasm", "b.whl"):
        text, packed = portable.data_script(name, payload)
        assert packed == (name == "a.wasm")
        encoded = text.split('"')[-2]
        raw = base64.b64decode(encoded)
        assert (gzip.decompress(raw) if packed else raw) == payload


def test_the_site_scripts_are_listed_as_entries() -> None:
    config = {"extra_javascript": [{"path": "assets/js/app.js", "type": "module"}, "assets/js/extra.js"]}
    assert portable.entry_modules(config) == ["app.js", "extra.js"]
    with pytest.raises(portable.PortableBuildError, match=r"vendor/x\.js"):
        portable.entry_modules({"extra_javascript": ["vendor/x.js"]})


# --- the built folder --------------------------------------------------------------------------------


def test_the_built_folder_is_whole_and_self_contained(portable_site: Path) -> None:
    assert portable.problems(portable_site, site) == []
    assert not (portable_site / "sw.js").exists()
    assert not list(portable_site.glob("pyodide/*.whl"))
    assert not (portable_site / "pyodide" / "pyodide.asm.wasm").exists()
    assert sorted(p.name for p in (portable_site / "assets" / "js").iterdir()) == ["portable.js"]
    fill = (portable_site / "fill.html").read_text(encoding="utf-8")
    assert 'data-testid="portable-note"' in fill and "导出草稿" in fill
    assert 'src="assets/js/portable.js"' in fill and 'type="module"' not in fill
    assert "md-search" not in fill  # mkdocs search is left out (its worker cannot start on file://)
    version = json.loads((portable_site / "version.json").read_text(encoding="utf-8"))
    assert version["edition"] == "portable" and "pyodide/pyodide.asm.wasm" in version["startup"]
    # A portable build never passes for the served site (their inputs hash differently).
    assert site.inputs_hash(portable=True) != site.inputs_hash()
    assert not site.site_is_current(portable_site)


def test_a_damaged_folder_is_reported(portable_site: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(portable_site, copy)
    (copy / "pyodide" / "data" / "python_stdlib.zip.js").unlink()
    (copy / "sw.js").write_text("", encoding="utf-8")
    page = copy / "guide.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", '<img src="https://cdn.example/x.png"></body>'),
                    encoding="utf-8")
    found = portable.problems(copy, site)
    assert any("python_stdlib.zip" in p for p in found), found
    assert any("sw.js" in p for p in found), found
    assert any("cdn.example" in p for p in found), found


def test_zip_holds_the_folder_reproducibly(portable_site: Path, tmp_path: Path) -> None:
    first = portable.zip_folder(portable_site, tmp_path / "a.zip")
    second = portable.zip_folder(portable_site, tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        names = set(zf.namelist())
    expected = {f"{portable_site.name}/{rel}" for rel in site.check.site_files(portable_site)
                if rel != ".jixiao-build.json"}
    assert names == expected


def test_the_cli_builds_the_portable_edition_and_zips_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`jixiao build-site --portable --zip`: the flag reaches build_site, DIR.zip holds the folder.
    (The build itself is stood in for by a small folder: the real one is tested above.)"""
    from click.testing import CliRunner

    from jixiao.cli import cli

    calls: list[dict[str, Any]] = []

    def fake_build(out_dir: Path, **kwargs: Any) -> Any:
        calls.append(kwargs)
        out = Path(out_dir).resolve()
        (out / "pyodide").mkdir(parents=True)
        (out / "index.html").write_text("<p>便携版</p>", encoding="utf-8")
        (out / "pyodide" / "pyodide.js").write_text("//", encoding="utf-8")

        class Report:
            out_dir = out

            @staticmethod
            def summary() -> str:
                return "built"

        return Report()

    monkeypatch.setattr(site, "build_site", fake_build)
    result = CliRunner().invoke(cli, ["build-site", "--portable", "--zip", "-o", str(tmp_path / "usb")])
    assert result.exit_code == 0, result.output
    assert calls and calls[0]["portable"] is True
    with zipfile.ZipFile(tmp_path / "usb.zip") as zf:
        assert sorted(zf.namelist()) == ["usb/index.html", "usb/pyodide/pyodide.js"]
    assert "usb.zip" in result.output
    calls.clear()
    assert CliRunner().invoke(cli, ["build-site", "-o", str(tmp_path / "served")]).exit_code == 0
    assert calls[0]["portable"] is False and not (tmp_path / "served.zip").exists()


# --- in the browser, from file:// ----------------------------------------------------------------------


@pytest.mark.browser
def test_fill_score_drafts_and_signed_export_from_file_url(file_page: Any, portable_site: Path,
                                                           tmp_path: Path) -> None:
    page = file_page
    page.on("dialog", lambda dialog: dialog.accept())  # "检查发现 2 个错误。仍要导出？" → yes
    url = (portable_site / "fill.html").as_uri()
    assert url.startswith("file:///")
    open_form(page, url)
    note = page.locator("[data-testid=portable-note]").inner_text()
    assert "便携版" in note and "导出草稿" in note and "这台电脑" in note

    import_seed_draft(page, tmp_path)
    state = wait_total(page, "98")
    assert (state["total"], state["grade"]) == ("98", "优")
    errors = deviation_errors(state)
    assert len(errors) == 2, state["findings"]
    assert any("服务群众办事效率" in f["text"] for f in errors), errors
    assert any("提升群众满意率" in f["text"] for f in errors), errors
    # No service worker on file://: the page says what that means instead of a failure.
    assert state["offline"] == "portable" and "便携版" in state["badge"], state

    # An edit is re-scored on the main thread.
    type_into(page, BUDGET_RATE, "1")
    state = wait_total(page, "97")
    assert state["grade"] == "优"

    # The draft lives in this browser's IndexedDB: a reload finds it.
    wait_saved(page)
    draft = state["draftId"]
    page.reload()
    state = wait_total(page, "97")
    assert state["draftId"] == draft
    assert page.locator(f'{FORM} [data-path="{BUDGET_RATE}"]').input_value() == "1"

    # 导出草稿 writes it out as a file (to carry to another computer).
    with page.expect_download() as info:
        page.click("#jx-draft-export")
    exported = tmp_path / "draft.json"
    info.value.save_as(str(exported))
    assert json.loads(exported.read_text(encoding="utf-8"))["unit_name"] == "进贤县科技和工业信息化局"

    # A WebCrypto key (file:// is a secure context) and a signed bundle the CLI accepts.
    poll_until(page, "() => document.querySelector('#jx-export')?.dataset.bundleState === 'ready'", timeout=180,
               what="export section ready")
    assert page.evaluate("() => document.querySelector('#jx-export').dataset.signing") == "webcrypto"
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'webcrypto'", what="key made")
    shown = page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip()
    zip_path, data = export_signed_bundle(page, tmp_path / "out")
    assert zip_path.name.endswith("-整体支出绩效自评.zip"), zip_path.name
    proc = run_jixiao("verify", "--json", str(zip_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [verdict] = json.loads(proc.stdout)
    assert verdict["ok"] and verdict["fingerprints"] == [shown], verdict
    assert data["exportFingerprint"] == shown
    print(f"\nportable export (WebCrypto key, from file://): {data['exportMs']} ms")
    assert not page.errors, page.errors
    assert page.requests and all(u.startswith(("file://", "blob:", "data:")) for u in page.requests)


@pytest.mark.browser
def test_the_verify_page_works_from_file_url(file_page: Any, portable_site: Path, tmp_path: Path) -> None:
    _seed, _keyfile, fingerprint, good = cli_signed_bundle(tmp_path)
    files, name = broken_signature(good)
    bad = tmp_path / "tampered.json"
    bad.write_bytes(files[name])

    page = file_page
    page.goto((portable_site / "verify.html").as_uri())
    assert "便携版" in page.locator("[data-testid=portable-note]").inner_text()
    poll_until(page, "() => document.querySelector('#jx-verify')?.dataset.engineState === 'ready'", timeout=180,
               what="verify page ready")
    page.set_input_files("[data-testid=verify-files]", [str(good), str(bad)])
    poll_until(page, "() => document.querySelectorAll('[data-testid=verdict]').length === 2", what="two verdicts")
    verdicts = {v["name"]: v for v in shown_verdicts(page)}
    assert verdicts["good.zip"]["ok"] == "true", verdicts["good.zip"]["text"]
    assert fingerprint in verdicts["good.zip"]["text"]
    assert verdicts["tampered.json"]["ok"] == "false"
    assert "签名无效" in verdicts["tampered.json"]["text"], verdicts["tampered.json"]["text"]
    assert not page.errors, page.errors


@pytest.mark.browser
def test_a_folder_named_in_chinese_with_spaces_scores(browser: Any, portable_site: Path, tmp_path: Path) -> None:
    """A USB stick's folder is often named like this: every URL the page builds is percent-encoded."""
    import shutil

    copy = tmp_path / "U盘 备份" / "绩效 自评（便携版）"
    shutil.copytree(portable_site, copy)
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.new_page()
        page.goto((copy / "fill.html").as_uri())
        poll_until(page, "() => Number(document.querySelector('#jixiao-form')?.dataset.evaluatedSeq || 0) >= 1",
                   timeout=180, what="first score from a folder named in Chinese")
        assert page.evaluate("() => document.querySelector('#jixiao-form').dataset.engineState") == "ready"
        # restored from the engine snapshot, not started on the page's own thread
        phases = page.evaluate("() => JSON.parse(document.querySelector('#jixiao-form').dataset.enginePhases)")
        assert phases.get("snapshot") is True, phases
    finally:
        context.close()
    root = copy.as_uri() + "/"
    assert any("pyodide/data/" in u for u in requests)
    outside = [u for u in requests if not u.startswith((root, "data:", "blob:"))]
    assert not outside, outside


@pytest.mark.browser
def test_every_page_opens_without_errors(file_page: Any, portable_site: Path) -> None:
    page = file_page
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    for name in ("index.html", "guide.html", "framework.html", "keys.html", "offline.html"):
        page.goto((portable_site / name).as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("() => document.documentElement.dataset.jxEdition") == "portable", name
        assert page.locator(".md-search").count() == 0, name
        links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map((a) => a.href)")
        assert all(u.startswith(("file://", "blob:", "data:")) or u.startswith("#") for u in links), links
    # Even a script asking another origin is refused before it reaches the network.
    refused = page.evaluate("() => fetch('https://cdn.jsdelivr.net/x.js').then(() => 'fetched', (e) => e.message)")
    assert "便携版不访问网络" in refused, refused
    assert not page.errors, page.errors
    assert not console, console


# --- in Firefox (Debian's firefox-esr through Marionette), from file:// ---------------------------------


@pytest.mark.browser
def test_firefox_fills_scores_signs_and_verifies_from_file_url(portable_site: Path, tmp_path: Path) -> None:
    from firefox_marionette import BINARY, firefox

    if BINARY is None:
        if os.environ.get("CI", "").lower() == "true":  # ./dev installs it: missing in CI is a failure
            pytest.fail("firefox-esr is not installed (./dev test installs it)")
        pytest.skip("firefox-esr is not installed (apt-get install firefox-esr)")
    from jixiao.catalog import example_json

    seed = tmp_path / "seed.json"
    seed.write_text(example_json("jinxian-2021"), encoding="utf-8")
    downloads = tmp_path / "downloads"
    state_js = """const r = document.querySelector('#jixiao-form');
      return { total: r.querySelector('[data-testid=total-score]').textContent.trim(),
               grade: r.querySelector('[data-testid=grade]').textContent.trim(), draftId: r.dataset.draftId,
               seq: Number(r.dataset.evaluatedSeq || 0), offline: r.dataset.offline,
               codes: [...r.querySelectorAll('[data-testid=findings] li.jx-finding')].map((li) => li.dataset.code) };"""
    total_is = ("const r = document.querySelector('#jixiao-form'); return r.dataset.engineState === 'ready'"
                " && Number(r.dataset.evaluatedSeq || 0) >= 1"
                " && r.querySelector('[data-testid=total-score]').textContent.trim() === arguments[0];")
    with firefox(downloads) as ff:
        ff.go((portable_site / "fill.html").as_uri())
        ff.poll("return !!document.querySelector('#jixiao-form')?.dataset.draftId", what="drafts ready")
        before = ff.js("return document.querySelector('#jixiao-form').dataset.draftId")
        ff.upload("#jx-draft-import", seed)
        ff.poll("return document.querySelector('#jixiao-form').dataset.draftId !== arguments[0]", before,
                what="seed imported")
        ff.poll(total_is, "98", what="total 98")
        state = ff.js(state_js)
        assert (state["total"], state["grade"]) == ("98", "优")
        assert state["codes"].count("DEVIATION_REASON_MISSING") == 2, state["codes"]
        assert state["offline"] == "portable"

        ff.js(f"""const el = document.querySelector('#jixiao-form [data-path="{BUDGET_RATE}"]');
                  el.value = '1'; el.dispatchEvent(new Event('input', {{bubbles: true}}));
                  el.dispatchEvent(new Event('change', {{bubbles: true}}));""")
        ff.poll(total_is, "97", what="total 97 after an edit")
        ff.poll("return document.querySelector('#jixiao-form').dataset.draftState === 'saved'", what="saved")
        draft = ff.js(state_js)["draftId"]
        ff.go((portable_site / "fill.html").as_uri())
        ff.poll(total_is, "97", what="total 97 after reopening")
        assert ff.js(state_js)["draftId"] == draft  # IndexedDB works on file:// in Firefox too

        ff.poll("return document.querySelector('#jx-export')?.dataset.bundleState === 'ready'", what="export ready")
        assert ff.js("return document.querySelector('#jx-export').dataset.signing") == "webcrypto"
        ff.click("[data-testid=key-generate]")
        ff.poll("return document.querySelector('#jx-export').dataset.keyState === 'webcrypto'", what="key made")
        shown = ff.js("return document.querySelector('[data-testid=key-fingerprint]').textContent.trim()")
        ff.js("window.confirm = () => true;")  # "检查发现 2 个错误。仍要导出？" → yes
        ff.click("[data-testid=export-bundle]")
        ff.poll("return !!document.querySelector('#jx-export').dataset.exportMs", what="export finished")
        deadline = time.monotonic() + 60
        while not (zips := [p for p in downloads.glob("*.zip") if p.stat().st_size]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert zips, sorted(p.name for p in downloads.iterdir())
        proc = run_jixiao("verify", "--json", str(zips[0]))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        [verdict] = json.loads(proc.stdout)
        assert verdict["ok"] and verdict["fingerprints"] == [shown], verdict

        # The 核验 page takes the same bundle.
        ff.go((portable_site / "verify.html").as_uri())
        ff.poll("return document.querySelector('#jx-verify')?.dataset.engineState === 'ready'", what="verify ready")
        ff.upload("[data-testid=verify-files]", zips[0])
        ff.poll("return document.querySelectorAll('[data-testid=verdict]').length === 1", what="verdict")
        assert ff.js("return document.querySelector('[data-testid=verdict]').dataset.ok") == "true"
