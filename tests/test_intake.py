"""The intake service through Starlette's TestClient: units submit, the supervisor reviews.

Every refusal has a clear status and a Chinese message, nothing refused is stored, and the
server goes on serving. Supervisor routes need the credential (401 otherwise).
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bundle_helpers import SIGNED_AT, entries, framework
from consolidate_helpers import (
    UNITS,
    earlier_rules_envelope,
    own_bundle,
    supervisor,
    tampered_bundle,
    unit_bundle,
    unit_key_for,
    unit_submission,
)
from jixiao.bundle import build_bundle
from jixiao.cli import cli
from jixiao.consolidate import read_summary
from jixiao.intake import intake_routes
from jixiao.render.summary_xlsx import SHEET
from jixiao.server import create_app
from jixiao.store import Store

TOKEN = "s3cret-supervisor-token"
ZIP = {"Content-Type": "application/zip"}
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>门户</title>", encoding="utf-8")
    (site / "404.html").write_text("<!doctype html><title>页面不存在</title>", encoding="utf-8")
    return site


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "intake.sqlite") as db:
        yield db


@pytest.fixture
def client(site: Path, store: Store) -> Iterator[TestClient]:
    routes = intake_routes(store, TOKEN, review_key=supervisor(), max_bytes=200_000)
    with TestClient(create_app(site, extra_routes=routes)) as test_client:
        yield test_client


def post(client: TestClient, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    response = client.post("/api/bundles", content=data, headers=headers or ZIP)
    return response.status_code, response.json()


def test_happy_path_and_idempotent_repost(client: TestClient, store: Store) -> None:
    _, data = own_bundle()
    status, body = post(client, data)
    assert status == 201, body
    assert body["status"] == "stored" and body["unit_code"] == "360124-KGX" and body["year"] == 2021
    assert "核验通过" in str(body["message"])
    assert body["findings"] == {"errors": 2, "warnings": 3}  # the seed's own defects, reported not refused
    status, again = post(client, data)
    assert status == 200 and again["status"] == "already_stored" and again["sha256"] == body["sha256"]
    status, bare = post(client, entries(unit_bundle(UNITS[0][0])[1])[".json"], {"Content-Type": "application/json"})
    assert status == 201, bare
    assert store.count() == 2
    row = store.get(str(body["sha256"]))
    assert row is not None and row.how == "http" and store.data(row.sha256) == data


def _zip(entries_: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries_:
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("data", "headers", "status", "words"), [
    (b"hello", {"Content-Type": "text/plain"}, 415, "application/zip"),
    (b"", ZIP, 400, "空"),
    (b"garbage bytes", {"Content-Type": "application/octet-stream"}, 400, "无法识别"),
    (b"{not json", {"Content-Type": "application/json"}, 400, "JSON"),
    (b"PK\x03\x04" + bytes(200), ZIP, 400, "损坏"),
    (_zip([("../../evil.json", b"{}")]), ZIP, 422, "../"),
    (_zip([("a.json", bytes(5 * 1024 * 1024))]), ZIP, 422, "压缩炸弹"),  # 5 MB of zeros in ~5 kB
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client: TestClient, store: Store, data: bytes,
                                                       headers: dict[str, str], status: int, words: str) -> None:
    code, body = post(client, data, headers)
    assert code == status, body
    assert body["status"] == "refused" and words in str(body["message"]), body
    assert store.count() == 0
    assert client.get("/").status_code == 200  # still serving


def test_a_tampered_bundle_is_refused_with_its_reason(client: TestClient, store: Store) -> None:
    code, body = post(client, tampered_bundle()[1])
    assert code == 422 and "签名无效" in str(body["message"])
    assert store.count() == 0


def test_oversized_bodies_are_refused_while_streaming(client: TestClient, store: Store) -> None:
    code, body = post(client, bytes(300_000))
    assert code == 413 and "文件过大" in str(body["message"])

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for _ in range(100):
            yield bytes(10_000)

    response = client.post("/api/bundles", content=chunks(), headers=ZIP)
    assert response.status_code == 413
    assert store.count() == 0
    assert post(client, own_bundle()[1])[0] == 201  # and the server still takes a good one


def test_the_default_limit_is_5_mb(site: Path, store: Store) -> None:
    with TestClient(create_app(site, extra_routes=intake_routes(store, TOKEN))) as client:
        response = client.post("/api/bundles", content=bytes(5 * 1024 * 1024 + 1), headers=ZIP)
        assert response.status_code == 413 and "上限 5 MB" in response.json()["message"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-xyz"}, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
    {"Authorization": "Basic !!!"}, {"Authorization": TOKEN},
])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/admin/"), ("GET", "/admin"), ("GET", "/api/admin/bundles"), ("POST", "/api/admin/reviews"),
    ("GET", "/api/admin/summary.xlsx"), ("GET", "/admin/anything"), ("DELETE", "/api/admin/bundles/x"),
])
def test_supervisor_routes_need_the_credential(client: TestClient, store: Store, headers: dict[str, str],
                                               method: str, path: str) -> None:
    response = client.request(method, path, headers=headers, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert store.review_rows() == []


def test_basic_auth_opens_the_dashboard(client: TestClient) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(f"主管:{TOKEN}".encode()).decode()}
    assert client.get("/admin/", headers=basic).status_code == 200
    assert client.get("/admin", headers=basic, follow_redirects=False).status_code == 308


def _submit_department(client: TestClient) -> None:
    for _, data in (own_bundle(), *(unit_bundle(code) for code, *_ in UNITS)):
        assert post(client, data)[0] == 201


def test_a_bundle_signed_under_earlier_rules_is_stored_and_its_note_shown(client: TestClient) -> None:
    """Stored and counted (its submission is signed and intact); the unit, and then the supervisor on
    the dashboard, are told that the score was recomputed under today's rules, and what differed."""
    status, body = post(client, earlier_rules_envelope("360124-KGX-03"), {"Content-Type": "application/json"})
    assert status == 201, body
    [note] = body["flags"]  # type: ignore[misc]
    assert note.startswith("签名时用的是 jixiao 0.1.0") and "汇总按本程序复算的结果" in note
    html = client.get("/admin/", headers=ADMIN).text
    cell = re.search(r'<span class="ok">通过</span>(.*?)</td>', html)
    assert cell is not None and f"需核对：{note}" in cell.group(1)


def test_dashboard_reviews_and_downloads(client: TestClient, store: Store) -> None:
    _submit_department(client)
    hostile = build_bundle(unit_submission("360124-KGX-05", "<script>alert(1)</script>单位", "10", "10", 90),
                           framework(), unit_key_for("360124-KGX-05"), SIGNED_AT)[1]
    assert post(client, hostile)[0] == 201
    page = client.get("/admin/", headers=ADMIN)
    assert page.status_code == 200
    html = page.text
    assert "进贤县科技情报研究所" in html and "360124-KGX-03" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;单位" in html
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html)  # nothing off this server
    assert "default-src 'none'" in page.headers["content-security-policy"]
    token = re.search(r'name="token" value="([0-9a-f]+)"', html)
    assert token is not None

    shown = re.search(r'value="360124-KGX-01">\s*<input type="hidden" name="year" value="2021">\s*'
                      r'<input type="hidden" name="payload_sha256" value="([0-9a-f]{64})"', html)
    assert shown is not None
    form = {"token": token.group(1), "unit_code": "360124-KGX-01", "year": "2021", "payload_sha256": shown.group(1),
            "score": "93", "note": "资料齐全"}
    same_origin = {**ADMIN, "Origin": "http://testserver"}
    response = client.post("/api/admin/reviews", data=form, headers=same_origin, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert store.review_rows("360124-KGX-01", 2021)[0].score == "93"
    forged = client.post("/api/admin/reviews", data={**form, "token": "0" * 64}, headers=same_origin)
    assert forged.status_code == 403
    cross = client.post("/api/admin/reviews", data=form, headers={**ADMIN, "Origin": "http://evil.example"})
    assert cross.status_code == 403
    too_high = client.post("/api/admin/reviews", json={"unit_code": "360124-KGX", "year": 2021, "score": "101"},
                           headers=ADMIN)
    assert too_high.status_code == 422 and "超过上限 100" in too_high.json()["message"]
    for code, score in (("360124-KGX", "96"), ("360124-KGX-02", "80"), ("360124-KGX-03", "88")):
        response = client.post("/api/admin/reviews", json={"unit_code": code, "year": 2021, "score": score},
                               headers=ADMIN)
        assert response.status_code == 201, response.text
    assert "93" in client.get("/admin/", headers=ADMIN).text

    listing = client.get("/api/admin/bundles?year=2021", headers=ADMIN).json()
    assert len(listing) == 5
    first = listing[0]["sha256"]
    assert client.get(f"/api/admin/bundles/{first}", headers=ADMIN).content == store.data(first)

    xlsx = client.get("/api/admin/summary.xlsx?year=2021&department=进贤县科技和工业信息化局", headers=ADMIN)
    assert xlsx.status_code == 200, xlsx.text
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content))[SHEET]
    assert ws["A2"].value == "2021年度部门整体支出自评情况汇总表"
    assert [ws.cell(row=r, column=7).value for r in range(5, 10)] == [96, 93, 80, 88, None]  # hostile unit unreviewed
    signed = client.get("/api/admin/summary.json?year=2021&department=进贤县科技和工业信息化局", headers=ADMIN)
    summary = read_summary(signed.content)
    assert summary.signers == (supervisor().public.fingerprint_hex,)
    assert len(summary.summary.rows) == 5


def test_units_cannot_reach_the_supervisor_routes_by_other_methods(client: TestClient) -> None:
    assert client.get("/api/bundles").status_code in (404, 405)
    assert client.put("/api/bundles", content=b"x").status_code == 405


def test_a_short_credential_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="至少 8 个字符"):
        intake_routes(store, "short")


def test_review_json_body_must_be_an_object(client: TestClient) -> None:
    _submit_department(client)
    response = client.post("/api/admin/reviews", content=json.dumps([1]), headers={**ADMIN,
                                                                                   "Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_bundle_signed_in_the_future_is_refused(client: TestClient, store: Store, tmp_path: Path) -> None:
    """`Store.latest` goes by signing time: a unit PC whose clock says 2099 would keep that bundle
    in force over every correction. Up to a day ahead passes (a clock a few hours off)."""
    code = UNITS[0][0]
    future = unit_bundle(code, "2099-01-01T08:00:00+08:00")[1]
    status, body = post(client, future)
    assert status == 422 and body["status"] == "refused", body
    assert "日期和时间改正确" in str(body["message"]) and "2099-01-01 08:00" in str(body["message"])
    assert store.count() == 0
    soon = (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert post(client, unit_bundle(code, soon)[1])[0] == 201
    # `jixiao store add` writes the same store: refused there too.
    path = tmp_path / "future.zip"
    path.write_bytes(future)
    result = CliRunner().invoke(cli, ["store", "add", str(store.path), str(path)])
    assert result.exit_code == 1 and "日期和时间改正确" in result.output, result.output
    assert store.count() == 1


def test_a_non_ascii_credential_works_as_bearer_and_basic(site: Path, store: Store) -> None:
    credential = "主管部门口令2021"
    with TestClient(create_app(site, extra_routes=intake_routes(store, credential))) as client:
        bearer = client.get("/api/admin/bundles", headers={"Authorization": b"Bearer " + credential.encode()})
        assert bearer.status_code == 200, bearer.text
        basic = base64.b64encode(f"主管:{credential}".encode()).decode()
        assert client.get("/api/admin/bundles", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        wrong = client.get("/api/admin/bundles", headers={"Authorization": b"Bearer " + "主管部门口令2020".encode()})
        assert wrong.status_code == 401


def test_a_json_upload_with_a_huge_integer_is_refused_in_chinese(client: TestClient, store: Store) -> None:
    code, body = post(client, b'{"payloadType": ' + b"9" * 5000 + b"}", {"Content-Type": "application/json"})
    assert code == 400 and body["status"] == "refused"
    assert str(body["message"]) == "未接收：签名文件不是有效的 JSON（其中有超过 4300 位的整数）"
    code, body = post(client, b'{"payloadType": "x",\n "payload": }', {"Content-Type": "application/json"})
    assert code == 400 and "第 2 行第 13 列" in str(body["message"]), body
    assert store.count() == 0


def test_a_store_held_by_another_program_answers_503_and_the_retry_is_stored(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database tool holding the store's lock gave a 500; the portal's queue retries a 503
    after Retry-After, and nothing was stored meanwhile."""
    import sqlite3

    import jixiao.store as store_module

    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    _, data = own_bundle()
    with Store(tmp_path / "busy.sqlite") as db:
        routes = intake_routes(db, TOKEN, review_key=supervisor(), max_bytes=200_000)
        with TestClient(create_app(site, extra_routes=routes)) as test_client:
            holder = sqlite3.connect(tmp_path / "busy.sqlite", isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                response = test_client.post("/api/bundles", content=data, headers=ZIP)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "30"
                body = response.json()
                # The unit is told to try again, not the server's file path or what to close on it.
                assert body["status"] == "busy" and "尚未收到" in body["message"], body
                assert "busy.sqlite" not in body["message"] and "占用" not in body["message"]
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert db.count() == 0
            status, body = post(test_client, data)
            assert status == 201, body


def test_a_department_name_with_hidden_characters_is_not_in_the_download_name(client: TestClient) -> None:
    """The department is typed by the units: a right-to-left override in it made the supervisor's
    downloaded 附件4 name read backwards past its real ending."""
    from urllib.parse import unquote

    from consolidate_helpers import unit_key_for, unit_submission

    department = "示例局\u202excod.exe"
    sub = unit_submission("360124-RTL", "某单位", "100", "90", 95, department=department)
    _, data = build_bundle(sub, framework(), unit_key_for("360124-RTL"), SIGNED_AT)
    status, body = post(client, data)
    assert status == 201, body
    for route in ("summary.xlsx", "summary.json"):
        response = client.get(f"/api/admin/{route}", params={"year": "2021", "department": department}, headers=ADMIN)
        assert response.status_code == 200, response.text
        name = unquote(response.headers["content-disposition"].split("UTF-8''", 1)[1])
        assert "\u202e" not in name and name.startswith("2021-示例局xcod.exe-附件4"), ascii(name)


def test_a_unit_name_with_hidden_characters_is_not_in_the_bundle_download_name(client: TestClient) -> None:
    """The supervisor's 下载材料 named the file from the unit's typed name as it was."""
    from urllib.parse import unquote

    from consolidate_helpers import unit_key_for, unit_submission

    sub = unit_submission("360124-RTL", "某单位\u202egpj.exe", "100", "90", 95)
    _, data = build_bundle(sub, framework(), unit_key_for("360124-RTL"), SIGNED_AT)
    status, body = post(client, data)
    assert status == 201, body
    response = client.get(f"/api/admin/bundles/{body['sha256']}", headers=ADMIN)
    assert response.status_code == 200, response.text
    name = unquote(response.headers["content-disposition"].split("UTF-8''", 1)[1])
    assert name == "2021-360124-RTL-某单位gpj.exe.zip", ascii(name)


def roster_by_cli(tmp_path: Path, owner_file_text: str) -> tuple[Path, Callable[..., None]]:
    """A roster made as a supervisor makes it, with `jixiao roster … --key`; returns its path and
    `jixiao(*args)`, which runs one roster command on it (and asserts it succeeded)."""
    owner_file = tmp_path / "主管部门密钥.json"
    owner_file.write_text(owner_file_text, encoding="utf-8")
    roster = tmp_path / "名册.json"
    runner = CliRunner()

    def jixiao(*args: str) -> None:
        result = runner.invoke(cli, [*args, str(roster), "--key", str(owner_file)])
        assert result.exit_code == 0, result.output

    jixiao("roster", "init", "--name", "进贤县科技和工业信息化局")
    return roster, jixiao


def test_the_roster_file_is_read_again_when_jixiao_roster_changes_it(site: Path, store: Store,
                                                                      tmp_path: Path) -> None:
    """`serve --roster`: the supervisor enrols a unit's key (or retires or revokes one) with `jixiao roster`
    while the server runs, as keys.md describes. The server had read the roster once at start: the unit just
    enrolled was refused ("名册中没有该单位", and told to correct and re-export) until a restart, and a key
    revoked went on being accepted. A roster changed into one that cannot be trusted stops the intake (503,
    the portal retries) rather than falling back to the old one."""
    from jixiao.bundle.keys import key_file_json
    from jixiao.bundle.roster import load_roster

    roster, jixiao = roster_by_cli(tmp_path, key_file_json(supervisor(), None, unit_code="360124-KGX",
                                                           unit_name="主管部门", created_at="2022-01-01T00:00:00Z"))
    code = UNITS[0][0]
    routes = intake_routes(store, TOKEN, review_key=supervisor(), roster=load_roster(roster.read_bytes()),
                           roster_path=roster)
    with TestClient(create_app(site, extra_routes=routes)) as client:
        _, first = unit_bundle(code)
        status, body = post(client, first)
        assert status == 422 and "名册中没有该单位" in str(body["message"]), body

        key = unit_key_for(code)
        jixiao("roster", "add", "--unit-code", code, "--unit-name", UNITS[0][1], "--public-key", key.public.text(),
               "--valid-from", "2021-01-01")
        status, body = post(client, first)
        assert status == 201 and body["unit_code"] == code, body
        assert [r.unit_code for r in store.latest(2021)] == [code]

        jixiao("roster", "revoke", "--unit-code", code, "--fingerprint", key.public.fingerprint_hex)
        _, later = unit_bundle(code, signed_at="2022-03-02T10:00:00+08:00")
        status, body = post(client, later)
        assert status == 422 and "注销" in str(body["message"]), body
        # The dashboard's 附件4 judges by the same roster: the revoked key's bundle is not summarised.
        response = client.get("/api/admin/summary.json?year=2021", headers=ADMIN)
        assert response.status_code == 400 and "没有" in response.json()["message"], response.text

        # A roster edited by hand to take the revocation back (its signature no longer holds): nothing is
        # accepted until the file is put right.
        good = roster.read_bytes()
        forged = json.loads(good)
        forged["payload"] = base64.b64encode(base64.b64decode(forged["payload"]).replace(
            b'"revoked"', b'"active"', 1)).decode()
        roster.write_text(json.dumps(forged), encoding="utf-8")
        _, other = unit_bundle(UNITS[1][0])
        status, body = post(client, other)
        assert status == 503 and body["status"] == "busy" and "名册" in str(body["message"]), body
        assert store.count() == 1
        # The dashboard still opens, and says its verdicts are those on arrival, and why.
        page = client.get("/admin/", headers=ADMIN)
        assert page.status_code == 200 and "已更改，但" in page.text and "收到时的结果" in page.text, page.text
        roster.write_bytes(good)
        status, body = post(client, other)
        assert status == 422 and "名册中没有该单位" in str(body["message"]), body


def test_the_dashboard_says_how_each_bundle_came_in_chinese(client: TestClient, store: Store, tmp_path: Path) -> None:
    """最近收到的材料's 方式 column showed the store's own words: http, cli, folder."""
    assert post(client, own_bundle()[1])[0] == 201
    folder = tmp_path / "U盘"
    folder.mkdir()
    name, data = unit_bundle(UNITS[0][0])
    (folder / name).write_bytes(data)
    result = CliRunner().invoke(cli, ["store", "add", str(store.path), str(folder)])
    assert result.exit_code == 0, result.output
    recent = client.get("/admin/", headers=ADMIN).text.split("最近收到的材料")[1]
    cells = re.findall(r'<td class="c">([^<]*)</td>', recent)
    assert "在线提交" in cells and "命令行收存（文件夹）" in cells, cells
    assert not {"http", "cli", "folder"} & set(cells), cells


def dashboard_rows(page: str) -> dict[str, str]:
    """The dashboard's unit rows by unit code (each row's HTML)."""
    return dict(re.findall(r'<tr id="u-([^"]+)">(.*?)</tr>', page, flags=re.S))


def test_a_bundle_whose_key_was_retired_since_it_arrived_is_listed_not_dropped(site: Path, store: Store,
                                                                               tmp_path: Path) -> None:
    """The 本级 lost its key and the supervisor retired it from the day it was lost, a day before the
    bundle it had submitted. The dashboard's 附件4 then dropped the unit without a word (its note even said
    no 本级 had submitted), where `jixiao consolidate` on the same store lists the bundle and why; and a unit
    with an older bundle still valid lost its row, where consolidate takes that older one."""
    from bundle_helpers import unit_key
    from jixiao.bundle.keys import key_file_json
    from jixiao.bundle.roster import load_roster

    roster, jixiao = roster_by_cli(tmp_path, key_file_json(supervisor(), None))
    keys = {"360124-KGX": unit_key(), UNITS[0][0]: unit_key_for(UNITS[0][0])}
    for code, key in keys.items():
        jixiao("roster", "add", "--unit-code", code, "--unit-name", code, "--public-key", key.public.text(),
               "--valid-from", "2021-01-01")
    routes = intake_routes(store, TOKEN, review_key=supervisor(), roster=load_roster(roster.read_bytes()),
                           roster_path=roster)
    with TestClient(create_app(site, extra_routes=routes)) as client:
        older = unit_bundle(UNITS[0][0], signed_at="2022-02-20T10:00:00+08:00")[1]
        newer = unit_bundle(UNITS[0][0])[1]  # 2022-03-01
        for data in (own_bundle()[1], older, newer):  # own_bundle: 2022-03-01 too
            assert post(client, data)[0] == 201
        seen = re.search(r'name="payload_sha256" value="([0-9a-f]+)"',
                         dashboard_rows(client.get("/admin/", headers=ADMIN).text)[UNITS[0][0]])
        assert seen is not None
        for code, key in keys.items():
            jixiao("roster", "retire", "--unit-code", code, "--fingerprint", key.public.fingerprint_hex,
                   "--date", "2022-02-28")
        # A review typed on the page from before: refused, and told why (not "a new bundle arrived").
        late = client.post("/api/admin/reviews", headers=ADMIN, json={
            "unit_code": UNITS[0][0], "year": 2021, "score": "90", "payload_sha256": seen.group(1)})
        assert late.status_code == 409, late.text
        assert "现在核验不通过，计入的是签名时间 2022-02-20 10:00:00 的材料" in late.json()["message"], late.text
        signed = client.get("/api/admin/summary.json?year=2021", headers=ADMIN)
        assert signed.status_code == 200, signed.text
        summary = read_summary(signed.content).summary
        # The dashboard says the same: its 核验 column had kept each verdict from the day it arrived.
        page = client.get("/admin/", headers=ADMIN).text
    rows = dashboard_rows(page)
    own, unit = rows["360124-KGX"], rows[UNITS[0][0]]
    assert "未通过" in own and "已停用" in own and "不计入附件4" in own and "签署复核" not in own, own
    assert "2022-02-20 10:00:00" in unit and ">通过<" in unit and "签署复核" in unit, unit
    assert "签名时间 2022-03-01 10:00:00 的较新材料现在核验不通过" in unit and "已停用" in unit, unit
    assert [(r.unit_code, r.signed_at[:10]) for r in summary.rows] == [(UNITS[0][0], "2022-02-20")]
    listed = {r.name: r.reasons for r in summary.rejected}
    assert len(listed) == 2, listed
    assert all("已停用" in reasons[0] for reasons in listed.values()), listed
    assert any("进贤县科技和工业信息化局（360124-KGX）" in name for name in listed), listed
