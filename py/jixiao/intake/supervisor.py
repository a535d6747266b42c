"""The supervisor's door: the dashboard (`/admin/`), reviews, 附件4 downloads and the JSON routes
under `/api/admin/`, all behind the credential set when the server starts (the package's docstring
says how it is sent and what protects it). Every verdict shown is the bundle checked again against
the roster as it is now, as `jixiao consolidate` would judge it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..bundle.keys import PrivateKey, group_hex
from ..bundle.payload import beijing_time
from ..bundle.roster import Roster
from ..consolidate.check import Checked, UnitFacts, check_bundle
from ..consolidate.review import Review, ReviewError, latest_reviews, make_review, sign_review
from ..consolidate.summary import (
    SCORE_RULES,
    DepartmentSummary,
    RejectedInput,
    SummaryError,
    build_summary,
    code_order,
    summary_json,
)
from ..model.numbers import percent, plain
from ..render.text import file_part
from ..store import BundleRow, ReviewRow, Store, StoreBusy
from .files import RosterProblem
from .units import Intake, busy_response, json_reply, row_facts

MAX_REMEMBERED_CHECKS = 5000  # stored bundles' verdicts kept per roster: tens of MB at most
FORM_LIMIT = 64 * 1024  # a review: a score, a note of at most 2000 characters, per-indicator scores
REALM = 'Basic realm="jixiao-admin", charset="UTF-8"'
ADMIN_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it a browser sends `Origin: null` on the page's own review form, and
    # the same-origin check (`_same_origin`) refused every review entered on the dashboard.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
NO_DEPARTMENT = "（未填主管部门）"

Handler = Callable[[Request], Awaitable[Response]]


def _department_part(summary: DepartmentSummary) -> str:
    """The department as a download's name part: typed by the units, so no path, bidi or
    zero-width characters (`file_part`, as the CLI's and the 汇总 page's names)."""
    return file_part(summary.department, 60, NO_DEPARTMENT) if summary.department else NO_DEPARTMENT


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Outdated(ReviewError):
    """The bundle in force is no longer the one the supervisor's page showed (HTTP 409)."""


def _form_refused(http_status: int, message: str, back: str = "/admin/") -> HTMLResponse:
    """A review form refused, as a page the supervisor reads and goes back from, not raw JSON."""
    page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>复核未记录</title></head>'
            f'<body><h1>复核未记录</h1><p role="alert">{html.escape(message)}</p>'
            f'<p><a href="{html.escape(back)}">返回主管部门工作台</a></p></body></html>')
    return HTMLResponse(page, status_code=http_status, headers=ADMIN_HEADERS)


def _summary_refused(request: Request, message: str) -> Response:
    """附件4 cannot be made: a page for the dashboard's download links (a browser showed the JSON
    answer as raw text; QA), JSON for a script."""
    if "text/html" not in request.headers.get("accept", ""):
        return json_reply(400, message)
    page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>无法生成附件4</title></head>'
            f'<body><h1>无法生成附件4</h1><p role="alert">{html.escape(message)}</p>'
            f'<p><a href="/admin/">返回主管部门工作台</a></p></body></html>')
    return HTMLResponse(page, status_code=400, headers=ADMIN_HEADERS)


def _year(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    value = int(text.strip())
    return value if 2000 <= value <= 2100 else None


class Supervisor:
    """The supervisor's routes, over the units' `Intake` (its store and roster), with the credential,
    the key that signs reviews, and the stored bundles' verdicts remembered per roster."""

    def __init__(self, intake: Intake, credential: str, *, review_key: PrivateKey | None = None,
                 reviewer: str = "", rule: str = "weighted") -> None:
        if not credential or len(credential) < 8:
            raise ValueError("管理口令至少 8 个字符")
        self.store: Store = intake.store
        self.current_roster: Callable[[], Roster | None] = intake.current_roster
        self.credential = credential.encode("utf-8")
        self.review_key = review_key
        self.reviewer = reviewer
        self.rule = rule
        self.form_token = hmac.new(self.credential, b"jixiao-admin-form", hashlib.sha256).hexdigest()
        self._checks: dict[str, Checked] = {}  # see _check_stored
        self._checks_roster: Roster | None = None
        self._checks_lock = threading.Lock()

    def authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        supplied = b""
        if scheme.lower() == "bearer":
            try:  # the header's bytes as sent (UTF-8 for a non-ASCII credential), which Starlette read as Latin-1
                supplied = value.strip().encode("latin-1")
            except UnicodeEncodeError:
                return False
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True)
            except (ValueError, binascii.Error):
                return False
            supplied = decoded.partition(b":")[2]
        return hmac.compare_digest(supplied, self.credential)

    def guarded(self, handler: Handler) -> Handler:
        async def route(request: Request) -> Response:
            if request.method not in SAFE_METHODS and not self._same_origin(request):
                message = "拒绝来自其他网站的请求：主管部门的操作须从本站的管理页面或命令行提交"
                if _is_form(request):
                    return _form_refused(403, message)
                return json_reply(403, message)
            if not self.authorized(request):
                message = "需要主管部门的管理口令"
                if request.url.path.startswith("/api/"):
                    return JSONResponse({"message": message}, status_code=401,
                                        headers={"WWW-Authenticate": REALM, "Cache-Control": "no-store"})
                return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>401</title><p>{message}</p>",
                                    status_code=401, headers={**ADMIN_HEADERS, "WWW-Authenticate": REALM})
            return await handler(request)

        return route

    def _same_origin(self, request: Request) -> bool:
        """Whether the browser, if it says where the request comes from, says this origin.
        CLI and curl say nothing and pass; `Origin: null` (a sandboxed or opaque page) does not."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        return origin == f"{request.url.scheme}://{request.url.netloc}"

    async def list_bundles(self, request: Request) -> Response:
        year = _year(request.query_params.get("year"))
        rows = await run_in_threadpool(self.store.bundles, year)
        return JSONResponse([row_facts(r) for r in rows], headers={"Cache-Control": "no-store"})

    async def download_bundle(self, request: Request) -> Response:
        sha = str(request.path_params["sha256"]).lower()
        data = await run_in_threadpool(self.store.data, sha)
        row = await run_in_threadpool(self.store.get, sha)
        if data is None or row is None:
            return json_reply(404, "没有这份材料")
        suffix = {"zip": ".zip", "json": ".json", "xlsx": ".xlsx"}.get(row.kind, "")
        parts = [file_part(str(row.year), 10, ""), file_part(row.unit_code, 40, ""), file_part(row.unit_name, 60, "")]
        name = "-".join(part for part in parts if part) + suffix  # typed by the unit: see _department_part
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": f"attachment; filename=\"bundle{suffix}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store"})

    def _units(self, year: int, unit_code: str | None = None) -> list[UnitFacts]:
        return [unit for _, unit in self._checked_rows(year, unit_code)[0]]

    def _checked_rows(self, year: int, unit_code: str | None = None
                      ) -> tuple[list[tuple[BundleRow, UnitFacts]], list[tuple[BundleRow, list[str]]]]:
        """The bundles in force for `year` (of one unit, when given), checked again from their stored bytes
        against the roster as it is now, and the newer ones that no longer verify (a key retired or revoked
        since they arrived), with at most three reasons. As `jixiao consolidate` chooses from a store: per
        unit, the latest bundle that verifies, by signing time, then arrival. Unit codes are compared as consolidation
        names units, without surrounding white space."""
        try:
            roster = self.current_roster()
        except RosterProblem as exc:
            raise SummaryError(exc.message) from None
        rows = sorted((r for r in self.store.bundles(year) if r.ok),  # newest arrival first: kept for ties
                      key=lambda r: (r.signed_at or "", r.received_at or ""), reverse=True)
        done: set[str] = set()
        chosen: list[tuple[BundleRow, UnitFacts]] = []
        failed: list[tuple[BundleRow, list[str]]] = []
        for row in rows:
            if row.unit_code in done or (unit_code is not None and row.unit_code != unit_code):
                continue
            checked = self._check_stored(row.sha256, roster)
            if checked is None:
                continue
            if checked.unit is not None:
                chosen.append((row, checked.unit))
                done.add(row.unit_code)
            else:
                failed.append((row, checked.reasons[:3]))
        return chosen, failed

    def _check_stored(self, sha256: str, roster: Roster | None) -> Checked | None:
        """A stored bundle checked against `roster`, remembered until the roster changes: the dashboard
        shows every unit's verdict as it is now, and a county's bundles take seconds to check again."""
        with self._checks_lock:
            if self._checks_roster is not roster:
                self._checks, self._checks_roster = {}, roster
            checked = self._checks.get(sha256)
        if checked is not None:
            return checked
        data = self.store.data(sha256)
        if data is None:
            return None
        checked = check_bundle(sha256, data, roster)
        with self._checks_lock:
            if self._checks_roster is roster:
                if len(self._checks) >= MAX_REMEMBERED_CHECKS:
                    self._checks.clear()
                self._checks[sha256] = checked
        return checked

    def _reviews(self, year: int) -> dict[tuple[str, int], Any]:
        """The reviews 附件4 counts: with a roster, only its owner's, as `jixiao consolidate --roster`
        counts them (a review signed by any other key once showed here, and in the dashboard's 附件4,
        while the command refused it); else those of the key this server signs with, if any."""
        try:
            roster = self.current_roster()
        except RosterProblem:
            roster = None
        if roster is not None:
            trusted: list[str] | None = [roster.doc.owner.fingerprint]
        else:
            trusted = [self.review_key.public.fingerprint_hex] if self.review_key is not None else None
        return latest_reviews(self.store.reviews(year, trusted))

    def _summary(self, year: int, department: str | None, rule: str) -> DepartmentSummary:
        """附件4 of one department: `department` as the dashboard groups units ("" for the units that
        named none), or None when the year's units all belong to one. Messages speak of the
        dashboard's links, not of the CLI's options."""
        chosen, failed = self._checked_rows(year)
        units = [unit for _, unit in chosen]
        names = sorted({u.department_name for u in units})
        if department is None:
            if len(names) > 1:
                listed = "、".join(n or NO_DEPARTMENT for n in names)
                raise SummaryError(f"{year} 年度的材料分属多个主管部门（{listed}）："
                                   f"请在主管部门工作台上用该部门的下载链接")
            department = names[0] if names else ""
        units = [u for u in units if u.department_name == department.strip()]
        # A bundle that verified on arrival and fails now (its key retired or revoked since) is listed with
        # its reasons, as `jixiao consolidate` lists it, never silently left out of the table.
        refused = [RejectedInput(name=f"{row.unit_name}（{row.unit_code}）签名时间 {beijing_time(row.signed_at)} "
                                      "的材料", sha256=row.sha256, reasons=[f"现在核验不通过：{r}" for r in reasons])
                   for row, reasons in failed if row.department.strip() == department.strip()]
        if not units:
            raise SummaryError(f"{year} 年度没有{_department_words(department)}通过核验的材料"
                               + (f"：{refused[0].name}{refused[0].reasons[0]}" if refused else ""))
        return build_summary(units, self._reviews(year), rule=_rule(rule), department=department.strip(),
                             generated_at=_now(), rejected=refused)

    async def summary_xlsx(self, request: Request) -> Response:
        from ..render.summary_xlsx import write_summary_xlsx

        try:
            summary = await self._summary_from(request)
        except SummaryError as exc:
            return _summary_refused(request, exc.message)
        data = await run_in_threadpool(write_summary_xlsx, summary)
        name = f"{summary.year}-{_department_part(summary)}-附件4部门整体支出自评情况汇总表.xlsx"
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename=\"summary.xlsx\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store"})

    async def summary_document(self, request: Request) -> Response:
        try:
            summary = await self._summary_from(request)
        except SummaryError as exc:
            return _summary_refused(request, exc.message)
        text = summary_json(summary, self.review_key)
        name = f"{summary.year}-{_department_part(summary)}-附件4汇总表.json"
        return Response(text.encode("utf-8"), media_type="application/json", headers={
            "Content-Disposition": f"attachment; filename=\"summary.json\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store"})

    async def _summary_from(self, request: Request) -> DepartmentSummary:
        years = await run_in_threadpool(self.store.years)
        year = _year(request.query_params.get("year")) or (years[0] if years else None)
        if year is None:
            raise SummaryError("还没有收到任何通过核验的材料")
        department = request.query_params.get("department")  # absent: the only one; "": units that named none
        rule = request.query_params.get("rule", self.rule)
        return await run_in_threadpool(self._summary, year, department, rule)

    async def post_review(self, request: Request) -> Response:
        form_post = _is_form(request)
        back = "/admin/"

        def refuse(http_status: int, message: str) -> Response:
            return _form_refused(http_status, message, back) if form_post else json_reply(http_status, message)

        if form_post:
            body = await _limited_body(request, FORM_LIMIT)
            if body is None:
                return _form_refused(413, "表单内容过长")
            fields: dict[str, Any] = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            if not hmac.compare_digest(str(fields.get("token", "")), self.form_token):
                return _form_refused(403, "表单已过期或来源不明，请刷新管理页面后再提交")
            year = _year(str(fields.get("year", "")))
            if year is not None:  # back to the unit's row
                back = f"/admin/?year={year}#u-{quote(str(fields.get('unit_code', '')).strip())}"
            if not fields.get("payload_sha256"):
                return _form_refused(409, "管理页面已过期：请刷新页面，核对材料后再复核", back)
        elif _media_type(request) != "application/json":
            return json_reply(415, "复核请以 JSON 提交（Content-Type: application/json），或用管理页面上的复核表单")
        else:
            raw = await _limited_body(request, FORM_LIMIT)
            if raw is None:
                return json_reply(413, "请求内容过长")
            try:
                fields = json.loads(raw)
            except (ValueError, RecursionError):
                return json_reply(400, "请求内容不是 JSON")
            if not isinstance(fields, dict):
                return json_reply(400, "请求内容应为 JSON 对象")
        if self.review_key is None:
            return refuse(409, "服务器启动时未提供主管部门密钥，无法签署复核意见")
        try:
            review = await run_in_threadpool(self._review, fields)
        except Outdated as exc:
            return refuse(409, exc.message)
        except StoreBusy as exc:
            return busy_response(exc.message) if not form_post else refuse(503, exc.message)
        except ReviewError as exc:
            return refuse(422, exc.message)
        except SummaryError as exc:  # the roster file changed and cannot be used (RosterProblem)
            return refuse(503, exc.message)
        if form_post:
            return RedirectResponse(f"/admin/?year={review.doc.year}#u-{quote(review.doc.unit_code)}", status_code=303,
                                    headers={"Cache-Control": "no-store"})
        return json_reply(201, f"已记录复核：{review.doc.unit_name} {plain(review.score)} 分", sha256=review.sha256,
                     unit_code=review.doc.unit_code, year=review.doc.year, score=plain(review.score))

    def _review(self, fields: dict[str, Any]) -> Review:
        """Sign and store a review of the bundle in force, if it is still the one the page showed."""
        key = self.review_key
        assert key is not None
        for name in ("unit_code", "year", "payload_sha256", "note", "reviewer"):  # a score: make_review says
            if not isinstance(fields.get(name, ""), str | int | type(None)) or isinstance(fields.get(name), bool):
                # str() of a list or dict put Python's own spelling into the reply (QA)
                raise ReviewError(f"{name} 应为文字或数字")
        code = str(fields.get("unit_code", "")).strip()
        year = _year(str(fields.get("year", "")))
        if not code or year is None:
            raise ReviewError("请指明单位编码与年度")
        shown = str(fields.get("payload_sha256") or "").strip().lower()
        if shown and not _HEX64.fullmatch(shown):
            raise ReviewError("payload_sha256 应为所复核材料签名内容的 SHA-256（64 位十六进制）")
        unit = next(iter(self._units(year, code)), None)
        if unit is None:
            raise ReviewError(f"没有单位 {code} {year} 年度通过核验的材料，无法复核")
        if shown and shown != unit.payload_sha256:
            raise Outdated(f"{unit.unit_name}（{code}）{self._replaced_by(year, code, shown, unit)}，"
                           f"复核未记录：请刷新页面，核对后再复核")
        indicators = fields.get("indicators") or {}
        if not isinstance(indicators, dict):
            raise ReviewError("indicators 应为“指标名称或路径: 复核得分”的对象")
        note, reviewer = str(fields.get("note", "")), str(fields.get("reviewer", "") or self.reviewer)

        def sign(previous: ReviewRow | None) -> Review:
            doc = make_review(unit, fields.get("score"), reviewed_at=_now(), indicators=indicators, note=note,
                              reviewer=reviewer, supersedes=previous.sha256 if previous is not None else None)
            return sign_review(doc, key)

        return self.store.add_review_chained(unit.unit_code, year, sign)[0]

    def _replaced_by(self, year: int, code: str, shown: str, unit: UnitFacts) -> str:
        """Why the bundle a review page showed is no longer the one in force: a newer one arrived, or
        (its key retired or revoked since) it no longer verifies and an older one counts again."""
        seen = next((r for r in self.store.bundles(year) if r.payload_sha256 == shown and r.unit_code.strip() == code),
                    None)
        if seen is not None and (seen.signed_at or "") > (unit.signed_at or ""):
            return (f"您看到的那份材料（签名时间 {beijing_time(seen.signed_at)}）现在核验不通过，"
                    f"计入的是签名时间 {beijing_time(unit.signed_at)} 的材料")
        return f"已提交新的签名材料（签名时间 {beijing_time(unit.signed_at)}），与您看到的不是同一份"

    async def dashboard(self, request: Request) -> Response:
        html = await run_in_threadpool(self._dashboard, _year(request.query_params.get("year")))
        return HTMLResponse(html, headers=ADMIN_HEADERS)

    def _dashboard(self, year: int | None) -> str:
        from ..render.report_html import bundle_environment

        years = self.store.years()
        year = year or (years[0] if years else None)
        reviews = self._reviews(year) if year is not None else {}
        shown, problem = self._in_force(year) if year is not None else ([], None)
        departments: dict[str, list[dict[str, Any]]] = {}
        for row, now_failed, notes in shown:
            review = reviews.get((row.unit_code, row.year or 0))
            stale = review is not None and review.doc.payload_sha256 != row.payload_sha256
            departments.setdefault(row.department, []).append({
                "row": row, "versions": self.store.versions(row.unit_code, row.year or 0),
                "review": review, "review_score": plain(review.score) if review is not None else "",
                "stale": stale, "history": len(self.store.review_rows(row.unit_code, row.year)),
                "now_failed": now_failed, "notes": notes, "rate": _rate_text(row.budget, row.executed),
            })
        recent = self.store.bundles()[:20]
        return bundle_environment().get_template("dashboard.html").render(
            year=year, years=years, departments=departments, recent=recent, token=self.form_token, local=beijing_time,
            can_review=self.review_key is not None, rules=SCORE_RULES, rule=self.rule, roster_problem=problem,
            no_roster=problem is None and self._roster_or_none() is None,
            reviewer_fp=self.review_key.public.fingerprint if self.review_key is not None else "")

    def _in_force(self, year: int) -> tuple[list[tuple[BundleRow, str | None, list[str]]], str | None]:
        """Each unit's row on the dashboard, judged as 附件4 judges it: the bundle in force under the
        roster as it is now (with the newer ones that no longer verify), or, when none verifies now, the
        newest with the reason. Each verdict said 通过 from the day it arrived, even after the unit's key
        was retired or revoked and 附件4 had stopped counting the bundle. A counted row's notes include
        its 需核对 lines (a bundle signed under earlier rules, counted as recomputed, among them). When
        the roster cannot be trusted, the verdicts on arrival, and why."""
        try:
            chosen, failed = self._checked_rows(year)
        except SummaryError as exc:
            return [(row, None, []) for row in self.store.latest(year)], exc.message
        counted = {row.unit_code for row, _ in chosen}
        newer: dict[str, list[str]] = {}
        shown: dict[str, tuple[BundleRow, str | None, list[str]]] = {}
        for row, reasons in failed:  # newest first
            if row.unit_code in counted:
                newer.setdefault(row.unit_code, []).append(
                    f"签名时间 {beijing_time(row.signed_at)} 的较新材料现在核验不通过：{reasons[0]}，此份不计")
            elif row.unit_code not in shown:
                shown[row.unit_code] = (row, reasons[0], [])
        versions: dict[str, list[BundleRow]] | None = None
        if self._roster_or_none() is None:  # each unit's stored versions, once: the keys they were signed with
            versions = {}
            for stored in self.store.bundles(year):
                versions.setdefault(stored.unit_code, []).append(stored)
        for row, facts in chosen:  # and what 附件4 lists under 需核对 for the row
            shown[row.unit_code] = (row, None, [*newer.get(row.unit_code, []), *(f"需核对：{f}" for f in facts.flags),
                                                *_own_findings(facts),
                                                *(self._key_notes(versions.get(row.unit_code, []), row, facts)
                                                  if versions is not None else [])])
        order = sorted(shown.values(), key=lambda s: (s[0].department, s[0].unit_kind != "本级",
                                                    code_order(s[0].unit_code)))
        return order, None

    def _roster_or_none(self) -> Roster | None:
        try:
            return self.current_roster()
        except RosterProblem:
            return None

    def _key_notes(self, versions: list[BundleRow], row: BundleRow, facts: UnitFacts) -> list[str]:
        """Without a roster anyone can sign as any unit: the key is named, and a key other than the one
        the unit's other stored `versions` were signed with is pointed out (QA: an impostor's bundle
        replaced a unit's with a green 通过 and no word)."""
        notes = [f"未对照公钥名册：签名公钥指纹 {group_hex(facts.signers[0])[:19]}…"] if facts.signers else []
        earlier: set[str] = set()
        for other in versions:
            if other.ok and other.payload_sha256 != row.payload_sha256:
                checked = self._check_stored(other.sha256, None)
                if checked is not None and checked.unit is not None:
                    earlier.update(checked.unit.signers)
        if earlier and not earlier & set(facts.signers):
            notes.append("签名密钥与该单位此前提交的材料不同：请向单位核实（用 --roster 启动可只接收登记的公钥）")
        return notes

    async def not_found(self, request: Request) -> Response:
        return json_reply(404, "没有这个管理功能")


def _rate_text(budget: str | None, executed: str | None) -> str:
    """执行率 as 附件4 prints it (执行 ÷ 预算, two decimals, half up), or —."""
    try:
        rate = percent(Decimal(executed or ""), Decimal(budget or ""))
    except ArithmeticError:  # InvalidOperation for a blank, as for 0 ÷ 0
        return "—"
    return "—" if rate is None else f"{rate:.2f}%"


def _own_findings(facts: UnitFacts) -> list[str]:
    """The unit's own 错误/警告 in its 附件6 (the dashboard said only 通过; QA)."""
    if not facts.errors and not facts.warnings:
        return []
    return [f"自评表自查：{facts.errors} 个错误、{facts.warnings} 个警告（下载材料查看）"]


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_form(request: Request) -> bool:
    return _media_type(request) == "application/x-www-form-urlencoded"


def _department_words(department: str) -> str:
    return "未填主管部门的单位" if not department.strip() else f"主管部门“{department.strip()}”的单位"


async def _limited_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it grows past `limit` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _rule(text: str) -> Any:
    if text not in SCORE_RULES:
        raise SummaryError(f"合计分数的算法应为 {'、'.join(SCORE_RULES)} 之一")
    return text
