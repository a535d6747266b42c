"""./dev sets up a fresh Debian machine: each command apt-installs what it needs and the machine
lacks; without root or apt-get it names the packages and the command, in Chinese, and stops.

Run against stubs only: PATH is a temporary folder holding bash, dirname and stand-ins for id,
python3, node and apt-get, so nothing is installed and the real machine is never asked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_PACKAGES = {"python3-venv", "libreoffice-calc-nogui", "poppler-utils", "chromium", "firefox-esr"}

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or os.name != "posix", reason="./dev is a bash script")


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def run_dev(tmp_path: Path, command: str, *, uid: int, venv_module: bool = True, node: str | None = None,
            apt: str | None = None) -> subprocess.CompletedProcess[str]:
    """`./dev COMMAND` with only stubs on PATH: `id -u` says `uid`; python3 can (or cannot) make a
    venv and does nothing else; node is absent unless given a major version; apt-get is absent
    unless given a body (it logs its arguments to tmp_path/apt.log)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    _stub(bin_dir, "id", f'echo {uid}')
    _stub(bin_dir, "python3", "exit 0" if venv_module else "exit 1")
    if node is not None:
        _stub(bin_dir, "node", f'case "$1" in -p) echo {node};; *) echo v{node}.0.0;; esac')
    if apt is not None:
        _stub(bin_dir, "apt-get", f'echo "$@" >> "{tmp_path}/apt.log"\n{apt}')
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "JIXIAO_VENV": str(tmp_path / "venv"), "LANG": "C.UTF-8"}
    return subprocess.run([str(bin_dir / "bash"), str(REPO / "dev"), command], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def installed(tmp_path: Path) -> set[str]:
    lines = (tmp_path / "apt.log").read_text(encoding="utf-8").splitlines()
    return {word for line in lines if line.startswith("install") for word in line.split()[1:]
            if not word.startswith("-")}


def test_serve_without_root_names_what_is_missing_and_how_to_install_it(tmp_path: Path) -> None:
    result = run_dev(tmp_path, "serve", uid=1000, venv_module=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == ("缺少系统软件包：python3-venv。请以 root 身份重新运行 ./dev serve，"
                                     "或先安装：sudo apt-get install python3-venv")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_serve_as_root_without_apt_get_says_so(tmp_path: Path) -> None:
    result = run_dev(tmp_path, "serve", uid=0, venv_module=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == ("缺少系统软件包：python3-venv。本机没有 apt-get"
                                     "（./dev 只会在 Debian 上自动安装）：请用本机的包管理器安装 python3-venv 后重试")


def test_serve_as_root_installs_only_what_serving_needs(tmp_path: Path) -> None:
    """apt-get is asked for python3-venv, nothing the tests alone need (nor Node.js: the build
    brings its own when the machine has none, or an old one); when it fails (here: always),
    ./dev says so in Chinese and stops."""
    result = run_dev(tmp_path, "serve", uid=0, venv_module=False, apt='[ "$1" = update ] || exit 100')
    assert result.returncode == 1, result.stderr
    assert installed(tmp_path) == {"python3-venv"}
    assert "安装系统软件包失败：python3-venv" in result.stderr


def test_serve_asks_nothing_of_apt_when_nothing_is_missing(tmp_path: Path) -> None:
    """Everything there (a venv-capable python3; no node at all): no apt-get, ./dev goes on to the
    venv (here a stub python3 that makes none, so it stops there)."""
    result = run_dev(tmp_path, "serve", uid=1000, apt="exit 100")
    assert not (tmp_path / "apt.log").exists()
    assert "缺少系统软件包" not in result.stderr


def test_an_old_node_does_not_stop_the_set_up(tmp_path: Path) -> None:
    """Debian 12's own nodejs is 18, which stops at the engine snapshot: ./dev used to stop there
    too. The build now runs the pinned Node instead (tests/test_build_node.py), so ./dev goes on."""
    result = run_dev(tmp_path, "serve", uid=1000, node="18")
    assert "Node.js" not in result.stderr and "缺少系统软件包" not in result.stderr


def test_test_as_root_installs_the_venv_module_and_what_the_tests_need(tmp_path: Path) -> None:
    result = run_dev(tmp_path, "test", uid=0, venv_module=False, apt='[ "$1" = update ] || exit 100')
    assert result.returncode == 1, result.stderr
    assert TEST_PACKAGES <= installed(tmp_path) <= TEST_PACKAGES | {"fonts-noto-cjk"}
