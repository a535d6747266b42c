"""What every command shares: Chinese help options, exit codes, the guard, output text and the clock.

Exit codes are an interface for scripts: 0 no error finding, 1 at least one error finding, 2 input
that cannot be read (one Chinese line on stderr, never a traceback unless JIXIAO_DEBUG=1).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import re
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


# Characters that are not text, by code point (Unicode 14's Cc, Cf, Cs, Zl, Zp): C0, DEL and C1
# controls (ESC and the 8-bit CSI start the sequences that move the cursor, wipe lines and
# recolour), format characters (bidi overrides reorder a line, zero-width ones hide), lone
# surrogates (an undecodable file name) and the line separators.
_CONTROLS = r"\x00-\x1f"
_NOT_TEXT = (r"\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
             r"\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
             r"\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
_HIDDEN = re.compile(f"[{_CONTROLS}{_NOT_TEXT}]")
_HIDDEN_IN_JSON = re.compile(f"[{_NOT_TEXT}]")  # json.dumps escapes C0 itself


def dumps(data: Any) -> str:
    """JSON for stdout; characters that are not text are \\u-escaped (the same string to a reader)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _HIDDEN_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}" if m.group() <= "\uffff"
                               else json.dumps(m.group()).strip('"'), text)


def shown(text: object) -> str:
    """Text from a user, a bundle or a folder listing as the terminal may show it: characters that
    are not text become visible escapes (\\x1b, \\u202e), so a typed unit name cannot redraw the
    lines around it (a refused bundle printed as "通过") or disguise itself."""
    return _HIDDEN.sub(lambda m: ascii(m.group())[1:-1], str(text))


def one_line(text: object) -> str:
    """`shown`, on one line: every run of whitespace, line breaks included, becomes one space."""
    return shown(" ".join(str(text).split()))


def guard(prefix: Callable[[dict[str, Any]], str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn every failure of a command into one line on stderr and exit 2 (with `--json`, also
    `{"error": message}` on stdout)."""

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
            message = one_line(prefix(kwargs) + reason)
            click.echo(message, err=True)
            if kwargs.get("as_json"):  # a script reading stdout gets an answer it can parse, not nothing
                click.echo(dumps({"error": message}))
            sys.exit(EXIT_UNREADABLE)

        return guarded

    return wrap


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)  # the clock belongs to the door


def now_text() -> str:
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_at_option(text: str | None) -> str | datetime.datetime:
    """`--signed-at` as given (now when absent), refused in Chinese when it is not a time with its
    zone, or lies more than a day ahead of this computer's clock: a bundle dated in the future
    would count over every correction the unit signs before that date, so the store and
    consolidation refuse it."""
    if text is None:
        return utc_now()
    from ..bundle.payload import beijing_time, signed_at_text, signed_later_than

    try:
        value = signed_at_text(text)
    except ValueError as exc:
        raise InputError(f"--signed-at：{exc}") from None
    if signed_later_than(value, utc_now()) is not None:  # the very rule consolidation and the store apply
        raise InputError(f"--signed-at：签名时间（北京时间 {beijing_time(value)[:16]}）"
                         f"比现在晚一天以上，不能是将来的时间（这样的材料收件和汇总都会拒收）")
    return value


def china_today() -> datetime.date:
    from ..bundle.payload import CHINA

    return utc_now().astimezone(CHINA).date()


PASSPHRASE_OPTION = click.option("--passphrase-env", metavar="VAR", default=None,
                                 help="私钥口令所在的环境变量名（口令不写在命令行上）")
