"""Whom the intake and the supervisor's dashboard trust, found by an exploratory pass (QA) as a
supervisor and a hostile client would use `jixiao serve --store`: reviews signed by a key other
than the roster owner's, a bundle sent again after its key was revoked, a server run without a
roster, a token file from Notepad, unit text that reorders the page, and the unit's own errors."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bundle_helpers import SIGNED_AT, framework
from consolidate_helpers import UNITS, own_bundle, supervisor, unit_bundle, unit_key_for, unit_submission
from jixiao.bundle import build_bundle
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.roster import load_roster
from jixiao.cli import cli
from jixiao.intake import intake_routes
from jixiao.render.summary_xlsx import SHEET
from jixiao.server import create_app
from jixiao.store import Store
from jixiao_process import stand_in_site
from test_intake import ADMIN, TOKEN, ZIP, dashboard_rows, roster_by_cli

CODE, NAME = UNITS[0][0], UNITS[0][1]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return stand_in_site(tmp_path / "site")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "intake.sqlite") as db:
        yield db


def enrolled_roster(tmp_path: Path) -> tuple[Path, object]:
    """A roster owned by the supervisor's key, the 本级 and one unit enrolled; returns it and its `jixiao`."""
    roster, jixiao = roster_by_cli(tmp_path, key_file_json(supervisor(), None))
    from bundle_helpers import unit_key

    for code, key in (("360124-KGX", unit_key()), (CODE, unit_key_for(CODE))):
        jixiao("roster", "add", "--unit-code", code, "--unit-name", code, "--public-key", key.public.text(),
               "--valid-from", "2021-01-01")
    return roster, jixiao


def review_by_cli(store: Store, tmp_path: Path, key_text: str, score: str) -> None:
    key_file = tmp_path / f"review-{score}.key"
    key_file.write_text(key_text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["review", str(store.path), "--unit", CODE, "--year", "2021", "--score", score,
                                      "--key", str(key_file)])
    assert result.exit_code == 0, result.output


def summary_scores(client: TestClient) -> dict[str, object]:
    response = client.get("/api/admin/summary.xlsx?year=2021", headers=ADMIN)
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))[SHEET]
    return {str(row[1]): row[6] for row in sheet.iter_rows(values_only=True) if row[1] in (NAME,)}


def test_with_a_roster_only_the_owners_reviews_count_on_the_dashboard_and_its_summary(
        site: Path, store: Store, tmp_path: Path) -> None:
    """A review signed with a unit's key (`jixiao review` without --roster takes it) showed as the 复核
    score on the dashboard and in its 附件4, while `jixiao consolidate --roster` on the same store
    refused it: two 附件4 of one store disagreed, without a word."""
    roster, _ = enrolled_roster(tmp_path)
    routes = intake_routes(store, TOKEN, roster=load_roster(roster.read_bytes()), roster_path=roster)  # view only
    with TestClient(create_app(site, extra_routes=routes)) as client:
        for data in (own_bundle()[1], unit_bundle(CODE)[1]):
            assert client.post("/api/bundles", content=data, headers=ZIP).status_code == 201
        review_by_cli(store, tmp_path, key_file_json(unit_key_for(CODE), None), "12")
        assert summary_scores(client) == {NAME: None}
        assert ">12<" not in dashboard_rows(client.get("/admin/", headers=ADMIN).text)[CODE]
        review_by_cli(store, tmp_path, key_file_json(supervisor(), None), "88")
        assert summary_scores(client) == {NAME: 88}
        assert "88" in dashboard_rows(client.get("/admin/", headers=ADMIN).text)[CODE]
    result = CliRunner().invoke(cli, ["consolidate", str(store.path), "--roster", str(roster), "-o",
                                      str(tmp_path / "附件4.xlsx"), "--json", "-j", "1"])
    rows = {r["unit_code"]: r["review_score"] for r in json.loads(result.output)["summary"]["rows"]}
    assert rows[CODE] == "88", result.output  # the command and the dashboard agree


def test_serve_refuses_a_review_key_that_is_not_the_roster_owners(store: Store, tmp_path: Path) -> None:
    """It only warned at start, and its reviews were then refused by every 附件4 made against the roster."""
    roster, _ = enrolled_roster(tmp_path)
    other = tmp_path / "其他.key"
    other.write_text(key_file_json(unit_key_for(CODE), None), encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", "--store", str(store.path), "--roster", str(roster),
                                      "--review-key", str(other), "--port", "8999",
                                      "--site", str(tmp_path / "无站点")])  # were it let through: no build, no server
    assert result.exit_code == 2, result.output
    assert "--review-key 不是公钥名册所有者" in result.output and "建立名册时用的主管部门密钥" in result.output


def test_a_bundle_sent_again_after_its_key_was_revoked_is_not_answered_received(
        site: Path, store: Store, tmp_path: Path) -> None:
    """"这份材料此前已收到" (200, and the portal's 已提交) while the dashboard no longer counted it."""
    roster, jixiao = enrolled_roster(tmp_path)
    routes = intake_routes(store, TOKEN, review_key=supervisor(), roster=load_roster(roster.read_bytes()),
                           roster_path=roster)
    with TestClient(create_app(site, extra_routes=routes)) as client:
        data = unit_bundle(CODE)[1]
        first = client.post("/api/bundles", content=data, headers=ZIP)
        assert first.status_code == 201, first.text
        again = client.post("/api/bundles", content=data, headers=ZIP)
        assert again.status_code == 200 and again.json()["status"] == "already_stored", again.text
        jixiao("roster", "revoke", "--unit-code", CODE, "--fingerprint", unit_key_for(CODE).public.fingerprint_hex)
        after = client.post("/api/bundles", content=data, headers=ZIP)
        body = after.json()
        assert after.status_code == 422 and body["status"] == "refused", after.text
        assert body["message"].startswith("这份材料此前已收到，但现在核验不通过：公钥未通过名册核对"), body
        assert "生成新的签名密钥" in body["advice"], body
    assert store.count() == 1  # nothing stored twice, nothing removed


def test_without_a_roster_the_dashboard_says_so_names_each_key_and_a_changed_one(site: Path, store: Store) -> None:
    """An impostor's bundle (the same form, signed by another key) replaced a unit's with a green 通过,
    no fingerprint anywhere, and no word that no roster was in use."""
    routes = intake_routes(store, TOKEN, review_key=supervisor())
    impostor_key = unit_key_for("someone-else")
    later = "2022-03-02T10:00:00+08:00"
    _, impostor = build_bundle(unit_submission(*UNITS[0]), framework(), impostor_key, later)
    with TestClient(create_app(site, extra_routes=routes)) as client:
        assert client.post("/api/bundles", content=unit_bundle(CODE)[1], headers=ZIP).status_code == 201
        page = client.get("/admin/", headers=ADMIN).text
        assert "未提供公钥名册（--roster）" in page, page
        row = dashboard_rows(page)[CODE]
        fingerprint = unit_key_for(CODE).public.fingerprint_hex
        assert f"签名公钥指纹 {fingerprint[:4]} {fingerprint[4:8]}" in row, row
        assert "签名密钥与该单位此前提交的材料不同" not in row
        assert client.post("/api/bundles", content=impostor, headers=ZIP).status_code == 201
        row = dashboard_rows(client.get("/admin/", headers=ADMIN).text)[CODE]
        assert "签名密钥与该单位此前提交的材料不同：请向单位核实" in row, row
        assert impostor_key.public.fingerprint_hex[:4] in row, row
    from jixiao.cli.sites import _intake

    _, lines = _intake(str(store.path), None, None, None, None)  # what `serve --store` prints once started
    assert any("未给出 --roster" in line and "任何人都能以某单位的名义提交" in line for line in lines), lines


def test_the_dashboard_shows_each_units_own_errors_and_counts_one_content_once(site: Path, store: Store) -> None:
    """The seed carries two 错误 (deviations without a reason): the dashboard said 通过 and nothing else.
    And the same signed content sent as .zip and as its .json counted as two submissions."""
    import zipfile

    routes = intake_routes(store, TOKEN, review_key=supervisor())
    data = own_bundle()[1]
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        envelope = next(bundle.read(n) for n in bundle.namelist() if n.endswith(".json"))
    with TestClient(create_app(site, extra_routes=routes)) as client:
        assert client.post("/api/bundles", content=data, headers=ZIP).status_code == 201
        assert client.post("/api/bundles", content=envelope,
                           headers={"Content-Type": "application/json"}).status_code == 201
        row = dashboard_rows(client.get("/admin/", headers=ADMIN).text)["360124-KGX"]
    assert "自评表自查：2 个错误、" in row, row
    assert '<td class="n">100.00%</td>' in row, row  # 执行率, as 附件4 prints it (QA: the column was missing)
    versions = re.findall(r'<td class="c">(\d+)</td>', row)
    assert versions[:1] == ["1"], row
    assert store.count() == 2


def test_a_token_file_saved_by_notepad_logs_in_with_the_token_typed(site: Path, store: Store, tmp_path: Path) -> None:
    """A UTF-8 byte-order mark became part of the credential, which nobody could then type."""
    from jixiao.intake.files import read_token_file

    token_file = tmp_path / "口令.txt"
    token_file.write_bytes("\ufeffbomtoken-12345\r\n".encode())
    token = read_token_file(token_file)
    assert token == "bomtoken-12345"
    with TestClient(create_app(site, extra_routes=intake_routes(store, token))) as client:
        assert client.get("/admin/", auth=("x", "bomtoken-12345")).status_code == 200


def test_unit_text_cannot_reorder_the_dashboard(site: Path, store: Store) -> None:
    """A unit name holding U+202E (right-to-left override) drew the unit code after it backwards, so a
    row could pass for another unit's. Each piece of unit text is isolated in <bdi>."""
    code = "360124-ESC"
    sub = unit_submission(code, "转义\u202e单位", "10", "10", 90)
    _, data = build_bundle(sub, framework(), unit_key_for(code), SIGNED_AT)
    with TestClient(create_app(site, extra_routes=intake_routes(store, TOKEN))) as client:
        assert client.post("/api/bundles", content=data, headers=ZIP).status_code == 201
        page = client.get("/admin/", headers=ADMIN).text
    assert "<bdi>转义\u202e单位</bdi>" in page and f"<bdi>{code}</bdi>" in page
    assert not re.search(r"[^>]转义\u202e单位", page), "unit name outside <bdi>"


def test_a_view_only_server_does_not_offer_its_summary_as_signed(site: Path, store: Store) -> None:
    """"签名汇总表（.json，报财政局）" served an unsigned file, which `jixiao county` then refused."""
    with TestClient(create_app(site, extra_routes=intake_routes(store, TOKEN))) as client:
        assert client.post("/api/bundles", content=own_bundle()[1], headers=ZIP).status_code == 201
        page = client.get("/admin/", headers=ADMIN).text
    assert "签名汇总表（.json，报财政局）" not in page and "汇总表（.json，未签名）" in page
    assert "未签名的汇总表财政局不能采用" in page
    with TestClient(create_app(site, extra_routes=intake_routes(store, TOKEN, review_key=supervisor()))) as client:
        assert "签名汇总表（.json，报财政局）" in client.get("/admin/", headers=ADMIN).text


def test_odd_review_fields_and_an_impossible_summary_are_answered_in_words(site: Path, store: Store) -> None:
    """QA: `{"unit_code": ["a"]}` was answered with Python's spelling of a list (没有单位 ['a'] …), and a
    附件4 link that could not be served showed the JSON answer as raw text in the browser."""
    with TestClient(create_app(site, extra_routes=intake_routes(store, TOKEN, review_key=supervisor()))) as client:
        response = client.post("/api/admin/reviews", headers=ADMIN, json={"unit_code": ["a"], "year": 2021,
                                                                           "score": "90"})
        assert response.status_code == 422 and response.json()["message"] == "unit_code 应为文字或数字", response.text
        link = client.get("/api/admin/summary.xlsx?year=2021", headers={**ADMIN, "Accept": "text/html,*/*"})
        assert link.status_code == 400 and link.headers["content-type"].startswith("text/html"), link.text
        assert "<h1>无法生成附件4</h1>" in link.text and "返回主管部门工作台" in link.text
        script = client.get("/api/admin/summary.json?year=2021", headers=ADMIN)
        assert script.status_code == 400 and "message" in script.json()
