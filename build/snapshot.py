"""The scoring engine as a memory snapshot: Python booted, jixiao imported, one form evaluated.

Why: on a first visit the engine spent about two seconds booting Python and importing before it
could score, on a machine whose two cores it shares with the page and with V8 compiling the
9.6 MB of WebAssembly. Pyodide can save the memory of an interpreter that has done all that
(``makeMemorySnapshot``) and start a new one from it (``loadPyodide({_loadSnapshot})``): no
interpreter start-up, no import, and V8 compiles only the code the first evaluation runs.
Measured in headless Chromium (2-core machine, worker alone): first evaluation 2.0 s → 1.0 s
after the worker started on a first visit, 1.3 s → 0.9 s on a repeat visit.

The snapshot is made at build time, under Node (``build/pyodide_snapshot.mjs``), from the
built site's own ``pyodide/`` folder: the same precompiled standard library and the same
start-up zip at the same paths, since Python keeps their directories in memory (the worker writes
the start-up zip there as it restores, and the standard library after the first score, with an
empty zip in its place until then). It is shipped gzip-compressed (31 MB of memory, 5 MB of
file, whatever the web server compresses) and inflated by the browser (DecompressionStream):
5 MB more on a first visit. Pyodide checks the runtime's build id when restoring; the worker
falls back to booting as before if anything fails.

It holds no secret: the clock and entropy are fixed while it is made (so builds stay
byte-identical), which makes every in-memory random state the same for every visitor. Nothing
here uses one: keys and signatures take their randomness from WebCrypto or ``os.urandom`` when
they are made, and the worker reseeds ``random`` after restoring. Hash randomisation is off
(``PYTHONHASHSEED=0``): a worker that only handles its own user's forms gains nothing from it.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NODE_SCRIPT = Path(__file__).with_name("pyodide_snapshot.mjs")
SNAPSHOT_NAME = "engine.snapshot.gz"  # gzip: 31 MB of memory, 5 MB on the wire from any static server
# An empty zip the restoring worker gives Pyodide for the standard library (which it installs before
# anything else): every module the first evaluation needs is in the snapshot's memory, so the 4 MB
# (gzip) of the real one follows while the engine already scores, written in its place.
PLACEHOLDER_NAME = "stdlib-placeholder.zip"
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)

# What the worker runs before its first evaluation, and the evaluation a new unit's page asks for
# first (the framework's blank form): importing and evaluating once also builds every cache the
# evaluation fills (the framework, its index, the records' generated code).
STARTUP_SCRIPT = """\
import json
from jixiao.browser import run
from jixiao.catalog import load_framework
from jixiao.model.blank import blank_submission

_framework = load_framework({framework_id!r})
_status, _value, _trace = run(json.dumps(blank_submission(_framework, 2000).model_dump(mode="json")), _framework.id)
assert _status == "ok", _trace
del json, run, load_framework, blank_submission, _framework, _status, _value, _trace
"""


class SnapshotError(RuntimeError):
    """The snapshot could not be made."""


@dataclass(frozen=True)
class SnapshotResult:
    path: Path
    size: int  # the file (gzip)
    memory: int  # the memory it restores
    modules: int
    seconds: float


def _reason(stderr: bytes) -> str:
    """What went wrong, from Node's stderr: our script's own report if it made one, else the last
    lines (an uncaught error prints a line of minified Pyodide source before the message)."""
    text = stderr.decode("utf-8", "replace")
    at = text.rfind("pyodide_snapshot:")
    if at >= 0:
        return text[at:][-4000:]
    lines = [line if len(line) <= 300 else line[:300] + "…" for line in text.strip().splitlines()]
    return "\n".join(lines[-20:])


def make_snapshot(pyodide_folder: Path, zip_name: str, framework_id: str, *, node: str) -> SnapshotResult:
    """Write ``pyodide_folder/engine.snapshot.gz`` from that folder's runtime and start-up zip, under
    ``node`` (``fetch.node_command``: the snapshot's bytes depend on the Node that makes it)."""
    out = pyodide_folder / SNAPSHOT_NAME
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jixiao-snapshot-") as tmp:
        script = Path(tmp) / "startup.py"
        script.write_text(STARTUP_SCRIPT.format(framework_id=framework_id), encoding="utf-8")
        raw = Path(tmp) / "engine.snapshot"
        cmd = [node, str(NODE_SCRIPT), "--pyodide", str(pyodide_folder), "--zip", zip_name, "--out", str(raw),
               str(script)]
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=900)
        if proc.returncode != 0:
            raise SnapshotError("making the engine snapshot in Pyodide failed:\n" + _reason(proc.stderr))
        report = json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])
        part = Path(tmp) / SNAPSHOT_NAME
        part.write_bytes(gzip.compress(raw.read_bytes(), compresslevel=6, mtime=0))
        shutil.move(part, out)
    (pyodide_folder / PLACEHOLDER_NAME).write_bytes(EMPTY_ZIP)
    return SnapshotResult(out, out.stat().st_size, int(report["bytes"]), int(report["modules"]),
                          time.monotonic() - started)
