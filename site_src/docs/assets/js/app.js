// Page wiring, loaded as a module on every page; does nothing where there is no form.
// The form works before (and without) the scoring engine: typing, drafts and export do not
// wait for Python. The engine and the offline cache are loaded with dynamic imports so that
// a failure in either leaves the rest of the page working.

import { formConfig, readSubmission, syncShown, nameUnnamed, addItem, removeItem } from "./form.js";
import { showEvaluation } from "./results.js";
import { initDrafts } from "./drafts.js";
import { inputKey, recall, remember } from "./remembered.js";

const STAGES = {
  download: "正在下载评分引擎",
  start: "正在启动 Python",
  packages: "正在加载评分组件",
  ready: "评分引擎就绪",
};
// One calm sentence: what plain HTTP means here, and what to do about it.
const INSECURE = "此页面经普通 HTTP 打开，浏览器不允许保存离线副本，签名改用内置的备用方式；" +
  "如需断网使用，请向管理员索取 HTTPS 地址或使用便携版。";

function notifier(root) {
  const box = root.querySelector("#jx-notices");
  return (key, text, { kind = "info", action = null } = {}) => {
    if (!box) return;
    box.querySelector(`[data-key="${key}"]`)?.remove();
    if (!text) return;
    const note = document.createElement("div");
    note.className = `jx-notice jx-notice-${kind}`;
    note.dataset.key = key;
    // The box is a polite live region: a note added to it is read out (a role="status" note
    // inserted whole is not, in most screen readers); an error interrupts.
    if (kind === "error") note.setAttribute("role", "alert");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "jx-dismiss";
    close.setAttribute("aria-label", "关闭此提示");
    close.textContent = "×";
    close.addEventListener("click", () => note.remove());
    const words = document.createElement("span");
    words.textContent = text;
    note.append(close, words);
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      note.append(" ", button);
    }
    box.append(note);
    if (kind === "info" && !action) setTimeout(() => note.remove(), 10000);
  };
}

// The status line is a live region: it changes with the stage only, or a screen reader would read
// out every percent (ten a second while downloading). The percent is the progress bar's value,
// and shown beside the line for the eye.
function progress(root, fraction, text, shownPercent = false) {
  const bar = root.querySelector("#jx-progress");
  const status = root.querySelector("#jx-status");
  const figure = root.querySelector("#jx-progress-percent");
  if (bar && fraction !== null && fraction !== undefined) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    bar.setAttribute("aria-valuenow", String(percent));
    if (text) bar.setAttribute("aria-valuetext", `${text.replace(/[…。.]+$/, "")} ${percent}%`);
    bar.style.setProperty("--jx-progress", `${percent}%`);
    if (figure) figure.textContent = shownPercent ? `${percent}%` : "";
  }
  if (status && text && status.textContent !== text) status.textContent = text;
}

async function startEngine(root, onReady) {
  // Python starts once the page is parsed. Started from the <head>, its download, decompression
  // and compilation took the cores the parser needed: DOMContentLoaded 0.43 / 0.38 → 0.26 / 0.29 s
  // (first / repeat visit) and a key press kept 0.48 / 0.42 → 0.35 / 0.33 s without it, and the
  // first score came no later (bench_portal.py, e5e8882).
  if (document.readyState === "loading") {
    await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
  }
  let module;
  try {
    module = await import("./engine.js");
  } catch (err) {
    root.dataset.engineState = "failed";
    progress(root, 0, `评分引擎无法加载（${err?.message || err}）。填写、草稿和导出不受影响。`);
    return null;
  }
  const reason = module.browserSupport?.();
  if (reason) {
    root.dataset.engineState = "unsupported";
    progress(root, 0, `${reason} 仍可填写、保存和导出草稿，但不能自动检查。`);
    return null;
  }
  const engine = new module.Engine();
  engine.onprogress = ({ stage, fraction, message }) => {
    root.dataset.engineStage = stage;
    const words = (message || STAGES[stage] || stage).replace(/[…。.]+$/, "");
    progress(root, fraction, stage === "ready" ? words : `${words}…`, stage !== "ready");
  };
  engine.ready.then((ready) => {
    root.dataset.enginePhases = JSON.stringify(ready?.phases || {}); // for benchmarks/bench_portal.py
    root.dataset.engineState = "ready";
    progress(root, 1, "评分引擎就绪：填写时自动检查。");
    onReady(engine);
  }, (err) => {
    root.dataset.engineState = "failed";
    progress(root, 0, `评分引擎启动失败（${err?.message || err}）。填写和草稿不受影响，可刷新页面重试。`);
  });
  return engine;
}

// Taking a new version: the service worker of the old one must stay stopped while Chromium swaps
// them. Anything this page's Python worker fetches (it loads the signing packages while the page
// is idle) goes through the old service worker and starts it again: Chromium then waits until it
// has been idle for its timeout (tens of seconds) before the new version takes over.
const SWITCHING = "正在切换到新版本，页面即将重新加载";

async function startOffline(root, notify, beforeReload, after, stopEngine) {
  if (!window.isSecureContext) notify("insecure", INSECURE, { kind: "warning" });
  let module;
  try {
    module = await import("./offline.js");
  } catch {
    return;
  }
  const result = await module.registerServiceWorker({
    after, // fill the offline cache only once the engine is up: it needs the bandwidth first
    onUpdateReady(apply) {
      notify("update", "网站已更新。", {
        kind: "info",
        action: {
          label: "新版本已就绪，点击重新加载",
          run: async () => {
            await beforeReload();
            stopEngine(SWITCHING);
            notify("update", `${SWITCHING}…`, { kind: "info" });
            apply();
          },
        },
      });
    },
    onReplaced(reload) {
      notify("update", "");
      notify("replaced", "本站已在另一个标签页中更新为新版本，本页仍是旧版本：请重新加载本页后再继续（已填写的内容会先保存）。", {
        kind: "warning",
        action: { label: "重新加载", run: async () => { await beforeReload(); reload(); } },
      });
    },
  }).catch(() => "unsupported");
  root.dataset.offline = result;
  const badge = root.querySelector("#jx-offline-status");
  if (!badge) return;
  if (result === "offline-ready") badge.textContent = "已可离线使用";
  else if (result === "failed" || result === "unsupported" || result === "portable") {
    badge.textContent = module.STATUS_TEXT?.[result] || "";
    badge.dataset.state = result;
  }
}

async function main(root) {
  if (root.dataset.jxStarted) return;
  root.dataset.jxStarted = "1";
  const config = formConfig(root);
  const notify = notifier(root);
  let engine = null;

  // Evaluate the current form. An answer is shown unless a newer one already is: while typing
  // outpaces the engine, each answer it gives is shown as it comes (see engine.js).
  let requests = 0;
  let shown = { request: 0, result: null };
  let era = 0; // a draft opened or a row added or removed: answers about the form before are dropped
  // Requests made while Python still boots wait in the worker, which answers the newest one as
  // soon as it can: the first score does not wait for a "ready" message and a reply.
  const evaluate = async () => {
    if (!engine || root.dataset.engineState === "failed") return;
    const mine = ++requests;
    const mineEra = era;
    const sub = readSubmission(root);
    if (!Number.isInteger(sub.year)) {
      notify("evaluate", "请先在“基本信息”中填写年度（四位数字），才能自动检查。", { kind: "warning" });
      return;
    }
    try {
      const result = await engine.evaluate(sub, config.framework.id);
      if (mine < shown.request || mineEra !== era || !result) return;
      const fresh = result !== shown.result; // one answer settles every request it covers
      shown = { request: mine, result };
      if (fresh) {
        showEvaluation(root, result, config.rule_names);
        if (!root.dataset.engineEvaluatedAt) {
          root.dataset.engineEvaluatedAt = performance.now().toFixed(1); // for benchmarks/bench_portal.py
        }
        if (root.dataset.scoreSource !== "engine") notify("remembered", "");
        root.dataset.scoreSource = "engine";
        root.dataset.firstSource ||= "engine"; // for benchmarks/bench_portal.py
        notify("evaluate", "");
      }
      // Only the newest request's answer is surely for `sub` (an older one's may be for a later form).
      if (mine === requests) remember(config.engine, inputKey(config.framework.id, sub), result);
    } catch (err) {
      // A start-up failure is already shown beside the progress bar.
      if (mine === requests && root.dataset.engineState !== "failed") {
        notify("evaluate", `无法检查：${err?.message || err}`, { kind: "error" });
      }
    }
  };
  let evalTimer = null;
  const scheduleEvaluate = () => {
    clearTimeout(evalTimer);
    // No debounce: the engine keeps only the newest waiting request (latest wins), so a burst
    // of keystrokes costs one evaluation, and a single edit is scored at once.
    evalTimer = setTimeout(evaluate, 0);
  };

  // Fields edited before the drafts are ready, which keep the user's values over the draft
  // drafts.js restores: those typed before this script ran (noted by the inline recorder in
  // main.html, as the fields take typing as soon as they are drawn) and those typed while the
  // drafts open. "*" is a change of the form's shape (a row added or removed).
  const typed = new Set(window.__jxTyped || []);
  window.__jxTyped = null; // the recorder stops: the handlers below take over
  for (const path of ["year", "unit_name"]) {
    if (typed.has(path)) syncShown(root, path, root.querySelector(`[data-path=${path}]`)?.value);
  }
  let editedEarly = false; // an edit while the drafts open: saved once they are ready
  let drafts = { changed(path) { typed.add(path || "*"); editedEarly = true; }, flush: async () => {} };
  // A remembered result on show no longer fits the form (an edit, another draft opened) until
  // the engine answers: say so rather than pass it off.
  const markStale = () => {
    if (root.dataset.scoreSource !== "remembered") return;
    root.dataset.scoreSource = "stale";
    notify("remembered", "表格已修改：评分引擎启动后按新内容重新检查，目前显示的仍是修改前的结果。",
      { kind: "warning" });
  };
  const changed = (path) => {
    drafts.changed(path);
    markStale();
    scheduleEvaluate();
  };

  // The opened draft's last evaluation, when the engine scored exactly this form before
  // (remembered.js): shown while Python starts, replaced by the engine's own answer.
  const showRemembered = () => {
    if (root.dataset.scoreSource === "engine") return; // the engine's answers take it from here
    if (["failed", "unsupported"].includes(root.dataset.engineState)) return; // nothing would replace it
    const found = recall(config.engine, inputKey(config.framework.id, readSubmission(root)));
    if (!found) {
      markStale();
      return;
    }
    showEvaluation(root, found, config.rule_names);
    root.dataset.scoreSource = "remembered";
    root.dataset.firstSource ||= "remembered";
    notify("remembered", "显示的是此草稿上次的检查结果；评分引擎启动后会重新检查。", { kind: "info" });
  };

  // Typing never re-renders anything: read, save, evaluate.
  const onEdit = (event) => {
    const el = event.target;
    if (!el?.dataset?.path) return;
    root.dataset.inputAt = event.timeStamp.toFixed(1); // for benchmarks/bench_portal.py
    if (el.matches("[data-path=year], [data-path=unit_name]")) syncShown(root, el.dataset.path, el.value);
    else nameUnnamed(root, el.dataset.path); // only a 三级 name box has hidden words to update
    changed(el.dataset.path);
  };
  root.addEventListener("input", onEdit);
  root.addEventListener("change", onEdit);
  // Material's shortcuts (. and , change page, s / f open search) took a digit row typed while a
  // button of the form had the focus (删除此行 sits between two boxes in the Tab order) and left
  // the page mid-entry. Within the page's content a plain key stays with the form.
  (root.closest("article") || root).addEventListener("keydown", (event) => {
    if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) event.stopPropagation();
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const done = button.dataset.action === "add-item"
      ? addItem(root, button.dataset.groupPath)
      : button.dataset.action === "remove-item" ? removeItem(root, button.dataset.itemPath) : null;
    if (!done) return;
    era += 1; // the rows moved: an answer about the rows before would point at the wrong ones
    changed();
  });

  const onLoaded = (sub) => {
    era += 1;
    const other = sub?.framework_id && sub.framework_id !== config.framework.id;
    // The engine scores a draft by its own framework when it is built in, else by this page's.
    const known = (config.frameworks || []).includes(sub?.framework_id);
    notify("framework", !other ? "" : known
      ? `此草稿按指标体系“${sub.framework_id}”填报，与本页的“${config.framework.name}”不同；检查按草稿自己的指标体系进行。`
      : `此草稿的指标体系“${sub.framework_id}”不是本站内置的；检查只能按本页的“${config.framework.name}”进行，结果仅供参考。`,
    { kind: "warning" });
    showRemembered();
    scheduleEvaluate();
  };
  const drafting = initDrafts(root, { onLoaded, notify, typedEarly: () => [...typed] }).then((d) => {
    drafts = d;
    if (editedEarly) d.changed(); // the drafts may have read the form before the last of those edits
  }, (err) => {
    root.dataset.draftState = "unavailable";
    notify("drafts", `草稿功能无法启动（${err?.message || err}）。请用“导出草稿”保存填写内容。`, { kind: "warning" });
  });

  // 提交给主管部门 (upload.js): the queue needs no Python, so it does not wait for the engine (and
  // resumes after a reload); but it starts once the page is idle, off the engine's start-up path.
  const startUpload = () => import("./upload.js").then((m) => m.initUpload(root, { notify }), (err) => {
    notify("upload", `在线提交功能无法加载（${err?.message || err}）。请下载签名材料后以U盘等方式交主管部门。`, { kind: "warning" });
  });
  if (typeof requestIdleCallback === "function") requestIdleCallback(startUpload, { timeout: 3000 });
  else setTimeout(startUpload, 1000);

  const started = await startEngine(root, (ready) => {
    // 导出签名材料 (bundle.js): its own module, so a failure there leaves the form working.
    import("./bundle.js").then((m) => m.initBundle(root, ready, { notify, config }), (err) => {
      notify("bundle", `签名导出功能无法加载（${err?.message || err}）。`, { kind: "warning" });
    });
  });
  if (started) {
    engine = started;
    // The restored draft (or the blank form) is the first thing scored.
    drafting.then(() => {
      if (!root.dataset.scoreSource) showRemembered(); // opening a draft tried already
      evaluate();
    });
  }
  startOffline(root, notify, () => drafts.flush(), started?.ready, (reason) => started?.terminate(reason));
}

const root = document.getElementById("jixiao-form");
if (root) main(root);
// 核验 page: verify.js starts its own engine.
const verifyRoot = document.getElementById("jx-verify");
if (verifyRoot) import("./verify.js").then((m) => m.initVerify(verifyRoot));
// 汇总 page: summary.js starts its own engine.
const summaryRoot = document.getElementById("jx-summary");
if (summaryRoot) import("./summary.js").then((m) => m.initSummary(summaryRoot));
