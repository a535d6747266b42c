"""The `jixiao` command line: a thin door onto the library.

Commands only parse arguments, call the library and print. Exit codes are an interface for
scripts: 0 no error finding, 1 at least one error finding, 2 input that cannot be read (one
Chinese line on stderr, never a traceback unless JIXIAO_DEBUG=1).

The group and `check` live here; the other commands live beside it by what they work on: forms
(example, frameworks, new, schema), keys and bundles (keygen, keysheet, bundle, verify), the
roster, the sites (build-site, serve, publish) and consolidation (consolidate, review, county, store).
"""

from __future__ import annotations

import io
import sys

import click

from .. import __version__
from ..catalog import load_framework
from ..rules.evaluate import evaluate
from .chinese import install

install()  # click's own words in Chinese, before the commands below are declared

from . import bundles, consolidation, forms, roster, sites  # noqa: E402
from .base import EXIT_ERRORS, EXIT_OK, Group, dumps, guard  # noqa: E402

__all__ = ["cli", "main"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]},
             help="部门整体支出绩效自评：检查自评表、查看示例与指标体系、生成空白表。")
@click.version_option(__version__, "-V", "--version", prog_name="jixiao", help="显示版本并退出")
def cli() -> None:
    """The command group; the subcommands are in the modules beside this one."""


@cli.command(short_help="检查自评表：总分、等级、执行率与问题清单",
             help="检查一份自评表（.json 或 .xlsx；“-”表示标准输入）：计算总分、等级与执行率，列出错误和警告。"
             "退出码：0 无错误，1 有错误，2 文件无法读取。")
@click.argument("file", metavar="FILE")
@click.option("--framework", "framework", metavar="ID", default=None,
              help="按此指标体系评分（默认用自评表中填写的指标体系）")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出结果")
@guard(lambda kw: f"无法读取 {'标准输入' if kw['file'] == '-' else kw['file']}：")
def check(file: str, framework: str | None, as_json: bool) -> None:
    submission = forms.read_submission(file, framework)
    result = evaluate(submission, load_framework(framework or submission.framework_id))
    if as_json:
        click.echo(dumps(forms.report_json(submission, result)))
    else:
        forms.print_report(submission, result)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


for _command in (forms.example, forms.frameworks, forms.new, forms.schema,
                 bundles.keygen, bundles.keysheet, bundles.bundle, bundles.verify, roster.roster,
                 sites.build_site_command, sites.serve, sites.publish,
                 consolidation.consolidate, consolidation.review, consolidation.county, consolidation.store):
    cli.add_command(_command)


def _utf8_stdio() -> None:
    """UTF-8 output whatever the locale or code page, so redirected output is always UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")


def main() -> None:
    """Console entry point `jixiao`."""
    _utf8_stdio()
    cli(prog_name="jixiao")
