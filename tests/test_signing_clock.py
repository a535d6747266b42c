"""A bundle dated in the future, and one that names no unit, are refused wherever they turn up.

Why: the bundle in force for a unit is its latest by signing time. A bundle from a computer whose
clock ran years ahead stayed in force over the unit's later correction in `jixiao consolidate`
(the store and the intake already refused it), and `verify` called it 通过. A form with no unit
code was signed by `bundle`, then refused by every store and consolidation. Each door now gives
the same answer, in Chinese, before anything is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundle_helpers import framework
from consolidate_helpers import unit_bundle, unit_key_for, unit_submission
from jixiao.bundle import build_bundle
from jixiao.bundle.keys import b64, key_file_json
from jixiao.bundle.verify import verify_file
from jixiao.cli import cli
from jixiao.consolidate import NoSummary, Source, consolidate

CODE = "360124-KGX-03"
FUTURE = "2030-01-01T10:00:00+08:00"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_consolidation_refuses_a_bundle_signed_after_the_day_it_runs_and_keeps_the_correction() -> None:
    early = Source("更正前.zip", data=unit_bundle(CODE, FUTURE)[1])
    correction = build_bundle(unit_submission(CODE, "进贤县工业园区服务中心", "400", "380", 95), framework(),
                              unit_key_for(CODE), "2026-12-07T10:00:00+08:00")
    outcome = consolidate([early, Source("更正.zip", data=correction[1])], now=datetime(2026, 12, 8, tzinfo=UTC))
    assert outcome.summary is not None and not outcome.superseded
    (row,) = outcome.summary.rows
    assert (row.budget, row.executed) == (400, 380)  # the correction counts, not the bundle "from 2030"
    (refused,) = outcome.rejected
    assert refused.name == "更正前.zip"
    assert refused.reasons == ["签名时间（北京时间 2030-01-01 10:00）比本次汇总的时间（2026-12-08 08:00）晚一天以上，"
                               "签名所用电脑的日期或时间有误：请把该电脑的日期和时间改正确，重新导出签名材料后再提交"]


def test_a_day_of_clock_drift_is_allowed() -> None:
    signed = "2026-12-08T20:00:00+08:00"  # 12:00Z: twelve hours after `now`
    outcome = consolidate([Source("u.zip", data=unit_bundle(CODE, signed)[1])], now=datetime(2026, 12, 8, tzinfo=UTC))
    assert not outcome.rejected and outcome.summary is not None and len(outcome.summary.rows) == 1


def test_a_stored_bundle_is_judged_by_when_it_arrived() -> None:
    data = unit_bundle(CODE, "2022-03-05T10:00:00+08:00")[1]
    arrived_before = Source("s", data=data, received_at="2022-03-01T00:00:00.000000Z")
    with pytest.raises(NoSummary) as none:
        consolidate([arrived_before], now=datetime(2026, 12, 8, tzinfo=UTC))
    (refused,) = none.value.outcome.rejected
    assert "比收到材料的时间（2022-03-01 08:00）晚一天以上" in refused.reasons[0]


def test_verify_fails_a_bundle_signed_in_the_future_and_passes_it_once_that_day_has_come() -> None:
    data = unit_bundle(CODE, FUTURE)[1]
    now = datetime(2026, 12, 8, tzinfo=UTC)
    verdict = verify_file("u.zip", data, now=now)
    assert not verdict.ok
    assert [c.message for c in verdict.checks if c.status == "fail"] == [
        "签名时间（北京时间 2030-01-01 10:00）比核验时的时间（2026-12-08 08:00）晚一天以上，"
        "签名所用电脑的日期或时间有误：请把该电脑的日期和时间改正确，重新导出签名材料后再提交"]
    assert verify_file("u.zip", data, now=datetime(2030, 1, 2, tzinfo=UTC)).ok
    assert any("签名时间（北京时间）2030-01-01 10:00:00" in c.message for c in verdict.checks)  # one clock for readers


@pytest.fixture
def unit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    key = key_file_json(unit_key_for(CODE), unit_code=CODE, unit_name="进贤县工业园区服务中心")
    Path("unit.key").write_text(key, encoding="utf-8")
    form = unit_submission(CODE, "进贤县工业园区服务中心", "300", "270", 90)
    Path("form.json").write_text(form.model_dump_json(), encoding="utf-8")
    return tmp_path


def test_bundle_refuses_a_signing_time_in_the_future_before_writing_anything(unit_files: Path) -> None:
    result = run("bundle", "form.json", "--key", "unit.key", "-o", "out.zip", "--signed-at", FUTURE)
    assert result.exit_code == 2, result.output
    assert "--signed-at：签名时间（北京时间 2030-01-01 10:00）比现在晚一天以上，不能是将来的时间" in result.output
    assert not Path("out.zip").exists()
    tomorrow = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    assert run("bundle", "form.json", "--key", "unit.key", "-o", "ok.zip", "--signed-at", tomorrow).exit_code == 0


@pytest.mark.parametrize(("given", "reason"), [
    ("2021", "签名时间“2021”不是 ISO 8601 时间"),
    ("2022-03-01T10:00:00", "签名时间须带时区"),
])
def test_a_signing_time_that_is_not_one_is_a_message_not_an_internal_error(unit_files: Path, given: str,
                                                                           reason: str) -> None:
    for command in (("bundle", "form.json", "--key", "unit.key", "-o", "out.zip"),
                    ("publish", ".", "-o", "public", "--key", "unit.key")):
        result = run(*command, "--signed-at", given)
        assert result.exit_code == 2, result.output
        assert f"--signed-at：{reason}" in result.output and "内部错误" not in result.output, result.output


def test_bundle_refuses_a_form_without_a_unit_code(unit_files: Path) -> None:
    form = json.loads(Path("form.json").read_text(encoding="utf-8"))
    form["unit_code"] = "  "
    Path("form.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    result = run("bundle", "form.json", "--key", "unit.key", "-o", "out/")
    assert result.exit_code == 2, result.output
    assert "请先填写单位编码：签名材料以年度、单位编码区分" in result.output
    assert not Path("out").exists() or not any(Path("out").iterdir())


def test_bundle_warns_when_the_key_belongs_to_another_unit(unit_files: Path) -> None:
    other = key_file_json(unit_key_for("360124-KGX-05"), unit_code="360124-KGX-05", unit_name="第五单位")
    Path("other.key").write_text(other, encoding="utf-8")
    result = run("bundle", "form.json", "--key", "other.key", "-o", "out.zip")
    assert result.exit_code == 0, result.output
    assert "注意：密钥文件是单位 360124-KGX-05 生成的，自评表的单位编码为 360124-KGX-03" in result.output
    assert "密钥文件是单位" not in run("bundle", "form.json", "--key", "unit.key", "-o", "own.zip").output


def test_roster_add_refuses_a_key_file_of_another_unit_and_one_key_for_two_units(unit_files: Path) -> None:
    """QA: `roster add --unit-code 06 --key-file <unit 05's key>` said 已登记, and one key enrolled
    under two codes let unit 01 sign as unit 09 and pass `verify --roster`."""
    Path("dept.key").write_text(key_file_json(unit_key_for("dept")), encoding="utf-8")
    assert run("roster", "init", "r.json", "--key", "dept.key", "--name", "科工信局").exit_code == 0
    wrong = run("roster", "add", "r.json", "--key", "dept.key", "--unit-code", "360124-KGX-06",
                "--unit-name", "第六单位", "--key-file", "unit.key")
    assert wrong.exit_code == 2, wrong.output
    assert ("密钥文件是单位 360124-KGX-03 进贤县工业园区服务中心 生成的，"
            "与 --unit-code 360124-KGX-06 不符") in wrong.output
    right = run("roster", "add", "r.json", "--key", "dept.key", "--unit-code", CODE, "--unit-name", "园区中心",
                "--key-file", "unit.key")
    assert right.exit_code == 0, right.output
    twice = run("roster", "add", "r.json", "--key", "dept.key", "--unit-code", "360124-KGX-09",
                "--unit-name", "第九单位", "--public-key", f"ed25519:{b64(unit_key_for(CODE).public.raw)}")
    assert twice.exit_code == 2, twice.output
    assert f"该公钥已登记在单位 {CODE} 名下：一把签名密钥只能代表一个单位" in twice.output


def test_outputs_are_refused_under_a_name_that_says_another_kind_of_file(unit_files: Path) -> None:
    """QA: `bundle -o foo.txt` wrote a zip named .txt and `keysheet -o x.pdf` a page named .pdf."""
    result = run("bundle", "form.json", "--key", "unit.key", "-o", "foo.txt")
    assert result.exit_code == 2 and "-o 应为 .zip 文件或文件夹" in result.output, result.output
    sheet = run("keysheet", "unit.key", "-o", "登记表.pdf")
    assert sheet.exit_code == 2 and "-o 应为 .html 文件" in sheet.output, sheet.output
    assert not Path("foo.txt").exists() and not Path("登记表.pdf").exists()
