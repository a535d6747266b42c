"""`jixiao consolidate --year/--department/--deep` reach the consolidation (they were once lost in
a comment): bundles of two years are refused without --year and consolidated with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundle_helpers import SIGNED_AT, framework
from consolidate_helpers import UNITS, own_bundle, unit_key_for, unit_submission
from jixiao.bundle import build_bundle
from jixiao.cli import cli


def two_years(folder: Path) -> Path:
    """The department's own 2021 bundle and one unit's bundle made for 2020."""
    folder.mkdir()
    name, data = own_bundle()
    (folder / name).write_bytes(data)
    spec = UNITS[0]
    earlier = unit_submission(*spec).model_copy(update={"year": 2020})
    name, data = build_bundle(earlier, framework(), unit_key_for(spec[0]), SIGNED_AT)
    (folder / f"2020-{name}").write_bytes(data)
    return folder


def consolidate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["consolidate", *args, "-j", "1"])
    return result.exit_code, result.output + result.stderr


def test_year_chooses_among_years(tmp_path: Path) -> None:
    folder = two_years(tmp_path / "in")
    code, text = consolidate(str(folder), "-o", str(tmp_path / "all.xlsx"))
    assert code == 2 and "--year" in text, text
    code, text = consolidate(str(folder), "-o", str(tmp_path / "2021.xlsx"), "--year", "2021")
    assert code == 0, text
    assert "共汇总 1 个单位" in text and "不是所汇总的 2021 年度" in text, text
    assert (tmp_path / "2021.xlsx").is_file() and (tmp_path / "2021.json").is_file()


def test_department_and_deep_are_passed_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = two_years(tmp_path / "in")
    code, text = consolidate(str(folder), "-o", str(tmp_path / "none.xlsx"), "--year", "2021",
                             "--department", "没有这个部门")
    assert code == 2 and "没有主管部门为“没有这个部门”" in text, text

    from jixiao.consolidate import collect

    seen: list[dict[str, Any]] = []
    real = collect.consolidate

    def recording(sources: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(sources, **kwargs)

    monkeypatch.setattr(collect, "consolidate", recording)
    code, text = consolidate(str(folder), "-o", str(tmp_path / "deep.xlsx"), "--year", "2021",
                             "--department", "进贤县科技和工业信息化局", "--deep")
    assert code == 0, text
    assert [(k["year"], k["department"], k["deep"]) for k in seen] == [(2021, "进贤县科技和工业信息化局", True)]


def test_when_nothing_passes_each_refusal_is_named(tmp_path: Path) -> None:
    """No 附件4 can be made: the user is told why each input failed, not only that none passed."""
    from consolidate_helpers import tampered_bundle

    folder = tmp_path / "in"
    folder.mkdir()
    name, data = tampered_bundle()
    (folder / name).write_bytes(data)
    (folder / "garbage.zip").write_bytes(b"not a zip")
    (tmp_path / "empty").mkdir()
    code, text = consolidate(str(folder), str(tmp_path / "empty"), str(tmp_path / "nowhere"),
                             "-o", str(tmp_path / "none.xlsx"))
    assert code == 2, text
    assert "未汇总 4 份" in text, text
    lines = text.splitlines()
    assert any(name in line and "签名" in line for line in lines), text  # the tampered one: its reason
    assert any("garbage.zip" in line and "无法识别" in line for line in lines), text
    assert any("empty" in line and "文件夹中没有" in line for line in lines), text
    assert any("nowhere" in line and "不存在" in line for line in lines), text
    assert lines[-1] == "无法汇总：没有通过核验的签名材料", text
    assert not (tmp_path / "none.xlsx").exists()


def test_the_same_bundle_twice_is_named_and_counted_once(tmp_path: Path) -> None:
    """QA: a bundle copied under a second name passed twice and made one row, without a word: the
    count "核验 3 份" beside 2 units did not add up. The copy is now named, in text and JSON."""
    folder = two_years(tmp_path / "in")
    own = next(p for p in folder.iterdir() if not p.name.startswith("2020-"))
    (folder / "副本.zip").write_bytes(own.read_bytes())
    code, text = consolidate(str(folder), "-o", str(tmp_path / "2021.xlsx"), "--year", "2021")
    assert code == 0, text
    line = next(line for line in text.splitlines() if line.startswith("重复的材料："))
    assert f"{folder / '副本.zip'}：与 {own} 是同一份签名内容" in line and line.endswith("只计一次"), text
    assert "共汇总 1 个单位；核验 3 份材料，未通过 0 份，重复 1 份（只计一次）" in text, text
    import json

    code, text = consolidate(str(folder), "-o", str(tmp_path / "again.xlsx"), "--year", "2021", "--json")
    assert code == 0 and len(json.loads(text)["copies"]) == 1, text


def test_a_bundle_behind_a_broken_link_is_named_not_passed_over(tmp_path: Path) -> None:
    """QA: a link (快捷方式) in the input folder to a bundle on a drive no longer there was skipped
    without a word, and the unit was missing from 附件4 with exit 0."""
    folder = two_years(tmp_path / "in")
    (folder / "U盘上的单位.zip").symlink_to(tmp_path / "不在了" / "单位.zip")
    code, text = consolidate(str(folder), "-o", str(tmp_path / "2021.xlsx"), "--year", "2021")
    assert code == 1, text
    assert "U盘上的单位.zip：是指向不存在的文件的链接（快捷方式），无法读取" in text, text
