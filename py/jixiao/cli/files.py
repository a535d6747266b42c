"""Files at the door: passphrases, private keys, rosters, and writes that never overwrite by accident."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..io.errors import InputError, cannot_write
from ..io.files import read_at_most

KEY_FILE_LIMIT = 1_000_000

# Why a file or folder could not be made, for the errors io.errors.cannot_write leaves to the
# system's own (English) words.
_MORE_WRITE_REASONS = {
    errno.EINVAL: "名称无效（含该磁盘不允许的字符）",
    errno.EIO: "磁盘或设备读写出错",
    errno.EBUSY: "文件或设备正被占用",
    errno.ETXTBSY: "文件正被占用",
    errno.EFBIG: "文件过大",
    errno.ELOOP: "路径中的符号链接过多或成环",
    errno.EMFILE: "打开的文件过多",
    errno.ENFILE: "打开的文件过多",
    errno.ENODEV: "该位置不是可写入的磁盘",
    errno.ENXIO: "该位置不是可写入的磁盘",
    errno.EOPNOTSUPP: "该磁盘不支持此操作",
}


def _why_not(exc: OSError, path: Path, what: str) -> str:
    """Why the `what` (文件/文件夹) at `path` could not be created, always in Chinese."""
    if exc.errno == errno.ENOENT:
        # The folder it goes in is missing, or is one where nothing can be made (/proc, /sys).
        return "所在文件夹不存在" if not path.parent.is_dir() else f"该位置不允许新建{what}"
    if exc.errno in _MORE_WRITE_REASONS:
        return _MORE_WRITE_REASONS[exc.errno]
    reason = cannot_write(exc, path)
    if reason in (exc.strerror, str(exc)):  # the system's own words: name the error instead
        return f"系统错误 {errno.errorcode.get(exc.errno or 0, exc.errno)}"
    return reason


def passphrase_from_env(env_name: str | None) -> str | None:
    """The passphrase from the named environment variable (never from the command line)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise InputError(f"环境变量 {env_name} 未设置：它应存放私钥口令")
    if not value:
        raise InputError(f"环境变量 {env_name} 为空：口令不能为空")
    return value


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create `path` with `data`; an existing file is never overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise InputError(f"{path} 已存在：不会覆盖已有文件，请换一个文件名或先移走原文件") from None
    except OSError as exc:
        raise InputError(f"无法创建 {path}（{_why_not(exc, path, '文件')}）") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def replace(path: Path, data: bytes) -> None:
    """Rewrite `path` all at once (a half-written roster must never be left behind)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    write_new(temporary, data)
    os.replace(temporary, path)


def write_output(path: Path, data: bytes, force: bool) -> None:
    """Write an output file; an existing one is replaced only with --force (atomically)."""
    refuse_existing(path, force)
    make_folder(path.parent)
    replace(path, data) if path.exists() else write_new(path, data)


def output_path(output: str, what: str = "文件") -> Path:
    """The path given to -o. "-" is refused: it means standard input (`check -`), and a file
    literally named "-" is one the user did not mean to make."""
    if output.strip() == "-":
        raise InputError(f"-o 不能是“-”（“-”表示标准输入，不是文件名）：请给出要创建的{what}")
    return Path(output)


def make_folder(folder: Path) -> None:
    """`folder` and its parents, made if missing; why not, naming the folder."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"无法创建文件夹 {folder}（{_why_not(exc, folder, '文件夹')}）") from None


def check_writable(folder: Path) -> None:
    """Refuse before any work, naming the folder, when nothing can be created in `folder` (or in the
    nearest part of it that exists); nothing is created here."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise InputError(f"无法在 {folder} 中创建文件（{existing} 是文件，不是文件夹）")
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = hasattr(os, "statvfs") and os.statvfs(existing).f_flag & os.ST_RDONLY
        raise InputError(f"无法在 {existing} 中创建文件（{'所在磁盘只读' if read_only else '没有写入权限'}）")


def refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise InputError(f"{path} 已存在：不会覆盖已有文件（可加 --force 覆盖，或换一个文件名）")


def _read_limited(path: Path, limit: int, *, too_big: str, missing: str, failed: str,
                  folder: str | None = None) -> bytes:
    """The bytes of `path`, at most `limit`; every failure an InputError in the caller's words
    (`failed` gets the OS reason; a folder counts as a failed read unless `folder` is given)."""
    try:
        if path.stat().st_size > limit:
            raise InputError(too_big)
        data = read_at_most(path, limit)  # capped: the file may have grown since
    except FileNotFoundError:
        raise InputError(missing) from None
    except IsADirectoryError as exc:
        raise InputError(folder or failed.format(exc.strerror or exc)) from None
    except OSError as exc:
        raise InputError(failed.format(exc.strerror or exc)) from None
    if len(data) > limit:
        raise InputError(too_big)
    return data


def read_small(path: Path, what: str) -> bytes:
    """A key, roster or summary file (`what` names it in the messages)."""
    return _read_limited(path, KEY_FILE_LIMIT, too_big=f"{what}过大，不像是{what}", missing=f"{what}不存在：{path}",
                         folder=f"{path} 是文件夹，不是{what}", failed=f"无法读取{what}（{{}}）")


def read_bundle_file(path: Path) -> bytes:
    """A signed bundle up to the verifier's size limit."""
    from ..bundle.verify import MAX_FILE_BYTES

    return _read_limited(path, MAX_FILE_BYTES, too_big=f"文件过大（上限 {MAX_FILE_BYTES // 1024 // 1024} MB）",
                         missing="文件不存在", failed="读取失败（{}）")


def load_key(path: str, passphrase_env: str | None) -> Any:
    from ..bundle.keys import key_file_is_encrypted, read_key_file

    data = read_small(Path(path), "密钥文件")
    passphrase = passphrase_from_env(passphrase_env)
    if passphrase is None and key_file_is_encrypted(data):
        if not sys.stdin.isatty():
            raise InputError("私钥已用口令加密：请用 --passphrase-env 指定存放口令的环境变量")
        passphrase = click.prompt("私钥口令", hide_input=True)
    return read_key_file(data, passphrase)


def read_roster(path: str) -> Any:
    """A roster file, signature problems and all."""
    from ..bundle.roster import load_roster

    return load_roster(read_small(Path(path), "名册文件"))


def load_roster_option(roster_path: str | None) -> Any:
    """The roster named by --roster (None without one), refused if its own signature does not hold."""
    if roster_path is None:
        return None
    roster = read_roster(roster_path)
    if roster.problem is not None:
        raise InputError(f"公钥名册有问题：{roster.problem}")
    return roster
