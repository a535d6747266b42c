"""The finance bureau's level: departments' signed summaries → one county table."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bundle_helpers import SIGNED_AT, framework
from consolidate_helpers import UNITS, own_bundle, supervisor, unit_bundle, unit_key_for, unit_submission
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.roster import enrol, new_roster, roster_json
from jixiao.cli import cli
from jixiao.consolidate import Source, SummaryError, build_county, consolidate, read_summary, summary_json
from jixiao.consolidate.summary import DepartmentSummary, Row
from jixiao.render.summary_xlsx import COUNTY_SHEET

EDUCATION = "进贤县教育局"
EDU_KEY = PrivateKey("ed25519", bytes(range(150, 182)))
BUREAU_KEY = PrivateKey("ed25519", bytes(range(200, 232)))
WHEN = "2022-04-01T00:00:00Z"


def kgx() -> DepartmentSummary:
    sources = [Source(n, data=d) for n, d in (own_bundle(), *(unit_bundle(c) for c, *_ in UNITS))]
    summary = consolidate(sources, generated_at=WHEN).summary
    assert summary is not None
    return summary


def education() -> DepartmentSummary:
    own = unit_submission("360124-JY", EDUCATION, "1000.00", "950.00", 92, department=EDUCATION)
    own = own.model_copy(update={"unit_kind": "本级"})
    school = unit_submission("360124-JY-01", "进贤县第一中学", "500.00", "500.00", 88, department=EDUCATION)
    made = [build_bundle(sub, framework(), unit_key_for(sub.unit_code), SIGNED_AT) for sub in (own, school)]
    summary = consolidate([Source(n, data=d) for n, d in made], generated_at=WHEN).summary
    assert summary is not None
    return summary


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("county")
    paths = {
        "kgx": folder / "kgx.json", "edu": folder / "edu.json", "unsigned": folder / "unsigned.json",
        "roster": folder / "roster.json", "bureau.key": folder / "bureau.key",
    }
    paths["kgx"].write_text(summary_json(kgx(), supervisor()), encoding="utf-8")
    paths["edu"].write_text(summary_json(education(), EDU_KEY), encoding="utf-8")
    paths["unsigned"].write_text(summary_json(education(), None), encoding="utf-8")
    doc = new_roster(BUREAU_KEY, "进贤县财政局", WHEN)
    doc = enrol(doc, "360124-KGX", supervisor().public, unit_name="科工信局", valid_from=date(2022, 1, 1))
    doc = enrol(doc, "360124-JY", EDU_KEY.public, unit_name="教育局", valid_from=date(2022, 1, 1))
    paths["roster"].write_text(roster_json(doc, BUREAU_KEY), encoding="utf-8")
    paths["bureau.key"].write_text(key_file_json(BUREAU_KEY), encoding="utf-8")
    return paths


def test_county_sections_and_grand_total(files: dict[str, Path]) -> None:
    signed = [read_summary(files[k].read_bytes()) for k in ("kgx", "edu")]
    county = build_county(signed, region="进贤县财政局", generated_at=WHEN)
    assert [s.department for s in county.sections] == [EDUCATION, "进贤县科技和工业信息化局"]  # by 本级 code
    assert [s.flags for s in county.sections] == [[], []]
    edu, kgx_section = county.sections
    assert edu.total.budget == Decimal("1500.00") and edu.total.rate == Decimal("96.67")  # 1450/1500
    assert kgx_section.total.self_score == Decimal("97.36")
    assert county.total.budget == Decimal("7480.12") and county.total.executed == Decimal("7380.12")
    assert county.total.rate == Decimal("98.66")  # 7380.12 / 7480.12
    weighted = (98 * Decimal("5479.62") + 95 * Decimal("120.50") + 85 * 80 + 90 * 300 + 92 * 1000 + 88 * 500) \
        / Decimal("7480.12")
    assert county.total.self_score == weighted.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert build_county(signed, rule="mean").total.self_score == Decimal("91.33")  # 548 / 6
    with pytest.raises(SummaryError, match="本级"):
        build_county(signed, rule="own")


def test_a_summary_whose_total_does_not_add_up_is_flagged() -> None:
    summary = kgx()
    wrong = summary.model_copy(update={"total": summary.total.model_copy(update={"budget": Decimal("6000.00")})})
    county = build_county([read_summary(summary_json(wrong, supervisor()))])
    assert county.sections[0].flags == ["合计行的全年预算数为 6000，按各行重新计算为 5980.12"]


def test_what_a_department_left_out_or_flagged_is_told_and_the_exit_says_so(tmp_path: Path) -> None:
    """The department's signed summary names the units it refused and its rows' 需核对 lines. The
    county run showed neither and exited 0: the bureau added up a table short of a unit unawares."""
    sources = [Source(n, data=d) for n, d in (own_bundle(), *(unit_bundle(c) for c, *_ in UNITS))]
    sources.append(Source("坏.zip", data=b"PK\x03\x04 not a zip"))
    summary = consolidate(sources, generated_at=WHEN).summary
    assert summary is not None and len(summary.rejected) == 1
    flagged_row = summary.rows[1].model_copy(update={"flags": ["复核分数 95.5 与按指标复核得分合计 94 不一致"]})
    summary = summary.model_copy(update={"rows": [summary.rows[0], flagged_row, *summary.rows[2:]]})
    county = build_county([read_summary(summary_json(summary, supervisor()))])
    (left_out,) = county.sections[0].flags
    assert left_out.startswith("部门汇总时未采用 坏.zip：") and "压缩包" in left_out, left_out

    path = tmp_path / "kgx.json"
    path.write_text(summary_json(summary, supervisor()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["county", str(path), "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 1, result.output
    assert "部门汇总时未采用 坏.zip" in result.output
    assert "第 2 行 进贤县科技情报研究所：复核分数 95.5 与按指标复核得分合计 94 不一致" in result.output
    check = openpyxl.load_workbook(tmp_path / "c.xlsx")["核对情况"]
    assert any(str(line[2]).startswith("部门汇总时未采用 坏.zip") for line in check.iter_rows(values_only=True))


def test_the_review_total_and_review_scores_are_checked(tmp_path: Path) -> None:
    """The bureau re-adds a department's 复核 合计 by that summary's own rule (given only when every
    unit is reviewed) as it does the 自评 合计, and names a 复核分数 outside 0–100."""
    summary = kgx()
    scores = [Decimal(s) for s in ("96", "95", "80", "88.5")]
    rows = [r.model_copy(update={"review_score": s}) for r, s in zip(summary.rows, scores, strict=True)]
    budgets = [r.budget for r in summary.rows]
    weighted = sum((s * (b or 0) for s, b in zip(scores, budgets, strict=True)), Decimal(0)) / Decimal("5980.12")
    right = weighted.quantize(Decimal("0.01"), ROUND_HALF_UP)

    def flags(rows: list[Row], review_total: Decimal | None) -> list[str]:
        total = summary.total.model_copy(update={"review_score": review_total})
        made = summary.model_copy(update={"rows": rows, "total": total})
        return build_county([read_summary(summary_json(made, supervisor()))]).sections[0].flags

    assert flags(rows, right) == []
    assert flags(rows, Decimal("99.90")) == [f"合计行的复核分数为 99.9，按各行重新计算为 {right}"]
    partial = [rows[0], summary.rows[1], *rows[2:]]  # one unit not reviewed: no 合计 by the summary's rule
    assert flags(partial, right) == [f"合计行的复核分数为 {right}，按各行重新计算为 （空）"]
    over = [rows[0], rows[1].model_copy(update={"review_score": Decimal("150")}), *rows[2:]]
    over_total = ((weighted * Decimal("5980.12") + 55 * Decimal("120.50")) / Decimal("5980.12")).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert flags(over, over_total) == ["第 2 行（进贤县科技情报研究所）的主管部门复核分数 150 不在 0–100 之间"]

    path = tmp_path / "bad.json"
    path.write_text(summary_json(summary.model_copy(update={"rows": rows, "total": summary.total.model_copy(
        update={"review_score": Decimal("99.90")})}), supervisor()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["county", str(path), "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 1 and "合计行的复核分数为 99.9" in result.output, result.output


def test_cli_county_with_roster(files: dict[str, Path], tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.json"
    doc = json.loads(files["edu"].read_text(encoding="utf-8"))
    payload = base64.b64decode(doc["payload"]).replace(b'"1000.00"', b'"100.00"')
    doc["payload"] = base64.b64encode(payload).decode()
    tampered.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "全县.xlsx"
    result = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(files["edu"]), str(files["unsigned"]),
                                      str(tampered), "-o", str(out), "--roster", str(files["roster"]),
                                      "--region", "进贤县财政局", "--key", str(files["bureau.key"]), "--json"])
    assert result.exit_code == 1, result.output  # two files refused
    report = json.loads(result.output)["county"]
    reasons = {r["name"].rsplit("/", 1)[-1]: r["reasons"][0] for r in report["rejected"]}
    assert "没有签名" in reasons["unsigned.json"] and "签名无效" in reasons["tampered.json"]
    assert [s["department"] for s in report["sections"]] == [EDUCATION, "进贤县科技和工业信息化局"]
    ws = openpyxl.load_workbook(out)[COUNTY_SHEET]
    column_a = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    assert column_a[0] == "2021年度部门整体支出自评情况汇总表"
    assert ws["A2"].value == "汇总单位：进贤县财政局"
    assert column_a[3] == f"一、主管部门：{EDUCATION}"
    assert column_a[4:7] == [1, 2, "合计"]
    assert column_a[7] == "二、主管部门：进贤县科技和工业信息化局"
    assert column_a[8:13] == [1, 2, 3, 4, "合计"]
    assert column_a[13] == "总计"
    assert ws.cell(row=14, column=3).value == pytest.approx(7480.12)
    signed = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert signed["payloadType"] == "application/vnd.jixiao.county+json; version=1"

    # a department key that the bureau's roster does not list for that department
    result = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(files["edu"]), "-o", str(tmp_path / "b.xlsx"),
                                      "--roster", str(files["roster"]), "--json"])
    assert result.exit_code == 0, result.output
    other = PrivateKey("ed25519", bytes(range(1, 33)))
    forged = tmp_path / "forged.json"
    forged.write_text(summary_json(education(), other), encoding="utf-8")
    result = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(forged), "-o", str(tmp_path / "c.xlsx"),
                                      "--roster", str(files["roster"]), "--json"])
    rejected = json.loads(result.output)["county"]["rejected"]
    assert "名册中没有为部门本级单位编码 360124-JY 登记该签名公钥" in rejected[0]["reasons"][0]


def test_cli_county_when_nothing_is_usable_names_each_reason(files: dict[str, Path], tmp_path: Path) -> None:
    """No county table can be made: each summary left out is named with its reason (it said only
    "没有可用的部门汇总表"), including one refused by the roster inside the build."""
    other = PrivateKey("ed25519", bytes(range(1, 33)))
    forged = tmp_path / "forged.json"
    forged.write_text(summary_json(education(), other), encoding="utf-8")
    result = CliRunner().invoke(cli, ["county", str(files["unsigned"]), str(forged), str(tmp_path / "nowhere.json"),
                                      "-o", str(tmp_path / "none.xlsx"), "--roster", str(files["roster"])])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert "未汇总 3 份：" in lines, result.output
    assert any("unsigned.json" in line and "没有签名" in line for line in lines), result.output
    assert any("登记该签名公钥" in line for line in lines), result.output
    assert any("nowhere.json" in line and "不存在" in line for line in lines), result.output
    assert lines[-1] == "无法汇总：没有可用的部门汇总表"
    assert not (tmp_path / "none.xlsx").exists()


def test_the_same_summary_twice_counts_once(files: dict[str, Path], tmp_path: Path) -> None:
    """`county c.json c.json` (or a file named and also in a folder given) refused the second copy as
    "同一主管部门有更新的汇总表（生成于 <the same time>）" and exited 1; consolidate says nothing."""
    folder = tmp_path / "received"
    folder.mkdir()
    shutil.copyfile(files["kgx"], folder / "copy.json")
    result = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(files["kgx"]), str(files["edu"]), str(folder),
                                      "-o", str(tmp_path / "twice.xlsx"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["county"]
    assert report["rejected"] == []
    assert [s["department"] for s in report["sections"]] == [EDUCATION, "进贤县科技和工业信息化局"]
    alone = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(files["kgx"]), "-o", str(tmp_path / "k.xlsx")])
    assert alone.exit_code == 0, alone.output
    assert "未采用" not in alone.output


@pytest.mark.parametrize("command", ["county", "consolidate"])
def test_a_table_is_signed_only_by_the_roster_owner(files: dict[str, Path], tmp_path: Path, command: str) -> None:
    """`--roster R --key K` signed the table with any key and said 已签名; the next level then
    refused it as a key not enrolled for the department. The key must be the roster's owner's."""
    unit_key = tmp_path / "unit.key"
    unit_key.write_text(key_file_json(EDU_KEY), encoding="utf-8")
    inputs = [str(files["kgx"]), str(files["edu"])] if command == "county" else [str(tmp_path)]
    if command == "consolidate":
        for name, data in (own_bundle(), *(unit_bundle(c) for c, *_ in UNITS)):
            (tmp_path / name).write_bytes(data)
    out = tmp_path / "表.xlsx"
    result = CliRunner().invoke(cli, [command, *inputs, "-o", str(out), "--roster", str(files["roster"]),
                                      "--key", str(unit_key)])
    assert result.exit_code == 2, result.output
    assert "签名密钥不是名册所有者（进贤县财政局）的密钥" in result.output
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_verify_names_a_summary_roster_or_county_table_and_where_it_belongs(files: dict[str, Path],
                                                                            tmp_path: Path) -> None:
    """`jixiao verify` on a department's signed summary said "签名内容类型不符 … 实为部门自评情况汇总表"
    (and the county table's raw media type): a bureau read that as tampering."""
    county_out = tmp_path / "全县.xlsx"
    made = CliRunner().invoke(cli, ["county", str(files["kgx"]), str(files["edu"]), "-o", str(county_out),
                                    "--key", str(files["bureau.key"])])
    assert made.exit_code == 0, made.output
    expected = {
        files["kgx"]: "这是部门自评情况汇总表，不是签名自评材料（此处未核验其签名）："
                      "部门汇总表请用 jixiao county 核对和汇总",
        files["roster"]: "这是公钥名册，不是签名自评材料（此处未核验其签名）：名册用于 --roster 选项",
        county_out.with_suffix(".json"): "这是县级汇总表，不是签名自评材料（此处未核验其签名）：县级汇总表由财政局生成",
    }
    for path, words in expected.items():
        result = CliRunner().invoke(cli, ["verify", str(path)])
        assert result.exit_code == 1 and words in result.output, result.output


def test_the_wrong_file_is_named_for_what_it_is(files: dict[str, Path], tmp_path: Path) -> None:
    """QA: `county 附件4.xlsx` said 不是有效的 JSON; `check roster.json` said 这是签名材料; `check
    unit.key` listed eight missing fields of a 自评表."""
    out = tmp_path / "附件4.xlsx"
    sources = [Source(n, data=d) for n, d in (own_bundle(), *(unit_bundle(c) for c, *_ in UNITS))]
    summary = consolidate(sources, generated_at=WHEN).summary
    assert summary is not None
    from jixiao.render.summary_xlsx import write_summary_xlsx

    out.write_bytes(write_summary_xlsx(summary))
    result = CliRunner().invoke(cli, ["county", str(out), "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 2 and "请给出与附件4 表格同名、在它旁边的 .json 文件" in result.output, result.output
    roster = CliRunner().invoke(cli, ["check", str(files["roster"])])
    assert roster.exit_code == 2 and "这是公钥名册，不是自评表" in roster.output, roster.output
    key = CliRunner().invoke(cli, ["check", str(files["bureau.key"])])
    assert key.exit_code == 2 and "这是签名密钥文件，不是自评表" in key.output, key.output


@pytest.mark.parametrize("command", ["consolidate", "county"])
def test_json_output_answers_even_when_nothing_can_be_summarised(tmp_path: Path, command: str) -> None:
    """With --json a failed run printed nothing on stdout (the reason went to stderr only)."""
    result = CliRunner().invoke(cli, [command, str(tmp_path / "none"), "-o", str(tmp_path / "o.xlsx"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"].startswith("无法汇总："), result.stdout


def test_a_folder_of_two_years_is_summarised_one_year_at_a_time(tmp_path: Path) -> None:
    """`county` refused a folder holding two years and offered no way to choose; the older year's
    summary of a department was also refused as replaced by the newer year's."""
    later = kgx().model_copy(update={"year": 2022})
    (tmp_path / "2021.json").write_text(summary_json(kgx(), supervisor()), encoding="utf-8")
    (tmp_path / "2022.json").write_text(summary_json(later, supervisor()), encoding="utf-8")
    both = CliRunner().invoke(cli, ["county", str(tmp_path), "-o", str(tmp_path / "all.xlsx")])
    assert both.exit_code == 2 and "汇总表分属多个年度（2021、2022）" in both.output and "--year" in both.output
    one = CliRunner().invoke(cli, ["county", str(tmp_path), "-o", str(tmp_path / "y.xlsx"), "--year", "2021",
                                   "--json"])
    assert one.exit_code == 0, one.output
    county = json.loads(one.stdout)["county"]
    assert county["year"] == 2021 and county["rejected"] == []
    assert "另有 1 份其他年度的汇总表未纳入本表" in county["notes"]
