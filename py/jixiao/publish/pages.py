"""The published pages' content: Markdown files whose bodies are autoescaped HTML blocks.

Every text a unit typed is untrusted. Markdown would turn `[x](javascript:…)` into a live link
and let `<script>` through as raw HTML, so no unit text ever reaches Markdown: each page is a
front matter title plus one HTML block rendered by Jinja2 with autoescape on (Python-Markdown
passes a block-level HTML element through untouched). The page title is different: mkdocs'
theme templates do not autoescape, and `striptags` would undo an escape, so a title keeps only
letters, digits, CJK and harmless punctuation. File names are slugs made of the year, the
ASCII part of the unit code and a hash, never the unit's own words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import groupby

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..bundle.payload import beijing_time
from ..model.numbers import plain
from ..render.bundle_view import NOTES, form_view
from ..render.report_html import indicator_rows
from ..render.xlsx import FORM_WIDTHS, HEADER
from .redact import PublicCopy

_TAG = re.compile(r"<[^>]*>")
_TITLE_KEEP = re.compile(r"[^\w\u3000-\u303f\uff08\uff09\uff0c\uff1a\u00b7（）()·.\- ]+")
_SLUG_KEEP = re.compile(r"[^A-Za-z0-9]+")


@cache
def environment() -> Environment:
    return Environment(loader=PackageLoader("jixiao", "render/templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def safe_title(text: str, fallback: str) -> str:
    """A title safe in un-escaped theme templates: no <, >, &, quotes, brackets or braces."""
    cleaned = " ".join(_TITLE_KEEP.sub(" ", _TAG.sub(" ", text)).split())[:80]
    return cleaned or fallback


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:10]


def unit_slug(copy: PublicCopy) -> str:
    sub = copy.submission
    code = _SLUG_KEEP.sub("-", sub.unit_code).strip("-")[:24]
    return "-".join(p for p in (str(sub.year), code, _hash(sub.unit_code, sub.unit_name)) if p)


def department_slug(year: int, department: str) -> str:
    return f"dept-{_hash(str(year), department)}"


def _front_matter(title: str) -> str:
    """The title, and no side bars: the tabs already navigate, and 附件6 needs the width."""
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nhide: [navigation, toc]\n---\n\n"  # JSON is YAML


def _page(title: str, body: str) -> str:
    """Front matter, then the HTML block alone (blank lines around it keep Markdown out)."""
    return _front_matter(title) + body.strip() + "\n"


def _text(value: Decimal | None) -> str:
    return "—" if value is None else plain(value)


def _rate(value: Decimal | None) -> str:
    """执行率 with its two decimals, as 附件4, `jixiao check` and the county table show it."""
    return "—" if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class Entry:
    """One unit as listed on the indexes."""

    slug: str
    copy: PublicCopy
    review_score: Decimal | None = None

    @property
    def year(self) -> int:
        return self.copy.submission.year or 0

    @property
    def department(self) -> str:
        return self.copy.submission.department.strip() or self.copy.submission.unit_name.strip() or "（未填主管部门）"

    @property
    def total(self) -> str:
        return _text(self.copy.evaluation.total)

    @property
    def grade(self) -> str:
        return self.copy.evaluation.grade or "—"

    @property
    def review(self) -> str:
        return "" if self.review_score is None else plain(self.review_score)


def unit_page(entry: Entry, downloads: dict[str, str]) -> str:
    """The unit's page: summary, downloads, 附件6 (scrollable, printable) and 附件7."""
    copy = entry.copy
    view = form_view(copy.submission, copy.evaluation, copy.framework)
    total = sum(FORM_WIDTHS)
    content = copy.accepted.content
    body = environment().get_template("publish_unit.html").render(
        entry=entry, view=view, rows=indicator_rows(view), header=HEADER, notes=NOTES,
        widths=[round(w * 100 / total, 2) for w in FORM_WIDTHS], framework=copy.framework,
        unit_fingerprints=copy.accepted.verdict.fingerprints, publisher=copy.publisher_fingerprint,
        original=content, signed_at=beijing_time(content.signed_at),
        original_sha256=copy.accepted.envelope_sha256, downloads=downloads,
        execution_rate=_rate(copy.evaluation.execution_rate), removed=bool(copy.removed))
    title = safe_title(f"{entry.year}年度 {copy.submission.unit_name}", f"{entry.year}年度 {entry.slug}")
    return _page(title, body)


def by_year(entries: Iterable[Entry]) -> dict[int, dict[str, list[Entry]]]:
    """year → 主管部门 → units (本级 first), newest year first."""
    out: dict[int, dict[str, list[Entry]]] = {}
    ordered = sorted(entries, key=lambda e: (-e.year, e.department, e.copy.submission.unit_kind != "本级",
                                             e.copy.submission.unit_code, e.slug))
    for year, in_year in groupby(ordered, key=lambda e: e.year):
        out[year] = {}
        for department, units in groupby(in_year, key=lambda e: e.department):
            out[year][department] = list(units)
    return out


def home_page(years: dict[int, dict[str, list[Entry]]], publisher: str, site_name: str) -> str:
    body = environment().get_template("publish_index.html").render(
        kind="home", years=years, publisher=publisher, prefix="", dept_slug=department_slug)
    return _page(safe_title(site_name, "绩效自评结果公开"), body)


def year_page(year: int, departments: dict[str, list[Entry]]) -> str:
    body = environment().get_template("publish_index.html").render(
        kind="year", year=year, departments=departments, prefix="../", dept_slug=department_slug)
    return _page(f"{year}年度", body)


def department_page(year: int, department: str, units: list[Entry]) -> str:
    body = environment().get_template("publish_index.html").render(
        kind="department", year=year, department=department, units=units, prefix="../",
        dept_slug=department_slug)
    return _page(safe_title(f"{year}年度 {department}", f"{year}年度 主管部门"), body)


def verify_page(publisher: str) -> str:
    body = environment().get_template("publish_verify.html").render(publisher=publisher)
    return _page("如何核验下载的材料", body)
