"""Self-evaluation forms: reading one and reporting its evaluation (for `check`), and the built-in
examples, frameworks, blank forms and the JSON Schema."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import click

from ..catalog import example_json, example_names, framework_ids, load_example, load_framework
from ..io.load import MAX_BYTES, check_framework_id, load_submission, parse_submission_bytes
from ..model.blank import blank_submission
from ..model.evaluation import Evaluation, Finding
from ..model.numbers import plain
from ..model.submission import Submission
from .base import Command, dumps, guard, one_line

SEVERITY_NAMES = {"error": "错误", "warning": "警告"}


def read_submission(file: str, framework: str | None) -> Submission:
    if file == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return parse_submission_bytes(data, "stdin", framework)
    return load_submission(Path(file), framework)


def report_json(submission: Submission, result: Evaluation) -> dict[str, Any]:
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
    return f"{click.style(label, fg=colour, bold=True)} {f.code} {f.path} {one_line(f.message)}"


def print_report(submission: Submission, result: Evaluation) -> None:
    dumped = result.model_dump(mode="json")
    who = one_line(submission.unit_name) or "（未填单位名称）"
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


@click.command(cls=Command, help="输出内置示例自评表（JSON）；不带 NAME 时列出全部示例。")
@click.argument("name", metavar="[NAME]", required=False)
@guard(lambda kw: "")
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


@click.command(cls=Command, help="列出内置指标体系：编号、版本、名称、地区与一级指标权重。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出")
@guard(lambda kw: "")
def frameworks(as_json: bool) -> None:
    rows: list[dict[str, Any]] = []
    for framework_id in framework_ids():
        fw = load_framework(framework_id)
        rows.append({"id": fw.id, "version": fw.version, "name": fw.name, "region": fw.region,
                     "year": fw.year, "sha256": fw.sha256, "levels": _level_weights(fw.id)})
    if as_json:
        click.echo(dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['version']}  {row['name']}  {row['region']}")
        click.echo("    " + " / ".join(f"{lv['name']} {lv['weight']}" for lv in row["levels"]))


@click.command(cls=Command,
               help="按指标体系输出一份空白自评表（JSON）：一级指标及权重、二级指标、已知三级指标与报告提纲。")
@click.option("--framework", "framework", metavar="ID", required=True, help="指标体系编号（见 jixiao frameworks）")
@click.option("--year", type=click.IntRange(2000, 2100), default=None,
              help="评价年度（默认为上一年）")
@guard(lambda kw: "")
def new(framework: str, year: int | None) -> None:
    check_framework_id(framework)
    if year is None:
        year = datetime.date.today().year - 1  # the clock belongs to the door, not the library
    blank = blank_submission(load_framework(framework), year)
    click.echo(dumps(blank.model_dump(mode="json")))


@click.command(cls=Command, help="输出自评表（Submission）的 JSON Schema。")
@guard(lambda kw: "")
def schema() -> None:
    click.echo(dumps(Submission.model_json_schema()))

