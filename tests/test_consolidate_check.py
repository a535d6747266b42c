"""The consolidation check (the envelope path) agrees with `verify_file` where it looks.

It must accept what `verify_file` accepts, refuse with the same reason what fails in the
envelope, the payload or the recomputed score, notice an xlsx that carries another envelope,
and leave visible-cell edits to `--deep` (documented: 附件4 reads only the signed payload).
"""

from __future__ import annotations

import base64
import io
import json
import random
import zipfile
from datetime import date

import openpyxl
import pytest

from bundle_helpers import SIGNED_AT, entries, framework, rezip, seed, seed_bundle, unit_key
from consolidate_helpers import earlier_rules_envelope, own_bundle, unit_bundle, unit_key_for
from jixiao import __version__
from jixiao.bundle import PrivateKey, verify_file
from jixiao.bundle.archive import open_zip, prepare_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
from jixiao.bundle.roster import Roster, enrol, new_roster
from jixiao.canonical import canonical_json
from jixiao.consolidate import check_bundle, kind_of
from jixiao.consolidate.hidden_sheet import hidden_envelope
from jixiao.render.xlsx import FORM_SHEET, envelope_from_book

# Every check here runs with orjson (the server) and with the standard library (the browser).
pytestmark = pytest.mark.usefixtures("json_backend")



def files() -> dict[str, bytes]:
    return entries(seed_bundle()[1])


def test_a_good_bundle_passes_in_every_form() -> None:
    parts = files()
    for name, data in (("b.zip", seed_bundle()[1]), ("b.json", parts[".json"]), ("b.xlsx", parts[".xlsx"])):
        checked = check_bundle(name, data)
        assert checked.ok, checked.reasons
        assert verify_file(name, data).ok
        unit = checked.unit
        assert unit is not None
        assert (unit.unit_code, unit.year, unit.self_score, unit.grade) == ("360124-KGX", 2021, 98, "优")
        assert str(unit.budget) == "5479.62" and str(unit.rate) == "100.00"
        assert unit.signers == (unit_key().public.fingerprint_hex,)
    assert check_bundle("b.zip", seed_bundle()[1], deep=True).ok


def test_hidden_sheet_read_from_xml_equals_openpyxl() -> None:
    xlsx = files()[".xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert hidden_envelope(open_zip(xlsx, "x", max_entries=500)) == envelope_from_book(book)
    resaved = io.BytesIO()
    book.save(resaved)  # written again by openpyxl: other shared-string order, same envelope
    assert hidden_envelope(open_zip(resaved.getvalue(), "x", max_entries=500)) == envelope_from_book(book)


def test_shared_strings_with_markup_take_the_full_parse() -> None:
    xlsx = files()[".xlsx"]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"<si>", b"<!-- x --><si>", 1)
            dst.writestr(info, data)
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert hidden_envelope(open_zip(out.getvalue(), "x", max_entries=500)) == envelope_from_book(book)


def test_a_visible_cell_edit_needs_deep() -> None:
    book = openpyxl.load_workbook(io.BytesIO(files()[".xlsx"]))
    ws = book[FORM_SHEET]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "预算编制完整性（2分）")
    ws.cell(row=cell.row, column=8).value = 1
    edited = io.BytesIO()
    book.save(edited)
    bundle = rezip({**files(), ".xlsx": edited.getvalue()})
    assert check_bundle("b.zip", bundle).ok  # 附件4 takes nothing from the cells
    deep = check_bundle("b.zip", bundle, deep=True)
    assert not deep.ok and any("签名后被修改" in r for r in deep.reasons), deep.reasons


def test_an_xlsx_with_another_envelope_is_refused() -> None:
    other = entries(unit_bundle("360124-KGX-01")[1])
    checked = check_bundle("b.zip", rezip({**files(), ".xlsx": other[".xlsx"]}))
    assert not checked.ok and "不是同一份" in checked.reasons[0]


@pytest.mark.parametrize(("change", "words"), [
    (lambda f: {k: v for k, v in f.items() if k != ".html"}, "缺少 .html"),
    (lambda f: {**f, "extra.txt": b"x"}, "多余的文件"),
    (lambda f: {**f, ".json": b"{\"payloadType\": 1}"}, "签名内容类型不符"),
    (lambda f: {**f, ".json": b"not json"}, "不是有效的 JSON"),
])
def test_archive_and_envelope_problems_carry_the_strict_message(change, words: str) -> None:  # type: ignore[no-untyped-def]
    checked = check_bundle("b.zip", rezip(change(files())))
    assert not checked.ok and any(words in r for r in checked.reasons), checked.reasons


def _signed_json(payload: bytes, key: PrivateKey | None = None) -> bytes:
    return sign_payload(SUBMISSION_TYPE, payload, [key or unit_key()]).to_json().encode()


def test_a_signed_but_wrong_evaluation_is_refused() -> None:
    prepared = prepare_bundle(seed(), framework(), SIGNED_AT)
    raw = json.loads(prepared.payload)
    raw["evaluation"]["total"] = "99"
    checked = check_bundle("x.json", _signed_json(canonical_json(raw)))
    assert not checked.ok
    assert checked.reasons[0].startswith("签名中的评分结果与复算不符") and "总分" in checked.reasons[0]
    verdict = verify_file("x.json", _signed_json(canonical_json(raw)))
    assert [c.message for c in verdict.checks if c.status == "fail"] == checked.reasons


def test_an_evaluation_signed_under_earlier_rules_counts_recomputed_with_a_note() -> None:
    """After an upgrade that changed a rule, a unit that signed before it is not sent back: its
    submission is intact, so its row counts as recomputed, and the note says what differed. The
    same difference under this version's name is a refusal (above); `verify` says the same thing."""
    data = earlier_rules_envelope("360124-KGX-03")
    checked = check_bundle("x.json", data)
    assert checked.ok, checked.reasons
    unit = checked.unit
    assert unit is not None and (unit.self_score, unit.grade, str(unit.rate)) == (90, "优", "90.00")
    [note] = unit.flags
    assert note == (f"签名时用的是 jixiao 0.1.0，本程序为 {__version__}，评分规则有更新，复算结果与签名时不同："
                    "指标“预算完成率”的建议得分：签名为 1，复算为 2。汇总按本程序复算的结果；"
                    "如需一致，请该单位用当前版本重新导出签名材料")
    verdict = verify_file("x.json", data)
    assert verdict.ok
    assert [(c.status, c.message) for c in verdict.checks if c.code == "EVALUATION"] == [("warn", note)]
    same_version = json.loads(base64.b64decode(json.loads(data)["payload"]))
    same_version["software"]["version"] = __version__
    refused = check_bundle("x.json", _signed_json(canonical_json(same_version), unit_key_for("360124-KGX-03")))
    assert refused.reasons == ["签名中的评分结果与复算不符：指标“预算完成率”的建议得分：签名为 1，复算为 2"]


def test_non_canonical_or_public_copies_are_refused() -> None:
    prepared = prepare_bundle(seed(), framework(), SIGNED_AT)
    pretty = json.dumps(json.loads(prepared.payload), ensure_ascii=False, indent=1).encode()
    assert "规范化 JSON" in check_bundle("x.json", _signed_json(pretty)).reasons[0]
    raw = json.loads(prepared.payload)
    raw.update(redacted=True, original={"envelope_sha256": "0" * 64, "payload_sha256": "0" * 64,
                                        "signers": ["0" * 64], "signed_at": "2022-03-01T02:00:00Z"})
    assert "脱敏副本" in check_bundle("x.json", _signed_json(canonical_json(raw))).reasons[0]


def test_a_bad_signature_is_refused() -> None:
    doc = json.loads(files()[".json"])
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[0] ^= 1
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    checked = check_bundle("x.json", json.dumps(doc).encode())
    assert not checked.ok and "签名无效" in checked.reasons[0]


def _roster(code: str, key: PrivateKey) -> Roster:
    owner = PrivateKey("ed25519", bytes(range(50, 82)))
    doc = enrol(new_roster(owner, "主管部门", "2022-01-01T00:00:00Z"), code, key.public, unit_name="x",
                valid_from=date(2022, 1, 1))
    return Roster(doc, None)


def test_the_roster_is_applied() -> None:
    assert check_bundle("b.zip", own_bundle()[1], _roster("360124-KGX", unit_key())).ok
    checked = check_bundle("b.zip", own_bundle()[1], _roster("360124-KGX", unit_key_for("other")))
    assert not checked.ok and "名册" in checked.reasons[0]


@pytest.mark.parametrize(("data", "readable"), [
    (b"", False), (b"garbage", False), (b"PK\x03\x04" + bytes(100), False), (b"{", False),
])
def test_garbage_is_unreadable(data: bytes, readable: bool) -> None:
    checked = check_bundle("x", data)
    assert not checked.ok and checked.readable is readable


def test_zip_bomb_and_traversal_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.json", bytes(5 * 1024 * 1024))
    checked = check_bundle("bomb.zip", out.getvalue())
    assert not checked.ok and checked.readable and "压缩炸弹" in checked.reasons[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("../../evil.json", b"{}")
    checked = check_bundle("evil.zip", out.getvalue())
    assert not checked.ok and "../" in checked.reasons[0]


def test_random_damage_never_raises() -> None:
    data = seed_bundle()[1]
    rng = random.Random(2022)
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        checked = check_bundle("x.zip", bytes(damaged))
        assert not any("内部错误" in r for r in checked.reasons), checked.reasons


def test_kind_is_sniffed() -> None:
    parts = files()
    assert kind_of(seed_bundle()[1]) == "bundle"
    assert kind_of(parts[".json"]) == "bundle"
    assert kind_of(parts[".xlsx"]) == "bundle"
    assert kind_of(b"hello") == "other"


ENVELOPE_SPELLINGS = {
    "as written": lambda text: text,
    "BOM": lambda text: "\ufeff" + text,
    "lone surrogate key id": lambda text: text.replace('"keyid": "', '"keyid": "\\ud800', 1),
    "raw surrogate bytes": lambda text: text.replace('"keyid": "', '"keyid": "\udc80', 1),
    "NaN": lambda text: text.replace('"keyid": "', '"keyid": NaN, "x": "', 1),
    "duplicate member": lambda text: text.replace('"payloadType": ', '"payloadType": 1, "payloadType": ', 1),
    "deep": lambda text: text.replace('"keyid": "', '"keyid": ' + "[" * 600 + "]" * 600 + ', "y": "', 1),
    "unicode escapes": lambda text: text.replace('"payloadType"', '"\\u0070ayloadType"', 1),
}


@pytest.mark.parametrize("name", list(ENVELOPE_SPELLINGS))
def test_the_envelope_is_read_as_the_strict_parser_reads_it(name: str) -> None:
    """The envelope is parsed by json, as the strict parser does: every spelling gets the answer and
    the reason `verify_file` gives."""
    written = sign_payload(SUBMISSION_TYPE, prepare_bundle(seed(), framework(), SIGNED_AT).payload,
                           [unit_key()]).to_json()
    text = ENVELOPE_SPELLINGS[name](written)
    assert (text == written) == (name == "as written")
    data = text.encode("utf-8", "surrogatepass")
    checked, verdict = check_bundle("x.json", data), verify_file("x.json", data)
    assert checked.ok == verdict.ok, (checked.reasons, verdict.checks)
    if not checked.ok:
        assert checked.reasons[0] in [c.message for c in verdict.checks if c.status == "fail"]
