// 汇总页：主管部门把各单位的签名材料拖进来，在本机核验并生成附件4（表格显示在页面上，可下载 .xlsx）。
//
// The files never leave the browser: the page reads them with the File API and hands their
// bytes to the worker in batches (jixiao.browser_consolidate.add_files), has them checked a
// tenth of a second at a time (check_some), moving the bar and letting the page repaint between
// slices (in the portable edition Python shares this thread), then asks for the summary
// (summarise), which reuses those checks — the same `jixiao.consolidate` as
// `jixiao consolidate`, so the table is the command's. Everything a file says (names, reasons)
// is put on the page as text (textContent), never as HTML.
//
// Test hooks: the root's data-engine-state ("loading" | "ready" | "failed" | "unsupported"),
// data-summarised (a counter), [data-testid=summary-row] / summary-total / summary-rejected;
// data-slice-ms, set by a test, shortens the checking slices.

import { Engine, EXPORT_PACKAGES, browserSupport } from "./engine.js";
import { el } from "./dom.js";

const MODULE = "jixiao.browser_consolidate";
const MAX_BYTES = 20 * 1024 * 1024; // the verifier's own limit: bigger files are not even read
const BATCH_BYTES = 4 * 1024 * 1024;
const SLICE_MS = 100; // Python's share of each turn while checking: the bar moves ten times a second

// Wait until the next frame has been painted, so the bar and the status line show even when
// Python runs on this thread (the portable edition). A hidden tab paints no frames (and throttles
// timers): there the next task will do, and a tab hidden while waiting goes on within a second.
const nextTask = () => new Promise((resolve) => {
  const { port1, port2 } = new MessageChannel();
  port1.onmessage = () => resolve();
  port2.postMessage(0);
});
const repaint = () => new Promise((resolve) => {
  if (document.hidden) {
    nextTask().then(resolve);
    return;
  }
  requestAnimationFrame(() => nextTask().then(resolve));
  setTimeout(resolve, 1000);
});
const SUFFIXES = /\.(zip|json|xlsx)$/i;
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const COLUMNS = [
  ["index", "序号"], ["unit_name", "预算单位"], ["budget", "全年预算数"], ["executed", "全年执行数"],
  ["rate", "执行率"], ["self_score", "所属单位自评分数"], ["review_score", "主管部门复核分数"],
];

function download(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = el("a", { href: url, download: name, rel: "noopener" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const key = (file) => `${file.name}\u0000${file.size}\u0000${file.lastModified}`;

// Files inside dropped folders (Chromium, Firefox, Safari: webkitGetAsEntry).
async function droppedFiles(dataTransfer) {
  const entries = [...(dataTransfer?.items || [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  const out = [];
  if (!entries.length) out.push(...(dataTransfer?.files || []));
  const walk = async (entry) => {
    if (entry.isFile) {
      out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  const kept = out.filter((f) => SUFFIXES.test(f.name) && !f.name.startsWith("."));
  return { files: kept, ignored: out.length - kept.length };
}

function tableView(table) {
  const head = el("tr", {}, ...COLUMNS.map(([, word]) => el("th", { scope: "col" }, word)));
  const body = table.rows.map((row) => {
    const cells = COLUMNS.map(([field]) => el(field === "unit_name" ? "th" : "td",
      field === "unit_name" ? { scope: "row", dataset: { field } } : { dataset: { field } }, String(row[field] ?? "")));
    return el("tr", { "data-testid": "summary-row", dataset: { code: row.unit_code, kind: row.unit_kind } }, ...cells);
  });
  const t = table.total;
  const total = el("tr", { "data-testid": "summary-total", className: "jx-summary-total" },
    el("th", { scope: "row", colspan: "2" }, "合计"),
    ...["budget", "executed", "rate", "self_score", "review_score"].map((f) => el("td", { dataset: { field: f } }, t[f] || "")));
  return el("div", { className: "jx-summary-sheet" },
    el("h3", { "data-testid": "summary-title" }, table.title),
    el("p", { className: "jx-summary-meta" }, `主管部门（盖章）：${table.department || "—"}`, el("span", {}, "单位：万元")),
    el("div", { className: "jx-table-wrap" }, el("table", { className: "jx-summary-table" },
      el("thead", {}, head), el("tbody", {}, ...body, total))),
    el("p", { className: "jx-hint" }, `合计行：金额求和，执行率＝Σ执行数÷Σ预算数，分数${table.rule_text}。` +
      "注：此表由各主管部门填报，部门本级绩效自评情况填写在第一行，所属单位自评情况依次往下填写。"));
}

function listView(title, testid, items, kind) {
  if (!items.length) return null;
  return el("section", { className: "jx-summary-list", "data-testid": testid, dataset: { kind } },
    el("h3", {}, title), el("ul", {}, ...items));
}

export function initSummary(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const status = $("jx-summary-status");
  const bar = $("jx-summary-progress");
  const result = $("jx-summary-result");
  const chosen = $("jx-summary-chosen");
  const drop = $("jx-summary-drop");
  const files = new Map(); // key -> File, in the order chosen
  let roster = null; // {name, bytes}
  let runs = 0;

  const say = (text, kind = "info") => {
    status.textContent = text;
    status.dataset.kind = kind;
  };
  const setBar = (fraction) => {
    if (fraction === null) {
      bar.hidden = true;
      return;
    }
    bar.hidden = false;
    bar.value = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  };

  const reason = browserSupport();
  if (reason) {
    root.dataset.engineState = "unsupported";
    say(`${reason} 也可以用命令行汇总：jixiao consolidate 文件… -o 附件4.xlsx`, "error");
    return;
  }
  const engine = new Engine();
  engine.onprogress = ({ fraction, message }) => {
    if (root.dataset.engineState === "loading") {
      say(`汇总程序加载中：${(message || "").replace(/[…。]+$/, "")}（${Math.round((fraction || 0) * 100)}%）`);
    }
  };
  const ready = engine.ready.then(() => engine.call(MODULE, "start", [], { packages: EXPORT_PACKAGES })).then(() => {
    root.dataset.engineState = "ready";
    if (!root.dataset.busy) say("汇总程序就绪：选择或拖入各单位的签名材料即可汇总（文件只在本机处理，不会上传）。");
  }, (err) => {
    root.dataset.engineState = "failed";
    say(`汇总程序无法启动（${err?.message || err}）。可改用命令行：jixiao consolidate 文件… -o 附件4.xlsx`, "error");
    throw err;
  });
  ready.catch(() => {});

  function showChosen() {
    chosen.textContent = files.size ? `已选择 ${files.size} 个文件` : "尚未选择文件";
    $("jx-summary-clear").disabled = !files.size;
    $("jx-summary-run").disabled = !files.size;
  }

  async function run() {
    if (!files.size) return;
    const mine = ++runs;
    root.dataset.busy = "1";
    const started = performance.now();
    const list = [...files.values()];
    const tooBig = list.filter((f) => f.size > MAX_BYTES);
    const readable = list.filter((f) => f.size <= MAX_BYTES);
    try {
      say(files.size > 1 ? `正在读取 ${list.length} 个文件…` : "正在读取文件…");
      setBar(0);
      await ready;
      await engine.call(MODULE, "start", []);
      let batch = [];
      let size = 0;
      let done = 0;
      const send = async () => {
        if (!batch.length) return;
        await engine.call(MODULE, "add_files", [batch]);
        batch = [];
        size = 0;
      };
      for (const file of readable) {
        batch.push([file.name, new Uint8Array(await file.arrayBuffer())]);
        size += file.size;
        done += 1;
        setBar(0.1 * (done / readable.length));
        if (size >= BATCH_BYTES) await send();
        if (mine !== runs) return;
      }
      await send();
      const rosterBytes = roster ? roster.bytes : new Uint8Array(0);
      say(`正在核验 ${readable.length} 份签名材料…`);
      for (;;) {
        const { done: checked, total } = await engine.call(MODULE, "check_some", [rosterBytes, Number(root.dataset.sliceMs) || SLICE_MS],
          { packages: EXPORT_PACKAGES });
        if (mine !== runs) return;
        setBar(0.1 + 0.85 * (total ? checked / total : 1));
        say(`正在核验签名材料：已核验 ${checked} / ${total} 份…`);
        if (checked >= total) break;
        await repaint();
      }
      say("正在生成附件4…");
      await repaint();
      const year = $("jx-summary-year").value.trim();
      const department = $("jx-summary-department").value.trim();
      const generatedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const answer = await engine.call(MODULE, "summarise",
        [rosterBytes, $("jx-summary-rule").value, department, year, generatedAt], { packages: EXPORT_PACKAGES });
      if (mine !== runs) return;
      for (const file of tooBig) {
        answer.rejected.push({ name: file.name, reasons: [`文件过大（${(file.size / 1024 / 1024).toFixed(1)} MB），上限 20 MB：未读取`] });
      }
      show(answer, Math.round(performance.now() - started));
    } catch (err) {
      if (mine === runs) {
        say(`汇总失败：${err?.message || err}`, "error");
        setBar(null);
      }
    } finally {
      if (mine === runs) delete root.dataset.busy;
    }
  }

  function show(answer, ms) {
    result.replaceChildren();
    setBar(1);
    const rejected = answer.rejected.map((r) => el("li", { "data-testid": "summary-rejected", dataset: { name: r.name } },
      el("strong", {}, r.name), "：", r.reasons.join("；")));
    // Files that were not bundles at all (empty, unknown, a review or summary not taken) are
    // listed with the rejected ones; the count says so, or 3 listed against "1 份未通过" puzzles.
    const others = answer.rejected.length - (answer.checked - answer.passed);
    const copies = answer.copies.length ? `（其中 ${answer.copies.length} 份与另一份内容相同，只计一次）` : "";
    const checked = `已核验 ${answer.checked} 份签名材料：${answer.passed} 份通过${copies}，${answer.checked - answer.passed} 份未通过` +
      (others > 0 ? `；另有 ${others} 个文件未采用（见下方“未汇总的文件”）` : "");
    if (answer.ok) {
      const table = answer.table;
      const xlsx = answer.xlsx;
      const button = el("button", { type: "button", className: "jx-primary", "data-testid": "summary-download" },
        "下载附件4（.xlsx）");
      button.addEventListener("click", () => download(answer.xlsx_name, xlsx, XLSX));
      const flags = table.rows.flatMap((r) => r.flags.map((f) => el("li", {}, el("strong", {}, r.unit_name), "：", f)));
      result.append(...[
        tableView(table),
        el("p", {}, button, " ", el("span", { className: "jx-hint" }, answer.xlsx_name)),
        listView("需要核对", "summary-flags", flags, "warning"),
        listView("说明", "summary-notes", table.notes.map((n) => el("li", {}, n)), "warning"),
        listView(`未汇总的文件（${rejected.length} 个）`, "summary-rejected-list", rejected, "error"),
        listView("已被更新的材料取代", "summary-superseded", answer.superseded.map((s) => el("li", {}, s)), "info"),
        listView("重复的材料（只计一次）", "summary-copies", answer.copies.map((s) => el("li", {}, s)), "info"),
        listView("未纳入本表", "summary-left-out", answer.left_out.map((s) => el("li", {}, s)), "info"),
        listView("与已有汇总表不符", "summary-differences", answer.differences.map((s) => el("li", {}, s)), "error"),
      ].filter(Boolean)); // Element.append(null) would write "null"
      say(`${checked}；附件4 共 ${table.rows.length} 个单位（用时 ${(ms / 1000).toFixed(1)} 秒）。`,
        rejected.length ? "warning" : "success");
    } else {
      result.append(...[
        el("p", { className: "jx-summary-problem", role: "alert", "data-testid": "summary-problem" }, answer.message),
        listView(`未通过核验的文件（${rejected.length} 个）`, "summary-rejected-list", rejected, "error"),
      ].filter(Boolean));
      say(`${checked}；无法生成附件4：${answer.message}`, "error");
    }
    root.dataset.summarised = String(Number(root.dataset.summarised || 0) + 1);
    root.dataset.summaryMs = String(ms);
  }

  function add(chosenFiles) {
    let added = 0;
    for (const file of chosenFiles) {
      if (!files.has(key(file))) {
        files.set(key(file), file);
        added += 1;
      }
    }
    showChosen();
    if (added) run();
  }

  $("jx-summary-files").addEventListener("change", (e) => {
    const picked = [...(e.target.files || [])];
    e.target.value = "";
    add(picked);
  });
  $("jx-summary-roster").addEventListener("change", async (e) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    roster = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
    $("jx-summary-roster-name").textContent = `名册：${file.name}（单位公钥须登记在册）`;
    run();
  });
  $("jx-summary-run").addEventListener("click", run);
  $("jx-summary-clear").addEventListener("click", () => {
    files.clear();
    runs += 1;
    delete root.dataset.busy;
    result.replaceChildren();
    setBar(null);
    showChosen();
    say("已清空。选择或拖入签名材料即可重新汇总。");
  });
  $("jx-summary-rule").addEventListener("change", run);
  // A year or department typed after the "分属多个…请填写" message counts once it is entered
  // (Enter, or leaving the box), as a changed 合计 rule does, without a click on 重新汇总.
  for (const id of ["jx-summary-year", "jx-summary-department"]) {
    $(id).addEventListener("change", () => { if (files.size) run(); });
    $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") e.target.blur(); });
  }
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.dataset.over = "1";
  });
  drop.addEventListener("dragleave", () => delete drop.dataset.over);
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    delete drop.dataset.over;
    const { files: found, ignored } = await droppedFiles(e.dataTransfer);
    add(found);
    if (ignored) chosen.textContent += `（已忽略 ${ignored} 个不是 .zip、.json、.xlsx 的文件）`;
  });
  // Dropping a file anywhere else must not navigate away (the browser would open it).
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  showChosen();
}
