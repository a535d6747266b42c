"""Publishing again into a published site (QA as a finance bureau clerk): it used to delete the
whole output folder, the signed originals and the intake database kept inside it included, and
dropped earlier units, whole years and files added by hand without a word. Now what must stay
is refused inside the output folder, the replaced site moves aside when it holds anything the
publish did not write, and units no longer published and a new publisher key are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bundle_helpers import SIGNED_AT
from jixiao import load_example, load_framework
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.bundle.keys import key_file_json
from jixiao.cli import cli

PUBLISHED_AT = "2022-06-01T10:00:00+08:00"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Two units' signed bundles (the seed as the 本级, and a unit of its own code)."""
    framework = load_framework("jinxian-2021")
    seed = load_example("jinxian-2021")
    other = seed.model_copy(update={"unit_code": "360124-KGX-07", "unit_name": "另一单位", "unit_kind": "所属单位"})
    out = {}
    for label, sub in (("seed", seed), ("other", other)):
        out[label] = build_bundle(sub, framework, PrivateKey("ed25519", label.encode().ljust(32, b"k")),
                                  SIGNED_AT)[1]
    return out


def key_file(folder: Path, name: str = "发布机关.key", seed: bytes = b"publisher") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(key_file_json(PrivateKey("ed25519", seed.ljust(32, b"p"))), encoding="utf-8")
    return path


def publish(*args: str | Path, signed_at: str = PUBLISHED_AT) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["publish", *map(str, args), "--signed-at", signed_at])
    return result.exit_code, result.output + result.stderr


def write(folder: Path, bundles: dict[str, bytes], *labels: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label in labels:
        path = folder / f"{label}.zip"
        path.write_bytes(bundles[label])
        paths.append(path)
    return paths


def test_inputs_the_key_or_the_current_folder_inside_the_output_are_refused(
        tmp_path: Path, bundles: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    key = key_file(tmp_path / "keys")
    site = tmp_path / "site"
    first = write(tmp_path / "in", bundles, "seed")
    code, text = publish(*first, "-o", site, "--key", key)
    assert code == 0, text
    inside = write(site / "incoming", bundles, "seed", "other")  # the originals kept in the site's folder
    code, text = publish(site / "incoming", "-o", site, "--key", key)
    assert code == 2 and "在输出文件夹" in text and "请先把它移到输出文件夹之外" in text, text
    assert all(p.read_bytes() for p in inside)  # nothing deleted
    key_inside = key_file(site / "keys")
    code, text = publish(*first, "-o", site, "--key", key_inside)
    assert code == 2 and "在输出文件夹" in text and key_inside.is_file(), text
    monkeypatch.chdir(site)
    code, text = publish(*first, "-o", ".", "--key", key)
    assert code == 2 and "是当前文件夹或其上级" in text, text
    assert (site / "incoming" / "seed.zip").is_file() and (site / "index.html").is_file()


def test_a_site_holding_only_what_it_published_is_replaced_and_a_dropped_unit_is_named(
        tmp_path: Path, bundles: dict[str, bytes]) -> None:
    key = key_file(tmp_path / "keys")
    site = tmp_path / "site"
    both = write(tmp_path / "in", bundles, "seed", "other")
    code, text = publish(*both, "-o", site, "--key", key)
    assert code == 0, text
    code, text = publish(*both, "-o", site, "--key", key)  # the routine re-run: nothing to say, nothing kept aside
    assert code == 0 and "之前公开、本次不再公开" not in text and "已整体移至" not in text, text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("site.")] == []
    code, text = publish(both[0], "-o", site, "--key", key)
    assert code == 1, text  # a unit that vanishes from the public site is something to look at
    assert "之前公开、本次不再公开：2021 年度 另一单位（360124-KGX-07）" in text, text
    assert "另一单位" not in (site / "index.html").read_text(encoding="utf-8")


def test_files_added_by_hand_move_aside_with_the_old_site(tmp_path: Path, bundles: dict[str, bytes]) -> None:
    key = key_file(tmp_path / "keys")
    site = tmp_path / "site"
    inputs = write(tmp_path / "in", bundles, "seed")
    assert publish(*inputs, "-o", site, "--key", key)[0] == 0
    (site / "公告.txt").write_text("本单位的说明", encoding="utf-8")
    code, text = publish(*inputs, "-o", site, "--key", key)
    assert code == 0 and "原网站中有本程序未生成的文件，已整体移至" in text, text
    backups = [p for p in tmp_path.iterdir() if p.name.startswith("site.上一版-")]
    assert len(backups) == 1 and (backups[0] / "公告.txt").read_text(encoding="utf-8") == "本单位的说明"
    assert (site / "index.html").is_file() and not (site / "公告.txt").exists()
    (site / "公告.txt").write_text("第二份说明", encoding="utf-8")  # again, within the same second or not
    assert publish(*inputs, "-o", site, "--key", key)[0] == 0
    backups = sorted(p for p in tmp_path.iterdir() if p.name.startswith("site.上一版-"))
    assert sorted((b / "公告.txt").read_text(encoding="utf-8") for b in backups) == ["本单位的说明", "第二份说明"]


def test_a_new_publisher_key_is_pointed_out(tmp_path: Path, bundles: dict[str, bytes]) -> None:
    """Readers check the publisher's fingerprint: a key changed without a word changes it under them."""
    site = tmp_path / "site"
    inputs = write(tmp_path / "in", bundles, "seed")
    assert publish(*inputs, "-o", site, "--key", key_file(tmp_path / "keys"))[0] == 0
    code, text = publish(*inputs, "-o", site, "--key", key_file(tmp_path / "keys", "新.key", b"another"))
    assert code == 0 and "注意：发布密钥与上次不同（上次公钥指纹" in text, text


def test_a_publishing_time_before_the_units_signature_is_refused(tmp_path: Path, bundles: dict[str, bytes]) -> None:
    """`--signed-at 2000-…` (a slip of the year) was taken: every public file then said the copy was
    signed 22 years before its original."""
    site = tmp_path / "site"
    inputs = write(tmp_path / "in", bundles, "seed")
    code, text = publish(*inputs, "-o", site, "--key", key_file(tmp_path / "keys"),
                         signed_at="2000-01-01T00:00:00+08:00")
    assert code == 2 and "公开版的签名时间 2000-01-01 00:00:00 早于单位签名原件的时间" in text, text
    assert "请核对 --signed-at" in text and not site.exists()


def test_two_contents_signed_at_one_time_are_named_and_publish_and_consolidate_agree(
        tmp_path: Path, bundles: dict[str, bytes]) -> None:
    """QA: b.zip (98) and c.zip (97) of one unit, signed at the same second: publish showed the first
    given, consolidate counted the last, and neither said the choice was a guess."""
    import json

    framework = load_framework("jinxian-2021")
    seed = load_example("jinxian-2021")
    key = PrivateKey("ed25519", b"seed".ljust(32, b"k"))
    lower = seed.model_copy(update={"total": seed.total - 1})
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.zip").write_bytes(build_bundle(seed, framework, key, SIGNED_AT)[1])
    (folder / "c.zip").write_bytes(build_bundle(lower, framework, key, SIGNED_AT)[1])
    publisher = key_file(tmp_path / "keys")
    for order in (["b.zip", "c.zip"], ["c.zip", "b.zip"]):
        paths = [folder / name for name in order]
        code, text = publish(*paths, "-o", tmp_path / f"site-{order[0]}", "--key", publisher)
        assert code == 0 and "请向单位核实哪一份为准" in text, text
        left_out = [line for line in text.splitlines() if line.startswith("已被更新的材料取代：")]
        assert len(left_out) == 1 and str(paths[0]) in left_out[0] and "签名时间相同" in left_out[0], text
        result = CliRunner().invoke(cli, ["consolidate", *map(str, paths), "-o", str(tmp_path / f"{order[0]}.xlsx"),
                                          "--json", "-j", "1"])
        answer = json.loads(result.output)
        assert len(answer["superseded"]) == 1, answer["superseded"]
        assert answer["superseded"][0].startswith(str(paths[0])), answer["superseded"]  # the same one left out
        assert "签名时间相同" in answer["superseded"][0] and "请向单位核实哪一份为准" in answer["superseded"][0]
        declared = answer["summary"]["rows"][0]["self_score"]
        assert declared == str(seed.total if order[-1] == "b.zip" else lower.total)  # the later one given


def test_an_empty_folder_is_said_to_hold_no_bundles(tmp_path: Path) -> None:
    """QA: it said 没有通过核验、可以公开的材料, as if bundles had failed."""
    (tmp_path / "空").mkdir()
    code, text = publish(tmp_path / "空", "-o", tmp_path / "site", "--key", key_file(tmp_path / "keys"))
    assert code == 2 and "中没有找到签名材料（.zip、.json 或 .xlsx）" in text and "未通过" not in text, text


def test_a_bundle_behind_a_broken_link_is_named(tmp_path: Path, bundles: dict[str, bytes]) -> None:
    """As consolidation lists a folder: a link to a bundle that is not there is named, not passed over."""
    folder = tmp_path / "in"
    write(folder, bundles, "seed")
    (folder / "U盘上的单位.zip").symlink_to(tmp_path / "不在了.zip")
    code, text = publish(folder, "-o", tmp_path / "site", "--key", key_file(tmp_path / "keys"))
    assert code == 1 and "U盘上的单位.zip" in text and "是指向不存在的文件的链接（快捷方式），无法读取" in text, text
