"""The 汇总 page in Chromium: a supervisor drops bundles and gets the same 附件4 as the CLI.

The department's own bundle, its three units' and a tampered fifth are dropped on the page
together. The table must match `jixiao consolidate` for the same files row by row, the tampered
file must be listed as rejected with its reason, and the downloaded .xlsx must hold the same
附件4 sheet as the command's (cell for cell). A progress bar moves a step per bundle checked,
painted as it goes, in the portable edition too (where Python runs on the page's thread).
Also: markup in a file name stays text; the same page works from the portable edition (file://).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from consolidate_helpers import TAMPERED, write_department
from jixiao.render.summary_xlsx import SHEET

pytestmark = pytest.mark.browser

JIXIAO = str(Path(sys.executable).with_name("jixiao"))
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "summary-page.png"
ROWS = """() => [...document.querySelectorAll('[data-testid=summary-row], [data-testid=summary-total]')].map((tr) =>
  Object.fromEntries([...tr.querySelectorAll('[data-field]')].map((c) => [c.dataset.field, c.textContent])))"""
DROP = """async (files) => {
  const dt = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type: name.endsWith('.zip') ? 'application/zip' : 'application/json' }));
  }
  const zone = document.querySelector('#jx-summary-drop');
  zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""
READY = "() => document.querySelector('#jx-summary')?.dataset.engineState === 'ready'"
WATCH = """() => {
  window.__jxStatuses = [];
  window.__jxBar = [];
  const status = document.querySelector('#jx-summary-status'), bar = document.querySelector('#jx-summary-progress');
  new MutationObserver(() => window.__jxStatuses.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
  new MutationObserver(() => window.__jxBar.push(bar.value)).observe(bar, { attributes: true });
  window.__jxFrames = [];  // the status line as each painted frame showed it
  const frame = () => { window.__jxFrames.push(status.textContent); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  document.querySelector('#jx-summary').dataset.sliceMs = '1';  // a slice a bundle: every step is seen
}"""
CHECKING = "正在核验签名材料：已核验"


def wait_until(page: Any, script: str, timeout: float = 180, what: str = "") -> Any:
    """Poll `script` (the site's CSP forbids Playwright's wait_for_function); on timeout, say where the page is."""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(script)):
        if time.monotonic() > deadline:
            state = page.evaluate("""() => ({...document.querySelector('#jx-summary').dataset,
              status: document.querySelector('#jx-summary-status').textContent})""")
            raise AssertionError(f"timed out waiting for {what}: {state}")
        page.wait_for_timeout(100)
    return value


def cli_summary(files: list[Path], out: Path) -> dict[str, Any]:
    proc = subprocess.run([JIXIAO, "consolidate", *map(str, files), "-o", str(out), "--json"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: a rejected input to look at
    return dict(json.loads(proc.stdout))


def sheet_values(data: bytes) -> list[list[Any]]:
    ws = openpyxl.load_workbook(io.BytesIO(data))[SHEET]
    return [[cell.value for cell in row] for row in ws.iter_rows()]


def assert_progress(page: Any, bundles: int) -> None:
    """The bar moved a step per checked bundle (from 10 % after reading to 95 % before the table)
    and ended full; a frame was painted while the checking was half done."""
    statuses, bar, frames = page.evaluate("() => [window.__jxStatuses, window.__jxBar, window.__jxFrames]")
    steps = [f"{CHECKING} {k} / {bundles} 份…" for k in range(1, bundles)]  # the last one gives way at once
    assert [s for s in statuses if s.startswith(CHECKING)] == steps and "正在生成附件4…" in statuses, statuses
    expected = [round((0.1 + 0.85 * k / bundles) * 100) for k in range(1, bundles + 1)]
    assert [v for v in bar if 10 < v < 100] == expected and bar[-1] == 100, bar
    assert any(f in steps for f in frames), frames


def test_drop_bundles_table_matches_cli_and_xlsx_downloads(page_logged: Any, site_server: str,
                                                           tmp_path: Path) -> None:
    files = write_department(tmp_path / "bundles")
    cli = cli_summary(files, tmp_path / "cli.xlsx")
    summary = cli["summary"]

    page = page_logged
    page.goto(site_server + "/summary.html")
    wait_until(page, READY, what="summary page ready")
    page.evaluate(WATCH)
    # An empty file dropped with them is listed as not taken, and the status line counts it apart.
    page.evaluate(DROP, [[f.name, base64.b64encode(f.read_bytes()).decode()] for f in files] + [["空的.zip", ""]])
    wait_until(page, "() => document.querySelector('#jx-summary').dataset.summarised === '1'", what="summary shown")

    # The table, row by row, is the command's.
    shown = page.evaluate(ROWS)
    expected = [{"index": str(r["index"]), "unit_name": r["unit_name"], "budget": r["budget"],
                 "executed": r["executed"], "rate": f"{r['rate']}%", "self_score": r["self_score"] or "",
                 "review_score": r["review_score"] or ""} for r in summary["rows"]]
    t = summary["total"]
    expected.append({"budget": t["budget"], "executed": t["executed"], "rate": f"{t['rate']}%",
                     "self_score": t["self_score"], "review_score": t["review_score"] or ""})
    assert shown == expected
    assert shown[-1]["budget"] == "5980.12" and shown[-1]["rate"] == "99.16%"  # consolidate_helpers' figures
    title = page.evaluate("() => document.querySelector('[data-testid=summary-title]').textContent")
    assert title == "2021年度部门整体支出自评情况汇总表"

    # The tampered bundle is listed with its reason, as the command lists it.
    rejected = page.evaluate("""() => [...document.querySelectorAll('[data-testid=summary-rejected]')].map((li) =>
      ({ name: li.dataset.name, text: li.textContent }))""")
    assert rejected[-1] == {"name": "空的.zip", "text": "空的.zip：文件是空的"}, rejected
    rejected = rejected[:-1]
    assert [r["name"] for r in rejected] == [Path(r["name"]).name for r in cli["rejected"]]
    assert TAMPERED[0] in rejected[0]["name"]
    assert cli["rejected"][0]["reasons"][0] in rejected[0]["text"] and "签名无效" in rejected[0]["text"]
    result = page.evaluate("() => document.querySelector('#jx-summary-result').textContent")
    assert "null" not in result and "undefined" not in result
    status = page.evaluate("() => document.querySelector('#jx-summary-status').textContent")
    assert "5 份签名材料：4 份通过，1 份未通过；另有 1 个文件未采用" in status, status

    # Progress was shown while the bundles were checked, one step a bundle, and ends full.
    assert_progress(page, 5)

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.evaluate("() => document.querySelector('#jx-summary-status').scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOT), full_page=False)  # docs/img/summary-page.png, linked from the README

    # The .xlsx downloads and reads back to the command's 附件4 sheet.
    with page.expect_download() as info:
        page.click("[data-testid=summary-download]")
    download = info.value
    assert download.suggested_filename == "2021-进贤县科技和工业信息化局-附件4部门整体支出自评情况汇总表.xlsx"
    saved = tmp_path / "page.xlsx"
    download.save_as(str(saved))
    assert sheet_values(saved.read_bytes()) == sheet_values((tmp_path / "cli.xlsx").read_bytes())


def test_unit_text_is_shown_as_text(page_logged: Any, site_server: str, tmp_path: Path) -> None:
    """A file name that looks like markup is shown as those characters, never run as HTML."""
    page = page_logged
    page.goto(site_server + "/summary.html")
    wait_until(page, READY, what="summary page ready")
    evil = '<img src=x onerror="window.__jxOwned=1">.json'
    page.evaluate(DROP, [[evil, base64.b64encode(b'{"payloadType": "x"}').decode()]])
    wait_until(page, "() => document.querySelector('#jx-summary').dataset.summarised === '1'", what="refusal shown")
    problem = page.evaluate("() => document.querySelector('[data-testid=summary-problem]').textContent")
    assert "没有通过核验的签名材料" in problem, problem
    [listed] = page.evaluate("""() => [...document.querySelectorAll('[data-testid=summary-rejected]')].map((li) =>
      [li.dataset.name, li.querySelector('strong').textContent])""")
    assert listed == [evil, evil]
    assert page.evaluate("() => document.querySelectorAll('#jx-summary-result img').length") == 0
    assert page.evaluate("() => window.__jxOwned") is None


def test_summary_page_works_from_file_url(file_page: Any, portable_site: Path, tmp_path: Path) -> None:
    """The portable edition (file://, Python on the main thread): the same table and rejection."""
    files = write_department(tmp_path / "bundles")
    page = file_page
    page.goto((portable_site / "summary.html").as_uri())
    wait_until(page, READY, what="summary page ready (portable)")
    page.evaluate(WATCH)
    page.set_input_files("[data-testid=summary-files]", [str(f) for f in files])
    wait_until(page, "() => document.querySelector('#jx-summary').dataset.summarised === '1'", what="summary shown")
    assert_progress(page, 5)  # Python shares the page's thread here: the bar still moves and is painted
    shown = page.evaluate(ROWS)
    assert [r.get("unit_name") for r in shown[:-1]] == ["进贤县科技和工业信息化局", "进贤县科技情报研究所",
                                                       "进贤县中小企业服务中心", "进贤县工业园区服务中心"]
    assert shown[-1]["budget"] == "5980.12" and shown[-1]["rate"] == "99.16%"
    rejected = page.evaluate("() => [...document.querySelectorAll('[data-testid=summary-rejected]')].length")
    assert rejected == 1
    with page.expect_download() as info:
        page.click("[data-testid=summary-download]")
    saved = tmp_path / "portable.xlsx"
    info.value.save_as(str(saved))
    assert sheet_values(saved.read_bytes())[8][:4] == ["合计", None, 5980.12, 5930.12]
    assert not page.errors, page.errors


def test_a_department_typed_and_entered_summarises_without_another_click(page_logged: Any, site_server: str,
                                                                         tmp_path: Path) -> None:
    """QA: after "分属多个主管部门…请填写", typing the department and pressing Enter did nothing
    until 重新汇总 was clicked."""
    from bundle_helpers import SIGNED_AT, framework
    from consolidate_helpers import unit_key_for, unit_submission
    from jixiao.bundle import build_bundle

    files = write_department(tmp_path / "bundles", tampered=False)
    school = unit_submission("360124-JY-01", "进贤县某学校", "10", "10", 90, department="进贤县教育局")
    name, data = build_bundle(school, framework(), unit_key_for("360124-JY-01"), SIGNED_AT)
    page = page_logged
    page.goto(site_server + "/summary.html")
    wait_until(page, READY, what="summary page ready")
    page.evaluate(DROP, [[f.name, base64.b64encode(f.read_bytes()).decode()] for f in files]
                  + [[name, base64.b64encode(data).decode()]])
    wait_until(page, "() => /多个主管部门/.test(document.querySelector('#jx-summary-status').textContent)",
               what="asked for a department")
    page.fill("#jx-summary-department", "进贤县教育局")
    page.press("#jx-summary-department", "Enter")
    wait_until(page, "() => document.querySelector('[data-testid=summary-title]') !== null"
                     " && document.querySelectorAll('[data-testid=summary-row]').length === 1",
               what="the department's table, on Enter")
    assert page.evaluate(ROWS)[0]["unit_name"] == "进贤县某学校"


def test_the_same_bundle_under_two_names_is_said_to_count_once(page_logged: Any, site_server: str,
                                                               tmp_path: Path) -> None:
    """QA: a bundle dropped again under another name read "2 份通过" beside one row, with no word
    about the second file."""
    files = write_department(tmp_path / "bundles", tampered=False)
    copy = tmp_path / "副本.zip"
    copy.write_bytes(files[1].read_bytes())
    page = page_logged
    page.goto(site_server + "/summary.html")
    wait_until(page, READY, what="summary page ready")
    page.evaluate(DROP, [[f.name, base64.b64encode(f.read_bytes()).decode()] for f in [*files, copy]])
    wait_until(page, "() => document.querySelector('[data-testid=summary-title]') !== null", what="the table")
    assert len(page.evaluate(ROWS)) == len(files) + 1  # the rows and 合计: the copy adds no row
    status = page.inner_text("#jx-summary-status")
    assert f"{len(files) + 1} 份通过（其中 1 份与另一份内容相同，只计一次）" in status, status
    copies = page.locator("[data-testid=summary-copies] li").all_inner_texts()
    assert len(copies) == 1 and copies[0].startswith(f"副本.zip：与 {files[1].name} 是同一份签名内容"), copies
