// 便携版运行支架（build/portable.py 把它放在 assets/js/portable.js 的最前面）。
//
// On file:// the browser refuses module scripts, fetch() and workers. This classic script
// gives our page modules what they would otherwise get from the browser:
//
// * a module registry: __jx_define(name, isWorker, fn) / __jx_require(name) / __jx_import(spec);
// * PortableWorker, handed to engine.js as `Worker`: runs worker.js on the main thread, talking
//   to the Engine over a MessageChannel (so messages are cloned and arrive as tasks, as with a
//   real worker);
// * the Pyodide loader: pyodide/pyodide.js (Pyodide's own classic build) and
//   pyodide/pyodide.asm.js (pyodide.asm.mjs made classic at build time), loaded by <script>;
// * fetch() for the runtime's files (the wasm, the standard library, the lock, the wheels,
//   version.json), answered from base64 <script> files under pyodide/data/. Other files of
//   this folder go to the browser (which refuses them on file://, as it would have); any
//   other origin is refused here, so no code path of the page can reach the network.
//
// Nothing here asks the network: every file is read from this folder.

const JX_FILES = (() => {
  const FILES = /*JX_PORTABLE_FILES*/{};
  return FILES;
})();

const JX_SITE_ROOT = (() => {
  const src = document.currentScript && document.currentScript.src;
  return new URL("../../", src || document.baseURI).href; // this file is assets/js/portable.js
})();
const JX_INDEX_URL = new URL("pyodide/", JX_SITE_ROOT).href;
globalThis.__jxPyodideBase = JX_INDEX_URL;

// --- modules -------------------------------------------------------------------------------------

const jxModules = new Map(); // name -> {isWorker, fn, exports}

function __jx_define(name, isWorker, fn) {
  jxModules.set(name, { isWorker, fn, exports: null });
}

function jxMeta(name) {
  return { url: new URL(`assets/js/${name}`, JX_SITE_ROOT).href };
}

function __jx_require(name) {
  const module = jxModules.get(name);
  if (!module) throw new Error(`便携版缺少脚本 ${name}`);
  if (!module.exports) {
    module.exports = {}; // a cycle would see an empty object rather than recurse forever
    module.exports = module.fn(__jx_require, __jx_import, jxMeta(name), globalThis, PortableWorker);
  }
  return module.exports;
}

function __jx_import(spec) {
  const text = String(spec);
  if (text.startsWith("./")) {
    return new Promise((resolve) => setTimeout(resolve, 0)).then(() => __jx_require(text.slice(2)));
  }
  if (new URL(text, JX_SITE_ROOT).href === new URL("pyodide.mjs", JX_INDEX_URL).href) return jxPyodideModule();
  return Promise.reject(new Error(`便携版不能加载 ${text}`));
}

function __jx_start(entry) {
  document.documentElement.dataset.jxEdition = "portable";
  __jx_require(entry);
}

// --- data files ----------------------------------------------------------------------------------

const jxData = new Map(); // name -> {resolve, reject, promise}
const jxScripts = new Map(); // src -> Promise

function jxLoadScript(rel) {
  const src = new URL(rel, JX_SITE_ROOT).href;
  if (!jxScripts.has(src)) {
    jxScripts.set(src, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => { script.remove(); resolve(); };
      script.onerror = () => { script.remove(); reject(new Error(`无法读取 ${rel}`)); };
      document.head.append(script);
    }));
  }
  return jxScripts.get(src);
}

function jxSlot(name) {
  if (!jxData.has(name)) {
    const slot = {};
    slot.promise = new Promise((resolve, reject) => Object.assign(slot, { resolve, reject }));
    jxData.set(name, slot);
  }
  return jxData.get(name);
}

function jxDecodeBase64(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function jxGunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Called by each pyodide/data/*.js script.
globalThis.__jxPortableData = (name, gzipped, text) => {
  const slot = jxSlot(name);
  slot.called = true;
  try {
    const bytes = jxDecodeBase64(text);
    (gzipped ? jxGunzip(bytes) : Promise.resolve(bytes)).then(slot.resolve, slot.reject);
  } catch (error) {
    slot.reject(error);
  }
};

/** The bytes of a runtime file ("pyodide/python_stdlib.zip"), read from its data script. */
function jxFileBytes(rel) {
  const entry = JX_FILES.files && JX_FILES.files[rel];
  if (!entry) return null;
  const name = rel.slice("pyodide/".length);
  const slot = jxSlot(name);
  jxLoadScript(entry.script).then(() => {
    // A data script that ran without calling __jxPortableData (damaged file) must not hang.
    if (!slot.called) slot.reject(new Error(`${entry.script} 内容不完整`));
  }, slot.reject);
  // Read once: let go of the bytes (and allow a later re-read) as soon as they are handed out.
  return slot.promise.finally(() => {
    jxData.delete(name);
    jxScripts.delete(new URL(entry.script, JX_SITE_ROOT).href);
  });
}

const JX_TYPES = { ".wasm": "application/wasm", ".json": "application/json", ".zip": "application/zip", ".whl": "application/zip" };

/** fetch() for this folder's runtime files; null for any other URL. */
function jxLocalResponse(url) {
  if (!url.startsWith(JX_SITE_ROOT)) return null;
  const rel = url.slice(JX_SITE_ROOT.length).split(/[?#]/)[0];
  if (JX_FILES.inline && rel in JX_FILES.inline) {
    return Promise.resolve(new Response(JX_FILES.inline[rel], { headers: { "Content-Type": "application/json" } }));
  }
  const bytes = jxFileBytes(rel);
  if (!bytes) return null;
  const type = JX_TYPES[rel.slice(rel.lastIndexOf("."))] || "application/octet-stream";
  return bytes.then((data) => new Response(data, { headers: { "Content-Type": type } }),
    () => new Response(null, { status: 404, statusText: "Not Found" }));
}

const jxBrowserFetch = globalThis.fetch ? globalThis.fetch.bind(globalThis) : null;
let jxScope = null; // the newest PortableWorker's scope: its fetch wrapper sees Pyodide's downloads

function jxDataFetch(resource, init) {
  const url = new URL(typeof resource === "string" || resource instanceof URL ? resource : resource.url, document.baseURI).href;
  const local = jxLocalResponse(url);
  if (local) return local;
  // The portable edition never asks the network: only this folder, data: and blob: URLs.
  const ours = url.startsWith(JX_SITE_ROOT) || url.startsWith("data:") || url.startsWith("blob:");
  if (!jxBrowserFetch || !ours) return Promise.reject(new TypeError(`便携版不访问网络：${url}`));
  return jxBrowserFetch(resource, init);
}

globalThis.fetch = (resource, init) => {
  const url = new URL(typeof resource === "string" || resource instanceof URL ? resource : resource.url, document.baseURI).href;
  // The runtime's files go through the worker's own fetch wrapper (progress, missing files).
  if (jxScope && url.startsWith(JX_SITE_ROOT) && jxScope.fetch !== jxDataFetch) return jxScope.fetch(resource, init);
  return jxDataFetch(resource, init);
};

// --- Pyodide ---------------------------------------------------------------------------------------

let jxPyodide = null;

function jxPyodideModule() {
  if (!jxPyodide) {
    // Start reading the big files at once, in parallel with the loader scripts.
    const startup = JSON.parse((JX_FILES.inline || {})["version.json"] || "{}").startup || {};
    for (const rel of Object.keys(startup)) if (JX_FILES.files[rel]) jxLoadScript(JX_FILES.files[rel].script).catch(() => {});
    jxPyodide = Promise.all([jxLoadScript("pyodide/pyodide.js"), jxLoadScript("pyodide/pyodide.asm.js")]).then(() => {
      const load = globalThis.loadPyodide;
      const create = globalThis._createPyodideModule;
      if (typeof load !== "function" || typeof create !== "function") throw new Error("pyodide.mjs: Python 运行环境脚本不完整");
      const lockURL = new URL("pyodide-lock.json", JX_INDEX_URL).href;
      return {
        loadPyodide(options = {}) {
          const lockFileContents = fetch(lockURL).then((r) => {
            if (!r.ok) throw new Error("pyodide-lock.json 无法读取");
            return r.json();
          });
          lockFileContents.catch(() => {});
          return load({ ...options, indexURL: JX_INDEX_URL, packageBaseUrl: JX_INDEX_URL, lockFileContents, createPyodideModule: create });
        },
      };
    });
  }
  return jxPyodide;
}

// --- the worker, on the main thread ------------------------------------------------------------------

class PortableWorker {
  #port;
  #listeners = { message: new Set(), error: new Set() };

  constructor(url, options = {}) {
    const type = options.type; // read first, as a real Worker does (engine.js probes for module workers)
    const href = new URL(url, document.baseURI).href;
    const name = href.startsWith(JX_SITE_ROOT + "assets/js/") ? href.slice((JX_SITE_ROOT + "assets/js/").length) : "";
    const module = jxModules.get(name);
    if (!module || !module.isWorker || (type && type !== "module")) {
      throw new DOMException(`便携版不能启动 ${href}`, "SecurityError");
    }
    const channel = new MessageChannel();
    this.#port = channel.port2;
    this.#port.onmessage = (event) => this.#emit("message", event);
    const inner = channel.port1;
    const scope = {
      name: options.name || "",
      location: { href },
      postMessage: (message) => inner.postMessage(message),
      addEventListener: (kind, fn) => { if (kind === "message") inner.addEventListener("message", fn); },
      removeEventListener: (kind, fn) => { if (kind === "message") inner.removeEventListener("message", fn); },
      fetch: jxDataFetch,
    };
    jxScope = scope;
    setTimeout(() => {
      try {
        module.fn(__jx_require, __jx_import, jxMeta(name), scope, undefined);
      } catch (error) {
        console.error("jixiao portable: the engine could not start", error);
        this.#emit("error", { message: String(error && error.message ? error.message : error), error, preventDefault() {} });
        return;
      }
      inner.start(); // messages posted before the module listened were queued, as in a worker
    }, 0);
  }

  addEventListener(kind, fn) { this.#listeners[kind]?.add(fn); }
  removeEventListener(kind, fn) { this.#listeners[kind]?.delete(fn); }
  postMessage(message) { this.#port.postMessage(message); }
  terminate() { this.#port.close(); }

  #emit(kind, event) {
    for (const fn of this.#listeners[kind]) fn(event);
  }
}
