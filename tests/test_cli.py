"""The `jixiao` command line and the file loader behind it.

Exit codes are the contract: 0 no error finding, 1 error findings, 2 unreadable input with
exactly one Chinese line on stderr and never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import click
import openpyxl  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner, Result

from bundle_helpers import entries, seed_bundle
from jixiao import Submission
from jixiao.cli import cli
from jixiao.io.errors import InputError
from jixiao.io.load import parse_submission_bytes

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args), input=input)


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    result = run("example", "jinxian-2021")
    assert result.exit_code == 0, result.output
    path = tmp_path / "jinxian-2021.json"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def resolve(data: Any, path: str) -> Any:
    """Follow a finding's dotted path ('indicators.2.groups.1.items.0.deviation') into the JSON."""
    for step in path.split("."):
        data = data[int(step)] if isinstance(data, list) else data[step]
    return data


def item_name(data: Any, path: str) -> str:
    parts = path.split(".")
    name: str = resolve(data, ".".join(parts[:-1]))["name"]
    return name


# --- check on the seed -------------------------------------------------------------------

def test_check_json_on_the_seed(seed_file: Path) -> None:
    result = run("check", str(seed_file), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["total"], report["grade"], report["execution_rate"]) == ("98", "优", "100.00")
    assert report["framework"]["id"] == "jinxian-2021"
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    warnings = [f for f in report["findings"] if f["severity"] == "warning"]
    assert [f["code"] for f in errors] == ["DEVIATION_REASON_MISSING"] * 2
    seed = json.loads(seed_file.read_text("utf-8"))
    expected = ["服务群众办事效率", "提升群众满意率"]
    for finding, name in zip(errors, expected, strict=True):
        assert item_name(seed, finding["path"]).startswith(name)  # '提升群众满意率（10分）'
        assert finding["path"].endswith(".deviation")
        assert name in finding["message"]
        assert set(finding) >= {"code", "severity", "path", "message"}
    warning_codes = [f["code"] for f in warnings]
    assert warning_codes.count("LABEL_WEIGHT_MISMATCH") == 2
    assert warning_codes.count("EMPTY_INDICATOR_GROUP") == 1
    assert not any(f["code"].startswith("SCORE_") for f in report["findings"])
    assert result.stderr == ""


def test_check_human_report(seed_file: Path) -> None:
    result = run("check", str(seed_file))
    assert result.exit_code == 1
    out = result.stdout
    assert "98" in out and "优" in out and "100.00" in out
    lines = [ln for ln in out.splitlines() if ln.startswith(("错误", "警告"))]
    assert [ln.split()[0] for ln in lines] == ["错误"] * 2 + ["警告"] * 3  # errors first
    assert "DEVIATION_REASON_MISSING" in lines[0] and "服务群众办事效率" in lines[0]


def test_check_with_another_framework_says_so(seed_file: Path) -> None:
    result = run("check", str(seed_file), "--json", "--framework", "national-2020")
    assert result.exit_code == 1
    assert "FRAMEWORK_MISMATCH" in [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_check_reads_standard_input(seed_file: Path) -> None:
    result = run("check", "-", "--json", input=seed_file.read_bytes())
    assert result.exit_code == 1
    assert json.loads(result.stdout)["total"] == "98"


def test_console_script_in_a_subprocess(seed_file: Path) -> None:
    """The installed `jixiao` script, under a locale that cannot encode Chinese: still UTF-8."""
    script = shutil.which("jixiao", path=str(Path(sys.executable).parent)) or shutil.which("jixiao")
    assert script, "the jixiao console script is not installed"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "latin-1"}
    env.pop("JIXIAO_DEBUG", None)
    done = subprocess.run([script, "check", str(seed_file)], capture_output=True, env=env, timeout=60)
    assert done.returncode == 1, done.stderr.decode("utf-8", "replace")
    out = done.stdout.decode("utf-8")
    assert "98" in out and "优" in out
    bad = subprocess.run([script, "check", str(seed_file.parent / "missing.json")],
                         capture_output=True, env=env, timeout=60)
    assert bad.returncode == 2
    err = bad.stderr.decode("utf-8")
    assert err.count("\n") == 1 and err.startswith("无法读取") and "Traceback" not in err


# --- unreadable input: exit 2, one line, no traceback ---------------------------------------

def assert_unreadable(result: Result, *words: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    err = result.stderr
    assert "Traceback" not in result.output
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("无法读取 "), err
    assert "内部错误" not in err, err
    # Plain output goes to stderr only; with --json, stdout carries the same line as {"error": …}.
    assert result.stdout == "" or json.loads(result.stdout) == {"error": err.strip()}, result.stdout
    for word in words:
        assert word in err, err
    return err


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def xlsx_without_table() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "会议记录"
    sheet["B3"] = 42
    sheet["C5"] = "与绩效无关的内容"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def seed_with_word_score() -> bytes:
    data = json.loads(run("example", "jinxian-2021").stdout)
    data["indicators"][0]["groups"][0]["items"][0]["score"] = "满分"
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


UNREADABLE: dict[str, tuple[str, bytes, tuple[str, ...]]] = {
    "empty": ("empty.json", b"", ("文件为空",)),
    "random binary": ("noise.json", random.Random(7).randbytes(4096), ()),
    "json array": ("list.json", b'[{"framework_id": "jinxian-2021"}]', ("JSON 对象",)),
    "json syntax": ("broken.json", b'{\n  "year": 2021,\n  "unit_name" "x"\n}', ("第 3 行",)),
    "renamed docx": ("report.xlsx", docx_bytes(), ("Word",)),
    "word in a score": ("seed.json", seed_with_word_score(), ("得分", "满分")),
    "gbk text": ("gbk.json", '{"unit_name": "进贤县"}'.encode("gbk"), ("UTF-8",)),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_files(tmp_path: Path, case: str) -> None:
    name, content, words = UNREADABLE[case]
    path = tmp_path / name
    path.write_bytes(content)
    assert_unreadable(run("check", str(path)), str(path), *words)
    with_json = run("check", "--json", str(path))
    assert_unreadable(with_json, *words)
    assert with_json.stdout, "--json answers on stdout"


def test_xlsx_without_an_indicator_table(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_bytes(xlsx_without_table())
    assert_unreadable(run("check", str(path)))


def test_a_50_mb_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.write(b"{")
        handle.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    result = run("check", str(path))
    assert time.perf_counter() - started < 2
    assert_unreadable(result, "文件过大", "52.4 MB", "20 MB")


def test_missing_path_and_directory(tmp_path: Path) -> None:
    assert_unreadable(run("check", str(tmp_path / "nope.json")), "不存在")
    assert_unreadable(run("check", str(tmp_path)), "文件夹")


def test_unknown_framework(seed_file: Path, tmp_path: Path) -> None:
    assert_unreadable(run("check", str(seed_file), "--framework", "mars-2099"),
                      "mars-2099", "jinxian-2021", "national-2020")
    other = tmp_path / "other.json"
    other.write_text(seed_file.read_text("utf-8").replace('"jinxian-2021"', '"mars-2099"'), "utf-8")
    assert_unreadable(run("check", str(other)), "mars-2099", "jinxian-2021")


def test_an_unexpected_crash_is_one_line(seed_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("jixiao.cli.evaluate", boom)
    result = run("check", str(seed_file), env={"JIXIAO_DEBUG": ""})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "内部错误" in result.stderr and "boom second line" in result.stderr
    debug = run("check", str(seed_file), env={"JIXIAO_DEBUG": "1"})
    assert debug.exit_code == 2 and "Traceback" in debug.stderr


# --- the loader's messages ---------------------------------------------------------------

def load_error(data: bytes, name: str = "x.json") -> str:
    with pytest.raises(InputError) as caught:
        parse_submission_bytes(data, name)
    return caught.value.message


def test_validation_message_names_the_field_by_its_title() -> None:
    message = load_error(seed_with_word_score())
    assert message.startswith("分解目标自评 › 第1个一级指标“管理指标” › 第1个二级指标“预算编审管理”")
    assert "第1个三级指标“预算编制完整性（2分）” › 得分：“满分”不是数字" in message
    assert "共" not in message
    data = json.loads(seed_with_word_score())
    data["year"] = "去年"
    data["unit_kind"] = "县级"
    message = load_error(json.dumps(data, ensure_ascii=False).encode())
    assert message.startswith("年度：应为整数") and message.endswith("（共 3 处）")
    assert "\n" not in message


def test_loader_messages() -> None:
    assert load_error(b"7") == "应为 JSON 对象（一个单位的自评表），而不是单个值"
    assert "第 1 行第 9 列" in load_error(b'{"a": 1,}')
    assert "（.docx）" in load_error(docx_bytes(), "report.json")
    assert "嵌套" in load_error(b"[" * 100_000)
    deep = b'{"framework_id": "jinxian-2021", "year": 2021, "extra": ' + b"[" * 900 + b"]" * 900 + b"}"
    assert load_error(deep) == "JSON 嵌套层数过深"
    assert "扩展名为 .xlsx" in load_error(b"hello", "renamed.xlsx")
    assert parse_submission_bytes(b'{"framework_id": "jinxian-2021", "year": 2021}', "a.xlsx").year == 2021
    assert "zip" in load_error(zip_with("notes.txt"))
    # A unit's signed bundle, or its signed .json, handed to `check`: named, and verify suggested.
    bundle = seed_bundle()[1]
    [signed] = [data for name, data in entries(bundle).items() if name.endswith(".json")]
    for data in (bundle, signed):
        assert load_error(data).startswith("这是签名材料，不是自评表：核验请用 jixiao verify"), load_error(data)
    assert "文件过大（20.0 MB）" in load_error(b" " * 20_000_001)
    assert "“extra”" in load_error(b'{"framework_id": "jinxian-2021", "year": 2021, "extra": 1}')


def zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    return buffer.getvalue()


def test_a_byte_order_mark_is_accepted(seed_file: Path) -> None:
    submission = parse_submission_bytes(b"\xef\xbb\xbf" + seed_file.read_bytes(), "seed.json")
    assert submission.unit_name == "进贤县科技和工业信息化局"


# --- new, schema, frameworks, example --------------------------------------------------------

@pytest.mark.parametrize("framework_id", ["jinxian-2021", "national-2020"])
def test_new_is_a_valid_blank_that_check_can_read(tmp_path: Path, framework_id: str) -> None:
    result = run("new", "--framework", framework_id, "--year", "2023")
    assert result.exit_code == 0, result.output
    blank = Submission.model_validate_json(result.stdout)
    assert (blank.framework_id, blank.year) == (framework_id, 2023)
    assert blank.indicators and all(lv.weight is not None for lv in blank.indicators)
    assert blank.report.sections and not any(blank.report.sections.values())
    known = [i for lv in blank.indicators for g in lv.groups for i in g.items]
    assert known and all(i.max_score is not None and i.score is None and i.actual == "" for i in known)
    path = tmp_path / "blank.json"
    path.write_text(result.stdout, "utf-8")
    checked = run("check", str(path), "--json")
    assert checked.exit_code == 1, checked.output
    assert "MISSING_REQUIRED" in [f["code"] for f in json.loads(checked.stdout)["findings"]]


def test_new_defaults_to_a_plausible_year_and_refuses_unknown_frameworks() -> None:
    result = run("new", "--framework", "jinxian-2021")
    assert result.exit_code == 0
    assert 2020 <= json.loads(result.stdout)["year"] <= 2100
    bad = run("new", "--framework", "mars-2099")
    assert bad.exit_code == 2 and "jinxian-2021" in bad.stderr and bad.stderr.count("\n") == 1


def test_schema_is_json() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema and "indicators" in schema["properties"]


def test_frameworks() -> None:
    result = run("frameworks")
    assert result.exit_code == 0
    assert "jinxian-2021" in result.stdout and "national-2020" in result.stdout
    assert "管理指标 30" in result.stdout
    listed = json.loads(run("frameworks", "--json").stdout)
    assert [f["id"] for f in listed] == ["jinxian-2021", "national-2020"]
    jinxian = listed[0]
    assert [(lv["name"], lv["weight"]) for lv in jinxian["levels"]][:2] == [("管理指标", "30"), ("产出指标", "25")]
    assert len(jinxian["sha256"]) == 64


def test_example() -> None:
    listed = run("example")
    assert listed.exit_code == 0 and "jinxian-2021" in listed.stdout
    shown = run("example", "jinxian-2021")
    assert Submission.model_validate_json(shown.stdout).unit_name == "进贤县科技和工业信息化局"
    missing = run("example", "nope")
    assert missing.exit_code == 2 and "jinxian-2021" in missing.stderr
    assert missing.stderr.count("\n") == 1 and missing.stdout == ""


def _commands(group: click.Group, parent: click.Context) -> list[tuple[click.Command, click.Context]]:
    found = []
    for name, command in group.commands.items():
        ctx = click.Context(command, info_name=name, parent=parent)
        found.append((command, ctx))
        if isinstance(command, click.Group):
            found += _commands(command, ctx)
    return found


def test_usage_lines_bracket_the_optional_arguments() -> None:
    """`jixiao example --help` showed "jixiao example [OPTIONS] NAME", as if NAME were required;
    without it the command lists the examples."""
    assert " example [OPTIONS] [NAME]\n" in run("example", "--help").output
    for command, ctx in _commands(cli, click.Context(cli, info_name="jixiao")):
        usage = " ".join(command.collect_usage_pieces(ctx))
        for param in command.get_params(ctx):
            if isinstance(param, click.Argument):
                bare = (param.metavar or param.name or "").strip("[]")
                assert (f"[{bare}" in usage) == (not param.required), (ctx.command_path, usage)


# --- documentation ---------------------------------------------------------------------------

def test_every_command_and_option_has_chinese_help() -> None:
    group_ctx = click.Context(cli, info_name="jixiao")
    assert CJK.search(cli.help or "")
    assert set(cli.commands) >= {"check", "example", "frameworks", "new", "schema"}
    for param in cli.get_params(group_ctx):
        assert isinstance(param, click.Option) and CJK.search(param.help or ""), param.name
    for name, command in cli.commands.items():
        assert CJK.search(command.help or ""), name
        assert CJK.search(command.get_short_help_str(limit=200)), name
        ctx = click.Context(command, info_name=name, parent=group_ctx)
        for param in command.get_params(ctx):
            if isinstance(param, click.Option):
                assert CJK.search(param.help or ""), f"{name} {param.name}"


def test_the_cli_extra_brings_the_openssl_ed25519() -> None:
    """`pip install jixiao[cli]` (the CLI and `jixiao serve`) verifies through OpenSSL: pure-Python
    Ed25519 costs 5 ms a signature, which would cap consolidation near 300 bundles a second."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    needs = [Requirement(r) for r in requires("jixiao") or []]
    cli_needs = {r.name for r in needs if r.marker is not None and r.marker.evaluate({"extra": "cli"})}
    assert "cryptography" in cli_needs


USAGE_ERRORS = [
    (("bundle", "x.json"), "缺少选项 '--key'"),
    (("nosuch",), "没有“nosuch”这个命令"),
    (("consolidate", "x", "--score-total", "foo", "-o", "y.xlsx"), "“foo”不是可选值之一"),
    (("review", "s.db", "--unit", "X", "--year", "abc", "--score", "1", "--key", "k"), "“abc”不是有效的数字"),
    (("review", "s.db", "--unit", "X", "--year", "1990", "--score", "1", "--key", "k"), "不在允许的范围"),
    (("check", "a.json", "b.json"), "多出了参数（b.json）"),
    (("serve", "--port"), "选项“--port”后面需要一个值"),
    (("consolidate", "x", "--scor", "weighted"), "是不是想输入"),
]


@pytest.mark.parametrize(("args", "words"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_are_chinese(args: tuple[str, ...], words: str) -> None:
    """A mistyped command meets Chinese, not click's English ("Error: Missing option …")."""
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert words in result.output, result.output
    assert result.output.count("错误：") == 1, result.output
    assert "Error" not in result.output and "Usage" not in result.output, result.output


def test_help_headings_are_chinese() -> None:
    text = run("review", "--help").output
    assert text.startswith("用法： ") and "\n选项:\n" in text, text
    assert "[必填]" in text and "required" not in text, text


def test_a_failed_site_build_says_why_not_internal_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The build's own errors (here a missing form page; likewise a sha256 mismatch or a failed
    snapshot) are told as they are, with exit 2, not as "程序内部错误（SiteBuildError…）"."""
    from jixiao import sitebuild

    module = sitebuild.build_module()

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise module.SiteBuildError("缺少填报页 site_src/docs/fill.md")

    monkeypatch.setattr(module, "build_site", fail)
    result = CliRunner().invoke(cli, ["build-site", "-o", str(tmp_path / "site")])
    assert result.exit_code == 2
    assert result.output.strip() == "无法构建站点：缺少填报页 site_src/docs/fill.md"
    # Anything else stays an internal error: the bridge names only the build's own failures.
    monkeypatch.setattr(module, "build_site", lambda *a, **k: {}["missing"])
    result = CliRunner().invoke(cli, ["build-site", "-o", str(tmp_path / "site")])
    assert result.exit_code == 2 and "程序内部错误（KeyError" in result.output
