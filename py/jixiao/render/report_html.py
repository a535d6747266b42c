"""Printable, standalone HTML pages of the signing workflow: the bundle's 附件6 + 附件7, and
the 公钥登记表 a unit stamps with its seal.

One file each, inline CSS, no external URL (the offices are often offline). The bundle page
prints the table on A4 landscape and the report on A4 portrait (a named @page); it is made
from the same view as the spreadsheet and is deterministic, so the verifier rebuilds it from
the signed payload and compares. The 公钥登记表 carries unit name and code, algorithm, the
fingerprint in groups of four, a QR code (`segno`, pure Python, inline SVG) the supervisor
can scan into the roster, room for the seal, and says that a lost key means a new enrolment.
Jinja2 with autoescape on: every text a unit typed is untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .. import __version__
from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.submission import Submission
from .bundle_view import NOTES, FormView, ItemView, form_view
from .xlsx import FORM_WIDTHS, HEADER, outline_framework

if TYPE_CHECKING:  # an annotation only: bundle imports this module
    from ..bundle.keys import PublicKey

TEMPLATE = "bundle_report.html"
KEY_SHEET_TEMPLATE = "bundle_key_sheet.html"


@dataclass(frozen=True)
class TableCell:
    text: str
    css: str = ""
    rowspan: int = 1


@cache
def bundle_environment() -> Environment:
    return Environment(loader=PackageLoader("jixiao", "render/templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def indicator_rows(view: FormView) -> list[list[TableCell]]:
    """The indicator table as HTML rows: a 一级/二级 cell only on its block's first row."""
    rows: list[list[TableCell]] = []
    for level in view.levels:
        first_of_level = True
        groups = level.groups or []
        if not groups:
            rows.append([TableCell(level.name, "label"), TableCell(level.weight.text, "center"),
                         *[TableCell("") for _ in range(7)]])
            continue
        for group in groups:
            items: list[ItemView | None] = list(group.items) or [None]
            for index, item in enumerate(items):
                row: list[TableCell] = []
                if first_of_level:
                    row += [TableCell(level.name, "label", level.rows),
                            TableCell(level.weight.text, "center", level.rows)]
                    first_of_level = False
                if index == 0:
                    row.append(TableCell(group.name, "label", group.rows))
                if item is None:
                    row += [TableCell("") for _ in range(6)]
                else:
                    row += [TableCell(item.name), TableCell(item.target, "center"),
                            TableCell(item.actual, "center"), TableCell(item.max_score.text, "center"),
                            TableCell(item.score.text, "center"), TableCell(item.deviation)]
                rows.append(row)
    return rows


def render_report_html(submission: Submission, evaluation: Evaluation, *,
                       framework: Framework | None = None, signed_at: str | None = None,
                       software_version: str = __version__, public: str | None = None) -> str:
    """The page's text; the verifier passes the signed software version to rebuild it exactly.
    `public`: a public copy's line (payload.public_note), atop the page, and the footer's time
    is then the publisher's; without it the page is byte for byte what bundles always had."""
    view = form_view(submission, evaluation, framework or outline_framework(evaluation))
    total = sum(FORM_WIDTHS)
    widths = [round(w * 100 / total, 2) for w in FORM_WIDTHS]
    template = bundle_environment().get_template(TEMPLATE)
    return template.render(view=view, rows=indicator_rows(view), header=HEADER, notes=NOTES,
                           widths=widths, signed_at=signed_at, software_version=software_version, public=public)


def qr_svg(text: str) -> str:
    """An SVG QR code (error correction M, scalable) of `text`."""
    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=True)
    return svg


def render_key_sheet(key: PublicKey, unit_name: str, unit_code: str, *, created_at: str = "") -> str:
    """The standalone HTML page; `created_at` is a date the caller supplies (no clock here)."""
    groups = key.fingerprint.split(" ")
    lines = [" ".join(groups[:8]), " ".join(groups[8:])]
    template = bundle_environment().get_template(KEY_SHEET_TEMPLATE)
    return template.render(
        unit_name=unit_name, unit_code=unit_code, alg_name=key.alg_name, fingerprint_lines=lines,
        qr_svg=Markup(qr_svg(key.qr_text(unit_code))),  # generated here from hex and base64 only
        public_text=key.text(), created_at=created_at)
