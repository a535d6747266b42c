"""What every command shares: Chinese help options, exit codes, the guard, output text and the clock.

Exit codes are an interface for scripts: 0 no error finding, 1 at least one error finding, 2 input
that cannot be read (one Chinese line on stderr, never a traceback unless JIXIAO_DEBUG=1).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from ..catalog import UnknownName
from ..io.errors import InputError

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2

P = ParamSpec("P")
R = TypeVar("R")


def _chinese_help(option: click.Option | None) -> click.Option | None:
    if option is not None:
        option.help = "显示本帮助并退出"
    return option


class Command(click.Command):
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _chinese_help(super().get_help_option(ctx))


class Group(click.Group):
    command_class = Command

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _chinese_help(super().get_help_option(ctx))


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def one_line(text: str) -> str:
    return " ".join(text.split())


def guard(prefix: Callable[[dict[str, Any]], str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
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
            click.echo(one_line(prefix(kwargs) + reason), err=True)
            sys.exit(EXIT_UNREADABLE)

        return guarded

    return wrap


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)  # the clock belongs to the door


def now_text() -> str:
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


def china_today() -> datetime.date:
    from ..bundle.payload import CHINA

    return utc_now().astimezone(CHINA).date()


PASSPHRASE_OPTION = click.option("--passphrase-env", metavar="VAR", default=None,
                                 help="私钥口令所在的环境变量名（口令不写在命令行上）")
