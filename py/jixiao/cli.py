"""The `jixiao` command line: a thin door onto the library.

Commands only parse arguments, call the library and print. Exit codes are an interface for
scripts: 0 no error finding, 1 at least one error finding, 2 input that cannot be read (one
Chinese line on stderr, never a traceback unless JIXIAO_DEBUG=1).
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from . import __version__
from .catalog import UnknownName, example_json, example_names, framework_ids, load_example, load_framework
from .io.errors import InputError
from .io.load import MAX_BYTES, check_framework_id, load_submission, parse_submission_bytes
from .model.blank import blank_submission
from .model.evaluation import Evaluation, Finding
from .model.numbers import plain
from .model.submission import Submission
from .rules.evaluate import evaluate

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2
SEVERITY_NAMES = {"error": "错误", "warning": "警告"}

P = ParamSpec("P")
R = TypeVar("R")


class _Command(click.Command):
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出"
        return option


class _Group(click.Group):
    command_class = _Command

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出"
        return option


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _guard(prefix: Callable[[dict[str, Any]], str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn every failure of a command into one line on stderr and exit 2."""

    def wrap(command: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(command)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return command(*args, **kwargs)
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except BrokenPipeError:
                raise  # click quiets a closed pipe (`jixiao schema | head`)
            except (InputError, UnknownName) as exc:
                error: Exception = exc
                reason = exc.message if isinstance(exc, InputError) else str(exc.args[0])
            except Exception as exc:
                error = exc
                reason = f"程序内部错误（{type(exc).__name__}：{exc}），设置 JIXIAO_DEBUG=1 可查看详情"
            if os.environ.get("JIXIAO_DEBUG") == "1":
                traceback.print_exception(error)
            click.echo(_one_line(prefix(kwargs) + reason), err=True)
            sys.exit(EXIT_UNREADABLE)

        return guarded

    return wrap


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             help="部门整体支出绩效自评：检查自评表、查看示例与指标体系、生成空白表。")
@click.version_option(__version__, "-V", "--version", prog_name="jixiao", help="显示版本并退出")
def cli() -> None:
    """The command group; subcommands below, more (serve, bundle, verify …) to come."""


# --- check ---------------------------------------------------------------------------------

def _read(file: str, framework: str | None) -> Submission:
    if file == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return parse_submission_bytes(data, "stdin", framework)
    return load_submission(Path(file), framework)


def _report_json(submission: Submission, result: Evaluation) -> dict[str, Any]:
    dumped = result.model_dump(mode="json")
    return {
        "unit_name": submission.unit_name,
        "year": submission.year,
        "framework": dumped["framework"],
        "total": dumped["total"],
        "grade": dumped["grade"],
        "execution_rate": dumped["execution_rate"],
        "findings": dumped["findings"],
    }


def _finding_line(f: Finding) -> str:
    label = SEVERITY_NAMES.get(f.severity, f.severity)
    colour = "red" if f.severity == "error" else "yellow"
    return f"{click.style(label, fg=colour, bold=True)} {f.code} {f.path} {_one_line(f.message)}"


def _print_human(submission: Submission, result: Evaluation) -> None:
    dumped = result.model_dump(mode="json")
    who = submission.unit_name.strip() or "（未填单位名称）"
    click.echo(f"{who} · {submission.year} 年度 · 指标体系 {result.framework.id}（{result.framework.version}）")
    click.echo(f"总分：{dumped['total'] or '—'}")
    click.echo(f"等级：{dumped['grade'] or '—'}")
    rate = dumped["execution_rate"]
    click.echo(f"执行率：{rate + '%' if rate is not None else '—'}")
    errors, warnings = result.errors, result.warnings
    if not result.findings:
        click.echo("未发现问题。")
        return
    click.echo(f"发现错误 {len(errors)} 处、警告 {len(warnings)} 处：")
    for f in [*errors, *warnings]:
        click.echo(_finding_line(f))


@cli.command(short_help="检查自评表：总分、等级、执行率与问题清单",
             help="检查一份自评表（.json 或 .xlsx；“-”表示标准输入）：计算总分、等级与执行率，列出错误和警告。"
             "退出码：0 无错误，1 有错误，2 文件无法读取。")
@click.argument("file", metavar="FILE")
@click.option("--framework", "framework", metavar="ID", default=None,
              help="按此指标体系评分（默认用自评表中填写的指标体系）")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出结果")
@_guard(lambda kw: f"无法读取 {'标准输入' if kw['file'] == '-' else kw['file']}：")
def check(file: str, framework: str | None, as_json: bool) -> None:
    submission = _read(file, framework)
    result = evaluate(submission, load_framework(framework or submission.framework_id))
    if as_json:
        click.echo(_dumps(_report_json(submission, result)))
    else:
        _print_human(submission, result)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


# --- example, frameworks, new, schema --------------------------------------------------------

@cli.command(help="输出内置示例自评表（JSON）；不带 NAME 时列出全部示例。")
@click.argument("name", metavar="NAME", required=False)
@_guard(lambda kw: "")
def example(name: str | None) -> None:
    if name is None:
        for known in example_names():
            sample = load_example(known)
            click.echo(f"{known}\t{sample.unit_name} {sample.year} 年度")
        return
    click.echo(example_json(name).rstrip("\n"))


def _level_weights(framework_id: str) -> list[dict[str, Any]]:
    fw = load_framework(framework_id)
    return [{"name": level.name, "weight": None if level.weight is None else plain(level.weight)}
            for level in fw.levels]


@cli.command(help="列出内置指标体系：编号、版本、名称、地区与一级指标权重。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出")
@_guard(lambda kw: "")
def frameworks(as_json: bool) -> None:
    rows: list[dict[str, Any]] = []
    for framework_id in framework_ids():
        fw = load_framework(framework_id)
        rows.append({"id": fw.id, "version": fw.version, "name": fw.name, "region": fw.region,
                     "year": fw.year, "sha256": fw.sha256, "levels": _level_weights(fw.id)})
    if as_json:
        click.echo(_dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['version']}  {row['name']}  {row['region']}")
        click.echo("    " + " / ".join(f"{lv['name']} {lv['weight']}" for lv in row["levels"]))


@cli.command(help="按指标体系输出一份空白自评表（JSON）：一级指标及权重、二级指标、已知三级指标与报告提纲。")
@click.option("--framework", "framework", metavar="ID", required=True, help="指标体系编号（见 jixiao frameworks）")
@click.option("--year", type=click.IntRange(2000, 2100), default=None,
              help="评价年度（默认为上一年）")
@_guard(lambda kw: "")
def new(framework: str, year: int | None) -> None:
    check_framework_id(framework)
    if year is None:
        year = datetime.date.today().year - 1  # the clock belongs to the door, not the library
    blank = blank_submission(load_framework(framework), year)
    click.echo(_dumps(blank.model_dump(mode="json")))


@cli.command(help="输出自评表（Submission）的 JSON Schema。")
@_guard(lambda kw: "")
def schema() -> None:
    click.echo(_dumps(Submission.model_json_schema()))


def _utf8_stdio() -> None:
    """UTF-8 output whatever the locale or code page, so redirected output is always UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")


def main() -> None:
    """Console entry point `jixiao`."""
    _utf8_stdio()
    cli(prog_name="jixiao")
