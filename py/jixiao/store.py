"""The store: every bundle and review received, verbatim, in one SQLite file (server side).

* A bundle is kept byte for byte (BLOB), addressed by the sha256 of those bytes (PRIMARY KEY):
  the same bytes posted twice are one row. With it: how it came (cli, http, folder), when,
  the verification result as JSON, and the facts read from the signed payload (unit code,
  year, framework, signing time, scores) so listing never re-parses a bundle.
* Nothing is ever updated or deleted: triggers refuse both. A resubmission is a new row;
  "the bundle in force" is a query — per unit and year, the latest valid one by signing time,
  then by arrival. A unit is its code without surrounding white space, as consolidation names it.
* A review (复核) is its own signed document, kept verbatim beside the bundles, append-only;
  a new review of the same unit and year supersedes (history stays).

Durability: WAL journal with `synchronous=FULL`. In WAL mode, NORMAL already survives the
process being killed (SIGKILL): a commit has reached the OS, which writes it out later; what
NORMAL can lose is the last commits on a power cut or an OS crash, because the WAL is not
fsynced at each commit. FULL fsyncs the WAL at every commit, so an insert acknowledged to a
unit (HTTP 201) survives power loss too (on storage that honours fsync). The cost is one fsync
per received bundle, a few milliseconds, irrelevant at the rate units submit.

One connection per Store, used under a lock, so a Store may be shared by a server's threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from . import __version__
from .bundle.payload import signed_later_than
from .consolidate.check import Checked
from .consolidate.review import Review, ReviewError, read_review
from .io.errors import InputError
from .model.numbers import plain, round2

How = Literal["cli", "http", "folder"]
SCHEMA_VERSION = 1

# A unit is named by its code without surrounding white space, as consolidation names it
# (`UnitFacts.unit_code`, Python's `str.strip`): the portal does not trim what a unit types, and
# "360124-TS " must be the unit a review of "360124-TS" looks up. Rows stored before the column
# was written stripped hold the code as signed, so every query compares this expression (the
# same text as the index below, so the index serves it). Python's white space, listed in full.
_SPACES = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239, 8287, 12288)
UNIT_KEY = f"trim(unit_code, char({', '.join(map(str, _SPACES))}))"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS bundles (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    filename TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    how TEXT NOT NULL CHECK (how IN ('cli', 'http', 'folder')),
    ok INTEGER NOT NULL,
    verification TEXT NOT NULL,
    unit_code TEXT NOT NULL DEFAULT '',
    unit_name TEXT NOT NULL DEFAULT '',
    unit_kind TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    year INTEGER,
    framework_id TEXT NOT NULL DEFAULT '',
    framework_version TEXT NOT NULL DEFAULT '',
    signed_at TEXT NOT NULL DEFAULT '',
    payload_sha256 TEXT NOT NULL DEFAULT '',
    budget TEXT,
    executed TEXT,
    self_score TEXT,
    grade TEXT
);
DROP INDEX IF EXISTS bundles_unit_year;
CREATE INDEX IF NOT EXISTS bundles_unit_key ON bundles ({UNIT_KEY}, year, ok, signed_at, received_at);
CREATE TABLE IF NOT EXISTS reviews (
    sha256 TEXT PRIMARY KEY,
    envelope BLOB NOT NULL,
    unit_code TEXT NOT NULL,
    year INTEGER NOT NULL,
    payload_sha256 TEXT NOT NULL,
    score TEXT NOT NULL,
    reviewer TEXT NOT NULL DEFAULT '',
    signer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_unit_year ON reviews (unit_code, year, reviewed_at);
CREATE TRIGGER IF NOT EXISTS bundles_no_update BEFORE UPDATE ON bundles
    BEGIN SELECT RAISE(ABORT, 'jixiao store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS bundles_no_delete BEFORE DELETE ON bundles
    BEGIN SELECT RAISE(ABORT, 'jixiao store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS reviews_no_update BEFORE UPDATE ON reviews
    BEGIN SELECT RAISE(ABORT, 'jixiao store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS reviews_no_delete BEFORE DELETE ON reviews
    BEGIN SELECT RAISE(ABORT, 'jixiao store is append-only'); END;
"""

_INSERT_COLUMNS = ("sha256, data, size, kind, filename, received_at, how, ok, verification, unit_code, unit_name, "
                   "unit_kind, department, year, framework_id, framework_version, signed_at, payload_sha256, budget, "
                   "executed, self_score, grade")
_BUNDLE_COLUMNS = ("sha256, size, kind, filename, received_at, how, ok, verification, unit_code, unit_name, unit_kind, "
                   "department, year, framework_id, framework_version, signed_at, payload_sha256, budget, executed, "
                   "self_score, grade")


@dataclass(frozen=True)
class BundleRow:
    """A stored bundle's record (its bytes are fetched separately with `Store.data`)."""

    sha256: str
    size: int
    kind: str
    filename: str
    received_at: str
    how: str
    ok: bool
    verification: dict[str, Any]
    unit_code: str
    unit_name: str
    unit_kind: str
    department: str
    year: int | None
    framework_id: str
    framework_version: str
    signed_at: str
    payload_sha256: str
    budget: str | None
    executed: str | None
    self_score: str | None
    grade: str | None

    @property
    def reasons(self) -> list[str]:
        return list(self.verification.get("reasons", []))


@dataclass(frozen=True)
class ReviewRow:
    sha256: str
    unit_code: str
    year: int
    payload_sha256: str
    score: str
    reviewer: str
    signer: str
    reviewed_at: str
    received_at: str


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def signed_after_receipt(checked: Checked, received: datetime) -> str | None:
    """Why a bundle signed more than a day after it was received is refused (`signed_later_than`)."""
    return signed_later_than(checked.unit.signed_at, received) if checked.unit is not None else None


def _row(values: tuple[Any, ...]) -> BundleRow:
    (sha, size, kind, filename, received_at, how, ok, verification, code, name, unit_kind, department, year,
     framework_id, framework_version, signed_at, payload_sha, budget, executed, score, grade) = values
    return BundleRow(sha, size, kind, filename, received_at, how, bool(ok), json.loads(verification), code.strip(),
                     name, unit_kind, department, year, framework_id, framework_version, signed_at, payload_sha, budget,
                     executed, score, grade)


def verification_json(checked: Checked, *, deep: bool = False) -> dict[str, Any]:
    return {"ok": checked.ok, "reasons": checked.reasons, "notes": checked.notes, "kind": checked.kind,
            "mode": "deep" if deep else "envelope", "checked_by": f"jixiao {__version__}"}


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write. A store on a medium that cannot take SQLite's -wal/-shm
    files (a CD, a read-only share) has no writer, so it is then read as immutable."""
    uri = path.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        db.close()
        if os.access(path.parent, os.W_OK):
            raise
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
    return db


BUSY_SECONDS = 30  # how long a write waits for another program's lock on the file


class StoreBusy(InputError):
    """Another program held the store's lock for longer than a write waits: try again later."""


def _busy(exc: sqlite3.OperationalError, path: Path) -> StoreBusy | None:
    """The Chinese answer to SQLite's "database is locked" / "busy" (what a second writer gets
    when a database tool or another jixiao holds the file); None for any other error."""
    text = str(exc).lower()
    if "locked" not in text and "busy" not in text:
        return None
    return StoreBusy(f"数据库 {path} 正被其他程序占用，等待 {BUSY_SECONDS} 秒后仍未释放：请关闭正在使用它的程序"
                     f"（如另一个 jixiao 或数据库工具）后重试。已收到的材料都在，不会丢失")


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        busy = _busy(exc, path)
        if busy is None:
            raise
        raise busy from None


class Store:
    """An append-only SQLite store of bundles and reviews."""

    def __init__(self, path: str | Path, *, create: bool = True, read_only: bool = False) -> None:
        """Open (or with `create`, make) a store. Nothing is written before the file is known to be
        a jixiao store, or a new empty file: another program's SQLite database is refused untouched.
        `read_only` never writes at all (consolidate, publish and listing only read)."""
        self.path = Path(path)
        create = create and not read_only
        if self.path.is_dir():
            raise InputError(f"{self.path} 是文件夹，不是收件数据库文件（如 收件.sqlite）")
        if not create and not self.path.is_file():
            raise InputError(f"数据库文件不存在：{self.path}")
        if self.path.is_file() and not os.access(self.path, os.R_OK):
            raise InputError(f"没有读取数据库 {self.path} 的权限（数据库只有创建它的用户能读写）")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Bundles carry names and phone numbers: a new store (and the -wal/-shm files SQLite
            # gives the same mode) is readable by its owner only.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            self._db = _connect_read_only(self.path) if read_only else sqlite3.connect(
                self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version > SCHEMA_VERSION:
                raise InputError(f"数据库由更新版本的 jixiao 创建（格式 {version}），请升级后再打开")
            fresh = create and version == 0 and not tables
            if not fresh and (version != SCHEMA_VERSION or not {"bundles", "reviews"} <= tables):
                raise InputError(f"{self.path} 不是 jixiao 收件数据库")
            if not read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._db.executescript(_SCHEMA)  # IF NOT EXISTS: what an older store lacks, nothing else
            if fresh:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            busy = _busy(exc, self.path) if isinstance(exc, sqlite3.OperationalError) else None
            if busy is not None:
                raise busy from None
            why = "不是数据库文件" if "not a database" in str(exc) else str(exc)
            raise InputError(f"无法打开数据库 {self.path}：不是 jixiao 收件数据库，或文件已损坏（{why}）") from None
        except InputError:
            self._close_quietly()
            raise
        self._lock = threading.Lock()

    # --- lifecycle ---

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- bundles ---

    def add_bundle(self, data: bytes, checked: Checked, *, how: How, filename: str = "",
                   received_at: str | None = None, deep: bool = False) -> tuple[bool, BundleRow]:
        """Insert a bundle; (False, the stored row) when these bytes are already stored.
        Returns only after the insert is committed (durable)."""
        unit = checked.unit
        values = (
            checked.sha256, data, len(data), checked.kind or "unknown", filename[:255], received_at or utc_now(), how,
            int(checked.ok), json.dumps(verification_json(checked, deep=deep), ensure_ascii=False),
            checked.unit_code.strip(), checked.unit_name, unit.unit_kind if unit else "",
            unit.department_name if unit else "",
            checked.year, unit.framework_id if unit else "", unit.framework_version if unit else "",
            unit.signed_at if unit else "", unit.payload_sha256 if unit else "",
            _money(unit.budget) if unit else None, _money(unit.executed) if unit else None,
            _text(unit.self_score) if unit else None, unit.grade if unit else None,
        )
        marks = ", ".join("?" * len(values))
        with self._lock, _writing(self.path):
            cursor = self._db.execute(f"INSERT OR IGNORE INTO bundles ({_INSERT_COLUMNS}) VALUES ({marks})", values)
            inserted = cursor.rowcount == 1
        row = self.get(checked.sha256)
        assert row is not None
        return inserted, row

    def get(self, sha256: str) -> BundleRow | None:
        with self._lock:
            found = self._db.execute(f"SELECT {_BUNDLE_COLUMNS} FROM bundles WHERE sha256 = ?", (sha256,)).fetchone()
        return _row(found) if found else None

    def data(self, sha256: str) -> bytes | None:
        with self._lock:
            found = self._db.execute("SELECT data FROM bundles WHERE sha256 = ?", (sha256,)).fetchone()
        return bytes(found[0]) if found else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM bundles").fetchone()[0])

    def bundles(self, year: int | None = None) -> list[BundleRow]:
        """Every stored bundle, newest arrival first."""
        where, args = ("WHERE year = ?", (year,)) if year is not None else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT {_BUNDLE_COLUMNS} FROM bundles {where} "
                                    f"ORDER BY received_at DESC, rowid DESC", args).fetchall()
        return [_row(r) for r in rows]

    def latest(self, year: int | None = None) -> list[BundleRow]:
        """The bundle in force per unit and year: the latest valid one by signing time, then arrival."""
        where, args = ("AND year = ?", (year,)) if year is not None else ("", ())
        query = (f"SELECT {_BUNDLE_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {UNIT_KEY}, year "
                 f"ORDER BY signed_at DESC, received_at DESC, rowid DESC) AS n FROM bundles WHERE ok = 1 {where}) "
                 f"WHERE n = 1 ORDER BY year DESC, department, unit_kind != '本级', unit_code")
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [_row(r) for r in rows]

    def years(self) -> list[int]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT year FROM bundles WHERE ok = 1 AND year IS NOT NULL "
                                    "ORDER BY year DESC").fetchall()
        return [int(r[0]) for r in rows]

    def versions(self, unit_code: str, year: int) -> int:
        with self._lock:
            # One signed content sent as .zip, .json and .xlsx is one submission, not three.
            return int(self._db.execute("SELECT count(DISTINCT CASE WHEN payload_sha256 = '' THEN sha256 "
                                        f"ELSE payload_sha256 END) FROM bundles WHERE {UNIT_KEY} = ? AND year = ?",
                                        (unit_code.strip(), year)).fetchone()[0])

    # --- reviews ---

    def add_review(self, review: Review, *, received_at: str | None = None) -> bool:
        with self._lock, _writing(self.path):
            return self._insert_review(review, received_at or utc_now())

    def add_review_chained(self, unit_code: str, year: int,
                           sign: Callable[[ReviewRow | None], Review]) -> tuple[Review, list[ReviewRow]]:
        """Store the review `sign(the review in force)` returns, reading that one and inserting the
        new one in one IMMEDIATE transaction: two reviews of a unit made at once (two requests, or
        `jixiao review` beside the server) would otherwise both supersede the same one and fork the
        chain. (review, the earlier reviews newest first). `sign` must not use the store."""
        with self._lock, _writing(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                previous = self._review_rows(unit_code, year)
                review = sign(previous[0] if previous else None)
                self._insert_review(review, utc_now())
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return review, previous

    def _insert_review(self, review: Review, received_at: str) -> bool:
        doc = review.doc
        values = (review.sha256, review.envelope.encode("utf-8"), doc.unit_code, doc.year, doc.payload_sha256,
                  plain(review.score), doc.reviewer, review.signer, doc.reviewed_at, received_at)
        cursor = self._db.execute("INSERT OR IGNORE INTO reviews (sha256, envelope, unit_code, year, "
                                  "payload_sha256, score, reviewer, signer, reviewed_at, received_at) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        return cursor.rowcount == 1

    def review_rows(self, unit_code: str | None = None, year: int | None = None) -> list[ReviewRow]:
        """Reviews, newest first (the first per unit and year is the one in force)."""
        with self._lock:
            return self._review_rows(unit_code, year)

    def _review_rows(self, unit_code: str | None, year: int | None) -> list[ReviewRow]:
        clauses, args = [], []
        if unit_code is not None:
            clauses.append("unit_code = ?")
            args.append(unit_code)
        if year is not None:
            clauses.append("year = ?")
            args.append(str(year))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT sha256, unit_code, year, payload_sha256, score, reviewer, signer, "
                                f"reviewed_at, received_at FROM reviews {where} "
                                f"ORDER BY reviewed_at DESC, rowid DESC", args).fetchall()
        return [ReviewRow(*r) for r in rows]

    def reviews(self, year: int | None = None, trusted: list[str] | None = None) -> list[Review]:
        """The stored reviews, re-read and re-checked from their signed envelopes, oldest first."""
        where, args = ("WHERE year = ?", (year,)) if year is not None else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT envelope FROM reviews {where} ORDER BY reviewed_at, rowid",
                                    args).fetchall()
        out: list[Review] = []
        for (envelope,) in rows:
            try:
                out.append(read_review(bytes(envelope), trusted))
            except ReviewError:
                continue  # a review that no longer verifies (another key) is not used
        return out

    def all_documents(self) -> Iterator[tuple[Any, bytes]]:
        """(record, bytes) of every bundle, then every review: what `consolidate STORE` and
        `publish STORE` read. A page of the file found damaged on the way is an `InputError`."""
        try:
            for row in self.bundles():
                data = self.data(row.sha256)
                if data is not None:
                    yield row, data
            with self._lock:
                rows = self._db.execute("SELECT sha256, received_at, envelope FROM reviews ORDER BY rowid").fetchall()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"数据库 {self.path} 已损坏，无法读出全部材料（{exc}）") from None
        for sha, received_at, envelope in rows:
            yield _Doc(sha, received_at), bytes(envelope)

    def integrity(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


@dataclass(frozen=True)
class _Doc:
    sha256: str
    received_at: str


def _text(value: Any) -> str | None:
    return None if value is None else plain(value)


def _money(value: Any) -> str | None:
    return None if value is None else format(round2(value), "f")
