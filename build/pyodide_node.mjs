#!/usr/bin/env node
// Run a Python script inside real Pyodide under Node, offline.
//
//   node build/pyodide_node.mjs --pyodide DIR [--wheel FILE.whl ...] [--snapshot FILE.gz [--zip NAME]] [--stdlib FILE.zip] SCRIPT.py
//
// Why: tests compare the package's output in Pyodide with CPython's, so stdout must carry
// exactly what the script prints and nothing else. Everything the loader says goes to stderr.
// Wheels are unpacked straight into site-packages: micropip and the Pyodide CDN are not
// reachable here, and plain unpacking is all a pure or pyemscripten wheel needs. With --snapshot
// the interpreter is restored from an engine snapshot (build/snapshot.py) instead of booted;
// --zip writes DIR/NAME (the engine's start-up zip) to /lib/NAME as the worker does, and --stdlib
// gives Pyodide another standard-library zip (the site's empty stand-in, as the worker restores
// with it).
// Exit codes: 0 ok, 1 the script raised (traceback on stderr), 2 bad usage or setup.

import { readFileSync, writeSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve, basename } from "node:path";
import { pathToFileURL } from "node:url";

function usage(msg) {
  process.stderr.write(
    `${msg}\nusage: node pyodide_node.mjs --pyodide DIR [--wheel FILE.whl ...] [--snapshot FILE.gz [--zip NAME]] [--stdlib FILE.zip] SCRIPT.py\n`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { pyodide: null, wheels: [], snapshot: null, stdlib: null, zip: null, script: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (["--pyodide", "--wheel", "--snapshot", "--stdlib", "--zip"].includes(arg)) {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      if (arg === "--pyodide") opts.pyodide = resolve(value);
      else if (arg === "--snapshot") opts.snapshot = resolve(value);
      else if (arg === "--stdlib") opts.stdlib = resolve(value);
      else if (arg === "--zip") opts.zip = value;
      else opts.wheels.push(resolve(value));
    } else if (arg.startsWith("--")) {
      usage(`unknown option ${arg}`);
    } else if (opts.script === null) {
      opts.script = resolve(arg);
    } else {
      usage(`unexpected argument ${arg}`);
    }
  }
  if (!opts.pyodide) usage("--pyodide DIR is required");
  if (!opts.script) usage("SCRIPT.py is required");
  return opts;
}

// Synchronous writes: nothing is lost or reordered when the process ends right after.
function writeAll(fd, bytes) {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
  return bytes.length;
}

// Runs the script as __main__ (registered in sys.modules, so pydantic can resolve the script's
// forward references), maps SystemExit to an exit code like CPython does, and prints tracebacks
// without this runner's own frame.
const RUNNER = `
import linecache, sys, traceback, types

def run(source, filename):
    main = types.ModuleType("__main__")
    main.__file__ = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"], sys.argv = main, [filename]
    try:
        exec(compile(source, filename, "exec"), main.__dict__)
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.modules["__main__"] = saved

run
`;

const toStderr = (...args) => process.stderr.write(`${args.join(" ")}\n`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // The loader and package manager talk through console.*; keep that off stdout.
  console.log = console.info = console.debug = console.warn = toStderr;

  const { loadPyodide } = await import(pathToFileURL(`${opts.pyodide}/pyodide.mjs`).href);
  const started = performance.now();
  const snapshot = opts.snapshot ? gunzipSync(readFileSync(opts.snapshot)) : null;
  const pyodide = await loadPyodide({
    indexURL: `${opts.pyodide}/`,
    stdout: toStderr, // only used during boot; replaced below
    stderr: toStderr,
    ...(snapshot ? { _loadSnapshot: new Uint8Array(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength) } : {}),
    ...(opts.stdlib ? { stdLibURL: opts.stdlib } : {}),
  });
  // Raw byte handlers: Python's output reaches stdout unchanged (no line batching).
  pyodide.setStdout({ write: (buf) => writeAll(1, buf) });
  pyodide.setStderr({ write: (buf) => writeAll(2, buf) });

  if (opts.zip) {
    const buf = readFileSync(`${opts.pyodide}/${opts.zip}`);
    pyodide.FS.writeFile(`/lib/${opts.zip}`, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  }
  const site = pyodide.runPython("import site; site.getsitepackages()[0]");
  for (const wheel of opts.wheels) {
    if (!wheel.endsWith(".whl")) usage(`not a wheel: ${wheel}`);
    const buf = readFileSync(wheel); // a Buffer, which Pyodide's type check rejects
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    pyodide.unpackArchive(bytes, "wheel", { extractDir: site });
    toStderr(`pyodide_node: installed ${basename(wheel)}`);
  }
  if (opts.wheels.length) pyodide.runPython("import importlib; importlib.invalidate_caches()");
  toStderr(`pyodide_node: ready in ${((performance.now() - started) / 1000).toFixed(2)} s`);

  const run = pyodide.runPython(RUNNER);
  try {
    return run(readFileSync(opts.script, "utf8"), opts.script);
  } finally {
    run.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`pyodide_node: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
