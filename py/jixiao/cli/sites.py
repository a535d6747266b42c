"""The two websites: the portal where units fill in forms (build-site, serve, with the supervisor's
intake under `serve --store`) and the public website of verified bundles (publish)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..io.errors import InputError
from ..io.load import check_framework_id
from .base import EXIT_ERRORS, EXIT_OK, PASSPHRASE_OPTION, Command, guard, one_line, shown, signed_at_option
from .files import check_writable, load_key, load_roster_option, output_path

_FRAMEWORK_OPTION = click.option("--framework", "framework", metavar="ID", default="jinxian-2021",
                                 show_default=True, help="填报页使用的指标体系")


@click.command("build-site", cls=Command, short_help="构建离线门户站点（含 Pyodide 与评分程序）",
             help="构建离线门户：文档页面、按指标体系生成的填报页、Pyodide 运行环境与本项目的 wheel、"
                  "离线缓存清单。下载的文件均按 build/artefacts.lock.json 校验 sha256。"
                  "加 --portable 构建便携版：整个文件夹可拷到 U 盘，双击 index.html 即可在浏览器中填报、评分、"
                  "签名导出和核验，不需要服务器和网络。")
@click.option("-o", "--output", "output", metavar="DIR", required=True,
              help="输出文件夹：新建，或空文件夹，或之前构建的站点（构建成功后整体替换）；其中有别的文件时拒绝")
@_FRAMEWORK_OPTION
@click.option("--portable", is_flag=True, help="构建便携版（双击 index.html 打开，file://，无需服务器）")
@click.option("--zip", "make_zip", is_flag=True,
              help="另外打包为 DIR.zip（解压后得到同名文件夹）；已有的 DIR.zip 不是之前打包的站点时拒绝")
@guard(lambda kw: "无法构建站点：")
def build_site_command(output: str, framework: str, portable: bool, make_zip: bool) -> None:
    from .. import sitebuild

    target = output_path(output, "文件夹").resolve()
    check_framework_id(framework)
    module = sitebuild.build_module()
    with sitebuild.build_failures():
        if make_zip:  # refused before a build of minutes (as build_site refuses the folder)
            module.portable_mod.check_zip_target(target.with_name(target.name + ".zip"), target.name)
        report = module.build_site(target, framework_id=framework, portable=portable, progress=lambda line: None)
    click.echo(shown(report.summary()))
    if make_zip:
        folder = report.out_dir
        with sitebuild.build_failures():
            made = module.portable_mod.zip_folder(folder, folder.with_name(folder.name + ".zip"))
        click.echo(f"已打包：{shown(made)}（{made.stat().st_size / 1e6:.1f} MB）")


@click.command(cls=Command, short_help="运行门户：http://127.0.0.1:8000（--store 时同时接收单位提交的签名材料）",
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
@PASSPHRASE_OPTION
@guard(lambda kw: "无法启动门户：")
def serve(host: str, port: int, site: str | None, cert: str | None, key: str | None, framework: str,
          store_path: str | None, token_file: str | None, review_key: str | None, roster_path: str | None,
          passphrase_env: str | None) -> None:
    from .. import server, sitebuild

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
            click.echo(shown(report.summary()), err=True)
    if cert is not None and key is not None:
        server.check_tls(cert, key)
    sock = server.listen(host, port)
    scheme = "https" if cert else "http"
    base = f"{scheme}://{host}:{port}"
    click.echo(f"门户已启动：{base}/  （按 Ctrl+C 停止）", err=True)
    for line in lines:
        click.echo(line.replace("{base}", base), err=True)
    if routes and scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(click.style("注意：收件在普通 HTTP 上运行，管理口令以明文经过网络；"
                               "内网部署请用 --cert/--key 启用 HTTPS。", fg="yellow"), err=True)
    server.run(site_dir, host=host, port=port, certfile=cert, keyfile=key, extra_routes=routes, sock=sock)


def _intake(store_path: str, token_file: str | None, review_key: str | None, roster_path: str | None,
            passphrase_env: str | None) -> tuple[list[Any], list[str]]:
    """The intake routes for `serve --store`, and the lines to print once the server starts."""
    from ..intake import intake_routes
    from ..intake.files import (
        TOKEN_ENV,
        check_token,
        create_token_file,
        default_token_path,
        read_token_file,
        token_file_too_open,
    )
    from ..store import Store

    path = Path(store_path)
    if path.is_dir():
        raise InputError(f"{path} 是文件夹：--store 应为数据库文件（如 收件.sqlite）")
    if not path.parent.is_dir():
        raise InputError(f"收件数据库所在的文件夹不存在：{path.parent}")
    lines: list[str] = []
    if token_file is not None:
        where = Path(token_file)
        token = read_token_file(where)
        source = f"管理口令：取自 {shown(where)}"
    elif os.environ.get(TOKEN_ENV) is not None:
        token = os.environ[TOKEN_ENV].strip()
        check_token(token, f"环境变量 {TOKEN_ENV} 中的管理口令")
        where = None
        source = f"管理口令：取自环境变量 {TOKEN_ENV}"
    else:
        where = default_token_path(path)
        token, created = create_token_file(where)
        source = (f"管理口令：已生成并保存在 {shown(where)}（权限 0600；查看：cat {shown(where)}）" if created
                  else f"管理口令：取自 {shown(where)}")
    if where is not None and token_file_too_open(where):
        lines.append(click.style(f"注意：管理口令文件 {shown(where)} 其他用户也可读取，建议 chmod 600 {shown(where)}",
                                 fg="yellow"))
    roster = load_roster_option(roster_path)
    signer = load_key(review_key, passphrase_env) if review_key else None
    store = Store(path)
    lines[:0] = [f"收件已开启：单位在填报页导出签名材料后可直接提交（{{base}}/api/bundles），存入 {shown(path)}",
                 "主管部门管理页面：{base}/admin/（须凭管理口令；浏览器询问时用户名任意，密码填口令）", source]
    if roster is not None:
        lines.append(f"公钥名册：{one_line(roster.doc.owner.name)}（单位公钥须登记在册才接收；"
                     f"用 jixiao roster 登记、停用或注销后即时生效，不必重新启动）")
    else:
        lines.append(click.style("注意：未给出 --roster：收件只核验材料的完整性，不核对签名公钥是否登记，"
                                 "任何人都能以某单位的名义提交。建议用 jixiao roster 建立名册后以 --roster 启动",
                                 fg="yellow"))
    if signer is not None and roster is not None and roster.doc.owner.fingerprint != signer.public.fingerprint_hex:
        # Its reviews would be refused by every 附件4 made against the roster, the dashboard's included.
        raise InputError(f"--review-key 不是公钥名册所有者（{one_line(roster.doc.owner.name)}）的密钥："
                         f"用它签署的复核意见对照名册汇总时不会被采用。请改用建立名册时用的主管部门密钥（公钥指纹 "
                         f"{roster.doc.owner.fingerprint[:16]}…）")
    if signer is not None:
        lines.append(f"复核签名密钥：公钥指纹 {signer.public.fingerprint}")
    else:
        lines.append("未给出 --review-key：管理页面可查看和下载附件4，但不能签署复核意见")
    return intake_routes(store, token, review_key=signer, roster=roster,
                         roster_path=Path(roster_path) if roster_path is not None else None), lines


@click.command(cls=Command, short_help="生成公开网站：经核验的材料的公开版（脱敏、重新签名）",
             help="把签名材料（.zip/.json/.xlsx，或含 .zip 的文件夹，或收件数据库 .sqlite/.sqlite3/.db）"
                  "生成静态公开网站：按年度和主管部门的索引、每个单位的附件6/附件7、分数与等级、公钥指纹和可下载的公开版签名材料，"
                  "以及核验说明与离线全文搜索。每份材料先核验，未通过的不公开并列出原因；同一单位同一年度只公开最新的一份。"
                  "收件数据库只读打开、不作任何改动，其中每份材料按文件同样核验。"
                  "数据库中的（及命令行给出的）主管部门复核意见：只有该单位该年度最新的一份、且复核的正是所公开的那份材料时，"
                  "才在页面上公开其复核分数（复核意见的文字不公开）；给出 --roster 时还须由名册所有者签名。"
                  "公开的是删去联系人、电话等信息后由发布机关密钥重新签名的公开版，原件不公开。"
                  "输出文件夹是之前发布的网站时整体替换（其中有本程序未生成的文件时，原网站移至旁边的“.上一版-时间”文件夹）；"
                  "输入、密钥和名册不能放在输出文件夹中。"
                  "退出码：0 全部公开，1 有材料未通过核验、有复核意见未采用或之前公开的单位本次不再公开，2 无法生成。")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--output", "output", metavar="DIR", required=True,
              help="输出文件夹（新建，或替换之前发布的网站）")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="发布机关的密钥文件（签名公开版）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="公钥名册：给出时，单位公钥须登记在名册中才公开，复核意见须由名册所有者签名才采用")
@PASSPHRASE_OPTION
@click.option("--signed-at", default=None, metavar="TIME",
              help="公开版的签名时间（ISO 8601；默认为当前时间）")
@guard(lambda kw: "无法生成公开网站：")
def publish(inputs: tuple[str, ...], output: str, keyfile: str, roster_path: str | None,
            passphrase_env: str | None, signed_at: str | None) -> None:
    from ..publish import publish as build_public_site

    target = output_path(output, "文件夹")
    check_writable(target.parent)  # the site is built beside it, then moved in
    roster = load_roster_option(roster_path or None)
    when = signed_at_option(signed_at)
    key = load_key(keyfile, passphrase_env)
    kept = [Path(keyfile), *([Path(roster_path)] if roster_path else [])]
    report = build_public_site([Path(p) for p in inputs], target, key, when, roster, kept=kept)
    for entry in report.published:
        sub = entry.copy.submission
        review = f"，复核分数 {one_line(entry.review)}" if entry.review else ""
        click.echo(f"已公开：{sub.year} {one_line(sub.unit_name)}（{one_line(sub.unit_code)}）"
                   f"总分 {entry.total}，等级 {entry.grade}{review} → units/{shown(entry.slug)}.html")
        if entry.slug in report.removed:
            click.echo(f"  已删去：{one_line('、'.join(report.removed[entry.slug][:8]))}")
    for superseded in report.superseded:  # a resubmission's earlier bundle: normal, not a failure
        click.echo(f"已被更新的材料取代：{shown(superseded.source)}（{one_line(superseded.reasons[0])}）")
    for title, items in (("未公开", report.rejected), ("复核意见未采用", report.refused_reviews)):
        for rejected in items:
            click.echo(click.style(f"{title}：{shown(rejected.source)}", fg="red", bold=True), err=True)
            for reason in rejected.reasons[:5]:
                click.echo(f"  ✗ {one_line(reason)}", err=True)
    for label in report.dropped:  # the site replaced had them: a unit left out by mistake would vanish unseen
        click.echo(click.style(f"之前公开、本次不再公开：{one_line(label)}", fg="yellow"), err=True)
    if report.publisher_before:
        click.echo(click.style(f"注意：发布密钥与上次不同（上次公钥指纹 {one_line(report.publisher_before)}）："
                               "读者据以核对的公钥指纹随之改变，请一并更新公布的指纹", fg="yellow"), err=True)
    if report.backup is not None:
        click.echo(f"原网站中有本程序未生成的文件，已整体移至 {shown(report.backup)}（核对后可删除）", err=True)
    reviewed = sum(1 for entry in report.published if entry.review)
    click.echo(f"公开网站：{shown(report.out_dir)}（{len(report.published)} 个单位，其中 {reviewed} 个附复核分数；"
               f"未公开 {len(report.rejected)} 份，复核意见未采用 {len(report.refused_reviews)} 份，"
               f"被更新材料取代 {len(report.superseded)} 份）；"
               f"公开版签名公钥指纹：{key.public.fingerprint}")
    problems = report.rejected or report.refused_reviews or report.dropped
    sys.exit(EXIT_ERRORS if problems or not report.published else EXIT_OK)
