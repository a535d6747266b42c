"""The worker's entry point: a word typed where a number belongs never stops scoring."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from jixiao import Submission, evaluate, load_example, load_framework
from jixiao.browser import evaluate_json


def test_seed_through_the_browser_entry_matches_evaluate(seed: Submission) -> None:
    direct = evaluate(seed, load_framework("jinxian-2021")).model_dump_json()
    assert evaluate_json(seed.model_dump_json()) == direct


def test_unreadable_values_become_findings_and_the_rest_is_scored() -> None:
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["indicators"][0]["groups"][0]["items"][0]["score"] = "两分"
    doc["subordinate_units"] = "一个"
    ev = json.loads(evaluate_json(json.dumps(doc, ensure_ascii=False)))
    invalid = {f["path"]: f["message"] for f in ev["findings"] if f["code"] == "INVALID_VALUE"}
    assert invalid == {
        "indicators.0.groups.0.items.0.score":
            "分解目标自评 › 第1个一级指标“管理指标” › 第1个二级指标“预算编审管理” › "
            "第1个三级指标“预算编制完整性（2分）” › 得分：“两分”不是数字",
        "subordinate_units": "下属单位个数：应为整数",
    }
    assert ev["total"] == "96"  # the unreadable 2 points are not counted


def test_a_number_too_long_for_any_form_is_named_at_its_field() -> None:
    """A key held down in a 得分 box (29 sevens) once stopped scoring with decimal.InvalidOperation;
    now it is that field's finding, as a word would be, and the rest is scored."""
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["indicators"][0]["groups"][0]["items"][0]["score"] = "7" * 29
    doc["funds"]["fiscal"]["budget"] = "0." + "0" * 15 + "1"
    doc["report"]["figures"]["executed"] = "999999999999999.996"  # 1000000000000000.00 once rounded
    ev = json.loads(evaluate_json(json.dumps(doc, ensure_ascii=False)))
    invalid = {f["path"]: f["message"].rsplit("：", 1)[1] for f in ev["findings"] if f["code"] == "INVALID_VALUE"}
    assert invalid == {
        "indicators.0.groups.0.items.0.score": "数值过大（整数部分超过 15 位），请核对",
        "funds.fiscal.budget": "小数位数过多（超过 15 位），请核对",
        "report.figures.executed": "数值过大（整数部分超过 15 位），请核对",
    }
    assert ev["total"] == "96"


def test_the_largest_and_finest_entries_are_scored() -> None:
    """15 digits either side of the point are taken; a rate over the smallest budget an amount
    can hold (0.01: amounts are read with two decimals, as signed) is a 22-digit number, rounded
    half up, never an error (nor written with an exponent). A finer amount reads as 0.00, and its
    box says so."""
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["funds"]["fiscal"].update(budget="0.01", executed="999999999999999")
    doc["funds"]["other"].update(budget="0." + "0" * 14 + "1")
    doc["indicators"][0]["groups"][0]["items"][0]["score"] = "0." + "0" * 14 + "1"
    ev = json.loads(evaluate_json(json.dumps(doc)))
    assert not [f for f in ev["findings"] if f["code"] == "INVALID_VALUE"]
    assert ev["funds"]["fiscal"]["rate"] == "9999999999999990000.00"
    assert [f["message"].split("填的是 ")[1] for f in ev["findings"] if f["code"] == "AMOUNT_ROUNDED"] == [
        "0.000000000000001：金额保留两位小数，按 0.00 计算和签名"]
    assert ev["total"] == "96.000000000000001"


def test_unknown_framework_falls_back_to_the_page_default() -> None:
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["framework_id"] = "no-such"
    ev = json.loads(evaluate_json(json.dumps(doc), default_framework="jinxian-2021"))
    assert ev["framework"]["id"] == "jinxian-2021"
    assert "FRAMEWORK_MISMATCH" in [f["code"] for f in ev["findings"]]


@pytest.mark.parametrize("text", ["[]", "3", '"x"'])
def test_not_an_object_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match="JSON 对象"):
        evaluate_json(text)


@pytest.mark.parametrize("field", ["year", "framework_id"])
def test_an_emptied_required_field_is_a_finding_not_a_failure(field: str) -> None:
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc[field] = None if field == "year" else ""
    ev = json.loads(evaluate_json(json.dumps(doc)))
    assert ev["total"] == "98"
    if field == "year":
        assert ("MISSING_REQUIRED", "year") in [(f["code"], f["path"]) for f in ev["findings"]]


WARM_PROBE = """
import json, sys
from jixiao import browser
steps = []
for step in range(len(browser.WARM_STEPS)):
    before = set(sys.modules)
    left = browser.warm(step)
    steps.append([left, sorted(set(sys.modules) - before)])
refused = []
for step in (len(browser.WARM_STEPS), -1):
    try:
        browser.warm(step)
    except ValueError as exc:
        refused.append(str(exc))
print(json.dumps({"steps": steps, "refused": refused}))
"""


def test_export_preloading_goes_in_steps_that_each_import_something() -> None:
    """The page preloads what an export needs one step at a time, scoring edits in between
    (engine.js `warm`): every step must still carry part of the load, and the last leaves the
    signing door imported."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", WARM_PROBE], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    lefts = [left for left, _ in result["steps"]]
    assert lefts == list(range(len(lefts) - 1, -1, -1)) and len(lefts) >= 4
    for left, new in result["steps"]:
        assert new, f"step with {left} left imported nothing: WARM_STEPS is out of date"
    first = result["steps"][0][1]
    assert "openpyxl" in first and "jixiao.bundle.archive" not in first
    assert "jixiao.browser_bundle" in result["steps"][-1][1]
    assert result["refused"] == ["没有第 5 步预加载", "没有第 -1 步预加载"]


def test_a_word_in_a_score_box_is_one_error_not_also_a_request_to_fill_it_in() -> None:
    """The cleared value read as blank, and the box showed "请填写…的得分" under "“abc”不是数字"."""
    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["indicators"][0]["groups"][0]["items"][0]["score"] = "abc"
    doc["indicators"][0]["groups"][0]["items"][1]["score"] = None  # a box really left blank is still asked for
    ev = json.loads(evaluate_json(json.dumps(doc)))
    on_box = [f["code"] for f in ev["findings"] if f["path"] == "indicators.0.groups.0.items.0.score"]
    assert on_box == ["INVALID_VALUE"]
    assert [f["code"] for f in ev["findings"] if f["path"] == "indicators.0.groups.0.items.1.score"] == [
        "MISSING_REQUIRED"]


def test_a_percent_in_a_score_box_is_that_boxs_error_and_the_total_leaves_it_out() -> None:
    """"95%" in a 得分 box was read as 95 with no word (the total could pass 100 and still read 优);
    now the box shows why, and the total is the other scores' sum."""
    doc = load_example("jinxian-2021").model_dump(mode="json")
    before = json.loads(evaluate_json(json.dumps(doc)))
    item = doc["indicators"][0]["groups"][0]["items"][0]
    lost = Decimal(item["score"])
    item["score"] = "95%"
    ev = json.loads(evaluate_json(json.dumps(doc, ensure_ascii=False)))
    on_box = [f for f in ev["findings"] if f["path"] == "indicators.0.groups.0.items.0.score"]
    assert [f["code"] for f in on_box] == ["INVALID_VALUE"]
    assert "“95%”带有“%”：这里填分数" in on_box[0]["message"]
    assert Decimal(ev["total"]) == Decimal(before["total"]) - lost


def test_an_amount_with_more_decimals_is_scored_as_it_will_be_signed() -> None:
    """QA: 100.005 + 99.995 added up to 200 in the form, but the bundle signs amounts with two
    decimals (100.01 + 100.00): the signed 附件6 carried a fund-sum error the unit never saw. The
    amount is now read rounded half up, the same figure everywhere, and its box says so."""
    from jixiao.bundle import PrivateKey, build_bundle, verify_file

    doc = load_example("jinxian-2021").model_dump(mode="json")
    doc["funds"]["total"].update(budget="200", executed="200")
    doc["funds"]["basic"].update(budget="100.005", executed="100.005")
    doc["funds"]["project"].update(budget="99.995", executed="99.995")
    doc["funds"]["fiscal"].update(budget="200", executed="200")
    doc["funds"]["other"].update(budget="0", executed="0")
    ev = json.loads(evaluate_json(json.dumps(doc, ensure_ascii=False)))
    by_path = {f["path"]: f for f in ev["findings"]}
    assert by_path["funds.basic.budget"]["code"] == "AMOUNT_ROUNDED"
    assert by_path["funds.basic.budget"]["message"].endswith("填的是 100.005：金额保留两位小数，按 100.01 计算和签名")
    assert by_path["funds.project.budget"]["message"].endswith("填的是 99.995：金额保留两位小数，按 100.00 计算和签名")
    sums = [f["message"] for f in ev["findings"] if f["code"] == "FUND_SUM_MISMATCH"]
    assert any("之和 200.01 不等于整体支出规模 200" in m for m in sums), sums  # as it will be signed
    sub = Submission.model_validate(doc)
    assert (str(sub.funds.basic.budget), str(sub.funds.project.budget)) == ("100.01", "100.00")
    framework = load_framework("jinxian-2021")
    name, data = build_bundle(sub, framework, PrivateKey("ed25519", b"k" * 32), "2022-03-01T10:00:00+08:00")
    verdict = verify_file(name, data)
    assert verdict.ok, [c.message for c in verdict.checks if c.status != "pass"]
    signed = {(f.code, f.message) for f in evaluate(sub, framework).findings}
    form = {(f["code"], f["message"]) for f in ev["findings"] if f["code"] != "AMOUNT_ROUNDED"}
    assert form == signed  # the form showed what the bundle carries
