"""Reading a file with a size limit, without paying for the limit.

`handle.read(limit + 1)` on a buffered file allocates `limit + 1` bytes up front (20 MB for a
bundle) and gives the rest back: three times the cost of reading a 60 kB bundle, which a
consolidation does ten thousand times. Here the first read asks for the size the file has now,
and reading goes on until the end or one byte past the limit, so a file that grew meanwhile is
still read whole (or caught as too large), exactly as one `read(limit + 1)` would.
"""

from __future__ import annotations

import os
from pathlib import Path

_MORE = 1 << 16


def read_at_most(path: str | Path, limit: int) -> bytes:
    """The file's bytes, at most `limit + 1` of them (one more than allowed says it is too large)."""
    with open(path, "rb", buffering=0) as handle:
        want = min(os.fstat(handle.fileno()).st_size, limit) + 1
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = handle.read(min(want, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            want = _MORE
    return b"".join(chunks)


def read_problem(exc: OSError) -> str:
    """Why a file could not be read, in the words every command uses (consolidation said
    "读取失败（Permission denied）" where verify said 没有读取该文件的权限)."""
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    if isinstance(exc, PermissionError):
        return "没有读取该文件的权限"
    if isinstance(exc, IsADirectoryError):
        return "这是一个文件夹，不是文件"
    return f"读取失败（{exc.strerror or exc}）"
