// 导出签名材料与签名密钥（填报页的“导出签名材料”一节）。
//
// Keys: where the browser has WebCrypto Ed25519 (a secure context, Chromium ≥ 137, Firefox ≥ 129,
// Safari ≥ 17) and the user sets no passphrase, the key pair is generated NON-extractable and the
// CryptoKey objects are kept in IndexedDB (structured clone keeps them non-extractable): the
// private key never leaves the browser, not even to Python. Otherwise (plain-HTTP intranet,
// older browser core, or a passphrase given so the key can move to another PC) the worker's
// pure-Python Ed25519 makes the key and it is stored as the CLI's key file, the private key
// encrypted under the passphrase; the passphrase is asked for at each signing.
//
// Export: the worker prepares the payload (jixiao.browser_bundle.prepare), the page signs the
// DSSE pre-authentication bytes with WebCrypto, the worker checks the signature and builds the
// zip (.json envelope, .xlsx, .html) — or, with a key file, the worker does all three.
//
// Test hook: `?jx-signing=python` in the page URL forces the pure-Python path.

import { readSubmission } from "./form.js";
import { fileNamePart } from "./draftfile.js";
import { objectStore } from "./dom.js";
import { EXPORT_PACKAGES } from "./engine.js";

const MODULE = "jixiao.browser_bundle";
// Preloading starts once the unit has stopped typing for this long after the first score.
const WARM_AFTER_IDLE_MS = 1500;
const DB_NAME = "jixiao-keys";
const STORE = "keys";
const SLOT = "current";
const ALG_NAMES = { ed25519: "Ed25519", sm2: "SM2（国密）" }; // a key file's `alg` as the unit reads it

const forcePython = () => new URLSearchParams(window.location.search).get("jx-signing") === "python";

// --- IndexedDB ----------------------------------------------------------------------------------

const store = objectStore(DB_NAME, STORE);

export const loadKey = () => store("readonly", (s) => s.get(SLOT));
const saveKey = (record) => store("readwrite", (s) => s.put(record, SLOT));

// --- helpers ------------------------------------------------------------------------------------

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
export const groupHex = (digits) => digits.match(/.{1,4}/g).join(" ");

async function sha256Fingerprint(raw) {
  return groupHex(hex(new Uint8Array(await crypto.subtle.digest("SHA-256", raw))));
}

function download(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// Dates in Beijing time (UTC+8, no daylight saving), as every date the CLI prints: the UTC date
// read "yesterday" from 00:00 to 08:00 (QA). A key file's time from the CLI ("…T20:52:15Z")
// is shown as its Beijing date too.
const beijingDay = (ms) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);
const today = () => beijingDay(Date.now());
const dayOf = (text) => {
  const ms = /T/.test(text || "") ? Date.parse(text) : NaN;
  return Number.isNaN(ms) ? (text || "") : beijingDay(ms);
};

/** WebCrypto Ed25519 key pair (non-extractable private key), or null where unavailable. */
async function webCryptoKeyPair() {
  if (forcePython() || !window.isSecureContext || !globalThis.crypto?.subtle) return null;
  try {
    return await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch {
    return null; // this browser's WebCrypto has no Ed25519
  }
}

// --- the export section -------------------------------------------------------------------------

export function initBundle(root, engine, { notify, config }) {
  const section = root.querySelector("#jx-export");
  if (!section) return null;
  const $ = (id) => section.querySelector(`#${id}`);
  const status = $("jx-export-status");
  const keyStatus = $("jx-key-status");
  const fingerprintBox = $("jx-key-fingerprint");
  const passphrase = $("jx-key-passphrase");
  const buttons = ["jx-key-generate", "jx-key-sheet", "jx-key-export", "jx-export-bundle"].map($);
  let current = null; // the stored key record
  let busy = false;
  let said = false; // a message of an action stays until the next action's

  const say = (text, kind = "info") => {
    said = true;
    status.textContent = text;
    status.dataset.kind = kind;
  };
  // Until an action says something, the line tells what the next step is (it used to keep the
  // page's "评分引擎就绪后可导出" long after the engine was ready).
  const hint = () => {
    if (said) return;
    status.textContent = current
      ? "填写完成后点“导出签名材料”。签名后再修改，须重新导出。"
      : "导出前请先生成签名密钥（或导入密钥文件）。";
    status.dataset.kind = "info";
  };
  const call = (func, args) => engine.call(MODULE, func, args, { packages: EXPORT_PACKAGES });

  function show(record) {
    current = record || null;
    section.dataset.keyState = current ? current.kind : "none";
    fingerprintBox.textContent = current ? current.fingerprint : "";
    if (!current) {
      keyStatus.textContent = "尚未生成签名密钥。";
    } else if (current.kind === "webcrypto") {
      keyStatus.textContent = `已有签名密钥（Ed25519，保存在本浏览器中，不可导出；生成于 ${dayOf(current.created_at)}）。公钥指纹：`;
    } else {
      const alg = ALG_NAMES[current.alg] || "Ed25519"; // keys stored before `alg` was kept were all Ed25519
      keyStatus.textContent = `已有签名密钥（${alg}，私钥用口令加密保存在本浏览器中；生成于 ${dayOf(current.created_at)}）。签名时需输入口令。公钥指纹：`;
    }
    $("jx-key-sheet").disabled = !current;
    $("jx-key-export").disabled = !current || current.kind !== "python";
    hint();
  }

  async function guarded(button, work) {
    if (busy) return;
    busy = true;
    buttons.forEach((b) => b && (b.disabled = true));
    section.setAttribute("aria-busy", "true");
    try {
      await work();
    } catch (err) {
      say(err?.message || String(err), "error");
    } finally {
      busy = false;
      section.removeAttribute("aria-busy");
      buttons.forEach((b) => b && (b.disabled = false));
      show(current);
    }
  }

  const labels = () => {
    const sub = readSubmission(root);
    return { unitCode: sub.unit_code || "", unitName: sub.unit_name || "" };
  };

  async function generate() {
    if (current && !window.confirm("本浏览器中已有签名密钥。生成新密钥后，旧密钥将被替换且无法找回，需向主管部门重新登记公钥。确定继续？")) return;
    const words = passphrase.value;
    const { unitCode, unitName } = labels();
    const pair = words ? null : await webCryptoKeyPair();
    let record;
    if (pair) {
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      record = { kind: "webcrypto", privateKey: pair.privateKey, publicKey: pair.publicKey, publicRaw: raw,
        fingerprint: await sha256Fingerprint(raw), alg: "ed25519", created_at: today(), unit_code: unitCode, unit_name: unitName };
    } else {
      if (!words) {
        passphrase.focus();
        throw new Error("此浏览器（或当前的 HTTP 访问方式）不支持 WebCrypto Ed25519：请先设置一个口令，私钥将用口令加密后保存在本浏览器中。");
      }
      say("正在生成密钥并用口令加密（需要几秒钟）…");
      const made = await call("new_key_file", [words, unitCode, unitName, today()]);
      record = { kind: "python", keyFile: made.key_file, publicRaw: made.public_key, fingerprint: made.fingerprint,
        alg: made.alg, created_at: today(), unit_code: unitCode, unit_name: unitName };
    }
    await saveKey(record);
    show(record);
    say("已生成签名密钥。请打印“公钥登记表”，盖章后交主管部门登记；丢失密钥只能重新生成并重新登记。", "success");
  }

  async function keySheet() {
    const { unitCode, unitName } = labels();
    const html = await call("key_sheet", [current.publicRaw, unitName || current.unit_name || "",
      unitCode || current.unit_code || "", dayOf(current.created_at), current.alg || "ed25519"]);
    download(`${fileNamePart(unitCode) || "单位"}-公钥登记表.html`, new TextEncoder().encode(html), "text/html;charset=utf-8");
    say("已下载公钥登记表（HTML）：用浏览器打开后打印，盖章后交主管部门。", "success");
  }

  async function exportKey() {
    const name = `${fileNamePart(current.unit_code) || "单位"}-签名密钥.json`;
    download(name, new TextEncoder().encode(current.keyFile), "application/json");
    say("已导出密钥文件（私钥已用口令加密）。请妥善保管：在另一台电脑上“导入密钥文件”即可继续使用。", "success");
  }

  async function importKey(file) {
    const text = await file.text();
    const info = await call("key_file_info", [text]);
    let keyFile = text;
    if (!info.encrypted) {
      if (!passphrase.value) throw new Error("此密钥文件的私钥未加密：请先在“口令”中设置一个口令，导入时将用它加密保存。");
      keyFile = (await call("protect_key_file", [text, null, passphrase.value])).key_file;
    } else {
      if (!passphrase.value) throw new Error("请先在“口令”中输入该密钥文件的口令，再导入。");
      say("正在核对口令（需要几秒钟）…");
      await call("check_key_file", [text, passphrase.value]);
    }
    if (current && !window.confirm("导入后将替换本浏览器中现有的签名密钥。确定继续？")) return;
    const record = { kind: "python", keyFile, publicRaw: info.public_key, fingerprint: info.fingerprint, alg: info.alg,
      created_at: info.created_at || today(), unit_code: info.unit_code, unit_name: info.unit_name };
    await saveKey(record);
    show(record);
    say(`已导入签名密钥，公钥指纹 ${info.fingerprint}。`, "success");
  }

  async function exportBundle() {
    if (!current) throw new Error("请先生成签名密钥（或导入密钥文件），再导出签名材料。");
    const sub = readSubmission(root);
    if (!Number.isInteger(sub.year)) throw new Error("请先在“基本信息”中填写年度：签名材料以年度、单位编码区分。");
    const evaluation = await engine.evaluate(sub, config.framework.id);
    // A value that cannot be read would be signed as blank, not as typed: the CLI refuses such a
    // form too (browser_bundle refuses it again, whatever the page asks).
    const unreadable = (evaluation?.findings || []).filter((f) => f.code === "INVALID_VALUE");
    if (unreadable.length) {
      const listed = unreadable.slice(0, 3).map((f) => f.message).join("；");
      throw new Error(`有 ${unreadable.length} 处填写内容无法识别，签名材料不能如实记录：${listed}${unreadable.length > 3 ? "……" : ""}。请先改正（检查结果中已列出）。`);
    }
    const errors = (evaluation?.findings || []).filter((f) => f.severity === "error").length;
    if (errors && !window.confirm(`检查发现 ${errors} 个错误。仍要导出签名材料吗？（签名后再修改须重新导出）`)) {
      say(`已取消导出：检查发现 ${errors} 个错误。`, "warning");
      return;
    }
    if (current.kind === "python" && !passphrase.value) {
      passphrase.focus();
      throw new Error("请在“口令”中输入签名密钥的口令，再导出。");
    }
    say(current.kind === "python" ? "正在解锁密钥并签名（需要几秒钟）…" : "正在生成签名材料…");
    const started = performance.now();
    const text = JSON.stringify(sub);
    const signedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    let made;
    let signMs = null;
    if (current.kind === "webcrypto") {
      const prepared = await call("prepare", [text, config.framework.id, signedAt]);
      const signStarted = performance.now();
      const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, current.privateKey, prepared.signing_input));
      signMs = performance.now() - signStarted;
      made = await call("finish", [prepared.token, current.publicRaw, signature]);
    } else {
      made = await call("bundle_with_key_file", [text, config.framework.id, signedAt, current.keyFile, passphrase.value]);
    }
    const ms = Math.round(performance.now() - started);
    download(made.name, made.data, "application/zip");
    // upload.js offers to submit it to the supervisor's server (when the site is served with intake).
    section.dispatchEvent(new CustomEvent("jx:bundle-exported", { detail: { name: made.name, data: made.data } }));
    section.dataset.exportMs = String(ms);
    section.dataset.exportName = made.name;
    section.dataset.exportFingerprint = made.fingerprint;
    const timing = signMs === null ? `${ms} ms` : `${ms} ms，其中浏览器签名 ${Math.round(signMs)} ms`;
    say(`已导出“${made.name}”（公钥指纹 ${made.fingerprint}；用时 ${timing}）。${errors ? `注意：检查发现 ${errors} 个错误。` : ""}`, "success");
  }

  $("jx-key-generate").addEventListener("click", (e) => guarded(e.target, generate));
  $("jx-key-sheet").addEventListener("click", (e) => guarded(e.target, keySheet));
  $("jx-key-export").addEventListener("click", (e) => guarded(e.target, exportKey));
  $("jx-export-bundle").addEventListener("click", (e) => guarded(e.target, exportBundle));
  $("jx-key-import").addEventListener("change", (e) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (file) guarded(null, () => importKey(file));
  });

  section.dataset.signing = forcePython() || !window.isSecureContext || !globalThis.crypto?.subtle ? "python" : "webcrypto";
  loadKey().then(show, (err) => {
    show(null);
    notify?.("keys", `无法读取本浏览器中保存的签名密钥（${err?.message || err}）。`, { kind: "warning" });
  }).finally(() => {
    buttons.forEach((b) => b && (b.disabled = false));
    show(current);
    section.dataset.bundleState = "ready";
  });

  // Preload openpyxl & co. in the background so the first export does not wait for them; but
  // only once the first evaluation is shown and the unit has paused (or after 5 s without any
  // score), and in steps (engine.warm): the worker runs one thing at a time, and every edit's
  // score matters more than a faster first export.
  let warming = false;
  let idle = null;
  const warm = () => {
    if (warming) return;
    warming = true;
    clearTimeout(idle);
    root.removeEventListener("input", typing);
    const warmStarted = performance.now();
    section.dataset.warmStartedAt = warmStarted.toFixed(1);
    engine.warm().then(() => {
      section.dataset.warmDoneAt = performance.now().toFixed(1);
      section.dataset.warmMs = String(Math.round(performance.now() - warmStarted));
    }, () => {});
  };
  const later = () => {
    clearTimeout(idle);
    idle = setTimeout(warm, WARM_AFTER_IDLE_MS);
  };
  const evaluated = () => Number(root.dataset.evaluatedSeq || 0) >= 1;
  if (evaluated()) {
    later();
  } else {
    const observer = new MutationObserver(() => {
      if (!evaluated()) return;
      observer.disconnect();
      later();
    });
    observer.observe(root, { attributes: true, attributeFilter: ["data-evaluated-seq"] });
    setTimeout(() => {
      observer.disconnect();
      if (idle === null) later();
    }, 5000);
  }
  const typing = () => idle !== null && later(); // each edit puts preloading off again
  root.addEventListener("input", typing);
  return { exportBundle };
}
