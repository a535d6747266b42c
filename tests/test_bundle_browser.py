"""Signed bundles in the browser (Debian's Chromium through Playwright), checked by the CLI.

- A unit imports the seed, generates a WebCrypto Ed25519 key (non-extractable, kept in
  IndexedDB), exports the bundle; `jixiao verify` (the installed console script) accepts the
  download and names the fingerprint the page showed.
- The pure-Python fallback (forced with `?jx-signing=python`, as on a plain-HTTP intranet):
  key made in the worker and stored encrypted under a passphrase; a wrong passphrase is refused
  with a Chinese message and the key is kept; the right one exports a bundle the CLI accepts;
  the exported key file signs with `jixiao bundle` too.
- A CLI-made bundle verifies on the 核验 page; a tampered copy fails there with a reason.
- Every request stays on the test server (``page_logged`` checks it at teardown).

Playwright's ``wait_for_function`` needs ``eval``, which the site's CSP forbids: conditions are
polled with ``page.evaluate``.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    export_signed_bundle,
    open_form,
    open_form_with_seed,
    poll_until,
    shown_verdicts,
    wait_engine,
    wait_total,
    wait_warm,
)
from jixiao_process import broken_signature, cli_signed_bundle, run_jixiao

pytestmark = pytest.mark.browser
SCORE = '#jixiao-form [data-path="indicators.0.groups.1.items.0.score"]'


def cli_verify(path: Path) -> dict[str, Any]:
    proc = run_jixiao("verify", "--json", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [verdict] = json.loads(proc.stdout)
    return verdict


def test_webcrypto_key_and_export_verify_with_cli(page_logged: Any, site_server: str, tmp_path: Path) -> None:
    page = page_logged
    open_form_with_seed(page, site_server, tmp_path)
    assert page.evaluate("() => document.querySelector('#jx-export').dataset.signing") == "webcrypto"
    # No key yet: the export line names the next step (not a stale "wait for the engine").
    poll_until(page, "() => /请先生成签名密钥/.test(document.querySelector('#jx-export-status').textContent)",
               what="export hint without a key")
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'webcrypto'", what="key made")
    shown = page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip()
    assert len(shown.split(" ")) == 16 and all(len(g) == 4 for g in shown.split(" ")), shown
    # The private key is a non-extractable CryptoKey in IndexedDB.
    stored = page.evaluate("""async () => {
      const { loadKey } = await import('./assets/js/bundle.js');
      const k = await loadKey();
      return { kind: k.kind, extractable: k.privateKey.extractable, type: k.privateKey.type,
               alg: k.privateKey.algorithm.name };
    }""")
    assert stored == {"kind": "webcrypto", "extractable": False, "type": "private", "alg": "Ed25519"}

    wait_warm(page)
    zip_path, data = export_signed_bundle(page, tmp_path)
    assert zip_path.name == "2021-360124-KGX-进贤县科技和工业信息化局-整体支出绩效自评.zip" or zip_path.name.endswith(
        "-整体支出绩效自评.zip"), zip_path.name
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(n.rsplit(".", 1)[1] for n in zf.namelist()) == ["html", "json", "xlsx"]
    verdict = cli_verify(zip_path)
    assert verdict["ok"] and verdict["fingerprints"] == [shown], verdict
    assert data["exportFingerprint"] == shown

    # A unit whose draft is gone starts again from what it signed: 导入草稿 takes the signed .json.
    with zipfile.ZipFile(zip_path) as zf:
        [signed_name] = [n for n in zf.namelist() if n.endswith(".json")]
        signed_json = tmp_path / "signed" / signed_name
        signed_json.parent.mkdir()
        signed_json.write_bytes(zf.read(signed_name))
    before = page.evaluate("() => document.querySelector('#jixiao-form').dataset.draftId")
    page.get_by_label("导入草稿").set_input_files(str(signed_json))
    poll_until(page, "(b) => document.querySelector('#jixiao-form').dataset.draftId !== b", before,
               what="signed bundle imported as a draft")
    state = wait_total(page, "98")
    assert state["grade"] == "优"
    assert page.locator('#jixiao-form [data-path="unit_name"]').input_value() == "进贤县科技和工业信息化局"
    print(f"\nbrowser export (WebCrypto key, seed, incl. xlsx): {data['exportMs']} ms "
          f"(packages preloaded in {data['warmMs']} ms)")
    # A second export, everything warm: the steady-state figure.
    zip2, data2 = export_signed_bundle(page, tmp_path / "second")
    assert cli_verify(zip2)["ok"]
    print(f"browser export, second time: {data2['exportMs']} ms")

    # The 公钥登记表 downloads as standalone HTML carrying the same fingerprint.
    with page.expect_download() as info:
        page.click("[data-testid=key-sheet]")
    sheet = tmp_path / "sheet.html"
    info.value.save_as(str(sheet))
    text = sheet.read_text(encoding="utf-8")
    assert shown.split(" ")[0] in text and "<svg" in text
    assert all(u.startswith(site_server) or u.startswith(("blob:", "data:")) for u in page.requests)


def test_python_fallback_with_passphrase(page_logged: Any, site_server: str, tmp_path: Path) -> None:
    page = page_logged
    open_form_with_seed(page, site_server, tmp_path, "?jx-signing=python")
    assert page.evaluate("() => document.querySelector('#jx-export').dataset.signing") == "python"
    # No passphrase: a clear message, no key.
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => /口令/.test(document.querySelector('#jx-export-status').textContent)",
               what="asks passphrase")
    assert page.evaluate("() => document.querySelector('#jx-export').dataset.keyState") == "none"

    page.fill("[data-testid=key-passphrase]", "正确的口令 2022")
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'python'", timeout=180,
               what="passphrase key made")
    shown = page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip()

    # Wrong passphrase: refused in Chinese, the stored key untouched.
    page.fill("[data-testid=key-passphrase]", "错误的口令")
    page.click("[data-testid=export-bundle]")
    poll_until(page, "() => /口令不正确/.test(document.querySelector('#jx-export-status').textContent)",
               timeout=180, what="wrong passphrase refused")
    assert page.evaluate("() => document.querySelector('#jx-export').dataset.keyState") == "python"
    assert page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip() == shown

    page.fill("[data-testid=key-passphrase]", "正确的口令 2022")
    zip_path, data = export_signed_bundle(page, tmp_path)
    verdict = cli_verify(zip_path)
    assert verdict["ok"] and verdict["fingerprints"] == [shown], verdict
    print(f"\nbrowser export (pure-Python key, passphrase unlock included): {data['exportMs']} ms")

    # The key file moves to the CLI: same format, same passphrase.
    with page.expect_download() as info:
        page.click("[data-testid=key-export]")
    keyfile = tmp_path / "unit-key.json"
    info.value.save_as(str(keyfile))
    seed = tmp_path / "seed.json"
    out = tmp_path / "cli.zip"
    proc = run_jixiao("bundle", str(seed), "--key", str(keyfile), "-o", str(out), "--passphrase-env", "JX_PASS",
                   env={"JX_PASS": "正确的口令 2022"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert cli_verify(out)["fingerprints"] == [shown]


def test_cli_bundle_verifies_on_the_verify_page(page_logged: Any, site_server: str, tmp_path: Path) -> None:
    seed, keyfile, fingerprint, good = cli_signed_bundle(tmp_path)
    # Tampered: one byte of the envelope's signature flipped inside the zip's .json.
    files, _name = broken_signature(good)
    bad = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)

    # An .xlsx with one score edited after signing (openpyxl): the cell is named.
    import openpyxl

    from jixiao.render.xlsx import FORM_SHEET

    xlsx_name = next(n for n in files if n.endswith(".xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(files[xlsx_name]))
    ws = book[FORM_SHEET]
    row = next(c.row for r in ws.iter_rows() for c in r if c.value == "预算完成率（2分）")
    ws.cell(row, 8).value = 1
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    # Only the signed .json in the zip: its reason was folded away under 全部检查项, below lines
    # that all read well (签名有效, 评分复算一致).
    json_only = tmp_path / "json-only.zip"
    with zipfile.ZipFile(json_only, "w") as zf:
        name = next(n for n in files if n.endswith(".json"))
        zf.writestr(name, files[name])

    page = page_logged
    page.goto(site_server + "/verify.html")
    poll_until(page, "() => document.querySelector('#jx-verify')?.dataset.engineState === 'ready'", timeout=180,
               what="verify page ready")
    page.set_input_files("[data-testid=verify-files]", [str(good), str(bad), str(edited), str(json_only)])
    poll_until(page, "() => document.querySelectorAll('[data-testid=verdict]').length === 4", what="four verdicts")
    verdicts = {v["name"]: v for v in shown_verdicts(page)}
    summaries = dict(page.evaluate("""() => [...document.querySelectorAll('[data-testid=verdict]')]
      .map((v) => [v.dataset.name, v.querySelector('.jx-verdict-summary').textContent])"""))
    assert verdicts["json-only.zip"]["ok"] == "false"
    assert "压缩包：压缩包不完整：缺少 .xlsx、.html 文件" in summaries["json-only.zip"], summaries["json-only.zip"]
    assert "签名：签名无效：" in summaries["tampered.zip"] and "签名无效（签名无效" not in summaries["tampered.zip"]
    assert "签名时间（北京时间）：" in summaries["good.zip"], summaries["good.zip"]
    assert verdicts["good.zip"]["ok"] == "true", verdicts["good.zip"]["text"]
    assert fingerprint in verdicts["good.zip"]["text"] and "未对照名册" in verdicts["good.zip"]["text"]
    assert verdicts["tampered.zip"]["ok"] == "false"
    assert "签名无效" in verdicts["tampered.zip"]["text"], verdicts["tampered.zip"]["text"]
    assert verdicts["edited.xlsx"]["ok"] == "false"
    assert "“预算完成率（2分）”的得分，2 → 1" in verdicts["edited.xlsx"]["text"], verdicts["edited.xlsx"]["text"]
    ms = page.evaluate("() => document.querySelector('#jx-verify').dataset.verifyMs")
    print(f"\n核验 page: 2 bundles and an .xlsx verified in {ms} ms")

    # With the supervisor's signed roster: enrolled for this unit → passes and says so.
    supervisor, roster = tmp_path / "supervisor.json", tmp_path / "roster.json"
    unit_code = json.loads(seed.read_text(encoding="utf-8"))["unit_code"]
    for args in (("keygen", "-o", str(supervisor)),
                 ("roster", "init", str(roster), "--key", str(supervisor), "--name", "县财政局"),
                 ("roster", "add", str(roster), "--key", str(supervisor), "--unit-code", unit_code,
                  "--unit-name", "某单位", "--key-file", str(keyfile), "--valid-from", "2000-01-01")):
        assert (done := run_jixiao(*args)).returncode == 0, done.stdout + done.stderr
    page.set_input_files("[data-testid=verify-roster]", str(roster))
    poll_until(page, "() => /roster\\.json/.test(document.querySelector('#jx-verify-roster-name').textContent)",
               what="roster chosen")
    page.set_input_files("[data-testid=verify-files]", [str(good)])
    poll_until(page, "() => document.querySelectorAll('[data-testid=verdict]').length === 1", what="roster verdict")
    [with_roster] = shown_verdicts(page)
    assert with_roster["ok"] == "true" and "未对照名册" not in with_roster["text"], with_roster["text"]
    assert all(u.startswith(site_server) or u.startswith(("blob:", "data:")) for u in page.requests)


def test_preloading_for_export_waits_for_a_pause_and_lets_edits_through(page_logged: Any, site_server: str) -> None:
    """Loading openpyxl & co. for the first export held the worker for 1.7-1.9 s right after the
    first score, and the score of an edit typed then waited as long. Now it starts only when the
    unit pauses, and goes in steps with the edits' evaluations between them."""
    page = page_logged
    open_form(page, f"{site_server}/fill.html")
    wait_engine(page)
    poll_until(page, "() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq || 0) >= 1",
               what="first score")
    box = page.locator(SCORE)
    for n in range(20):  # two seconds of typing: no preloading yet
        box.fill(str(n % 3))
        time.sleep(0.1)
    assert not page.evaluate("() => document.querySelector('#jx-export').dataset.warmStartedAt")

    poll_until(page, "() => !!document.querySelector('#jx-export').dataset.warmStartedAt", what="preloading started")
    seq = page.evaluate("() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq)")
    box.fill("2")
    poll_until(page, f"() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq) > {seq}",
               what="the edit scored")
    scored_at = float(page.evaluate("() => document.querySelector('#jixiao-form').dataset.evaluatedAt"))
    poll_until(page, "() => !!document.querySelector('#jx-export').dataset.warmDoneAt", what="preloading done")
    section = page.evaluate("() => ({...document.querySelector('#jx-export').dataset})")
    assert float(section["warmStartedAt"]) < scored_at < float(section["warmDoneAt"]), section
    total = page.evaluate("() => document.querySelector('[data-testid=total-score]').textContent.trim()")
    assert total and total != "—"


def test_the_verify_page_shows_direction_overrides_instead_of_obeying_them(page_logged: Any, site_server: str,
                                                                           tmp_path: Path) -> None:
    """QA: a unit name ending in U+202E drew the text after it backwards on the 核验 page (the CLI
    shows such a character as \\u202e). Text the page writes shows it the CLI's way."""
    from bundle_helpers import SIGNED_AT, framework
    from consolidate_helpers import unit_key_for, unit_submission
    from jixiao.bundle import build_bundle

    sub = unit_submission("360124-ESC", "转义\u202e单位", "10", "10", 90)
    _, data = build_bundle(sub, framework(), unit_key_for("360124-ESC"), SIGNED_AT)
    path = tmp_path / "单位.zip"
    path.write_bytes(data)
    page = page_logged
    page.goto(site_server + "/verify.html")
    poll_until(page, "() => document.querySelector('#jx-verify')?.dataset.engineState === 'ready'", timeout=180,
               what="verify page ready")
    page.set_input_files("[data-testid=verify-files]", [str(path)])
    poll_until(page, "() => document.querySelectorAll('[data-testid=verdict]').length === 1", what="the verdict")
    text = page.locator("[data-testid=verdict]").text_content() or ""
    assert "转义\\u202e单位" in text and "\u202e" not in text, text
