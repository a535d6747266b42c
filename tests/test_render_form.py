"""The 填报 form fragment, the 指标体系 page and the findings table, read as HTML (no browser).

The form is the contract with the browser code and the end-to-end tests: every control is
labelled with its official name, every data-path is a field of the Submission model, what a
unit typed is escaped, and Markdown (as MkDocs runs it) leaves the fragment intact.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import typing
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown  # type: ignore[import-untyped]
import pytest

from jixiao import Framework, Submission
from jixiao.model.base import Model
from jixiao.model.blank import blank_submission
from jixiao.render.form import render_findings_table, render_form, render_framework_page
from jixiao.rules.findings import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "site_src" / "docs"
# The extensions mkdocs.yml enables: the fragment must survive exactly these.
MD_EXTENSIONS = ["abbr", "admonition", "attr_list", "def_list", "md_in_html", "tables", "toc",
                 "pymdownx.details"]
CONTROL_TAGS = {"input", "select", "textarea"}
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}"]


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], in_template: bool,
                 parent: Element | None) -> None:
        self.tag, self.attrs, self.in_template, self.parent = tag, attrs, in_template, parent
        self.text = ""

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)


class Page(HTMLParser):
    """Every element with its attributes, label texts, and whether it sits in a <template>."""

    VOID: typing.ClassVar[set[str]] = {"input", "br", "col", "img", "meta", "link", "hr"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.templates = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, self.templates > 0,
                     self.stack[-1] if self.stack else None)
        self.elements.append(el)
        if tag == "template":
            self.templates += 1
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.templates -= 1
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el.text += data

    def all(self, tag: str | None = None, live: bool | None = None, **attrs: str) -> list[Element]:
        return [el for el in self.elements
                if (tag is None or el.tag == tag)
                and (live is None or el.in_template != live)
                and all(el.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def controls(self, live: bool | None = True) -> list[Element]:
        return [el for el in self.elements if el.tag in CONTROL_TAGS
                and el.get("type") != "hidden" and (live is None or el.in_template != live)]

    def paths(self, live: bool | None = True) -> list[Element]:
        return [el for el in self.elements if el.tag in CONTROL_TAGS and "data-path" in el.attrs
                and (live is None or el.in_template != live)]

    def label_for(self, el: Element) -> str | None:
        labels = [lab.text.strip() for lab in self.all("label") if lab.get("for") == el.get("id")
                  and lab.in_template == el.in_template]
        return labels[0] if len(labels) == 1 else None


def field_info(path: str) -> Any:
    """The FieldInfo at a path, walking the Submission model (digits are list items)."""
    kind: Any = Submission
    info: Any = None
    for step in path.split("."):
        if step.isdigit():
            continue
        model = next((a for a in [kind, *typing.get_args(kind)]
                      for a in [a, *typing.get_args(a)]
                      if isinstance(a, type) and issubclass(a, Model)), None)
        assert model is not None and step in model.model_fields, f"{path} is not a Submission field"
        info = model.model_fields[step]
        kind = info.annotation
    return info


def section_titles(framework: Framework) -> dict[str, str]:
    return {f"report.sections.{s.id}": s.title for s in framework.leaf_sections()}


def rebuild(page: Page, framework: Framework) -> dict[str, Any]:
    """What form.js readSubmission does, in Python: controls' values into a nested document."""
    doc: dict[str, Any] = {}
    textarea_values = {el.attrs.get("id"): el.text.removeprefix("\n") for el in page.all("textarea")}
    for el in page.paths():
        path, kind = el["data-path"], el["data-kind"]
        if el.tag == "textarea":
            raw = textarea_values[el.get("id")]
        elif el.tag == "select":
            options = [o for o in page.elements if o.tag == "option" and o.parent is el]
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            raw = chosen[0].attrs.get("value", "") if chosen else ""
        else:
            raw = el.attrs.get("value", "")
        value: Any = raw
        if kind == "bool":
            value = raw == "true"
        elif kind in ("dec", "int"):
            value = None if raw.strip() == "" else (int(raw) if kind == "int" else raw)
        steps: list[Any]
        if path.startswith("report.sections."):
            steps = ["report", "sections", path.removeprefix("report.sections.")]
        else:
            steps = [int(s) if s.isdigit() else s for s in path.split(".")]
        node: Any = doc
        for i, step in enumerate(steps[:-1]):
            if isinstance(node, list):
                while len(node) <= step:
                    node.append(None)
            if (node[step] if isinstance(node, list) else node.get(step)) is None:
                node[step] = [] if isinstance(steps[i + 1], int) else {}
            node = node[step]
        if isinstance(node, list):
            while len(node) <= steps[-1]:
                node.append(None)
        node[steps[-1]] = value
    return doc


@pytest.fixture
def page(jinxian: Framework) -> Page:
    return Page(render_form(jinxian))


# ---------------------------------------------------------------- labels and paths


OFFICIAL = ["评价部门名称", "下属单位个数", "全年预算数", "全年执行数", "执行率", "年初设定目标",
            "全年完成情况", "权重", "三级指标", "年度指标值", "全年完成值", "分值", "得分",
            "偏差及原因分析", "总分", "主管部门", "单位编码", "年度", "单位层级", "联系人"]


def test_every_control_has_one_label_with_its_official_name(page: Page, jinxian: Framework) -> None:
    sections = section_titles(jinxian)
    for el in page.controls(live=None):
        label = page.label_for(el)
        assert label, f"no single <label for> for {el.attrs}"
        path = el.get("data-path")
        if path is None:
            continue  # the drafts bar: labelled, but not part of the submission
        concrete = path.replace("__L__", "0").replace("__G__", "0").replace("__I__", "0")
        expected = sections.get(concrete) or field_info(concrete).title
        assert label == expected, (path, label, expected)
    labels = {page.label_for(el) for el in page.controls()}
    assert set(OFFICIAL) <= labels
    assert {s.title for s in jinxian.leaf_sections()} <= labels


def test_kinds_follow_the_model(page: Page) -> None:
    for el in page.paths():
        path, kind = el["data-path"], el["data-kind"]
        if path.startswith("report.sections."):
            assert kind == "text"
            continue
        annotation = field_info(path).annotation
        args = set(typing.get_args(annotation)) | {annotation}
        if bool in args:
            assert kind == "bool", path
        elif int in args:
            assert kind == "int", path
        elif Decimal in args:
            assert kind == "dec", path
        else:
            assert kind == "text", path


def test_blank_form_reads_back_as_the_blank_submission(page: Page, jinxian: Framework) -> None:
    """Every data-path is a Submission field, and the controls hold exactly the blank table."""
    doc = rebuild(page, jinxian)
    assert Submission.model_validate(doc) == blank_submission(jinxian, 2021)


def test_a_filled_form_reads_back_as_what_was_given(seed: Submission, jinxian: Framework) -> None:
    page = Page(render_form(jinxian, seed))
    assert Submission.model_validate(rebuild(page, jinxian)) == seed


def test_ids_are_unique_and_templates_use_the_same_fields(seed: Submission, jinxian: Framework) -> None:
    page = Page(render_form(jinxian, seed))
    ids = [el["id"] for el in page.elements if "id" in el.attrs and not el.in_template]
    assert len(ids) == len(set(ids))
    live = {el["data-path"] for el in page.paths()}
    templated = {el["data-path"] for el in page.paths(live=False)}
    assert templated, "the <template> rows are missing"
    for path in templated:
        concrete = path.replace("__L__", "0").replace("__G__", "0").replace("__I__", "0")
        assert concrete in live, path
    for name in ("jx-tpl-l1", "jx-tpl-l2", "jx-tpl-l3"):
        assert page.all("template", id=name)


def test_one_row_per_indicator_and_spans_cover_the_block(seed: Submission, jinxian: Framework) -> None:
    page = Page(render_form(jinxian, seed))
    rows = page.all("tr", live=True)
    items = [r for r in rows if r.get("class") == "jx-item"]
    assert len(items) == sum(len(g.items) for lv in seed.indicators for g in lv.groups)
    for li, level in enumerate(seed.indicators):
        lead = page.all("th", live=True, id=f"jx-l1-{li}")[0]
        assert lead.text.strip() == level.name
        expected = sum(len(g.items) + 1 for g in level.groups) + 1
        assert int(lead["rowspan"]) == expected


def test_other_framework_other_table(jinxian: Framework, national: Framework) -> None:
    a, b = Page(render_form(jinxian)), Page(render_form(national))
    names = {fw.id: [el.text.strip() for el in page.all("th", live=True) if el.get("class") == "jx-lead-l1"]
             for fw, page in ((jinxian, a), (national, b))}
    assert names["jinxian-2021"] == [lv.name for lv in jinxian.levels]
    assert names["national-2020"] == [lv.name for lv in national.levels]
    weights = [el.get("value") for el in b.paths() if el["data-path"].endswith(".weight")]
    assert weights == [str(lv.weight) for lv in national.levels]
    assert {el.text.strip() for el in b.all("label")} >= {s.title for s in national.leaf_sections()}
    year = next(el for el in b.paths() if el["data-path"] == "year")
    assert year.get("value") == ""  # national-2020 is not tied to a year: the browser fills it in


def test_contract_for_scripts_and_tests(page: Page, jinxian: Framework) -> None:
    root = page.all("div", id="jixiao-form")[0]
    assert root.get("markdown") == "0"
    assert root.get("data-engine-state") == "loading" and root.get("data-evaluated-seq") == "0"
    for testid in ("findings", "total-score", "grade"):
        assert len(page.all(live=True, data_testid=testid)) == 1, testid
    bar = page.all(role="progressbar")[0]
    assert bar.get("aria-valuenow") == "0" and bar.get("id") == "jx-progress"
    assert page.all("p", id="jx-status")
    for button in ("jx-draft-new", "jx-draft-rename", "jx-draft-delete", "jx-draft-export"):
        assert page.all("button", id=button), button
    assert page.all("select", id="jx-draft-select")
    file_input = page.all("input", id="jx-draft-import")[0]
    assert file_input.get("type") == "file" and page.label_for(file_input) == "导入草稿"
    grade = next(el for el in page.paths() if el["data-path"] == "report.figures.grade")
    assert grade.tag == "select"
    options = [o.text for o in page.elements if o.tag == "option" and o.parent is grade]
    assert options == ["（请选择）", "优", "良", "中", "差"]
    adds = page.all("button", live=True, data_action="add-item")
    assert len(adds) == sum(len(level.groups) for level in jinxian.levels)


def test_private_fields_are_marked(jinxian: Framework) -> None:
    page = Page(render_form(jinxian))
    for path in jinxian.private_fields:
        control = next(el for el in page.paths() if el["data-path"] == path)
        marks = [el for el in page.elements if el.parent is control.parent
                 and el.get("class") == "jx-private"]
        assert [m.text for m in marks] == ["不公开"], path


# ---------------------------------------------------------------- escaping


def hostile_submission(seed: Submission) -> Submission:
    bad = HOSTILE
    data = seed.model_dump(mode="json")
    data["unit_name"] = bad[0]
    data["unit_code"] = bad[1]
    data["department"] = bad[2]
    data["goal"]["target"] = "\n".join(bad)
    data["indicators"][0]["name"] = bad[0]
    data["indicators"][0]["groups"][0]["name"] = bad[1]
    item = data["indicators"][0]["groups"][0]["items"][0]
    item.update(name=bad[1], target=bad[0], actual=bad[2], deviation="\n\n".join(bad))
    data["report"]["sections"]["overview.duties"] = "\n\n".join(bad)
    data["report"]["sections"][bad[1]] = bad[0]  # a key the outline does not have
    data["report"]["figures"]["grade"] = bad[1]
    data["contact"]["name"] = bad[0]
    return Submission.model_validate(data)


def test_what_a_unit_typed_is_escaped(seed: Submission, jinxian: Framework) -> None:
    sub = hostile_submission(seed)
    html = render_form(jinxian, sub)
    assert "<script>alert" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html
    page = Page(html)
    # Only the form's configuration (JSON); the engine starter lives in the page's head.
    scripts = page.all("script")
    assert [el.get("type") for el in scripts] == ["application/json"]
    assert not [el for el in page.elements if any(k.startswith("on") for k in el.attrs)]
    assert Submission.model_validate(rebuild(page, jinxian)) == sub


def test_hostile_framework_text_cannot_leave_the_config_script(jinxian: Framework) -> None:
    evil = "</script><script>alert(1)</script>"
    framework = jinxian.model_copy(update={"name": evil, "levels": [
        jinxian.levels[0].model_copy(update={"name": evil}), *jinxian.levels[1:]]})
    html = render_form(framework)
    assert html.count("</script>") == render_form(jinxian).count("</script>") == 1  # the config
    assert "<script>alert" not in html


# ---------------------------------------------------------------- Markdown and MkDocs


def counts(page: Page) -> dict[str, int]:
    return {tag: len(page.all(tag)) for tag in ("input", "select", "textarea", "button", "template",
                                                  "tr", "label", "script")}


@pytest.mark.parametrize("with_submission", [False, True])
def test_fragment_survives_python_markdown(seed: Submission, jinxian: Framework,
                                           with_submission: bool) -> None:
    fragment = render_form(jinxian, hostile_submission(seed) if with_submission else None)
    text = (DOCS / "fill.md").read_text("utf-8").split("---\n", 2)[-1]
    assert "<!-- jixiao:form -->" in text
    html = markdown.markdown(text.replace("<!-- jixiao:form -->", fragment), extensions=MD_EXTENSIONS)
    before, after = Page(fragment), Page(html)
    assert counts(after) == counts(before)
    assert [el.attrs for el in after.paths(live=None)] == [el.attrs for el in before.paths(live=None)]
    assert fragment.strip() in html


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="mkdocs not installed")
def test_fragment_survives_a_real_mkdocs_build(tmp_path: Path, jinxian: Framework) -> None:
    fragment = render_form(jinxian)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text((DOCS / "fill.md").read_text("utf-8")
                                   .replace("<!-- jixiao:form -->", fragment), "utf-8")
    config = "\n".join(["site_name: t", "use_directory_urls: false", "theme:", "  name: material",
                        "  font: false", "markdown_extensions:",
                        *[f"  - {ext}" for ext in MD_EXTENSIONS]])
    (tmp_path / "mkdocs.yml").write_text(config + "\n", "utf-8")
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    subprocess.run([mkdocs, "build", "-q", "-f", str(tmp_path / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                   check=True, capture_output=True, cwd=tmp_path)
    built = Page((tmp_path / "site" / "index.html").read_text("utf-8"))
    before = Page(fragment)
    assert len(built.paths(live=None)) == len(before.paths(live=None))
    assert len(built.all(data_testid="findings")) == 1
    assert len(built.all("template")) == 3


def test_framework_page(jinxian: Framework, national: Framework) -> None:
    text = render_framework_page(national)
    html = markdown.markdown(text, extensions=MD_EXTENSIONS)
    for level in national.levels:
        assert level.name in html and f"权重 {level.weight}" in html
    assert "阶梯" in html and "按比例" in html and "优" in html
    assert "（一）单位职能与机构人员情况" in html
    assert "联系人" in html and "不公开" in html
    assert "正向（越高越好）" in markdown.markdown(render_framework_page(jinxian), extensions=MD_EXTENSIONS)


def test_framework_page_names_the_rule_the_checker_reads_off_the_target(jinxian: Framework) -> None:
    """An indicator the framework gives no rule is scored by its target's wording: 提升群众满意率
    ('提升') is checked as 定性 (a band for the score), where the page said 按填报得分."""
    from jixiao.model.framework import RULE_NAMES
    from jixiao.rules.scoring import suggest

    text = render_framework_page(jinxian)
    unruled = [k for level in jinxian.levels for group in level.groups for k in group.indicators
               if k.rule is None and k.target]
    assert unruled
    for known in unruled:
        kind = suggest(None, known.target, known.target, Decimal(10)).kind
        row = next(line for line in text.splitlines() if line.startswith(f"| {known.name} |"))
        assert f"“{known.target}”为{RULE_NAMES[kind or '']}" in row, row
    assert "按填报得分" not in text


def test_framework_page_escapes_framework_text(jinxian: Framework) -> None:
    evil = "<script>x</script> | *bold* [link](http://x) `code` {: .c}"
    level = jinxian.levels[0]
    group = level.groups[0].model_copy(update={"hint": evil, "indicators": [
        level.groups[0].indicators[0].model_copy(update={"name": evil, "hint": evil})]})
    framework = jinxian.model_copy(update={"name": evil, "notes": [evil], "levels": [
        level.model_copy(update={"groups": [group]}), *jinxian.levels[1:]]})
    html = markdown.markdown(render_framework_page(framework), extensions=MD_EXTENSIONS)
    page = Page(html)
    assert not page.all("script") and not page.all("a") and not page.all("em") and not page.all("code")
    assert "&lt;script&gt;x&lt;/script&gt; | *bold* [link](http://x) `code` {: .c}" in html
    indicator_rows = [row_cells(page, tr) for tr in page.all("tr")
                      if row_cells(page, tr) and row_cells(page, tr)[0].text.startswith("<script>x")]
    assert indicator_rows and all(len(cells) == 5 for cells in indicator_rows)


def row_cells(page: Page, tr: Element) -> list[Element]:
    start = page.elements.index(tr)
    cells = []
    for el in page.elements[start + 1:]:
        if el.tag == "tr":
            break
        if el.tag in ("td", "th"):
            cells.append(el)
    return cells


def test_indicator_table_keeps_its_columns_with_pipes_in_names(jinxian: Framework) -> None:
    level = jinxian.levels[0]
    known = level.groups[0].indicators[0].model_copy(update={"name": "a|b", "hint": "c|d"})
    group = level.groups[0].model_copy(update={"indicators": [known]})
    framework = jinxian.model_copy(update={"levels": [level.model_copy(update={"groups": [group]})]})
    page = Page(markdown.markdown(render_framework_page(framework), extensions=MD_EXTENSIONS))
    row = next(tr for tr in page.all("tr") if row_cells(page, tr) and row_cells(page, tr)[0].text == "a|b")
    assert len(row_cells(page, row)) == 5


def test_findings_table_lists_every_code() -> None:
    text = render_findings_table()
    page = Page(markdown.markdown(text, extensions=MD_EXTENSIONS))
    rows = [row_cells(page, tr) for tr in page.all("tr")][1:]
    assert sorted(cells[0].text for cells in rows) == sorted(REGISTRY)
    for cells in rows:
        entry = REGISTRY[cells[0].text]
        assert cells[1].text == {"error": "错误", "warning": "警告"}[entry.severity]
        assert cells[2].text == entry.meaning


def test_docs_pages_carry_the_build_markers() -> None:
    # 填报说明 carries the findings table itself (the build never filled a marker for it):
    # tests/test_docs_claims.py holds it to `render_findings_table`.
    assert "<!-- jixiao:form -->" in (DOCS / "fill.md").read_text("utf-8")
    offline = (DOCS / "offline.md").read_text("utf-8")
    assert "HTTPS" in offline and "导出草稿" in offline


def test_the_contact_hint_says_what_signing_does_with_the_contact(jinxian: Framework, seed: Submission) -> None:
    """QA: the hint said the contact was "只供主管部门和财政部门联系使用", but signing blanks both
    fields (a signed bundle may be published): the supervisor never received them."""
    from jixiao.bundle.archive import prepare_bundle

    html = render_form(jinxian, seed)
    hint = re.search(r'data-testid="contact-hint">([^<]+)<', html)
    assert hint is not None and "签名材料里不含这两项" in hint.group(1) and "只供主管部门" not in html
    contact = seed.contact.model_copy(update={"name": "张三", "phone": "13800000000"})
    filled = seed.model_copy(update={"contact": contact})
    signed = prepare_bundle(filled, jinxian, "2022-03-01T02:00:00Z").payload  # what `bundle` and the portal sign
    assert json.loads(signed)["submission"]["contact"] == {"name": "", "phone": ""}
