"""提交给主管部门 on the 填报 page (upload.js), in Chromium against the real intake routes.

* Served with intake: a unit exports its bundle and submits it while the server answers 503;
  the item stays 待提交 with the server's words, survives a reload, and is acknowledged once
  the server is back: the store holds it exactly once, under the sha256 the page computed.
* Submitting the same bytes again stores nothing new; a bundle submitted while the browser is
  offline is sent as soon as it comes back online; a tampered one is refused with the server's
  reason and not retried.
* Over plain HTTP under an intranet host name (no secure context: no WebCrypto, no Web Locks)
  the queue still works: the plain-JS sha256 matches the server's receipt.
* On a plain static server (no intake) the page says so and the submit button stays disabled.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import (
    CHROMIUM,
    CHROMIUM_ARGS,
    export_signed_bundle,
    open_form_with_seed,
    poll_until,
    serving,
    wait_warm,
)
from consolidate_helpers import tampered_bundle, unit_bundle
from jixiao.intake import intake_routes
from jixiao.server import create_app
from jixiao.store import Store

pytestmark = pytest.mark.browser

TOKEN = "upload-queue-test-token"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "upload-queue.png"
ITEMS = """() => [...document.querySelectorAll('[data-testid=upload-item]')].map((li) => ({
  state: li.dataset.state, sha256: li.dataset.sha256, attempts: Number(li.dataset.attempts),
  name: li.querySelector('[data-testid=upload-item-name]').textContent,
  message: li.querySelector('[data-testid=upload-item-message]').textContent,
  text: li.textContent }))"""


def items(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate(ITEMS))


def item(page: Any, sha: str) -> dict[str, Any]:
    return next((i for i in items(page) if i["sha256"] == sha), {})


def wait_item(page: Any, sha: str, state: str, timeout: float = 60) -> dict[str, Any]:
    poll_until(page, """([sha, state]) => document.querySelector(
      `[data-testid=upload-item][data-sha256="${sha}"]`)?.dataset.state === state""", [sha, state],
               timeout=timeout, what=f"upload item {sha[:8]} {state}: {items(page)}")
    return item(page, sha)


@pytest.fixture
def intake_site(built_site: Path, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    with Store(tmp_path / "intake.sqlite") as store, \
            serving(create_app(built_site, extra_routes=intake_routes(store, TOKEN))) as base:
        yield base, store


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    # Service workers blocked: the test routes the page's own requests (503 first).
    made = browser.new_context(service_workers="block", accept_downloads=True)
    made.set_default_timeout(60_000)
    yield made
    made.close()


def test_submit_retry_reload_offline_refusal(context: Any, intake_site: tuple[str, Store], tmp_path: Path) -> None:
    base, store = intake_site
    page = context.new_page()
    open_form_with_seed(page, base, tmp_path)
    poll_until(page, "() => document.querySelector('#jx-upload')?.dataset.intake === 'available'",
               what="intake found")
    assert page.is_disabled("[data-testid=upload-submit]")  # nothing exported yet
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState !== 'none'", what="key made")
    wait_warm(page)

    # The server is down: every POST answers 503 with a message.
    down = json.dumps({"message": "服务器维护中"}, ensure_ascii=False)
    page.route("**/api/bundles", lambda route: route.fulfill(status=503, content_type="application/json", body=down))
    zip_path, _ = export_signed_bundle(page, tmp_path)
    sha = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    page.click("[data-testid=upload-submit]")
    pending = wait_item(page, sha, "pending")
    poll_until(page, "(sha) => /503/.test(document.querySelector(`[data-sha256='${sha}']`).textContent)", sha,
               what="503 shown")
    pending = item(page, sha)
    assert "服务器维护中" in pending["message"] and "自动重试" in pending["message"], pending
    assert pending["name"] == zip_path.name
    assert store.count() == 0

    # A reload keeps the queue (IndexedDB); the item is still pending, the retries go on.
    page.reload()
    poll_until(page, "() => document.querySelector('#jx-upload')?.dataset.ready === '1'", what="queue read back")
    assert item(page, sha)["state"] == "pending", items(page)

    # The server is back: the next retry is acknowledged with this sha256 and stored once.
    page.unroute("**/api/bundles")
    sent = wait_item(page, sha, "sent", timeout=90)
    assert "核验通过" in sent["message"], sent
    assert sent["attempts"] >= 2
    assert store.count() == 1 and store.get(sha) is not None

    # The same bytes again: the server is asked (QA: the page answered from its own memory, so a
    # store lost or replaced since could never get the bundle back), and nothing new is stored.
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/api/bundles" in r.url else None)
    page.set_input_files("[data-testid=upload-file]", str(zip_path))
    poll_until(page, "() => /无需重复提交/.test(document.querySelector('#jx-upload-status').textContent)",
               what="already submitted")
    assert len(posts) == 1 and store.count() == 1, posts
    assert item(page, sha)["state"] == "sent"

    # Offline: the bundle waits; back online, it goes at once.
    name, data = unit_bundle("360124-KGX-01")
    other = tmp_path / name
    other.write_bytes(data)
    other_sha = hashlib.sha256(data).hexdigest()
    context.set_offline(True)
    page.set_input_files("[data-testid=upload-file]", str(other))
    waiting = wait_item(page, other_sha, "pending")
    poll_until(page, "(sha) => /无法连接/.test(document.querySelector(`[data-sha256='${sha}']`).textContent)",
               other_sha, what="offline shown")
    assert store.count() == 1, waiting
    back = time.monotonic()
    context.set_offline(False)
    wait_item(page, other_sha, "sent", timeout=30)
    print(f"\nsent {time.monotonic() - back:.1f} s after the browser came back online")
    assert store.count() == 2 and store.get(other_sha) is not None

    # Refused: the server's reason is shown and the item is not retried.
    bad_name, bad = tampered_bundle()
    bad_path = tmp_path / bad_name
    bad_path.write_bytes(bad)
    bad_sha = hashlib.sha256(bad).hexdigest()
    page.set_input_files("[data-testid=upload-file]", str(bad_path))
    refused = wait_item(page, bad_sha, "refused")
    assert "HTTP 422" in refused["message"] and "未接收" in refused["message"], refused
    assert "签名无效" in refused["text"], refused
    assert refused["text"].count("签名无效") == 1, refused  # the reason once, not in the message and again below
    page.wait_for_timeout(5000)
    assert item(page, bad_sha)["attempts"] == 1 and item(page, bad_sha)["state"] == "refused"
    assert store.count() == 2
    assert {r.sha256 for r in store.bundles()} == {sha, other_sha}
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.locator("#jx-upload").screenshot(path=str(SCREENSHOT))  # docs/img/upload-queue.png, linked from the README


def test_static_site_says_no_intake(page_logged: Any, site_server: str) -> None:
    page = page_logged
    answers: list[tuple[str, int]] = []
    page.on("response", lambda response: answers.append((response.url, response.status)))
    page.goto(site_server + "/fill.html")
    poll_until(page, "() => document.querySelector('#jx-upload')?.dataset.intake === 'unavailable'",
               what="no intake here")
    # The build's static api/intake says so: no 404 (and no console error) on a plain static host.
    assert (site_server + "/api/intake", 200) in answers, answers
    assert not [a for a in answers if a[1] >= 400], answers
    text = page.evaluate("() => document.querySelector('[data-testid=upload-intake]').textContent")
    assert "没有开启在线提交" in text and "导出签名材料" in text, text
    assert page.is_disabled("[data-testid=upload-submit]")
    # The plain-JS sha256 (used where WebCrypto is absent, as on a plain-HTTP intranet) agrees with hashlib.
    samples = ["", "abc", "签名材料" * 100, "x" * 1000]
    got = page.evaluate("""async (samples) => {
      const { sha256HexPlain } = await import('./assets/js/upload.js');
      return samples.map((s) => sha256HexPlain(new TextEncoder().encode(s)));
    }""", samples)
    assert got == [hashlib.sha256(s.encode()).hexdigest() for s in samples]


def test_plain_http_intranet_host(browser: Any, intake_site: tuple[str, Store], tmp_path: Path) -> None:
    base, store = intake_site
    port = base.rsplit(":", 1)[1]
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP intranet.test 127.0.0.1"],
        headless=True)
    try:
        page = chromium.new_context().new_page()
        page.goto(f"http://intranet.test:{port}/fill.html")
        poll_until(page, "() => document.querySelector('#jx-upload')?.dataset.intake === 'available'",
                   what="intake found")
        assert page.evaluate("() => [window.isSecureContext, !!globalThis.crypto?.subtle]") == [False, False]
        name, data = unit_bundle("360124-KGX-02")
        path = tmp_path / name
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        page.set_input_files("[data-testid=upload-file]", str(path))
        wait_item(page, sha, "sent")
        assert store.count() == 1 and store.get(sha) is not None
    finally:
        chromium.close()


def test_a_unit_not_yet_enrolled_is_told_what_to_do_and_resubmits_after_enrolment(
        built_site: Path, browser: Any, tmp_path: Path) -> None:
    """The year's order: the unit makes its key on the portal and submits before the supervisor has enrolled
    it. The refusal said "请改正后重新导出并提交", which no correction by the unit can satisfy; it now says to
    hand in the 公钥登记表, and once the supervisor enrols the key (`jixiao roster add` beside the running
    server), 重新提交 of the same file is accepted."""
    from click.testing import CliRunner

    from consolidate_helpers import supervisor, unit_key_for
    from jixiao.bundle.keys import key_file_json
    from jixiao.bundle.roster import load_roster
    from jixiao.cli import cli

    owner = tmp_path / "主管部门密钥.json"
    owner.write_text(key_file_json(supervisor(), None), encoding="utf-8")
    roster = tmp_path / "名册.json"
    made = CliRunner().invoke(cli, ["roster", "init", str(roster), "--key", str(owner), "--name", "主管部门"])
    assert made.exit_code == 0, made.output
    name, data = unit_bundle("360124-KGX-01")
    path = tmp_path / name
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    with Store(tmp_path / "intake.sqlite") as store, serving(create_app(built_site, extra_routes=intake_routes(
            store, TOKEN, roster=load_roster(roster.read_bytes()), roster_path=roster))) as base:
        context = browser.new_context(service_workers="block")
        page = context.new_page()
        page.goto(f"{base}/fill.html")
        poll_until(page, "() => document.querySelector('#jx-upload')?.dataset.intake === 'available'",
                   what="intake found")
        page.set_input_files("[data-testid=upload-file]", str(path))
        refused = wait_item(page, sha, "refused")
        assert "《公钥登记表》" in refused["message"] and "重新提交" in refused["message"], refused
        assert "请改正后重新导出" not in refused["message"], refused
        result = CliRunner().invoke(cli, ["roster", "add", str(roster), "--key", str(owner), "--unit-code",
                                          "360124-KGX-01", "--unit-name", "进贤县科技情报研究所", "--public-key",
                                          unit_key_for("360124-KGX-01").public.text(), "--valid-from", "2021-01-01"])
        assert result.exit_code == 0, result.output
        page.locator(f'[data-testid=upload-item][data-sha256="{sha}"]').get_by_role("button", name="重新提交").click()
        wait_item(page, sha, "sent")
        assert store.get(sha) is not None
        context.close()
