"""The intake service: units POST their bundles; the supervisor reviews and downloads 附件4.

    units.py       the units' door (`Intake`): verify, store once, answer in Chinese
    supervisor.py  the supervisor's door (`Supervisor`): dashboard, reviews, 附件4, behind the credential
    files.py       the credential's token file and the roster file the service follows

    intake_routes(store, credential, review_key=…, roster=…) -> list[BaseRoute]

passed to `server.create_app(site_dir, extra_routes=…)` (tried before the static files).

Units (no credential) can only `POST /api/bundles` (and `GET /api/intake`, which tells the portal
that this server takes bundles and up to what size): the body is the bundle zip (or a signed
envelope .json, or a signed .xlsx), at most `max_bytes` (5 MB), counted while it streams in.
Nothing is stored unless it verifies (`check_bundle`, the envelope path: signature, roster when
the server has one, schema, recomputed score, the xlsx's hidden envelope): the store holds
evidence of what was accepted, and an open endpoint must not become a dump. Answers, each with
a Chinese `message`:

    201  stored (first time)          {sha256, status: "stored", unit…, findings}
    200  these bytes were already stored (idempotent: a retry after a lost answer is harmless)
    400  not a bundle at all, empty, damaged
    413  larger than the limit (refused before it is read whole)
    415  a Content-Type other than zip / json / octet-stream / xlsx
    422  a bundle that fails verification, or an unsafe zip (bomb, `../` names …)

Supervisor routes need the credential set at server start — `Authorization: Bearer TOKEN`, or
HTTP Basic with any user name and TOKEN as the password (a browser asks for it) — compared in
constant time; anything else is 401. `/admin/` is a server-rendered page (Jinja2, autoescape,
no script, no external URL) listing units, verification, scores and reviews, with a review
form per unit and the 附件4 download; the JSON routes live under `/api/admin/`. Reviews are
signed on the server with the supervisor key given at start, under the store's transaction
(two at once never supersede the same review). The browser sends its cached credential with
any request, even one a page on another site makes, so a supervisor POST is refused (403) when
the browser says it comes from elsewhere (`Origin`, `Sec-Fetch-Site`); a JSON call must be
`application/json`, which no page on another site can send without a CORS preflight this
server never grants (415 otherwise); a form POST must also carry the page's token, and the
payload sha256 of the bundle the page showed (409 when the unit has resubmitted since).

A roster given as a file (`roster_path`, what `jixiao serve --roster` passes) is read again when
the file changes, so a key enrolled, retired or revoked with `jixiao roster` beside the running
server counts at once, at the intake and in the dashboard's 附件4 and reviews. A changed roster
that cannot be trusted (unreadable, its signature broken, another owner) is not used: bundles are
refused with 503 (the portal's queue retries) until the file is put right.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..bundle.keys import PrivateKey
from ..bundle.roster import Roster
from ..store import Store
from .supervisor import Supervisor
from .units import MAX_BODY, Intake


def intake_routes(store: Store, credential: str, *, review_key: PrivateKey | None = None,
                  roster: Roster | None = None, roster_path: Path | None = None, max_bytes: int = MAX_BODY,
                  deep: bool = False, reviewer: str = "", rule: str = "weighted") -> list[BaseRoute]:
    """The intake and supervisor routes, for `server.create_app(site_dir, extra_routes=…)`; with
    `roster_path` (the file `roster` was read from) the roster follows the file's changes."""
    intake = Intake(store, roster=roster, roster_path=roster_path, max_bytes=max_bytes, deep=deep)
    supervisor = Supervisor(intake, credential, review_key=review_key, reviewer=reviewer, rule=rule)
    guard = supervisor.guarded

    async def to_dashboard(request: Request) -> Response:
        return RedirectResponse("/admin/", status_code=308)

    return [
        Route("/api/bundles", intake.post_bundle, methods=["POST"]),
        Route("/api/intake", intake.info, methods=["GET", "HEAD"]),
        Route("/admin", guard(to_dashboard), methods=["GET", "HEAD"]),
        Route("/admin/", guard(supervisor.dashboard), methods=["GET", "HEAD"]),
        Route("/api/admin/bundles", guard(supervisor.list_bundles), methods=["GET"]),
        Route("/api/admin/bundles/{sha256:str}", guard(supervisor.download_bundle), methods=["GET"]),
        Route("/api/admin/reviews", guard(supervisor.post_review), methods=["POST"]),
        Route("/api/admin/summary.xlsx", guard(supervisor.summary_xlsx), methods=["GET"]),
        Route("/api/admin/summary.json", guard(supervisor.summary_document), methods=["GET"]),
        Route("/admin/{rest:path}", guard(supervisor.not_found), methods=["GET", "HEAD", "POST"]),
        Route("/api/admin/{rest:path}", guard(supervisor.not_found), methods=["GET", "HEAD", "POST", "PUT", "DELETE"]),
    ]
