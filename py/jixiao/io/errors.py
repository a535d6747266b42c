"""The one error type for input that cannot be read, with a one-line Chinese reason; and why a
file or folder could not be written, in the same words."""

from __future__ import annotations

import errno
from pathlib import Path


class InputError(Exception):
    """Input that cannot be read at all (not merely wrong): the CLI exits 2 with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_WRITE_REASONS = {
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "所在磁盘只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.ENAMETOOLONG: "文件名过长",
}


def cannot_write(exc: OSError, path: Path) -> str:
    """Why `path` could not be created, in Chinese: the file standing where a folder must be (named),
    no permission, a read-only or full disk; anything else as the system says it."""
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{blocker} 是文件，不是文件夹"
    return _WRITE_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
