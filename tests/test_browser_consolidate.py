"""The 汇总 page's door (`jixiao.browser_consolidate`) under CPython: what the page is told.

The browser test drives the same functions inside Pyodide; here the cases that are slow to set
up in a browser: several years, a department that is not there, values as JavaScript sends
them, a file that is not a bundle at all.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import openpyxl
import pytest

from bundle_helpers import SIGNED_AT, framework
from consolidate_helpers import UNITS, own_bundle, tampered_bundle, unit_bundle, unit_key_for, unit_submission
from jixiao import browser_consolidate as door
from jixiao.bundle import build_bundle
from jixiao.io.errors import InputError
from jixiao.render.summary_xlsx import SHEET


@pytest.fixture
def department() -> Iterator[None]:
    door.start()
    door.add_files([[name, data] for name, data in (own_bundle(), *(unit_bundle(c) for c, *_ in UNITS))])
    yield
    door.start()


def test_table_rejected_and_workbook(department: None) -> None:
    door.add_files([list(tampered_bundle())])
    # What the page sends when no roster, department or year is chosen.
    answer = door.summarise(b"", "weighted", "", "", "2022-04-01T00:00:00Z")
    assert answer["ok"] and answer["checked"] == 5 and answer["passed"] == 4
    table = answer["table"]
    assert [r["unit_code"] for r in table["rows"]] == ["360124-KGX", "360124-KGX-01", "360124-KGX-02", "360124-KGX-03"]
    assert table["total"] == {"budget": "5980.12", "executed": "5930.12", "rate": "99.16%", "self_score": "97.36",
                              "review_score": ""}
    [rejected] = answer["rejected"]
    assert "KGX-04" in rejected["name"] and rejected["reasons"][0].startswith("签名无效")
    ws = openpyxl.load_workbook(io.BytesIO(answer["xlsx"]))[SHEET]
    assert [ws.cell(row=9, column=c).value for c in (1, 3, 4)] == ["合计", 5980.12, 5930.12]
    assert door.summarise(b"", "mean", None, 2021)["table"]["total"]["self_score"] == "92"


def test_several_years_ask_for_a_choice_in_the_page_words(department: None) -> None:
    spec = next(u for u in UNITS if u[0] == "360124-KGX-01")
    later = build_bundle(unit_submission(*spec, year=2022), framework(), unit_key_for(spec[0]), SIGNED_AT)
    door.add_files([list(later)])
    answer = door.summarise(b"", "weighted", "", "")
    assert not answer["ok"] and answer["table"] is None
    assert "多个年度" in answer["message"] and "请在“年度”中填写" in answer["message"]
    assert "--year" not in answer["message"]
    chosen = door.summarise(b"", "weighted", "", "2022")
    assert chosen["ok"] and [r["unit_code"] for r in chosen["table"]["rows"]] == ["360124-KGX-01"]
    assert chosen["left_out"]  # the 2021 bundles are named as not in this table


def test_nothing_to_summarise_still_lists_every_file() -> None:
    door.start()
    door.add_files([list(tampered_bundle()), ["notes.json", b'{"payloadType": "text/plain"}']])
    answer = door.summarise(b"", "weighted", "", "")
    assert not answer["ok"] and "没有通过核验的签名材料" in answer["message"]
    assert {r["name"] for r in answer["rejected"]} == {tampered_bundle()[0], "notes.json"}
    with pytest.raises(InputError, match="年度应为四位数字"):
        door.summarise(b"", "weighted", "", "二〇二一")
    with pytest.raises(InputError, match="合计分数的算法"):
        door.summarise(b"", "median", "", "")
    with pytest.raises(InputError, match="名册"):
        door.summarise(b"{}", "weighted", "", "")
    door.start()


def test_a_department_that_is_not_there(department: None) -> None:
    answer = door.summarise(b"", "weighted", "别的部门", "")
    assert not answer["ok"] and "没有主管部门为“别的部门”" in answer["message"]


def test_checks_made_in_slices_are_reused_and_give_the_same_answer(
        department: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page checks the bundles a slice at a time (repainting its bar in between); the summary
    then reuses those checks instead of doing them again, and says exactly what one call says."""
    door.add_files([list(tampered_bundle()), ["notes.json", b'{"payloadType": "text/plain"}']])
    whole = door.summarise(b"", "weighted", "", "", "2022-04-01T00:00:00Z")
    calls: list[str] = []
    real = door.check_bundle

    def check_slowly(name: str, data: bytes, roster: object) -> object:  # past the budget: one bundle a call
        calls.append(name)
        time.sleep(0.002)  # a check of the seed can take under 1 ms
        return real(name, data, roster)

    monkeypatch.setattr(door, "check_bundle", check_slowly)
    seen = []
    while True:
        step = door.check_some(b"", 1)  # a 1 ms budget
        seen.append(step["done"])
        if step["done"] == step["total"]:
            break
    assert seen == [1, 2, 3, 4, 5] and len(calls) == 5  # the four units and the tampered one, not notes.json
    from jixiao.consolidate import collect

    monkeypatch.setattr(collect, "check_bundle", lambda *a, **k: pytest.fail("checked again"))
    again = door.summarise(b"", "weighted", "", "", "2022-04-01T00:00:00Z")
    # the workbooks are compared by their cells: each is stamped with the clock, which may tick between
    assert _cells(again.pop("xlsx")) == _cells(whole.pop("xlsx"))
    assert again == whole


def _cells(xlsx: bytes) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(io.BytesIO(xlsx))[SHEET].iter_rows(values_only=True))


def test_checks_made_under_another_roster_are_not_reused(department: None) -> None:
    """A bundle that passed without a roster must be checked again against one that does not
    enrol its key (and is then refused), never answered from the earlier check."""
    from consolidate_helpers import supervisor
    from jixiao.bundle.roster import new_roster, roster_json

    empty = roster_json(new_roster(supervisor(), "进贤县科技和工业信息化局", "2022-01-01T00:00:00Z"),
                        supervisor()).encode("utf-8")
    assert door.check_some(b"", 10_000) == {"done": 4, "total": 4}
    refused = door.summarise(empty, "weighted", "", "")
    assert not refused["ok"] and len(refused["rejected"]) == 4
    assert all("名册" in r["reasons"][0] for r in refused["rejected"])
    assert door.check_some(empty, 10_000) == {"done": 4, "total": 4}
    assert door.summarise(b"", "weighted", "", "")["ok"]  # checked again without the roster
    door.start()
    assert door.check_some(b"", 10_000) == {"done": 0, "total": 0}


def test_the_roster_sent_with_every_slice_is_loaded_once(department: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from consolidate_helpers import supervisor
    from jixiao.bundle.roster import new_roster, roster_json

    roster = roster_json(new_roster(supervisor(), "进贤县科技和工业信息化局", "2022-01-01T00:00:00Z"),
                         supervisor()).encode("utf-8")
    loads: list[bytes] = []
    real = door.load_roster
    monkeypatch.setattr(door, "load_roster", lambda data: loads.append(data) or real(data))
    monkeypatch.setattr(door, "_loaded", [])  # nothing remembered from the tests before
    while (step := door.check_some(roster, 1))["done"] < step["total"]:
        pass
    door.summarise(roster, "weighted", "", "")
    assert len(loads) == 1


def test_an_empty_or_unknown_file_is_named_as_the_cli_names_it(department: None) -> None:
    """Dropped on the page, an empty file and a file of no known kind were both "不是签名材料、
    复核意见或汇总表"; `jixiao consolidate` says the file is empty, or that it cannot tell what it is."""
    door.add_files([["empty.zip", b""], ["notes.zip", b"just some text"]])
    answer = door.summarise(b"", "weighted", "", "")
    reasons = {r["name"]: r["reasons"][0] for r in answer["rejected"]}
    assert reasons["empty.zip"] == "文件是空的"
    assert reasons["notes.zip"].startswith("无法识别的文件")
