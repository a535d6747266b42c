"""jixiao publish without a browser: what is published, what is refused, what never leaks."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
import yaml

from bundle_helpers import entries, failures, rezip, text_of
from jixiao import load_framework
from jixiao.bundle import PrivateKey, verify_file, verify_path
from jixiao.bundle.archive import Prepared, finish_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, parse_envelope
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.payload import SignedContent, parse_payload
from jixiao.io.errors import InputError
from jixiao.publish import PublishReport, publish, redact_submission
from jixiao.publish.leaks import scan
from jixiao.publish.pages import safe_title
from jixiao.publish.redact import NAME_MASK, Private
from jixiao.publish.site import SEARCH_SEPARATOR
from publish_helpers import (
    CONTACT_NAME,
    CONTACT_PHONE,
    HOSTILE_CODE,
    TEXT_PHONE,
    TEXT_PHONES,
    all_bytes,
    hostile_submission,
    seed_with_contact,
    unredacted_bundle,
    write_inputs,
)

REPO = Path(__file__).resolve().parents[1]
JIXIAO = Path(sys.executable).parent / "jixiao"
PUBLISHED_AT = "2022-06-01T10:00:00+08:00"
PUBLIC_LINE = "公开版（已删去联系人、电话等不公开的信息）"
SHEETS = ("附件6 自评表", "附件7 自评报告")


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {"unit": PrivateKey.generate(), "hostile": PrivateKey.generate(), "publisher": PrivateKey.generate()}


@dataclass(frozen=True)
class Published:
    inputs: dict[str, Path]
    report: PublishReport
    site: Path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, PrivateKey]) -> Published:
    root = tmp_path_factory.mktemp("publish")
    inputs = write_inputs(root / "in", keys["unit"], keys["hostile"])
    report = publish([root / "in"], root / "site", keys["publisher"], PUBLISHED_AT)
    return Published(inputs, report, root / "site")


def test_only_verified_latest_bundles_are_published(published: Published) -> None:
    report = published.report
    inputs = published.inputs
    assert len(report.published) == 2
    rejected = {Path(r.source).name: r.reasons for r in report.rejected}
    assert set(rejected) == {inputs["tampered"].name}
    assert "签名无效" in rejected["tampered.zip"][0]
    superseded = {Path(r.source).name: r.reasons for r in report.superseded}  # verified, not refused
    assert set(superseded) == {inputs["older"].name}
    assert "更新的签名材料" in superseded["seed-older.zip"][0]


def test_private_fields_absent_from_every_byte(published: Published) -> None:
    site = published.site
    files = all_bytes(site)
    assert any(".zip!" in name and ".xlsx!xl/worksheets/" in name for name, _ in files)  # zips were opened
    forms = []
    for secret in (CONTACT_NAME, CONTACT_PHONE, TEXT_PHONE, *TEXT_PHONES, *TEXT_PHONES.values()):
        forms += [secret.encode(), json.dumps(secret).strip('"').encode(), secret.encode("utf-16-le")]
    hits = [name for name, data in files for form in forms if form in data]
    assert hits == []
    # ...while the hostile original did carry them in its signed payload
    original = zipfile.ZipFile(published.inputs["hostile"])
    content = _payload(original)
    assert content.submission.contact.name == CONTACT_NAME


def _payload(archive: zipfile.ZipFile) -> SignedContent:
    name = next(n for n in archive.namelist() if n.endswith(".json"))
    return parse_payload(parse_envelope(archive.read(name), SUBMISSION_TYPE).payload)


def test_public_bundle_is_a_marked_redacted_copy(published: Published, keys: dict[str, PrivateKey]) -> None:
    report = published.report
    for entry in report.published:
        content = _payload(zipfile.ZipFile(published.site / "downloads" / f"{entry.slug}.zip"))
        assert content.redacted and content.raw["redacted"] is True
        assert content.original is not None
        assert content.original.envelope_sha256 == entry.copy.accepted.envelope_sha256
        assert content.submission.contact.name == "" and content.submission.contact.phone == ""
    hostile = next(e for e in report.published if e.copy.submission.unit_code == HOSTILE_CODE)
    assert hostile.copy.accepted.content.submission.contact.phone == CONTACT_PHONE
    assert content.original.signers
    assert {"contact.name", "contact.phone", "report.sections.overview.duties"} <= set(hostile.copy.removed)


def test_public_copy_files_say_they_are_the_public_copy(published: Published) -> None:
    """Inside the zip and in the xlsx download, not only in its JSON: names, the page's opening
    line and footer, and the top row of both sheets. A unit's own bundle says none of it."""
    site = published.site
    for entry in published.report.published:
        with zipfile.ZipFile(site / "downloads" / f"{entry.slug}.zip") as archive:
            names = archive.namelist()
            assert len(names) == 3 and all(Path(n).stem.endswith("-公开版") for n in names)
            html = archive.read(next(n for n in names if n.endswith(".html"))).decode("utf-8")
        assert html.count(PUBLIC_LINE) == 1 and "发布机关于 2022-06-01 10:00（北京时间）发布签名" in html
        assert "单位签名的原件（签名于 2022-03-01 10:00（北京时间））" in html
        assert "发布机关签名时间 2022-06-01T02:00:00Z" in html
        book = openpyxl.load_workbook(site / "downloads" / f"{entry.slug}.xlsx")
        for sheet in ("附件6 自评表", "附件7 自评报告"):
            assert [c.value for row in book[sheet].iter_rows(max_row=1) for c in row if c.value][-1].startswith(
                PUBLIC_LINE)
    with zipfile.ZipFile(published.inputs["seed"]) as original:
        html = original.read(next(n for n in original.namelist() if n.endswith(".html"))).decode("utf-8")
        assert all("公开版" not in n for n in original.namelist())
    assert "公开版" not in html and "发布机关" not in html and "签名时间 2022-03-01T02:00:00Z" in html


def test_verify_names_a_public_copy_line_removed_from_the_sheet(published: Published, tmp_path: Path) -> None:
    entry = published.report.published[0]
    book = openpyxl.load_workbook(published.site / "downloads" / f"{entry.slug}.xlsx")
    assert verify_path(published.site / "downloads" / f"{entry.slug}.xlsx").ok
    cell = next(c for row in book["附件7 自评报告"].iter_rows(max_row=1) for c in row
                if str(c.value).startswith(PUBLIC_LINE))
    cell.value = None
    book.save(tmp_path / "no-line.xlsx")
    verdict = verify_path(tmp_path / "no-line.xlsx")
    assert not verdict.ok
    assert any("公开版" in c.message and c.status == "fail" for c in verdict.checks), verdict.checks


def _public_files(published: Published) -> dict[str, bytes]:
    return entries((published.site / "downloads" / f"{published.report.published[0].slug}.zip").read_bytes())


def _earlier_copy(files: dict[str, bytes]) -> bytes:
    """The same signed public copy as the writer before 324ec0f made it: finish_bundle, the
    unit's bundle writer, over the publisher's envelope (checked once against a copy published
    by 9767226: equal byte for byte, the standalone .xlsx download too)."""
    envelope = parse_envelope(files[".json"], SUBMISSION_TYPE)
    content = parse_payload(envelope.payload)
    prepared = Prepared(content.submission, content.evaluation, load_framework(content.framework.id),
                        content.signed_at, envelope.payload)
    return finish_bundle(prepared, envelope.signatures)[1]


def _book(xlsx: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(xlsx))


def _saved(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _note_cell(book: Any, sheet: str) -> Any:
    return next(c for row in book[sheet].iter_rows(max_row=1) for c in row if str(c.value).startswith(PUBLIC_LINE))


def test_a_public_copy_published_before_the_line_still_verifies(published: Published) -> None:
    """Sites published before the files carried the 公开版 line keep their downloads: the zip
    and the .xlsx pass, saying they are an earlier public copy without the line."""
    earlier = entries(_earlier_copy(_public_files(published)))
    assert PUBLIC_LINE not in earlier[".html"].decode("utf-8")
    for name, data in (("earlier.zip", rezip(earlier)), ("earlier.xlsx", earlier[".xlsx"])):
        verdict = verify_file(name, data)
        assert verdict.ok, text_of(verdict)
        assert any(c.status == "warn" and "较早版本发布的公开版" in c.message for c in verdict.checks), text_of(verdict)
    assert not any("较早版本" in c.message for c in verify_file("new.zip", rezip(_public_files(published))).checks)


def test_a_line_removed_from_every_part_reads_as_an_earlier_copy(published: Published) -> None:
    """Decision: a new copy whose line is taken out of both sheets (and whose page is rebuilt
    as the earlier writer made it) is not refused. Its files are then exactly an earlier copy's,
    the signed content is still whole, and the line is only a label made from the payload,
    which the verdict still reads out (a public copy, signed by the publisher). It is said."""
    files = _public_files(published)
    book = _book(files[".xlsx"])
    for sheet in SHEETS:
        _note_cell(book, sheet).value = None
    stripped = {**files, ".xlsx": _saved(book), ".html": entries(_earlier_copy(files))[".html"]}
    for name, data in (("stripped.zip", rezip(stripped)), ("stripped.xlsx", stripped[".xlsx"])):
        verdict = verify_file(name, data)
        assert verdict.ok and "较早版本发布的公开版" in text_of(verdict), text_of(verdict)


def test_a_line_removed_from_one_part_or_altered_is_named(published: Published) -> None:
    """What the earlier copy's acceptance must not let through (this passed before it too)."""
    files = _public_files(published)
    earlier = entries(_earlier_copy(files))
    no_line = _book(files[".xlsx"])
    for sheet in SHEETS:
        _note_cell(no_line, sheet).value = None
    one_sheet = _book(files[".xlsx"])
    _note_cell(one_sheet, SHEETS[1]).value = None
    altered = _book(files[".xlsx"])
    cell = _note_cell(altered, SHEETS[0])
    cell.value = cell.value.replace("不公开的信息", "信息")
    cases = {
        "sheets without the line, the page with it": ({**files, ".xlsx": _saved(no_line)}, ["D1", "B1"]),
        "the page without the line, the sheets with it": ({**files, ".html": earlier[".html"]}, ["[html]"]),
        "one sheet without the line": ({**files, ".xlsx": _saved(one_sheet)}, ["附件7 自评报告!B1"]),
        "the line altered on one sheet": ({**files, ".xlsx": _saved(altered)}, ["附件6 自评表!D1"]),
        "an earlier sheet, the line altered on the other": (
            {**earlier, ".xlsx": _saved(altered)}, ["附件6 自评表!D1"]),
    }
    for case, (parts, named) in cases.items():
        verdict = verify_file("x.zip", rezip(parts))
        assert not verdict.ok, case
        assert all(any(n in f for f in failures(verdict)) for n in named), (case, text_of(verdict))
        assert "较早版本" not in text_of(verdict), case


def test_a_line_hidden_by_its_number_format_is_named(published: Published) -> None:
    """';;;' shows nothing: the line is gone for a reader, as with an ordinary cell."""
    files = _public_files(published)
    for sheet, where in zip(SHEETS, ("D1", "B1"), strict=True):
        book = _book(files[".xlsx"])
        _note_cell(book, sheet).number_format = ";;;"
        for name, data in (("hidden.xlsx", _saved(book)), ("hidden.zip", rezip({**files, ".xlsx": _saved(book)}))):
            verdict = verify_file(name, data)
            assert not verdict.ok, (name, sheet)
            assert any(f"{sheet}!{where}" in f and ";;;" in f for f in failures(verdict)), text_of(verdict)


def test_downloaded_bundle_verifies_with_the_cli(published: Published, keys: dict[str, PrivateKey]) -> None:
    zips = sorted((published.site / "downloads").glob("*.zip"))
    assert len(zips) == 2
    result = subprocess.run([str(JIXIAO), "verify", "--json", *map(str, zips)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = json.loads(result.stdout)
    for verdict in verdicts:
        assert verdict["ok"]
        assert verdict["fingerprints"] == [keys["publisher"].public.fingerprint]
        assert any("公开副本" in c["message"] for c in verdict["checks"])
    xlsx = next((published.site / "downloads").glob("*.xlsx"))
    assert verify_path(xlsx).ok


def test_pages_name_framework_fingerprints_and_redaction(published: Published, keys: dict[str, PrivateKey]
                                                         ) -> None:
    site = published.site
    seed = next(e for e in published.report.published if e.copy.submission.unit_code == "360124-KGX")
    html = (site / "units" / f"{seed.slug}.html").read_text(encoding="utf-8")
    framework = load_framework("jinxian-2021")
    for expected in (framework.id, framework.version, keys["unit"].public.fingerprint,
                     keys["publisher"].public.fingerprint, "公开版（脱敏副本）", "98", "优", "附件6", "附件7"):
        assert expected in html
    assert f"../downloads/{seed.slug}.zip" in html
    # 整体执行率 as 附件4 and the county table give it (two decimals); it read 100% against their 100.00%.
    assert re.search(r"整体执行率</th><td>100\.00%</td>", html), html
    # 单位签名时间 in Beijing time, as the dashboard gives it (the bundle holds 2022-03-01T02:00:00Z).
    assert "单位签名时间</th><td>2022-03-01 10:00:00（北京时间）</td>" in html
    index = (site / "2021" / "index.html").read_text(encoding="utf-8")
    assert f"../units/{seed.slug}.html" in index
    assert (site / "verify.html").read_text(encoding="utf-8").count("jixiao verify") >= 1
    manifest = json.loads((site / "publish.json").read_text(encoding="utf-8"))
    assert manifest["publisher_fingerprint"] == keys["publisher"].public.fingerprint


def test_no_off_origin_reference_and_search_index(published: Published) -> None:
    site = published.site
    sys.path.insert(0, str(REPO / "tests"))
    from browser_fixtures import load_build_module

    assert load_build_module("check").off_origin_references(site) == []
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["separator"] == SEARCH_SEPARATOR
    portal = REPO / ".cache" / "test-site" / "search" / "search_index.json"
    if portal.is_file():  # the same search configuration as the portal's built site
        assert index["config"] == json.loads(portal.read_text(encoding="utf-8"))["config"]
    assert any("进贤县科技和工业信息化局" in doc["text"] for doc in index["docs"])
    assert "content_security_policy" in json.loads((site / "version.json").read_text(encoding="utf-8"))
    assert not list(site.rglob("*.map")) and not (site / "sitemap.xml").exists()


def test_separator_is_the_portals() -> None:
    portal = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8").replace("!!python", "#"))
    search = next(p["search"] for p in portal["plugins"] if isinstance(p, dict) and "search" in p)
    assert search["separator"] == SEARCH_SEPARATOR


def test_file_names_and_titles_are_sanitized(published: Published) -> None:
    site = published.site
    names = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
    assert all(".." not in n and "<" not in n for n in names)
    hostile = next(e for e in published.report.published if e.copy.submission.unit_code == HOSTILE_CODE)
    assert hostile.slug.startswith("2021-X1-i-")
    with zipfile.ZipFile(site / "downloads" / f"{hostile.slug}.zip") as archive:
        assert all("/" not in n and "<" not in n and ".." not in n for n in archive.namelist())
    for text in ('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "{{ 7*7 }}"):
        title = safe_title(text, "x")
        assert not set(title) & set("<>&\"'{}[]")


def test_redaction_masks_phones_and_review_keys() -> None:
    framework = load_framework("jinxian-2021")
    submission, removed, private = redact_submission(hostile_submission(), framework)
    assert submission.contact.name == "" and TEXT_PHONE not in submission.report.sections["overview.duties"]
    assert "（电话已删去）" in submission.report.sections["overview.duties"]
    assert CONTACT_NAME in private.texts and {CONTACT_PHONE, TEXT_PHONE, *TEXT_PHONES.values()} <= private.numbers
    assert "contact.name" in removed
    # Money and codes are not phones: the seed's amounts survive untouched
    assert submission.funds == hostile_submission().funds


def test_contact_named_in_the_report_is_masked_and_published(published: Published) -> None:
    """The hostile unit's payload carries its contact and its report names them: the name is
    masked like a phone, and the unit is published with the others (it once stopped the site)."""
    hostile = next(e for e in published.report.published if e.copy.submission.unit_code == HOSTILE_CODE)
    duties = hostile.copy.submission.report.sections["overview.duties"]
    assert f"联系人：{NAME_MASK}" in duties and CONTACT_NAME not in duties
    assert CONTACT_NAME in hostile_submission().report.sections["overview.duties"]


def test_a_unit_whose_private_value_remains_is_refused_alone(tmp_path: Path, keys: dict[str, PrivateKey]) -> None:
    """Its contact is a word every page carries (the navigation's 如何核验): masking the unit's
    own texts cannot remove it, so that unit is refused with the reason, and the rest published."""
    folder = tmp_path / "in"
    paths = write_inputs(folder, keys["unit"], keys["hostile"])
    paths["tampered"].unlink()
    seed = seed_with_contact()
    odd = seed.model_copy(update={"unit_code": "360124-ODD", "unit_kind": "所属单位",
                                  "contact": seed.contact.model_copy(update={"name": "核验"})})
    (folder / "odd.zip").write_bytes(unredacted_bundle(odd, keys["hostile"])[1])
    report = publish([folder], tmp_path / "site", keys["publisher"], PUBLISHED_AT)
    assert {e.copy.submission.unit_code for e in report.published} == {"360124-KGX", HOSTILE_CODE}
    refused = {Path(r.source).name: r.reasons for r in report.rejected}
    assert "不公开的信息" in refused["odd.zip"][0] and "该单位未公开" in refused["odd.zip"][0]
    manifest = json.loads((tmp_path / "site" / "publish.json").read_text(encoding="utf-8"))
    assert {u["unit_code"] for u in manifest["units"]} == {"360124-KGX", HOSTILE_CODE}
    assert not [n for n, data in all_bytes(tmp_path / "site") if b"360124-ODD" in data]
    # that unit alone: nothing to publish, and the site published before stays as it was
    with pytest.raises(InputError, match=r"仍有不公开的信息（odd.zip）.*已有的网站未改动"):
        publish([folder / "odd.zip"], tmp_path / "site", keys["publisher"], PUBLISHED_AT)
    assert json.loads((tmp_path / "site" / "publish.json").read_text(encoding="utf-8")) == manifest


def test_leak_scan_looks_inside_zips(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner.json", json.dumps({"name": CONTACT_NAME}))
    assert scan(tmp_path, {"u": Private(texts=frozenset({CONTACT_NAME}))}) == {"u": ["b.zip/inner.json"]}


def test_cli_publish(published: Published, keys: dict[str, PrivateKey], tmp_path: Path) -> None:
    inputs = published.inputs
    keyfile = tmp_path / "publisher.json"
    keyfile.write_text(key_file_json(keys["publisher"]), encoding="utf-8")
    out = tmp_path / "site"
    args = [str(JIXIAO), "publish", str(inputs["seed"]), str(inputs["tampered"]), "-o", str(out),
            "--key", str(keyfile), "--signed-at", PUBLISHED_AT]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr  # one input refused
    assert "已公开：2021 进贤县科技和工业信息化局" in result.stdout
    assert "未公开" in result.stderr and "签名无效" in result.stderr
    assert keys["publisher"].public.fingerprint in result.stdout
    assert (out / "index.html").is_file() and (out / "publish.json").is_file()
    # a second run replaces the published site; a folder that is not one is refused
    again = subprocess.run([*args[:3], "-o", str(out), *args[6:]], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    # an output folder named relative to where the command runs (it once failed with an internal
    # error: the pages were built relative to a staging folder instead)
    relative = subprocess.run([*args[:3], "-o", "relative-site", *args[6:]], capture_output=True, text=True,
                              check=False, cwd=tmp_path)
    assert relative.returncode == 0, relative.stderr
    assert (tmp_path / "relative-site" / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".publish-")]  # no staging left behind
    # nothing that passes (only the tampered bundle): refused, and the site published before stays
    empty = subprocess.run([*args[:2], str(inputs["tampered"]), "-o", str(out), *args[6:]], capture_output=True,
                           text=True, check=False)
    assert empty.returncode == 2 and "没有通过核验、可以公开的材料" in empty.stderr, empty.stderr
    assert "已有的网站未改动" in empty.stderr and (out / "index.html").is_file()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    refused = subprocess.run([*args[:3], "-o", str(other), *args[6:]], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "不会覆盖" in refused.stderr
    assert (other / "keep.txt").read_text(encoding="utf-8") == "mine"
