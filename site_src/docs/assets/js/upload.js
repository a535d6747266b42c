// 提交给主管部门：导出签名材料后，直接提交到本站点的收件服务（主管部门用 jixiao serve --store 运行的服务器）。
//
// A bundle to submit goes first into a queue in IndexedDB ("jixiao-uploads"), keyed by the
// sha256 of its bytes, so nothing is lost when the page closes, the network drops or the server
// is down. The queue is then sent: POST api/bundles (beside the site's root), and an item counts
// as delivered only when the server answers 2xx naming the same sha256. Network failures, 408,
// 429 and 5xx are retried with exponential backoff (2 s, 4 s, 8 s … at most 5 min, honouring
// Retry-After), and at once when the browser comes back online; a refusal (400, 413, 415, 422 …)
// shows the server's reason and is not retried unless the unit submits again. Sent items stay
// listed (with the server's receipt) until removed.
//
// Whether this server takes bundles is asked once (GET api/intake): a plain static host, the
// portable edition (file://) or a 404 means it does not, and the page says so and offers the
// file instead. Everything shown is text (textContent), including the server's messages.
//
// Hook: bundle.js dispatches `jx:bundle-exported` ({name, data}) on #jx-export after a download.

import { el, objectStore } from "./dom.js";
const DB_NAME = "jixiao-uploads";
const STORE = "queue";
const SITE_ROOT = new URL("../../", import.meta.url);
const ENDPOINT = new URL("api/bundles", SITE_ROOT).href;
const INFO = new URL("api/intake", SITE_ROOT).href;
const BASE_DELAY_MS = 2000;
const MAX_DELAY_MS = 5 * 60 * 1000;
const RETRIED = new Set([408, 425, 429, 500, 502, 503, 504]);
const STATE_WORDS = { pending: "待提交", sending: "正在提交", sent: "已提交", refused: "被拒收" };

// --- IndexedDB ----------------------------------------------------------------------------------

const store = objectStore(DB_NAME, STORE, { keyPath: "id" });

const allItems = () => store("readonly", (s) => s.getAll());
const getItem = (id) => store("readonly", (s) => s.get(id));
const putItem = (item) => store("readwrite", (s) => s.put(item));
const deleteItem = (id) => store("readwrite", (s) => s.delete(id));

// --- sha256 (WebCrypto where there is a secure context; plain JS on an HTTP intranet) ------------

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 of `bytes` in plain JavaScript (FIPS 180-4), as lowercase hex. */
export function sha256HexPlain(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array((((length + 9) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length << 3) >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return [...h].map((x) => x.toString(16).padStart(8, "0")).join("");
}

export async function sha256Hex(bytes) {
  if (globalThis.crypto?.subtle) {
    try {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    } catch {
      // fall through to the plain version
    }
  }
  return sha256HexPlain(bytes);
}

// --- helpers ------------------------------------------------------------------------------------

function download(name, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/zip" }));
  const a = el("a", { href: url, download: name, rel: "noopener" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const clock = (ms) => new Date(ms).toLocaleTimeString("zh-CN", { hour12: false });
const when = (ms) => new Date(ms).toLocaleString("zh-CN", { hour12: false });

/** The wait before attempt `attempts + 1`: 2 s, 4 s, 8 s … at most 5 min, ±20 % so tabs do not march together. */
export function backoff(attempts) {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

function retryAfter(response) {
  const value = response.headers.get("retry-after");
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(MAX_DELAY_MS, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.min(MAX_DELAY_MS, Math.max(0, date - Date.now())) : 0;
}

const contentType = (bytes) => (bytes[0] === 0x50 && bytes[1] === 0x4b ? "application/zip" : "application/json");

const NOT_HERE = {
  file: "本页是从本机文件打开的（便携版），不能在线提交。请用“导出签名材料”下载压缩包，以U盘、邮件等方式交主管部门。",
  static: "本站点没有开启在线提交（服务器不接收签名材料）。请用“导出签名材料”下载压缩包，以U盘、邮件等方式交主管部门；" +
    "如主管部门已开通在线提交，请向其索取提交网址。",
};

// --- the section --------------------------------------------------------------------------------

export function initUpload(root, { notify } = {}) {
  const anchor = root.querySelector("#jx-export");
  if (!anchor || root.querySelector("#jx-upload")) return null;
  const section = el("section", { id: "jx-upload", className: "jx-part jx-upload", "aria-labelledby": "jx-upload-title",
    "data-testid": "upload-section", dataset: { intake: "unknown" } });
  const intakeLine = el("p", { id: "jx-upload-intake", "data-testid": "upload-intake" }, "正在查询本站点是否接收在线提交…");
  const submit = el("button", { type: "button", id: "jx-upload-submit", className: "jx-primary", "data-testid": "upload-submit", disabled: "" },
    "提交刚导出的签名材料");
  const again = el("button", { type: "button", id: "jx-upload-download", "data-testid": "upload-download", hidden: "" },
    "再次下载刚导出的签名材料");
  const fileInput = el("input", { type: "file", id: "jx-upload-file", accept: ".zip,.json,application/zip,application/json",
    "data-testid": "upload-file" });
  const pick = el("span", { className: "jx-file" },
    el("label", { for: "jx-upload-file", className: "jx-file-label" }, "选择已导出的签名材料提交"), fileInput);
  const retry = el("button", { type: "button", id: "jx-upload-retry", "data-testid": "upload-retry", hidden: "" }, "立即重试");
  const status = el("p", { id: "jx-upload-status", className: "jx-export-status", role: "status", "aria-live": "polite",
    "data-testid": "upload-status" });
  const list = el("ul", { id: "jx-upload-list", className: "jx-upload-list", "data-testid": "upload-list" });
  section.append(
    el("h2", { id: "jx-upload-title" }, "提交给主管部门"),
    el("p", { className: "jx-hint" }, "导出签名材料后，可直接提交给主管部门。提交的材料先保存在本浏览器的“待提交”列表中，" +
      "网络不通或服务器暂时不可用时会自动重试，关闭页面也不会丢失；服务器核验通过并确认收到后显示“已提交”。"),
    intakeLine,
    el("p", { className: "jx-toolbar-row" }, submit, " ", pick, " ", again, " ", retry),
    status, list);
  anchor.after(section);

  let intake = "unknown"; // unknown | available | unavailable | unreachable
  let intakeWhy = "";
  let lastExport = null; // {name, data}
  let items = new Map(); // id -> item, as stored
  const sending = new Set();
  let timer = null;
  let pumping = false;

  const say = (text, kind = "info") => {
    status.textContent = text;
    status.dataset.kind = kind;
  };

  function setIntake(state, text) {
    intake = state;
    section.dataset.intake = state;
    if (state === "unavailable") intakeWhy = text;
    intakeLine.textContent = state === "available" ? "本站点接收在线提交：材料由服务器核验通过并确认收到后，才显示“已提交”。"
      : state === "unavailable" ? text
        : state === "unreachable" ? "暂时无法连接本站点的服务器：可先提交，材料保存在“待提交”中，连上后自动发送。"
          : "正在查询本站点是否接收在线提交…";
    intakeLine.dataset.kind = state === "unavailable" ? "warning" : "info";
    refreshButtons();
  }

  function refreshButtons() {
    submit.disabled = !lastExport || intake === "unavailable";
    again.hidden = !lastExport;
    fileInput.disabled = intake === "unavailable";
    retry.hidden = ![...items.values()].some((i) => i.state === "pending");
  }

  function render() {
    const ordered = [...items.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
    list.replaceChildren(...ordered.map((item) => {
      const state = sending.has(item.id) ? "sending" : item.state;
      const actions = [];
      const button = (label, testid, run) => {
        const b = el("button", { type: "button", "data-testid": testid }, label);
        b.addEventListener("click", run);
        actions.push(b);
      };
      button("下载", "upload-item-download", () => download(item.name, item.data));
      if (item.state !== "sent" && state !== "sending") button(item.state === "refused" ? "重新提交" : "立即重试", "upload-item-retry", () => resubmit(item.id));
      if (state !== "sending") button("移除", "upload-item-remove", () => remove(item.id));
      const lines = [el("span", { className: "jx-upload-state", "data-testid": "upload-item-state" }, STATE_WORDS[state] || state),
        el("span", { "data-testid": "upload-item-name" }, item.name)];
      const detail = el("div", { className: "jx-hint", "data-testid": "upload-item-message" }, item.message || "");
      // The message already quotes the first reason: the list holds the others (QA: it was said twice).
      const others = (item.reasons || []).filter((r) => !(item.message || "").includes(r));
      const reasons = others.length ? el("ul", {}, ...others.slice(0, 8).map((r) => el("li", {}, r))) : null;
      return el("li", { "data-testid": "upload-item", dataset: { state, sha256: item.id, attempts: String(item.attempts || 0) } },
        ...lines, ...actions, detail, reasons);
    }));
    const pending = ordered.filter((i) => i.state === "pending").length;
    section.dataset.pending = String(pending);
    section.dataset.sent = String(ordered.filter((i) => i.state === "sent").length);
    refreshButtons();
  }

  async function save(item) {
    items.set(item.id, item);
    await putItem(item);
    render();
  }

  async function probe() {
    if (location.protocol === "file:") {
      setIntake("unavailable", NOT_HERE.file);
      return;
    }
    try {
      const response = await fetch(INFO, { cache: "no-store", credentials: "same-origin" });
      const body = response.ok ? await response.json().catch(() => null) : null;
      if (response.ok && body?.accepting) setIntake("available");
      else if (response.status === 404 || response.status === 405 || response.ok) setIntake("unavailable", NOT_HERE.static);
      else setIntake("unreachable");
    } catch {
      setIntake("unreachable");
    }
  }

  async function enqueue(name, data, how) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const id = await sha256Hex(bytes);
    const known = items.get(id) || (await getItem(id));
    // Sent before: it is sent again and the server answers (it keeps one copy). Answered from here,
    // a store lost or replaced since could never get it back (QA), nor a key revoked since be told.
    const again = known?.state === "sent";
    const item = { ...(known || {}), id, name, data: bytes, size: bytes.length, how,
      created_at: known?.created_at || new Date().toISOString(), state: "pending", attempts: 0, next_at: 0,
      message: again ? `此前已于 ${when(known.sent_at)} 提交：再次向主管部门的服务器核对` : "等待提交", reasons: [] };
    await save(item);
    say(again ? `“${name}”此前已于 ${when(known.sent_at)} 提交，正在向主管部门的服务器核对…` : `“${name}”已放入待提交列表。`);
    pump();
  }

  async function resubmit(id) {
    const item = items.get(id);
    if (!item) return;
    if (intake === "unavailable") await probe();
    await save({ ...item, state: "pending", next_at: 0, attempts: item.state === "refused" ? 0 : item.attempts });
    pump();
  }

  async function remove(id) {
    const item = items.get(id);
    if (!item) return;
    if (item.state === "pending" && !window.confirm(`“${item.name}”尚未提交。确定从待提交列表中移除？（文件本身可先点“下载”保存）`)) return;
    items.delete(id);
    await deleteItem(id);
    render();
  }

  async function send(item) {
    sending.add(item.id);
    render();
    let response = null;
    let body = null;
    const attempts = (item.attempts || 0) + 1;
    const next = { ...item, attempts, last_try: Date.now() };
    try {
      response = await fetch(ENDPOINT, { method: "POST", body: new Blob([item.data]), cache: "no-store", credentials: "same-origin",
        headers: { "Content-Type": contentType(item.data), "X-Filename": encodeURIComponent(item.name) } });
      body = await response.json().catch(() => null);
    } catch {
      response = null;
    } finally {
      sending.delete(item.id);
    }
    if (response === null) {
      next.next_at = Date.now() + backoff(attempts);
      next.message = `无法连接主管部门的服务器（网络不通或服务器未开启），${clock(next.next_at)} 自动重试（第 ${attempts} 次尝试）。`;
      if (intake !== "unavailable") setIntake("unreachable");
    } else if (response.ok && body?.sha256 === item.id) {
      Object.assign(next, { state: "sent", sent_at: Date.now(), status_code: response.status, reasons: [],
        message: `${body.message || "已收到"}（${when(Date.now())}，回执 sha256 ${item.id.slice(0, 16)}…）` });
      setIntake("available");
    } else if (response.status === 404 || response.status === 405) {
      setIntake("unavailable", NOT_HERE.static);
      next.next_at = 0;
      next.message = "本站点不接收在线提交：请“下载”此文件，以U盘、邮件等方式交主管部门。";
    } else if (response.ok) {
      next.next_at = Date.now() + backoff(attempts);
      next.message = `服务器的回执与这份材料不符，${clock(next.next_at)} 重试。`;
    } else if (RETRIED.has(response.status)) {
      next.next_at = Date.now() + Math.max(backoff(attempts), retryAfter(response));
      const said = body?.message ? `：${body.message}` : "";
      next.message = `服务器暂时无法接收（HTTP ${response.status}${said}），${clock(next.next_at)} 自动重试（第 ${attempts} 次尝试）。`;
    } else {
      Object.assign(next, { state: "refused", status_code: response.status, refused_at: Date.now(),
        message: `主管部门的服务器拒收（HTTP ${response.status}）：${body?.message || "未说明原因"}。${body?.advice || "请改正后重新导出并提交。"}`,
        reasons: Array.isArray(body?.reasons) ? body.reasons.map(String) : [] });
    }
    await save(next);
    if (next.state === "sent") say(`“${item.name}”已提交：${body.message || "主管部门已确认收到"}`, "success");
    else if (next.state === "refused") say(`“${item.name}”被拒收：${body?.message || `HTTP ${response.status}`}`, "error");
  }

  async function pumpOnce() {
    for (;;) {
      if (intake === "unavailable") return;
      const due = [...items.values()].filter((i) => i.state === "pending" && !sending.has(i.id) && (i.next_at || 0) <= Date.now())
        .sort((a, b) => a.created_at.localeCompare(b.created_at));
      if (!due.length) return;
      for (const item of due) {
        const fresh = await getItem(item.id); // another tab may have sent it meanwhile
        if (!fresh || fresh.state !== "pending") {
          if (fresh) items.set(fresh.id, fresh);
          else items.delete(item.id);
          render();
          continue;
        }
        await send(fresh);
      }
    }
  }

  async function pump() {
    if (pumping) return;
    pumping = true;
    clearTimeout(timer);
    try {
      // One tab at a time sends (where the browser has Web Locks); the server is idempotent anyway.
      if (navigator.locks?.request) await navigator.locks.request("jixiao-upload-queue", pumpOnce);
      else await pumpOnce();
    } catch (err) {
      say(`提交队列出错：${err?.message || err}`, "error");
    } finally {
      pumping = false;
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (intake === "unavailable") return;
    const waits = [...items.values()].filter((i) => i.state === "pending").map((i) => i.next_at || 0);
    if (!waits.length) return;
    timer = setTimeout(pump, Math.max(0, Math.min(...waits) - Date.now()));
  }

  async function retryNow() {
    if (intake !== "available") await probe();
    for (const item of items.values()) {
      if (item.state === "pending") await save({ ...item, next_at: 0 });
    }
    pump();
  }

  submit.addEventListener("click", () => {
    if (lastExport) enqueue(lastExport.name, lastExport.data, "export").catch((err) => say(`无法放入待提交列表：${err?.message || err}`, "error"));
  });
  again.addEventListener("click", () => lastExport && download(lastExport.name, lastExport.data));
  retry.addEventListener("click", retryNow);
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    fileInput.value = "";
    if (!file) return;
    try {
      await enqueue(file.name, new Uint8Array(await file.arrayBuffer()), "file");
    } catch (err) {
      say(`无法放入待提交列表：${err?.message || err}`, "error");
    }
  });
  anchor.addEventListener("jx:bundle-exported", (event) => {
    const { name, data } = event.detail || {};
    if (!name || !data) return;
    lastExport = { name, data: data instanceof Uint8Array ? data : new Uint8Array(data) };
    refreshButtons();
    say(intake === "unavailable" ? `已导出“${name}”。${intakeWhy}` : `已导出“${name}”：点“提交刚导出的签名材料”即可提交给主管部门。`);
  });
  window.addEventListener("online", retryNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") pump();
  });

  const started = (async () => {
    try {
      items = new Map((await allItems()).map((i) => [i.id, i]));
    } catch (err) {
      section.dataset.queue = "unavailable";
      notify?.("upload", `无法读取待提交列表（${err?.message || err}）。仍可下载签名材料后以U盘等方式提交。`, { kind: "warning" });
    }
    render();
    await probe();
    section.dataset.ready = "1";
    pump();
  })();
  return { ready: started, enqueue };
}
