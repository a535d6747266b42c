"""The files the intake service keeps beside it: the supervisor's credential and the roster it follows.

The credential (`serve --store S` makes `S.token`, mode 0600, and never overwrites one) opens the
supervisor's pages; the roster (`serve --roster`) is read again whenever `jixiao roster` rewrites
it, so a key enrolled, retired or revoked counts at once.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
from pathlib import Path

from ..bundle.roster import Roster, load_roster
from ..io.errors import InputError


class RosterProblem(Exception):
    """The roster file changed and the new one cannot be used (the message says why, in Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RosterFile:
    """The roster named by `serve --roster`, read again whenever the file's bytes change (`jixiao
    roster add/retire/revoke` rewrite it whole; a roster is a few kB, so reading it for each bundle
    costs next to nothing beside checking the bundle). A new version counts only if it is readable,
    its signature holds and its owner is the one the server started with; otherwise `current` raises
    `RosterProblem` until the file is put right: nothing is accepted under a roster that may have
    been tampered with, nor under the old one, which may still list a key since revoked."""

    def __init__(self, path: Path, roster: Roster) -> None:
        self.path = path
        self.owner = roster.doc.owner.fingerprint
        self._roster = roster
        self._bytes: bytes | None = None  # unknown: the first call reads the file and compares
        self._problem: str | None = None
        self._lock = threading.Lock()

    def current(self) -> Roster:
        with self._lock:
            try:
                data: bytes | None = self.path.read_bytes()
                failure = None
            except OSError as exc:
                data, failure = None, f"公钥名册 {self.path} 无法读取（{exc.strerror or exc}）"
            if failure is not None:
                self._bytes, self._problem = None, failure
            elif data != self._bytes:
                self._bytes = data
                self._problem = self._load(data or b"")
            if self._problem is not None:
                raise RosterProblem(self._problem)
            return self._roster

    def _load(self, data: bytes) -> str | None:
        where = f"公钥名册 {self.path} 已更改，但"
        try:
            roster = load_roster(data)
        except InputError as exc:
            return f"{where}{exc.message}"
        if roster.problem is not None:
            return f"{where}{roster.problem}"
        if roster.doc.owner.fingerprint != self.owner:
            return f"{where}所有者不是启动时的名册所有者：请核实名册来源，必要时重新启动服务"
        self._roster = roster
        return None


TOKEN_ENV = "JIXIAO_SUPERVISOR_TOKEN"
TOKEN_FILE_LIMIT = 4096


def default_token_path(store_path: Path) -> Path:
    """Where `jixiao serve --store S` keeps the credential it generated: `S.token`, beside the store."""
    return store_path.with_name(store_path.name + ".token")


def read_token_file(path: Path) -> str:
    """The credential in a token file (first line, spaces trimmed); InputError in Chinese otherwise.
    A byte-order mark (Windows Notepad writes one) is not part of it: it once made the file's
    credential one nobody could type."""
    try:
        if path.stat().st_size > TOKEN_FILE_LIMIT:
            raise InputError(f"管理口令文件 {path} 过大，不像是口令文件")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"找不到管理口令文件 {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} 是文件夹，不是管理口令文件") from None
    except UnicodeDecodeError:
        raise InputError(f"管理口令文件 {path} 不是 UTF-8 文本") from None
    except OSError as exc:
        raise InputError(f"无法读取管理口令文件 {path}（{exc.strerror or exc}）") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    check_token(token, f"管理口令文件 {path} 中的口令")
    return token


def check_token(token: str, what: str) -> None:
    if len(token) < 8:
        raise InputError(f"{what}太短：至少 8 个字符（建议 20 个以上的随机字符）")


def token_file_too_open(path: Path) -> bool:
    """Whether others than the owner may read the token file (POSIX only)."""
    try:
        return os.name == "posix" and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def create_token_file(path: Path) -> tuple[str, bool]:
    """(credential, created): a new random credential written to `path` (mode 0600), or the one
    already there — an existing file is never overwritten."""
    token = secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except FileExistsError:
        return read_token_file(path), False
    except OSError as exc:
        raise InputError(f"无法创建管理口令文件 {path}（{exc.strerror or exc}）") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True
