"""`publish`: verified bundles in, a static mkdocs-material site out.

    publish(inputs, out_dir, key, signed_at, roster=None) -> PublishReport

Steps: verify and choose (collect.py; inputs are bundles, folders and stores), match the
supervisor's signed reviews to the chosen bundles (reviews.py), make each public copy (redact.py), write the pages and
downloads into a staging folder (pages.py), build with mkdocs' Python API, then check that
nothing points off the site's origin and that no private value made it into any file
(leaks.py: a unit whose value a file still holds is refused, and the site built again without
it), and swap the result into `out_dir` (a failed build never leaves half a site behind).

The site is Chinese, `theme.font: false` (no font CDN), no repo or social links, no sitemap,
and `use_directory_urls: false` so pages also open from a folder. Search is the theme's lunr
search with the portal's separator (every Han character is a term). Material's `offline`
plugin is deliberately not used: it adds a polyfill from another site. So search needs the
site served over HTTP (`jixiao serve --site DIR`); reading works from a folder.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..bundle.keys import PrivateKey
from ..bundle.payload import beijing_time, parse_signed_at, signed_at_text
from ..bundle.roster import Roster
from ..io.errors import InputError
from . import pages, reviews
from .collect import Rejected, collect
from .leaks import scan
from .redact import PublicCopy, public_copy

SITE_NAME = "部门整体支出绩效自评结果公开"
# The portal's mkdocs.yml separator (a test keeps the two equal): split before every Han
# character, as there is no Chinese word segmenter; a lookahead, as old browsers lack lookbehind.
SEARCH_SEPARATOR = r"[\s\u200b\u3000\-、。，．？！；：“”‘’（）《》【】]+|(?=[\u3400-\u9fff])"
MARKER = "publish.json"  # says a folder holds a published site, so it may be replaced
PRUNED = ("sitemap.xml", "sitemap.xml.gz")

CSS = """
.jx-pub .jx-title { margin-bottom: .4em; }
.jx-redacted { border-left: .2rem solid #e8a33d; background: #fff8e6; padding: .6em .9em; }
.jx-fp code, code.jx-fp { word-break: break-all; white-space: normal; }
.jx-pub table { border-collapse: collapse; font-size: .72rem; }
.jx-pub th, .jx-pub td { border: 1px solid #999; padding: .25em .45em; vertical-align: middle; }
.jx-pub th { background: #f2f2f2; font-weight: bold; text-align: center; }
.jx-summary { width: 100%; table-layout: fixed; }
.jx-summary th { text-align: left; width: 34%; }
.jx-summary td { word-break: break-all; }
.jx-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
.jx-form { min-width: 46rem; width: 100%; table-layout: fixed; }
.jx-form td, .jx-list td { word-break: break-all; }
.jx-form td.t, .jx-report p { white-space: pre-wrap; }
.jx-form td.c, .jx-list td.c { text-align: center; }
.jx-form td.n { text-align: right; font-variant-numeric: tabular-nums; }
.jx-form td.l { font-weight: bold; text-align: center; background: #f7f7f7; }
.jx-notes p { font-size: .64rem; margin: .2em 0; }
.jx-report p { text-indent: 2em; }
@media print {
  @page { size: A4; margin: 12mm 10mm; }
  .jx-scroll { overflow: visible; }
  .jx-form { min-width: 0; font-size: 8pt; }
  .jx-form tr { break-inside: avoid; }
  .jx-downloads, .md-header, .md-tabs, .md-sidebar, .md-footer { display: none; }
  .jx-pub th, .jx-pub td { border-color: #000; }
}
"""


@dataclass
class PublishReport:
    out_dir: Path
    published: list[pages.Entry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    superseded: list[Rejected] = field(default_factory=list)  # verified, a newer one of the same unit published
    refused_reviews: list[Rejected] = field(default_factory=list)  # listed; publishing goes on
    removed: dict[str, list[str]] = field(default_factory=dict)  # slug → what redaction removed
    log: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # units the site replaced had published, not this one
    backup: Path | None = None  # where the replaced site went, when it held files the publish did not write
    publisher_before: str = ""  # the replaced site's publisher fingerprint, when another key signed it


def _config(years: dict[int, dict[str, list[pages.Entry]]]) -> dict[str, Any]:
    nav: list[Any] = [{"首页": "index.md"}]
    for year, departments in years.items():
        section: list[Any] = [{"年度总览": f"{year}/index.md"}]
        section += [{pages.safe_title(name, "主管部门"): f"{year}/{pages.department_slug(year, name)}.md"}
                    for name in departments]
        nav.append({f"{year}年度": section})
    nav.append({"如何核验": "verify.md"})
    return {
        "site_name": SITE_NAME,
        "docs_dir": "docs",
        "use_directory_urls": False,
        "theme": {"name": "material", "language": "zh", "font": False,
                  "features": ["navigation.tabs", "navigation.top", "search.highlight"]},
        "plugins": [{"search": {"separator": SEARCH_SEPARATOR}}],
        "markdown_extensions": ["tables", "attr_list", {"toc": {"permalink": False}}],
        "extra": {"generator": False},
        "extra_css": ["assets/publish.css"],
        "nav": nav,
    }


def _member(data: bytes, suffix: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(suffix))
        return archive.read(name)


def stage(docs: Path, entries: Sequence[pages.Entry], publisher: str) -> dict[int, dict[str, list[pages.Entry]]]:
    """Write every page, the downloads and the CSS under `docs`."""
    years = pages.by_year(entries)
    for folder in ("units", "downloads", "assets"):
        (docs / folder).mkdir(parents=True, exist_ok=True)
    (docs / "assets" / "publish.css").write_text(CSS.lstrip(), encoding="utf-8")
    (docs / "index.md").write_text(pages.home_page(years, publisher, SITE_NAME), encoding="utf-8")
    (docs / "verify.md").write_text(pages.verify_page(publisher), encoding="utf-8")
    for year, departments in years.items():
        (docs / str(year)).mkdir(exist_ok=True)
        (docs / str(year) / "index.md").write_text(pages.year_page(year, departments), encoding="utf-8")
        for name, units in departments.items():
            page = docs / str(year) / f"{pages.department_slug(year, name)}.md"
            page.write_text(pages.department_page(year, name, units), encoding="utf-8")
    for entry in entries:
        copy = entry.copy
        (docs / "downloads" / f"{entry.slug}.zip").write_bytes(copy.zip_bytes)
        (docs / "downloads" / f"{entry.slug}.xlsx").write_bytes(_member(copy.zip_bytes, ".xlsx"))
        stem = copy.zip_name.removesuffix(".zip")
        downloads = {"zip": f"../downloads/{entry.slug}.zip", "zip_name": copy.zip_name,
                     "xlsx": f"../downloads/{entry.slug}.xlsx", "xlsx_name": f"{stem}.xlsx"}
        (docs / "units" / f"{entry.slug}.md").write_text(pages.unit_page(entry, downloads), encoding="utf-8")
    return years


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        (self.errors if record.levelno >= logging.ERROR else self.lines).append(message)


@contextlib.contextmanager
def _mkdocs_log() -> Iterator[_Collect]:
    logger = logging.getLogger("mkdocs")
    handler = _Collect()
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def build_pages(staging: Path, config: dict[str, Any], site_dir: Path) -> list[str]:
    """mkdocs build through its Python API (the YAML written is JSON, which YAML reads)."""
    try:
        from mkdocs.commands.build import build as mkdocs_build
        from mkdocs.config import load_config
    except ImportError:
        raise InputError("发布网站需要 mkdocs 与 mkdocs-material（pip install 'jixiao[site]'）") from None
    config_file = staging / "mkdocs.yml"
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    with _mkdocs_log() as log, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        loaded = load_config(config_file=str(config_file), site_dir=str(site_dir))
        loaded.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(loaded)
        finally:
            loaded.plugins.on_shutdown()
    if log.errors:
        raise InputError("网站生成失败：" + "；".join(log.errors))
    for name in PRUNED:  # a sitemap needs a public site_url, which an offline copy has not
        (site_dir / name).unlink(missing_ok=True)
    for source_map in site_dir.rglob("*.map"):  # debugging aids, a third of the theme's bytes
        source_map.unlink()
    return log.lines


def _check_module() -> Any:
    """The portal build's off-origin scan and CSP (build/check.py), when run from a checkout."""
    from ..sitebuild import load_build_module

    return load_build_module("check")


def check_site(site_dir: Path) -> list[str]:
    """Off-origin references; writes version.json with the CSP the pages need (for `serve`)."""
    check = _check_module()
    if check is None:
        return ["未找到 build/check.py：跳过站外链接检查"]
    problems = [f"引用了其他网站：{ref}" for ref in check.off_origin_references(site_dir)]
    if problems:
        raise InputError("网站检查未通过：" + "；".join(problems[:5]))
    policy = check.content_security_policy(site_dir)
    (site_dir / "version.json").write_text(json.dumps({"content_security_policy": policy}, indent=1) + "\n",
                                           encoding="utf-8")
    return []


def _prepare_out(out_dir: Path, kept: Sequence[Path]) -> dict[str, Any]:
    """Refuse an output folder whose replacement would take what must stay: the current folder (or
    one above it), an input, the key or the roster inside it (QA: re-publishing deleted the signed
    originals and the intake database kept there). Returns the manifest of the site it replaces."""
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).is_file())):
        raise InputError(f"{out_dir} 已存在且不是之前发布的网站：不会覆盖，请换一个文件夹")
    resolved = out_dir.resolve()
    here = Path.cwd().resolve()
    if here == resolved or resolved in here.parents:
        raise InputError(f"输出文件夹 {out_dir} 是当前文件夹或其上级：发布时会替换整个文件夹，请换一个文件夹")
    for path in kept:
        if resolved in path.resolve().parents or path.resolve() == resolved:
            raise InputError(f"{path} 在输出文件夹 {out_dir} 之中：发布时会替换整个输出文件夹，"
                             "请先把它移到输出文件夹之外")
    try:
        manifest = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _refuse_earlier(accepted: Sequence[Any], signed_at: str | datetime) -> None:
    """A public copy signed before its original (`--signed-at 2000-…`, a slip of the year) would
    tell every reader an order of events that cannot be."""
    when = parse_signed_at(signed_at_text(signed_at))
    for item in accepted:
        original = item.content.signed_at
        if parse_signed_at(original) > when:
            raise InputError(f"公开版的签名时间 {beijing_time(signed_at_text(signed_at))} 早于单位签名原件的时间"
                             f"（{Path(item.source).name}：{beijing_time(original)}）：请核对 --signed-at")


def _site_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def _unit_label(unit: dict[str, Any]) -> str:
    name = str(unit.get("unit_name") or "")
    code = str(unit.get("unit_code") or "")
    return f"{unit.get('year')} 年度 {name}（{code}）" if name else f"{unit.get('year')} 年度 {code}"


def _compare(report: PublishReport, before: dict[str, Any], publisher: str) -> None:
    """What the replaced site published that this one does not, and a change of publisher key."""
    now = {(e.year, e.copy.submission.unit_code) for e in report.published}
    units = before.get("units")
    for unit in units if isinstance(units, list) else []:
        if isinstance(unit, dict) and (unit.get("year"), unit.get("unit_code")) not in now:
            report.dropped.append(_unit_label(unit))
    earlier = before.get("publisher_fingerprint")
    if isinstance(earlier, str) and earlier and earlier != publisher:
        report.publisher_before = earlier


def _replace(target: Path, built: Path, before: dict[str, Any]) -> Path | None:
    """Swap `built` in. The old site is deleted only when it holds exactly what its publish wrote;
    anything else (files added by hand, a site from before the list was kept) moves aside, named."""
    backup = None
    if target.exists():
        listed = before.get("files")
        if isinstance(listed, list) and set(_site_files(target)) <= {*listed, MARKER}:
            shutil.rmtree(target)
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = target.with_name(f"{target.name}.上一版-{stamp}")
            for again in itertools.count(2):  # two runs in one second: never onto the first's backup
                if not backup.exists():
                    break
                backup = target.with_name(f"{target.name}.上一版-{stamp}-{again}")
            os.replace(target, backup)
    os.replace(built, target)
    return backup


def _manifest(entries: Sequence[pages.Entry], publisher: str, files: list[str]) -> str:
    units = [{"year": e.year, "unit_code": e.copy.submission.unit_code, "unit_name": e.copy.submission.unit_name,
              "page": f"units/{e.slug}.html", "download": f"downloads/{e.slug}.zip", "total": e.total,
              "grade": e.grade} for e in entries]
    return json.dumps({"publisher_fingerprint": publisher, "units": units, "files": files},
                      ensure_ascii=False, indent=1) + "\n"


def _leave_out(report: PublishReport, leaked: dict[str, list[str]], out_dir: Path) -> None:
    """Refuse the units whose private values a built file still holds, as inputs that failed are
    refused: the others are published without them. None left: nothing replaces the old site."""
    refused = [e for e in report.published if e.slug in leaked]
    for entry in refused:
        files = "、".join(leaked[entry.slug][:3]) + ("等" if len(leaked[entry.slug]) > 3 else "")
        report.rejected.append(Rejected(entry.copy.accepted.source, [
            f"生成的公开版中仍有该单位不公开的信息（联系人、电话等，见 {files}）：该单位未公开"]))
        report.published.remove(entry)
        report.removed.pop(entry.slug, None)
    if not report.published:
        kept = "（已有的网站未改动）" if out_dir.exists() else ""
        names = "、".join(Path(e.copy.accepted.source).name for e in refused[:3])
        raise InputError(f"生成的文件中仍有不公开的信息（{names}），没有可以公开的单位：未生成网站{kept}")


def publish(inputs: Sequence[Path], out_dir: Path, key: PrivateKey, signed_at: str | datetime,
            roster: Roster | None = None, review_scores: reviews.Scores | None = None,
            kept: Sequence[Path] = ()) -> PublishReport:
    """Verify, redact, re-sign and build; `out_dir` is replaced only when all of it worked, and
    never when an input or a file of `kept` (the key, the roster) lies inside it. Review scores
    come from the signed reviews among the inputs; `review_scores` (keyed by year and unit code)
    adds scores a caller has already matched to the published bundles."""
    out_dir = Path(out_dir)
    before = _prepare_out(out_dir, [*map(Path, inputs), *kept])
    report = PublishReport(out_dir)
    found = collect(list(inputs), roster)
    report.rejected = found.rejected
    report.superseded = found.superseded
    scores, refused = reviews.match(found.accepted, found.reviews)
    report.refused_reviews = found.refused_reviews + refused
    scores.update(review_scores or {})
    if not found.accepted:  # an empty site must not replace a published one
        unchanged = "（已有的网站未改动）" if out_dir.exists() else ""
        reasons = "；".join(f"{Path(r.source).name}：{r.reasons[0]}" for r in found.rejected[:3] if r.reasons)
        if not found.rejected and not found.superseded:  # QA: an empty folder read as "none verified"
            where = "、".join(str(p) for p in list(inputs)[:3])
            raise InputError(f"{where} 中没有找到签名材料（.zip、.json 或 .xlsx）：未生成网站{unchanged}")
        raise InputError(f"没有通过核验、可以公开的材料：未生成网站{unchanged}"
                         + (f"。未通过的：{reasons}" if reasons else ""))
    _refuse_earlier(found.accepted, signed_at)
    copies: list[PublicCopy] = [public_copy(a, key, signed_at) for a in found.accepted]
    for copy in copies:
        sub = copy.submission
        entry = pages.Entry(pages.unit_slug(copy), copy, scores.get((sub.year or 0, sub.unit_code)))
        report.published.append(entry)
        if copy.removed:
            report.removed[entry.slug] = copy.removed
    publisher = key.public.fingerprint
    target = out_dir.absolute()  # mkdocs reads a relative site_dir from its config's folder, not ours
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".publish-", dir=target.parent) as work:
        for attempt in itertools.count(1):  # each round that finds a leak leaves out at least one unit
            staging, built = Path(work) / f"staging-{attempt}", Path(work) / f"site-{attempt}"
            years = stage(staging / "docs", report.published, publisher)
            report.log = build_pages(staging, _config(years), built) + check_site(built)
            leaked = scan(built, {e.slug: e.copy.private for e in report.published})
            if not leaked:
                break
            _leave_out(report, leaked, out_dir)
        (built / MARKER).write_text(_manifest(report.published, publisher, _site_files(built)), encoding="utf-8")
        _compare(report, before, publisher)
        report.backup = _replace(target, built, before)
    return report
