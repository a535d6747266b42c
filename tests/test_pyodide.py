"""The package inside real Pyodide (CPython 3.14, wasm) must print what CPython prints.

Why: the browser edition scores submissions with this same code; any drift between the two
runtimes (Decimal, JSON, ordering, a wheel that does not load) must fail here first.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from pyodide_harness import lock_wheels, project_wheel, run_in_cpython, run_in_pyodide

pytestmark = pytest.mark.pyodide

SAME_OUTPUT_SCRIPT = """\
import hashlib, json, sys
from jixiao import evaluate, load_framework, load_example
from jixiao.samples import random_submission
sub = load_example("jinxian-2021")
fw = load_framework(sub.framework_id)
ev = evaluate(sub, fw)
print(ev.model_dump_json())
for seed in range(300):
    s = random_submission(seed, fw)
    print(hashlib.sha256(evaluate(s, fw).model_dump_json().encode()).hexdigest())
print(sys.version_info[:2])  # only for the report: strip this last line before comparing
"""

WHEELS_SMOKE_SCRIPT = """\
import io, sys
import openpyxl
from jixiao.model.base import ValidationError
from jixiao.model.submission import FundRow, Submission

row = FundRow.model_validate({"budget": "4842.41", "executed": 4842, "rate": "100%"})
print(row.model_dump_json())
try:
    Submission.model_validate({"framework_id": "jinxian-2021", "year": "二〇二一", "extra": 1})
except ValidationError as exc:
    print(" ".join(f"{e['type']}@{'.'.join(map(str, e['loc']))}" for e in exc.errors()))
wb = openpyxl.Workbook()
wb.active.append(["名称", "金额"])
wb.active.append(["项目支出", float(row.budget)])
buf = io.BytesIO()
wb.save(buf)
back = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
print(buf.getvalue()[:2].decode(), back["A2"].value, back["B2"].value)
print(openpyxl.__version__)
print(sys.platform, sys.version_info[:2])
"""


def _split_version_line(out: str) -> tuple[str, str]:
    """Everything before the last line, and the last line (the interpreter version)."""
    body, _, last = out.rstrip("\n").rpartition("\n")
    return body, last


def test_pyodide_wheels_import(tmp_path: Path) -> None:
    """In Pyodide (Python 3.14, whose annotations are lazy): our records validate, convert and
    refuse as in CPython; the pinned openpyxl saves and reads back."""
    out = run_in_pyodide(WHEELS_SMOKE_SCRIPT, [project_wheel(tmp_path), *lock_wheels("core", "export")])
    lines = out.splitlines()
    assert lines[0] == '{"budget":"4842.41","executed":"4842.00","rate":"100"}'
    assert lines[1] == "int_parsing@year extra_forbidden@extra"
    assert lines[2] == "PK 项目支出 4842.41"  # an .xlsx is a zip file, read back intact
    assert lines[3] == "3.1.5"
    assert lines[4] == "emscripten (3, 14)"


@pytest.fixture(scope="module")
def browser_wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The project's own wheel plus the pinned runtime wheels, as the browser gets them."""
    own = project_wheel(tmp_path_factory.mktemp("wheel"))
    return [own, *lock_wheels("core", "export")]


def test_pyodide_matches_cpython(browser_wheels: list[Path]) -> None:
    started = time.monotonic()
    in_pyodide = run_in_pyodide(SAME_OUTPUT_SCRIPT, browser_wheels)
    print(f"Pyodide run (boot + wheels + script): {time.monotonic() - started:.1f} s")
    in_cpython = run_in_cpython(SAME_OUTPUT_SCRIPT)

    body_py, version_py = _split_version_line(in_pyodide)
    body_c, _ = _split_version_line(in_cpython)
    assert version_py == "(3, 14)", f"Pyodide did not run CPython 3.14: {version_py!r}"

    lines = body_c.splitlines()
    assert len(lines) == 301
    total = json.loads(lines[0])["total"]
    assert total is not None and Decimal(total) > 0, "the seed example has no total"
    assert len(set(lines[1:])) > 1, "all random submissions evaluated the same"
    assert body_py.splitlines() == lines  # readable diff first
    assert body_py.encode() == body_c.encode()
