"""Consolidation at the supervisor and the finance bureau: 附件4 from signed bundles (consolidate),
signed reviews (review), the county table from signed summaries (county) and the store of received
bundles (store add/list)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

import click

from ..bundle.payload import beijing_time
from ..io.errors import InputError
from ..model.numbers import plain
from .base import EXIT_ERRORS, EXIT_OK, PASSPHRASE_OPTION, Command, Group, dumps, guard, now_text, one_line, shown
from .files import (
    check_writable,
    load_key,
    load_roster_option,
    output_path,
    read_bundle_file,
    read_small,
    refuse_existing,
    write_output,
)

_SCORE_TOTAL_HELP = ("合计行的分数：weighted 按全年预算数加权平均（默认）、mean 简单平均、own 取部门本级的分数")

SCORE_RULES_TEXT = {"weighted": "按全年预算数加权平均", "mean": "简单平均", "own": "取部门本级的分数"}


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


def _summary_inputs(output: str, force: bool, roster_path: str | None, keyfile: str | None,
                    passphrase_env: str | None) -> tuple[Path, Path, Any, Any]:
    """The table and its .json beside it (refused if they exist without --force), then the roster and the
    optional signing key, in that order so that nothing is asked for before a refusal. The table must be
    an .xlsx: `-o o.json` wrote the table and then its JSON over it."""
    target = output_path(output, ".xlsx 文件")
    if target.suffix.lower() != ".xlsx":
        raise InputError("-o 应为 .xlsx 文件（如 汇总.xlsx）：汇总表的 JSON 写在它旁边，文件名相同、扩展名为 .json")
    side = target.with_suffix(".json")
    for path in (target, side):
        refuse_existing(path, force)
    roster = load_roster_option(roster_path)
    key = load_key(keyfile, passphrase_env) if keyfile else None
    if key is not None and roster is not None and roster.doc.owner.fingerprint != key.public.fingerprint_hex:
        # The roster's owner is who answers for this table; a unit's key signed it "已签名" and the
        # next level refused it as a key not enrolled for the department.
        raise InputError(f"签名密钥不是名册所有者（{one_line(roster.doc.owner.name)}）的密钥："
                         f"汇总表应由名册所有者签名，上级核对时才认可。请用名册所有者的密钥"
                         f"（指纹 {roster.owner_fingerprint}）；此密钥指纹 {key.public.fingerprint}")
    return target, side, roster, key


def _echo_flags(flags: list[str]) -> None:
    for flag in flags:
        click.echo(click.style(f"      ! {one_line(flag)}", fg="yellow"))


def _row_line(row: Any) -> str:
    def show(value: Any, suffix: str = "") -> str:
        return "—" if value is None else f"{plain(value)}{suffix}"

    def money(value: Any) -> str:
        return "—" if value is None else f"{value:.2f}"

    rate = "—" if row.rate is None else f"{row.rate:.2f}%"
    return (f"{money(row.budget)} / {money(row.executed)} / {rate} / 自评 {show(row.self_score, '分')} / "
            f"复核 {show(row.review_score, '分')}")


@click.command(cls=Command, short_help="汇总签名材料，生成附件4部门整体支出自评情况汇总表",
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
@PASSPHRASE_OPTION
@click.option("--deep", is_flag=True, help="逐格比对表格与网页（每份约 0.1 秒）；默认只核验签名数据本身")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="并行核验的进程数（默认为 CPU 核数）")
@click.option("--force", is_flag=True, help="覆盖已有的输出文件")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出汇总结果")
@guard(lambda kw: "无法汇总：")
def consolidate(inputs: tuple[str, ...], output: str, roster_path: str | None, score_total: str,
                department: str | None, year: int | None, keyfile: str | None, passphrase_env: str | None,
                deep: bool, jobs: int | None, force: bool, as_json: bool) -> None:
    from ..consolidate.collect import consolidate as run
    from ..consolidate.collect import expand
    from ..consolidate.summary import SummaryError, summary_json
    from ..render.summary_xlsx import write_summary_xlsx

    target, side, roster, key = _summary_inputs(output, force, roster_path, keyfile, passphrase_env)
    sources, missing = expand(inputs)
    # With --force into a folder it reads, the 附件4 about to be replaced would be checked against
    # the new one: every row it got wrong, reported in the new table as its own disagreement.
    replaced = {p.resolve() for p in (target, side) if p.exists()}
    sources = [s for s in sources if s.path is None or Path(s.path).resolve() not in replaced]
    update, bar = _progress_bar(not as_json and len(sources) >= 50, "核验签名材料")
    with bar:
        try:
            outcome = run(sources, roster=roster, rule=score_total,  # type: ignore[arg-type]  # click.Choice
                          department=department, year=year, deep=deep,
                          workers=jobs or os.cpu_count() or 1, progress=update, generated_at=now_text(),
                          rejected=missing)
        except SummaryError as exc:
            _echo_refused(exc.refused, err=True)  # why each one failed, before the verdict
            raise InputError(exc.message) from None
    summary = outcome.summary
    assert summary is not None
    write_output(target, write_summary_xlsx(summary, differences=outcome.differences), force)
    write_output(side, summary_json(summary, key).encode("utf-8"), force)
    own_level = [r for r in summary.rows if r.unit_kind == "本级"]  # none, or two: its note says so
    needs_look = bool(outcome.rejected or outcome.differences or any(r.flags for r in summary.rows)
                      or len(own_level) != 1)
    if as_json:
        click.echo(dumps({"output": str(target), "summary_json": str(side), "signed": key is not None,
                           "summary": summary.model_dump(mode="json"),
                           "rejected": [r.model_dump() for r in outcome.rejected],
                           "superseded": outcome.superseded, "copies": outcome.copies, "left_out": outcome.left_out,
                           "differences": outcome.differences}))
    else:
        click.echo(f"{summary.title}（主管部门：{one_line(summary.department) or '—'}）→ {shown(target)}")
        for row in summary.rows:
            click.echo(f"  {row.index:>3} {one_line(row.unit_name)}（{one_line(row.unit_kind)}）{_row_line(row)}")
            _echo_flags(row.flags)
        click.echo(f"  合计 {_row_line(summary.total)}（分数：{SCORE_RULES_TEXT[score_total]}）")
        for note in summary.notes:
            click.echo(click.style(f"  说明：{one_line(note)}", fg="yellow"))
        signed = (f"已签名，公钥指纹 {key.public.fingerprint}" if key is not None
                  else "未签名：报财政局前请加 --key 重新生成")
        click.echo(f"汇总表 JSON：{shown(side)}（{signed}）")
        for message in outcome.differences:
            click.echo(click.style(f"与已有汇总表不符：{one_line(message)}", fg="red"))
        _echo_refused(outcome.rejected)
        for line in outcome.superseded:
            click.echo(f"已被更新的材料取代：{one_line(line)}")
        for line in outcome.copies:
            click.echo(f"重复的材料：{one_line(line)}")
        for line in outcome.left_out:
            click.echo(f"未纳入本表：{one_line(line)}")
        copies = f"，重复 {len(outcome.copies)} 份（只计一次）" if outcome.copies else ""
        click.echo(f"共汇总 {len(summary.rows)} 个单位；核验 {len(outcome.checked)} 份材料，未通过 "
                   f"{sum(not c.ok for c in outcome.checked)} 份{copies}")
    sys.exit(EXIT_ERRORS if needs_look else EXIT_OK)


def _echo_refused(rejected: list[Any], err: bool = False) -> None:
    if rejected:
        click.echo(click.style(f"未汇总 {len(rejected)} 份：", fg="red", bold=True), err=err)
        for item in rejected:
            click.echo(f"  ✗ {one_line(item.name)}：{one_line('；'.join(item.reasons[:3]))}", err=err)


def _indicator_scores(values: tuple[str, ...]) -> dict[str, str]:
    scores: dict[str, str] = {}
    for value in values:
        name, sep, score = value.rpartition("=")
        if not sep or not name.strip():
            raise InputError(f"--indicator 应写作“指标名称=分数”或“指标路径=分数”：{value[:40]}")
        scores[name.strip()] = score.strip()
    return scores


@click.command(cls=Command, short_help="主管部门复核：为单位的签名材料记录一份签名的复核分数",
             help="为数据库中某单位某年度当前有效的签名材料记录复核（主管部门复核分数，0–100；可逐项给出三级指标的复核得分，"
                  "不超过该指标分值），由主管部门密钥签名后存入数据库。复核从不修改：再次复核即记录一份新的，取代之前的，历次均保留。")
@click.argument("store_path", metavar="STORE")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="单位编码")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="年度")
@click.option("--score", required=True, metavar="S", help="主管部门复核分数（0–100）")
@click.option("--indicator", "indicators", multiple=True, metavar="NAME=S",
              help="某个三级指标的复核得分（可多次给出；名称照附件6所列，带不带“（10分）”均可；"
                   "名称重复时用路径，如 indicators.0.groups.1.items.0=2）")
@click.option("--note", default="", help="复核意见")
@click.option("--reviewer", default="", help="复核人")
@click.option("--key", "keyfile", metavar="KEYFILE", required=True, help="主管部门的密钥文件（签名复核意见）")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="公钥名册：单位材料须通过名册核对，复核密钥须是名册所有者的")
@PASSPHRASE_OPTION
@guard(lambda kw: "无法记录复核：")
def review(store_path: str, unit_code: str, year: int, score: str, indicators: tuple[str, ...], note: str,
           reviewer: str, keyfile: str, roster_path: str | None, passphrase_env: str | None) -> None:
    from ..consolidate.check import check_bundle
    from ..consolidate.review import Review, implied_total, make_review, sign_review
    from ..store import ReviewRow, Store

    roster = load_roster_option(roster_path)
    key = load_key(keyfile, passphrase_env)
    if roster is not None and roster.doc.owner.fingerprint != key.public.fingerprint_hex:
        # Its review would not count against this roster, yet would supersede the supervisor's in the store.
        raise InputError(f"复核密钥不是名册所有者（{one_line(roster.doc.owner.name)}）的密钥：对照该名册汇总时"
                         f"这份复核不会被采用。请用名册所有者的密钥（指纹 {roster.owner_fingerprint}）；"
                         f"此密钥指纹 {key.public.fingerprint}")
    with Store(Path(store_path), create=False) as store:
        rows = [r for r in store.latest(year) if r.unit_code == unit_code.strip()]
        if not rows:
            raise InputError(f"数据库中没有单位 {unit_code} {year} 年度通过核验的签名材料")
        data = store.data(rows[0].sha256)
        checked = check_bundle(rows[0].sha256, data or b"", roster)
        if checked.unit is None:
            raise InputError(f"该单位的签名材料现在核验不通过：{'；'.join(checked.reasons[:2])}")
        unit = checked.unit
        scores = _indicator_scores(indicators)

        def sign(latest: ReviewRow | None) -> Review:
            return sign_review(make_review(unit, score, reviewed_at=now_text(), indicators=scores, note=note,
                                           reviewer=reviewer, supersedes=latest.sha256 if latest else None), key)

        signed, previous = store.add_review_chained(unit.unit_code, year, sign)
    doc = signed.doc
    own = plain(unit.self_score) if unit.self_score is not None else "—"
    click.echo(f"已记录复核：{one_line(unit.unit_name)}（{one_line(unit.unit_code)}）{year} 年度，"
               f"复核分数 {plain(signed.score)}（自评 {own}）")
    click.echo(f"复核签名公钥指纹：{key.public.fingerprint}；复核文件 sha256 {signed.sha256}")
    if previous:
        click.echo(f"取代此前的 {len(previous)} 次复核中最新的一次"
                   f"（{one_line(previous[0].reviewed_at)}，{one_line(previous[0].score)} 分）；历次复核均保留")
    implied = implied_total(unit, doc)
    if implied is not None and implied != signed.score:
        click.echo(click.style(f"注意：按指标复核得分合计为 {plain(implied)}，与复核分数 {plain(signed.score)} 不一致",
                               fg="yellow"), err=True)


@click.command(cls=Command, short_help="财政局汇总：各主管部门签名的汇总表 → 全县汇总表",
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
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="只汇总该年度的部门汇总表")
@click.option("--key", "keyfile", metavar="KEYFILE", default=None, help="财政局的密钥文件：签名县级汇总 .json")
@PASSPHRASE_OPTION
@click.option("--force", is_flag=True, help="覆盖已有的输出文件")
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出汇总结果")
@guard(lambda kw: "无法汇总：")
def county(inputs: tuple[str, ...], output: str, roster_path: str | None, score_total: str, region: str,
           year: int | None, keyfile: str | None, passphrase_env: str | None, force: bool, as_json: bool) -> None:
    from ..bundle.envelope import COUNTY_TYPE, sign_payload
    from ..canonical import canonical_json
    from ..consolidate.county import build_county
    from ..consolidate.summary import RejectedInput, SummaryError, read_summary
    from ..render.summary_xlsx import write_county_xlsx

    target, side, roster, key = _summary_inputs(output, force, roster_path, keyfile, passphrase_env)
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
            signed_summaries.append(read_summary(read_small(path, "汇总表文件")))
        except (SummaryError, InputError) as exc:
            rejected.append(RejectedInput(name=str(path), reasons=[exc.message]))
    try:
        result = build_county(signed_summaries, rule=score_total, region=region, roster=roster,  # type: ignore[arg-type]
                              generated_at=now_text(), rejected=rejected, year=year)
    except SummaryError as exc:
        _echo_refused(exc.refused, err=True)  # why each one was left out, before the verdict
        raise InputError(exc.message) from None
    document = result.model_dump(mode="json")
    text = (sign_payload(COUNTY_TYPE, canonical_json(document), [key]).to_json()
            if key is not None else json.dumps(document, ensure_ascii=False, indent=2)) + "\n"
    write_output(target, write_county_xlsx(result), force)
    write_output(side, text.encode("utf-8"), force)
    flagged = result.rejected or any(s.flags or any(r.flags for r in s.rows) for s in result.sections)
    if as_json:
        click.echo(dumps({"output": str(target), "county_json": str(side), "county": document}))
    else:
        click.echo(f"{result.title}（{one_line(region) or '县级汇总'}）→ {shown(target)}")
        for section in result.sections:
            click.echo(f"  {one_line(section.department)}：{len(section.rows)} 个单位，合计 {_row_line(section.total)}")
            _echo_flags(section.flags)
            _echo_flags([f"第 {row.index} 行 {row.unit_name}：{flag}" for row in section.rows for flag in row.flags])
        click.echo(f"  总计 {_row_line(result.total)}（分数：{SCORE_RULES_TEXT[score_total]}）")
        for note in result.notes:
            click.echo(f"  说明：{one_line(note)}")
        for refused in result.rejected:
            click.echo(click.style(f"  ✗ 未采用 {one_line(refused.name)}：{one_line('；'.join(refused.reasons))}",
                                   fg="red"))
    sys.exit(EXIT_ERRORS if flagged else EXIT_OK)


@click.group(cls=Group, short_help="数据库：收存签名材料（add）与查看（list）",
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
@guard(lambda kw: "无法收存：")
def store_add(store_path: str, inputs: tuple[str, ...], roster_path: str | None, deep: bool) -> None:
    from datetime import UTC, datetime

    from ..consolidate.check import check_bundle
    from ..consolidate.collect import EMPTY_FOLDER, folder_files
    from ..store import Store, signed_after_receipt

    check_writable(Path(store_path).parent)  # the database, its journal and its WAL are written beside it
    if not any(Path(item).exists() for item in inputs):  # nothing to store: no new empty database either
        raise InputError(f"找不到要收存的文件或文件夹：{'、'.join(shown(i) for i in inputs[:3])}")
    roster = load_roster_option(roster_path)
    failed = 0
    with Store(Path(store_path)) as db:
        for item in map(Path, inputs):
            how: Literal["cli", "folder"] = "folder" if item.is_dir() else "cli"
            unread: list[tuple[Path, str]] = []
            files = [path for path, _ in folder_files(item, unread)] if item.is_dir() else [item]  # as consolidate
            for where, why in unread:
                failed += 1
                click.echo(f"✗ {shown(where)}：{why}")
            if not files and not unread:
                failed += 1
                click.echo(f"✗ {shown(item)}：{EMPTY_FOLDER}")
            for path in files:
                try:
                    data = read_bundle_file(path)
                except InputError as exc:
                    failed += 1
                    click.echo(f"✗ {shown(path)}：{one_line(exc.message)}")
                    continue
                checked = check_bundle(str(path), data, roster, deep=deep)
                too_late = signed_after_receipt(checked, datetime.now(UTC)) if checked.ok else None
                if not checked.ok or too_late is not None:
                    failed += 1
                    reasons = checked.reasons[:3] if too_late is None else [too_late]
                    if db.get(checked.sha256) is not None:  # stored before (say, without --deep)
                        reasons.append("此文件此前已收存，数据库中的记录不变")
                    click.echo(f"✗ {shown(path)}：{one_line('；'.join(reasons))}")
                    continue
                inserted, row = db.add_bundle(data, checked, how=how, filename=path.name, deep=deep)
                state = "已收存" if inserted else "已存在"
                click.echo(f"{state} {shown(path)}：{one_line(row.unit_name)}（{one_line(row.unit_code)}）"
                           f"{row.year} 年度，签名时间 {one_line(beijing_time(row.signed_at))}")
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


@store.command("list", help="列出各单位各年度当前有效的签名材料（同一单位以签名时间最新者为准）及复核分数。"
                           "复核分数只列针对所列材料的那一份（与 consolidate 填入附件4 的相同）：针对此前材料的复核注明"
                           "“需重新复核”；给出 --roster 时，只采用名册所有者签名的复核。")
@click.argument("store_path", metavar="STORE")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="只列该年度")
@click.option("--roster", "roster_path", metavar="ROSTER", default=None,
              help="公钥名册：只采用名册所有者签名的复核（与 consolidate --roster 相同）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 数组输出")
@guard(lambda kw: "无法读取数据库：")
def store_list(store_path: str, year: int | None, roster_path: str | None, as_json: bool) -> None:
    from ..consolidate.review import latest_reviews, review_status
    from ..store import Store

    roster = load_roster_option(roster_path)
    owner = roster.doc.owner.fingerprint if roster is not None else None
    with Store(Path(store_path), read_only=True) as db:
        rows = db.latest(year)
        counted = latest_reviews(db.reviews(year, [owner] if owner is not None else None))
        newest = {(r.unit_code, r.year): (r.sha256, r.signer) for r in reversed(db.review_rows(year=year))}
        versions = {(r.unit_code, r.year): db.versions(r.unit_code, r.year or 0) for r in rows}
    listed = []
    for r in rows:
        key = (r.unit_code, r.year or 0)
        value, note = review_status(r.payload_sha256, counted.get(key), newest.get(key), owner)
        listed.append((r, versions[(r.unit_code, r.year)], plain(value) if value is not None else None, note))
    if as_json:
        click.echo(dumps([{"unit_code": r.unit_code, "unit_name": r.unit_name, "unit_kind": r.unit_kind,
                            "department": r.department, "year": r.year, "signed_at": r.signed_at,
                            "sha256": r.sha256, "self_score": r.self_score, "grade": r.grade, "versions": count,
                            "review_score": score, "review_note": note}
                           for r, count, score, note in listed]))
        return
    for r, count, score, note in listed:
        fields = (r.year, r.department, r.unit_code, r.unit_name, r.unit_kind, f"自评 {r.self_score or '—'}",
                  f"复核 {score or '—'}{f'（{note}）' if note else ''}", f"签名 {beijing_time(r.signed_at)}",
                  f"共 {count} 份")
        click.echo("\t".join(map(one_line, fields)))
