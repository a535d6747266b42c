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
