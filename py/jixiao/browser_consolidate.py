"""The door the 汇总 page's worker calls: 附件4 from dropped bundle files, in the browser.

The page reads the files and hands their bytes over in batches (`add_files`), has the bundles
checked a slice at a time (`check_some`, a tenth of a second each, so the page repaints its
progress bar between slices: in the portable edition Python runs on the page's own thread), then
asks for the summary (`summarise`), which reuses those checks. The work is
`jixiao.consolidate.consolidate` and `jixiao.render.summary_xlsx.write_summary_xlsx`, the same
code as `jixiao consolidate`, so the page's table and workbook are the command's.

One session at a time: `start` forgets earlier files (a page has one list of dropped files).
"""

from __future__ import annotations

import time
from typing import Any

from .bundle.roster import Roster, load_roster
from .consolidate.check import Checked, check_bundle
from .consolidate.collect import NoSummary, Source, consolidate, kind_of
from .consolidate.summary import SCORE_RULES, DepartmentSummary
from .io.errors import InputError
from .model.numbers import plain

_files: list[Source] = []
_CLI_WORDS = (("请用 --year 选择", "请在“年度”中填写要汇总的年度"),
              ("请用 --department 选择一个", "请在“主管部门”中填写要汇总的部门名称"))


class _Checks:
    """The session's bundles checked so far, and the roster bytes they were checked against: a
    check is reused only for the same file (name and bytes) under the same roster."""

    roster: bytes | None
    done: dict[tuple[str, bytes], Checked]
    bundles: list[Source] | None  # the session's bundles, once sorted out
    next: int

    def __init__(self) -> None:
        self.reset(None)

    def reset(self, roster: bytes | None) -> None:
        self.roster, self.done, self.bundles, self.next = roster, {}, None, 0

    def earlier(self, source: Source) -> Checked | None:
        return self.done.get((source.name, source.data or b""))


_checks = _Checks()


def start() -> int:
    """Forget the files of an earlier run."""
    _files.clear()
    _checks.reset(None)
    return 0


def add_files(files: list[Any]) -> int:
    """Add [[name, bytes], …]; returns how many files the session now holds."""
    for name, data in files:
        _files.append(Source(str(name), data=bytes(data)))
    _checks.bundles = None
    return len(_files)


_loaded: list[tuple[bytes, Roster]] = []  # the last roster loaded: the page sends it with every slice


def _roster(raw: Any) -> tuple[bytes | None, Roster | None]:
    """The roster the page sent (bytes or nothing), loaded once per distinct bytes (a county's
    roster takes a signature check and thousands of entries); a damaged one is refused here."""
    raw = _given(raw)
    if not raw:
        return None, None
    data = bytes(raw)
    if _loaded and _loaded[0][0] == data:
        return data, _loaded[0][1]
    loaded = load_roster(data)
    if loaded.problem is not None:
        raise InputError(f"公钥名册有问题：{loaded.problem}")
    _loaded[:] = [(data, loaded)]
    return data, loaded


def check_some(roster: Any = None, budget_ms: int = 100) -> dict[str, int]:
    """Check the session's next bundles for about `budget_ms`; the page calls again until
    `done == total`, repainting its progress bar in between."""
    data, loaded = _roster(roster)
    if data != _checks.roster:
        _checks.reset(data)
    if _checks.bundles is None:
        _checks.bundles = [s for s in _files if kind_of(s.data or b"") == "bundle"]
    bundles = _checks.bundles
    until = time.perf_counter() + max(1, int(budget_ms)) / 1000
    while _checks.next < len(bundles):
        source = bundles[_checks.next]
        _checks.done[(source.name, source.data or b"")] = check_bundle(source.name, source.data or b"", loaded)
        _checks.next += 1
        if time.perf_counter() >= until:
            break
    return {"done": _checks.next, "total": len(bundles)}


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _rate(value: Any) -> str:
    return "" if value is None else f"{value:.2f}%"


def _score(value: Any) -> str:
    return "" if value is None else plain(value)


def _table(summary: DepartmentSummary) -> dict[str, Any]:
    """The 附件4 sheet's words and figures, as shown on the page (and in the workbook)."""
    rows = [{"index": r.index, "unit_code": r.unit_code, "unit_name": r.unit_name, "unit_kind": r.unit_kind,
             "budget": _money(r.budget), "executed": _money(r.executed), "rate": _rate(r.rate),
             "self_score": _score(r.self_score), "review_score": _score(r.review_score), "grade": r.grade or "",
             "signed_at": r.signed_at, "flags": list(r.flags)} for r in summary.rows]
    t = summary.total
    total = {"budget": _money(t.budget), "executed": _money(t.executed), "rate": _rate(t.rate),
             "self_score": _score(t.self_score), "review_score": _score(t.review_score)}
    return {"title": summary.title, "department": summary.department, "year": summary.year,
            "rule": summary.score_rule, "rule_text": SCORE_RULES[summary.score_rule], "rows": rows, "total": total,
            "notes": list(summary.notes)}


def _given(value: Any) -> Any:
    """None for what JavaScript sends as null/undefined/"" (null arrives as pyodide's JsNull)."""
    if value is None or value == "" or type(value).__name__ in ("JsNull", "JsUndefined"):
        return None
    return value


def _page_words(message: str) -> str:
    for cli, page in _CLI_WORDS:
        message = message.replace(cli, page)
    return message


def summarise(roster: bytes | None = None, rule: str = "weighted", department: str | None = None,
              year: int | str | None = None, generated_at: str = "") -> dict[str, Any]:
    # Arguments come from the page: JavaScript null arrives as pyodide's JsNull, hence `_given`.
    """附件4 of the session's files: the table, the rejected files with reasons, the .xlsx bytes.

    A run that cannot give a table (nothing verifies, several years or departments) answers
    `{"ok": False, "message": …}` with the files' verdicts, rather than raising.
    """
    from .render.summary_xlsx import summary_file_name, write_summary_xlsx

    if rule not in SCORE_RULES:
        raise InputError(f"合计分数的算法应为 {'、'.join(SCORE_RULES)} 之一")
    raw_roster, loaded = _roster(roster)
    department, year = _given(department), _given(year)
    reuse = _checks.earlier if raw_roster == _checks.roster else None
    try:
        chosen_year = int(str(year).strip()) if year is not None else None
    except ValueError:
        raise InputError(f"年度应为四位数字：{str(year)[:20]}") from None
    chosen_department = str(department).strip() or None if department is not None else None
    try:
        outcome = consolidate(list(_files), roster=loaded, rule=rule,  # type: ignore[arg-type]  # checked above
                              department=chosen_department, year=chosen_year, generated_at=generated_at,
                              checked_before=reuse)
    except NoSummary as exc:
        # No table: still say what was wrong with each file.
        checked = exc.outcome.checked
        return {"ok": False, "message": _page_words(exc.message), "files": len(_files), "table": None,
                "rejected": [{"name": r.name, "reasons": list(r.reasons)} for r in exc.refused],
                "superseded": [], "copies": [], "left_out": [], "differences": [], "checked": len(checked),
                "passed": sum(1 for c in checked if c.ok)}
    summary = outcome.summary
    assert summary is not None
    xlsx = write_summary_xlsx(summary, differences=outcome.differences)
    name = summary_file_name(summary)
    return {
        "ok": True, "files": len(_files), "table": _table(summary),
        "rejected": [{"name": r.name, "reasons": list(r.reasons)} for r in outcome.rejected],
        "superseded": list(outcome.superseded), "copies": list(outcome.copies), "left_out": list(outcome.left_out),
        "differences": list(outcome.differences),
        "checked": len(outcome.checked), "passed": sum(1 for c in outcome.checked if c.ok),
        "xlsx": xlsx, "xlsx_name": name, "roster": loaded is not None,
    }
