"""Keys and signed bundles: make a unit's key and its registration sheet, sign a form into a
bundle, and verify bundles offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..catalog import load_framework
from ..io.errors import InputError
from ..io.load import load_submission
from ..model.numbers import plain
from ..rules.evaluate import evaluate
from .base import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_UNREADABLE,
    PASSPHRASE_OPTION,
    Command,
    china_today,
    dumps,
    guard,
    now_text,
    one_line,
    shown,
    signed_at_option,
)
from .files import load_key, make_folder, output_path, passphrase_from_env, read_roster, read_small, write_new

_ALG_OPTION = click.option("--alg", type=click.Choice(["ed25519", "sm2"]), default="ed25519", show_default=True,
                           help="签名算法：ed25519，或 sm2（国密 SM2 签名、SM3 杂凑）")


@click.command(cls=Command, short_help="生成单位签名密钥，显示公钥指纹",
             help="生成一把签名密钥，写入新的密钥文件（已存在则拒绝覆盖），并显示公钥指纹。"
             "指定 --passphrase-env 时私钥用口令加密，否则私钥不加密、文件权限为 0600。")
@click.option("-o", "--output", "output", metavar="KEYFILE", required=True, help="要创建的密钥文件")
@_ALG_OPTION
@PASSPHRASE_OPTION
@click.option("--unit-code", default="", help="单位编码（记入密钥文件，便于识别）")
@click.option("--unit-name", default="", help="单位名称（记入密钥文件，便于识别）")
@guard(lambda kw: "无法生成密钥：")
def keygen(output: str, alg: str, passphrase_env: str | None, unit_code: str, unit_name: str) -> None:
    from ..bundle.crypto import ALG_NAMES
    from ..bundle.keys import PrivateKey, key_file_json

    path = output_path(output, "密钥文件")
    if path.exists():
        raise InputError(f"{path} 已存在：不会覆盖已有文件（丢失或覆盖私钥将无法再签名）")
    passphrase = passphrase_from_env(passphrase_env)
    key = PrivateKey.generate(alg)
    text = key_file_json(key, passphrase, unit_code=unit_code, unit_name=unit_name,
                         created_at=now_text())
    write_new(path, text.encode("utf-8"), 0o600)
    click.echo(f"已生成 {ALG_NAMES[alg]} 密钥：{shown(path)}")
    click.echo(f"公钥指纹：{key.public.fingerprint}")
    if passphrase is None:
        click.echo("提示：私钥未加密，请妥善保管该文件（可用 --passphrase-env 加密）。", err=True)


@click.command(cls=Command, short_help="生成公钥登记表（HTML，打印盖章后交主管部门）",
             help="根据密钥文件中的公钥生成可打印的公钥登记表：单位名称、单位编码、算法、公钥指纹、二维码与盖章栏。"
             "只读取公钥，不需要口令。")
@click.argument("keyfile", metavar="KEYFILE")
@click.option("-o", "--output", "output", metavar="SHEET.html", required=True, help="要创建的登记表文件")
@click.option("--unit-code", default=None, help="单位编码（默认取密钥文件中记录的）")
@click.option("--unit-name", default=None, help="单位名称（默认取密钥文件中记录的）")
@guard(lambda kw: "无法生成公钥登记表：")
def keysheet(keyfile: str, output: str, unit_code: str | None, unit_name: str | None) -> None:
    from ..bundle.keys import key_file_labels, read_public_key_file
    from ..render.report_html import render_key_sheet

    target = output_path(output, "登记表文件（如 登记表.html）")
    if target.suffix.lower() not in (".html", ".htm"):  # a page: named .pdf it opened in no viewer
        raise InputError(f"-o 应为 .html 文件（如 登记表.html）：登记表是网页，用浏览器打开后打印；"
                         f"{shown(target.name)} 不是")
    data = read_small(Path(keyfile), "密钥文件")
    labels = key_file_labels(data)
    code, name = unit_code or labels["unit_code"], unit_name or labels["unit_name"]
    if not code.strip() or not name.strip():
        raise InputError("请用 --unit-code 和 --unit-name 填写单位编码与单位名称")
    key = read_public_key_file(data)
    html = render_key_sheet(key, name, code, created_at=str(china_today()))
    write_new(target, html.encode("utf-8"))
    click.echo(f"已生成公钥登记表：{shown(target)}")
    click.echo(f"公钥指纹：{key.fingerprint}")


@click.command(cls=Command, short_help="签名并打包自评材料（.zip：签名 .json、.xlsx、.html）",
             help="用单位密钥签名一份自评表（.json 或 .xlsx），生成下载包："
             "“{年度}-{单位编码}-{单位名称}-整体支出绩效自评.zip”，"
             "内含签名文件 .json、附件6/附件7 表格 .xlsx 与可打印网页 .html。"
             "-o 以“/”结尾或为已有文件夹时，按规范文件名写入其中；不覆盖已有文件。")
@click.argument("file", metavar="SUBMISSION")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="单位的密钥文件（jixiao keygen 生成）")
@click.option("-o", "--output", "output", metavar="OUT.zip", required=True, help="输出的 .zip 文件，或文件夹/")
@PASSPHRASE_OPTION
@click.option("--signed-at", default=None, metavar="TIME",
              help="签名时间（ISO 8601，如 2022-03-01T10:00:00+08:00；默认为当前时间）")
@guard(lambda kw: f"无法生成签名材料（{kw['file']}）：")
def bundle(file: str, keyfile: str, output: str, passphrase_env: str | None, signed_at: str | None) -> None:
    from ..bundle.archive import build_bundle, bundle_stem
    from ..bundle.keys import key_file_labels

    target = output_path(output, ".zip 文件或文件夹")
    submission = load_submission(Path(file))
    framework = load_framework(submission.framework_id)
    into_folder = output.endswith(("/", os.sep)) or target.is_dir()
    if not into_folder and target.suffix.lower() != ".zip":  # a zip named .txt opens in no archive tool
        raise InputError(f"-o 应为 .zip 文件或文件夹（以“/”结尾）：{shown(target.name)} 不是 .zip")
    planned = target / f"{bundle_stem(submission)}.zip" if into_folder else target
    if planned.exists():  # refused before the passphrase is asked for
        raise InputError(f"{planned} 已存在：不会覆盖已有文件")
    when = signed_at_option(signed_at)
    key = load_key(keyfile, passphrase_env)
    labelled = key_file_labels(read_small(Path(keyfile), "密钥文件"))["unit_code"].strip()
    if labelled and labelled != submission.unit_code.strip():  # the supervisor's roster will refuse it
        click.echo(f"注意：密钥文件是单位 {one_line(labelled)} 生成的，自评表的单位编码为 "
                   f"{one_line(submission.unit_code)}：主管部门按单位编码核对公钥，这份材料可能不予通过。", err=True)
    try:
        name, data = build_bundle(submission, framework, key, when)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if into_folder:
        make_folder(target)
        target = target / name
    write_new(target, data)
    result = evaluate(submission, framework)
    click.echo(f"已生成签名材料：{shown(target)}")
    click.echo(f"公钥指纹：{key.public.fingerprint}")
    click.echo(f"总分：{plain(result.total) if result.total is not None else '—'}，等级：{result.grade or '—'}")
    if result.errors:
        click.echo(f"注意：自评表仍有 {len(result.errors)} 处错误（jixiao check 可查看），已照原样签名。", err=True)


_MARKS = {"ok": "✓", "fail": "✗", "skip": "–", "warn": "!"}
_COLOURS = {"ok": "green", "fail": "red", "skip": "yellow", "warn": "yellow"}


@click.command(cls=Command, short_help="离线核验签名材料（.zip、.json 或 .xlsx）",
             help="核验一个或多个签名材料（文件，或含 .zip/.json/.xlsx 的文件夹）：签名是否有效、公钥指纹、"
             "（指定 --roster 时）公钥是否登记在该单位名下、内容格式、评分复算，以及表格与网页在签名后是否被修改。"
             "退出码：0 全部通过，1 有未通过的文件，2 有文件无法读取。")
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("--roster", "roster_path", metavar="ROSTER", default=None, help="主管部门的公钥名册文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出核验结果")
@guard(lambda kw: "无法核验：")
def verify(files: tuple[str, ...], roster_path: str | None, as_json: bool) -> None:
    from ..bundle.verify import Verdict, verify_path
    from ..consolidate.collect import folder_files

    roster = read_roster(roster_path) if roster_path else None
    verdicts: list[Verdict] = []
    for given in map(Path, files):  # a folder: its bundles, as consolidate reads it
        unread: list[tuple[Path, str]] = []
        found = [path for path, _ in folder_files(given, unread)] if given.is_dir() else []
        for path in found:  # named by its path: 甲/材料.zip and 乙/材料.zip both read 材料.zip (QA)
            verdict = verify_path(path, roster)
            verdict.name = str(path)
            verdicts.append(verdict)
        verdicts += [Verdict(str(where)).unreadable(why) for where, why in unread]  # once passed over
        if not found and not unread:  # a file, or an empty folder (reported as unreadable)
            verdicts.append(verify_path(given, roster))
    if as_json:
        click.echo(dumps([v.to_json() for v in verdicts]))
    else:
        if roster is not None and roster.problem is not None:
            click.echo(click.style(f"公钥名册有问题：{one_line(roster.problem)}", fg="red", bold=True))
        for verdict in verdicts:
            state = "通过" if verdict.ok else ("无法读取" if not verdict.readable else "未通过")
            colour = "green" if verdict.ok else "red"
            click.echo(f"{shown(verdict.name)}：{click.style(state, fg=colour, bold=True)}")
            for check_line in verdict.checks:
                mark = click.style(_MARKS[check_line.status], fg=_COLOURS[check_line.status], bold=True)
                click.echo(f"  {mark} {one_line(check_line.message)}")
        if len(verdicts) > 1:
            passed = sum(v.ok for v in verdicts)
            unreadable = sum(not v.readable for v in verdicts)
            click.echo(f"共 {len(verdicts)} 个文件：通过 {passed}，未通过 {len(verdicts) - passed - unreadable}，"
                       f"无法读取 {unreadable}")
    if any(not v.readable for v in verdicts):
        sys.exit(EXIT_UNREADABLE)
    sys.exit(EXIT_OK if all(v.ok for v in verdicts) else EXIT_ERRORS)
