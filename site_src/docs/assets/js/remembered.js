// The last evaluation the engine gave, kept (localStorage) with the exact input it scored and
// the name of the engine that scored it. Coming back to a draft, the restored form is usually
// that input: its score and findings are shown at once, while Python is still starting, and the
// engine's own answer replaces them when it comes. `evaluate` is pure, so the same input under
// the same engine gives the same answer; `config.engine` (build/site.py) names the package
// sources and the pinned runtime, so a site built from other code never shows what old code
// computed. Storage that fails (private windows, quota) only loses the shortcut.

const KEY = "jixiao.lastEvaluation";
const DELAY = 400; // ms: a burst of typing writes once

let pending = null;
let timer = null;

function write() {
  clearTimeout(timer);
  timer = null;
  if (!pending) return;
  const record = pending;
  pending = null;
  try {
    localStorage.setItem(KEY, JSON.stringify(record));
  } catch {
    // no storage: the next visit waits for the engine, as it would without this
  }
}

/** The input an evaluation is remembered by: the framework asked for and the whole form. */
export function inputKey(frameworkId, submission) {
  return JSON.stringify([frameworkId, submission]);
}

/** Keep `evaluation` as the answer to `input`, written once typing pauses (or the page goes). */
export function remember(engine, input, evaluation) {
  if (!engine) return;
  pending = { engine, input, evaluation };
  if (timer === null) {
    timer = setTimeout(write, DELAY);
    addEventListener("pagehide", write, { once: true });
  }
}

/** Drop what is remembered (and what is about to be): a deleted draft leaves no copy behind. */
export function forget() {
  clearTimeout(timer);
  timer = null;
  pending = null;
  try {
    localStorage.removeItem(KEY);
  } catch {
    // no storage: nothing was kept
  }
}

/** The evaluation remembered for exactly this input under this engine, or null. */
export function recall(engine, input) {
  if (!engine) return null;
  let record;
  try {
    record = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
  if (!record || record.engine !== engine || record.input !== input) return null;
  const evaluation = record.evaluation;
  return evaluation && typeof evaluation === "object" ? evaluation : null;
}
