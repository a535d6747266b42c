"""The signing commands as a unit's clerk and a supervisor use them: keygen, keysheet, bundle,
verify, roster. Exit codes are the contract for scripts: verify exits 0 only when every file
passes, 1 when one fails, 2 when one cannot be read.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundle_helpers import SIGNED_AT, seed_bundle
from jixiao import load_example
from jixiao.bundle import passphrase
from jixiao.bundle.payload import CHINA
from jixiao.cli import cli

BUNDLE = "2021-360124-KGX-进贤县科技和工业信息化局-整体支出绩效自评.zip"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args))


@pytest.fixture(autouse=True)
def quick_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key files in these tests use few PBKDF2 iterations; the format is the same."""
    monkeypatch.setattr(passphrase, "ITERATIONS", 2_000)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("seed.json").write_text(load_example("jinxian-2021").model_dump_json(), encoding="utf-8")
    return tmp_path


def fingerprint_of(result: Result) -> str:
    line = next(line for line in result.stdout.splitlines() if line.startswith("公钥指纹："))
    return line.removeprefix("公钥指纹：")


# --- keygen --------------------------------------------------------------------------------------------

def test_keygen_prints_fingerprint_and_refuses_overwrite(work: Path) -> None:
    made = run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX")
    assert made.exit_code == 0, made.output
    fingerprint = fingerprint_of(made)
    assert len(fingerprint.split(" ")) == 16
    assert stat.S_IMODE(os.stat("unit.key").st_mode) == 0o600
    doc = json.loads(Path("unit.key").read_text("utf-8"))
    assert doc["fingerprint"] == fingerprint and doc["private_key"]["encoding"] == "plain"
    before = Path("unit.key").read_bytes()
    again = run("keygen", "-o", "unit.key")
    assert again.exit_code == 2 and "已存在" in again.stderr and "不会覆盖" in again.stderr
    assert Path("unit.key").read_bytes() == before


def test_keygen_sm2_with_passphrase(work: Path) -> None:
    made = run("keygen", "-o", "sm2.key", "--alg", "sm2", "--passphrase-env", "PW", env={"PW": "口令123"})
    assert made.exit_code == 0, made.output
    doc = json.loads(Path("sm2.key").read_text("utf-8"))
    assert doc["alg"] == "sm2" and doc["private_key"]["encoding"] == "encrypted"
    assert doc["private_key"]["scheme"] == "pbkdf2-sha256+aes-256-ctr+hmac-sha256"
    missing = run("keygen", "-o", "x.key", "--passphrase-env", "NOT_SET")
    assert missing.exit_code == 2 and "NOT_SET" in missing.stderr and not Path("x.key").exists()


def test_wrong_passphrase_fails_cleanly_and_leaves_the_key_file_alone(work: Path) -> None:
    assert run("keygen", "-o", "unit.key", "--passphrase-env", "PW", env={"PW": "right"}).exit_code == 0
    before, mtime = Path("unit.key").read_bytes(), os.stat("unit.key").st_mtime_ns
    result = run("bundle", "seed.json", "--key", "unit.key", "-o", "out.zip", "--passphrase-env", "PW",
                 env={"PW": "wrong"})
    assert result.exit_code == 2
    assert "口令不正确" in result.stderr and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert Path("unit.key").read_bytes() == before and os.stat("unit.key").st_mtime_ns == mtime
    assert not Path("out.zip").exists()
    no_passphrase = run("bundle", "seed.json", "--key", "unit.key", "-o", "out.zip")
    assert no_passphrase.exit_code == 2 and "--passphrase-env" in no_passphrase.stderr


# --- keysheet, bundle ------------------------------------------------------------------------------------

def test_keysheet_is_a_printable_page_with_fingerprint_and_qr(work: Path) -> None:
    made = run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX", "--unit-name", "进贤县科技和工业信息化局")
    sheet = run("keysheet", "unit.key", "-o", "sheet.html")
    assert sheet.exit_code == 0, sheet.output
    html = Path("sheet.html").read_text("utf-8")
    first_half = " ".join(fingerprint_of(made).split(" ")[:8])
    assert "公钥登记表" in html and "360124-KGX" in html and first_half in html
    assert "<svg" in html and "盖章" in html and "丢失" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert run("keysheet", "unit.key", "-o", "sheet.html").exit_code == 2  # no overwrite


def test_key_sheet_and_keys_page_ask_to_retire_a_lost_key(work: Path) -> None:
    """The sheet said "原公钥请主管部门注销" for a key merely lost: revoking refuses every bundle the
    unit handed in before. A lost key is retired (停用); only one that may be in other hands is
    revoked (注销), and then what it signed before fails too."""
    assert run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX", "--unit-name", "科工信局").exit_code == 0
    assert run("keysheet", "unit.key", "-o", "sheet.html").exit_code == 0
    html = Path("sheet.html").read_text("utf-8")
    assert "原公钥请主管部门注销" not in html
    assert "并请主管部门<b>停用</b>原公钥；停用日期当天及以前用原公钥签署的材料仍然有效" in html
    assert "私钥可能落入他人之手" in html and "请主管部门<b>注销</b>原公钥" in html and "含注销前签署的材料" in html
    keys = (Path(__file__).resolve().parents[1] / "site_src" / "docs" / "keys.md").read_text("utf-8")
    lost, leaked = keys.split("**停用**")[1], keys.split("**注销**")[1]
    assert "`jixiao roster retire`" in lost and "仍然有效" in lost and "不必重交" in lost
    assert "`jixiao roster revoke`" in leaked and "包括注销前已经交出的" in leaked


def test_bundle_into_a_folder_and_refuse_overwrite(work: Path) -> None:
    assert run("keygen", "-o", "unit.key").exit_code == 0
    made = run("bundle", "seed.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT)
    assert made.exit_code == 0, made.output
    assert (work / "out" / BUNDLE).exists()
    assert "总分：98，等级：优" in made.stdout and "2 处错误" in made.stderr
    again = run("bundle", "seed.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT)
    assert again.exit_code == 2 and "已存在" in again.stderr
    named = run("bundle", "seed.json", "--key", "unit.key", "-o", "mine.zip")
    assert named.exit_code == 0 and Path("mine.zip").exists()
    bad_time = run("bundle", "seed.json", "--key", "unit.key", "-o", "t.zip", "--signed-at", "yesterday")
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.stderr


# --- verify ----------------------------------------------------------------------------------------------

def test_verify_exit_codes_and_json(work: Path) -> None:
    name, data = seed_bundle()
    Path(name).write_bytes(data)
    good = run("verify", name)
    assert good.exit_code == 0, good.output
    assert f"{name}：通过" in good.stdout and "未对照公钥名册核对" in good.stdout
    Path("bad.zip").write_bytes(data[: len(data) // 2])
    Path("unsigned.json").write_text(load_example("jinxian-2021").model_dump_json(), encoding="utf-8")
    assert run("verify", name, "unsigned.json").exit_code == 1
    assert run("verify", name, "bad.zip").exit_code == 2
    assert run("verify", "unsigned.json", "missing.zip").exit_code == 2
    listed = run("verify", name, "unsigned.json", "--json")
    assert listed.exit_code == 1
    report = json.loads(listed.stdout)
    assert [v["ok"] for v in report] == [True, False]
    assert report[0]["grade"] == "优" and report[0]["checks"][0]["code"] == "SIGNATURE"


def test_roster_workflow_end_to_end(work: Path) -> None:
    env = {"PW": "财政局口令"}
    assert run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX").exit_code == 0
    assert run("keygen", "-o", "sup.key", "--passphrase-env", "PW", env=env).exit_code == 0
    assert run("keygen", "-o", "stranger.key").exit_code == 0
    made = run("roster", "init", "roster.json", "--key", "sup.key", "--name", "进贤县财政局",
               "--passphrase-env", "PW", env=env)
    assert made.exit_code == 0, made.output
    unit_fp = json.loads(Path("unit.key").read_text("utf-8"))["fingerprint"]
    wrong_fp = run("roster", "add", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                   "--unit-code", "360124-KGX", "--unit-name", "科工信局", "--key-file", "unit.key",
                   "--fingerprint", "0" * 64, env=env)
    assert wrong_fp.exit_code == 2 and "指纹与登记表不符" in wrong_fp.stderr
    added = run("roster", "add", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                "--unit-code", "360124-KGX", "--unit-name", "科工信局", "--key-file", "unit.key",
                "--fingerprint", unit_fp.upper(), "--valid-from", "2022-01-01", env=env)
    assert added.exit_code == 0, added.output
    not_owner = run("roster", "add", "roster.json", "--key", "stranger.key", "--unit-code", "X",
                    "--unit-name", "x", "--key-file", "stranger.key")
    assert not_owner.exit_code == 2 and "不是名册所有者" in not_owner.stderr
    listed = run("roster", "list", "roster.json")
    assert listed.exit_code == 0 and "名册签名有效" in listed.stdout and unit_fp in listed.stdout

    signed = run("bundle", "seed.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT)
    assert signed.exit_code == 0
    ok = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert ok.exit_code == 0 and "公钥已登记" in ok.stdout, ok.output
    assert run("bundle", "seed.json", "--key", "stranger.key", "-o", "stranger/").exit_code == 0
    stranger = run("verify", f"stranger/{BUNDLE}", "--roster", "roster.json")
    assert stranger.exit_code == 1 and "没有为单位编码 360124-KGX 登记该公钥" in stranger.stdout

    revoked = run("roster", "revoke", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                  "--unit-code", "360124-KGX", "--fingerprint", unit_fp, "--date", "2022-06-01", env=env)
    assert revoked.exit_code == 0, revoked.output
    after = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert after.exit_code == 1 and "注销" in after.stdout

    doc = json.loads(Path("roster.json").read_text("utf-8"))
    doc["signatures"] = []
    Path("unsigned-roster.json").write_text(json.dumps(doc), encoding="utf-8")
    unsigned = run("verify", f"out/{BUNDLE}", "--roster", "unsigned-roster.json")
    assert unsigned.exit_code == 1 and "名册没有签名" in unsigned.stdout
    assert run("roster", "list", "unsigned-roster.json").exit_code == 1
    refused = run("roster", "add", "unsigned-roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                  "--unit-code", "X", "--unit-name", "x", "--key-file", "stranger.key", env=env)
    assert refused.exit_code == 2 and "拒绝在其上修改" in refused.stderr
    assert run("verify", f"out/{BUNDLE}", "--roster", "missing.json").exit_code == 2


def _supervisor_with_unit(env: dict[str, str]) -> str:
    """sup.key owns roster.json, which enrols unit.key for 360124-KGX from 2022-01-01; out/ holds the
    unit's bundle signed 2022-03-01. The unit key's fingerprint is returned."""
    assert run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX").exit_code == 0
    assert run("keygen", "-o", "sup.key", "--passphrase-env", "PW", env=env).exit_code == 0
    assert run("roster", "init", "roster.json", "--key", "sup.key", "--name", "进贤县财政局",
               "--passphrase-env", "PW", env=env).exit_code == 0
    added = run("roster", "add", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                "--unit-code", "360124-KGX", "--unit-name", "科工信局", "--key-file", "unit.key",
                "--valid-from", "2022-01-01", env=env)
    assert added.exit_code == 0, added.output
    assert run("bundle", "seed.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT).exit_code == 0
    return str(json.loads(Path("unit.key").read_text("utf-8"))["fingerprint"])


def test_roster_retire_keeps_what_was_signed_before(work: Path) -> None:
    """A unit whose key is lost asks for it to be taken out of use. Revoking was the only way, and
    it refused the bundle handed in months before, so the unit dropped out of 附件4. 停用 ends the
    key's validity on a day: what it signed up to that day still verifies and consolidates."""
    env = {"PW": "财政局口令"}
    unit_fp = _supervisor_with_unit(env)
    digits = unit_fp.replace(" ", "").upper()  # typed without the groups: the same key

    def retire(*extra: str) -> Result:
        return run("roster", "retire", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                   "--unit-code", "360124-KGX", "--fingerprint", digits, *extra, env=env)

    retired = retire("--date", "2022-03-01")
    assert retired.exit_code == 0, retired.output
    assert retired.stdout == (f"已停用：360124-KGX 的公钥 {unit_fp}，停用日期 2022-03-01。"
                              f"2022-03-01 及以前签署的材料仍然有效，之后签署的不予通过\n")
    listed = run("roster", "list", "roster.json")
    assert listed.exit_code == 0 and "名册签名有效" in listed.stdout, listed.output
    line = next(line for line in listed.stdout.splitlines() if unit_fp in line)
    assert line.endswith("\t2022-01-01 至 2022-03-01\t已停用（停用日期 2022-03-01；此后签署的不予通过）")
    as_json = json.loads(run("roster", "list", "roster.json", "--json").stdout)
    entry = as_json["units"]["360124-KGX"][0]
    assert (entry["status"], entry["valid_to"], entry["revoked_on"]) == ("retired", "2022-03-01", None)
    ok = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert ok.exit_code == 0 and "已于 2022-03-01 停用" in ok.stdout, ok.output
    summed = run("consolidate", "out", "--roster", "roster.json", "-o", "附件4.xlsx")
    assert summed.exit_code == 0 and Path("附件4.xlsx").exists(), summed.output

    # Refused, and the roster is left as it was: later, the same day, a day in the future.
    before = Path("roster.json").read_bytes()
    for extra, words in ((("--date", "2022-04-01"), "停用日期只能提前，不能推后到 2022-04-01"),
                         (("--date", "2022-03-01"), "已于 2022-03-01 停用，无需重复停用"),
                         (("--date", "2999-01-01"), "停用日期 2999-01-01 晚于今天"),
                         (("--date", "2022-3-1x"), "停用日期“2022-3-1x”不是日期")):
        refused = retire(*extra)
        assert refused.exit_code == 2 and refused.stderr.startswith("无法停用公钥：") and words in refused.stderr, \
            refused.output
        assert Path("roster.json").read_bytes() == before

    earlier = retire("--date", "2022-02-28")
    assert earlier.exit_code == 0 and "停用日期 2022-02-28（停用日期由 2022-03-01 提前为 2022-02-28）" in earlier.stdout
    after = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert after.exit_code == 1, after.output
    assert "已停用（停用日期 2022-02-28 之后签署）：签名日期 2022-03-01" in after.stdout
    refused_sum = run("consolidate", "out", "--roster", "roster.json", "-o", "again.xlsx")
    assert refused_sum.exit_code == 2 and "已停用（停用日期 2022-02-28 之后签署）" in refused_sum.output

    # Found leaked after all: revoking a retired key refuses what it signed before too.
    revoked = run("roster", "revoke", "roster.json", "--key", "sup.key", "--passphrase-env", "PW",
                  "--unit-code", "360124-KGX", "--fingerprint", unit_fp, "--date", "2022-06-01", env=env)
    assert revoked.exit_code == 0 and "含注销前签署的材料" in revoked.stdout, revoked.output
    listed = run("roster", "list", "roster.json")
    assert "\t已注销（2022-06-01；所签材料一律不予通过，含注销前签署的）" in listed.stdout, listed.output
    gone = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert gone.exit_code == 1 and "已于 2022-06-01 注销" in gone.stdout and "含注销前签署的材料" in gone.stdout
    no_retire = retire("--date", "2022-02-01")
    assert no_retire.exit_code == 2 and "已于 2022-06-01 注销：注销比停用更严" in no_retire.stderr


def test_roster_retire_refuses_unknown_keys_and_early_dates(work: Path) -> None:
    env = {"PW": "财政局口令"}
    unit_fp = _supervisor_with_unit(env)
    before = Path("roster.json").read_bytes()
    common = ("roster", "retire", "roster.json", "--key", "sup.key", "--passphrase-env", "PW")
    for extra, words in (
            (("--unit-code", "360124-XXX", "--fingerprint", unit_fp), "名册中没有单位 360124-XXX"),
            (("--unit-code", "360124-KGX", "--fingerprint", "0" * 64), "名下没有指纹为 0000 0000"),
            (("--unit-code", "360124-KGX", "--fingerprint", unit_fp, "--date", "2021-12-31"),
             "停用日期 2021-12-31 早于该公钥的启用日期 2022-01-01")):
        refused = run(*common, *extra, env=env)
        assert refused.exit_code == 2 and words in refused.stderr, refused.output
    assert run("roster", "retire", "roster.json", "--key", "unit.key", "--unit-code", "360124-KGX",
               "--fingerprint", unit_fp).stderr.startswith("无法停用公钥：这把密钥不是名册所有者的")
    assert Path("roster.json").read_bytes() == before
    today = run(*common, "--unit-code", "360124-KGX", "--fingerprint", unit_fp, env=env)
    china_today = datetime.datetime.now(datetime.UTC).astimezone(CHINA).date()
    assert today.exit_code == 0 and f"停用日期 {china_today}。" in today.stdout, today.output


def test_roster_help_tells_retire_from_revoke(work: Path) -> None:
    """`revoke --help` told supervisors to revoke a lost key (“如私钥丢失”), which refuses every
    bundle the unit handed in before."""
    revoke = run("roster", "revoke", "--help").stdout.replace("\n", "").replace(" ", "")
    assert "私钥丢失" not in revoke and "如私钥丢失" not in revoke
    assert "含注销前签署的材料" in revoke and "jixiaorosterretire停用" in revoke
    retire = run("roster", "retire", "--help").stdout.replace("\n", "").replace(" ", "")
    assert "签名日期由签名者自己填写" in retire and "请改用jixiaorosterrevoke注销" in retire
    assert "当天及以前签署的材料仍然通过" in retire
    group = run("roster", "--help").stdout
    assert "retire" in group and "停用日期前签署的材料仍然有效" in group and "一律不予通过" in group


def test_roster_init_refuses_overwrite(work: Path) -> None:
    assert run("keygen", "-o", "sup.key").exit_code == 0
    assert run("roster", "init", "r.json", "--key", "sup.key", "--name", "局").exit_code == 0
    again = run("roster", "init", "r.json", "--key", "sup.key", "--name", "局")
    assert again.exit_code == 2 and "已存在" in again.stderr


def test_enrolled_after_signing_still_passes(work: Path) -> None:
    """The usual order: a unit signs, then hands over the bundle with its stamped key sheet, and
    the supervisor enrols the key later. The start date defaulted to the day of enrolment and
    refused that bundle ("签名日期 … 早于该公钥的启用日期"); it now comes from the key file, or is
    1 January of last year for a bare public key, and says so."""
    assert run("keygen", "-o", "unit.key", "--unit-code", "360124-KGX").exit_code == 0
    doc = json.loads(Path("unit.key").read_text("utf-8"))
    doc["created_at"] = "2022-01-04T18:00:00Z"  # 2022-01-05 in China
    Path("unit.key").write_text(json.dumps(doc), encoding="utf-8")
    assert run("keygen", "-o", "sup.key").exit_code == 0
    assert run("roster", "init", "roster.json", "--key", "sup.key", "--name", "进贤县财政局").exit_code == 0
    assert run("bundle", "seed.json", "--key", "unit.key", "-o", "out/", "--signed-at", SIGNED_AT).exit_code == 0
    added = run("roster", "add", "roster.json", "--key", "sup.key", "--unit-code", "360124-KGX",
                "--unit-name", "科工信局", "--key-file", "unit.key")
    assert added.exit_code == 0 and "自 2022-01-05 起" in added.stdout, added.output
    ok = run("verify", f"out/{BUNDLE}", "--roster", "roster.json")
    assert ok.exit_code == 0 and "公钥已登记" in ok.stdout, ok.output

    # Only the public key (the sheet's QR text): no date in it, so 1 January of last year, said.
    assert run("keygen", "-o", "other.key", "--unit-code", "360124-OTHER").exit_code == 0
    other = json.loads(Path("other.key").read_text("utf-8"))
    bare = run("roster", "add", "roster.json", "--key", "sup.key", "--unit-code", "360124-OTHER",
               "--unit-name", "另一单位", "--public-key", f"{other['alg']}:{other['public_key']}")
    last_year = datetime.datetime.now(datetime.UTC).astimezone(CHINA).year - 1
    assert bare.exit_code == 0 and f"自 {last_year}-01-01 起" in bare.stdout, bare.output
    assert "--valid-from" in bare.stderr, bare.output


def test_verify_takes_a_folder(work: Path) -> None:
    """A supervisor points `verify` at the folder the bundles came in (as consolidate and store add
    take one): each bundle in it, subfolders included, is verified; an empty folder is named."""
    assert run("keygen", "-o", "unit.key").exit_code == 0
    assert run("bundle", "seed.json", "--key", "unit.key", "-o", "in/sub/", "--signed-at", SIGNED_AT).exit_code == 0
    Path("in/notes.txt").write_text("not a bundle", encoding="utf-8")
    Path("empty").mkdir()
    result = run("verify", "in")
    assert result.exit_code == 0 and f"{BUNDLE}：通过" in result.stdout, result.output
    both = run("verify", "in", "empty")
    assert both.exit_code == 2 and "其中没有 .zip、.json 或 .xlsx 文件" in both.stdout, both.output
