"""The site server: right types, strict headers, nothing outside the site folder."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from browser_fixtures import serving
from jixiao.server import DEFAULT_CSP, create_app, listen, resolve

CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("server")
    site = root / "site"
    (site / "sub").mkdir(parents=True)
    (site / "pyodide").mkdir()
    files = {
        "index.html": "<!doctype html><title>首页</title>",
        "404.html": "<!doctype html><title>页面不存在</title>",
        "sub/index.html": "<!doctype html><title>子目录</title>",
        "sw.js": "// service worker\n",
        "assets.js": "export const a = 1;\n" * 100,
        "pyodide/pyodide.mjs": "export const b = 2;\n",
        "pyodide/pyodide-lock.json": "{}",
        "pyodide/python_stdlib.zip": "PK",
        ".jixiao-build.json": '{"secret": true}',
        "version.json": json.dumps({"version": "x", "content_security_policy": CSP}),
    }
    for rel, text in files.items():
        (site / rel).write_text(text, encoding="utf-8")
    (site / "pyodide" / "pyodide.asm.wasm").write_bytes(b"\0asm\1\0\0\0" + bytes(4096))
    (site / "pyodide" / "x-1.0-py3-none-any.whl").write_bytes(b"PK\3\4" + os.urandom(4096))  # deflated: no gain
    with zipfile.ZipFile(site / "pyodide" / "stored.zip", "w", zipfile.ZIP_STORED) as stored:  # shrinks
        stored.writestr("m.pyc", b"import sys\n" * 1000)
    (root / "outside.txt").write_text("SECRET OUTSIDE", encoding="utf-8")
    (site / "link.txt").symlink_to(root / "outside.txt")
    return site


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("intake")

    with serving(create_app(site, extra_routes=[Route("/api/hello", hello)])) as url:
        yield url


def get(base: str, path: str, method: str = "GET", headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    """A raw request: the path goes out exactly as written (no client-side normalising)."""
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/sw.js", "text/javascript; charset=utf-8"),
        ("/pyodide/pyodide.mjs", "text/javascript; charset=utf-8"),
        ("/pyodide/pyodide.asm.wasm", "application/wasm"),
        ("/pyodide/x-1.0-py3-none-any.whl", "application/zip"),
        ("/pyodide/python_stdlib.zip", "application/zip"),
        ("/pyodide/pyodide-lock.json", "application/json"),
    ],
)
def test_content_types(base: str, path: str, content_type: str) -> None:
    status, headers, _ = get(base, path)
    assert status == 200
    assert headers["content-type"] == content_type


@pytest.mark.parametrize("path", ["/", "/sw.js", "/pyodide/pyodide.asm.wasm", "/nope.html"])
def test_every_response_is_strict_and_revalidated(base: str, path: str) -> None:
    _, headers, _ = get(base, path)
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == CSP  # from the build's version.json
    assert headers["referrer-policy"] == "no-referrer"


def test_the_default_policy_names_no_other_origin() -> None:
    assert "http" not in DEFAULT_CSP and "*" not in DEFAULT_CSP
    assert "script-src 'self' 'wasm-unsafe-eval'" in DEFAULT_CSP


@pytest.mark.parametrize(
    "path",
    [
        "/../outside.txt",
        "/sub/../../outside.txt",
        "/%2e%2e/outside.txt",
        "/sub/%2e%2e/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/sub%5c..%5c..%5coutside.txt",
        "/.jixiao-build.json",
        "/link.txt",
        "/%00index.html",
    ],
)
def test_nothing_outside_the_site_or_hidden_is_served(base: str, path: str) -> None:
    status, _, body = get(base, path)
    assert status in (400, 404)
    assert b"SECRET" not in body
    assert b"secret" not in body


def test_resolve_refuses_escapes(site: Path) -> None:
    assert resolve(site, "/sub/") == (site / "sub" / "index.html").resolve()
    for path in ("/../outside.txt", "/link.txt", "/.jixiao-build.json", "/a\\b", "/sub/../../x"):
        assert resolve(site, path) is None


def test_missing_pages_get_the_site_404_page(base: str) -> None:
    status, headers, body = get(base, "/no/such/page.html")
    assert status == 404
    assert "页面不存在" in body.decode()
    assert headers["content-type"].startswith("text/html")


def test_folders_serve_their_index_and_get_their_slash(base: str) -> None:
    status, _, body = get(base, "/sub/")
    assert status == 200 and "子目录" in body.decode()
    status, headers, _ = get(base, "/sub")
    assert status == 301 and headers["location"].endswith("/sub/")


def test_revalidation_answers_304(base: str) -> None:
    _, headers, _ = get(base, "/sw.js")
    status, _, body = get(base, "/sw.js", headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""


def test_text_wasm_and_stored_zips_are_gzipped_wheels_are_not(base: str) -> None:
    accept = {"Accept-Encoding": "gzip"}
    _, headers, body = get(base, "/pyodide/pyodide.asm.wasm", headers=accept)
    assert headers.get("content-encoding") == "gzip"
    assert gzip.decompress(body).startswith(b"\0asm")
    _, headers, _ = get(base, "/assets.js", headers=accept)
    assert headers.get("content-encoding") == "gzip"
    _, headers, body = get(base, "/pyodide/x-1.0-py3-none-any.whl", headers=accept)
    assert "content-encoding" not in headers and body.startswith(b"PK") and len(body) == 4100
    _, headers, body = get(base, "/pyodide/stored.zip", headers=accept)  # the stdlib zip is stored
    assert headers.get("content-encoding") == "gzip" and len(body) < 1000
    assert gzip.decompress(body).startswith(b"PK")


def test_only_get_and_head(base: str) -> None:
    status, headers, _ = get(base, "/index.html", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, _, body = get(base, "/index.html", method="HEAD")
    assert status == 200 and body == b""


def test_extra_routes_come_first(base: str) -> None:
    status, _, body = get(base, "/api/hello")
    assert status == 200 and body == b"intake"


def test_connections_the_server_accepts_send_without_waiting_for_acks() -> None:
    """uvicorn writes a response's head and body apart: with Nagle's algorithm on, the body
    waited for the client's delayed ACK of the head, 44 ms on every response to http.client
    (measured on the benchmark's server before it used `listen`). Every accepted connection must
    have it off."""
    with listen("127.0.0.1", 0) as server:
        server.listen()
        with socket.create_connection(server.getsockname()) as _client:
            accepted, _ = server.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
