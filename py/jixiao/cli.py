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
                  "离线缓存清单。下载的文件均按 build/artefacts.lock.json 校验 sha256。")
@click.option("-o", "--output", "output", metavar="DIR", required=True, help="输出文件夹（构建成功后整体替换）")
@_FRAMEWORK_OPTION
@_guard(lambda kw: "无法构建站点：")
def build_site_command(output: str, framework: str) -> None:
    from . import sitebuild

    check_framework_id(framework)
    report = sitebuild.build_module().build_site(Path(output), framework_id=framework, progress=lambda line: None)
    click.echo(report.summary())


@cli.command(short_help="运行门户：http://127.0.0.1:8000",
             help="运行门户网站。默认先构建站点（源码未变时跳过），再在 http://127.0.0.1:8000 提供服务；"
                  "给出 --cert 与 --key 时使用 HTTPS（内网部署请用 HTTPS，否则浏览器不允许离线缓存与 WebCrypto）。")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--site", "site", metavar="DIR", default=None,
              help="直接提供已构建的站点文件夹（不重新构建）")
@click.option("--cert", "cert", metavar="CERT", default=None, help="HTTPS 证书文件（PEM）")
@click.option("--key", "key", metavar="KEY", default=None, help="HTTPS 私钥文件（PEM）")
@_FRAMEWORK_OPTION
@_guard(lambda kw: "无法启动门户：")
def serve(host: str, port: int, site: str | None, cert: str | None, key: str | None, framework: str) -> None:
    from . import server, sitebuild

    if (cert is None) != (key is None):
        raise InputError("HTTPS 需要同时给出 --cert 与 --key")
    for path in (cert, key):
        if path is not None and not Path(path).is_file():
            raise InputError(f"找不到文件 {path}")
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
    click.echo(f"门户已启动：{scheme}://{host}:{port}/  （按 Ctrl+C 停止）", err=True)
    server.run(site_dir, host=host, port=port, certfile=cert, keyfile=key)


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


def _utf8_stdio() -> None:
    """UTF-8 output whatever the locale or code page, so redirected output is always UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")


def main() -> None:
    """Console entry point `jixiao`."""
    _utf8_stdio()
    cli(prog_name="jixiao")
