"""Load on a real server process (loopback only, bounded): 200 bundles at once, each stored once.

The server is the real command, `jixiao serve --site SITE --store STORE`, in a subprocess. Then:

1. 200 different bundles posted concurrently: every answer 201, 200 rows in the store;
2. the same 200 again: every answer 200 (already stored), still 200 rows;
3. a fresh store, the 200 posted again and the server SIGKILLed once 60 have been acknowledged:
   after a restart every bundle that got a 2xx is in the store, the database is intact, and
   posting all 200 once more leaves exactly 200 rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from jixiao import load_framework
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.samples import random_submission
from jixiao.store import Store
from jixiao_process import JIXIAO, answers, free_port, stand_in_site, stop, wait_up

COUNT = 200
THREADS = 24
TOKEN = "load-test-credential"


def _one(seed: int) -> bytes:
    framework = load_framework("jinxian-2021")
    key = PrivateKey("ed25519", seed.to_bytes(32, "big"))
    return build_bundle(random_submission(seed, framework), framework, key, "2022-03-01T10:00:00+08:00")[1]


@pytest.fixture(scope="module")
def bundles() -> list[bytes]:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(2) as pool:
        made = pool.map(_one, range(1, COUNT + 1))
    assert len(set(made)) == COUNT
    return made


@contextmanager
def server(tmp: Path, store: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    site = stand_in_site(tmp / "site")
    port = free_port()
    log = tmp / f"serve-{port}.log"  # a file, not a pipe: uvicorn's access log would fill a pipe nobody reads
    with open(log, "wb") as err:
        proc = subprocess.Popen([JIXIAO, "serve", "--site", str(site), "--store", str(store), "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "JIXIAO_SUPERVISOR_TOKEN": TOKEN})
    base = f"http://127.0.0.1:{port}"
    if not wait_up(proc, answers(base)):
        proc.kill()
        raise RuntimeError(f"the server did not start: {log.read_text(encoding='utf-8', errors='replace')}")
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            stop(proc)


def post_all(base: str, bundles: list[bytes], on_ack: threading.Event | None = None, ack_after: int = 0
             ) -> list[tuple[int | None, str | None]]:
    """POST every bundle from a thread pool: (status or None on a transport error, sha256)."""
    acked = 0
    lock = threading.Lock()

    def one(client: httpx.Client, data: bytes) -> tuple[int | None, str | None]:
        nonlocal acked
        try:
            response = client.post(base + "/api/bundles", content=data, headers={"Content-Type": "application/zip"})
        except httpx.TransportError:
            return None, None
        sha = response.json().get("sha256") if response.status_code < 500 else None
        if on_ack is not None and response.status_code in (200, 201):
            with lock:
                acked += 1
                if acked >= ack_after:
                    on_ack.set()
        return response.status_code, sha

    limits = httpx.Limits(max_connections=THREADS)
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda data: one(client, data), bundles))


def test_200_concurrent_bundles_are_stored_exactly_once(tmp_path: Path, bundles: list[bytes]) -> None:
    db = tmp_path / "load.sqlite"
    with server(tmp_path, db) as (base, _):
        started = time.monotonic()
        first = post_all(base, bundles)
        elapsed = time.monotonic() - started
        assert [status for status, _ in first] == [201] * COUNT, first
        with Store(db, create=False) as store:
            assert store.count() == COUNT
        again = post_all(base, bundles)
        assert [status for status, _ in again] == [200] * COUNT
        with Store(db, create=False) as store:
            assert store.count() == COUNT
            assert {r.sha256 for r in store.bundles()} == {sha for _, sha in first}
    print(f"\n200 bundles posted concurrently in {elapsed:.2f} s ({COUNT / elapsed:.0f}/s)")


def test_sigkill_mid_load_loses_no_acknowledged_bundle(tmp_path: Path, bundles: list[bytes]) -> None:
    db = tmp_path / "kill.sqlite"
    acked_enough = threading.Event()
    results: list[tuple[int | None, str | None]] = []
    with server(tmp_path, db) as (base, proc):
        poster = threading.Thread(target=lambda: results.extend(post_all(base, bundles, acked_enough, 60)))
        poster.start()
        assert acked_enough.wait(timeout=120), "the server acknowledged fewer than 60 bundles"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        poster.join(timeout=120)
    acknowledged = {sha for status, sha in results if status in (200, 201) and sha}
    failed = sum(status is None for status, _ in results)
    assert len(acknowledged) >= 60
    assert failed > 0, "the kill came after the last request: nothing was in flight"
    with Store(db, create=False) as store:
        assert store.integrity() == "ok"
        stored = {r.sha256 for r in store.bundles()}
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged bundles lost"
    with server(tmp_path, db) as (base, _):
        replay = post_all(base, bundles)
        assert all(status in (200, 201) for status, _ in replay), replay
        assert all(status == 200 for status, sha in replay if sha in acknowledged)
    with Store(db, create=False) as store:
        assert store.count() == COUNT
    print(f"\nSIGKILL after {len(acknowledged)} acknowledgements, {failed} requests cut off; none lost")
