"""The build drops the rules of Material's stylesheet that no page of the site can match
(build/theme_css.py). What a user sees must not change: every element of every page, and of the
states Material's scripts create (the search with results, the navigation drawer on a narrow
screen), has the same computed style, ::before and ::after included, with the slim stylesheet as
with Material's own.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import load_build_module, poll_until, wait_engine

theme_css = load_build_module("theme_css")

# Every computed property of every element (and its ::before/::after), read in one call.
STYLES = """() => {
  const root = getComputedStyle(document.documentElement);
  const props = [], custom = [];
  for (let i = 0; i < root.length; i++) (root[i].startsWith("--") ? custom : props).push(root[i]);
  props.sort(); custom.sort();
  const read = (s) => props.map((p) => s.getPropertyValue(p));
  const name = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      const names = typeof e.className === "string" ? e.className.trim() : "";
      const cls = names ? "." + names.split(/\\s+/).join(".") : "";
      parts.unshift(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + cls);
    }
    return parts.join(" > ");
  };
  const rows = [...document.querySelectorAll("*")].map((el) => [name(el), read(getComputedStyle(el)),
    read(getComputedStyle(el, "::before")), read(getComputedStyle(el, "::after"))]);
  return {props, custom: custom.map((p) => [p, root.getPropertyValue(p)]), rows};
}"""

PAGES = ("index.html", "guide.html", "fill.html", "framework.html", "offline.html", "keys.html", "verify.html",
         "summary.html", "404.html")


def _unescaped(value: str) -> str:
    """A custom property keeps its tokens' spelling: `\\3c ` and `<` are the same character."""
    return re.sub(r"\\([0-9a-fA-F]{1,6}) ?", lambda m: chr(int(m.group(1), 16)), value)


def material_stylesheet(name: str) -> bytes:
    return resources.files("material").joinpath("templates", "assets", "stylesheets", name).read_bytes()


def differences(full: dict[str, Any], slim: dict[str, Any], limit: int = 8) -> list[str]:
    assert full["props"] == slim["props"]
    pairs = zip(full["custom"], slim["custom"], strict=True)
    found = [f"自定义属性 {name}: {a[:80]!r} → {b[:80]!r}"
             for (name, a), (_, b) in pairs if _unescaped(a) != _unescaped(b)]
    if len(full["rows"]) != len(slim["rows"]):
        return [*found, f"元素个数不同：{len(full['rows'])} → {len(slim['rows'])}"]
    for a, b in zip(full["rows"], slim["rows"], strict=True):
        for part, label in ((1, ""), (2, "::before"), (3, "::after")):
            changed = [(p, x, y) for p, x, y in zip(full["props"], a[part], b[part], strict=True) if x != y]
            if changed:
                found.append(f"{a[0]}{label}: " + "; ".join(f"{p} {x[:40]!r} → {y[:40]!r}" for p, x, y in changed[:4]))
    return found[:limit]


def _settled(page: Any, name: str) -> None:
    if name == "fill.html":
        wait_engine(page)
        poll_until(page, "() => Number(document.querySelector('#jixiao-form').dataset.evaluatedSeq || 0) >= 1",
                   what="first score")
    poll_until(page, "() => document.querySelector('.md-search__form') !== null", what="theme scripts")
    page.wait_for_timeout(300)


def _search(page: Any) -> None:
    query = page.locator("input[data-md-component=search-query]")
    query.click()
    for _ in range(60):  # the search worker builds its index first; the theme searches on keyup
        query.fill("执行率")
        query.press("End")
        page.wait_for_timeout(250)
        if page.locator(".md-search-result__item").count():
            break
    assert page.locator(".md-search-result__item").count() > 1
    page.wait_for_timeout(500)


def _drawer(page: Any) -> None:
    page.click(".md-header label[for=__drawer]")
    page.wait_for_timeout(500)


STATES: dict[str, tuple[str, dict[str, int], Any]] = {
    "搜索结果": ("guide.html", {"width": 1280, "height": 800}, _search),
    "窄屏导航抽屉": ("index.html", {"width": 600, "height": 900}, _drawer),
}


def _snapshot(browser: Any, url: str, viewport: dict[str, int], original: tuple[str, bytes] | None,
              act: Any = None) -> dict[str, Any]:
    context = browser.new_context(viewport=viewport, reduced_motion="reduce", service_workers="block")
    try:
        if original is not None:
            name, body = original
            context.route(f"**/assets/stylesheets/{name}",
                          lambda route: route.fulfill(status=200, body=body, content_type="text/css"))
        page = context.new_page()
        page.goto(url)
        _settled(page, url.rsplit("/", 1)[-1])
        if act is not None:
            act(page)
        result: dict[str, Any] = page.evaluate(STYLES)
        return result
    finally:
        context.close()


def _theme_sheet(built_site: Path) -> str:
    sheets = theme_css.theme_stylesheets(built_site)
    assert len(sheets) == 1, sheets
    return str(sheets[0].name)


# --- the slimming itself, on small stylesheets ---------------------------------------------------

def test_a_selector_naming_a_class_the_site_never_uses_is_dropped_and_the_rest_kept_as_it_was() -> None:
    vocabulary = theme_css.Vocabulary(['<div class="md-header md-typeset">', 'el.classList.add("md-header--shadow")'])
    css = (".md-header{color:red}.md-banner{color:blue}.md-header,.md-consent{margin:0}"
           ".md-typeset .admonition{padding:1px}.md-header--shadow{box-shadow:none}"
           "@media screen{.md-banner{top:0}.md-header{top:1px}}@font-face{font-family:x;src:url(x.woff2)}"
           "@keyframes spin{0%{opacity:0}to{opacity:1}}")
    slim = theme_css.slim(css, vocabulary)
    assert slim == (".md-header{color:red}.md-header{margin:0}.md-header--shadow{box-shadow:none}"
                    "@media screen{.md-header{top:1px}}@font-face{font-family:x;src:url(x.woff2)}"
                    "@keyframes spin{0%{opacity:0}to{opacity:1}}")


def test_classes_inside_not_or_is_and_in_attribute_values_never_decide() -> None:
    vocabulary = theme_css.Vocabulary(['<a class="md-nav__link" href="a.pdf">'])
    css = ('.md-nav__link:not(.md-nav__link--active){color:red}'
           '.md-nav__link:is(.md-nav__link--passed,.x){color:blue}'
           'a[href$=".pdf"]{color:green}'
           '.md-nav__link--active:not(.md-nav__link){color:black}')
    slim = theme_css.slim(css, vocabulary)
    assert ".md-nav__link:not(.md-nav__link--active){color:red}" in slim
    assert ".md-nav__link:is(.md-nav__link--passed,.x){color:blue}" in slim
    assert 'a[href$=".pdf"]{color:green}' in slim
    assert "color:black" not in slim


def test_a_class_a_script_builds_from_a_prefix_is_kept() -> None:
    vocabulary = theme_css.Vocabulary(["li.className = `md-tag md-tag--${name}`"])
    slim = theme_css.slim(".md-tag--html{color:red}.md-tagged{color:blue}", vocabulary)
    assert slim == ".md-tag--html{color:red}"


def test_a_stylesheet_the_parser_cannot_read_is_shipped_as_it_is(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="无法解析主题样式表"):
        theme_css.slim(".md-header{color:red}.md-banner", theme_css.Vocabulary([]))
    sheets = tmp_path / "assets" / "stylesheets"
    sheets.mkdir(parents=True)
    (tmp_path / "index.html").write_text('<div class="md-header">', "utf-8")
    (sheets / "main.1.min.css").write_text(".md-header{color:red}.md-banner", "utf-8")
    (sheets / "main.2.min.css").write_text(".md-header{color:red}.md-banner{color:blue}", "utf-8")
    lines = theme_css.slim_site(tmp_path)
    assert (sheets / "main.1.min.css").read_text("utf-8") == ".md-header{color:red}.md-banner"
    assert (sheets / "main.2.min.css").read_text("utf-8") == ".md-header{color:red}"
    assert lines[0].startswith("主题样式表 main.1.min.css 按原样提供：无法解析主题样式表"), lines


# --- the built site, in a real browser -------------------------------------------------------------

@pytest.mark.browser
def test_the_built_site_ships_a_much_smaller_theme_stylesheet(built_site: Path) -> None:
    name = _theme_sheet(built_site)
    original = material_stylesheet(name)
    shipped = (built_site / "assets" / "stylesheets" / name).read_bytes()
    assert len(shipped) < 0.75 * len(original), (len(shipped), len(original))


@pytest.mark.browser
@pytest.mark.parametrize("page_name", PAGES)
def test_every_page_looks_exactly_as_with_materials_own_stylesheet(browser: Any, site_server: str, built_site: Path,
                                                                   page_name: str) -> None:
    name = _theme_sheet(built_site)
    url = f"{site_server}/{page_name}"
    viewport = {"width": 1280, "height": 800}
    full = _snapshot(browser, url, viewport, (name, material_stylesheet(name)))
    slim = _snapshot(browser, url, viewport, None)
    assert len(full["rows"]) > 50
    assert differences(full, slim) == []


@pytest.mark.browser
@pytest.mark.parametrize("state", list(STATES))
def test_the_states_materials_scripts_create_look_the_same(browser: Any, site_server: str, built_site: Path,
                                                          state: str) -> None:
    page_name, viewport, act = STATES[state]
    name = _theme_sheet(built_site)
    url = f"{site_server}/{page_name}"
    full = _snapshot(browser, url, viewport, (name, material_stylesheet(name)), act)
    slim = _snapshot(browser, url, viewport, None, act)
    assert differences(full, slim) == []
