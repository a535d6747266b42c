// 评分引擎（模块 Web Worker）：在浏览器里运行 Python（Pyodide），给填报表打分。
//
// Why a worker: Python boots in 1.5–3.5 s and each evaluation takes tens of milliseconds;
// on the main thread both would freeze typing. Everything is loaded from this site's own
// pyodide/ folder (two levels above this file): no other origin is ever asked.
//
// Protocol (see engine.js, which is the only intended client):
//   main → worker  {type: "evaluate", seq, submission, framework}
//                  {type: "need", id, packages: ["openpyxl"]}
//   worker → main  {type: "progress", stage: "download"|"start"|"packages"|"ready", fraction, message}
//                  {type: "ready", ms, phases: {loader, python, import}}  (ms since start)
//                  {type: "result", seq, evaluation, ms}
//                  {type: "error", seq, message}
//                  {type: "error", seq: null, fatal: true, message}   the engine could not start
//                  {type: "loaded", id, packages, ms}  |  {type: "error", id, message}
// Evaluations are coalesced: while one runs, only the newest waiting request is kept; the
// skipped ones get no reply of their own (the engine settles them with the newest outcome).

const SITE_ROOT = new URL("../../", import.meta.url);
const INDEX_URL = new URL("pyodide/", SITE_ROOT).href;
const DEFAULT_FRAMEWORK = "jinxian-2021";

const post = (message) => self.postMessage(message);

// --- progress -----------------------------------------------------------------------------------
// One overall fraction, never going back: downloads weigh 85 %, Python booting 5 %, loading the
// scoring package 10 %. Download sizes come from version.json, written by the build.
const MESSAGES = {
  download: "正在下载…",
  start: "正在启动 Python…",
  packages: "正在加载评分程序…",
  ready: "就绪",
};
const progress = { stage: "download", sizes: null, received: 0, total: 0, booted: 0, loaded: 0, last: 0, sent: -1 };

function report(stage, force = false) {
  if (stage) progress.stage = stage;
  const bytes = progress.total > 0 ? Math.min(1, progress.received / progress.total) : 0;
  let fraction = 0.85 * bytes + 0.05 * progress.booted + 0.1 * progress.loaded;
  if (progress.stage === "ready") fraction = 1;
  fraction = Math.max(progress.sent, Math.round(fraction * 1000) / 1000);
  const now = performance.now();
  if (!force && (now - progress.last < 100 || fraction === progress.sent)) return;
  progress.last = now;
  progress.sent = fraction;
  post({ type: "progress", stage: progress.stage, fraction, message: MESSAGES[progress.stage] });
}

// version.json, written by the build: the start-up files' sizes (for the bar) and the engine's
// layout, `engine: {zip, packages}` — the pure-Python packages as one zip to put on sys.path,
// and the wheels Pyodide installs (build/startup.py says why). Without it: the jixiao wheel.
async function loadSiteInfo() {
  try {
    const response = await fetch(new URL("version.json", SITE_ROOT));
    if (!response.ok) return {};
    const doc = await response.json();
    const startup = doc.startup || {};
    progress.sizes = new Map(Object.entries(startup).map(([path, size]) => [new URL(path, SITE_ROOT).href, size]));
    progress.total = [...progress.sizes.values()].reduce((a, b) => a + b, 0);
    const engine = doc.engine || {};
    if (typeof engine.zip === "string" && Array.isArray(engine.packages)) return engine;
  } catch {
    // No sizes: the bar moves only with the stages.
  }
  return {};
}

// The start-up zip as bytes, fetched while Python boots. A failed download has already been
// reported through `missingFile` (it is under pyodide/), which names the file.
async function fetchZip(rel) {
  const response = await fetch(new URL(rel, SITE_ROOT).href);
  if (!response.ok) throw new Error(`${rel}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// A startup failure whose message is already fit for the page.
class StartupError extends Error {}
let failStartup;
const startupFailed = new Promise((_, reject) => {
  failStartup = reject;
});
startupFailed.catch(() => {});

const FILE_NAMES = {
  "pyodide.asm.wasm": "Python 运行环境",
  "python_stdlib.zip": "Python 标准库",
  "jixiao-startup.zip": "评分程序的 Python 包",
  "pyodide-lock.json": "Python 包清单",
  "engine.snapshot.gz": "评分引擎快照",
};

function missingFile(url, why) {
  const name = url.slice(INDEX_URL.length);
  const what = FILE_NAMES[name] || (name.endsWith(".whl") ? "评分程序的 Python 包" : "Python 运行环境的文件");
  failStartup(new StartupError(`${what}无法下载（pyodide/${name}，${why}）。请确认站点完整部署后刷新页面。`));
}

// Pyodide hangs rather than fails when the wasm cannot be had: give up after this long without
// any sign of progress (a slow download keeps resetting it).
const STALL_MS = 120_000;
let stallTimer = null;
function stillAlive() {
  clearTimeout(stallTimer);
  stallTimer = setTimeout(() => failStartup(new StartupError("评分程序启动超时。请检查网络后刷新页面。")), STALL_MS);
}

// Watch the runtime's own downloads: fail fast on a missing file, and count the bytes of the
// big ones as they stream in. A clone is read for counting and the original returned untouched:
// a rebuilt Response would lose its URL, and with it the browser's cache of compiled
// WebAssembly on later visits.
const realFetch = self.fetch.bind(self);
self.fetch = async (resource, init) => {
  const url = new URL(typeof resource === "string" || resource instanceof URL ? resource : resource.url, self.location.href).href;
  const ours = url.startsWith(INDEX_URL);
  let response;
  try {
    response = await realFetch(resource, init);
  } catch (error) {
    if (ours) missingFile(url, init && init.integrity ? "下载失败或内容与清单不符" : "下载失败");
    throw error;
  }
  if (ours && !response.ok) missingFile(url, `HTTP ${response.status}`);
  if (!response.ok || !response.body || !progress.sizes || !progress.sizes.has(url)) return response;
  const reader = response.clone().body.getReader();
  (async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      progress.received += chunk.value.byteLength;
      stillAlive();
      report(progress.stage === "download" && progress.received >= progress.total ? "start" : null);
    }
  })().catch(() => {}); // a failed download is reported by whoever awaits the original
  return response;
};

// --- boot ---------------------------------------------------------------------------------------

function startupError(error) {
  if (error instanceof StartupError) return error.message;
  if (error && error.constructor && error.constructor.name === "PythonError") {
    // The package itself failed to import: its last traceback line, not the traceback.
    const last = String(error.message).trim().split("\n").pop();
    return `评分程序启动失败：${last}`;
  }
  const text = String(error && error.message ? error.message : error);
  if (/pyodide\.mjs|Failed to fetch dynamically imported module|import/i.test(text) && !/Python/.test(text)) {
    return "无法加载 Python 运行环境（pyodide.mjs）。请确认站点完整部署后刷新页面。";
  }
  if (/wasm|WebAssembly|magic word|CompileError/i.test(text)) {
    return "无法加载 Python 运行环境（pyodide.asm.wasm）。请确认站点完整部署，且服务器以 application/wasm 类型提供 .wasm 文件。";
  }
  if (/python_stdlib|stdlib/i.test(text)) {
    return "无法加载 Python 标准库（python_stdlib.zip）。请确认站点完整部署后刷新页面。";
  }
  if (/Failed to load|request failed|integrity|\.whl/i.test(text)) {
    return "无法加载评分程序的 Python 包（pyodide/*.whl）。请确认站点完整部署后刷新页面。";
  }
  return `评分程序启动失败：${text}`;
}

// The engine as the build saved it (build/snapshot.py): Python booted, jixiao imported, one
// form evaluated. Restoring that memory skips all three. Null when the site has no snapshot or
// it cannot be used here (the runtime is checked against it): then Python starts as before.
async function restore(layout, loadPyodide, mark) {
  if (typeof layout.snapshot !== "string" || typeof DecompressionStream !== "function") return null;
  const bytes = fetch(new URL(layout.snapshot, SITE_ROOT).href).then((response) => {
    if (!response.ok) throw new Error(`${layout.snapshot}: HTTP ${response.status}`);
    return new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
  });
  // A failed download is reported by the fetch wrapper, which names the file.
  bytes.then(() => mark("snapshot_bytes"), () => {});
  // The standard library the snapshot needs is in its memory: Pyodide gets an empty zip now and
  // the real one (4 MB) is written in its place after the first score (`files` in boot).
  const stdLibURL = typeof layout.stdlib_placeholder === "string" ? new URL(layout.stdlib_placeholder, SITE_ROOT).href : undefined;
  try {
    const pyodide = await Promise.race([loadPyodide({ ...PYODIDE_OPTIONS, stdLibURL, _loadSnapshot: bytes }), startupFailed]);
    pyodide.pyimport("jixiao.browser").after_restore(); // reseeds what was seeded when it was made
    return pyodide;
  } catch (error) {
    if (error instanceof StartupError) throw error;
    console.warn("jixiao worker: the engine snapshot could not be restored; starting Python instead", error);
    return null;
  }
}

const PYODIDE_OPTIONS = {
  indexURL: INDEX_URL,
  stdout: (line) => console.log(line),
  stderr: (line) => console.warn(line),
};

async function boot() {
  const started = performance.now();
  const phases = {}; // milliseconds since start, for the page's diagnostics
  const mark = (name) => (phases[name] = Math.round(performance.now() - started));
  report("download", true);
  stillAlive();
  // The site's layout and the loader arrive together, not one after the other.
  const [{ loadPyodide }, layout] = await Promise.all([import(new URL("pyodide.mjs", INDEX_URL).href), loadSiteInfo()]);
  mark("loader");
  const zipPath = layout.zip ? `/lib/${layout.zip.split("/").pop()}` : null;
  const zip = layout.zip ? fetchZip(layout.zip) : null; // fetched while Python starts or is restored
  zip?.catch(() => {}); // awaited below
  let pyodide = await restore(layout, loadPyodide, mark);
  let files; // the standard library in Python's file system, once it is there: later imports read it
  if (pyodide) {
    phases.snapshot = true;
    // The package's own files before the first score: some evaluations read them (a draft of
    // another framework loads that framework's data).
    if (zip) pyodide.FS.writeFile(zipPath, await Promise.race([zip, startupFailed]));
    // The standard library is not needed for a score (tests/test_engine_snapshot.py): fetched
    // now, while the engine already scores, and written over the empty stand-in.
    files = Promise.resolve();
    if (typeof layout.stdlib_placeholder === "string") {
      const stdlib = pyodide.FS.readdir("/lib").find((name) => /^python\d+\.zip$/.test(name));
      files = fetchZip("pyodide/python_stdlib.zip").then((bytes) => pyodide.FS.writeFile(`/lib/${stdlib}`, bytes));
      files.catch(() => {}); // reported by whoever needs the files
    }
  } else {
    // `packages` makes Pyodide fetch the wheels while the interpreter is still starting.
    const loading = loadPyodide({ ...PYODIDE_OPTIONS, packages: layout.zip ? layout.packages : ["jixiao"] });
    pyodide = await Promise.race([loading, startupFailed]);
    if (zip) {
      pyodide.FS.writeFile(zipPath, await Promise.race([zip, startupFailed]));
      pyodide.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(zipPath)})`);
    }
    files = Promise.resolve();
  }
  clearTimeout(stallTimer);
  mark("python");
  progress.booted = 1;
  report("packages", true);
  const run = pyodide.pyimport("jixiao.browser").run; // messages, never tracebacks, go back to the page
  mark("import");
  progress.loaded = 1;
  report("ready", true);
  post({ type: "ready", ms: phases.import, phases });
  return { pyodide, run, files };
}

const engine = boot();
engine.catch((error) => {
  console.error("jixiao worker: startup failed", error);
  post({ type: "error", seq: null, fatal: true, message: startupError(error) });
});

// --- requests -----------------------------------------------------------------------------------

let pending = null; // the newest evaluate request not yet started
let busy = false;

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0)); // lets queued messages in

// Calls (loading packages, signing, 核验) wait for this between their steps: the unit's edits are
// scored first. Resolves on a later turn once no evaluation is waiting or running.
const quietWaiters = [];
function quiet() {
  return new Promise((resolve) => {
    const check = () => setTimeout(() => (busy || pending ? quietWaiters.push(check) : resolve()), 0);
    check();
  });
}

// One package at a time (with what it depends on), the unit's evaluations between them. Packages
// already loaded cost nothing: the 汇总 page names them on every slice of its checking.
const installed = new Set();
async function loadPackages(pyodide, packages) {
  for (const name of packages.filter((n) => !installed.has(n))) {
    await quiet();
    await pyodide.loadPackage([name], { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
    installed.add(name);
  }
}

async function pump() {
  if (busy) return;
  busy = true;
  try {
    let run;
    try {
      ({ run } = await engine);
    } catch (error) {
      // Startup failed (already reported): answer whatever waits with the same reason.
      if (pending) post({ type: "error", seq: pending.seq, message: startupError(error) });
      pending = null;
      return;
    }
    await nextTurn();
    while (pending) {
      const request = pending;
      pending = null;
      try {
        evaluate(run, request);
      } catch (error) {
        console.error(`jixiao worker: evaluation ${request.seq} failed`, error);
        post({ type: "error", seq: request.seq, message: "评分程序出错，请刷新页面后重试" });
      }
      await nextTurn();
    }
  } finally {
    busy = false;
    quietWaiters.splice(0).forEach((check) => check());
  }
}

function evaluate(run, request) {
  const started = performance.now();
  let text;
  try {
    text = typeof request.submission === "string" ? request.submission : JSON.stringify(request.submission);
  } catch {
    post({ type: "error", seq: request.seq, message: "填报数据无法转换为 JSON" });
    return;
  }
  const answer = run(text, request.framework || DEFAULT_FRAMEWORK);
  let status, value, trace;
  try {
    [status, value, trace] = answer.toJs();
  } finally {
    answer.destroy();
  }
  if (status !== "ok") {
    console.error(`jixiao worker: evaluation ${request.seq} failed\n${trace}`);
    post({ type: "error", seq: request.seq, message: value });
    return;
  }
  post({ type: "result", seq: request.seq, evaluation: JSON.parse(value), ms: Math.round(performance.now() - started) });
}

async function need(request) {
  const started = performance.now();
  try {
    const { pyodide, files } = await engine;
    await files;
    const packages = Array.isArray(request.packages) ? request.packages.map(String) : [];
    await loadPackages(pyodide, packages);
    post({ type: "loaded", id: request.id, packages, ms: Math.round(performance.now() - started) });
  } catch (error) {
    console.error("jixiao worker: loading packages failed", error);
    const names = (request.packages || []).join("、");
    post({ type: "error", id: request.id, message: `无法加载所需的 Python 包：${names}` });
  }
}

// --- generic calls (signed bundles, keys, 核验: jixiao.browser_bundle) ----------------------------
//   main → worker  {type: "call", id, module: "jixiao.…", func, args: [...], packages: [...]}
//   worker → main  {type: "returned", id, value, ms}  |  {type: "error", id, message}
// Bytes travel as Uint8Array both ways; other values as plain objects/arrays/strings/numbers.
const CALL_GLUE = `
import importlib, traceback
from pyodide.ffi import JsProxy, to_js
import js
from jixiao.browser import message as _message

def _plain(value):
    if isinstance(value, JsProxy):
        value = value.to_py()
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

def _jx_call(module, func, args):
    try:
        if not (module == "jixiao" or module.startswith("jixiao.")) or func.startswith("_"):
            raise ValueError(f"不允许调用 {module}.{func}")
        target = getattr(importlib.import_module(module), func)
        value = target(*_plain(args))
        return to_js(["ok", value, ""], dict_converter=js.Object.fromEntries, create_pyproxies=False)
    except Exception as exc:
        return to_js(["error", _message(exc), traceback.format_exc()], create_pyproxies=False)
`;
let callGlue = null;

async function call(request) {
  const started = performance.now();
  let pyodide;
  try {
    let files;
    ({ pyodide, files } = await engine);
    await files; // the modules a call imports come from the start-up zip
  } catch (error) {
    post({ type: "error", id: request.id, message: startupError(error) });
    return;
  }
  const packages = Array.isArray(request.packages) ? request.packages.map(String) : [];
  try {
    await loadPackages(pyodide, packages);
  } catch (error) {
    console.error("jixiao worker: loading packages failed", error);
    post({ type: "error", id: request.id, message: `无法加载所需的 Python 包：${packages.join("、")}` });
    return;
  }
  await quiet();
  try {
    if (!callGlue) {
      pyodide.runPython(CALL_GLUE);
      callGlue = pyodide.globals.get("_jx_call");
    }
    const [status, value, trace] = callGlue(String(request.module), String(request.func), request.args || []);
    if (status !== "ok") {
      console.error(`jixiao worker: ${request.module}.${request.func} failed\n${trace}`);
      post({ type: "error", id: request.id, message: value });
      return;
    }
    post({ type: "returned", id: request.id, value, ms: Math.round(performance.now() - started) });
  } catch (error) {
    console.error(`jixiao worker: ${request.module}.${request.func} failed`, error);
    post({ type: "error", id: request.id, message: "程序出错，请刷新页面后重试" });
  }
}

self.addEventListener("message", (event) => {
  const request = event.data || {};
  if (request.type === "call") {
    call(request);
  } else if (request.type === "evaluate") {
    pending = request; // a newer request replaces one still waiting
    pump();
  } else if (request.type === "need") {
    need(request);
  }
});
