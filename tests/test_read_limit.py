"""Reading with a size limit: what one `read(limit + 1)` gave, without its 20 MB allocation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from jixiao.io.files import read_at_most


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 5000, 70_000])
def test_a_file_is_read_whole_or_one_byte_past_the_limit(tmp_path: Path, size: int) -> None:
    path = tmp_path / "bundle.zip"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    for limit in (100, 65_536, 100_000):
        assert read_at_most(path, limit) == data[: limit + 1]


def test_a_file_that_grows_after_its_size_was_taken_is_still_read_to_its_end(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import jixiao.io.files as files

    path = tmp_path / "growing.json"
    path.write_bytes(b"x" * 10)
    real = files.os.fstat

    def stale(fd: int):  # type: ignore[no-untyped-def]
        result = real(fd)
        path.open("ab").write(b"y" * 200_000)  # grows between the size and the read
        return result

    monkeypatch.setattr(files.os, "fstat", stale)
    assert read_at_most(path, 1_000_000) == b"x" * 10 + b"y" * 200_000
    monkeypatch.setattr(files.os, "fstat", real)
    assert len(read_at_most(path, 150_000)) == 150_001  # caught as too large


def test_a_fifo_without_a_size_is_read_too(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"z" * 300_000))
    writer.start()
    assert read_at_most(fifo, 1_000_000) == b"z" * 300_000
    writer.join()
