"""Where `jixiao build-site` writes: only into a new or empty folder or over an earlier build, and
never over a zip it did not make. It renamed and deleted whatever DIR held, `-o .` included.

The pipeline's steps are stood in for by one that writes two pages: what is tested here is the
folder around them (the real build is tested in test_site_build.py and test_portable.py).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from browser_fixtures import load_build_module
from jixiao.cli import cli

site = load_build_module("site")
offline = site.offline
portable = site.portable_mod


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def quick_build(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """build_site runs one step writing index.html and version.json; returns the folders built into."""
    built: list[Path] = []

    def pages(b: Any) -> None:
        (b.out / "index.html").write_text("<p>门户</p>", encoding="utf-8")
        (b.out / "version.json").write_text("{}", encoding="utf-8")
        built.append(b.out)

    monkeypatch.setattr(site, "STEPS", (site.Step("pages", "生成页面", (), ("index.html",), pages),))
    return built


def refused(result: Result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "程序内部错误" not in line and all(w in line for w in words), line
    return line


def test_a_folder_holding_the_users_files_is_left_alone(tmp_path: Path, quick_build: list[Path]) -> None:
    docs = tmp_path / "userdocs"
    docs.mkdir()
    (docs / "重要.txt").write_text("不能丢", encoding="utf-8")
    refused(run("build-site", "-o", str(docs)), "userdocs 已存在且不是之前构建的站点：不会覆盖")
    assert [p.name for p in docs.iterdir()] == ["重要.txt"] and not quick_build
    assert [p.name for p in tmp_path.iterdir()] == ["userdocs"]  # no work folder left beside it
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    refused(run("build-site", "-o", str(tmp_path / "afile")), "已存在且不是文件夹")
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_the_current_folder_is_never_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                quick_build: list[Path]) -> None:
    here = tmp_path / "dotcase"
    (here / "sub").mkdir(parents=True)
    (here / "报告.docx").write_text("x", encoding="utf-8")
    monkeypatch.chdir(here)
    refused(run("build-site", "-o", "."), "是当前文件夹：", "-o site")
    monkeypatch.chdir(here / "sub")  # empty, yet the folder the user is in
    refused(run("build-site", "-o", "."), "是当前文件夹：")
    refused(run("build-site", "-o", ".."), "是当前文件夹的上级")
    assert (here / "报告.docx").exists() and (here / "sub").is_dir() and not quick_build


def test_an_earlier_build_is_replaced_but_not_files_added_to_it(tmp_path: Path, quick_build: list[Path]) -> None:
    out = tmp_path / "site"
    out.mkdir()  # an empty folder is fine
    assert run("build-site", "-o", str(out)).exit_code == 0
    stamp = json.loads((out / offline.STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["files"] == ["index.html", "version.json"]
    assert run("build-site", "-o", str(out)).exit_code == 0  # a rebuild, as `serve` does
    (out / "robots.txt").write_text("mine", encoding="utf-8")
    refused(run("build-site", "-o", str(out)), "中有不是构建生成的文件（robots.txt）", "不会删除它们")
    assert (out / "robots.txt").read_text(encoding="utf-8") == "mine"
    (out / "robots.txt").unlink()
    del stamp["files"]  # a stamp from before stamps listed files (.cache/site, the tests' caches)
    (out / offline.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
    assert run("build-site", "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [offline.STAMP_NAME, "index.html", "version.json"]
    assert len(quick_build) == 3


def test_an_output_under_a_file_is_a_clear_error(tmp_path: Path, quick_build: list[Path]) -> None:
    (tmp_path / "somefile").write_text("x", encoding="utf-8")
    refused(run("build-site", "-o", str(tmp_path / "somefile" / "site")), "无法在", "somefile 是文件，不是文件夹")
    refused(run("build-site", "-o", "-"), "-o 不能是“-”")
    assert not Path("-").exists()


def test_a_zip_it_did_not_make_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    quick_build: list[Path]) -> None:
    """`--portable -o p2 --zip` replaced an existing p2.zip whatever it held."""
    monkeypatch.chdir(tmp_path)
    Path("p2.zip").write_text("old", encoding="utf-8")
    refused(run("build-site", "--portable", "-o", "p2", "--zip"), "p2.zip 已存在且不是之前打包的站点：不会覆盖")
    assert Path("p2.zip").read_text(encoding="utf-8") == "old" and not quick_build  # refused before building
    with zipfile.ZipFile("p2.zip", "w") as zf:  # a zip of something else, under the same top folder
        zf.writestr("p2/notes.txt", "mine")
    refused(run("build-site", "-o", "p2", "--zip"), "不是之前打包的站点")
    Path("p2.zip").unlink()
    for _ in range(2):  # the second run replaces the first run's zip
        result = run("build-site", "-o", "p2", "--zip")
        assert result.exit_code == 0, result.output
    with zipfile.ZipFile("p2.zip") as zf:
        assert sorted(zf.namelist()) == ["p2/index.html", "p2/version.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p2", "p2.zip"]  # no .part left behind
    Path("other.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    with pytest.raises(portable.PortableBuildError, match=r"other\.zip 已存在"):
        portable.zip_folder(tmp_path / "p2", tmp_path / "other.zip")
    assert Path("other.zip").read_bytes() == b"PK\x05\x06" + bytes(18)


def test_a_folder_without_a_stamp_is_refused_without_listing_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o` pointed at a large folder (a disk, a share) listed every file in it before refusing:
    23 s for /usr. A folder with no build stamp is refused at its first file."""
    folder = tmp_path / "资料"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "文件.txt").write_text("x", encoding="utf-8")

    def listing(_folder: Path) -> list[str]:
        raise AssertionError("listed the whole folder")

    monkeypatch.setattr(offline, "folder_entries", listing)
    with pytest.raises(offline.TargetError, match="不是之前构建的站点"):
        offline.check_replaceable(folder)
    offline.check_replaceable(tmp_path / "空的")  # missing: fine
    (tmp_path / "空的" / "子").mkdir(parents=True)
    offline.check_replaceable(tmp_path / "空的")  # only empty folders: fine
