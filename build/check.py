"""The build's last step: prove the site is whole and never reaches another origin.

Why: a county intranet may have no internet at all, and a page that asks a CDN hangs or
breaks there, and leaks who uses the portal. So every built .html/.svg/.js/.mjs/.css/.json is
scanned for absolute URLs to other origins (``http://``, ``https://``, ``//host``) *in places
where a browser would load or follow them*:

* HTML/SVG attributes that fetch or navigate (src, href, srcset, action, poster, data, …),
  ``style`` attributes, inline scripts and styles, ``<meta http-equiv=refresh>``;
* JavaScript: static and dynamic ``import``, ``fetch``, ``importScripts``, workers, web
  sockets, event sources, ``sendBeacon``, ``XMLHttpRequest.open``, assignments to
  ``src``/``href``/``action``, service worker ``register``;
* CSS: ``url(...)`` and ``@import``;
* JSON: any string value that is an absolute URL (in the search index only ``location``,
  because its ``text`` is page prose that the HTML scan already covers where it is a link).

Deliberately not flagged, because a browser never fetches them: ``xmlns`` namespace names,
URLs inside comments and licence headers, and URLs in ordinary string literals that are not
in a loading position (a library's error message naming its documentation site). The request
log of the end-to-end test is the proof that counts; this scan catches mistakes at build time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

SCANNED_SUFFIXES = (".html", ".svg", ".js", ".mjs", ".css", ".json")
_ABSOLUTE = re.compile(r"^\s*(?:https?:)?//[^/\s]", re.IGNORECASE)
_URL_ATTRS = frozenset({
    "src", "href", "srcset", "action", "formaction", "poster", "data", "background", "manifest",
    "ping", "xlink:href", "icon", "imagesrcset", "codebase", "archive",
})
_Q = r"""["'`]"""
_OFF = r"""(?:https?:)?//[^\s"'`)]+"""
_JS_LOADS = re.compile(
    r"(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s+|\bfetch\s*\(\s*|\bimportScripts\s*\(\s*"
    r"|\bnew\s+(?:Shared)?Worker\s*\(\s*|\bnew\s+(?:EventSource|WebSocket)\s*\(\s*"
    r"|\bsendBeacon\s*\(\s*|\.open\s*\(\s*" + _Q + r"\w+" + _Q + r"\s*,\s*"
    r"|\.register\s*\(\s*|\.(?:src|href|action)\s*=\s*)"
    + _Q + "(" + _OFF + ")",
    re.IGNORECASE,
)
_CSS_LOADS = re.compile(
    r"(?:\burl\(\s*[\"']?|@import\s+(?:url\(\s*)?[\"']?)(" + _OFF + ")", re.IGNORECASE
)
_JSON_SCRIPT_TYPES = ("application/json", "application/ld+json", "importmap")


@dataclass(frozen=True)
class OffOrigin:
    """One reference to another origin: file, where in it, and the URL."""

    path: str
    where: str
    url: str

    def __str__(self) -> str:
        return f"{self.path}（{self.where}）：{self.url}"


def site_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_absolute(value: str) -> bool:
    return bool(_ABSOLUTE.match(value))


def scan_js(text: str) -> Iterator[tuple[str, str]]:
    for match in _JS_LOADS.finditer(text):
        yield "脚本加载", match.group(1)


def scan_css(text: str) -> Iterator[tuple[str, str]]:
    for match in _CSS_LOADS.finditer(text):
        yield "样式加载", match.group(1)


def scan_json_value(doc: object, only_keys: frozenset[str] | None = None, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from scan_json_value(v, only_keys, str(k))
    elif isinstance(doc, list):
        for v in doc:
            yield from scan_json_value(v, only_keys, key)
    elif isinstance(doc, str) and _is_absolute(doc) and (only_keys is None or key in only_keys):
        yield f"JSON 字段 {key}", doc.strip()


class _HTMLScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._in: str | None = None  # "js", "css", "json" while inside such an element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        for name, value in values.items():
            if name in _URL_ATTRS:
                candidates = [c.strip().split(" ")[0] for c in value.split(",")] if "srcset" in name else [value]
                self.found += [(f"<{tag} {name}>", c) for c in candidates if _is_absolute(c)]
            elif name == "style":
                self.found += list(scan_css(value))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            target = values.get("content", "").partition("url=")[2]
            if _is_absolute(target):
                self.found.append(("<meta refresh>", target))
        if tag == "script":
            kind = values.get("type", "").lower()
            self._in = "json" if kind in _JSON_SCRIPT_TYPES else "js"
        elif tag == "style":
            self._in = "css"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "js":
            self.found += list(scan_js(data))
        elif self._in == "css":
            self.found += list(scan_css(data))
        elif self._in == "json" and data.strip():
            try:
                self.found += list(scan_json_value(json.loads(data)))
            except ValueError:
                self.found.append(("无法解析的 JSON 脚本块", data[:80]))


def scan_file(path: Path, rel: str) -> list[OffOrigin]:
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".html", ".svg"):
        parser = _HTMLScanner()
        parser.feed(text)
        parser.close()
        hits = parser.found
    elif suffix in (".js", ".mjs"):
        hits = list(scan_js(text))
    elif suffix == ".css":
        hits = list(scan_css(text))
    else:
        only = frozenset({"location"}) if rel.endswith("search/search_index.json") else None
        hits = list(scan_json_value(json.loads(text), only))
    return [OffOrigin(rel, where, url) for where, url in hits]


def off_origin_references(root: Path) -> list[OffOrigin]:
    """Every reference to another origin in the built site (empty when clean)."""
    found: list[OffOrigin] = []
    for rel in site_files(root):
        if rel.lower().endswith(SCANNED_SUFFIXES):
            found += scan_file(root / rel, rel)
    return found


def precache_listing(sw_file: Path) -> dict[str, str]:
    """The ``FILES`` table written into ``sw.js``: path -> revision."""
    text = sw_file.read_text(encoding="utf-8")
    match = re.search(r"^const FILES = (\{.*?\});$", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise ValueError("sw.js has no FILES table")
    listing: dict[str, str] = json.loads(match.group(1))
    return listing


def precache_problems(root: Path, sw_name: str, not_precached: Collection[str]) -> list[str]:
    """Files listed in sw.js but missing or changed, and files on disk it does not list."""
    listing = precache_listing(root / sw_name)
    problems = []
    for rel, revision in listing.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"预缓存清单中的文件不存在：{rel}")
        elif not file_sha256(path).startswith(revision):
            problems.append(f"预缓存清单中的文件内容不符：{rel}")
    unlisted = [rel for rel in site_files(root) if rel not in listing and rel not in not_precached]
    problems += [f"文件未列入预缓存清单：{rel}" for rel in unlisted]
    return problems


def lock_problems(lock_file: Path) -> list[str]:
    """Entries of pyodide-lock.json that point elsewhere, or at a missing or changed file."""
    doc = json.loads(lock_file.read_text(encoding="utf-8"))
    problems = []
    for key, entry in doc["packages"].items():
        name = entry["file_name"]
        if "/" in name or ":" in name or "\\" in name:
            problems.append(f"pyodide-lock.json 的 {key} 指向别处：{name}")
            continue
        path = lock_file.parent / name
        if not path.is_file():
            problems.append(f"pyodide-lock.json 的 {key} 所列文件不存在：{name}")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"pyodide-lock.json 的 {key} 校验值不符：{name}")
    return problems


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # hashes are over the exact source text
        self.scripts: list[str] = []
        self._inline: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        kind = values.get("type", "").lower()
        if tag == "script" and "src" not in values and kind not in _JSON_SCRIPT_TYPES:
            self._inline = []

    def handle_data(self, data: str) -> None:
        if self._inline is not None:
            self._inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._inline is not None:
            self.scripts.append("".join(self._inline))
            self._inline = None


def inline_script_hashes(root: Path) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for every inline script of every built page."""
    found: set[str] = set()
    for rel in site_files(root):
        if rel.endswith(".html"):
            parser = _InlineScripts()
            parser.feed((root / rel).read_text(encoding="utf-8"))
            parser.close()
            for script in parser.scripts:
                digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
                found.add(f"'sha256-{digest}'")
    return sorted(found)


def content_security_policy(root: Path) -> str:
    """The policy the pages need, and nothing more: only this origin, plus wasm compilation.

    The theme's few inline scripts are allowed by their hashes, not by 'unsafe-inline'. Styles
    keep 'unsafe-inline': the theme writes style attributes, and CSS cannot run code.
    """
    script_src = " ".join(["'self'", "'wasm-unsafe-eval'", *inline_script_hashes(root)])
    return "; ".join([
        "default-src 'self'",
        f"script-src {script_src}",
        "worker-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])
