"""Intranet deployments end to end: plain HTTP under a host name, and HTTPS with a test CA.

A county intranet usually serves ``http://some-host/``: an insecure context, so no service
worker and no WebCrypto. Chromium is told ``--host-resolver-rules=MAP intranet.test 127.0.0.1``
so the page sees a non-local origin while every byte stays on loopback.

1. Plain HTTP (``http://intranet.test:PORT``): not a secure context, the one-sentence notice,
   the seed scores 98 / 优, an edit re-scores, a reload keeps the draft (IndexedDB), a bundle
   signed with the pure-Python Ed25519 key (kept encrypted under a passphrase) verifies with
   ``jixiao verify``; a wrong passphrase is refused and the stored key survives it.
2. HTTPS (``jixiao serve --cert --key`` with a throwaway CA): a secure context, no notice, the
   service worker registered, ``offline-ready``; offline, the form still loads and scores.
3. ``jixiao serve --cert`` without ``--key``, or with a missing file: one Chinese line, exit 2.

Each browser test launches its own Chromium (the shared one lacks the resolver rule) through
the session's Playwright. Every request must go to the intranet origin.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from browser_fixtures import (
    CHROMIUM,
    CHROMIUM_ARGS,
    export_status,
    import_seed_draft,
    open_form,
    poll_until,
    requests_outside,
    type_into,
    wait_drafts,
    wait_saved,
    wait_total,
)
from jixiao.cli import cli
from jixiao_process import JIXIAO, free_port, run_jixiao, stop, wait_up

HOST = "intranet.test"
FORM = "#jixiao-form"
BUDGET_RATE = "indicators.0.groups.1.items.0.score"  # 预算完成率（2分）, seed score 2
COST_CONTROL = "indicators.0.groups.1.items.1.score"  # 三公经费控制率（2分）, seed score 2
PASSPHRASE = "县财政局 内网 2022"


# --- helpers ---------------------------------------------------------------------------------

def dataset(page: Any, selector: str = FORM) -> dict[str, str]:
    return dict(page.evaluate("(s) => ({...document.querySelector(s).dataset})", selector))


def scored(page: Any, total: str) -> tuple[str, str]:
    """Wait until the total reads ``total``: (total, grade)."""
    state = wait_total(page, total)
    return state["total"], state["grade"]


def import_seed(page: Any, tmp_path: Path) -> tuple[str, str]:
    import_seed_draft(page, tmp_path, name="seed.json")
    return scored(page, "98")


@pytest.fixture
def intranet_context(browser: Any) -> Iterator[Any]:
    """A factory of contexts in a Chromium that resolves intranet.test to 127.0.0.1.

    ``open(extra_args, **context_options)`` -> (context, page, requests).
    """
    launched: list[Any] = []

    def open_(extra_args: tuple[str, ...] = (), **options: Any) -> tuple[Any, Any, list[str]]:
        chromium = browser.browser_type.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1", *extra_args], headless=True)
        launched.append(chromium)
        context = chromium.new_context(service_workers="allow", **options)
        context.set_default_timeout(60_000)
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        return context, page, requests

    yield open_
    for chromium in launched:
        chromium.close()


# --- 1. plain HTTP under a host name -----------------------------------------------------------

@pytest.mark.browser
def test_plain_http_intranet(site_server: str, intranet_context: Any, tmp_path: Path) -> None:
    port = site_server.rsplit(":", 1)[1]
    origin = f"http://{HOST}:{port}"
    context, page, requests = intranet_context()
    page.on("dialog", lambda dialog: dialog.accept())  # "检查发现 2 个错误。仍要导出？" → yes
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    open_form(page, origin + "/fill.html")

    # An insecure context: no WebCrypto, no service worker; the page says so in one sentence.
    env = page.evaluate("""() => ({secure: window.isSecureContext, subtle: !!globalThis.crypto?.subtle,
                                    sw: 'serviceWorker' in navigator, idb: 'indexedDB' in window})""")
    assert env == {"secure": False, "subtle": False, "sw": False, "idb": True}, env
    notice = page.locator("#jx-notices .jx-notice[data-key=insecure]")
    notice.wait_for(state="visible")
    text = notice.locator("span").inner_text().strip()
    assert "HTTP" in text and "离线" in text and "签名" in text and "HTTPS" in text and "便携版" in text, text
    assert text.count("。") == 1 and text.endswith("。"), f"not one sentence: {text}"
    assert page.locator("#jx-notices .jx-notice").count() >= 1

    # Fill in and score: the seed gives 98 / 优; 预算完成率 2 → 1 gives 97.
    assert import_seed(page, tmp_path) == ("98", "优")
    type_into(page, BUDGET_RATE, "1")
    assert scored(page, "97") == ("97", "优")

    # A reload keeps the draft (IndexedDB works in an insecure context).
    wait_saved(page)
    draft = dataset(page)["draftId"]
    page.reload()
    page.wait_for_selector(f"{FORM} [data-path]")
    assert scored(page, "97") == ("97", "优")
    assert dataset(page)["draftId"] == draft
    assert page.locator(f'{FORM} [data-path="{BUDGET_RATE}"]').input_value() == "1"
    assert dataset(page).get("offline") != "offline-ready"

    # Signing falls back to the pure-Python Ed25519, its key encrypted under a passphrase.
    poll_until(page, "() => document.querySelector('#jx-export')?.dataset.bundleState === 'ready'",
               timeout=180, what="export section ready")
    assert dataset(page, "#jx-export")["signing"] == "python"
    page.fill("[data-testid=key-passphrase]", PASSPHRASE)
    page.click("[data-testid=key-generate]")
    poll_until(page, "() => document.querySelector('#jx-export').dataset.keyState === 'python'", timeout=240,
               what="passphrase key made")
    shown = page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip()
    assert len(shown.split(" ")) == 16, shown

    # A wrong passphrase: a clear message; the stored key is neither changed nor lost.
    stored_before = stored_key(page)
    page.fill("[data-testid=key-passphrase]", "不是这个口令")
    page.click("[data-testid=export-bundle]")
    poll_until(page, "() => /口令不正确/.test(document.querySelector('#jx-export-status').textContent)",
               timeout=240, what="wrong passphrase refused")
    message = export_status(page)
    assert "口令不正确" in message, message
    assert dataset(page, "#jx-export")["keyState"] == "python"
    assert stored_key(page) == stored_before

    # …and survives a reload too; the right passphrase then signs a bundle the CLI accepts.
    page.reload()
    page.wait_for_selector(f"{FORM} [data-path]")
    poll_until(page, "() => document.querySelector('#jx-export')?.dataset.keyState === 'python'", timeout=180,
               what="stored key found after reload")
    assert page.evaluate("() => document.querySelector('[data-testid=key-fingerprint]').textContent").strip() == shown
    assert stored_key(page) == stored_before
    poll_until(page, "() => document.querySelector('#jx-export')?.dataset.bundleState === 'ready'",
               timeout=180, what="export section ready again")
    page.fill("[data-testid=key-passphrase]", PASSPHRASE)
    with page.expect_download(timeout=240_000) as info:
        page.click("[data-testid=export-bundle]")
    bundle = tmp_path / info.value.suggested_filename
    info.value.save_as(str(bundle))
    assert bundle.suffix == ".zip", bundle.name
    proc = run_jixiao("verify", "--json", str(bundle))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [verdict] = json.loads(proc.stdout)
    assert verdict["ok"] and verdict["fingerprints"] == [shown], verdict

    # Every request went to http://intranet.test:PORT; no CSP violation on the way.
    assert any(u.startswith(origin + "/") for u in requests)
    assert not requests_outside(requests, origin), requests_outside(requests, origin)
    assert not [line for line in console if "Content Security Policy" in line], console
    context.close()


def stored_key(page: Any) -> str:
    """The stored key record (encrypted key file) as JSON, to compare before and after."""
    return str(page.evaluate("""async () => {
      const { loadKey } = await import('./assets/js/bundle.js');
      const k = await loadKey();
      return JSON.stringify(k, (name, value) => value instanceof Uint8Array ? [...value] : value);
    }"""))


# --- 2. HTTPS with a test certificate ---------------------------------------------------------

def make_certificates(folder: Path) -> tuple[Path, Path, Path, str]:
    """A throwaway CA and a server certificate for intranet.test signed by it.

    Returns (ca.pem, server.pem, server-key.pem, base64 SHA-256 of the server's SPKI).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jixiao test intranet CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    # The chain, leaf first, as an intranet CA would hand it out.
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ca_pem, cert_pem, key_pem, base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def https_server(built_site: Path, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``jixiao serve --site … --cert … --key …`` as a subprocess: (origin, SPKI hash, CA file)."""
    ca_pem, cert_pem, key_pem, spki = make_certificates(tmp_path)
    port = free_port()
    log = open(tmp_path / "serve.log", "w+b")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([JIXIAO, "serve", "--site", str(built_site), "--host", "127.0.0.1", "--port", str(port),
                             "--cert", str(cert_pem), "--key", str(key_pem)], stdout=log, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(ca_pem))

    def handshake() -> bool:  # up when a TLS handshake for intranet.test verifies against the test CA
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw, \
                    context.wrap_socket(raw, server_hostname=HOST):
                return True
        except OSError:
            return False

    try:
        if not wait_up(proc, handshake):
            log.seek(0)
            raise RuntimeError(f"jixiao serve did not start: {log.read().decode(errors='replace')}")
        yield f"https://{HOST}:{port}", spki, ca_pem
    finally:
        stop(proc)
        log.close()


@pytest.mark.browser
def test_https_intranet_works_offline_after_one_visit(https_server: tuple[str, str, Path], intranet_context: Any,
                                                      tmp_path: Path) -> None:
    origin, spki, _ca = https_server
    # Trust the test certificate the way Chromium honours for service workers too: by the hash
    # of its public key (ignore_https_errors would let the page load but not the worker).
    context, page, requests = intranet_context((f"--ignore-certificate-errors-spki-list={spki}",))
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("dialog", lambda dialog: dialog.accept())
    open_form(page, origin + "/fill.html")

    env = page.evaluate("""() => ({secure: window.isSecureContext, subtle: !!globalThis.crypto?.subtle,
                                    sw: 'serviceWorker' in navigator, scheme: location.protocol})""")
    assert env == {"secure": True, "subtle": True, "sw": True, "scheme": "https:"}, env
    wait_drafts(page)
    assert page.locator("#jx-notices .jx-notice[data-key=insecure]").count() == 0

    # One visit: the service worker registers and caches every file.
    poll_until(page, "() => document.querySelector('#jixiao-form').dataset.offline === 'offline-ready'",
               timeout=240, what="offline-ready")
    registered = page.evaluate("""() => navigator.serviceWorker.ready.then((r) =>
        ({active: !!r.active, scope: r.scope, script: r.active && r.active.scriptURL}))""")
    assert registered["active"] and registered["scope"].startswith(origin + "/"), registered
    assert dataset(page, "#jx-export").get("signing", "webcrypto") == "webcrypto"

    # Offline: reload, the form loads from the worker's cache, imports, edits and scores.
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(f"{FORM} [data-path]")
        assert page.evaluate("() => !!navigator.serviceWorker.controller")
        assert import_seed(page, tmp_path) == ("98", "优")
        type_into(page, COST_CONTROL, "1.5")
        assert scored(page, "97.5") == ("97.5", "优")  # 98 - 0.5
        wait_saved(page)
    finally:
        context.set_offline(False)

    assert any(u.startswith(origin + "/") for u in requests)
    assert not requests_outside(requests, origin), requests_outside(requests, origin)
    assert not [line for line in console if "Content Security Policy" in line], console
    context.close()


# --- 3. `jixiao serve` refuses half a TLS configuration ----------------------------------------

def test_serve_needs_both_cert_and_key(tmp_path: Path) -> None:
    cert = tmp_path / "server.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    runner = CliRunner()
    site = str(tmp_path)  # never reached: the TLS options are checked first

    for args, needle in (
        (["serve", "--site", site, "--cert", str(cert)], "--key"),
        (["serve", "--site", site, "--key", str(cert)], "--cert"),
        (["serve", "--site", site, "--cert", str(tmp_path / "missing.pem"), "--key", str(cert)], "missing.pem"),
        (["serve", "--site", site, "--cert", str(cert), "--key", str(tmp_path / "gone.pem")], "gone.pem"),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, (args, result.output)
        assert needle in lines[0] and "无法启动门户" in lines[0], lines[0]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[0])
        assert "Traceback" not in result.output


def test_server_run_refuses_half_a_tls_configuration(tmp_path: Path) -> None:
    from jixiao import server

    with pytest.raises(ValueError, match="私钥"):
        server.run(tmp_path, certfile=tmp_path / "c.pem")
    with pytest.raises(ValueError, match="证书"):
        server.run(tmp_path, keyfile=tmp_path / "k.pem")

