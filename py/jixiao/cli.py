"""The `jixiao` command line: a thin door onto the library.

Commands only parse arguments, call the library and print. Exit codes are an interface for
scripts: 0 no error finding, 1 at least one error finding, 2 input that cannot be read (one
Chinese line on stderr, never a traceback unless JIXIAO_DEBUG=1).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

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


# --- keys, signed bundles, verification, roster ----------------------------------------------

_KEY_FILE_LIMIT = 1_000_000


def _passphrase(env_name: str | None) -> str | None:
    """The passphrase from the named environment variable (never from the command line)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise InputError(f"环境变量 {env_name} 未设置：它应存放私钥口令")
    if not value:
        raise InputError(f"环境变量 {env_name} 为空：口令不能为空")
    return value


def _write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create `path` with `data`; an existing file is never overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise InputError(f"{path} 已存在：不会覆盖已有文件，请换一个文件名或先移走原文件") from None
    except OSError as exc:
        raise InputError(f"无法创建 {path}（{exc.strerror or exc}）") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace(path: Path, data: bytes) -> None:
    """Rewrite `path` all at once (a half-written roster must never be left behind)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    _write_new(temporary, data)
    os.replace(temporary, path)


def _read_small(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > _KEY_FILE_LIMIT:
            raise InputError(f"{what}过大，不像是{what}")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what}不存在：{path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} 是文件夹，不是{what}") from None
    except OSError as exc:
        raise InputError(f"无法读取{what}（{exc.strerror or exc}）") from None


def _load_key(path: str, passphrase_env: str | None) -> Any:
    from .bundle.keys import key_file_is_encrypted, read_key_file

    data = _read_small(Path(path), "密钥文件")
    passphrase = _passphrase(passphrase_env)
    if passphrase is None and key_file_is_encrypted(data):
        if not sys.stdin.isatty():
            raise InputError("私钥已用口令加密：请用 --passphrase-env 指定存放口令的环境变量")
        passphrase = click.prompt("私钥口令", hide_input=True)
    return read_key_file(data, passphrase)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)  # the clock belongs to the door


def _china_today() -> datetime.date:
    from .bundle.payload import CHINA

    return _utc_now().astimezone(CHINA).date()


_ALG_OPTION = click.option("--alg", type=click.Choice(["ed25519", "sm2"]), default="ed25519", show_default=True,
                           help="签名算法：ed25519，或 sm2（国密 SM2 签名、SM3 杂凑）")
_PASSPHRASE_OPTION = click.option("--passphrase-env", metavar="VAR", default=None,
                                  help="私钥口令所在的环境变量名（口令不写在命令行上）")


@cli.command(short_help="生成单位签名密钥，显示公钥指纹",
             help="生成一把签名密钥，写入新的密钥文件（已存在则拒绝覆盖），并显示公钥指纹。"
             "指定 --passphrase-env 时私钥用口令加密，否则私钥不加密、文件权限为 0600。")
@click.option("-o", "--output", "output", metavar="KEYFILE", required=True, help="要创建的密钥文件")
@_ALG_OPTION
@_PASSPHRASE_OPTION
@click.option("--unit-code", default="", help="单位编码（记入密钥文件，便于识别）")
@click.option("--unit-name", default="", help="单位名称（记入密钥文件，便于识别）")
@_guard(lambda kw: "无法生成密钥：")
def keygen(output: str, alg: str, passphrase_env: str | None, unit_code: str, unit_name: str) -> None:
    from .bundle.crypto import ALG_NAMES
    from .bundle.keys import PrivateKey, key_file_json

    path = Path(output)
    if path.exists():
        raise InputError(f"{path} 已存在：不会覆盖已有文件（丢失或覆盖私钥将无法再签名）")
    passphrase = _passphrase(passphrase_env)
    key = PrivateKey.generate(alg)
    text = key_file_json(key, passphrase, unit_code=unit_code, unit_name=unit_name,
                         created_at=_utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    _write_new(path, text.encode("utf-8"), 0o600)
    click.echo(f"已生成 {ALG_NAMES[alg]} 密钥：{path}")
    click.echo(f"公钥指纹：{key.public.fingerprint}")
    if passphrase is None:
        click.echo("提示：私钥未加密，请妥善保管该文件（可用 --passphrase-env 加密）。", err=True)


@cli.command(short_help="生成公钥登记表（HTML，打印盖章后交主管部门）",
             help="根据密钥文件中的公钥生成可打印的公钥登记表：单位名称、单位编码、算法、公钥指纹、二维码与盖章栏。"
             "只读取公钥，不需要口令。")
@click.argument("keyfile", metavar="KEYFILE")
@click.option("-o", "--output", "output", metavar="SHEET.html", required=True, help="要创建的登记表文件")
@click.option("--unit-code", default=None, help="单位编码（默认取密钥文件中记录的）")
@click.option("--unit-name", default=None, help="单位名称（默认取密钥文件中记录的）")
@_guard(lambda kw: "无法生成公钥登记表：")
def keysheet(keyfile: str, output: str, unit_code: str | None, unit_name: str | None) -> None:
    from .bundle.keys import key_file_labels, read_public_key_file
    from .render.report_html import render_key_sheet

    data = _read_small(Path(keyfile), "密钥文件")
    labels = key_file_labels(data)
    code, name = unit_code or labels["unit_code"], unit_name or labels["unit_name"]
    if not code.strip() or not name.strip():
        raise InputError("请用 --unit-code 和 --unit-name 填写单位编码与单位名称")
    key = read_public_key_file(data)
    html = render_key_sheet(key, name, code, created_at=str(_china_today()))
    _write_new(Path(output), html.encode("utf-8"))
    click.echo(f"已生成公钥登记表：{output}")
    click.echo(f"公钥指纹：{key.fingerprint}")


@cli.command(short_help="签名并打包自评材料（.zip：签名 .json、.xlsx、.html）",
             help="用单位密钥签名一份自评表（.json 或 .xlsx），生成下载包："
             "“{年度}-{单位编码}-{单位名称}-整体支出绩效自评.zip”，"
             "内含签名文件 .json、附件6/附件7 表格 .xlsx 与可打印网页 .html。"
             "-o 以“/”结尾或为已有文件夹时，按规范文件名写入其中；不覆盖已有文件。")
@click.argument("file", metavar="SUBMISSION")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="单位的密钥文件（jixiao keygen 生成）")
@click.option("-o", "--output", "output", metavar="OUT.zip", required=True, help="输出的 .zip 文件，或文件夹/")
@_PASSPHRASE_OPTION
@click.option("--signed-at", default=None, metavar="TIME",
              help="签名时间（ISO 8601，如 2022-03-01T10:00:00+08:00；默认为当前时间）")
@_guard(lambda kw: f"无法生成签名材料（{kw['file']}）：")
def bundle(file: str, keyfile: str, output: str, passphrase_env: str | None, signed_at: str | None) -> None:
    from .bundle.archive import build_bundle, bundle_stem

    submission = load_submission(Path(file))
    framework = load_framework(submission.framework_id)
    target = Path(output)
    into_folder = output.endswith(("/", os.sep)) or target.is_dir()
    planned = target / f"{bundle_stem(submission)}.zip" if into_folder else target
    if planned.exists():  # refused before the passphrase is asked for
        raise InputError(f"{planned} 已存在：不会覆盖已有文件")
    key = _load_key(keyfile, passphrase_env)
    try:
        name, data = build_bundle(submission, framework, key, signed_at or _utc_now())
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if into_folder:
        target.mkdir(parents=True, exist_ok=True)
        target = target / name
    _write_new(target, data)
    result = evaluate(submission, framework)
    click.echo(f"已生成签名材料：{target}")
    click.echo(f"公钥指纹：{key.public.fingerprint}")
    click.echo(f"总分：{plain(result.total) if result.total is not None else '—'}，等级：{result.grade or '—'}")
    if result.errors:
        click.echo(f"注意：自评表仍有 {len(result.errors)} 处错误（jixiao check 可查看），已照原样签名。", err=True)


_MARKS = {"ok": "✓", "fail": "✗", "skip": "–", "warn": "!"}
_COLOURS = {"ok": "green", "fail": "red", "skip": "yellow", "warn": "yellow"}


@cli.command(short_help="离线核验签名材料（.zip、.json 或 .xlsx）",
             help="核验一个或多个签名材料：签名是否有效、公钥指纹、（指定 --roster 时）公钥是否登记在该单位名下、"
             "内容格式、评分复算，以及表格与网页在签名后是否被修改。"
             "退出码：0 全部通过，1 有未通过的文件，2 有文件无法读取。")
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("--roster", "roster_path", metavar="ROSTER", default=None, help="主管部门的公钥名册文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出核验结果")
@_guard(lambda kw: "无法核验：")
def verify(files: tuple[str, ...], roster_path: str | None, as_json: bool) -> None:
    from .bundle.roster import load_roster
    from .bundle.verify import verify_path

    roster = load_roster(_read_small(Path(roster_path), "名册文件")) if roster_path else None
    verdicts = [verify_path(Path(f), roster) for f in files]
    if as_json:
        click.echo(_dumps([v.to_json() for v in verdicts]))
    else:
        if roster is not None and roster.problem is not None:
            click.echo(click.style(f"公钥名册有问题：{roster.problem}", fg="red", bold=True))
        for verdict in verdicts:
            state = "通过" if verdict.ok else ("无法读取" if not verdict.readable else "未通过")
            colour = "green" if verdict.ok else "red"
            click.echo(f"{verdict.name}：{click.style(state, fg=colour, bold=True)}")
            for check_line in verdict.checks:
                mark = click.style(_MARKS[check_line.status], fg=_COLOURS[check_line.status], bold=True)
                click.echo(f"  {mark} {_one_line(check_line.message)}")
        if len(verdicts) > 1:
            passed = sum(v.ok for v in verdicts)
            unreadable = sum(not v.readable for v in verdicts)
            click.echo(f"共 {len(verdicts)} 个文件：通过 {passed}，未通过 {len(verdicts) - passed - unreadable}，"
                       f"无法读取 {unreadable}")
    if any(not v.readable for v in verdicts):
        sys.exit(EXIT_UNREADABLE)
    sys.exit(EXIT_OK if all(v.ok for v in verdicts) else EXIT_ERRORS)


@cli.group(cls=_Group, short_help="维护主管部门的公钥名册（init/add/revoke/list）",
           help="维护主管部门的公钥名册：单位编码 → 登记的公钥、有效期与状态。名册由主管部门自己的密钥签名，"
           "核验时（jixiao verify --roster）名册签名缺失或无效即判为未通过。")
def roster() -> None:
    """The roster subcommands."""


def _roster_for_update(path: Path, key: Any) -> Any:
    from .bundle.roster import load_roster

    loaded = load_roster(_read_small(path, "名册文件"))
    if loaded.problem is not None:
        raise InputError(f"{loaded.problem}：拒绝在其上修改（请核实名册来源，必要时重新建立）")
    if loaded.doc.owner.fingerprint != key.public.fingerprint_hex:
        raise InputError(f"这把密钥不是名册所有者的（所有者指纹 {loaded.owner_fingerprint}）")
    return loaded.doc


def _parse_day(text: str | None, what: str) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what}“{text}”不是日期（应为 2022-01-01 的格式）") from None


_ROSTER_KEY_OPTION = click.option("--key", "keyfile", metavar="KEYFILE", required=True,
                                  help="主管部门自己的密钥文件（用于签署名册）")


@roster.command("init", help="新建一份空的公钥名册，由主管部门的密钥签名（已存在则拒绝覆盖）。")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--name", required=True, help="名册所有者（主管部门）名称")
@_PASSPHRASE_OPTION
@_guard(lambda kw: "无法新建名册：")
def roster_init(path: str, keyfile: str, name: str, passphrase_env: str | None) -> None:
    from .bundle.roster import new_roster, roster_json

    if Path(path).exists():
        raise InputError(f"{path} 已存在：不会覆盖已有名册")
    key = _load_key(keyfile, passphrase_env)
    doc = new_roster(key, name, _utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    _write_new(Path(path), roster_json(doc, key).encode("utf-8"))
    click.echo(f"已新建公钥名册：{path}（所有者 {name}，指纹 {key.public.fingerprint}）")


@roster.command("add", help="把一个单位的公钥登记进名册。公钥可直接粘贴（或扫描登记表二维码所得的文字），"
                "也可取自单位的密钥文件；建议用 --fingerprint 输入登记表上盖章的指纹以作核对。")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--unit-code", required=True, help="单位编码")
@click.option("--unit-name", required=True, help="单位名称")
@click.option("--public-key", default=None, help="公钥：“算法:base64”或登记表二维码的内容")
@click.option("--key-file", "unit_key_file", default=None, help="或：单位的密钥文件（只读取其中的公钥）")
@click.option("--fingerprint", default=None, help="登记表上的公钥指纹，用于核对（可四位一组书写）")
@click.option("--valid-from", default=None, help="启用日期（默认今天，格式 2022-01-01）")
@click.option("--valid-to", default=None, help="有效期截止日期（默认长期有效）")
@click.option("--note", default="", help="备注")
@_PASSPHRASE_OPTION
@_guard(lambda kw: "无法登记公钥：")
def roster_add(path: str, keyfile: str, unit_code: str, unit_name: str, public_key: str | None,
               unit_key_file: str | None, fingerprint: str | None, valid_from: str | None,
               valid_to: str | None, note: str, passphrase_env: str | None) -> None:
    from .bundle.keys import parse_fingerprint, public_key_from_text, read_public_key_file
    from .bundle.roster import enrol, roster_json

    if (public_key is None) == (unit_key_file is None):
        raise InputError("请用 --public-key 或 --key-file 二者之一提供单位公钥")
    unit_key = (public_key_from_text(public_key) if public_key is not None
                else read_public_key_file(_read_small(Path(str(unit_key_file)), "单位密钥文件")))
    if fingerprint is not None and parse_fingerprint(fingerprint) != unit_key.fingerprint_hex:
        raise InputError(f"公钥指纹与登记表不符：公钥的指纹是 {unit_key.fingerprint}")
    key = _load_key(keyfile, passphrase_env)
    doc = _roster_for_update(Path(path), key)
    start = _parse_day(valid_from, "启用日期") or _china_today()
    doc = enrol(doc, unit_code, unit_key, unit_name=unit_name, valid_from=start,
                valid_to=_parse_day(valid_to, "截止日期"), note=note,
                updated_at=_utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    _replace(Path(path), roster_json(doc, key).encode("utf-8"))
    click.echo(f"已登记：{unit_code} {unit_name}，公钥指纹 {unit_key.fingerprint}，自 {start} 起")


@roster.command("revoke", help="注销名册中某单位的一把公钥（如私钥丢失）；此后用它签名的材料一律不予通过。")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--unit-code", required=True, help="单位编码")
@click.option("--fingerprint", required=True, help="要注销的公钥指纹")
@click.option("--date", "on", default=None, help="注销日期（默认今天）")
@_PASSPHRASE_OPTION
@_guard(lambda kw: "无法注销公钥：")
def roster_revoke(path: str, keyfile: str, unit_code: str, fingerprint: str, on: str | None,
                  passphrase_env: str | None) -> None:
    from .bundle.keys import group_hex, parse_fingerprint
    from .bundle.roster import revoke, roster_json

    digits = parse_fingerprint(fingerprint)
    key = _load_key(keyfile, passphrase_env)
    doc = _roster_for_update(Path(path), key)
    day = _parse_day(on, "注销日期") or _china_today()
    doc = revoke(doc, unit_code, digits, day, updated_at=_utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    _replace(Path(path), roster_json(doc, key).encode("utf-8"))
    click.echo(f"已注销：{unit_code} 的公钥 {group_hex(digits)}（{day}）")


@roster.command("list", help="列出名册中登记的单位与公钥，并核验名册本身的签名（签名无效时退出码为 1）。")
@click.argument("path", metavar="ROSTER")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出名册内容与签名状态")
@_guard(lambda kw: "无法读取名册：")
def roster_list(path: str, as_json: bool) -> None:
    from .bundle.keys import group_hex
    from .bundle.roster import load_roster

    loaded = load_roster(_read_small(Path(path), "名册文件"))
    doc = loaded.doc
    if as_json:
        click.echo(_dumps({"signature_ok": loaded.trusted, "problem": loaded.problem,
                           **doc.model_dump(mode="json")}))
    else:
        state = "有效" if loaded.trusted else f"无效：{loaded.problem}"
        click.echo(f"公钥名册：{doc.owner.name}（所有者指纹 {loaded.owner_fingerprint}），名册签名{state}")
        click.echo(f"更新时间：{doc.updated_at or '—'}")
        for code, entries in sorted(doc.units.items()):
            for entry in entries:
                until = entry.valid_to or "长期"
                status = "有效" if entry.status == "active" else f"已注销（{entry.revoked_on}）"
                click.echo(f"{code}\t{entry.unit_name}\t{entry.alg}\t{group_hex(entry.fingerprint)}\t"
                           f"{entry.valid_from} 至 {until}\t{status}")
    sys.exit(EXIT_OK if loaded.trusted else EXIT_ERRORS)


_FRAMEWORK_OPTION = click.option("--framework", "framework", metavar="ID", default="jinxian-2021",
                                 show_default=True, help="填报页使用的指标体系")


@cli.command("build-site", short_help="构建离线门户站点（含 Pyodide 与评分程序）",
             help="构建离线门户：文档页面、按指标体系生成的填报页、Pyodide 运行环境与本项目的 wheel、"
                  "离线缓存清单。下载的文件均按 build/artefacts.lock.json 校验 sha256。"
                  "加 --portable 构建便携版：整个文件夹可拷到 U 盘，双击 index.html 即可在浏览器中填报、评分、"
                  "签名导出和核验，不需要服务器和网络。")
@click.option("-o", "--output", "output", metavar="DIR", required=True, help="输出文件夹（构建成功后整体替换）")
@_FRAMEWORK_OPTION
@click.option("--portable", is_flag=True, help="构建便携版（双击 index.html 打开，file://，无需服务器）")
@click.option("--zip", "make_zip", is_flag=True, help="另外打包为 DIR.zip（解压后得到同名文件夹）")
@_guard(lambda kw: "无法构建站点：")
def build_site_command(output: str, framework: str, portable: bool, make_zip: bool) -> None:
    from . import sitebuild

    check_framework_id(framework)
    module = sitebuild.build_module()
    report = module.build_site(Path(output), framework_id=framework, portable=portable, progress=lambda line: None)
    click.echo(report.summary())
    if make_zip:
        folder = report.out_dir
        made = module.portable_mod.zip_folder(folder, folder.with_name(folder.name + ".zip"))
        click.echo(f"已打包：{made}（{made.stat().st_size / 1e6:.1f} MB）")


@cli.command(short_help="运行门户：http://127.0.0.1:8000（--store 时同时接收单位提交的签名材料）",
             help="运行门户网站。默认先构建站点（源码未变时跳过），再在 http://127.0.0.1:8000 提供服务；"
                  "给出 --cert 与 --key 时使用 HTTPS（内网部署请用 HTTPS，否则浏览器不允许离线缓存与 WebCrypto）。"
                  "给出 --store 时同时开启收件：各单位在填报页导出签名材料后可直接提交（POST /api/bundles），"
                  "核验通过的原样存入该数据库；主管部门的管理页面 /admin/（查看、复核、下载附件4）须凭管理口令。"
                  "管理口令取自 --token-file，或环境变量 JIXIAO_SUPERVISOR_TOKEN；两者都没有时，"
                  "使用数据库旁的 STORE.token（首次启动时生成随机口令写入，权限 0600，之后沿用，从不覆盖）。")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--site", "site", metavar="DIR", default=None,
              help="直接提供已构建的站点文件夹（不重新构建）")
@click.option("--cert", "cert", metavar="CERT", default=None, help="HTTPS 证书文件（PEM）")
@click.option("--key", "key", metavar="KEY", default=None, help="HTTPS 私钥文件（PEM）")
@_FRAMEWORK_OPTION
@click.option("--store", "store_path", metavar="STORE", default=None,
              help="收件数据库（SQLite，不存在则新建）：给出时开启收件与管理页面")
@click.option("--token-file", "token_file", metavar="FILE", default=None,
              help="管理口令文件（第一行为口令，至少 8 个字符）；默认取环境变量 JIXIAO_SUPERVISOR_TOKEN 或 STORE.token")
@click.option("--review-key", "review_key", metavar="KEYFILE", default=None,
              help="主管部门的密钥文件：在管理页面签署复核意见（不给出则只能查看）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="主管部门的公钥名册：单位公钥须登记在册才接收")
@_PASSPHRASE_OPTION
@_guard(lambda kw: "无法启动门户：")
def serve(host: str, port: int, site: str | None, cert: str | None, key: str | None, framework: str,
          store_path: str | None, token_file: str | None, review_key: str | None, roster_path: str | None,
          passphrase_env: str | None) -> None:
    from . import server, sitebuild

    if (cert is None) != (key is None):
        raise InputError("HTTPS 需要同时给出 --cert 与 --key")
    for path in (cert, key):
        if path is not None and not Path(path).is_file():
            raise InputError(f"找不到文件 {path}")
    if store_path is None:
        given = [name for name, value in (("--token-file", token_file), ("--review-key", review_key),
                                          ("--roster", roster_path)) if value is not None]
        if given:
            raise InputError(f"{'、'.join(given)} 只在开启收件时有效：请同时用 --store 指定收件数据库")
    routes, lines = _intake(store_path, token_file, review_key, roster_path, passphrase_env) if store_path else ([], [])
    if site is not None:
        site_dir = Path(site)
        sitebuild.check_built_site(site_dir)
    else:
        check_framework_id(framework)
        site_dir = sitebuild.DEFAULT_SITE
        click.echo("正在检查站点是否需要重新构建…", err=True)
        built, report = sitebuild.ensure_site(site_dir, framework, progress=lambda line: None)
        if built:
            click.echo(report.summary(), err=True)
    scheme = "https" if cert else "http"
    base = f"{scheme}://{host}:{port}"
    click.echo(f"门户已启动：{base}/  （按 Ctrl+C 停止）", err=True)
    for line in lines:
        click.echo(line.replace("{base}", base), err=True)
    if routes and scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(click.style("注意：收件在普通 HTTP 上运行，管理口令以明文经过网络；"
                               "内网部署请用 --cert/--key 启用 HTTPS。", fg="yellow"), err=True)
    server.run(site_dir, host=host, port=port, certfile=cert, keyfile=key, extra_routes=routes)


def _intake(store_path: str, token_file: str | None, review_key: str | None, roster_path: str | None,
            passphrase_env: str | None) -> tuple[list[Any], list[str]]:
    """The intake routes for `serve --store`, and the lines to print once the server starts."""
    from .intake import (
        TOKEN_ENV,
        check_token,
        create_token_file,
        default_token_path,
        intake_routes,
        read_token_file,
        token_file_too_open,
    )
    from .store import Store

    path = Path(store_path)
    if path.is_dir():
        raise InputError(f"{path} 是文件夹：--store 应为数据库文件（如 收件.sqlite）")
    if not path.parent.is_dir():
        raise InputError(f"收件数据库所在的文件夹不存在：{path.parent}")
    lines: list[str] = []
    if token_file is not None:
        where = Path(token_file)
        token = read_token_file(where)
        source = f"管理口令：取自 {where}"
    elif os.environ.get(TOKEN_ENV) is not None:
        token = os.environ[TOKEN_ENV].strip()
        check_token(token, f"环境变量 {TOKEN_ENV} 中的管理口令")
        where = None
        source = f"管理口令：取自环境变量 {TOKEN_ENV}"
    else:
        where = default_token_path(path)
        token, created = create_token_file(where)
        source = (f"管理口令：已生成并保存在 {where}（权限 0600；查看：cat {where}）" if created
                  else f"管理口令：取自 {where}")
    if where is not None and token_file_too_open(where):
        lines.append(click.style(f"注意：管理口令文件 {where} 其他用户也可读取，建议 chmod 600 {where}", fg="yellow"))
    roster = _load_roster_option(roster_path)
    signer = _load_key(review_key, passphrase_env) if review_key else None
    store = Store(path)
    lines[:0] = [f"收件已开启：单位在填报页导出签名材料后可直接提交（{{base}}/api/bundles），存入 {path}",
                 "主管部门管理页面：{base}/admin/（须凭管理口令；浏览器询问时用户名任意，密码填口令）", source]
    if roster is not None:
        lines.append(f"公钥名册：{roster.doc.owner.name}（单位公钥须登记在册才接收）")
    if signer is not None:
        lines.append(f"复核签名密钥：公钥指纹 {signer.public.fingerprint}")
        if roster is not None and roster.doc.owner.fingerprint != signer.public.fingerprint_hex:
            lines.append(click.style("注意：复核签名密钥不是名册所有者的密钥，对照名册汇总时这些复核意见不会被采用",
                                     fg="yellow"))
    else:
        lines.append("未给出 --review-key：管理页面可查看和下载附件4，但不能签署复核意见")
    return intake_routes(store, token, review_key=signer, roster=roster), lines


@cli.command(short_help="生成公开网站：经核验的材料的公开版（脱敏、重新签名）",
             help="把签名材料（.zip/.json/.xlsx，或含 .zip 的文件夹）生成静态公开网站：按年度和主管部门的索引、"
                  "每个单位的附件6/附件7、分数与等级、公钥指纹和可下载的公开版签名材料，以及核验说明与离线全文搜索。"
                  "每份材料先核验，未通过的不公开并列出原因；公开的是删去联系人、电话等信息后由发布机关密钥重新签名的公开版，"
                  "原件不公开。退出码：0 全部公开，1 有材料未通过核验，2 无法生成。")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--output", "output", metavar="DIR", required=True,
              help="输出文件夹（新建，或替换之前发布的网站）")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="发布机关的密钥文件（签名公开版）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="公钥名册：给出时，单位公钥须登记在名册中才公开")
@_PASSPHRASE_OPTION
@click.option("--signed-at", default=None, metavar="TIME",
              help="公开版的签名时间（ISO 8601；默认为当前时间）")
@_guard(lambda kw: "无法生成公开网站：")
def publish(inputs: tuple[str, ...], output: str, keyfile: str, roster_path: str | None,
            passphrase_env: str | None, signed_at: str | None) -> None:
    from .bundle.roster import load_roster
    from .publish import publish as build_public_site

    roster = load_roster(_read_small(Path(roster_path), "名册文件")) if roster_path else None
    if roster is not None and roster.problem is not None:
        raise InputError(f"公钥名册有问题：{roster.problem}")
    key = _load_key(keyfile, passphrase_env)
    report = build_public_site([Path(p) for p in inputs], Path(output), key, signed_at or _utc_now(), roster)
    for entry in report.published:
        sub = entry.copy.submission
        click.echo(f"已公开：{sub.year} {_one_line(sub.unit_name)}（{_one_line(sub.unit_code)}）"
                   f"总分 {entry.total}，等级 {entry.grade} → units/{entry.slug}.html")
        if entry.slug in report.removed:
            click.echo(f"  已删去：{'、'.join(report.removed[entry.slug][:8])}")
    for rejected in report.rejected:
        click.echo(click.style(f"未公开：{rejected.source}", fg="red", bold=True), err=True)
        for reason in rejected.reasons[:5]:
            click.echo(f"  ✗ {_one_line(reason)}", err=True)
    click.echo(f"公开网站：{report.out_dir}（{len(report.published)} 个单位，未公开 {len(report.rejected)} 份）；"
               f"公开版签名公钥指纹：{key.public.fingerprint}")
    sys.exit(EXIT_ERRORS if report.rejected or not report.published else EXIT_OK)


# --- consolidation: 附件4, reviews, the county table, the store -----------------------------------

_SCORE_TOTAL_HELP = ("合计行的分数：weighted 按全年预算数加权平均（默认）、mean 简单平均、own 取部门本级的分数")


def _write_output(path: Path, data: bytes, force: bool) -> None:
    """Write an output file; an existing one is replaced only with --force (atomically)."""
    if path.exists() and not force:
        raise InputError(f"{path} 已存在：不会覆盖已有文件（可加 --force 覆盖，或换一个文件名）")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data) if path.exists() else _write_new(path, data)


def _load_roster_option(roster_path: str | None) -> Any:
    from .bundle.roster import load_roster

    if roster_path is None:
        return None
    roster = load_roster(_read_small(Path(roster_path), "名册文件"))
    if roster.problem is not None:
        raise InputError(f"公钥名册有问题：{roster.problem}")
    return roster


def _progress_bar(enabled: bool, label: str) -> Any:
    """A rich progress bar on stderr (a TTY only); returns (callback, context manager)."""
    if not enabled or not sys.stderr.isatty():
        return None, contextlib.nullcontext()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=Console(stderr=True), transient=True)
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update, progress


def _row_line(row: Any) -> str:
    def show(value: Any, suffix: str = "") -> str:
        return "—" if value is None else f"{plain(value)}{suffix}"

    def money(value: Any) -> str:
        return "—" if value is None else f"{value:.2f}"

    rate = "—" if row.rate is None else f"{row.rate:.2f}%"
    return (f"{money(row.budget)} / {money(row.executed)} / {rate} / 自评 {show(row.self_score, '分')} / "
            f"复核 {show(row.review_score, '分')}")


def _now_text() -> str:
    return _utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


@cli.command(short_help="汇总签名材料，生成附件4部门整体支出自评情况汇总表",
             help="汇总本部门及所属单位的签名材料（.zip/.json/.xlsx、含材料的文件夹，或数据库 .sqlite），"
                  "生成附件4《部门整体支出自评情况汇总表》（.xlsx）及其 JSON"
                  "（-o 同名 .json，给出 --key 时签名，报财政局用）。"
                  "每份材料先核验（签名、名册、格式、评分复算、表格中的签名数据），未通过的不汇总并列出原因；"
                  "同一单位同一年度以签名时间最新的一份为准。部门本级列第一行，所属单位按单位编码依次往下；"
                  "合计行金额求和，执行率＝Σ执行数/Σ预算数。输入中的复核意见（.json）"
                  "与已有汇总表（附件4 .xlsx 或其 .json）也会读取：前者填入复核分数，后者逐行与单位材料核对。"
                  "材料分属多个年度或主管部门时，须用 --year、--department 选择。"
                  "退出码：0 全部通过，1 有材料未通过或需核对，2 无法汇总。")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--output", "output", metavar="OUT.xlsx", required=True,
              help="输出的附件4表格（同名 .json 一并生成）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None, help="主管部门的公钥名册：单位公钥须登记在册")
@click.option("--score-total", "score_total", type=click.Choice(["weighted", "mean", "own"]), default="weighted",
              show_default=True, help=_SCORE_TOTAL_HELP)
@click.option("--department", default=None, metavar="NAME", help="只汇总该主管部门的材料，表头“主管部门”亦填此名称")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="只汇总该年度的材料")
@click.option("--key", "keyfile", metavar="KEYFILE", default=None, help="主管部门的密钥文件：签名汇总表 .json")
@_PASSPHRASE_OPTION
@click.option("--deep", is_flag=True, help="逐格比对表格与网页（每份约 0.1 秒）；默认只核验签名数据本身")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="并行核验的进程数（默认为 CPU 核数）")
@click.option("--force", is_flag=True, help="覆盖已有的输出文件")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出汇总结果")
@_guard(lambda kw: "无法汇总：")
def consolidate(inputs: tuple[str, ...], output: str, roster_path: str | None, score_total: str,
                department: str | None, year: int | None, keyfile: str | None, passphrase_env: str | None,
                deep: bool, jobs: int | None, force: bool, as_json: bool) -> None:
    from .consolidate.collect import consolidate as run
    from .consolidate.collect import expand
    from .consolidate.summary import SummaryError, summary_json
    from .render.summary_xlsx import write_summary_xlsx

    target = Path(output)
    side = target.with_suffix(".json")
    for path in (target, side):
        if path.exists() and not force:
            raise InputError(f"{path} 已存在：不会覆盖已有文件（可加 --force 覆盖，或换一个文件名）")
    roster = _load_roster_option(roster_path)
    key = _load_key(keyfile, passphrase_env) if keyfile else None
    sources, missing = expand(inputs)
    update, bar = _progress_bar(not as_json and len(sources) >= 50, "核验签名材料")
    with bar:
        try:
            outcome = run(sources, roster=roster, rule=score_total,  # type: ignore[arg-type]  # click.Choice department=department, year=year, deep=deep,
                          workers=jobs or os.cpu_count() or 1, progress=update, generated_at=_now_text(),
                          rejected=missing)
        except SummaryError as exc:
            raise InputError(exc.message) from None
    summary = outcome.summary
    assert summary is not None
    _write_output(target, write_summary_xlsx(summary, differences=outcome.differences), force)
    _write_output(side, summary_json(summary, key).encode("utf-8"), force)
    needs_look = bool(outcome.rejected or outcome.differences or any(r.flags for r in summary.rows))
    if as_json:
        click.echo(_dumps({"output": str(target), "summary_json": str(side), "signed": key is not None,
                           "summary": summary.model_dump(mode="json"),
                           "rejected": [r.model_dump() for r in outcome.rejected],
                           "superseded": outcome.superseded, "left_out": outcome.left_out,
                           "differences": outcome.differences}))
    else:
        click.echo(f"{summary.title}（主管部门：{summary.department or '—'}）→ {target}")
        for row in summary.rows:
            click.echo(f"  {row.index:>3} {_one_line(row.unit_name)}（{row.unit_kind}）{_row_line(row)}")
            for flag in row.flags:
                click.echo(click.style(f"      ! {_one_line(flag)}", fg="yellow"))
        click.echo(f"  合计 {_row_line(summary.total)}（分数：{SCORE_RULES_TEXT[score_total]}）")
        for note in summary.notes:
            click.echo(click.style(f"  说明：{note}", fg="yellow"))
        signed = (f"已签名，公钥指纹 {key.public.fingerprint}" if key is not None
                  else "未签名：报财政局前请加 --key 重新生成")
        click.echo(f"汇总表 JSON：{side}（{signed}）")
        for message in outcome.differences:
            click.echo(click.style(f"与已有汇总表不符：{_one_line(message)}", fg="red"))
        if outcome.rejected:
            click.echo(click.style(f"未汇总 {len(outcome.rejected)} 份：", fg="red", bold=True))
            for item in outcome.rejected:
                click.echo(f"  ✗ {item.name}：{_one_line('；'.join(item.reasons[:3]))}")
        for line in outcome.superseded:
            click.echo(f"已被更新的材料取代：{_one_line(line)}")
        for line in outcome.left_out:
            click.echo(f"未纳入本表：{_one_line(line)}")
        click.echo(f"共汇总 {len(summary.rows)} 个单位；核验 {len(outcome.checked)} 份材料，未通过 "
                   f"{sum(not c.ok for c in outcome.checked)} 份")
    sys.exit(EXIT_ERRORS if needs_look else EXIT_OK)


SCORE_RULES_TEXT = {"weighted": "按全年预算数加权平均", "mean": "简单平均", "own": "取部门本级的分数"}


def _indicator_scores(values: tuple[str, ...]) -> dict[str, str]:
    scores: dict[str, str] = {}
    for value in values:
        name, sep, score = value.rpartition("=")
        if not sep or not name.strip():
            raise InputError(f"--indicator 应写作“指标名称=分数”或“指标路径=分数”：{value[:40]}")
        scores[name.strip()] = score.strip()
    return scores


@cli.command(short_help="主管部门复核：为单位的签名材料记录一份签名的复核分数",
             help="为数据库中某单位某年度当前有效的签名材料记录复核（主管部门复核分数，0–100；可逐项给出三级指标的复核得分，"
                  "不超过该指标分值），由主管部门密钥签名后存入数据库。复核从不修改：再次复核即记录一份新的，取代之前的，历次均保留。")
@click.argument("store_path", metavar="STORE")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="单位编码")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="年度")
@click.option("--score", required=True, metavar="S", help="主管部门复核分数（0–100）")
@click.option("--indicator", "indicators", multiple=True, metavar="NAME=S",
              help="某个三级指标的复核得分（可多次给出；名称重复时用路径，如 indicators.0.groups.1.items.0=2）")
@click.option("--note", default="", help="复核意见")
@click.option("--reviewer", default="", help="复核人")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="主管部门的密钥文件（签名复核意见）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None, help="公钥名册：单位材料须通过名册核对")
@_PASSPHRASE_OPTION
@_guard(lambda kw: "无法记录复核：")
def review(store_path: str, unit_code: str, year: int, score: str, indicators: tuple[str, ...], note: str,
           reviewer: str, keyfile: str, roster_path: str | None, passphrase_env: str | None) -> None:
    from .consolidate.check import check_bundle
    from .consolidate.review import implied_total, make_review, sign_review
    from .store import Store

    roster = _load_roster_option(roster_path)
    key = _load_key(keyfile, passphrase_env)
    with Store(Path(store_path), create=False) as store:
        rows = [r for r in store.latest(year) if r.unit_code == unit_code.strip()]
        if not rows:
            raise InputError(f"数据库中没有单位 {unit_code} {year} 年度通过核验的签名材料")
        data = store.data(rows[0].sha256)
        checked = check_bundle(rows[0].sha256, data or b"", roster)
        if checked.unit is None:
            raise InputError(f"该单位的签名材料现在核验不通过：{'；'.join(checked.reasons[:2])}")
        previous = store.review_rows(unit_code.strip(), year)
        doc = make_review(checked.unit, score, reviewed_at=_now_text(), indicators=_indicator_scores(indicators),
                          note=note, reviewer=reviewer, supersedes=previous[0].sha256 if previous else None)
        signed = sign_review(doc, key)
        store.add_review(signed)
    unit = checked.unit
    click.echo(f"已记录复核：{unit.unit_name}（{unit.unit_code}）{year} 年度，复核分数 {plain(signed.score)}"
               f"（自评 {plain(unit.self_score) if unit.self_score is not None else '—'}）")
    click.echo(f"复核签名公钥指纹：{key.public.fingerprint}；复核文件 sha256 {signed.sha256}")
    if previous:
        click.echo(f"取代此前的 {len(previous)} 次复核中最新的一次"
                   f"（{previous[0].reviewed_at}，{previous[0].score} 分）；历次复核均保留")
    implied = implied_total(unit, doc)
    if implied is not None and implied != signed.score:
        click.echo(click.style(f"注意：按指标复核得分合计为 {plain(implied)}，与复核分数 {plain(signed.score)} 不一致",
                               fg="yellow"), err=True)


@cli.command(short_help="财政局汇总：各主管部门签名的汇总表 → 全县汇总表",
             help="把各主管部门签名的附件4汇总表（jixiao consolidate --key 生成的 .json，或含这些文件的文件夹）"
                  "汇总成一张县级表：每个主管部门一节（各自的合计），最后是总计"
                  "（金额求和，执行率＝Σ执行数/Σ预算数，分数按 --score-total）。"
                  "未签名或签名无效的汇总表不予汇总；给出 --roster 时，签名公钥须登记在该部门本级的单位编码名下。"
                  "-o 同名 .json 一并生成（给出 --key 时签名）。"
                  "退出码：0 全部采用，1 有汇总表未采用或需核对，2 无法汇总。")
@click.argument("inputs", metavar="SUMMARY...", nargs=-1, required=True)
@click.option("-o", "--output", "output", metavar="OUT.xlsx", required=True, help="输出的县级汇总表")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="财政局的公钥名册（登记各部门的签名公钥）")
@click.option("--score-total", "score_total", type=click.Choice(["weighted", "mean"]), default="weighted",
              show_default=True, help="总计分数：weighted 按全年预算数加权平均、mean 简单平均")
@click.option("--region", default="", help="汇总单位名称（如 进贤县财政局）")
@click.option("--key", "keyfile", metavar="KEYFILE", default=None, help="财政局的密钥文件：签名县级汇总 .json")
@_PASSPHRASE_OPTION
@click.option("--force", is_flag=True, help="覆盖已有的输出文件")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出汇总结果")
@_guard(lambda kw: "无法汇总：")
def county(inputs: tuple[str, ...], output: str, roster_path: str | None, score_total: str, region: str,
           keyfile: str | None, passphrase_env: str | None, force: bool, as_json: bool) -> None:
    from .bundle.envelope import sign_payload
    from .canonical import canonical_json
    from .consolidate.county import build_county
    from .consolidate.summary import RejectedInput, SummaryError, read_summary
    from .render.summary_xlsx import write_county_xlsx

    target = Path(output)
    side = target.with_suffix(".json")
    for path in (target, side):
        if path.exists() and not force:
            raise InputError(f"{path} 已存在：不会覆盖已有文件（可加 --force 覆盖，或换一个文件名）")
    roster = _load_roster_option(roster_path)
    key = _load_key(keyfile, passphrase_env) if keyfile else None
    files: list[Path] = []
    rejected: list[Any] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*.json") if p.is_file())
        elif item.is_file():
            files.append(item)
        else:
            rejected.append(RejectedInput(name=str(item), reasons=["文件或文件夹不存在"]))
    signed_summaries = []
    for path in files:
        try:
            signed_summaries.append(read_summary(_read_small(path, "汇总表文件")))
        except (SummaryError, InputError) as exc:
            rejected.append(RejectedInput(name=str(path), reasons=[exc.message]))
    try:
        result = build_county(signed_summaries, rule=score_total, region=region, roster=roster,  # type: ignore[arg-type]
                              generated_at=_now_text(), rejected=rejected)
    except SummaryError as exc:
        raise InputError(exc.message) from None
    document = result.model_dump(mode="json")
    text = (sign_payload("application/vnd.jixiao.county+json; version=1", canonical_json(document), [key]).to_json()
            if key is not None else json.dumps(document, ensure_ascii=False, indent=2)) + "\n"
    _write_output(target, write_county_xlsx(result), force)
    _write_output(side, text.encode("utf-8"), force)
    flagged = result.rejected or any(s.flags for s in result.sections)
    if as_json:
        click.echo(_dumps({"output": str(target), "county_json": str(side), "county": document}))
    else:
        click.echo(f"{result.title}（{region or '县级汇总'}）→ {target}")
        for section in result.sections:
            click.echo(f"  {section.department}：{len(section.rows)} 个单位，合计 {_row_line(section.total)}")
            for flag in section.flags:
                click.echo(click.style(f"      ! {_one_line(flag)}", fg="yellow"))
        click.echo(f"  总计 {_row_line(result.total)}（分数：{SCORE_RULES_TEXT[score_total]}）")
        for note in result.notes:
            click.echo(f"  说明：{note}")
        for refused in result.rejected:
            click.echo(click.style(f"  ✗ 未采用 {refused.name}：{_one_line('；'.join(refused.reasons))}", fg="red"))
    sys.exit(EXIT_ERRORS if flagged else EXIT_OK)


@cli.group(cls=_Group, short_help="数据库：收存签名材料（add）与查看（list）",
           help="主管部门的数据库（SQLite）：原样保存收到的每份签名材料及其核验结果，只增不改。"
                "jixiao serve 的收件接口、jixiao store add 都写入同一个数据库。")
def store() -> None:
    """The store subcommands."""


@store.command("add", help="核验并收存签名材料（文件或文件夹）；未通过核验的不收存并列出原因，已收存的相同文件不重复。"
                          "退出码：0 全部收存（或已存在），1 有材料未通过。")
@click.argument("store_path", metavar="STORE")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("--roster", "roster_path", metavar="ROSTER", default=None, help="主管部门的公钥名册")
@click.option("--deep", is_flag=True, help="逐格比对表格与网页")
@_guard(lambda kw: "无法收存：")
def store_add(store_path: str, inputs: tuple[str, ...], roster_path: str | None, deep: bool) -> None:
    from .consolidate.check import check_bundle
    from .consolidate.collect import FOLDER_SUFFIXES
    from .store import Store

    roster = _load_roster_option(roster_path)
    failed = 0
    with Store(Path(store_path)) as db:
        for item in map(Path, inputs):
            how: Literal["cli", "folder"] = "folder" if item.is_dir() else "cli"
            files = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES) \
                if item.is_dir() else [item]
            for path in files:
                try:
                    data = _read_small_bundle(path)
                except InputError as exc:
                    failed += 1
                    click.echo(f"✗ {path}：{exc.message}")
                    continue
                checked = check_bundle(str(path), data, roster, deep=deep)
                if not checked.ok:
                    failed += 1
                    click.echo(f"✗ {path}：{_one_line('；'.join(checked.reasons[:3]))}")
                    continue
                inserted, row = db.add_bundle(data, checked, how=how, filename=path.name, deep=deep)
                state = "已收存" if inserted else "已存在"
                click.echo(f"{state} {path}：{row.unit_name}（{row.unit_code}）{row.year} 年度，"
                           f"签名时间 {row.signed_at}")
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


def _read_small_bundle(path: Path) -> bytes:
    from .bundle.verify import MAX_FILE_BYTES

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"文件过大（上限 {MAX_FILE_BYTES // 1024 // 1024} MB）")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("文件不存在") from None
    except OSError as exc:
        raise InputError(f"读取失败（{exc.strerror or exc}）") from None


@store.command("list", help="列出各单位各年度当前有效的签名材料（同一单位以签名时间最新者为准）及复核分数。")
@click.argument("store_path", metavar="STORE")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="只列该年度")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出")
@_guard(lambda kw: "无法读取数据库：")
def store_list(store_path: str, year: int | None, as_json: bool) -> None:
    from .store import Store

    with Store(Path(store_path), create=False) as db:
        rows = db.latest(year)
        reviews = {(r.unit_code, r.year): r for r in reversed(db.review_rows(year=year))}
        versions = {(r.unit_code, r.year): db.versions(r.unit_code, r.year or 0) for r in rows}
    if as_json:
        click.echo(_dumps([{"unit_code": r.unit_code, "unit_name": r.unit_name, "unit_kind": r.unit_kind,
                            "department": r.department, "year": r.year, "signed_at": r.signed_at,
                            "sha256": r.sha256, "self_score": r.self_score, "grade": r.grade,
                            "versions": versions[(r.unit_code, r.year)],
                            "review_score": (rv.score if (rv := reviews.get((r.unit_code, r.year or 0))) else None)}
                           for r in rows]))
        return
    for r in rows:
        rv = reviews.get((r.unit_code, r.year or 0))
        click.echo(f"{r.year}\t{r.department}\t{r.unit_code}\t{r.unit_name}\t{r.unit_kind}\t自评 {r.self_score or '—'}"
                   f"\t复核 {rv.score if rv else '—'}\t签名 {r.signed_at}\t共 {versions[(r.unit_code, r.year)]} 份")


def _utf8_stdio() -> None:
    """UTF-8 output whatever the locale or code page, so redirected output is always UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")


def main() -> None:
    """Console entry point `jixiao`."""
    _utf8_stdio()
    cli(prog_name="jixiao")
