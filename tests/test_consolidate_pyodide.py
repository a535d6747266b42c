"""Consolidation inside real Pyodide gives the same 附件4 as CPython (the future 汇总 page).

The same department bundles (one tampered) are checked and summarised in both runtimes: the
summary documents must be equal, the rejection reason the same, and the xlsx made in Pyodide
must read back to the same cells. Pyodide has no `cryptography`: the pure Ed25519 path runs.
"""

from __future__ import annotations

import base64
import io
import json

import openpyxl
import pytest

from consolidate_helpers import UNITS, own_bundle, tampered_bundle, unit_bundle
from jixiao.consolidate import Source, consolidate
from jixiao.render.summary_xlsx import SHEET
from pyodide_harness import run_in_pyodide
from test_bundle_pyodide import wheels  # noqa: F401  (the module fixture: project + pinned + built wheels)

pytestmark = pytest.mark.pyodide

SCRIPT = """\
import base64, json, sys
from jixiao.consolidate import Source, consolidate
from jixiao.render.summary_xlsx import write_summary_xlsx
bundles = json.loads(base64.b64decode("{bundles}"))
outcome = consolidate([Source(name, data=base64.b64decode(data)) for name, data in bundles],
                      generated_at="2022-04-01T00:00:00Z")
print(json.dumps(outcome.summary.model_dump(mode="json"), ensure_ascii=False, sort_keys=True))
print(json.dumps([r.reasons for r in outcome.rejected], ensure_ascii=False))
print(base64.b64encode(write_summary_xlsx(outcome.summary)).decode())
print(sys.platform)
"""


def test_consolidation_agrees_between_pyodide_and_cpython(wheels: list) -> None:  # noqa: F811
    made = [own_bundle(), *(unit_bundle(code) for code, *_ in UNITS), tampered_bundle()]
    packed = base64.b64encode(json.dumps([(n, base64.b64encode(d).decode()) for n, d in made]).encode()).decode()
    summary_line, rejected_line, xlsx_line, platform = run_in_pyodide(SCRIPT.format(bundles=packed), wheels
                                                                      ).splitlines()[:4]
    assert platform == "emscripten"
    here = consolidate([Source(n, data=d) for n, d in made], generated_at="2022-04-01T00:00:00Z")
    assert here.summary is not None
    assert json.loads(summary_line) == here.summary.model_dump(mode="json")
    assert json.loads(rejected_line) == [r.reasons for r in here.rejected]
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx_line)))[SHEET]
    assert ws["A2"].value == "2021年度部门整体支出自评情况汇总表"
    assert [ws.cell(row=9, column=c).value for c in (1, 3, 4)] == ["合计", 5980.12, 5930.12]
