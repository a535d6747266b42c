"""What the public copy masks in a unit's texts, and the leak check that must agree with it.

The phone forms are those an audit found published in a real run (the page saying 电话已删去
above them), and the forms next to them that offices write; the figures that must stay are
the ones every report is full of.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jixiao import Framework, Submission
from jixiao.publish import redact_submission
from jixiao.publish.leaks import scan
from jixiao.publish.phones import MASK
from jixiao.publish.redact import NAME_MASK
from jixiao.render.report_html import render_report_html
from jixiao.rules.evaluate import evaluate

PHONES = [
    "（0791）85621234", "(0791)85621237", "１３８００１３８０００", "0791—85621235", "079185621236",
    "0791 8562 1239", "+86 13800138001", "0791-5621238", "138-0013-8002", "138 0013 8003", "1380 013 8006",
    "+86-791-85621240", "0086 13800138004", "（+86）13800138005", "+86 (791) 8562 1249", "010-85621247",
    "０７９１－８５６２１２４６", "0791——85621248", "0791-85621241转801", "0791-85621242-802",
    "0791-85621250（分机 12）", "电话：85621243", "传真85621252", "Tel.0791-85621251",
]
# A local number is taken only after a label: the wordings offices use around one, and a list
# that goes on after a number already found (jixiao blanks contact.phone, so this is all there is)
PHONE_LINES = [
    ("电话号码：86123456", f"电话号码：{MASK}"), ("联系电话号码：86123456", f"联系电话号码：{MASK}"),
    ("联系电话为86123456", f"联系电话为{MASK}"), ("联系电话（传真）：86123456", f"联系电话（传真）：{MASK}"),
    ("电 话：86123456", f"电 话：{MASK}"), ("手机号码是13800138000", f"手机号码是{MASK}"),
    ("电话：0791-85621234 85621235", f"电话：{MASK} {MASK}"),
    ("电话：0791-85621234　85621235、85621236", f"电话：{MASK}　{MASK}、{MASK}"),
    ("电话：0791-85621234 86123456元", f"电话：{MASK} 86123456元"),  # a figure after it stays
]
FIGURES = [
    "5479.62万元", "执行率100.00%", "2021年1-12月", "2021—2025年", "2021-12-31", "进财预〔2021〕12号",
    "服务企业1380013家", "54796200.00元", "13800138000.00元", "邮编330000", "12345政务服务热线", "热线12345",
    "区号0791", "统一社会信用代码11360124MB1234567X", "第1、3、5、7、9、11、13项", "编号360124202113991234",
    "实现产值13500000000元", "税收15800000000万元", "折合13800138000 亿元", "增长13800138000%", "增长13800138000％",
    "电话费86123456元", "2021年12月31日", "建立联系人制度",
]
SECTION = "overview.duties"


def _with(seed: Submission, text: str, contact: tuple[str, str] = ("", "")) -> Submission:
    data = seed.model_dump(mode="json")
    data["report"]["sections"][SECTION] += text
    data["contact"] = {"name": contact[0], "phone": contact[1]}
    return Submission.model_validate(data)


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked_in_every_common_form(seed: Submission, jinxian: Framework, phone: str) -> None:
    public, removed, _ = redact_submission(_with(seed, f"\n联系电话：{phone}。"), jinxian)
    tail = public.report.sections[SECTION].rsplit("\n", 1)[1]
    assert MASK in tail and not re.search(r"\d", tail), tail  # the extension goes too
    assert f"report.sections.{SECTION}" in removed


@pytest.mark.parametrize("figure", FIGURES)
def test_ordinary_figures_are_not_masked(seed: Submission, jinxian: Framework, figure: str) -> None:
    public, removed, _ = redact_submission(_with(seed, f"\n{figure}。"), jinxian)
    assert public.report.sections[SECTION].endswith(f"\n{figure}。")
    assert removed == []


def test_the_real_report_is_published_as_signed(seed: Submission, jinxian: Framework) -> None:
    public, removed, _ = redact_submission(seed, jinxian)
    assert public == seed and removed == []


def test_the_contact_phone_is_masked_wherever_it_is_written(seed: Submission, jinxian: Framework) -> None:
    """Its local part alone is taken as well, as the contact field says it is a phone."""
    text = "\n办公室：8562 1234；总机 0791 8562 1234；另见号码85621234。共85621235家。"
    public, _, private = redact_submission(_with(seed, text, ("", "0791-85621234")), jinxian)
    tail = public.report.sections[SECTION].rsplit("\n", 1)[1]
    assert tail == f"办公室：{MASK}；总机 {MASK}；另见号码{MASK}。共85621235家。"
    assert {"079185621234", "85621234"} <= private.numbers


def test_the_contact_name_is_masked_in_free_text(seed: Submission, jinxian: Framework) -> None:
    """An older or foreign tool signed the contact into the payload, and the report names them."""
    text = "\n联系人：李明、王芳，由李明负责。"
    public, removed, private = redact_submission(_with(seed, text, ("李明、王芳", "")), jinxian)
    tail = public.report.sections[SECTION].rsplit("\n", 1)[1]
    assert tail == f"联系人：{NAME_MASK}，由{NAME_MASK}负责。"
    assert public.contact.name == "" and {"contact.name", f"report.sections.{SECTION}"} <= set(removed)
    assert {"李明", "王芳"} <= private.texts


def test_a_name_after_联系人_is_masked(seed: Submission, jinxian: Framework) -> None:
    """jixiao blanks the contact before signing, so the report's own label is all there is to go by."""
    public, _, private = redact_submission(_with(seed, "\n联系人：李明，由李明负责。"), jinxian)
    assert public.report.sections[SECTION].endswith(f"\n联系人：{NAME_MASK}，由{NAME_MASK}负责。")
    assert "李明" in private.names  # looked for in the unit's own files


def test_spaced_names_other_labels_id_numbers_and_emails_are_masked(tmp_path: Path, seed: Submission,
                                                                    jinxian: Framework) -> None:
    """QA found each of these on a published page: a name set with a space (`赵 六`, as documents
    set two-character names), names after 填表人 and 经办人, an ID number and an e-mail address.
    The leak check looks for each the same way."""
    text = ("\n填表人：刘洋。经办人：张伟。联系人 财务科 孙丽。由赵　六（财务股）汇总，经办：赵 六。"
            "身份证号码：36012419800101123X。邮箱：zhaoliu@example.com。")
    public, _, private = redact_submission(_with(seed, text, ("赵六", "")), jinxian)
    tail = public.report.sections[SECTION].rsplit("\n", 1)[1]
    assert tail == (f"填表人：{NAME_MASK}。经办人：{NAME_MASK}。联系人 {NAME_MASK}。由{NAME_MASK}（财务股）汇总，"
                    f"经办：{NAME_MASK}。身份证号码：（身份证号已删去）。邮箱：（邮箱已删去）。"), tail
    assert {"36012419800101123X", "zhaoliu@example.com", "赵六"} <= private.texts
    assert {"刘洋", "张伟", "孙丽"} <= private.names
    _unit_files(tmp_path, public, jinxian)
    assert scan(tmp_path, {"u": private}) == {}
    for leaked in ("赵　六", "36012419800101123X", "zhaoliu@example.com"):
        (tmp_path / "index.html").write_text(f"<p>{leaked}</p>", encoding="utf-8")
        assert scan(tmp_path, {"u": private}) == {"u": ["index.html"]}, leaked


@pytest.mark.parametrize(("line", "public"), PHONE_LINES)
def test_local_numbers_after_common_wording_are_masked(tmp_path: Path, seed: Submission, jinxian: Framework,
                                                       line: str, public: str) -> None:
    """Masked, and masked everywhere else they are written: the leak check then passes the page."""
    redacted, _, private = redact_submission(_with(seed, f"\n{line}。另见86123456。"), jinxian)
    again = MASK if "86123456" in line and "86123456元" not in line else "86123456"
    assert redacted.report.sections[SECTION].rsplit("\n", 1)[1] == f"{public}。另见{again}。"
    _unit_files(tmp_path, redacted, jinxian)
    assert scan(tmp_path, {"u": private}) == {}


# (what the unit typed, what is published): a name found only by its label is masked where the
# label points, up to the next punctuation or label word; a person's name there (a common
# surname, the office and title around it left aside) is masked wherever the unit wrote it,
# an office named as the contact is not
NAME_LINES = [
    ("联系人：李明电话：0791-85621234。李明负责。", f"联系人：{NAME_MASK}电话：{MASK}。{NAME_MASK}负责。"),
    ("联系人：财务科李明，本报告由李明填报。", f"联系人：{NAME_MASK}，本报告由{NAME_MASK}填报。"),
    ("联系人及电话：李明 0791-85621234。", f"联系人及电话：{NAME_MASK} {MASK}。"),
    ("联 系 人：李明。", f"联 系 人：{NAME_MASK}。"),
    ("联系人张三，电话86123456。", f"联系人{NAME_MASK}，电话{MASK}。"),
    ("联系人：李明主任。李明主任负责。", f"联系人：{NAME_MASK}。{NAME_MASK}主任负责。"),
    ("联系人：欧阳小明、王芳。王芳审核。", f"联系人：{NAME_MASK}。{NAME_MASK}审核。"),
    ("联系人：办公室，电话：0791-85621234。本局办公室负责。", f"联系人：{NAME_MASK}，电话：{MASK}。本局办公室负责。"),
    ("联系人：财务股，财务股长审核。", f"联系人：{NAME_MASK}，财务股长审核。"),
    ("建立联系人制度，明确联系人职责。", "建立联系人制度，明确联系人职责。"),
]


@pytest.mark.parametrize(("line", "public"), NAME_LINES)
def test_a_name_after_its_label_is_masked_where_it_points(tmp_path: Path, seed: Submission, jinxian: Framework,
                                                          line: str, public: str) -> None:
    redacted, _, private = redact_submission(_with(seed, f"\n{line}"), jinxian)
    assert redacted.report.sections[SECTION].rsplit("\n", 1)[1] == public
    assert redacted.unit_name == seed.unit_name
    _unit_files(tmp_path, redacted, jinxian)
    assert scan(tmp_path, {"u": private}) == {}


def test_an_office_named_as_contact_is_not_hunted_across_the_site(tmp_path: Path, seed: Submission,
                                                                  jinxian: Framework) -> None:
    """联系人：办公室 once masked every 办公室 in the unit's texts (its own name too), and refused
    the unit whenever another unit on the site was called …办公室."""
    unit = seed.model_copy(update={"unit_name": "进贤县科技和工业信息化局办公室"})
    redacted, _, private = redact_submission(_with(unit, "\n联系人：办公室，电话：0791-85621234。"), jinxian)
    assert redacted.unit_name == "进贤县科技和工业信息化局办公室"
    _unit_files(tmp_path, redacted, jinxian)
    (tmp_path / "index.html").write_text("<p>进贤县人民政府办公室 总分 98</p>", encoding="utf-8")
    assert scan(tmp_path, {"u": private}) == {}


def test_a_labelled_name_is_looked_for_in_the_units_own_files_only(tmp_path: Path, seed: Submission,
                                                                  jinxian: Framework) -> None:
    """Its own page must not hold it in any spelling; a shared page may (another unit's 李明路小学)."""
    redacted, _, private = redact_submission(_with(seed, "\n联系人：李明，电话：0791-85621234。"), jinxian)
    _unit_files(tmp_path, redacted, jinxian)
    (tmp_path / "index.html").write_text("<p>李明路小学 总分 98</p>", encoding="utf-8")
    assert scan(tmp_path, {"u": private}) == {}
    with (tmp_path / "units" / "u.html").open("a", encoding="utf-8") as page:
        page.write("<p>&#x674e;&#x660e;</p>")
    assert scan(tmp_path, {"u": private}) == {"u": ["units/u.html"]}


def _unit_files(root: Path, public: Submission, jinxian: Framework) -> None:
    """A unit's page and its JSON download, as the site holds them (escaped, ASCII JSON)."""
    (root / "units").mkdir(parents=True)
    (root / "downloads").mkdir()
    html = render_report_html(public, evaluate(public, jinxian), framework=jinxian, signed_at="2022-06-01T02:00:00Z")
    (root / "units" / "u.html").write_text(html, encoding="utf-8")
    (root / "downloads" / "u.json").write_text(json.dumps(public.model_dump(mode="json")), encoding="utf-8")


def test_leak_check_passes_what_was_masked(tmp_path: Path, seed: Submission, jinxian: Framework) -> None:
    text = "\n联系人张三，电话（0791）85621234、１３８００１３８０００，座机 079185621236。"
    public, _, private = redact_submission(_with(seed, text, ("张三", "0791-85621234")), jinxian)
    _unit_files(tmp_path, public, jinxian)
    assert private.numbers >= {"079185621234", "85621234", "13800138000", "079185621236"}
    assert scan(tmp_path, {"u": private}) == {}


@pytest.mark.parametrize("spelling", [
    "0791 - 8562 1234", "(0791) 8562-1234", "+86 791 8562 1234", "8562 1234", "１３８ ００１３ ８０００",
    "&#49;&#51;&#56;&#48;&#48;&#49;&#51;&#56;&#48;&#48;&#48;", "\\uff11\\uff13\\uff18\\uff10\\uff10\\uff11\\uff13"
    "\\uff18\\uff10\\uff10\\uff10", "&#x5f20;&#x4e09;", "\\u5f20\\u4e09",
])
def test_leak_check_stops_a_masked_value_spelled_otherwise(tmp_path: Path, seed: Submission, jinxian: Framework,
                                                            spelling: str) -> None:
    text = "\n联系人张三，电话（0791）85621234、１３８００１３８０００。"
    public, _, private = redact_submission(_with(seed, text, ("张三", "")), jinxian)
    _unit_files(tmp_path, public, jinxian)
    (tmp_path / "index.html").write_text(f"<p>总分 98 {spelling}</p>", encoding="utf-8")
    assert scan(tmp_path, {"u": private}) == {"u": ["index.html"]}


def test_leak_check_reads_the_signed_payload(tmp_path: Path) -> None:
    """A bundle's payload is base64 inside its JSON: the check decodes it."""
    from base64 import b64encode

    from jixiao.publish.redact import Private

    payload = b64encode(json.dumps({"contact": "13800138000"}).encode()).decode()
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "u.json").write_text(json.dumps({"payload": payload}), encoding="utf-8")
    assert scan(tmp_path, {"u": Private(numbers=frozenset({"13800138000"}))}) == {"u": ["downloads/u.json#payload"]}
