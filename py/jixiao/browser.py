"""The door the browser worker calls: JSON text in, evaluation JSON text out.

In the form a person can type a word where a number belongs at any moment. The page must
still score everything else, so unreadable values are cleared, reported as INVALID_VALUE
findings on their fields, and the rest is evaluated by the same `evaluate` as everywhere.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from .catalog import UnknownName, load_framework
from .model.base import ValidationError
from .model.evaluation import Evaluation, Finding
from .model.fields import describe, explain
from .model.numbers import fixed2, parse_entry, plain, round2
from .model.submission import FUND_ROWS, Submission
from .rules.evaluate import evaluate
from .rules.findings import finding

_MAX_PASSES = 20

# What signing, 核验 and 汇总 import, in steps the worker runs one at a time with the unit's
# evaluations between them: imported at once it held the worker (and so the score of the edit
# typed just then) for 1.2-1.4 s. `import openpyxl` (about half of it) is the largest step.
WARM_STEPS: tuple[tuple[str, ...], ...] = (
    ("openpyxl",),
    ("jinja2", "segno"),
    ("jixiao.render.report_html",),
    ("ecdsa", "gmalg"),
    ("jixiao.browser_bundle",),
)


def _clear(doc: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at `loc` so validation can go on without it."""
    node = doc
    for key in loc[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node.pop(last)
        return True
    return False


def validate_leniently(doc: dict[str, Any]) -> tuple[Submission, list[Finding]]:
    """Validate, dropping each unreadable value and naming it, until the rest is valid."""
    problems: list[Finding] = []
    for _ in range(_MAX_PASSES):
        try:
            return Submission.model_validate(doc), problems
        except ValidationError as exc:
            errors = exc.errors()
            cleared = False
            for error in errors:
                loc = tuple(error["loc"])
                path = ".".join(str(p) for p in loc)
                problems.append(finding("INVALID_VALUE", path, what=describe(loc, doc),
                                        problem=explain(error)))
                cleared = _clear(doc, loc) or cleared
            if not cleared:
                break
    raise ValueError("自评表数据无法读取：" + "；".join(f.message for f in problems[:3]))


_MONEY = ("budget", "executed")  # the amounts (`EntryMoney`) of a fund row and of the report's figures
_AMOUNTS = (*(("funds", row, column) for row in FUND_ROWS for column in _MONEY),
            *(("report", "figures", column) for column in _MONEY))


def rounded_amounts(doc: dict[str, Any]) -> list[Finding]:
    """A warning on each amount typed with more than two decimals: it is scored and signed
    rounded half up (`model.numbers`), which the box, still showing what was typed, does not say."""
    out: list[Finding] = []
    for loc in _AMOUNTS:
        node: Any = doc
        for key in loc:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, str | int) or isinstance(node, bool):
            continue
        try:
            value = parse_entry(node)
        except ValueError:
            continue  # INVALID_VALUE says why
        if value is not None and round2(value) != value:
            out.append(finding("AMOUNT_ROUNDED", ".".join(loc), what=describe(loc, doc), typed=plain(value),
                               kept=fixed2(value)))
    return out


def evaluate_document(doc: dict[str, Any], default_framework: str) -> Evaluation:
    if not isinstance(doc.get("framework_id"), str) or not doc["framework_id"].strip():
        doc = {**doc, "framework_id": default_framework}
    rounded = rounded_amounts(doc)
    sub, problems = validate_leniently(doc)
    try:
        framework = load_framework(sub.framework_id)
    except UnknownName:
        framework = load_framework(default_framework)
    ev = evaluate(sub, framework)
    if problems:
        # A cleared value reads as blank to `evaluate`: "请填写…" beside "“abc”不是数字" on the
        # same box told the clerk to fill in what they had just filled in.
        unreadable = {p.path for p in problems}
        kept = [f for f in ev.findings if not (f.code == "MISSING_REQUIRED" and f.path in unreadable)]
        ev = ev.model_copy(update={"findings": [*problems, *kept]})
    if rounded:
        ev = ev.model_copy(update={"findings": [*ev.findings, *rounded]})
    return ev


def evaluate_json(text: str, default_framework: str = "jinxian-2021") -> str:
    """Evaluate a submission given as JSON text; returns the Evaluation as JSON text."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("应为 JSON 对象（一个单位的自评表）")
    return evaluate_document(doc, default_framework).model_dump_json()


def message(exc: BaseException) -> str:
    """What the page shows for a failure: a Chinese sentence, never a traceback."""
    if isinstance(exc, json.JSONDecodeError):
        return f"填报数据不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）"
    text = str(exc).strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    return f"评分程序出错（{type(exc).__name__}）：{text}" if text else f"评分程序出错（{type(exc).__name__}）"


def run(text: str, default_framework: str) -> list[str]:
    """The worker's call (site_src/docs/assets/js/worker.js): ["ok", evaluation JSON, ""], or
    ["error", the message for the page, the traceback for the console]."""
    try:
        return ["ok", evaluate_json(text, default_framework), ""]
    except Exception as exc:
        return ["error", message(exc), traceback.format_exc()]


def after_restore() -> None:
    """Called by the worker once it restored the engine snapshot (build/snapshot.py), which was
    made with a fixed entropy stream: anything seeded then is reseeded from the browser now."""
    module = sys.modules.get("random")
    if module is not None:
        module.seed()


def warm(step: int) -> int:
    """Import step `step` of what an export needs ahead of the first click (WARM_STEPS); the
    number of steps left after it. The last one also compiles the report's template."""
    import importlib

    if not 0 <= step < len(WARM_STEPS):
        raise ValueError(f"没有第 {step} 步预加载")
    for name in WARM_STEPS[step]:
        importlib.import_module(name)
    left = len(WARM_STEPS) - 1 - step
    if left == 0:
        from .render import report_html

        report_html.bundle_environment().get_template(report_html.TEMPLATE)
    return left
