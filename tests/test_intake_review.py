"""The supervisor's reviews on `jixiao serve --store`, through Starlette's TestClient.

What an audit of the running server found, each as the supervisor meets it: a page on another
site made the browser sign a review with its cached credential; a 29-digit score was an
internal error and "-0" a score; a unit whose code ends in a space could not be reviewed; the
附件4 links of the units that named no department gave another department's table or a CLI
hint; a review typed on an old page was signed against a newer bundle; two reviews at once
forked the chain of reviews.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from starlette.testclient import TestClient

from bundle_helpers import SIGNED_AT, framework
from consolidate_helpers import DEPARTMENT, own_bundle, supervisor, unit_key_for, unit_submission
from jixiao.bundle import build_bundle
from jixiao.consolidate.review import read_review
from jixiao.intake import intake_routes
from jixiao.intake import supervisor as supervisor_door
from jixiao.render.summary_xlsx import SHEET
from jixiao.server import create_app
from jixiao.store import Store
from jixiao_process import stand_in_site

TOKEN = "review-test-token-0123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"主管:{TOKEN}".encode()).decode()}
ZIP = {"Content-Type": "application/zip"}
OWN = "360124-KGX"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "intake.sqlite") as db:
        yield db


@pytest.fixture
def client(tmp_path: Path, store: Store) -> Iterator[TestClient]:
    routes = intake_routes(store, TOKEN, review_key=supervisor())
    with TestClient(create_app(stand_in_site(tmp_path / "site"), extra_routes=routes)) as test_client:
        yield test_client


def submit(client: TestClient, data: bytes) -> None:
    response = client.post("/api/bundles", content=data, headers=ZIP)
    assert response.status_code == 201, response.text


def bundle(code: str, *, signed_at: str = SIGNED_AT, department: str = DEPARTMENT, executed: str = "10") -> bytes:
    submission = unit_submission(code, f"单位{code.strip()}", "10", executed, 90, department=department)
    return build_bundle(submission, framework(), unit_key_for(code), signed_at)[1]


def review_form(page: str, code: str) -> dict[str, str]:
    """The hidden fields of a unit's review form on the dashboard, as the browser would send them."""
    row = re.search(rf'<tr id="u-{re.escape(html.escape(code))}">(.*?)</tr>', page, re.S)
    assert row is not None, f"no row for {code!r}"
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', row.group(1))}


def post_form(client: TestClient, fields: dict[str, str], **headers: str) -> Any:
    return client.post("/api/admin/reviews", data=fields, follow_redirects=False,
                       headers={**BASIC, "Origin": "http://testserver", **headers})


def scores(store: Store, code: str = OWN) -> list[str]:
    return [row.score for row in store.review_rows(code, 2021)]


# --- 1. requests another site makes the browser send ---------------------------------------------

FORGED = '{"unit_code":"360124-KGX","year":2021,"score":"12","note":"x","pad":"="}'  # a text/plain form's body


@pytest.mark.parametrize(("headers", "status"), [
    # A cross-site <form enctype="text/plain">, as Chromium sends it with the cached credential.
    ({**BASIC, "Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403),
    ({**BASIC, "Content-Type": "text/plain"}, 415),  # a browser that says nothing of where it comes from
    ({**BASIC, "Content-Type": "multipart/form-data; boundary=x"}, 415),
    ({**BASIC, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
    ({**BASIC, "Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403),  # a sibling host
    ({**BASIC, "Content-Type": "application/json", "Origin": "null"}, 403),  # a sandboxed frame
    ({**BASIC, "Content-Type": "application/json", "Origin": "http://testserver.evil.example"}, 403),
])
def test_a_review_another_site_sends_is_refused(client: TestClient, store: Store, headers: dict[str, str],
                                                status: int) -> None:
    submit(client, own_bundle()[1])
    response = client.post("/api/admin/reviews", content=FORGED.encode(), headers=headers)
    assert response.status_code == status, response.text
    assert re.search(r"[\u4e00-\u9fff]", response.json()["message"])
    assert scores(store) == []


def test_every_supervisor_post_checks_where_it_comes_from(client: TestClient) -> None:
    cross = {**ADMIN, "Origin": "http://evil.example", "Content-Type": "application/json"}
    for path in ("/api/admin/anything", "/admin/anything", "/api/admin/summary.xlsx"):
        response = client.post(path, content=b"{}", headers=cross)
        assert response.status_code == 403, (path, response.status_code)
        assert "其他网站" in response.text
    form = client.post("/api/admin/reviews", data={"unit_code": OWN}, headers={**BASIC, "Origin": "http://evil.example"})
    assert form.status_code == 403 and "复核未记录" in form.text  # a form gets a page, not raw JSON
    assert client.get("/api/admin/bundles", headers={**ADMIN, "Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_the_cli_and_the_page_itself_still_review(client: TestClient, store: Store) -> None:
    submit(client, own_bundle()[1])
    curl = client.post("/api/admin/reviews", json={"unit_code": OWN, "year": 2021, "score": "90"}, headers=ADMIN)
    assert curl.status_code == 201, curl.text
    own_page = {**BASIC, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    script = client.post("/api/admin/reviews", json={"unit_code": OWN, "year": 2021, "score": "91"}, headers=own_page)
    assert script.status_code == 201, script.text
    page = client.get("/admin/", headers=BASIC).text
    form = post_form(client, {**review_form(page, OWN), "score": "92"}, **{"Sec-Fetch-Site": "same-origin"})
    assert form.status_code == 303, form.text
    assert scores(store) == ["92", "91", "90"]


# --- 2. scores the checks could not format, and -0 ---------------------------------------------

@pytest.mark.parametrize("score", ["9" * 29, 10**30, "1" + "0" * 40])
def test_a_score_of_too_many_digits_is_refused_in_chinese(client: TestClient, store: Store, score: object) -> None:
    submit(client, own_bundle()[1])
    response = client.post("/api/admin/reviews", json={"unit_code": OWN, "year": 2021, "score": score}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("复核分数：")
    page = client.get("/admin/", headers=BASIC).text
    form = post_form(client, {**review_form(page, OWN), "score": str(score)})
    assert form.status_code == 422 and "复核分数" in form.text
    assert scores(store) == []


@pytest.mark.parametrize("score", ["-0", "-0.00", "－0"])
def test_a_score_of_minus_zero_is_zero(client: TestClient, store: Store, score: str) -> None:
    submit(client, own_bundle()[1])
    response = client.post("/api/admin/reviews", json={"unit_code": OWN, "year": 2021, "score": score}, headers=ADMIN)
    assert response.status_code == 201, response.text
    assert response.json()["score"] == "0"
    assert scores(store) == ["0"]
    assert read_review(store.reviews(2021)[0].envelope).doc.model_dump(mode="json")["score"] == "0"
    page = client.get("/admin/", headers=BASIC).text
    assert '<td class="c">0<br>' in page and '<td class="c">-0' not in page  # the review score cell


# --- 3. a unit code with a space around it -----------------------------------------------------

def test_a_unit_whose_code_has_spaces_is_reviewed_as_consolidation_names_it(client: TestClient, store: Store) -> None:
    first = bundle("360124-TS ")
    submit(client, first)
    page = client.get("/admin/", headers=BASIC).text
    form = review_form(page, "360124-TS")
    assert form["unit_code"] == "360124-TS"
    response = post_form(client, {**form, "score": "88"})
    assert response.status_code == 303, response.text
    assert scores(store, "360124-TS") == ["88"]
    assert review_form(client.get("/admin/", headers=BASIC).text, "360124-TS")
    assert store.data(store.latest(2021)[0].sha256) == first  # the bundle itself is kept as signed
    # The portal fixed: the same unit without the space, signed later, is the same unit.
    submit(client, bundle("360124-TS", signed_at="2022-03-02T10:00:00+08:00", executed="9"))
    assert [(r.unit_code, r.executed) for r in store.latest(2021)] == [("360124-TS", "9.00")]
    assert store.versions("360124-TS", 2021) == 2


def test_rows_stored_with_the_code_as_signed_count_as_one_unit(client: TestClient, store: Store) -> None:
    """A store written before codes were stored stripped holds "360124-TS " in the column."""
    submit(client, bundle("360124-TS", executed="9"))
    columns = [r[1] for r in store._db.execute("PRAGMA table_info(bundles)")]
    copied = ", ".join({"sha256": "'0' || substr(sha256, 2)", "unit_code": "unit_code || ' '",
                        "payload_sha256": "'0' || substr(payload_sha256, 2)",  # another signed content
                        "signed_at": "'2022-03-05T00:00:00Z'"}.get(c, c) for c in columns)
    store._db.execute(f"INSERT INTO bundles ({', '.join(columns)}) SELECT {copied} FROM bundles")
    (latest,) = store.latest(2021)
    assert latest.unit_code == "360124-TS" and latest.signed_at == "2022-03-05T00:00:00Z"
    assert store.versions("360124-TS", 2021) == 2


# --- 4. the 附件4 links of the units that named no department ------------------------------------

def summary_links(page: str, group: str) -> list[str]:
    start = page.index(f"<h2><bdi>{group}")
    end = page.find("<h2>", start + 1)
    return [html.unescape(link) for link in re.findall(r'href="(/api/admin/summary[^"]*)"', page[start:end])]


def names_in(xlsx: bytes) -> list[str]:
    """The unit names of an 附件4 workbook's numbered rows."""
    rows = openpyxl.load_workbook(io.BytesIO(xlsx))[SHEET].iter_rows(min_row=5, values_only=True)
    return [str(r[1]) for r in rows if isinstance(r[0], int)]


def test_each_department_group_downloads_its_own_units(client: TestClient) -> None:
    submit(client, own_bundle()[1])
    submit(client, bundle("360124-ND", department=""))
    page = client.get("/admin/", headers=BASIC).text
    links = summary_links(page, "（未填主管部门）")
    assert links and all("department=&" in link for link in links)
    for link in links:
        response = client.get(link, headers=BASIC)
        assert response.status_code == 200, (link, response.text)
        if ".xlsx" in link:
            assert names_in(response.content) == ["单位360124-ND"]
            assert "%EF%BC%88%E6%9C%AA%E5%A1%AB" in response.headers["content-disposition"]  # "（未填…" in the name
    named = client.get(summary_links(page, DEPARTMENT)[0], headers=BASIC)
    assert named.status_code == 200 and "单位360124-ND" not in names_in(named.content)

    submit(client, bundle("360124-OT", department="进贤县另一个局"))
    for link in summary_links(client.get("/admin/", headers=BASIC).text, "（未填主管部门）"):
        assert client.get(link, headers=BASIC).status_code == 200, link
    mixed = client.get("/api/admin/summary.xlsx?year=2021", headers=BASIC)
    assert mixed.status_code == 400 and "--" not in mixed.json()["message"]
    assert "多个主管部门" in mixed.json()["message"]
    none = client.get("/api/admin/summary.xlsx?year=2021&department=没有这个局", headers=BASIC)
    assert none.status_code == 400 and "没有这个局" in none.json()["message"]


# --- 5. a review typed on a page that no longer shows the bundle in force -----------------------

def test_a_review_of_a_bundle_since_replaced_is_refused(client: TestClient, store: Store) -> None:
    code = "360124-RACE"
    submit(client, bundle(code, executed="10"))
    form = review_form(client.get("/admin/", headers=BASIC).text, code)
    seen = form["payload_sha256"]
    submit(client, bundle(code, executed="3", signed_at="2022-03-02T10:00:00+08:00"))  # meanwhile, a resubmission

    response = post_form(client, {**form, "score": "95"})
    assert response.status_code == 409, response.text
    assert "刷新" in response.text and "复核未记录" in response.text
    stale_json = client.post("/api/admin/reviews", headers=ADMIN,
                             json={"unit_code": code, "year": 2021, "score": "95", "payload_sha256": seen})
    assert stale_json.status_code == 409 and "刷新" in stale_json.json()["message"]
    assert scores(store, code) == []

    old_page = {k: v for k, v in form.items() if k != "payload_sha256"}  # a page from before the field
    assert post_form(client, {**old_page, "score": "95"}).status_code == 409
    malformed = client.post("/api/admin/reviews", headers=ADMIN,
                            json={"unit_code": code, "year": 2021, "score": "95", "payload_sha256": "abc"})
    assert malformed.status_code == 422

    fresh = review_form(client.get("/admin/", headers=BASIC).text, code)
    assert post_form(client, {**fresh, "score": "60"}).status_code == 303
    (review,) = store.review_rows(code, 2021)
    assert review.score == "60" and review.payload_sha256 == fresh["payload_sha256"] != seen


# --- 7. reviews at the same moment ---------------------------------------------------------------

def test_reviews_made_at_once_supersede_one_another_in_turn(client: TestClient, store: Store,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    submit(client, own_bundle()[1])
    signing = supervisor_door.sign_review
    overlap = threading.Barrier(2, timeout=0.5)

    def slow_sign(doc: Any, key: Any) -> Any:  # signing takes a while: the moment two requests overlap
        with contextlib.suppress(threading.BrokenBarrierError):  # serialised: no other request is signing
            overlap.wait()
        time.sleep(0.02)
        return signing(doc, key)

    monkeypatch.setattr(supervisor_door, "sign_review", slow_sign)

    def one(score: int) -> int:
        body = {"unit_code": OWN, "year": 2021, "score": str(score)}
        return client.post("/api/admin/reviews", json=body, headers=ADMIN).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(60, 76))) == {201}
    newest_first = store.review_rows(OWN, 2021)
    supersedes = {r.sha256: r.doc.supersedes for r in store.reviews(2021)}
    assert len(newest_first) == 16
    assert [supersedes[r.sha256] for r in newest_first] == [r.sha256 for r in newest_first[1:]] + [None], \
        "the reviews do not form one chain: two superseded the same one"


def test_the_chain_holds_across_connections(tmp_path: Path) -> None:
    """`jixiao review` beside the server: two connections to one store, each its own lock."""
    from jixiao.consolidate.check import check_bundle
    from jixiao.consolidate.review import make_review, sign_review

    path = tmp_path / "shared.sqlite"
    data = own_bundle()[1]
    unit = check_bundle("own", data).unit
    assert unit is not None
    with Store(path) as server, Store(path) as cli:
        server.add_bundle(data, check_bundle("own", data), how="http")

        def review(db: Store, score: str) -> None:
            def sign(previous: Any) -> Any:
                time.sleep(0.05)  # both have read the review in force, were they not serialised
                return sign_review(make_review(unit, score, reviewed_at="2022-04-01T00:00:00Z",
                                               supersedes=previous.sha256 if previous else None), supervisor())
            db.add_review_chained(OWN, 2021, sign)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(review, (server, cli, server, cli), ("1", "2", "3", "4")))
        newest_first = server.review_rows(OWN, 2021)
        supersedes = {r.sha256: r.doc.supersedes for r in server.reviews(2021)}
        assert [supersedes[r.sha256] for r in newest_first] == [r.sha256 for r in newest_first[1:]] + [None]


# --- 8. refusals in English ----------------------------------------------------------------------

def test_review_fields_too_long_are_refused_in_chinese(client: TestClient, store: Store) -> None:
    submit(client, own_bundle()[1])
    for field, limit, title in (("note", 2000, "复核意见"), ("reviewer", 100, "复核人")):
        body = {"unit_code": OWN, "year": 2021, "score": "90", field: "长" * (limit + 1)}
        response = client.post("/api/admin/reviews", json=body, headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["message"] == f"{title}：文字过长（上限 {limit} 字）"
    assert scores(store) == []
