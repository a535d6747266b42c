"""Time to export the seed example as a signed bundle in the browser (target ≤ 1 s with the xlsx).

Run: python benchmarks/bench_export.py [--runs 5]
Serves the built site on loopback, opens it in headless Debian Chromium, imports the seed
through 导入草稿, makes a WebCrypto Ed25519 key, waits for the export packages (openpyxl …)
to preload after the first score, then clicks 导出签名材料 several times. The time is the
page's own (`data-export-ms`: click → zip ready), not wall clock around Playwright. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_portal import REPO, machine, poll, serve

from jixiao.catalog import example_json

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--site", type=Path, default=REPO / ".cache" / "site")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from jixiao.server import create_app
    from jixiao.sitebuild import ensure_site

    ensure_site(args.site, "jinxian-2021")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp, serve(create_app(args.site)) as base, sync_playwright() as pw:
        seed = Path(tmp) / "seed.json"
        seed.write_text(example_json("jinxian-2021"), encoding="utf-8")
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_context(accept_downloads=True).new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "检查发现 2 个错误。仍要导出？"
        page.goto(f"{base}/fill.html")
        poll(page, "() => !!document.querySelector('#jixiao-form').dataset.draftId")
        page.get_by_label("导入草稿").set_input_files(str(seed))
        poll(page, "() => document.querySelector('#jx-export')?.dataset.bundleState === 'ready'")
        page.click("[data-testid=key-generate]")
        poll(page, "() => document.querySelector('#jx-export').dataset.keyState === 'webcrypto'")
        warm = poll(page, "() => document.querySelector('#jx-export').dataset.warmMs")
        print(f"export packages preloaded in the background after the first score: {float(warm):.0f} ms")
        times: list[float] = []
        for _ in range(args.runs):
            page.evaluate("() => { delete document.querySelector('#jx-export').dataset.exportMs; }")
            with page.expect_download(timeout=120_000) as info:
                page.click("[data-testid=export-bundle]")
            info.value.path()
            times.append(float(poll(page, "() => document.querySelector('#jx-export').dataset.exportMs")))
        browser.close()
    print(f"export the seed example (WebCrypto Ed25519, zip with .json + .xlsx + .html): "
          f"first {times[0]:.0f} ms, median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms over {len(times)} exports")


if __name__ == "__main__":
    main()
