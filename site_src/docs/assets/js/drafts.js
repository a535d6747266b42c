// Drafts: kept in this browser's IndexedDB as {id, name, updated, submission}, saved on
// every change. Where IndexedDB is unavailable (some private windows, blocked storage) the
// drafts live in memory for this page only, and the page says so and offers 导出草稿.

import { readSubmission, writeSubmission, formConfig, readFields, writeFields } from "./form.js";
import { forget } from "./remembered.js";
import { downloadSubmission, orderLike, parseDraftFile, utf8Text, withDefaults } from "./draftfile.js";

const DB_NAME = "jixiao";
const DB_VERSION = 1;
const OPEN_TIMEOUT_MS = 3000;
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

// ------------------------------------------------------------------ storage

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

class IdbStore {
  constructor(db) {
    this.db = db;
    this.persistent = true;
  }

  store(name, mode = "readonly") {
    return this.db.transaction(name, mode).objectStore(name);
  }

  all() { return request(this.store("drafts").getAll()); }
  get(id) { return request(this.store("drafts").get(id)); }
  put(draft) { return request(this.store("drafts", "readwrite").put(draft)); }
  remove(id) { return request(this.store("drafts", "readwrite").delete(id)); }

  /** Put `draft` unless the stored one was saved since this page read it (its `rev` is no longer
   *  `base`): read and write in one transaction, so two tabs cannot both pass. True if written. */
  putUnlessChanged(draft, base) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction("drafts", "readwrite");
      const drafts = tx.objectStore("drafts");
      let written = false;
      const got = drafts.get(draft.id);
      got.onsuccess = () => {
        if (!unchanged(got.result, base)) return;
        drafts.put(draft);
        written = true;
      };
      tx.oncomplete = () => resolve(written);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  async getMeta(key) { return (await request(this.store("meta").get(key)))?.value; }
  setMeta(key, value) { return request(this.store("meta", "readwrite").put({ key, value })); }

  /** Every draft and the meta value `key`, in one transaction: one wait, not two, at start-up. */
  async allWithMeta(key) {
    const tx = this.db.transaction(["drafts", "meta"], "readonly");
    const [all, meta] = await Promise.all([
      request(tx.objectStore("drafts").getAll()), request(tx.objectStore("meta").get(key))]);
    return { all, meta: meta?.value };
  }
}

class MemoryStore {
  constructor() {
    this.drafts = new Map();
    this.meta = new Map();
    this.persistent = false;
  }

  async all() { return [...this.drafts.values()].map((d) => JSON.parse(JSON.stringify(d))); }
  async get(id) { const d = this.drafts.get(id); return d ? JSON.parse(JSON.stringify(d)) : undefined; }
  async put(draft) { this.drafts.set(draft.id, JSON.parse(JSON.stringify(draft))); }
  async remove(id) { this.drafts.delete(id); }
  async putUnlessChanged(draft, base) {
    if (!unchanged(this.drafts.get(draft.id), base)) return false;
    await this.put(draft);
    return true;
  }
  async getMeta(key) { return this.meta.get(key); }
  async setMeta(key, value) { this.meta.set(key, value); }
  async allWithMeta(key) { return { all: await this.all(), meta: this.meta.get(key) }; }
}

// A draft deleted meanwhile counts as unchanged: saving it again keeps what this page holds.
function unchanged(stored, base) {
  return !stored || stored.rev === base;
}

function openDb() {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = indexedDB.open(DB_NAME, DB_VERSION);
    } catch (err) {
      reject(err);
      return;
    }
    const timer = setTimeout(() => reject(new Error("IndexedDB 无响应")), OPEN_TIMEOUT_MS);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("drafts")) db.createObjectStore("drafts", { keyPath: "id" });
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
    };
    req.onsuccess = () => { clearTimeout(timer); resolve(req.result); };
    req.onerror = () => { clearTimeout(timer); reject(req.error); };
    req.onblocked = () => { clearTimeout(timer); reject(new Error("IndexedDB 被其他页面占用")); };
  });
}

let store = null;

/** Open the draft store once; falls back to memory when IndexedDB cannot be used. */
export async function openDrafts() {
  if (store) return store;
  try {
    store = new IdbStore(await openDb());
  } catch {
    store = new MemoryStore();
  }
  return store;
}

function newId() {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain-HTTP intranets too.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "d-" + Date.now().toString(36) + "-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Drafts without their content, most recently changed first. */
export async function listDrafts() {
  return summaries(await (await openDrafts()).all());
}

function summaries(drafts) {
  return drafts
    .map(({ id, name, updated }) => ({ id, name, updated }))
    .sort((a, b) => String(b.updated).localeCompare(String(a.updated)));
}

export async function loadDraft(id) {
  return (await (await openDrafts()).get(id)) || null;
}

/**
 * Save (create when `id` is missing); stamps `updated` and a new `rev`. Returns the stored draft.
 * With `seen` ({rev}: what this page read), the save is refused (null) when another tab or
 * window saved the draft since: nothing is overwritten that this page has not seen.
 */
export async function saveDraft({ id, name, submission }, seen = null) {
  const draft = { id: id || newId(), name: name || "未命名草稿", updated: new Date().toISOString(), rev: newId(),
    submission };
  const db = await openDrafts();
  if (!seen || !id) {
    await db.put(draft);
    return draft;
  }
  return (await db.putUnlessChanged(draft, seen.rev)) ? draft : null;
}

export async function deleteDraft(id) {
  forget(); // the remembered evaluation holds a copy of a form: maybe this one
  await (await openDrafts()).remove(id);
}

/** Run `save` `delay` ms after the last change, and at least every `maxWait` ms while changes
 *  keep coming (a pure debounce never saved a typist who never paused); `flush` saves now. */
export function createAutosaver(save, delay = 300, maxWait = 2000) {
  let timer = null;
  let since = 0; // when the first change not yet saved came
  let running = Promise.resolve();
  const run = () => {
    timer = null;
    running = running.then(save, save);
    return running;
  };
  return {
    schedule() {
      const now = Date.now();
      if (timer) clearTimeout(timer);
      else since = now;
      timer = setTimeout(run, Math.max(0, Math.min(delay, since + maxWait - now)));
    },
    flush() {
      if (!timer) return running;
      clearTimeout(timer);
      return run();
    },
    get pending() { return timer !== null; },
  };
}

// ------------------------------------------------------------------ the drafts bar

function stamp(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString("zh-CN", { hour12: false });
}

function defaultName() {
  return "草稿 " + new Date().toLocaleString("zh-CN", { hour12: false });
}

/** A fresh submission for this page's framework; the year defaults to last year. */
export function blankSubmission(root) {
  const blank = JSON.parse(JSON.stringify(formConfig(root).blank || {}));
  if (blank.year === null || blank.year === undefined) blank.year = new Date().getFullYear() - 1;
  return blank;
}

const UNLOAD_KEY = "jixiao-unload-copy";

function keepUnloadCopy(copy) {
  try {
    sessionStorage.setItem(UNLOAD_KEY, JSON.stringify(copy));
  } catch {
    // storage full or blocked: the IndexedDB save is still on its way
  }
}

function takeUnloadCopy() {
  try {
    const text = sessionStorage.getItem(UNLOAD_KEY);
    sessionStorage.removeItem(UNLOAD_KEY);
    const copy = text ? JSON.parse(text) : null;
    return copy && typeof copy.submission === "object" ? copy : null;
  } catch {
    return null;
  }
}

/**
 * Wire the drafts bar. `onLoaded(submission)` runs after a draft is written into the form;
 * `notify(key, text, options)` shows a notice; `typedEarly()` lists the paths of the fields the
 * user edited before the drafts were ready ("*" for a row added or removed).
 * Returns {changed, flush, exportNow}.
 */
export async function initDrafts(root, { onLoaded = () => {}, notify = () => {}, typedEarly = () => [] } = {}) {
  const $ = (id) => root.querySelector(`#${id}`);
  const select = $("jx-draft-select");
  const nameInput = $("jx-draft-name");
  const saveStatus = $("jx-save-status");
  const fileInput = $("jx-draft-import");
  const drafts = await openDrafts();
  let current = null; // {id, name}
  let seen = null; // {rev} of the stored draft the form holds: a save over anything newer is refused
  let saving = false;
  const tab = newId();
  let channel = null; // tells this origin's other tabs when a draft was saved
  try {
    channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("jixiao-drafts") : null;
  } catch {
    channel = null; // e.g. an opaque origin: the save check alone keeps drafts safe
  }

  const setState = (state, message) => {
    root.dataset.draftState = drafts.persistent ? state : "unavailable";
    if (saveStatus) saveStatus.textContent = message;
  };

  const refreshList = async () => {
    const list = await listDrafts();
    select.replaceChildren(...list.map((d) => new Option(`${d.name}（${stamp(d.updated)}）`, d.id)));
    if (current) select.value = current.id;
    return list;
  };

  const save = async () => {
    if (!current) return;
    const submission = readSubmission(root);
    saving = true;
    let draft;
    try {
      draft = await saveDraft({ ...current, submission }, seen);
    } finally {
      saving = false;
    }
    if (!draft) {
      await keepAsCopy(); // no await since the save: the form still holds this page's typing
      return;
    }
    seen = { rev: draft.rev };
    channel?.postMessage({ type: "saved", id: draft.id, rev: draft.rev, tab });
    const option = [...select.options].find((o) => o.value === draft.id);
    if (option) option.textContent = `${draft.name}（${stamp(draft.updated)}）`;
    setState("saved", drafts.persistent
      ? `已自动保存 ${new Date(draft.updated).toLocaleTimeString("zh-CN", { hour12: false })}`
      : "未能保存到浏览器，请导出草稿");
    if (drafts.persistent && !(await drafts.getMeta("persistRequested"))) {
      await drafts.setMeta("persistRequested", true);
      navigator.storage?.persist?.().catch(() => {});
    }
  };
  const autosaver = createAutosaver(() => save().catch((err) => {
    setState("pending", `保存失败：${err?.message || err}。请导出草稿。`);
  }));

  // `keep` (from readFields): values the user typed before the drafts were ready, put back over
  // the draft. If the draft's form lacks one of those fields, the form is left as typed and
  // nothing is opened (false).
  // With `formHolds` the draft was just saved from this form, which is not written again.
  const open = async (draft, keep = null, { formHolds = false } = {}) => {
    if (!formHolds) {
      const typedForm = keep && readSubmission(root);
      writeSubmission(root, draft.submission);
      if (keep && !writeFields(root, keep)) {
        writeSubmission(root, typedForm);
        return false;
      }
    }
    current = { id: draft.id, name: draft.name };
    seen = { rev: draft.rev };
    nameInput.value = draft.name;
    onLoaded(draft.submission); // the form holds the draft now: score it without waiting for the list
    await drafts.setMeta("lastOpened", draft.id);
    await refreshList();
    root.dataset.draftId = draft.id;
    setState("saved", drafts.persistent ? `已打开草稿（${stamp(draft.updated)}）` : "");
    return true;
  };

  const create = async (submission, name) => open(await saveDraft({ name: name || defaultName(), submission }));
  // A new draft of what the form holds. Writing the saved copy back into the form would undo
  // what was typed while it was being saved (keys typed during a first visit's start-up were
  // lost that way); so the form is left as it is, and saved again if it changed meanwhile.
  const adopt = async (name) => {
    const draft = await saveDraft({ name, submission: readSubmission(root) });
    await open(draft, null, { formHolds: true });
    if (JSON.stringify(readSubmission(root)) !== JSON.stringify(draft.submission)) await save();
  };

  // Another tab or window saved the draft this page holds since the page read it: this page's
  // form becomes a new draft beside it, so that neither side's typing is lost.
  const keepAsCopy = async () => {
    const was = current.name;
    const name = `${was}（本页副本）`;
    await adopt(name);
    notify("drafts", `草稿“${was}”已在另一个标签页或窗口中修改。为不覆盖那里的修改，本页的内容已另存为新草稿“${name}”。`,
      { kind: "warning" });
  };
  // The same draft saved in another tab: take its content while this page has nothing unsaved
  // (otherwise the next save finds the difference and keeps this page's form as a copy).
  channel?.addEventListener("message", async ({ data }) => {
    if (!data || data.type !== "saved" || data.tab === tab || !current || data.id !== current.id) return;
    if (data.rev === seen?.rev || autosaver.pending || saving) return;
    const draft = await loadDraft(data.id);
    if (!draft || autosaver.pending || saving || draft.rev !== data.rev) return;
    await open(draft);
    notify("drafts", "此草稿刚在另一个标签页或窗口中修改过，本页已换成最新的内容。", { kind: "info" });
  });

  // Restore the last-opened draft, or the copy kept when the page was closed or reloaded before
  // the last autosave reached IndexedDB. Fields the user already edited on this page keep the
  // user's values (saved into the draft at once); if the draft cannot hold them (a row was
  // added or removed, or it lacks the field), the typed form becomes a new draft. Nothing typed
  // is ever thrown away.
  const { all, meta: lastId } = await drafts.allWithMeta("lastOpened");
  const list = summaries(all);
  const byId = (id) => all.find((d) => d.id === id) || null;
  const last = list.find((d) => d.id === lastId) || list[0];
  const unsaved = takeUnloadCopy();
  let restored = null;
  if (unsaved) {
    const stored = unsaved.id ? byId(unsaved.id) : null;
    restored = { ...(stored || {}), id: unsaved.id || undefined, name: unsaved.name || defaultName(),
      submission: unsaved.submission };
  } else if (last) {
    restored = byId(last.id);
  }
  const typed = typedEarly(); // read after the awaits above: typing may go on meanwhile
  const keep = typed.length ? readFields(root, typed) : null;
  if (restored && !typed.includes("*") && await open(restored, keep)) {
    if (unsaved || keep) await save();
  } else {
    if (readSubmission(root).year == null) writeFields(root, new Map([["year", String(blankSubmission(root).year)]]));
    await adopt(defaultName());
  }
  if (!drafts.persistent) {
    notify("drafts", "此浏览器不允许本页保存草稿（可能是隐私窗口，或浏览器设置禁止了网站存储）。" +
      "关闭页面后填写内容不会保留，请随时用“导出草稿”保存到文件。", {
      kind: "warning", action: { label: "导出草稿", run: () => exportNow() },
    });
  }
  for (const el of [select, nameInput, $("jx-draft-rename"), $("jx-draft-new"), $("jx-draft-delete")]) {
    el.disabled = false;
  }

  const exportNow = () => downloadSubmission(orderLike(readSubmission(root), formConfig(root).blank));

  // A closed list changes on every arrow key (and fires "change"): opening each draft passed on the
  // way would rewrite the whole form under a keyboard user. A draft picked by keys opens on Enter,
  // or when the focus leaves the list; one picked with the mouse (or from the open list) at once.
  const openPicked = async () => {
    picked = false;
    if (current && select.value === current.id) return;
    await autosaver.flush();
    const draft = await loadDraft(select.value);
    if (draft) await open(draft);
  };
  let stepping = false; // the last key moves through a closed list
  let picked = false; // a draft picked by keys, not yet opened
  select.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && picked) {
      event.preventDefault();
      openPicked();
      return;
    }
    stepping = !event.altKey && (event.key.length === 1 && event.key !== " " ||
      ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"].includes(event.key));
  });
  select.addEventListener("pointerdown", () => { stepping = false; });
  select.addEventListener("change", () => {
    const byKeys = stepping;
    stepping = false; // one key, one change: what comes next may be the mouse's
    if (!byKeys) {
      openPicked();
      return;
    }
    picked = true;
    setState(root.dataset.draftState, "按回车键打开所选草稿");
  });
  select.addEventListener("blur", () => {
    if (picked) openPicked();
  });
  const rename = async () => {
    const name = nameInput.value.trim();
    if (current && !name) { // an emptied box kept the old name unseen: show it again, and say why
      nameInput.value = current.name;
      notify("drafts", "草稿名称不能为空：已恢复原名称。", { kind: "info" });
      return;
    }
    if (!current || name === current.name) return;
    await autosaver.flush();
    current.name = name;
    await save();
    await refreshList();
  };
  $("jx-draft-rename").addEventListener("click", rename);
  nameInput.addEventListener("change", rename);
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") rename();
  });
  $("jx-draft-new").addEventListener("click", async () => {
    await autosaver.flush();
    await create(blankSubmission(root));
  });
  $("jx-draft-delete").addEventListener("click", async () => {
    if (!current) return;
    if (!window.confirm(`删除草稿“${current.name}”？删除后无法恢复（可先导出草稿）。`)) return;
    await autosaver.flush();
    await deleteDraft(current.id);
    current = null;
    const rest = await listDrafts();
    if (rest.length) await open(await loadDraft(rest[0].id));
    else await create(blankSubmission(root));
  });
  $("jx-draft-export").addEventListener("click", exportNow);
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    fileInput.value = "";
    if (!file) return;
    try {
      if (file.size > MAX_IMPORT_BYTES) throw new Error("无法导入：文件过大，不像是自评表草稿。");
      const submission = withDefaults(parseDraftFile(utf8Text(await file.arrayBuffer())), blankSubmission(root));
      await autosaver.flush();
      await create(submission, file.name.replace(/\.json$/i, "") || defaultName());
      notify("import", `已导入“${file.name}”为新草稿。`, { kind: "info" });
    } catch (err) {
      notify("import", err?.message || String(err), { kind: "error" });
    }
  });
  const flushNow = () => {
    // IndexedDB writes started while a page unloads may be dropped; sessionStorage is
    // synchronous and survives a reload of this tab, so keep a copy there too.
    if (current) keepUnloadCopy({ id: current.id, name: current.name, submission: readSubmission(root) });
    autosaver.flush();
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushNow();
  });
  window.addEventListener("pagehide", flushNow);

  return {
    changed() {
      setState("pending", "正在保存…");
      autosaver.schedule();
    },
    flush: () => autosaver.flush(),
    exportNow,
  };
}
