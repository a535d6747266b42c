"""The real `jixiao` console script in a subprocess, as tests run it: one-off commands, a CLI-made
signed bundle (and a copy with its signature broken), and `jixiao serve` started on a free port,
waited for and stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx

from jixiao.catalog import example_json

JIXIAO = str(Path(sys.executable).with_name("jixiao"))


def run_jixiao(*args: str, env: dict[str, str] | None = None, timeout: float = 180
               ) -> subprocess.CompletedProcess[str]:
    """`jixiao ARGS…` with the test's environment (plus ``env``); never raises on a non-zero exit."""
    return subprocess.run([JIXIAO, *args], capture_output=True, text=True, check=False, timeout=timeout,
                          env={**os.environ, **(env or {})})


def cli_signed_bundle(tmp_path: Path) -> tuple[Path, Path, str, Path]:
    """The seed signed by the CLI with a fresh key: (seed.json, key.json, fingerprint, good.zip)."""
    seed = tmp_path / "seed.json"
    seed.write_text(example_json("jinxian-2021"), encoding="utf-8")
    keyfile = tmp_path / "key.json"
    made = run_jixiao("keygen", "-o", str(keyfile), "--unit-code", "360124-KGX")  # the seed's unit
    assert made.returncode == 0, made.stderr
    fingerprint = made.stdout.split("公钥指纹：")[1].strip()
    good = tmp_path / "good.zip"
    proc = run_jixiao("bundle", str(seed), "--key", str(keyfile), "-o", str(good))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return seed, keyfile, fingerprint, good


def broken_signature(bundle: Path) -> tuple[dict[str, bytes], str]:
    """The files of a bundle with one character of the envelope's signature changed, and the
    envelope's name among them."""
    with zipfile.ZipFile(bundle) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    name = next(n for n in files if n.endswith(".json"))
    envelope = json.loads(files[name])
    sig = envelope["signatures"][0]["sig"]
    envelope["signatures"][0]["sig"] = ("B" if sig[0] != "B" else "C") + sig[1:]
    files[name] = json.dumps(envelope).encode()
    return files, name


# --- `jixiao serve` --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stand_in_site(folder: Path) -> Path:
    """A stand-in for a built site: what `--site` asks for."""
    folder.mkdir(exist_ok=True)
    (folder / "index.html").write_text("<!doctype html><title>门户</title>", encoding="utf-8")
    (folder / "version.json").write_text("{}", encoding="utf-8")
    return folder


def answers(base: str) -> Callable[[], bool]:
    """Whether the server at ``base`` answers ``/`` with 200."""

    def probe() -> bool:
        try:
            return httpx.get(base + "/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return probe


def wait_up(proc: subprocess.Popen[str] | subprocess.Popen[bytes], is_up: Callable[[], bool],
            timeout: float = 30) -> bool:
    """Poll ``is_up`` until it holds (True), or the process ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if is_up():
            return True
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> str | bytes | None:
    """Terminate (kill after 10 s) and return what it wrote to a stderr pipe, if any."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err
