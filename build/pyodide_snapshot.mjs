#!/usr/bin/env node
// Boot the site's own Pyodide under Node, start the scoring engine in it, and save the memory.
//
//   node build/pyodide_snapshot.mjs --pyodide DIR --zip NAME --out FILE SCRIPT.py
//
// DIR is the built site's pyodide/ folder (its precompiled standard library and NAME, the engine's
// start-up zip, at the paths the browser's worker uses); SCRIPT.py is what the worker would run
// before its first evaluation. The browser then restores FILE (Pyodide's `_loadSnapshot`) instead
// of booting Python and importing the engine: build/snapshot.py says why and what it costs.
//
// The same bytes on every build: while the snapshot is made the clock stands still and the
// entropy Pyodide asks for is a fixed stream (and PYTHONHASHSEED=0). Nothing that needs secrecy
// may come from state made here: it is the same for everyone who loads the site. Randomness the
// engine uses later (os.urandom, secrets, WebCrypto) is read from the browser when it is used.
// Prints one JSON line on stdout; everything else goes to stderr. Exit 0 ok, 1 the script
// failed, 2 bad usage.

import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import nodeCrypto from "node:crypto";

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node pyodide_snapshot.mjs --pyodide DIR --zip NAME --out FILE SCRIPT.py\n`);
  process.exit(2);
}

const opts = { pyodide: null, zip: null, out: null, script: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i].replace(/^--/, "");
  if (argv[i].startsWith("--") && flag in opts && flag !== "script") {
    opts[flag] = argv[++i];
    if (opts[flag] === undefined) usage(`--${flag} needs a value`);
  } else if (!argv[i].startsWith("--") && opts.script === null) {
    opts.script = argv[i];
  } else {
    usage(`unexpected argument ${argv[i]}`);
  }
}
for (const name of ["pyodide", "zip", "out", "script"]) if (!opts[name]) usage(`${name} is required`);

// A standing clock and a seeded entropy stream (SHA-256 chained), for byte-identical snapshots.
const EPOCH_MS = Number(process.env.SOURCE_DATE_EPOCH || 315532800) * 1000;
let ticks = 0;
Date.now = () => EPOCH_MS;
performance.now = () => (ticks += 1) / 1000;
let state = nodeCrypto.createHash("sha256").update("jixiao engine snapshot").digest();
function fill(view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    if (i % 32 === 0) state = nodeCrypto.createHash("sha256").update(state).digest();
    bytes[i] = state[i % 32];
  }
  return view;
}
globalThis.crypto.getRandomValues = fill;
nodeCrypto.randomFillSync = fill;

const toStderr = (line) => process.stderr.write(`${line}\n`);
console.log = console.info = console.debug = console.warn = toStderr;

const dir = resolve(opts.pyodide);
const { loadPyodide } = await import(pathToFileURL(`${dir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({
  indexURL: `${dir}/`,
  _makeSnapshot: true,
  env: { HOME: "/home/pyodide", PYTHONHASHSEED: "0" },
  stdout: toStderr,
  stderr: toStderr,
});
const zip = readFileSync(`${dir}/${opts.zip}`);
const zipPath = `/lib/${opts.zip}`;
pyodide.FS.writeFile(zipPath, new Uint8Array(zip.buffer, zip.byteOffset, zip.byteLength));
try {
  pyodide.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(zipPath)})`);
  pyodide.runPython(readFileSync(opts.script, "utf8"));
} catch (error) {
  process.stderr.write(`pyodide_snapshot: the start-up script failed:\n${error.message}\n`);
  process.exit(1);
}
const modules = pyodide.runPython("import sys; len(sys.modules)");
let snapshot;
try {
  snapshot = pyodide.makeMemorySnapshot();
} catch (error) {
  process.stderr.write(`pyodide_snapshot: Pyodide could not save the memory: ${error?.stack || JSON.stringify(error)}\n`);
  process.exit(1);
}
writeFileSync(resolve(opts.out), snapshot);
process.stdout.write(`${JSON.stringify({ bytes: snapshot.length, modules, zip: zipPath })}\n`);
