"""jixiao publish with a store as input: its bundles verified like files, its reviews' scores shown.

One store holds the department of consolidate_helpers (本级 and two units, one resubmitted),
a tampered bundle kept as received, and three supervisor reviews: of a unit's current bundle
(shown), of a unit's older bundle (in force but not shown) and one signed by another key
(shown without a roster, refused with one). Each run builds a real mkdocs site.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundle_helpers import failures, other_key, unit_key
from consolidate_helpers import UNITS, own_bundle, supervisor, tampered_bundle, unit_bundle, unit_key_for
from jixiao.bundle import PrivateKey, verify_file
from jixiao.bundle.keys import key_file_json
from jixiao.bundle.roster import enrol, new_roster, roster_json
from jixiao.cli import cli
from jixiao.consolidate import check_bundle, make_review, sign_review
from jixiao.publish import PublishReport, publish
from jixiao.publish.collect import store_documents
from jixiao.publish.pages import Entry
from jixiao.store import Store
from publish_helpers import all_bytes

PUBLISHED_AT = "2022-06-01T10:00:00+08:00"
OLDER_AT = "2022-02-01T10:00:00+08:00"
RESUBMITTED, REVIEWED = UNITS[1][0], UNITS[2][0]  # 360124-KGX-01 (two bundles), 360124-KGX-02
OWN = "360124-KGX"
NOTE = "复核备注：仅供内部参考的意见甲乙丙"
REVIEWER = "内部复核人丁戊"


def _review(store: Store, data: bytes, score: str, key: PrivateKey, reviewed_at: str) -> None:
    unit = check_bundle("x.zip", data).unit
    assert unit is not None
    doc = make_review(unit, score, reviewed_at=reviewed_at, note=NOTE, reviewer=REVIEWER)
    store.add_review(sign_review(doc, key))


def make_store(path: Path) -> dict[str, str]:
    """The store; returns the sha256 of the bundles the tests name."""
    older, newer = unit_bundle(RESUBMITTED, OLDER_AT), unit_bundle(RESUBMITTED)
    bundles = [own_bundle(), older, unit_bundle(REVIEWED), newer, tampered_bundle()]
    with Store(path) as store:
        for index, (name, data) in enumerate(bundles):
            store.add_bundle(data, check_bundle(name, data), how="cli", filename=name,
                             received_at=f"2022-03-0{index + 2}T00:00:00Z")
        _review(store, unit_bundle(REVIEWED)[1], "81", supervisor(), "2022-04-01T00:00:00Z")
        _review(store, newer[1], "97", supervisor(), "2022-03-20T00:00:00Z")  # superseded by the next
        _review(store, older[1], "70", supervisor(), "2022-04-02T00:00:00Z")
        _review(store, own_bundle()[1], "60", other_key(), "2022-04-03T00:00:00Z")
    return {"older": hashlib.sha256(older[1]).hexdigest(), "tampered": hashlib.sha256(tampered_bundle()[1]).hexdigest()}


def publisher() -> PrivateKey:
    return PrivateKey("ed25519", bytes(range(7, 39)))


def publisher_file(folder: Path) -> str:
    path = folder / "publisher.json"
    path.write_text(key_file_json(publisher()), encoding="utf-8")
    return str(path)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Run:
    store: Path
    shas: dict[str, str]
    before: str
    report: PublishReport
    site: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("publish-store")
    store = root / "收件.sqlite"
    shas = make_store(store)
    before = sha(store)
    report = publish([store], root / "site", publisher(), PUBLISHED_AT)
    return Run(store, shas, before, report, root / "site")


def entry(report: PublishReport, code: str) -> Entry:
    return next(e for e in report.published if e.copy.submission.unit_code == code)


def test_store_bundles_are_verified_and_the_latest_published(run: Run) -> None:
    assert sorted(e.copy.submission.unit_code for e in run.report.published) == [OWN, RESUBMITTED, REVIEWED]
    assert entry(run.report, RESUBMITTED).copy.accepted.content.signed_at.startswith("2022-03-01")
    rejected = {r.source: r.reasons for r in run.report.rejected}
    older, tampered = (f"收件.sqlite:{run.shas[k][:12]}" for k in ("older", "tampered"))
    assert set(rejected) == {tampered}
    assert [(r.source, "更新的签名材料" in r.reasons[0]) for r in run.report.superseded] == [(older, True)]
    name, data = tampered_bundle()
    assert rejected[tampered] == failures(verify_file(name, data))


def test_store_is_not_modified(run: Run) -> None:
    assert sha(run.store) == run.before


def test_review_score_only_for_the_reviewed_bundle(run: Run) -> None:
    report = run.report
    assert entry(report, REVIEWED).review_score == Decimal("81")
    assert entry(report, RESUBMITTED).review_score is None  # the review in force is of the older bundle
    assert entry(report, OWN).review_score == Decimal("60")  # no roster: any valid signature
    page = (run.site / "units" / f"{entry(report, REVIEWED).slug}.html").read_text(encoding="utf-8")
    assert "主管部门复核分数" in page and '<td data-testid="review">81</td>' in page
    page = (run.site / "units" / f"{entry(report, RESUBMITTED).slug}.html").read_text(encoding="utf-8")
    assert 'data-testid="review"' not in page
    refused = {r.source: r.reasons for r in report.refused_reviews}
    assert len(refused) == 1 and "另一份签名材料" in next(iter(refused.values()))[0]


def test_review_note_and_reviewer_never_published(run: Run) -> None:
    forms = [form for text in (NOTE, REVIEWER)
             for form in (text.encode(), json.dumps(text).strip('"').encode(), text.encode("utf-16-le"))]
    assert [name for name, data in all_bytes(run.site) for form in forms if form in data] == []


def test_review_files_named_on_the_command_line(tmp_path: Path) -> None:
    name, data = own_bundle()
    (tmp_path / name).write_bytes(data)
    unit = check_bundle(name, data).unit
    assert unit is not None
    review = sign_review(make_review(unit, "88.5", reviewed_at="2022-04-01T00:00:00Z", note=NOTE), supervisor())
    (tmp_path / "复核.json").write_text(review.envelope, encoding="utf-8")
    (tmp_path / "改动.json").write_text(review.envelope.replace('"sig": "', '"sig": "A', 1), encoding="utf-8")
    report = publish([tmp_path / name, tmp_path / "复核.json", tmp_path / "改动.json"], tmp_path / "site",
                     publisher(), PUBLISHED_AT)
    assert [e.review for e in report.published] == ["88.5"] and report.rejected == []
    assert [r.source for r in report.refused_reviews] == [str(tmp_path / "改动.json")]
    assert not [n for n, d in all_bytes(tmp_path / "site") if NOTE.encode() in d]


def cli_run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_cli_with_roster_refuses_a_review_by_another_key(run: Run, tmp_path: Path) -> None:
    doc = new_roster(supervisor(), "进贤县科技和工业信息化局", "2022-01-01T00:00:00Z")
    for code, key in ((OWN, unit_key()), *((c, unit_key_for(c)) for c in (RESUBMITTED, REVIEWED))):
        doc = enrol(doc, code, key.public, unit_name=code, valid_from=date(2022, 1, 1))
    (tmp_path / "roster.json").write_text(roster_json(doc, supervisor()), encoding="utf-8")
    result = cli_run("publish", str(run.store), "-o", str(tmp_path / "site"), "--key", publisher_file(tmp_path),
                     "--roster", str(tmp_path / "roster.json"), "--signed-at", PUBLISHED_AT)
    assert result.exit_code == 1, result.output
    assert f"（{REVIEWED}）" in result.output and "复核分数 81" in result.output
    assert "复核分数 60" not in result.output
    assert "复核意见未采用" in result.output and "不是由主管部门的密钥签名的" in result.output
    assert "3 个单位，其中 1 个附复核分数" in result.output
    assert NOTE not in result.output
    assert sha(run.store) == run.before


@pytest.mark.parametrize("content", [b"not a database at all " * 200, b"", None])
def test_not_a_store_exits_2_with_a_chinese_message(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "收件.sqlite"
    if content is None:  # an SQLite file of another program: refused and left as it was
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()
    else:
        path.write_bytes(content)
    before = sha(path)
    result = cli_run("publish", str(path), "-o", str(tmp_path / "site"), "--key", publisher_file(tmp_path))
    assert result.exit_code == 2, result.output
    assert "无法生成公开网站" in result.output and "不是 jixiao 收件数据库" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "site").exists()
    assert sha(path) == before


def test_damaged_store_exits_2(run: Run, tmp_path: Path) -> None:
    data = bytearray(run.store.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # the header page intact, every other page garbage
    path = tmp_path / "damaged.db"
    path.write_bytes(bytes(data))
    result = cli_run("publish", str(path), "-o", str(tmp_path / "site"), "--key", publisher_file(tmp_path))
    assert result.exit_code == 2, result.output
    assert "已损坏" in result.output and "Traceback" not in result.output


def test_store_read_while_the_server_holds_it_open(tmp_path: Path) -> None:
    """What the server wrote is still in the -wal file: a read-only reader sees it, and writes nothing."""
    path = tmp_path / "收件.db"
    name, data = own_bundle()
    with Store(path) as store:
        store.add_bundle(data, check_bundle(name, data), how="http", filename=name)
        before = sha(path)
        found = list(store_documents(path))
        assert [d for _, d in found] == [data] and found[0][0] == f"收件.db:{hashlib.sha256(data).hexdigest()[:12]}"
        assert sha(path) == before


def test_a_resubmission_alone_publishes_cleanly(tmp_path: Path) -> None:
    """A store after an ordinary correction (a unit resubmitted) published with exit 1 and the earlier bundle
    in red as 未公开 on stderr, beside the tampered and unverifiable ones, though nothing failed: it is
    listed as superseded, as `jixiao consolidate` lists it, and the exit code is 0."""
    store = tmp_path / "收件.sqlite"
    with Store(store) as db:
        for name, data in (own_bundle(), unit_bundle(RESUBMITTED, OLDER_AT), unit_bundle(RESUBMITTED)):
            db.add_bundle(data, check_bundle(name, data), how="http", filename=name)
    result = cli_run("publish", str(store), "-o", str(tmp_path / "site"), "--key", publisher_file(tmp_path),
                     "--signed-at", PUBLISHED_AT)
    assert result.exit_code == 0, result.output
    assert "未公开：" not in result.output and "已被更新的材料取代：收件.sqlite:" in result.output
    assert "2 个单位" in result.output and "未公开 0 份" in result.output
