// The form <-> submission object. Every control carries data-path (the model path, e.g.
// "indicators.0.groups.1.items.2.score") and data-kind (text | dec | int | bool).
// The indicator tree is re-rendered from the <template> elements only on load, import, add
// and remove — never while typing, so focus and caret stay where the user left them.

const CONTROLS = "input[data-path], select[data-path], textarea[data-path]";

/** The page's embedded configuration (framework summary, blank submission). */
export function formConfig(root) {
  if (!root._jxConfig) {
    const script = root.querySelector("#jx-config");
    root._jxConfig = script ? JSON.parse(script.textContent) : { map_paths: [], blank: {} };
  }
  return root._jxConfig;
}

/** "a.0.b" -> ["a", 0, "b"]; the rest of a map path ("report.sections.x.y") is one key. */
export function splitPath(path, mapPaths = []) {
  for (const prefix of mapPaths) {
    if (path.startsWith(prefix + ".")) {
      return [...prefix.split("."), { key: path.slice(prefix.length + 1) }];
    }
  }
  return path.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function stepKey(step) {
  return typeof step === "object" ? step.key : step;
}

export function getPath(obj, path, mapPaths = []) {
  let node = obj;
  for (const step of splitPath(path, mapPaths)) {
    if (node === null || node === undefined) return undefined;
    node = node[stepKey(step)];
  }
  return node;
}

function setPath(obj, steps, value) {
  let node = obj;
  steps.forEach((step, i) => {
    const key = stepKey(step);
    if (i === steps.length - 1) {
      node[key] = value;
      return;
    }
    if (node[key] === undefined || node[key] === null) {
      node[key] = typeof steps[i + 1] === "number" ? [] : {};
    }
    node = node[key];
  });
}

function readValue(el) {
  const kind = el.dataset.kind;
  if (kind === "bool") {
    return el.type === "checkbox" ? el.checked : el.value === "true";
  }
  const raw = el.value;
  if (kind === "dec") {
    return raw.trim() === "" ? null : raw;
  }
  if (kind === "int") {
    const text = raw.normalize("NFKC").trim();
    if (text === "") return null;
    // Plain digits become a number; anything else goes as typed so the checker can name it.
    return /^\d{1,15}$/.test(text) ? Number(text) : raw;
  }
  return raw;
}

/** Build the submission object from every [data-path] control, in document order. */
export function readSubmission(root) {
  const mapPaths = formConfig(root).map_paths || [];
  const out = {};
  for (const el of root.querySelectorAll(CONTROLS)) {
    setPath(out, splitPath(el.dataset.path, mapPaths), readValue(el));
  }
  return out;
}

function writeValue(el, value) {
  const kind = el.dataset.kind;
  if (kind === "bool") {
    if (el.type === "checkbox") el.checked = value === true;
    else el.value = value === true ? "true" : "false";
    return;
  }
  const text = value === null || value === undefined ? "" : String(value);
  if (el.tagName === "SELECT" && text !== "" &&
      ![...el.options].some((option) => option.value === text)) {
    el.add(new Option(text, text)); // keep a value the list does not offer (e.g. from a file)
  }
  el.value = text;
}

// ------------------------------------------------------------------ the indicator tree

const PLACEHOLDERS = { L: "__L__", G: "__G__", I: "__I__" };

/** Clone a <template> and put real indexes where it says __L__, __G__, __I__. */
function cloneTemplate(root, name, indexes) {
  const template = root.querySelector(`#jx-tpl-${name}`);
  const fragment = template.content.cloneNode(true);
  const swap = (text) => {
    let result = text;
    for (const [key, token] of Object.entries(PLACEHOLDERS)) {
      if (key in indexes) result = result.split(token).join(String(indexes[key]));
    }
    return result;
  };
  for (const el of fragment.querySelectorAll("*")) {
    for (const attr of [...el.attributes]) {
      if (attr.value.includes("__")) el.setAttribute(attr.name, swap(attr.value));
    }
  }
  return fragment.firstElementChild;
}

function nameKey(name) {
  return String(name || "")
    .normalize("NFKC")
    .trim()
    .replace(/[（(]\s*\d+(?:\.\d+)?\s*分\s*[）)]\s*$/, "")
    .replace(/\s+/g, "");
}

/** A unit may remove rows it added (custom, or not one of the framework's indicators). */
function isRemovable(root, levelName, groupName, item) {
  if (item && item.custom === true) return true;
  const known = formConfig(root).framework?.known?.[String(levelName || "").trim()]?.[groupName] || [];
  return !known.some((name) => nameKey(name) === nameKey(item?.name));
}

function renderTree(root, indicators) {
  const table = root.querySelector("#jx-table");
  for (const old of table.querySelectorAll("tbody.jx-l1")) old.remove();
  const totalBlock = table.querySelector("tbody.jx-total");
  (indicators || []).forEach((level, li) => {
    const block = cloneTemplate(root, "l1", { L: li });
    const subRow = block.querySelector("tr.jx-sub");
    const levelCells = [...subRow.querySelectorAll(":scope > .jx-lead-l1, :scope > .jx-lead-w")];
    (level.groups || []).forEach((group, gi) => {
      const addRow = cloneTemplate(root, "l2", { L: li, G: gi });
      const groupCell = addRow.querySelector(":scope > .jx-lead-l2");
      const rows = (group.items || []).map((item, ii) => {
        const row = cloneTemplate(root, "l3", { L: li, G: gi, I: ii });
        row.querySelector("[data-action=remove-item]").hidden =
          !isRemovable(root, level.name, group.name, item);
        return row;
      });
      addRow.classList.toggle("jx-add-solo", rows.length === 0);
      rows.push(addRow);
      rows[0].prepend(groupCell);
      groupCell.rowSpan = rows.length;
      subRow.before(...rows);
    });
    block.rows[0].prepend(...levelCells);
    for (const cell of levelCells) cell.rowSpan = block.rows.length;
    totalBlock.before(block);
  });
}

/** Report sections the page's outline lacks (a draft from another framework) get a box too. */
function renderExtraSections(root, sub) {
  const holder = root.querySelector("[data-extra-sections]");
  if (!holder) return;
  holder.replaceChildren();
  const sections = sub?.report?.sections || {};
  const present = new Set(
    [...root.querySelectorAll("textarea[data-path^='report.sections.']")].map((el) => el.dataset.path),
  );
  for (const key of Object.keys(sections)) {
    const path = `report.sections.${key}`;
    if (present.has(path)) continue;
    const id = "jx-f-" + path.replace(/\./g, "-").replace(/[^A-Za-z0-9_-]/g, "_");
    const box = document.createElement("div");
    box.className = "jx-sec jx-sec-extra";
    box.dataset.anchor = path;
    const heading = document.createElement("h4");
    heading.className = "jx-sec-title";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `报告正文：${key}`;
    heading.append(label);
    const area = document.createElement("textarea");
    Object.assign(area, { id, className: "jx-ta", rows: 6 });
    area.dataset.path = path;
    area.dataset.kind = "text";
    box.append(heading, area);
    holder.append(box);
  }
}

/** Show a path's value as text wherever the page repeats it (year in titles, 一级 names). */
export function syncShown(root, path, value) {
  for (const el of root.querySelectorAll("[data-show]")) {
    if (el.dataset.show === path) el.textContent = value ?? "";
  }
}

/** A 三级 row's boxes are named by its 三级指标 box ("预算完成率 得分"); while that box is empty
 * (a row just added), by hidden words instead, so that a screen reader does not say a bare "得分".
 * `path`: one row's name box (as typed), or every row's. */
export function nameUnnamed(root, path = null) {
  for (const el of root.querySelectorAll(path === null ? "[data-unnamed]" : `[data-unnamed="${path}"]`)) {
    const box = root.querySelector(`[data-path="${el.dataset.unnamed}"]`); // a path of ours: digits and dots
    const group = el.dataset.unnamed.replace(/\.items\.\d+\.name$/, ".name");
    const groupName = root.querySelector(`[data-show="${group}"]`)?.textContent.trim() || "";
    const words = groupName ? `${groupName}下未命名的指标` : "未命名的指标";
    el.textContent = box && box.value.trim() === "" ? words : "";
  }
}

/** Make the form show `sub`: rebuild the tree to its shape, then fill every control. */
export function writeSubmission(root, sub) {
  const mapPaths = formConfig(root).map_paths || [];
  renderTree(root, sub.indicators);
  renderExtraSections(root, sub);
  for (const el of root.querySelectorAll(CONTROLS)) {
    writeValue(el, getPath(sub, el.dataset.path, mapPaths));
  }
  for (const el of root.querySelectorAll("[data-show]")) {
    const value = getPath(sub, el.dataset.show, mapPaths);
    el.textContent = value === null || value === undefined ? "" : String(value);
  }
  nameUnnamed(root);
}

/** The current values (checked state for checkboxes) of the fields at `paths`, by path. */
export function readFields(root, paths) {
  const values = new Map();
  for (const el of root.querySelectorAll(CONTROLS)) {
    if (paths.includes(el.dataset.path)) values.set(el.dataset.path, el.type === "checkbox" ? el.checked : el.value);
  }
  return values;
}

/** Put values from readFields back; false (nothing written) if a field is no longer there. */
export function writeFields(root, values) {
  const els = [...root.querySelectorAll(CONTROLS)].filter((el) => values.has(el.dataset.path));
  if (new Set(els.map((el) => el.dataset.path)).size < values.size) return false;
  for (const el of els) {
    const value = values.get(el.dataset.path);
    if (el.type === "checkbox") el.checked = value;
    else writeValue(el, value);
    syncShown(root, el.dataset.path, value);
  }
  return true;
}

function control(root, path) {
  return [...root.querySelectorAll(CONTROLS)].find((el) => el.dataset.path === path) || null;
}

/** Append an empty, unit-defined 三级 row to a 二级 group; focus its 三级指标 box. */
export function addItem(root, groupPath) {
  const sub = readSubmission(root);
  const group = getPath(sub, groupPath);
  if (!group) return null;
  group.items = group.items || [];
  group.items.push({
    name: "", target: "", actual: "", max_score: null, score: null, deviation: "", custom: true,
  });
  writeSubmission(root, sub);
  const first = control(root, `${groupPath}.items.${group.items.length - 1}.name`);
  first?.focus();
  return sub;
}

function hasContent(item) {
  return ["name", "target", "actual", "max_score", "score", "deviation"].some(
    (key) => item[key] !== null && item[key] !== undefined && String(item[key]).trim() !== "",
  );
}

/** Remove a 三级 row; the rows after it are renumbered by re-rendering the tree. */
export function removeItem(root, itemPath, confirmRemove = (text) => window.confirm(text)) {
  const sub = readSubmission(root);
  const steps = splitPath(itemPath);
  const index = steps.pop();
  const items = getPath(sub, steps.join("."));
  if (!Array.isArray(items) || !items[index]) return null;
  const item = items[index];
  if (hasContent(item) && !confirmRemove(`删除三级指标“${item.name || "（未命名）"}”这一行？`)) return null;
  items.splice(index, 1);
  writeSubmission(root, sub);
  const groupPath = steps.slice(0, -1).join(".");
  const addButton = [...root.querySelectorAll("[data-action=add-item]")]
    .find((el) => el.dataset.groupPath === groupPath);
  addButton?.focus();
  return sub;
}
