// Draft files: what 导入草稿 accepts (and refuses, in Chinese) and what 导出草稿 writes.
// Kept apart from drafts.js (the drafts' storage and bar): the export section names its
// bundles with `fileNamePart` too.

// Rows the page draws and re-reads on every edit: 20,000 froze it for half a minute, 2,000 stays usable.
const MAX_FORM_ROWS = 2000;

/** Read an imported file's text: a JSON object with framework_id and year, else a Chinese error. */
export function parseDraftFile(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error("无法导入：文件不是有效的 JSON。请选择本系统导出的草稿文件（.json）。");
  }
  if (data && typeof data === "object" && !Array.isArray(data) &&
      data.submission && typeof data.submission === "object" && !("framework_id" in data)) {
    data = data.submission; // a stored draft record rather than a bare submission
  }
  const signed = signedSubmission(data);
  if (signed) data = signed; // a unit whose draft is gone starts again from what it signed
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw new Error("无法导入：文件内容不是一份自评表。");
  }
  if (typeof data.framework_id !== "string" || data.framework_id.trim() === "") {
    throw new Error("无法导入：文件中没有指标体系（framework_id），不像是自评表草稿。");
  }
  if (data.schema_version !== undefined && String(data.schema_version).trim() !== "1") {
    // The form has no box for it, so an error on it could never be put right on this page.
    throw new Error(`无法导入：草稿的格式版本为“${String(data.schema_version).slice(0, 20)}”，本系统只认“1”：` +
      "可能来自更新版本的 jixiao，请升级后再导入。");
  }
  const year = typeof data.year === "string" ? Number(data.year.trim()) : data.year;
  if (!Number.isInteger(year) || year < 2000 || year > 2100) {
    throw new Error("无法导入：文件中没有有效的年度（year）。");
  }
  if (!treeIsReadable(data.indicators)) {
    throw new Error("无法导入：文件中的分解目标自评（indicators）格式不正确。");
  }
  const rows = (data.indicators || []).reduce((n, level) =>
    n + (level.groups || []).reduce((m, group) => m + (group.items || []).length, 0), 0);
  if (rows > MAX_FORM_ROWS) {
    throw new Error(`无法导入：文件中有 ${rows} 行三级指标，本页最多可填 ${MAX_FORM_ROWS} 行（一份自评表通常只有几十行）。请核对文件，或改用命令行 jixiao check 检查。`);
  }
  return { ...data, year };
}

/** A file's bytes as UTF-8 text (a BOM dropped); a Chinese error for anything else, which
 *  `file.text()` would have turned into U+FFFD and imported as garbled text. */
export function utf8Text(buffer) {
  const head = new Uint8Array(buffer.slice ? buffer.slice(0, 8) : buffer);
  const starts = (...bytes) => bytes.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47) || starts(0xff, 0xd8, 0xff) || starts(0x25, 0x50, 0x44, 0x46) ||
      starts(0x50, 0x4b, 0x03, 0x04) || starts(0xd0, 0xcf, 0x11, 0xe0)) {
    // A picture, PDF, zip/xlsx/docx or old Office file: no text encoding would make it a draft.
    throw new Error("无法导入：这不是草稿文件（.json）。请选择本系统“导出草稿”得到的 .json 文件。");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buffer);
  } catch {
    throw new Error("无法导入：文件不是 UTF-8 编码（可能是 GBK）。请用记事本等“另存为” UTF-8 编码后重试，或选择本系统导出的草稿文件。");
  }
}

/** `data` with the blank form's plain values where it has none (a file written by hand or by
 *  another tool may leave out what the model defaults, e.g. schema_version, unit_kind): the form
 *  would otherwise show them empty, which the model refuses and the unit cannot always fix. */
export function withDefaults(data, blank) {
  const filled = { ...data };
  for (const [key, value] of Object.entries(blank || {})) {
    if (key.startsWith("framework_")) continue; // the blank's are this page's, not the file's
    if (!(key in filled) && (value === null || typeof value !== "object")) filled[key] = value;
  }
  return filled;
}

// The form inside a signed bundle's .json (its payload, base64 of canonical JSON), or null when
// `data` is not one. Nothing is trusted from it: it goes through the same checks as a draft file.
function signedSubmission(data) {
  if (!data || typeof data !== "object" || typeof data.payload !== "string" ||
      typeof data.payloadType !== "string" || !data.payloadType.startsWith("application/vnd.jixiao.submission+json")) {
    return null;
  }
  try {
    const bytes = Uint8Array.from(atob(data.payload), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return payload && typeof payload.submission === "object" ? payload.submission : null;
  } catch {
    throw new Error("无法导入：签名材料中的内容无法读取（文件可能已损坏）。");
  }
}

// The shape the form can draw, within the model's own limits (20 一级, 100 二级, 200 三级).
function treeIsReadable(levels) {
  const list = (value, max) => value === undefined || (Array.isArray(value) && value.length <= max);
  const object = (value) => value && typeof value === "object" && !Array.isArray(value);
  return list(levels, 20) && (levels || []).every((level) => object(level) && list(level.groups, 100) &&
    (level.groups || []).every((group) => object(group) && list(group.items, 200) &&
      (group.items || []).every(object)));
}

/** A file-name part that reads as what it is: typed text without path or reserved characters,
 *  controls, or invisible ones (bidi overrides, zero-width, noncharacters), which could make a
 *  name read past its real ending (as render/text.py `file_part` does for the CLI's names). */
export function fileNamePart(text) {
  return String(text ?? "")
    .replace(/[\p{Cf}\p{Cs}\p{Co}\uFDD0-\uFDEF\uFFFE\uFFFF]/gu, "")
    .replace(/[\\/:*?"<>|\u0000-\u001f\u007f-\u009f]/g, "_")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, "")
    .slice(0, 60);
}

/** `{year}-{unit code}-{unit name}-草稿.json`, characters unsafe in file names replaced. */
export function exportFileName(sub) {
  const parts = [sub?.year, sub?.unit_code, sub?.unit_name].map(fileNamePart).filter(Boolean);
  return [...parts, "草稿"].join("-") + ".json";
}

/** The same data with keys in the template's order (the model's), for a readable file. */
export function orderLike(value, template) {
  if (Array.isArray(value)) {
    const shape = Array.isArray(template) ? template.find((t) => t && typeof t === "object") : undefined;
    return value.map((item) => orderLike(item, shape));
  }
  if (!value || typeof value !== "object") return value;
  const shape = template && typeof template === "object" && !Array.isArray(template) ? template : {};
  const keys = [...Object.keys(shape).filter((k) => k in value), ...Object.keys(value).filter((k) => !(k in shape))];
  return Object.fromEntries(keys.map((k) => [k, orderLike(value[k], shape[k])]));
}

export function downloadSubmission(sub) {
  const blob = new Blob([JSON.stringify(sub, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = exportFileName(sub);
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
