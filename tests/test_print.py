"""Printing the filled 填报 page (Ctrl+P): the 附件6 starts on the first sheet, A4 landscape, and
the paper holds the 附件6 and 附件7 only (the signing and upload sections printed too).

The form has a named page (A4 landscape); set on the form alone, it broke the page before it,
and the hidden content before the form printed as an empty Letter-size first sheet.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import import_seed_draft, open_form, wait_total

pytestmark = pytest.mark.browser
A4_LANDSCAPE = (841.89, 595.28)  # points


def page_facts(pdf: Path, number: int) -> tuple[tuple[float, float], str]:
    info = subprocess.run(["pdfinfo", "-f", str(number), "-l", str(number), str(pdf)], capture_output=True,
                          text=True, check=True).stdout
    size_line = next(line for line in info.splitlines() if line.startswith(f"Page    {number} size:"))
    width, height = (float(x) for x in size_line.split(":", 1)[1].split("pts")[0].split(" x "))
    text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return (width, height), text


def test_the_printed_form_starts_on_the_first_sheet_in_a4_landscape(page_logged: Any, site_server: str,
                                                                     tmp_path: Path) -> None:
    page = page_logged
    open_form(page, f"{site_server}/fill.html")
    import_seed_draft(page, tmp_path)
    wait_total(page, "98")
    pdf = tmp_path / "附件6.pdf"
    pdf.write_bytes(page.pdf(prefer_css_page_size=True, print_background=True))
    size, text = page_facts(pdf, 1)
    assert abs(size[0] - A4_LANDSCAPE[0]) < 1 and abs(size[1] - A4_LANDSCAPE[1]) < 1, size
    assert "进贤县科技和工业信息化局" in text and "整体支出规模" in text, text[:300]
    # The paper is the 附件6 and 附件7: no signing key, passphrase or upload controls on it.
    whole = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "整体支出绩效自评报告" in whole
    assert not [w for w in ("签名密钥", "口令", "提交给主管部门") if w in whole], whole[-400:]
