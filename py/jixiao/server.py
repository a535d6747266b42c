"""The local / intranet web server: the built static site, served correctly and strictly.

    create_app(site_dir) -> Starlette       # site_dir: what build/site.py built
    run(site_dir, host, port, certfile, keyfile)

Choices:

* Every response says ``Cache-Control: no-cache``: the browser may keep a copy but asks
  the server (a cheap 304 via ETag) before using it. Hashed file names would allow longer
  caching for a few theme files, but the service worker already serves everything offline,
  so one simple rule that is always correct wins.
* The Content-Security-Policy comes from the build (``version.json``), which lists the
  hashes of the theme's few inline scripts; the rest is ``'self'`` only, plus
  ``'wasm-unsafe-eval'`` so Pyodide may compile WebAssembly.
* Paths with ``..``, hidden parts (``.jixiao-build.json``), backslashes or NUL are refused
  with the site's 404 page; so is anything that resolves outside the site folder.
* Text, scripts and the wasm are gzip-compressed on the fly (the wasm goes from 9.6 MB to
  about 3.5 MB); wheels and zips are already compressed and pass as they are.

Intake routes (units submitting their bundles, the supervisor's pages: `jixiao.intake`) are
passed as ``extra_routes``; they are tried before the static files (`jixiao serve --store`).
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import socket
import ssl
import stat
import threading
import zipfile
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .io.errors import InputError

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".gz": "application/gzip",  # the engine snapshot: inflated by the page, never re-compressed
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".woff2": "font/woff2",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
_NOT_COMPRESSED = ("application/zip", "application/gzip", "image/png", "font/woff2", "image/x-icon")
_NEVER_COMPRESSED = tuple(t for t in _NOT_COMPRESSED if t != "application/zip")  # zips: when mostly stored


class _Policy:
    """The site's CSP, re-read whenever a rebuild replaces version.json."""

    def __init__(self, site_dir: Path) -> None:
        self.path = site_dir / "version.json"
        self.seen: tuple[float, int] | None = None
        self.value = DEFAULT_CSP

    def get(self) -> str:
        try:
            st = self.path.stat()
        except OSError:
            return DEFAULT_CSP
        if self.seen != (st.st_mtime, st.st_ino):
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                self.value = str(doc.get("content_security_policy") or DEFAULT_CSP)
            except (OSError, ValueError):
                self.value = DEFAULT_CSP
            self.seen = (st.st_mtime, st.st_ino)
        return self.value


def resolve(site_dir: Path, url_path: str) -> Path | None:
    """The file a URL path names inside ``site_dir``, or None (missing, hidden, or outside)."""
    if "\\" in url_path or "\0" in url_path:
        return None
    parts = [p for p in url_path.split("/") if p]
    if any(p.startswith(".") for p in parts):  # "..", "." and dotfiles alike
        return None
    root = site_dir.resolve()
    target = root.joinpath(*parts)
    try:
        target = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if target != root and root not in target.parents:
        return None  # a symlink leading out of the site
    if target.is_dir():
        target = target / "index.html"
        if not target.is_file():
            return None
    return target


def _headers(policy: _Policy, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": policy.get(),
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    headers.update(extra or {})
    return headers


def _not_modified(response: MutableHeaders, request: Headers) -> bool:
    """Whether the browser's copy is current (If-None-Match, else If-Modified-Since)."""
    if_none_match = request.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or response.get("etag") in tags
    since, modified = request.get("if-modified-since"), response.get("last-modified")
    if since and modified:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(modified)
        except (TypeError, ValueError):
            return False
    return False


def _content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


class _Gzipped:
    """gzip bodies compressed once per file version and kept in memory.

    Compressing the 9.6 MB wasm on every first visit cost about a second of server CPU on the
    critical path; the site is small (about 6 MB compressed), so each file is compressed once,
    in a background thread at start, and again only when a rebuild changes it. A zip is
    compressed only when most of it is stored: the stdlib zip shrinks from 10.6 to about
    4.5 MB, while a deflated wheel would not shrink at all.
    """

    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self.cache: dict[Path, tuple[tuple[int, int], bytes | None]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def wanted(path: Path, size: int) -> bool:
        return size >= 1024 and _content_type(path) not in _NEVER_COMPRESSED

    def get(self, path: Path, st: os.stat_result) -> bytes | None:
        """The gzip body, or None when compressing does not pay (the file goes as it is)."""
        key = (st.st_mtime_ns, st.st_size)
        with self.lock:
            hit = self.cache.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        body: bytes | None = None
        if _content_type(path) != "application/zip" or _mostly_stored(path):
            body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        with self.lock:
            self.cache[path] = (key, body)
        return body

    def warm(self) -> None:
        for path in sorted(self.site_dir.rglob("*")):
            try:
                st = path.stat()
                if path.is_file() and not path.name.startswith(".") and self.wanted(path, st.st_size):
                    self.get(path.resolve(), st)
            except OSError:
                continue


def _mostly_stored(path: Path) -> bool:
    """Whether most of a zip's bytes are stored rather than deflated (read from its directory
    alone): only then can gzip gain anything, so wheels are not compressed in vain."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile):
        return False
    stored = sum(i.compress_size for i in infos if i.compress_type == zipfile.ZIP_STORED)
    return stored * 2 > sum(i.compress_size for i in infos)


def create_app(site_dir: Path, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The site as an ASGI app: static files under strict headers, after ``extra_routes``."""
    site_dir = Path(site_dir)
    policy = _Policy(site_dir)
    gzipped = _Gzipped(site_dir)
    warming = threading.Thread(target=gzipped.warm, name="jixiao-gzip-warm", daemon=True)
    warming.start()

    def not_found() -> Response:
        page = resolve(site_dir, "404.html")
        if page is None:
            return PlainTextResponse("404：页面不存在", status_code=404, headers=_headers(policy))
        return FileResponse(page, status_code=404, media_type=_content_type(page), headers=_headers(policy))

    async def static(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("不支持此请求方法", status_code=405,
                                     headers=_headers(policy, {"Allow": "GET, HEAD"}))
        url_path = request.url.path
        file = resolve(site_dir, url_path)
        if file is None:
            return not_found()
        if file.name == "index.html" and not url_path.endswith(("/", "index.html")):
            # A folder named without its slash: relative links inside it need the slash.
            return RedirectResponse(url_path + "/", status_code=301, headers=_headers(policy))
        st = os.stat(file)
        if not stat.S_ISREG(st.st_mode):
            return not_found()
        response = FileResponse(file, media_type=_content_type(file), headers=_headers(policy), stat_result=st)
        if _not_modified(response.headers, request.headers):
            kept = {k: v for k, v in response.headers.items() if k in ("etag", "cache-control", "last-modified")}
            return Response(status_code=304, headers=_headers(policy, kept))
        if "gzip" in request.headers.get("accept-encoding", "") and gzipped.wanted(file, st.st_size):
            body = await run_in_threadpool(gzipped.get, file, st)
            if body is None:
                return response
            kept = {k: v for k, v in response.headers.items() if k in ("etag", "last-modified")}
            extra = {**kept, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(b"" if request.method == "HEAD" else body, media_type=_content_type(file),
                            headers=_headers(policy, extra))
        return response

    routes: list[BaseRoute] = [*extra_routes, Route("/{path:path}", static, methods=["GET", "HEAD", "POST", "PUT",
                                                                                      "DELETE", "PATCH", "OPTIONS"])]
    # Other responses (the intake API, 404 pages) are compressed as they go.
    middleware = [Middleware(GZipMiddleware, minimum_size=1024, compresslevel=6,
                             exclude_content_types=(*_NOT_COMPRESSED, *set(CONTENT_TYPES.values())))]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.gzip_warming = warming  # benchmarks wait for it: a deployed server is long warm
    return app


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything says the portal has started: a port in use,
    a port that needs root, or an address this machine lacks is one clear line, not uvicorn's
    English log after "门户已启动"."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise InputError(f"无法在地址“{host}”上监听：找不到这个地址") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Every connection accepted inherits it. uvicorn writes a response's head and body apart;
    # with Nagle's algorithm on, the body waits for the ACK of the head, which the client may
    # delay: 44 ms on every response to Python's http.client, measured (asyncio turns Nagle off
    # by itself only on sockets whose proto says TCP, which a plain socket.socket() does not).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"端口 {port} 已被占用（也许门户已在运行）：请先停止占用它的程序，"
                             f"或用 --port 换一个端口") from None
        if exc.errno == errno.EACCES:
            raise InputError(f"没有权限使用端口 {port}（1024 以下的端口须以管理员身份运行）："
                             f"请用 --port 换一个端口") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise InputError(f"无法在地址“{host}”上监听：本机没有这个地址") from None
        raise InputError(f"无法在 {host}:{port} 上监听（{exc.strerror or exc}）") from None
    return sock


def check_tls(certfile: str | Path, keyfile: str | Path) -> None:
    """Refuse a certificate and key that TLS cannot use, before the server starts (uvicorn would
    fail on its first line with OpenSSL's "PEM lib"). A key with a passphrase is refused, not
    asked for on the terminal."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile, password=lambda: b"")
    except ssl.SSLError:
        raise InputError("证书或私钥无法使用：须为 PEM 格式、私钥与证书配对，且私钥不带口令") from None
    except OSError as exc:
        raise InputError(f"无法读取证书或私钥（{exc.strerror or exc}）") from None


def run(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, certfile: str | Path | None = None,
        keyfile: str | Path | None = None, extra_routes: Sequence[BaseRoute] = (), sock: socket.socket | None = None,
        **uvicorn_options: Any) -> None:
    """Serve ``site_dir`` with uvicorn; HTTPS when a certificate and key are given; on ``sock``
    (from `listen`) when given, else on host and port.

    Over plain HTTP on anything but 127.0.0.1/localhost, browsers allow no service worker and
    no WebCrypto: deploy with a certificate for the intranet.
    """
    import uvicorn

    if (certfile is None) != (keyfile is None):
        raise ValueError("HTTPS 需要同时提供证书（certfile）和私钥（keyfile）")
    config = uvicorn.Config(
        create_app(site_dir, extra_routes=extra_routes),
        host=host,
        port=port,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        log_level=uvicorn_options.pop("log_level", "info"),
        **uvicorn_options,
    )
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)
