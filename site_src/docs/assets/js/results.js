// Showing an evaluation: computed cells, marks on the fields findings point at, and the
// summary list. All text goes in through textContent: messages quote what users typed.

const SEVERITY = { error: "错误", warning: "警告" };
const CONTROLS = "input[data-path], select[data-path], textarea[data-path]";

function text(value, suffix = "") {
  return value === null || value === undefined || value === "" ? "—" : `${value}${suffix}`;
}

function outputs(root) {
  const map = new Map();
  for (const el of root.querySelectorAll("[data-out]")) {
    if (!map.has(el.dataset.out)) map.set(el.dataset.out, []);
    map.get(el.dataset.out).push(el);
  }
  return map;
}

// Every keystroke re-renders: only what changed is written, so the browser restyles and lays out
// a few cells rather than the whole form (an edit's re-score spent three quarters of its time
// there when every cell and mark was rewritten).
function put(map, name, value, title) {
  for (const el of map.get(name) || []) {
    if (el.textContent !== value) el.textContent = value;
    if (title !== undefined && el.title !== title) el.title = title;
  }
}

/** Where a finding's path lands: its control, else the nearest anchor up the path. */
function places(root) {
  const controls = new Map();
  for (const el of root.querySelectorAll(CONTROLS)) controls.set(el.dataset.path, el);
  const anchors = new Map();
  for (const el of root.querySelectorAll("[data-anchor]")) anchors.set(el.dataset.anchor, el);
  return { controls, anchors };
}

export function locate(root, path, { controls, anchors } = places(root)) {
  let p = path || "";
  while (p) {
    const el = controls.get(p);
    if (el && el.type !== "hidden") return { control: el, box: el.parentElement };
    if (el) return { control: null, box: el.closest("th, td") || el.parentElement };
    if (anchors.has(p)) return { control: null, box: anchors.get(p) };
    p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
  }
  return { control: null, box: root.querySelector(".jx-sheet") || root };
}

/** "错误：" / "警告：", the colon apart: narrow cells hide it until hover (see portal.css). */
function severityMark(severity) {
  const tag = document.createElement("span");
  tag.className = "jx-mark";
  tag.textContent = SEVERITY[severity] || severity;
  const colon = document.createElement("span");
  colon.className = "jx-msg-colon";
  colon.textContent = "：";
  tag.append(colon);
  return tag;
}

let messageIds = 0;

function message(finding, key) {
  const msg = document.createElement("div");
  msg.className = `jx-msg jx-msg-${finding.severity}`;
  msg.id = `jx-msg-${++messageIds}`;
  msg.dataset.key = key;
  const tag = severityMark(finding.severity);
  const words = document.createElement("span");
  words.className = "jx-msg-text";
  words.textContent = finding.message;
  msg.title = finding.message;
  msg.append(tag, words);
  return msg;
}

const WORSE = { error: 2, warning: 1 };

/** The messages beside the fields and the marks on them, changed only where the findings changed:
 * a message already shown for the same finding in the same place stays as it is. */
function markFindings(root, findings) {
  const index = places(root);
  const shown = new Map(); // key → message element now in the form
  for (const el of root.querySelectorAll(".jx-msg")) {
    if (shown.has(el.dataset.key)) el.remove(); // never two for one key
    else shown.set(el.dataset.key, el);
  }
  const keep = new Set();
  const severity = new Map(); // marked element → worst severity (2 error, 1 warning)
  const described = new Map(); // control → ids of its messages, in finding order
  const seen = new Map();
  for (const finding of findings) {
    const { control, box } = locate(root, finding.path, index);
    const holder = box && ["TR", "TBODY", "TABLE"].includes(box.tagName) ? box.querySelector("th, td") : box;
    if (!holder) continue;
    const base = `${finding.severity}\u0000${finding.code}\u0000${finding.path}\u0000${finding.message}`;
    const count = (seen.get(base) || 0) + 1;
    seen.set(base, count);
    const key = count > 1 ? `${base}\u0000${count}` : base;
    let msg = shown.get(key);
    if (!msg || msg.parentElement !== holder) {
      msg?.remove();
      msg = message(finding, key);
      holder.append(msg);
    }
    keep.add(msg);
    const target = control || holder;
    severity.set(target, Math.max(severity.get(target) || 0, WORSE[finding.severity] || 1));
    if (control) described.set(control, [...(described.get(control) || []), msg.id]);
  }
  for (const el of shown.values()) if (!keep.has(el)) el.remove();
  for (const el of root.querySelectorAll("[data-jx-marked]")) {
    if (!severity.has(el)) unmark(el);
  }
  for (const [el, worst] of severity) {
    if (!el.dataset.jxMarked) {
      el.dataset.jxMarked = "1";
      if (el.matches(CONTROLS)) el.dataset.jxDescribedby = el.getAttribute("aria-describedby") || "";
    }
    flag(el, "jx-flag-error", worst === 2);
    flag(el, "jx-flag-warning", worst !== 2);
    if (!el.matches(CONTROLS)) continue;
    setAttribute(el, "aria-invalid", worst === 2 ? "true" : null);
    const before = el.dataset.jxDescribedby ? el.dataset.jxDescribedby.split(/\s+/) : [];
    setAttribute(el, "aria-describedby", [...before, ...(described.get(el) || [])].join(" ") || null);
  }
}

function unmark(el) {
  flag(el, "jx-flag-error", false);
  flag(el, "jx-flag-warning", false);
  if (el.matches(CONTROLS)) {
    setAttribute(el, "aria-invalid", null);
    setAttribute(el, "aria-describedby", el.dataset.jxDescribedby || null);
    delete el.dataset.jxDescribedby;
  }
  delete el.dataset.jxMarked;
}

function flag(el, name, on) {
  if (el.classList.contains(name) !== on) el.classList.toggle(name, on);
}

function setAttribute(el, name, value) {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

/** Focus and scroll to what a finding is about (a field, or a cell/section for wider ones). */
export function goTo(root, path) {
  const { control, box } = locate(root, path);
  const target = control || box;
  if (!target) return;
  if (!control && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.scrollIntoView({ block: "center", behavior: "smooth" });
  target.focus({ preventScroll: true });
}

// A blank or half-filled form has dozens of 请填写… errors; listed one by one they bury what
// is really wrong (a deviation without its reason, a total that does not add up). Past this many
// they are folded into one 尚未填写 entry, after the other errors and before the warnings.
const FOLD_MISSING = 5;

function findingItem(finding) {
  const item = document.createElement("li");
  item.className = `jx-finding jx-finding-${finding.severity}`;
  item.dataset.code = finding.code;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "jx-finding-link";
  button.dataset.targetPath = finding.path;
  button.append(severityMark(finding.severity), document.createTextNode(finding.message));
  item.append(button);
  return item;
}

function missingGroup(list, missing) {
  const item = document.createElement("li");
  item.className = "jx-finding-group jx-finding-error";
  const fold = document.createElement("details");
  fold.open = list.dataset.missingOpen === "1"; // every keystroke re-renders: keep the user's choice
  fold.addEventListener("toggle", () => { list.dataset.missingOpen = fold.open ? "1" : ""; });
  const summary = document.createElement("summary");
  summary.append(severityMark("error"), `尚未填写的必填项 ${missing.length} 项（点击展开，逐项定位）`);
  const inner = document.createElement("ul");
  inner.className = "jx-findings-list";
  inner.append(...missing.map(findingItem));
  fold.append(summary, inner);
  item.append(fold);
  return item;
}

/** The list was rebuilt under a keyboard user's focus: focus the same finding again (or the fold,
 * or the next finding, or the count), so the focus does not fall back to the top of the page. */
function keepFocus(list, was, count) {
  const buttons = [...list.querySelectorAll("button[data-target-path]")];
  const next = (was.tagName === "SUMMARY" && list.querySelector("summary"))
    || buttons.find((b) => b.dataset.targetPath === was.dataset.targetPath && b.textContent === was.textContent)
    || buttons.find((b) => b.dataset.targetPath === was.dataset.targetPath)
    || buttons[0] || count;
  if (!next) return;
  if (next === count && !count.hasAttribute("tabindex")) count.setAttribute("tabindex", "-1");
  next.focus({ preventScroll: true });
}

// What a screen reader hears when the result changes: total, grade and counts, said politely once
// typing pauses (never per keystroke), and only when they changed. The focused field's own
// findings come with them: its description changed, which a screen reader does not read out.
const ANNOUNCE_AFTER_MS = 1200;

function announce(root, evaluation, findings) {
  const box = root.querySelector("#jx-announce");
  if (!box) return;
  const errors = findings.filter((f) => f.severity === "error").length;
  const summary = `总分 ${text(evaluation.total)}，等级 ${text(evaluation.grade)}；` +
    (findings.length ? `错误 ${errors} 项，警告 ${findings.length - errors} 项` : "未发现问题");
  clearTimeout(box._jxTimer);
  box._jxTimer = setTimeout(() => {
    if (summary === box.dataset.said) return;
    box.dataset.said = summary;
    const el = document.activeElement;
    const ids = el?.matches?.(CONTROLS) && root.contains(el) ? (el.getAttribute("aria-describedby") || "").split(/\s+/) : [];
    const here = ids.map((id) => document.getElementById(id))
      .filter((msg) => msg?.classList.contains("jx-msg")).map((msg) => msg.textContent);
    box.textContent = here.length ? `${summary}。本项：${here.join("；")}` : summary;
  }, ANNOUNCE_AFTER_MS);
}

function renderSummary(root, findings) {
  const list = root.querySelector("#jx-findings-list");
  const count = root.querySelector("#jx-findings-count");
  const errors = findings.filter((f) => f.severity === "error");
  const warnings = findings.filter((f) => f.severity !== "error");
  const missing = errors.filter((f) => f.code === "MISSING_REQUIRED");
  const folded = missing.length > FOLD_MISSING;
  root.dataset.errorCount = String(errors.length);
  root.dataset.warningCount = String(warnings.length);
  if (count) {
    const blank = missing.length ? `（其中尚未填写 ${missing.length} 项）` : "";
    count.textContent = findings.length ? `错误 ${errors.length} 项${blank}，警告 ${warnings.length} 项` : "未发现问题";
  }
  if (!list) return;
  const signature = JSON.stringify(findings.map((f) => [f.severity, f.code, f.path, f.message]));
  if (list.dataset.signature === signature) return; // the same findings: the list stays as it is
  list.dataset.signature = signature;
  const items = folded
    ? [...errors.filter((f) => f.code !== "MISSING_REQUIRED").map(findingItem), missingGroup(list, missing)]
    : errors.map(findingItem);
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  list.replaceChildren(...items, ...warnings.map(findingItem));
  if (focused) keepFocus(list, focused, count);
  if (!list.dataset.bound) {
    list.dataset.bound = "1";
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-target-path]");
      if (button) goTo(root, button.dataset.targetPath);
    });
  }
}

/** Fill the computed cells and findings from an Evaluation (its JSON form). */
export function showEvaluation(root, evaluation, ruleNames = {}) {
  const outs = outputs(root);
  for (const [key, row] of Object.entries(evaluation.funds || {})) {
    put(outs, `funds.${key}.rate`, text(row.rate, "%"));
  }
  put(outs, "execution_rate", text(evaluation.execution_rate, "%"));
  const computed = new Map(); // output → [text, title]; rows the evaluation does not name show "—"
  for (const level of evaluation.level1 || []) {
    computed.set(`${level.path}.max_sum`, [text(level.max_sum), ""]);
    computed.set(`${level.path}.score_sum`, [text(level.score_sum), ""]);
  }
  for (const result of evaluation.indicators || []) {
    const rule = result.rule ? ruleNames[result.rule] || result.rule : null;
    computed.set(`${result.path}.suggested`, [text(result.suggested),
      rule ? `按“${rule}”规则计算的建议得分` : "没有可套用的评分规则，以填报得分为准"]);
  }
  for (const name of outs.keys()) {
    if (name.endsWith(".suggested") || name.endsWith(".max_sum") || name.endsWith(".score_sum")) {
      const [value, title] = computed.get(name) || ["—", ""];
      put(outs, name, value, title);
    }
  }
  put(outs, "total", text(evaluation.total));
  put(outs, "grade", text(evaluation.grade));
  const findings = evaluation.findings || [];
  markFindings(root, findings);
  renderSummary(root, findings);
  announce(root, evaluation, findings);
  root.dataset.evaluatedSeq = String(Number(root.dataset.evaluatedSeq || 0) + 1);
  root.dataset.evaluatedAt = performance.now().toFixed(1); // for benchmarks/bench_portal.py
  root.dataset.firstEvaluatedAt ||= root.dataset.evaluatedAt;
}
