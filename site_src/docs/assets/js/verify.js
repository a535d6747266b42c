// 核验页：在本机核验签名材料（.zip / .json / .xlsx，可多选，可选名册）。文件不上传。
//
// The page reads the files with the File API and hands their bytes to the worker, which runs
// the same `verify_file` as `jixiao verify` (jixiao.browser_bundle.verify_files). Each verdict
// is shown as an element `[data-testid=verdict]` with `data-ok="true|false"` and `data-name`.

import { Engine, EXPORT_PACKAGES, browserSupport } from "./engine.js";
import { el } from "./dom.js";

const MODULE = "jixiao.browser_bundle";
const MAX_BYTES = 20 * 1024 * 1024; // verify.py's own limit; bigger files are not even read

const STATUS_WORDS = { ok: "通过", fail: "未通过", skip: "未检查", warn: "注意" };
const CHECK_WORDS = {
  READ: "读取", ARCHIVE: "压缩包", SIGNATURE: "签名", ROSTER: "名册", PAYLOAD: "内容格式",
  FRAMEWORK: "指标体系", EVALUATION: "评分复算", CELLS: "表格单元格", HTML: "打印页", INTERNAL: "程序",
  SIGNED_AT: "签名时间",
};

// "2022-03-01T02:00:00Z" as read here, in Beijing time ("2022-03-01 10:00:00"), as the CLI prints it.
function beijingTime(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  return new Date(moment.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19).replace("T", " ");
}

function verdictView(v, rosterUsed) {
  const signature = v.checks.find((c) => c.code === "SIGNATURE");
  const roster = v.checks.find((c) => c.code === "ROSTER");
  const evaluation = v.checks.find((c) => c.code === "EVALUATION");
  const cells = v.checks.filter((c) => (c.code === "CELLS" || c.code === "HTML") && c.status === "fail");
  const head = v.ok ? "核验通过" : v.readable ? "核验未通过" : "无法读取";
  const who = [v.year, v.unit_code, v.unit_name].filter((x) => x !== null && x !== undefined && x !== "").join(" ");
  const summary = [];
  const signatureWords = !signature ? "未检查" : signature.status === "ok" ? "签名有效"
    : signature.message.startsWith("签名无效") ? signature.message : `签名无效（${signature.message}）`;
  summary.push(el("li", { dataset: { field: "signature" } }, `签名：${signatureWords}`));
  summary.push(el("li", { dataset: { field: "fingerprint" } },
    "公钥指纹：", el("code", { className: "jx-fingerprint" }, v.fingerprints.length ? v.fingerprints.join("；") : "（无）")));
  summary.push(el("li", { dataset: { field: "roster" } },
    `名册：${!rosterUsed ? "未对照名册（请与单位盖章的公钥登记表核对指纹）" : roster ? roster.message : "未检查"}`));
  if (evaluation) summary.push(el("li", { dataset: { field: "evaluation" } }, `评分复算：${evaluation.message}`));
  if (v.total !== null && v.total !== undefined) summary.push(el("li", {}, `签名时的总分：${v.total}${v.grade ? `，等级：${v.grade}` : ""}`));
  if (v.signed_at) summary.push(el("li", {}, `签名时间（北京时间）：${beijingTime(v.signed_at)}`));
  for (const c of cells) summary.push(el("li", { dataset: { field: "changed" }, className: "jx-changed" }, c.message));
  // Every other failed check says why here too: a zip missing its .xlsx, a damaged workbook, a
  // file that is no bundle at all showed only the reassuring lines above, its reason folded away.
  const shown = new Set(["SIGNATURE", "EVALUATION", "CELLS", "HTML", ...(rosterUsed ? ["ROSTER"] : [])]);
  for (const c of v.checks.filter((x) => x.status === "fail" && !shown.has(x.code))) {
    summary.push(el("li", { dataset: { field: "failed", code: c.code }, className: "jx-changed" },
      `${CHECK_WORDS[c.code] || c.code}：${c.message}`));
  }

  const details = el("details", {}, el("summary", {}, "全部检查项"),
    el("ul", {}, ...v.checks.map((c) => el("li", { dataset: { code: c.code, status: c.status } },
      `${CHECK_WORDS[c.code] || c.code}（${STATUS_WORDS[c.status] || c.status}）：${c.message}`))));
  return el("article", {
    className: `jx-verdict jx-verdict-${v.ok ? "ok" : "fail"}`,
    dataset: { testid: "verdict", ok: String(v.ok), name: v.name },
    "data-testid": "verdict",
    role: "group",
    "aria-label": `${v.name}：${head}`,
  }, el("h3", {}, `${v.ok ? "✔" : "✘"} ${v.name}：${head}`), who ? el("p", {}, who) : null,
  el("ul", { className: "jx-verdict-summary" }, ...summary), details);
}

export function initVerify(root) {
  const status = root.querySelector("#jx-verify-status");
  const results = root.querySelector("#jx-verify-results");
  const rosterInput = root.querySelector("#jx-verify-roster");
  const rosterName = root.querySelector("#jx-verify-roster-name");
  const drop = root.querySelector("#jx-verify-drop");
  let roster = null; // {name, bytes}
  let runs = 0;

  const reason = browserSupport();
  if (reason) {
    root.dataset.engineState = "unsupported";
    status.textContent = `${reason} 也可以用命令行核验：jixiao verify 文件…`;
    return;
  }
  const engine = new Engine();
  engine.onprogress = ({ message, fraction }) => {
    if (root.dataset.engineState === "loading") status.textContent = `${message || "加载中"}（${Math.round((fraction || 0) * 100)}%）`;
  };
  const ready = engine.ready.then(() => engine.warm()).then(() => {
    root.dataset.engineState = "ready";
    status.textContent = "核验程序就绪：选择或拖入文件即可核验（文件不会上传）。";
  }, (err) => {
    root.dataset.engineState = "failed";
    status.textContent = `核验程序无法启动（${err?.message || err}）。可改用命令行：jixiao verify 文件…`;
    throw err;
  });
  ready.catch(() => {});

  async function verify(files) {
    if (!files.length) return;
    const mine = ++runs;
    root.dataset.verifying = "1";
    status.textContent = `正在核验 ${files.length} 个文件…`;
    const started = performance.now();
    try {
      await ready;
      const items = [];
      const tooBig = [];
      for (const file of files) {
        if (file.size > MAX_BYTES) tooBig.push(file);
        else items.push([file.name, new Uint8Array(await file.arrayBuffer())]);
      }
      const answer = items.length
        ? await engine.call(MODULE, "verify_files", [items, roster ? roster.bytes : null], { packages: EXPORT_PACKAGES })
        : { verdicts: [], roster: false, roster_problem: null };
      for (const file of tooBig) {
        answer.verdicts.push({ name: file.name, ok: false, readable: false, fingerprints: [], checks: [
          { code: "READ", status: "fail", message: `文件过大（${(file.size / 1024 / 1024).toFixed(1)} MB），上限 20 MB：未读取` }] });
      }
      if (mine !== runs) return;
      results.replaceChildren();
      if (roster && answer.roster_problem) {
        results.append(el("p", { className: "jx-notice jx-notice-error", role: "alert", "data-testid": "roster-problem" },
          `公钥名册有问题：${answer.roster_problem}`));
      }
      for (const v of answer.verdicts) results.append(verdictView(v, Boolean(roster)));
      const passed = answer.verdicts.filter((v) => v.ok).length;
      const ms = Math.round(performance.now() - started);
      status.textContent = `已核验 ${answer.verdicts.length} 个文件：${passed} 个通过，${answer.verdicts.length - passed} 个未通过（用时 ${ms} ms）。`;
      root.dataset.verified = String(Number(root.dataset.verified || 0) + 1);
      root.dataset.verifyMs = String(ms);
    } catch (err) {
      if (mine === runs) status.textContent = `核验失败：${err?.message || err}`;
    } finally {
      if (mine === runs) delete root.dataset.verifying;
    }
  }

  root.querySelector("#jx-verify-files").addEventListener("change", (e) => {
    const files = [...(e.target.files || [])];
    e.target.value = "";
    verify(files);
  });
  rosterInput.addEventListener("change", async (e) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    roster = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
    rosterName.textContent = `名册：${file.name}（之后核验的文件将对照此名册）`;
  });
  if (drop) {
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.dataset.over = "1";
    });
    drop.addEventListener("dragleave", () => delete drop.dataset.over);
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      delete drop.dataset.over;
      verify([...(e.dataTransfer?.files || [])]);
    });
  }
  // Dropping a file anywhere else must not navigate away (the browser would open it).
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}
