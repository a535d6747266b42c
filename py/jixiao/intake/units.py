"""The units' door: `POST /api/bundles` (a bundle in, verified, stored once) and `GET /api/intake`.

Open to anyone who can reach the server, so nothing is stored unless it verifies, and every answer
is JSON with a Chinese `message` the portal's upload queue shows as it is (see the package's
docstring for the statuses). `Intake` also holds what both doors share: the store and the roster
as its file now stands.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..bundle.roster import Roster
from ..consolidate.check import check_bundle
from ..store import BundleRow, Store, StoreBusy, signed_after_receipt
from .files import RosterFile, RosterProblem

MAX_BODY = 5 * 1024 * 1024
ACCEPTED_TYPES = {
    "application/zip", "application/x-zip-compressed", "application/json", "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def json_reply(http_status: int, message: str, **extra: Any) -> JSONResponse:
    """Every JSON answer of both doors: a Chinese `message` first, never cached."""
    return JSONResponse({"message": message, **extra}, status_code=http_status, headers={"Cache-Control": "no-store"})


def busy_response(message: str) -> JSONResponse:
    """503: another program holds the store; nothing was stored, and trying again later works."""
    response = json_reply(503, message, status="busy")
    response.headers["Retry-After"] = "30"
    return response


def row_facts(row: BundleRow) -> dict[str, Any]:
    """A stored bundle as the JSON answers list it."""
    return {"sha256": row.sha256, "unit_code": row.unit_code, "unit_name": row.unit_name, "unit_kind": row.unit_kind,
            "department": row.department, "year": row.year, "signed_at": row.signed_at,
            "received_at": row.received_at, "how": row.how, "ok": row.ok, "self_score": row.self_score,
            "grade": row.grade, "budget": row.budget, "executed": row.executed, "size": row.size,
            "reasons": row.reasons}


def _refusal_advice(reasons: list[str]) -> str | None:
    """What a unit refused over the roster should do (the portal shows it instead of "correct and export
    again", which does not help a key that is merely not enrolled yet); None for any other refusal."""
    about = next((r for r in reasons if r.startswith("公钥未通过名册核对")), None)
    if about is None:
        return None
    if "注销" in about or "已停用" in about:
        return ("这把签名密钥已不能使用：请生成新的签名密钥，把新的《公钥登记表》盖章交主管部门登记后，"
                "重新导出签名材料再提交。")
    if "名册中没有" in about:
        return ("本单位的签名公钥尚未登记：请把盖章的《公钥登记表》交主管部门登记，"
                "登记后点“重新提交”即可，不必重新导出。")
    return "请与主管部门核对公钥登记（单位编码、公钥指纹、启用日期）后再提交。"


UNIT_BUSY = "服务器暂时忙，这份材料尚未收到：请稍后重新提交（本页会自动重试）"
ROSTER_BUSY = "主管部门的公钥名册暂时不可用，这份材料尚未收到：请稍后重新提交（本页会自动重试）"


class Intake:
    """The store and the roster (followed in its file when `roster_path` is given), and the units' routes."""

    def __init__(self, store: Store, *, roster: Roster | None = None, roster_path: Path | None = None,
                 max_bytes: int = MAX_BODY, deep: bool = False) -> None:
        self.store = store
        self.roster = roster
        self.roster_file = RosterFile(roster_path, roster) if roster is not None and roster_path is not None else None
        self.max_bytes = max_bytes
        self.deep = deep

    def current_roster(self) -> Roster | None:
        """The roster as its file now stands (see `RosterFile`); raises `RosterProblem`."""
        return self.roster_file.current() if self.roster_file is not None else self.roster

    async def post_bundle(self, request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ACCEPTED_TYPES:
            return json_reply(415, "请以 application/zip（签名材料 .zip）或 application/json（签名 .json）提交",
                              status="refused")
        declared = request.headers.get("content-length")
        limit_mb = self.max_bytes // 1024 // 1024
        if declared is not None:
            if not declared.isdigit():
                return json_reply(400, "Content-Length 不是数字", status="refused")
            if int(declared) > self.max_bytes:
                size = int(declared) / 1024 / 1024
                return json_reply(413, f"文件过大（{size:.1f} MB），上限 {limit_mb} MB", status="refused")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_bytes:
                return json_reply(413, f"文件过大，上限 {limit_mb} MB", status="refused")
        data = bytes(body)
        received = datetime.now(UTC)
        if not data.strip():
            return json_reply(400, "提交的内容是空的", status="refused")
        sha = hashlib.sha256(data).hexdigest()
        name = unquote(request.headers.get("x-filename", ""))[:200]
        try:
            roster = await run_in_threadpool(self.current_roster)
        except RosterProblem as exc:
            print(f"收件暂停：{exc.message}", file=sys.stderr, flush=True)  # the operator's remedy, not the unit's
            return busy_response(ROSTER_BUSY)
        stored = await run_in_threadpool(self.store.get, sha)
        if stored is not None and roster is None:
            return json_reply(200, "这份材料此前已收到，无需重复提交", status="already_stored", **row_facts(stored))
        checked = await run_in_threadpool(check_bundle, name or "upload", data, roster, deep=self.deep)
        if not checked.ok:
            status = 400 if not checked.readable else 422
            advice = _refusal_advice(checked.reasons)
            first = checked.reasons[0] if checked.reasons else "核验未通过"
            # Sent again after its key was retired or revoked: "已收到" told the unit it was done while
            # 附件4 no longer counted the bundle.
            said = f"这份材料此前已收到，但现在核验不通过：{first}" if stored is not None else f"未接收：{first}"
            return json_reply(status, said, status="refused", sha256=sha, reasons=checked.reasons,
                              **({"advice": advice} if advice else {}))
        if stored is not None:
            return json_reply(200, "这份材料此前已收到，无需重复提交", status="already_stored", **row_facts(stored))
        too_late = signed_after_receipt(checked, received)
        if too_late is not None:
            return json_reply(422, f"未接收：{too_late}", status="refused", sha256=sha, reasons=[too_late])
        try:
            inserted, row = await run_in_threadpool(self.store.add_bundle, data, checked, how="http", filename=name)
        except StoreBusy:  # the queue retries a 503; the store's path and remedy are the operator's
            return busy_response(UNIT_BUSY)
        unit = checked.unit
        findings = {"errors": unit.errors if unit else 0, "warnings": unit.warnings if unit else 0}
        if not inserted:
            return json_reply(200, "这份材料此前已收到，无需重复提交", status="already_stored", **row_facts(row))
        return json_reply(201, f"已收到 {row.unit_name}（{row.unit_code}）{row.year} 年度的签名材料，核验通过",
                          status="stored", findings=findings, flags=list(unit.flags) if unit else [], **row_facts(row))

    async def info(self, request: Request) -> Response:
        """What the portal's upload queue asks first: is this server taking bundles, and up to what size."""
        return JSONResponse({"accepting": True, "max_bytes": self.max_bytes, "roster": self.roster is not None,
                             "message": "本站点接收签名材料：导出后可直接提交给主管部门"},
                            headers={"Cache-Control": "no-store"})
