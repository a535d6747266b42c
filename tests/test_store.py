"""The store: verbatim, addressed by sha256, append-only, the latest valid bundle by query."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bundle_helpers import entries, unit_key
from consolidate_helpers import (
    UNITS,
    own_bundle,
    supervisor,
    tampered_bundle,
    unit_bundle,
    unit_key_for,
    write_department,
)
from jixiao.bundle import PrivateKey
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.roster import enrol, new_roster, roster_json
from jixiao.cli import cli
from jixiao.consolidate import check_bundle, consolidate, expand, make_review, sign_review
from jixiao.io.errors import InputError
from jixiao.render.summary_xlsx import SHEET
from jixiao.store import Store


def add(store: Store, name: str, data: bytes, received_at: str | None = None) -> tuple[bool, object]:
    checked = check_bundle(name, data)
    assert checked.ok, checked.reasons
    return store.add_bundle(data, checked, how="cli", filename=name, received_at=received_at)


def test_insert_is_idempotent_and_verbatim(tmp_path: Path) -> None:
    name, data = own_bundle()
    with Store(tmp_path / "db.sqlite") as store:
        inserted, row = add(store, name, data)
        assert inserted
        again, same = add(store, name, data)
        assert not again and same == row
        assert store.count() == 1
        assert store.data(row.sha256) == data  # type: ignore[attr-defined]
        assert row.unit_code == "360124-KGX" and row.year == 2021 and row.self_score == "98"  # type: ignore[attr-defined]
        assert row.verification["ok"] and row.verification["mode"] == "envelope"  # type: ignore[attr-defined]
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_nothing_is_updated_or_deleted(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        add(store, *own_bundle())
        unit = check_bundle("x", own_bundle()[1]).unit
        assert unit is not None
        store.add_review(sign_review(make_review(unit, "95", reviewed_at="2022-04-01T00:00:00Z"), supervisor()))
        for statement in ("UPDATE bundles SET ok = 0", "DELETE FROM bundles", "UPDATE reviews SET score = '1'",
                          "DELETE FROM reviews"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                store._db.execute(statement)
        assert store.count() == 1


def test_latest_by_signing_time_then_arrival(tmp_path: Path) -> None:
    code = UNITS[0][0]
    early, late = unit_bundle(code), unit_bundle(code, "2022-03-09T10:00:00+08:00")
    with Store(tmp_path / "db.sqlite") as store:
        add(store, late[0], late[1], "2022-03-10T00:00:00Z")
        add(store, early[0], early[1], "2022-03-11T00:00:00Z")  # arrives later, signed earlier
        assert store.versions(code, 2021) == 2
        (latest,) = store.latest(2021)
        assert latest.signed_at == "2022-03-09T02:00:00Z"
        # the same signed content as a bare .json: same signing time, later arrival wins the tie
        bare = entries(late[1])[".json"]
        add(store, "late.json", bare, "2022-03-12T00:00:00Z")
        assert store.latest(2021)[0].kind == "json"


def test_reviews_are_kept_and_superseded(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        add(store, *own_bundle())
        unit = check_bundle("x", own_bundle()[1]).unit
        assert unit is not None
        first = sign_review(make_review(unit, "95", reviewed_at="2022-04-01T00:00:00Z"), supervisor())
        second = sign_review(make_review(unit, "96", reviewed_at="2022-04-02T00:00:00Z", supersedes=first.sha256),
                             supervisor())
        assert store.add_review(first) and store.add_review(second) and not store.add_review(second)
        history = store.review_rows("360124-KGX", 2021)
        assert [r.score for r in history] == ["96", "95"]
        assert [r.doc.score for r in store.reviews(2021)] == [95, 96]
        assert store.reviews(2021, trusted=["0" * 64]) == []  # signed by someone else: not used


def test_consolidate_reads_a_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with Store(path) as store:
        for name, data in (own_bundle(), *(unit_bundle(code) for code, *_ in UNITS)):
            add(store, name, data)
        unit = check_bundle("x", own_bundle()[1]).unit
        assert unit is not None
        store.add_review(sign_review(make_review(unit, "96", reviewed_at="2022-04-01T00:00:00Z"), supervisor()))
    sources, missing = expand([path])
    assert len(sources) == 5 and not missing
    outcome = consolidate(sources)
    assert outcome.summary is not None
    assert [str(r.review_score) if r.review_score is not None else None for r in outcome.summary.rows] == [
        "96", None, None, None]
    assert str(outcome.summary.total.self_score) == "97.36"


def test_cli_store_review_and_consolidate(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_department(folder)
    db = tmp_path / "db.sqlite"
    key = tmp_path / "supervisor.key"
    key.write_text(key_file_json(supervisor()), encoding="utf-8")
    runner = CliRunner()
    added = runner.invoke(cli, ["store", "add", str(db), str(folder)])
    assert added.exit_code == 1, added.output  # the tampered bundle is refused and not stored
    assert added.output.count("已收存") == 4 and "签名无效" in added.output
    again = runner.invoke(cli, ["store", "add", str(db), str(folder)])
    assert again.output.count("已存在") == 4
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(cli, ["store", "add", str(db), str(tmp_path / "empty")])
    assert empty.exit_code == 1 and "文件夹中没有 .zip、.json 或 .xlsx 文件" in empty.output, empty.output
    with Store(db, create=False) as store:
        assert store.count() == 4
        assert {r.how for r in store.bundles()} == {"folder"}

    reviewed = runner.invoke(cli, ["review", str(db), "--unit", "360124-KGX-02", "--year", "2021", "--score", "80",
                                   "--note", "执行率偏低", "--indicator", "服务群众办事效率=20", "--key", str(key)])
    assert reviewed.exit_code == 0, reviewed.output
    assert "复核分数 80" in reviewed.output
    too_high = runner.invoke(cli, ["review", str(db), "--unit", "360124-KGX-02", "--year", "2021", "--score", "101",
                                   "--key", str(key)])
    assert too_high.exit_code == 2 and "超过上限 100" in too_high.output
    over_max = runner.invoke(cli, ["review", str(db), "--unit", "360124-KGX-02", "--year", "2021", "--score", "80",
                                   "--indicator", "预算编制完整性=3", "--key", str(key)])
    assert over_max.exit_code == 2 and "超过上限 2" in over_max.output
    runner.invoke(cli, ["review", str(db), "--unit", "360124-KGX-02", "--year", "2021", "--score", "81",
                        "--key", str(key)])
    with Store(db, create=False) as store:
        assert [r.score for r in store.review_rows("360124-KGX-02", 2021)] == ["81", "80"]

    listing = runner.invoke(cli, ["store", "list", str(db), "--json"])
    rows = json.loads(listing.output)
    assert rows[0]["unit_code"] == "360124-KGX"
    assert next(r for r in rows if r["unit_code"] == "360124-KGX-02")["review_score"] == "81"

    out = tmp_path / "附件4.xlsx"
    result = runner.invoke(cli, ["consolidate", str(db), "-o", str(out), "--key", str(key)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out)[SHEET]
    assert ws["B7"].value == "进贤县中小企业服务中心" and ws["G7"].value == 81
    signed = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert signed["payloadType"] == "application/vnd.jixiao.summary+json; version=1"


def test_store_list_shows_only_a_review_that_counts_for_the_listed_bundle(tmp_path: Path) -> None:
    """`store list` is where the supervisor sees who is reviewed: its 复核 must be the one consolidate
    puts in 附件4 — not a review of the unit's older bundle (say 需重新复核), and, against a roster, not one
    signed by a key other than the roster owner's. `review --roster` refuses such a key outright: its
    review would not count and would still supersede the supervisor's in the store."""
    code = "360124-KGX-01"
    roster = tmp_path / "roster.json"
    doc = new_roster(supervisor(), "进贤县科技和工业信息化局", "2022-01-01T00:00:00Z")
    doc = enrol(doc, "360124-KGX", unit_key().public, unit_name="本级", valid_from=date(2022, 1, 1))
    doc = enrol(doc, code, unit_key_for(code).public, unit_name="所属", valid_from=date(2022, 1, 1))
    roster.write_text(roster_json(doc, supervisor()), encoding="utf-8")
    keys = {}
    for name, key in (("sup", supervisor()), ("other", PrivateKey("ed25519", bytes(range(60, 92))))):
        keys[name] = tmp_path / f"{name}.key"
        keys[name].write_text(key_file_json(key), encoding="utf-8")
    first, later = tmp_path / "first.zip", tmp_path / "later.zip"
    first.write_bytes(unit_bundle(code)[1])
    later.write_bytes(unit_bundle(code, "2022-03-05T10:00:00+08:00")[1])
    db = str(tmp_path / "db.sqlite")
    runner = CliRunner()

    def review(score: str, key: str, *roster_option: str) -> Any:
        return runner.invoke(cli, ["review", db, "--unit", code, "--year", "2021", "--score", score,
                                   "--key", str(keys[key]), *roster_option])

    def listed(*options: str) -> tuple[Any, str]:
        rows = json.loads(runner.invoke(cli, ["store", "list", db, "--json", *options]).output)
        text = runner.invoke(cli, ["store", "list", db, *options]).output
        return next(r for r in rows if r["unit_code"] == code), next(t for t in text.splitlines() if code in t)

    def in_summary(*options: str) -> Any:
        out = tmp_path / "a4.xlsx"
        result = runner.invoke(cli, ["consolidate", db, "-o", str(out), "--json", "--force", *options])
        return next(r for r in json.loads(result.output)["summary"]["rows"] if r["unit_code"] == code)["review_score"]

    with_roster = ("--roster", str(roster))
    assert runner.invoke(cli, ["store", "add", db, str(first), *with_roster]).exit_code == 0
    assert review("90", "sup", *with_roster).exit_code == 0
    row, line = listed()
    assert row["review_score"] == "90" and "复核 90" in line

    assert runner.invoke(cli, ["store", "add", db, str(later), *with_roster]).exit_code == 0  # resubmitted
    row, line = listed()
    assert row["review_score"] is None and "需重新复核" in row["review_note"], row
    # Signing times as the dashboard shows them, in Beijing time (the JSON keeps the stored text).
    assert "签名 2022-03-05 10:00:00" in line and row["signed_at"] == "2022-03-05T02:00:00Z", (line, row)
    assert "复核 —（需重新复核" in line and "复核 90" not in line, line
    assert in_summary() is None

    refused = review("91", "other", *with_roster)
    assert refused.exit_code == 2 and "不是名册所有者" in refused.output, refused.output
    with Store(db, create=False) as store:
        assert [r.score for r in store.review_rows(code, 2021)] == ["90"]  # nothing recorded

    assert review("88", "sup", *with_roster).exit_code == 0
    assert review("91", "other").exit_code == 0  # no roster named: nothing to hold the key to
    row, line = listed(*with_roster)
    assert row["review_score"] == "88" == in_summary(*with_roster)
    assert "不是名册所有者" in row["review_note"] and "复核 88" in line and "不是名册所有者" in line
    row, _ = listed()  # without a roster every valid signature counts, in consolidate as here
    assert row["review_score"] == "91" == in_summary() and row["review_note"] == ""


def test_a_tampered_bundle_is_not_stored_by_the_cli(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    name, data = tampered_bundle()
    (folder / name).write_bytes(data)
    result = CliRunner().invoke(cli, ["store", "add", str(tmp_path / "db.sqlite"), str(folder / name)])
    assert result.exit_code == 1
    with Store(tmp_path / "db.sqlite", create=False) as store:
        assert store.count() == 0


def test_a_new_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Bundles carry contact details: the store and its WAL files are 0600 whatever the umask."""
    path = tmp_path / "data" / "store.sqlite"
    old = os.umask(0o022)
    try:
        with Store(path) as store:
            name, data = own_bundle()
            add(store, name, data)
            files = sorted(p.name for p in path.parent.iterdir())
            assert "store.sqlite-wal" in files
            for name in files:
                assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(old)


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    """`jixiao serve --store other.db` or `consolidate other.db` must not turn someone else's SQLite
    file into a jixiao store (nor switch it to WAL): it is refused before anything is written."""
    other = tmp_path / "财务.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE 账目 (x)")
    db.commit()
    db.close()
    before = _sha(other)
    for options in ({"create": True}, {"create": False}, {"read_only": True}):
        with pytest.raises(InputError, match="不是 jixiao 收件数据库"):
            Store(other, **options)  # type: ignore[arg-type]
        assert _sha(other) == before and not Path(f"{other}-wal").exists()
    result = CliRunner().invoke(cli, ["consolidate", str(other), "-o", str(tmp_path / "附件4.xlsx")])
    assert result.exit_code == 2 and "不是 jixiao 收件数据库" in result.output, result.output
    assert _sha(other) == before


def test_reading_a_store_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "收件.sqlite"
    with Store(path) as store:
        add(store, *own_bundle())
    before = _sha(path)
    with Store(path, read_only=True) as store:
        assert store.count() == 1 and [row.sha256 for row, _ in store.all_documents()] == [store.bundles()[0].sha256]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store._db.execute("INSERT INTO reviews (sha256) VALUES ('x')")
    result = CliRunner().invoke(cli, ["consolidate", str(path), "-o", str(tmp_path / "附件4.xlsx")])
    assert result.exit_code == 0, result.output
    assert _sha(path) == before


def test_a_damaged_store_is_named_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "收件.sqlite"
    with Store(path) as store:
        for name, data in (own_bundle(), *(unit_bundle(code) for code, *_ in UNITS)):
            add(store, name, data)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # the header survives, every other page is garbage
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["consolidate", str(path), "-o", str(tmp_path / "附件4.xlsx")])
    assert result.exit_code == 2, result.output
    assert "已损坏" in result.output and "Traceback" not in result.output and "程序内部错误" not in result.output


def test_a_store_held_by_another_program_is_said_so_and_loses_nothing(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A database tool (or another jixiao) holding the file's lock: the write waits, then says so
    in Chinese (it said 程序内部错误（OperationalError）), and succeeds once the lock is gone."""
    import jixiao.store as store_module

    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    path = tmp_path / "db.sqlite"
    name, data = own_bundle()
    with Store(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(store_module.StoreBusy, match=r"正被其他程序占用.*不会丢失"), Store(path) as store:
            add(store, name, data)
        result = CliRunner().invoke(cli, ["store", "add", str(path), *entries_written(tmp_path, name, data)])
        assert result.exit_code == 2 and "正被其他程序占用" in result.output, result.output
        assert "程序内部错误" not in result.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(path) as store:
        inserted, _ = add(store, name, data)
        assert inserted and store.count() == 1


def entries_written(folder: Path, name: str, data: bytes) -> list[str]:
    path = folder / name
    path.write_bytes(data)
    return [str(path)]


def test_the_store_door_names_a_folder_a_non_database_and_missing_inputs(tmp_path: Path) -> None:
    """QA: `review FOLDER` said 数据库文件不存在, a roster given as the store said "file is not a
    database" in English, and `store add new.sqlite missing/` left an empty new database behind."""
    from click.testing import CliRunner

    from jixiao.cli import cli

    folder = tmp_path / "收件"
    folder.mkdir()
    result = CliRunner().invoke(cli, ["store", "list", str(folder)])
    assert result.exit_code == 2 and "是文件夹，不是收件数据库文件" in result.output, result.output
    not_db = tmp_path / "roster.json"
    not_db.write_text('{"payloadType": "x"}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["store", "list", str(not_db)])
    assert result.exit_code == 2 and "（不是数据库文件）" in result.output, result.output
    assert "file is not a database" not in result.output
    result = CliRunner().invoke(cli, ["store", "add", str(tmp_path / "new.sqlite"), str(tmp_path / "missing")])
    assert result.exit_code == 2 and "找不到要收存的文件或文件夹" in result.output, result.output
    assert not (tmp_path / "new.sqlite").exists()


def test_a_deep_check_of_a_bundle_already_stored_says_it_is_stored(tmp_path: Path) -> None:
    """QA: `store add` (fast path) kept a bundle whose page was edited after signing; `store add
    --deep` on it then printed ✗ without saying the file was already in the store."""
    import io
    import zipfile

    from click.testing import CliRunner

    from bundle_helpers import seed_bundle
    from jixiao.cli import cli

    name, data = seed_bundle()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    page = next(n for n in parts if n.endswith(".html"))
    parts[page] = parts[page].replace(b"98", b"99", 1)
    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w") as out:
        for n, b in parts.items():
            out.writestr(n, b)
    bundle = tmp_path / name
    bundle.write_bytes(edited.getvalue())
    db = str(tmp_path / "s.sqlite")
    assert CliRunner().invoke(cli, ["store", "add", db, str(bundle)]).exit_code == 0
    deep = CliRunner().invoke(cli, ["store", "add", db, str(bundle), "--deep"])
    assert deep.exit_code == 1 and "此文件此前已收存，数据库中的记录不变" in deep.output, deep.output
