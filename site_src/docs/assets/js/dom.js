// Small helpers shared by the page modules: building elements safely, and one IndexedDB store.
//
//   import { el, objectStore } from "./dom.js";
//   el("p", { className: "x", dataset: { k: "v" } }, "text", child);   // text stays text
//   const store = objectStore("jixiao-keys", "keys");                    // { keyPath: "id" } optional
//   await store("readwrite", (s) => s.put(value, key));                  // resolves with the request's result

// Direction overrides (U+202A–U+202E, U+2066–U+2069) in text a unit typed would redraw what
// follows them backwards: U+202E in a unit name showed the code after it reversed (QA). Shown
// as the CLI shows them, "\u202e", they are seen and change nothing.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const visible = (text) => text.replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** An element with attributes and children; strings become text nodes, never markup. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "className") node.className = v;
    else node.setAttribute(k, typeof v === "string" ? visible(v) : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(typeof c === "string" ? visible(c) : c);
  return node;
}

/**
 * A function running one transaction on one object store of a version-1 database, created on
 * first use. Each call opens and closes the database, so no connection blocks another tab.
 */
export function objectStore(dbName, storeName, storeOptions = undefined) {
  const open = () => new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName, storeOptions);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return async (mode, run) => {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(storeName, mode);
        const request = run(tx.objectStore(storeName));
        tx.oncomplete = () => resolve(request?.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error("IndexedDB 事务中止"));
      });
    } finally {
      db.close();
    }
  };
}
