"""Material's stylesheet without the rules no page of this site can match.

Material ships one 137 kB stylesheet for every feature it has (blog posts, cookie consent,
tabbed blocks, keyboard keys, code highlighting…). Every visitor parses all of it before the
first paint, and the 填报 page is painted later the more style work comes first. Traced on
first visits of the 填报 page, dropping the rules that can never match took parsing from about
12 ms to 5 and the style passes before DOMContentLoaded from about 97 ms to 84.

A selector is dropped only when it names, outside any `:not(…)`/`:is(…)`-style parentheses, a
class that no built page and no script of the site contains as a word: such a selector can
never match, whatever the scripts do. Classes a script builds from a prefix and a value
(`md-tag--${…}`) are kept by their prefix. Everything else (at-rules other than @media and
@supports, element and attribute selectors) is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tinycss2

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*-)\$\{")  # `md-tag--${name}` in a template literal
CLASS = re.compile(r"\\.|\.(-?[A-Za-z_][A-Za-z0-9_-]*)")  # an escaped character is never a class dot
SCANNED = (".html", ".js", ".mjs")


class Vocabulary:
    """Every word the site's pages and scripts contain, and the prefixes scripts complete."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: set[str] = set()
        prefixes: set[str] = set()
        for text in texts:
            self.words.update(WORD.findall(text))
            prefixes.update(PREFIX.findall(text))
        self.prefixes = tuple(sorted(prefixes))

    @classmethod
    def of_site(cls, root: Path, skip: Sequence[str] = ("pyodide",)) -> Vocabulary:
        files = sorted(p for p in root.rglob("*")
                       if p.suffix in SCANNED and p.is_file() and not set(p.relative_to(root).parts) & set(skip))
        return cls(p.read_text("utf-8", errors="replace") for p in files)

    def knows(self, name: str) -> bool:
        return name in self.words or name.startswith(self.prefixes)


def _outside_parentheses(selector: str) -> str:
    depth, kept = 0, []
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            kept.append(ch)
    return "".join(kept)


def _split_list(selectors: str) -> list[str]:
    """A selector list split at its top-level commas (not those inside `:is(…)` or `[…]`)."""
    parts, depth, current = [], 0, []
    for ch in selectors:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def required_classes(selector: str) -> list[str]:
    """The classes an element must carry for the selector to match: those outside parentheses
    (inside them, `:not(.x)` matches exactly where `.x` is absent)."""
    flat = re.sub(r"\[[^\]]*\]", "", _outside_parentheses(selector))  # `[href$=".pdf"]` holds no class
    return [m for m in CLASS.findall(flat) if m]


def _rules(rules: list[Any], vocabulary: Vocabulary) -> list[str]:
    out: list[str] = []
    for rule in rules:
        kind = getattr(rule, "type", "")
        if kind == "qualified-rule":
            selectors = _split_list(tinycss2.serialize(rule.prelude))
            kept = [s for s in selectors if all(vocabulary.knows(c) for c in required_classes(s))]
            if kept:
                out.append(",".join(kept) + "{" + tinycss2.serialize(rule.content) + "}")
        elif kind == "at-rule":
            keyword = rule.lower_at_keyword
            content = rule.content
            if keyword in ("media", "supports") and content is not None:
                inner = _rules(tinycss2.parse_rule_list(content, skip_comments=True, skip_whitespace=True),
                               vocabulary)
                if inner:
                    out.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{''.join(inner)}}}")
            else:
                out.append(tinycss2.serialize([rule]))
        elif kind == "error":
            raise ValueError(f"无法解析主题样式表：{rule.message}")
    return out


def slim(css: str, vocabulary: Vocabulary) -> str:
    """The stylesheet with every selector dropped that names a class the site never uses."""
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return "".join(_rules(rules, vocabulary))


def theme_stylesheets(root: Path) -> list[Path]:
    return sorted((root / "assets" / "stylesheets").glob("main.*.min.css"))


def slim_site(root: Path) -> list[str]:
    """Slim the theme's stylesheets of a built site in place; one line per stylesheet for the build
    log. A stylesheet the parser cannot read is shipped as it is: this saves time, never breaks pages."""
    vocabulary = Vocabulary.of_site(root)
    lines = []
    for path in theme_stylesheets(root):
        css = path.read_text("utf-8")
        try:
            slimmed = slim(css, vocabulary)
        except ValueError as exc:
            lines.append(f"主题样式表 {path.name} 按原样提供：{exc}")
            continue
        path.write_text(slimmed, "utf-8")
        before, after = len(css.encode()) / 1000, len(slimmed.encode()) / 1000
        lines.append(f"主题样式表 {path.name}：{before:.0f} kB → {after:.0f} kB（删去本站页面用不到的规则）")
    return lines
