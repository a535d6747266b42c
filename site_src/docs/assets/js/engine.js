// 评分引擎的页面端：启动 worker.js（浏览器中的 Python），把填报数据交给它评分。
//
//   import { Engine, browserSupport } from "./engine.js";
//   const reason = browserSupport();          // null, or why this browser cannot score
//   const engine = new Engine();
//   engine.onprogress = ({ stage, fraction, message }) => …;   // 正在下载… → 就绪
//   await engine.ready;                       // rejects with a Chinese Error if Python cannot start
//   const evaluation = await engine.evaluate(submission, "jinxian-2021");
//   await engine.need(["openpyxl"]);          // before exporting .xlsx
//   const v = await engine.call("jixiao.browser_bundle", "fingerprint", [bytes], { packages: [...] });
//   await engine.warm();                      // EXPORT_PACKAGES loaded and imported ahead of a click
//
// Latest wins: while one evaluation runs, newer calls replace older waiting ones (the worker
// runs only the newest). Each answer settles every call made up to the one it answers, so a
// call resolves with the evaluation of its own submission or of a newer one, never an older
// one; if that evaluation failed, they reject with its error. Answers are delivered even while
// newer calls wait: typing faster than Python scores (a key held down, a slow computer) still
// sees the score follow, one evaluation behind, instead of nothing until the typing stops.
// `engine.lastSeq` / `engine.lastMs` tell which call the last answer was for and how long
// Python took.

// What signing, 核验 and 汇总 load into the worker's Python (openpyxl only when exporting: the
// score never waits for it), by lock name: openpyxl (+ et_xmlfile), ecdsa (+ six), gmalg,
// rfc8785, jinja2 (+ markupsafe), segno, pyaes (jixiao.bundle imports it for passphrase key files).
export const EXPORT_PACKAGES = ["openpyxl", "ecdsa", "gmalg", "rfc8785", "jinja2", "segno", "pyaes"];

const MODULE_WORKER_PROBE = "http://[";

function supportsModuleWorkers() {
  let supported = false;
  const options = {
    get type() {
      supported = true; // only read by browsers that know module workers
      return "module";
    },
  };
  try {
    // An invalid URL: the options are read first, then construction fails; nothing is fetched.
    new Worker(MODULE_WORKER_PROBE, options).terminate();
  } catch {
    // expected
  }
  return supported;
}

// A tiny module using WebAssembly exception handling (try … catch_all), which Pyodide needs.
const WASM_EXCEPTIONS = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // one type: () -> ()
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x06, 0x40, 0x19, 0x0b, 0x0b, // body: try catch_all end end
]);

/** Why this browser cannot run the scoring engine (Chinese), or null when it can. */
export function browserSupport() {
  const upgrade = "请改用新版 Chrome、Edge、Firefox、Safari，或国产浏览器的“极速模式”（较新版本）。";
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    return `此浏览器不支持 WebAssembly，无法在本机评分。${upgrade}`;
  }
  if (typeof BigInt !== "function" || typeof BigInt64Array !== "function") {
    return `此浏览器版本过旧（不支持 BigInt），无法在本机评分。${upgrade}`;
  }
  if (typeof Worker !== "function" || !supportsModuleWorkers()) {
    return `此浏览器版本过旧（不支持模块化 Web Worker），无法在本机评分。${upgrade}`;
  }
  try {
    if (!WebAssembly.validate(WASM_EXCEPTIONS)) {
      return `此浏览器版本过旧（不支持 WebAssembly 异常处理），无法在本机评分。${upgrade}`;
    }
  } catch {
    return `此浏览器版本过旧（WebAssembly 功能不全），无法在本机评分。${upgrade}`;
  }
  if (typeof TransformStream !== "function" || typeof TextDecoder !== "function") {
    return `此浏览器版本过旧，无法在本机评分。${upgrade}`;
  }
  return null;
}

export class Engine {
  #worker;
  #seq = 0;
  #id = 0;
  #waiting = []; // [{seq, resolve, reject}] in request order
  #needs = new Map(); // id -> {resolve, reject}
  #failure = null;
  #heard = false; // has the worker said anything yet?
  #settleReady;

  /** @param {string|URL} [workerUrl] worker.js; by default the one beside this file. */
  constructor(workerUrl = new URL("./worker.js", import.meta.url)) {
    this.onprogress = null; // ({stage, fraction, message}) => void
    this.onready = null; // ({ms}) => void
    this.lastSeq = 0;
    this.lastMs = null;
    this.readyMs = null;
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    this.ready.catch(() => {}); // callers who never await `ready` still get errors via evaluate()

    const reason = browserSupport();
    if (reason) {
      this.#fail(reason);
      return;
    }
    try {
      this.#worker = new Worker(workerUrl, { type: "module", name: "jixiao-engine" });
    } catch (error) {
      console.error("jixiao engine: cannot create the worker", error);
      this.#fail("无法启动评分程序（worker.js）。请确认站点完整部署后刷新页面。");
      return;
    }
    this.#worker.addEventListener("message", (event) => this.#receive(event.data));
    this.#worker.addEventListener("error", (event) => this.#workerError(event));
  }

  #workerError(event) {
    console.error("jixiao engine: worker error", event.message || event);
    if (event.preventDefault) event.preventDefault();
    // Before its first message this means the worker could not load (404, syntax error,
    // blocked by policy); later, a stray error inside it, which the next request will show.
    if (!this.#heard) this.#fail("无法启动评分程序（worker.js 加载失败）。请确认站点完整部署后刷新页面。");
  }

  /**
   * Score a submission (object or JSON text) against a framework id (the page's default
   * when the submission names none it knows). Resolves with the evaluation object.
   */
  evaluate(submission, framework) {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = ++this.#seq;
    const promise = new Promise((resolve, reject) => this.#waiting.push({ seq, resolve, reject }));
    this.#worker.postMessage({ type: "evaluate", seq, submission, framework });
    return promise;
  }

  /** Load extra Python packages listed in the site's lock (e.g. ["openpyxl"] before export). */
  need(packages) {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = ++this.#id;
    const promise = new Promise((resolve, reject) => this.#needs.set(id, { resolve, reject }));
    this.#worker.postMessage({ type: "need", id, packages });
    return promise;
  }

  /**
   * Run `module.func(...args)` in the worker's Python (module must be jixiao or jixiao.*),
   * after loading `packages` from the site's lock. Bytes go and come back as Uint8Array.
   * Resolves with the function's value; rejects with an Error carrying a Chinese message.
   */
  call(module, func, args = [], { packages = [] } = {}) {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = ++this.#id;
    const promise = new Promise((resolve, reject) => this.#needs.set(id, { resolve, reject }));
    this.#worker.postMessage({ type: "call", id, module, func, args, packages });
    return promise;
  }

  /**
   * Load and import what an export needs (EXPORT_PACKAGES, jixiao.browser.warm) one step at a
   * time: the worker scores the unit's edits between steps, so a keystroke waits for one step
   * (at most `import openpyxl`), not for all of it.
   */
  async warm() {
    for (let step = 0; ; step += 1) {
      const left = await this.call("jixiao.browser", "warm", [step], { packages: EXPORT_PACKAGES });
      if (!left) return;
    }
  }

  /** Stop the worker; pending calls (and later ones) reject with `reason`. */
  terminate(reason = "评分程序已停止") {
    if (this.#worker) this.#worker.terminate();
    this.#fail(reason);
  }

  #receive(message) {
    this.#heard = true;
    switch (message && message.type) {
      case "progress":
        if (this.onprogress) this.onprogress({ stage: message.stage, fraction: message.fraction, message: message.message });
        break;
      case "ready":
        this.readyMs = message.ms;
        this.#settleReady.resolve({ ms: message.ms, phases: message.phases });
        if (this.onready) this.onready({ ms: message.ms, phases: message.phases });
        break;
      case "result":
        this.lastSeq = message.seq;
        this.lastMs = message.ms;
        this.#settle(message.seq, (w) => w.resolve(message.evaluation));
        break;
      case "returned":
        this.#needs.get(message.id)?.resolve(message.value);
        this.#needs.delete(message.id);
        break;
      case "loaded":
        this.#needs.get(message.id)?.resolve({ packages: message.packages, ms: message.ms });
        this.#needs.delete(message.id);
        break;
      case "error":
        if (message.fatal) {
          this.#fail(message.message);
        } else if (message.id !== undefined) {
          this.#needs.get(message.id)?.reject(new Error(message.message));
          this.#needs.delete(message.id);
        } else {
          const error = new Error(message.message);
          this.#settle(message.seq, (w) => w.reject(error));
        }
        break;
      default:
        console.warn("jixiao engine: unknown message", message);
    }
  }

  // Settle every waiting call up to and including `seq` (the worker skipped the older ones).
  #settle(seq, how) {
    const done = this.#waiting.filter((w) => w.seq <= seq);
    this.#waiting = this.#waiting.filter((w) => w.seq > seq);
    done.forEach(how);
  }

  #fail(text) {
    if (this.#failure) return;
    this.#failure = new Error(text);
    this.#settleReady.reject(this.#failure);
    for (const w of this.#waiting) w.reject(this.#failure);
    for (const n of this.#needs.values()) n.reject(this.#failure);
    this.#waiting = [];
    this.#needs.clear();
  }
}
