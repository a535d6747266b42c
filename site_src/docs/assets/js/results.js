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

function put(map, name, value, title) {
  for (const el of map.get(name) || []) {
    el.textContent = value;
    if (title !== undefined) el.title = title;
  }
}

function clearMarks(root) {
  for (const el of root.querySelectorAll(".jx-msg")) el.remove();
  for (const el of root.querySelectorAll("[data-jx-marked]")) {
    el.classList.remove("jx-flag-error", "jx-flag-warning");
    if (el.matches(CONTROLS)) {
      el.removeAttribute("aria-invalid");
      const before = el.dataset.jxDescribedby;
      if (before) el.setAttribute("aria-describedby", before);
      else el.removeAttribute("aria-describedby");
      delete el.dataset.jxDescribedby;
    }
    delete el.dataset.jxMarked;
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

function mark(el, severity) {
  el.dataset.jxMarked = "1";
  const worst = el.classList.contains("jx-flag-error") ? "error" : severity;
  el.classList.remove("jx-flag-error", "jx-flag-warning");
  el.classList.add(`jx-flag-${worst}`);
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

function message(finding, id) {
  const msg = document.createElement("div");
  msg.className = `jx-msg jx-msg-${finding.severity}`;
  msg.id = id;
  const tag = severityMark(finding.severity);
  const words = document.createElement("span");
  words.className = "jx-msg-text";
  words.textContent = finding.message;
  msg.title = finding.message;
  msg.append(tag, words);
  return msg;
}

function markFindings(root, findings) {
  const index = places(root);
  findings.forEach((finding, n) => {
    const { control, box } = locate(root, finding.path, index);
    const id = `jx-msg-${n}`;
    const holder = box && ["TR", "TBODY", "TABLE"].includes(box.tagName)
      ? box.querySelector("th, td") : box;
    if (!holder) return;
    holder.append(message(finding, id));
    if (control) {
      if (!control.dataset.jxMarked) {
        control.dataset.jxDescribedby = control.getAttribute("aria-describedby") || "";
      }
      mark(control, finding.severity);
      if (finding.severity === "error") control.setAttribute("aria-invalid", "true");
      const ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      control.setAttribute("aria-describedby", [...ids, id].join(" "));
    } else {
      mark(holder, finding.severity);
    }
  });
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
  const items = folded
    ? [...errors.filter((f) => f.code !== "MISSING_REQUIRED").map(findingItem), missingGroup(list, missing)]
    : errors.map(findingItem);
  list.replaceChildren(...items, ...warnings.map(findingItem));
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
  for (const name of outs.keys()) {
    if (name.endsWith(".suggested") || name.endsWith(".max_sum") || name.endsWith(".score_sum")) {
      put(outs, name, "—", "");
    }
  }
  for (const level of evaluation.level1 || []) {
    put(outs, `${level.path}.max_sum`, text(level.max_sum));
    put(outs, `${level.path}.score_sum`, text(level.score_sum));
  }
  for (const result of evaluation.indicators || []) {
    const rule = result.rule ? ruleNames[result.rule] || result.rule : null;
    put(outs, `${result.path}.suggested`, text(result.suggested),
      rule ? `按“${rule}”规则计算的建议得分` : "没有可套用的评分规则，以填报得分为准");
  }
  put(outs, "total", text(evaluation.total));
  put(outs, "grade", text(evaluation.grade));
  const findings = evaluation.findings || [];
  clearMarks(root);
  markFindings(root, findings);
  renderSummary(root, findings);
  root.dataset.evaluatedSeq = String(Number(root.dataset.evaluatedSeq || 0) + 1);
  root.dataset.evaluatedAt = performance.now().toFixed(1); // for benchmarks/bench_portal.py
  root.dataset.firstEvaluatedAt ||= root.dataset.evaluatedAt;
}
