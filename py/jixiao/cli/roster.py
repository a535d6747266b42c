"""The supervisor's key roster: unit code → registered public keys, validity and status, signed by
the supervisor's own key (init, add, retire, revoke, list).

Two ways to take a key out of use, and they are not interchangeable: `retire` (停用) ends its
validity on a day, so what it signed up to that day still counts (a key lost or no longer used);
`revoke` (注销) makes everything it ever signed fail, earlier material included (a key that may be
in other hands: a signing date is the signer's own word)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import click

from ..io.errors import InputError
from .base import EXIT_ERRORS, EXIT_OK, PASSPHRASE_OPTION, Group, china_today, dumps, guard, now_text, one_line, shown
from .files import load_key, read_roster, read_small, replace, write_new


@click.group(cls=Group, short_help="维护主管部门的公钥名册（init/add/retire/revoke/list）",
           help="维护主管部门的公钥名册：单位编码 → 登记的公钥、有效期与状态。名册由主管部门自己的密钥签名，"
           "核验时（jixiao verify --roster）名册签名缺失或无效即判为未通过。")
def roster() -> None:
    """The roster subcommands."""


def _roster_for_update(path: str, key: Any) -> Any:
    loaded = read_roster(path)
    if loaded.problem is not None:
        raise InputError(f"{loaded.problem}：拒绝在其上修改（请核实名册来源，必要时重新建立）")
    if loaded.doc.owner.fingerprint != key.public.fingerprint_hex:
        raise InputError(f"这把密钥不是名册所有者的（所有者指纹 {loaded.owner_fingerprint}）")
    return loaded.doc


def _save(path: str, doc: Any, key: Any) -> None:
    """Sign the roster and rewrite it all at once."""
    from ..bundle.roster import roster_json

    replace(Path(path), roster_json(doc, key).encode("utf-8"))


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
@PASSPHRASE_OPTION
@guard(lambda kw: "无法新建名册：")
def roster_init(path: str, keyfile: str, name: str, passphrase_env: str | None) -> None:
    from ..bundle.roster import new_roster, roster_json

    if Path(path).exists():
        raise InputError(f"{path} 已存在：不会覆盖已有名册")
    key = load_key(keyfile, passphrase_env)
    doc = new_roster(key, name, now_text())
    write_new(Path(path), roster_json(doc, key).encode("utf-8"))
    click.echo(f"已新建公钥名册：{shown(path)}（所有者 {one_line(name)}，指纹 {key.public.fingerprint}）")


@roster.command("add", help="把一个单位的公钥登记进名册。公钥可直接粘贴（或扫描登记表二维码所得的文字），"
                "也可取自单位的密钥文件；建议用 --fingerprint 输入登记表上盖章的指纹以作核对。")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--unit-code", required=True, help="单位编码")
@click.option("--unit-name", required=True, help="单位名称")
@click.option("--public-key", default=None, help="公钥：“算法:base64”或登记表二维码的内容")
@click.option("--key-file", "unit_key_file", default=None, help="或：单位的密钥文件（只读取其中的公钥）")
@click.option("--fingerprint", default=None, help="登记表上的公钥指纹，用于核对（可四位一组书写）")
@click.option("--valid-from", default=None,
              help="启用日期（格式 2022-01-01；默认取单位密钥文件中的生成日期，只给公钥时取上一年 1 月 1 日）")
@click.option("--valid-to", default=None, help="有效期截止日期（默认长期有效）")
@click.option("--note", default="", help="备注")
@PASSPHRASE_OPTION
@guard(lambda kw: "无法登记公钥：")
def roster_add(path: str, keyfile: str, unit_code: str, unit_name: str, public_key: str | None,
               unit_key_file: str | None, fingerprint: str | None, valid_from: str | None,
               valid_to: str | None, note: str, passphrase_env: str | None) -> None:
    from ..bundle.keys import key_file_labels, parse_fingerprint, public_key_from_text, qr_unit, read_public_key_file
    from ..bundle.payload import in_china
    from ..bundle.roster import enrol

    if (public_key is None) == (unit_key_file is None):
        raise InputError("请用 --public-key 或 --key-file 二者之一提供单位公钥")
    created = None
    if public_key is not None:
        unit_key = public_key_from_text(public_key)
        named = qr_unit(public_key)  # the sheet's QR says whose key it is, as a key file does (QA)
        if named and named != unit_code.strip():
            raise InputError(f"登记表二维码中的单位编码是 {one_line(named)}，"
                             f"与 --unit-code {one_line(unit_code)} 不符：请核对是否拿错了登记表")
    else:
        data = read_small(Path(str(unit_key_file)), "单位密钥文件")
        unit_key = read_public_key_file(data)
        labels = key_file_labels(data)
        made = in_china(labels["created_at"])
        created = made.date() if made is not None else _day_or_none(labels["created_at"])
        if labels["unit_code"].strip() and labels["unit_code"].strip() != unit_code.strip():
            raise InputError(f"密钥文件是单位 {one_line(labels['unit_code'])} {one_line(labels['unit_name'])} 生成的，"
                             f"与 --unit-code {one_line(unit_code)} 不符：请核对是否拿错了密钥文件")
    if fingerprint is not None and parse_fingerprint(fingerprint) != unit_key.fingerprint_hex:
        raise InputError(f"公钥指纹与登记表不符：公钥的指纹是 {unit_key.fingerprint}")
    key = load_key(keyfile, passphrase_env)
    doc = _roster_for_update(path, key)
    # A unit often signs before its key is enrolled (the bundle and the stamped sheet arrive
    # together): "today" as the start refused that bundle. The key file's date comes first; a
    # bare public key says none, so the start is 1 January of last year, the year units report
    # on. (A signing date is the signer's own word: the start date guards no secret.)
    start = _parse_day(valid_from, "启用日期") or created or datetime.date(china_today().year - 1, 1, 1)
    doc = enrol(doc, unit_code, unit_key, unit_name=unit_name, valid_from=start,
                valid_to=_parse_day(valid_to, "截止日期"), note=note,
                updated_at=now_text())
    _save(path, doc, key)
    click.echo(f"已登记：{one_line(unit_code)} {one_line(unit_name)}，公钥指纹 {unit_key.fingerprint}，自 {start} 起")
    if valid_from is None and created is None:
        what = "公钥本身不含生成日期" if public_key is not None else "密钥文件未注明生成日期"
        click.echo(f"（{what}，启用日期取上一年 1 月 1 日 {start}；"
                   f"可用 --valid-from 指定登记表上的日期）", err=True)


RETIRE_HELP = (
    "停用名册中某单位的一把公钥：用于密钥丢失（如清除了浏览器数据、重装系统、硬盘损坏）或换用新密钥后不再使用，"
    "且私钥没有落入他人之手。停用日期（--date，默认今天）当天及以前签署的材料仍然通过，之后签署的不予通过。"
    "注意：签名日期由签名者自己填写，拿到私钥的人可以填一个停用前的日期；私钥若可能已被复制或落入他人之手"
    "（泄露、被盗、密钥文件外传、存有私钥的电脑遗失），请改用 jixiao roster revoke 注销。"
    "停用日期不能早于启用日期、不能晚于今天；已停用的公钥只能把停用日期提前，不能推后；已注销的公钥不能改为停用。")

REVOKE_HELP = (
    "注销名册中某单位的一把公钥：用于私钥可能已落入他人之手（泄露、被盗、密钥文件外传、存有私钥的电脑遗失）。"
    "注销后，用它签名的材料一律不予通过，含注销前签署的材料（签名日期由签名者自己填写，不能据此区分先后），"
    "该单位已交的材料须用新密钥重新签名后再交。密钥只是丢失或不再使用、私钥没有落入他人之手时，"
    "请用 jixiao roster retire 停用。")


@roster.command("retire", help=RETIRE_HELP, short_help="停用一把公钥（丢失或不再使用）：停用日期前签署的材料仍然有效")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--unit-code", required=True, help="单位编码")
@click.option("--fingerprint", required=True, help="要停用的公钥指纹（可四位一组书写）")
@click.option("--date", "on", default=None,
              help="停用日期（默认今天）：当天及以前签署的材料仍然通过，之后签署的不予通过")
@PASSPHRASE_OPTION
@guard(lambda kw: "无法停用公钥：")
def roster_retire(path: str, keyfile: str, unit_code: str, fingerprint: str, on: str | None,
                  passphrase_env: str | None) -> None:
    from ..bundle.keys import group_hex, parse_fingerprint
    from ..bundle.roster import retire

    digits = parse_fingerprint(fingerprint)
    today = china_today()
    day = _parse_day(on, "停用日期") or today
    if day > today:
        raise InputError(f"停用日期 {day} 晚于今天 {today}：停用的是已经丢失或不再使用的密钥，"
                         f"停用日期应为今天或更早")
    key = load_key(keyfile, passphrase_env)
    doc = _roster_for_update(path, key)
    code = unit_code.strip()
    before = next((e for e in doc.units.get(code, []) if e.fingerprint == digits), None)
    doc = retire(doc, unit_code, digits, day, updated_at=now_text())
    _save(path, doc, key)
    earlier = ""
    if before is not None and before.status == "retired":  # `retire` allows only an earlier day
        earlier = f"（停用日期由 {before.valid_to} 提前为 {day}）"
    click.echo(f"已停用：{one_line(code)} 的公钥 {group_hex(digits)}，停用日期 {day}{earlier}。"
               f"{day} 及以前签署的材料仍然有效，之后签署的不予通过")


@roster.command("revoke", help=REVOKE_HELP, short_help="注销一把公钥（可能泄露）：用它签署的材料一律不予通过")
@click.argument("path", metavar="ROSTER")
@_ROSTER_KEY_OPTION
@click.option("--unit-code", required=True, help="单位编码")
@click.option("--fingerprint", required=True, help="要注销的公钥指纹（可四位一组书写）")
@click.option("--date", "on", default=None, help="注销日期（默认今天；只作记录，注销前签署的材料同样不予通过）")
@PASSPHRASE_OPTION
@guard(lambda kw: "无法注销公钥：")
def roster_revoke(path: str, keyfile: str, unit_code: str, fingerprint: str, on: str | None,
                  passphrase_env: str | None) -> None:
    from ..bundle.keys import group_hex, parse_fingerprint
    from ..bundle.roster import revoke

    digits = parse_fingerprint(fingerprint)
    key = load_key(keyfile, passphrase_env)
    doc = _roster_for_update(path, key)
    day = _parse_day(on, "注销日期") or china_today()
    doc = revoke(doc, unit_code, digits, day, updated_at=now_text())
    _save(path, doc, key)
    click.echo(f"已注销：{one_line(unit_code.strip())} 的公钥 {group_hex(digits)}（{day}）。"
               f"用它签署的材料一律不予通过，含注销前签署的材料；该单位已交的材料须用新密钥重新签名后再交")


@roster.command("list", help="列出名册中登记的单位与公钥，并核验名册本身的签名（签名无效时退出码为 1）。")
@click.argument("path", metavar="ROSTER")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出名册内容与签名状态")
@guard(lambda kw: "无法读取名册：")
def roster_list(path: str, as_json: bool) -> None:
    from ..bundle.keys import group_hex

    loaded = read_roster(path)
    doc = loaded.doc
    if as_json:
        click.echo(dumps({"signature_ok": loaded.trusted, "problem": loaded.problem,
                           **doc.model_dump(mode="json")}))
    else:
        state = "有效" if loaded.trusted else f"无效：{one_line(loaded.problem)}"
        click.echo(f"公钥名册：{one_line(doc.owner.name)}（所有者指纹 {loaded.owner_fingerprint}），名册签名{state}")
        click.echo(f"更新时间：{one_line(doc.updated_at or '—')}")
        for code, entries in sorted(doc.units.items()):
            for entry in entries:
                until = entry.valid_to or "长期"
                status = _status_text(entry)
                click.echo(f"{one_line(code)}\t{one_line(entry.unit_name)}\t{entry.alg}\t{group_hex(entry.fingerprint)}\t"
                           f"{entry.valid_from} 至 {until}\t{status}")
    sys.exit(EXIT_OK if loaded.trusted else EXIT_ERRORS)


def _status_text(entry: Any) -> str:
    if entry.status == "revoked":
        return f"已注销（{entry.revoked_on}；所签材料一律不予通过，含注销前签署的）"
    if entry.status == "retired":
        return f"已停用（停用日期 {entry.valid_to}；此后签署的不予通过）"
    return "有效"


def _day_or_none(text: str) -> datetime.date | None:
    """A date written alone ('2026-12-07', as the browser's key files give it), else None."""
    try:
        return datetime.date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None
