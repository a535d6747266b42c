"""The offline layer of the site: the precache manifest, ``sw.js`` and ``version.json``; and the
build stamp, which says a folder holds a build (`site_is_current`) that a new one may replace.

Why: after one visit over HTTPS (or on 127.0.0.1) the portal must open and score with the
network gone. The service worker precaches every file of the build, each under its content
hash, so a half-updated server can never mix versions: install verifies each file's sha256
and gives up (keeping the old version) on any mismatch.

Choices worth knowing:

* The cache is named ``jixiao-<version>``, ``version`` being the hash of the manifest; files
  whose hash did not change are copied from the previous cache instead of downloaded again,
  so an update costs only what changed (not the 9.6 MB wasm).
* Install fetches with ``cache: "no-cache"`` (the browser revalidates: a 304 reuses the bytes
  the page itself just downloaded, so the first visit does not pay twice), then verifies the
  hash; only a mismatch retries with ``cache: "reload"``. The hash, not the fetch mode, is
  what guarantees fresh bytes.
* A new version waits: it takes over only when the page posts ``{type: "skipWaiting"}``
  (the user agreed to reload), or when every tab of the old version is closed.
* Cross-origin requests, non-GET requests and paths not in the manifest (future intake API)
  are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

SW_NAME = "sw.js"
VERSION_NAME = "version.json"
STAMP_NAME = ".jixiao-build.json"
REVISION_CHARS = 16  # 64 bits of sha256: a revision, not a security boundary (install checks it)

# The portal asks `api/intake` whether this server takes bundles. `jixiao serve --store` answers
# it; on a plain static host this file does (no intake), where a 404 in the console said the same
# less politely. Never precached: the service worker sends it to the network, so the server's
# own answer is the one seen wherever there is one.
INTAKE_NAME = "api/intake"
STATIC_INTAKE = {"accepting": False, "message": "本站点是静态网站，没有开启在线提交：请导出签名材料，交给主管部门"}

# Never precached: the service worker itself (a file cannot hold its own hash, and the browser
# fetches it on its own terms), the build stamp (server refuses dotfiles) and the intake answer.
NOT_PRECACHED = frozenset({SW_NAME, STAMP_NAME, INTAKE_NAME})


def write_static_intake(root: Path) -> None:
    target = root / INTAKE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(STATIC_INTAKE, ensure_ascii=False) + "\n", encoding="utf-8")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def site_files(root: Path) -> list[str]:
    """Every file under ``root`` as a POSIX path relative to it, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


class TargetError(RuntimeError):
    """The build may not replace the folder asked for; the message says why, in Chinese."""


def folder_entries(folder: Path) -> list[str]:
    """Every file and symbolic link under ``folder`` (relative, sorted): what the build stamp lists,
    and what replacing the folder would delete. Empty folders count for nothing."""
    found = []
    for top, dirs, files in os.walk(folder):
        links = [d for d in dirs if os.path.islink(os.path.join(top, d))]  # os.walk does not enter them
        found += [Path(top, name).relative_to(folder).as_posix() for name in (*files, *links)]
    return sorted(found)


def _has_entries(folder: Path) -> bool:
    """Whether any file or link lies under ``folder`` (stops at the first one found)."""
    return any(files or any(os.path.islink(os.path.join(top, d)) for d in dirs) for top, dirs, files in os.walk(folder))


def check_replaceable(out_dir: Path) -> None:
    """Refuse an ``out_dir`` holding anything but an earlier build: the build replaces it whole.

    Replaced: a missing or empty folder, or one whose build stamp lists every file in it (a stamp
    written before stamps listed files is trusted as it is: `serve` and the tests rebuild their
    .cache folders). The working folder and those above it are refused outright (`-o .`).
    """
    out_dir = Path(out_dir).resolve()
    here = Path.cwd().resolve()
    if out_dir == here or out_dir in here.parents:
        raise TargetError(f"{out_dir} 是当前文件夹{'' if out_dir == here else '的上级'}：构建会整体替换输出文件夹，"
                          "请指定一个新的子文件夹（如 -o site）")
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if not out_dir.is_dir():
        raise TargetError(f"{out_dir} 已存在且不是文件夹：不会覆盖，请换一个名称")
    try:
        stamp = json.loads((out_dir / STAMP_NAME).read_text(encoding="utf-8"))
        files = stamp.get("files")
    except (OSError, ValueError, AttributeError, TypeError):
        if _has_entries(out_dir):  # no stamp: refused at the first file, without walking a whole disk
            raise TargetError(f"{out_dir} 已存在且不是之前构建的站点：不会覆盖，请换一个文件夹") from None
        return
    if files is None:
        return
    listed = {*files, STAMP_NAME} if isinstance(files, list) else set()
    foreign = [rel for rel in folder_entries(out_dir) if rel not in listed]
    if foreign:
        named = "、".join(foreign[:3]) + (f" 等 {len(foreign)} 个" if len(foreign) > 3 else "")
        raise TargetError(f"{out_dir} 中有不是构建生成的文件（{named}）：构建会整体替换这个文件夹，"
                          "不会删除它们；请先移走这些文件，或换一个文件夹")


def manifest(root: Path, exclude: Iterable[str] = NOT_PRECACHED) -> dict[str, str]:
    """path -> full sha256 of every file to precache."""
    skip = set(exclude)
    return {rel: file_sha256(root / rel) for rel in site_files(root) if rel not in skip}


def version_of(files: Mapping[str, str]) -> str:
    """A short hash of the whole manifest: changes when any file does."""
    text = "\n".join(f"{path}\t{sha}" for path, sha in sorted(files.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_version_json(root: Path, files: Mapping[str, str], startup: Mapping[str, int],
                       extra: Mapping[str, object]) -> str:
    """``version.json``: what the page and the worker may want to know about this build.

    ``startup`` maps the files the engine downloads before it is ready to their sizes, so the
    worker can show a real download fraction. No timestamp unless SOURCE_DATE_EPOCH is set.
    """
    version = version_of(files)
    doc: dict[str, object] = {"version": version, **extra, "startup": dict(sorted(startup.items()))}
    if "SOURCE_DATE_EPOCH" in os.environ:
        doc["source_date_epoch"] = int(os.environ["SOURCE_DATE_EPOCH"])
    (root / VERSION_NAME).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return version


def write_service_worker(root: Path, files: Mapping[str, str], version: str) -> str:
    """Write ``sw.js`` precaching ``files`` (version.json included) into cache ``jixiao-<version>``.

    ``version`` is the hash of the content manifest (everything but version.json and sw.js),
    the same one version.json states: version.json is a function of the rest.
    """
    revisions = {path: sha[:REVISION_CHARS] for path, sha in sorted(files.items())}
    text = (
        "// Generated by build/offline.py: do not edit. 离线缓存：本站全部文件。\n"
        f'const VERSION = "{version}";\n'
        f"const FILES = {json.dumps(revisions, ensure_ascii=False, indent=0)};\n"
        + SW_BODY
    )
    (root / SW_NAME).write_text(text, encoding="utf-8")
    return version


SW_BODY = r"""
const CACHE = `jixiao-${VERSION}`;
const PREFIX = "jixiao-";
const ROOT = new URL("./", self.location.href);
const MANIFEST_KEY = new URL("__jixiao_manifest__", ROOT).href;
const PARALLEL = 4;

const keyFor = (path) => new URL(path, ROOT).href;

async function sha256Hex(response) {
  const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Download one file and check it against its revision; a stale HTTP cache gets one more try.
async function download(path) {
  for (const mode of ["no-cache", "reload"]) {
    const response = await fetch(keyFor(path), { cache: mode, credentials: "same-origin" });
    if (!response.ok) throw new Error(`precache ${path}: HTTP ${response.status}`);
    const hex = await sha256Hex(response.clone());
    if (hex.startsWith(FILES[path])) return response;
  }
  throw new Error(`precache ${path}: content does not match this version`);
}

// Responses for unchanged files, from the caches of earlier versions.
async function previousVersions() {
  const found = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || name === CACHE) continue;
    const cache = await caches.open(name);
    const listed = await cache.match(MANIFEST_KEY);
    if (listed) found.push({ cache, files: await listed.json() });
  }
  return found;
}

async function precache() {
  const cache = await caches.open(CACHE);
  const previous = await previousVersions();
  const queue = Object.keys(FILES);
  async function work() {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const key = keyFor(path);
      if (await cache.match(key)) continue; // an interrupted install already got it
      let response;
      for (const old of previous) {
        if (old.files[path] === FILES[path]) {
          response = await old.cache.match(key);
          if (response) break;
        }
      }
      await cache.put(key, response ?? (await download(path)));
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, work));
  // Written last: its presence means this version is complete.
  await cache.put(MANIFEST_KEY, new Response(JSON.stringify(FILES), {
    headers: { "Content-Type": "application/json" },
  }));
}

// Chromium >= 123 (static routing): the browser answers requests for our files straight from
// this version's cache, without starting this worker. On a cold start the worker takes tens of
// milliseconds to run before it can answer anything; the page needs none of it. Requests from
// the Python worker (a dedicated worker) do not use the routes in Chromium 156: they start this
// worker and go through the fetch handler (measured through DevTools, session 14). The routes
// belong to this version: they apply once it is active, when its cache is whole.
// Exact paths with no query, so "/" and anything else still go through the fetch handler.
// The server's own paths (api/, admin/) go to the network, never through this worker: every tab
// asks api/intake on load, and a request that starts the old worker while a new version is
// being activated makes Chromium wait until the old worker has been idle for its timeout
// (tens of seconds; under DevTools, five minutes) before the new version takes over.
function staticRoutes(event) {
  if (typeof event.addRoutes !== "function" || typeof URLPattern !== "function") return;
  const literal = (text) => text.replace(/[\\:*?+(){}]/g, (c) => `\\${c}`); // URLPattern syntax
  const at = (pathname, search) => new URLPattern({
    protocol: ROOT.protocol.slice(0, -1), hostname: ROOT.hostname, port: ROOT.port, pathname, search });
  const or = Object.keys(FILES).map((path) => ({
    urlPattern: at(literal(new URL(path, ROOT).pathname), ""), requestMethod: "GET",
  }));
  const server = ["api/*", "admin", "admin/*"].map((path) => ({
    urlPattern: at(literal(ROOT.pathname) + path, "*"),
  }));
  const add = (rules, what) => {
    const refused = (error) => console.warn(`jixiao sw: static routes (${what}) refused`, error);
    try {
      event.waitUntil(Promise.resolve(event.addRoutes(rules)).catch(refused));
    } catch (error) {
      refused(error);
    }
  };
  add({ condition: { or }, source: { cacheName: CACHE } }, "the site's files; the fetch handler serves them");
  add({ condition: { or: server }, source: "network" }, "the server's paths; the fetch handler passes them on");
}

self.addEventListener("install", (event) => {
  staticRoutes(event);
  event.waitUntil(precache());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim(); // first visit: serve the page that installed us right away
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skipWaiting") self.skipWaiting();
});

// The manifest path a same-origin URL stands for, or null when it is not ours.
function pathOf(url) {
  if (url.origin !== ROOT.origin || !url.pathname.startsWith(ROOT.pathname)) return null;
  let path;
  try {
    path = decodeURIComponent(url.pathname.slice(ROOT.pathname.length));
  } catch {
    return null;
  }
  if (path === "" || path.endsWith("/")) path += "index.html";
  return Object.prototype.hasOwnProperty.call(FILES, path) ? path : null;
}

async function respond(request, path) {
  const cache = await caches.open(CACHE);
  if (path !== null) {
    const hit = await cache.match(keyFor(path));
    if (hit) return hit;
    return fetch(request);
  }
  // A page we do not have: the network, else our 404 page rather than the browser's.
  try {
    return await fetch(request);
  } catch (error) {
    const notFound = await cache.match(keyFor("404.html"));
    if (notFound) return notFound;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // never touch other origins
  const path = pathOf(url);
  if (path === null && request.mode !== "navigate") return;
  if (path === null && !url.pathname.startsWith(ROOT.pathname)) return;
  event.respondWith(respond(request, path));
});
"""
