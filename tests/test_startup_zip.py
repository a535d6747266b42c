"""build/startup.py: which packages go in the engine's start-up zip, and how their files are laid out."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from browser_fixtures import load_build_module

startup = load_build_module("startup")
runtime = load_build_module("runtime")

DATE = (1980, 1, 1, 0, 0, 0)


def _spec(file_name: str, *depends: str) -> SimpleNamespace:
    return SimpleNamespace(file_name=file_name, depends=list(depends))


def test_compiled_packages_and_their_dependencies_stay_wheels() -> None:
    packages = {
        "jixiao": _spec("jixiao-0.1.0-py3-none-any.whl", "pydantic"),
        "pydantic": _spec("pydantic-2-py3-none-any.whl", "pydantic-core", "typing-extensions"),
        "pydantic-core": _spec("pydantic_core-2-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "typing-extensions"),
        "typing-extensions": _spec("typing_extensions-4-py3-none-any.whl"),
        "openpyxl": _spec("openpyxl-3-py2.py3-none-any.whl"),
    }
    zipped, installed = startup.plan(packages, ["jixiao"], runtime.closure)
    assert zipped == ["jixiao", "pydantic"]
    assert installed == ["pydantic-core", "typing-extensions"]
    assert startup.plan({"a": _spec("a-1-py3-none-any.whl")}, ["a"], runtime.closure) == (["a"], [])


@pytest.mark.parametrize(("name", "placed"), [
    ("pkg/__pycache__/mod.cpython-314.pyc", "pkg/mod.pyc"),
    ("pkg/sub/__pycache__/__init__.cpython-314.pyc", "pkg/sub/__init__.pyc"),
    ("pkg/__pycache__/mod.cpython-311.pyc", None),  # another Python's bytecode is useless here
    ("pkg/mod.py", "pkg/mod.py"),
    ("pkg/mod.pyc", "pkg/mod.pyc"),
    ("pkg-1.0.dist-info/METADATA", "pkg-1.0.dist-info/METADATA"),
])
def test_bytecode_moves_beside_its_module(name: str, placed: str | None) -> None:
    assert startup.entry_name(name, "cpython-314") == placed


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_the_zip_is_stored_sorted_and_importable(tmp_path: Path) -> None:
    import sys

    one = _wheel(tmp_path / "one-1-py3-none-any.whl", {"zz_one/__init__.py": b"VALUE = 1\n",
                                                       "zz_one-1.dist-info/METADATA": b"Name: zz-one\n"})
    two = _wheel(tmp_path / "two-1-py3-none-any.whl", {"zz_two/__init__.py": b"from zz_one import VALUE\n"})
    dest = tmp_path / "startup.zip"
    assert startup.write_zip([one, two], dest, "cpython-314", DATE) == 3
    archive = zipfile.ZipFile(dest)
    assert archive.namelist() == sorted(archive.namelist())
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    sys.path.insert(0, str(dest))
    try:
        import zz_two  # type: ignore[import-not-found]

        assert zz_two.VALUE == 1 and zz_two.__file__.startswith(str(dest))
    finally:
        sys.path.remove(str(dest))
        for name in ("zz_one", "zz_two"):
            sys.modules.pop(name, None)


def test_two_wheels_with_the_same_file_stop_the_build(tmp_path: Path) -> None:
    one = _wheel(tmp_path / "one-1-py3-none-any.whl", {"shared/__init__.py": b""})
    two = _wheel(tmp_path / "two-1-py3-none-any.whl", {"shared/__init__.py": b"# other\n"})
    with pytest.raises(startup.StartupZipError, match=r"shared/__init__\.py"):
        startup.write_zip([one, two], tmp_path / "startup.zip", "cpython-314", DATE)
    assert not (tmp_path / "startup.zip").exists()


def test_unsafe_names_stop_the_build(tmp_path: Path) -> None:
    bad = _wheel(tmp_path / "bad-1-py3-none-any.whl", {"../escape.py": b""})
    with pytest.raises(startup.StartupZipError, match="不安全"):
        startup.write_zip([bad], tmp_path / "startup.zip", "cpython-314", DATE)
