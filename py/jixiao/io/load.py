"""Read a submission from a file a person picked: JSON or the official XLSX, sniffed by content.

People rename files, save Word tables as .xlsx and pick the wrong attachment, so the suffix
is only a hint: the bytes decide. Everything that cannot be read becomes one `InputError`
with a one-line Chinese reason naming the problem (and, for a bad field, its official title).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import NoReturn

from ..catalog import framework_ids
from ..model.base import ValidationError
from ..model.fields import clip, describe_validation_error
from ..model.submission import Submission
from .errors import InputError
from .files import read_at_most, read_problem

MAX_BYTES = 20_000_000
_MB = 1_000_000

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_PDF_MAGIC = b"%PDF"
_JSON_STARTS = frozenset('{["-0123456789tfnNI"')

# The common json module messages, in the words of the people who will read them.
_JSON_PROBLEMS = {
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "键名须用英文双引号括起（或多了一个逗号）",
    "Unterminated string starting at": "字符串缺少结束的引号",
    "Invalid control character at": "字符串中有未转义的控制字符（如直接换行）",
    "Invalid \\escape": "字符串中有无效的转义符 \\",
    "Extra data": "JSON 结束后还有多余内容",
}


def load_submission(path: Path, framework_id: str | None = None) -> Submission:
    """Read the file at `path`; refuse it before reading when it is larger than the limit."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError("这是一个文件夹，请指定自评表文件（.json 或 .xlsx）")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(_too_large(size))
        data = read_at_most(path, MAX_BYTES)  # the file may grow, or stat may not know its size
    except OSError as exc:
        raise InputError(read_problem(exc)) from None
    return parse_submission_bytes(data, path.name, framework_id)


def parse_submission_bytes(data: bytes, name: str, framework_id: str | None = None) -> Submission:
    """Read a submission from bytes; `name` (the file name) only sharpens the messages.

    `framework_id` is the framework the caller will score under (the CLI's --framework): it
    must be shipped, and it is handed to the XLSX reader. A JSON file keeps the id it declares
    (a different one becomes a FRAMEWORK_MISMATCH finding in `evaluate`); without an override
    that declared id must be shipped.
    """
    if len(data) > MAX_BYTES:
        raise InputError(_too_large(len(data)))
    if framework_id is not None:
        check_framework_id(framework_id)
    if not data.strip():
        raise InputError("文件为空")
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        submission = _from_zip(data, framework_id)
    else:
        submission = _from_json(_text(data, name))
    if framework_id is None:
        check_framework_id(submission.framework_id)
    return submission


def check_framework_id(framework_id: str) -> None:
    """Refuse a framework id that is not shipped, listing the ones that are."""
    available = framework_ids()
    if framework_id not in available:
        raise InputError(f"没有指标体系“{clip(framework_id)}”，可用：{'、'.join(available)}")


# A supervisor handed a unit's signed bundle to `check` (or the 填报 page's import): say what it is.
SIGNED_NOT_FORM = ("这是签名材料，不是自评表：核验请用 jixiao verify（或网站的“核验”页），它会复算评分；"
                   "要检查或修改其中的自评表，请用压缩包里的 .xlsx")


def _too_large(size: int) -> str:
    return f"文件过大（{size / _MB:.1f} MB），上限 {MAX_BYTES // _MB} MB"


def _from_zip(data: bytes, framework_id: str | None) -> Submission:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError("文件已损坏：看似 zip/.xlsx，但无法打开") from None
    if "xl/workbook.xml" in names:
        from .xlsx_read import read_xlsx  # lazy: openpyxl is only needed for spreadsheets

        try:
            return read_xlsx(data, framework_id)
        except ValidationError as exc:
            raise InputError(describe_validation_error(exc)) from None
    if "word/document.xml" in names:
        raise InputError("这是 Word 文档（.docx），请提供 .json 或 .xlsx")
    if "ppt/presentation.xml" in names:
        raise InputError("这是 PowerPoint 演示文稿（.pptx），请提供 .json 或 .xlsx")
    if "content.xml" in names and "mimetype" in names:
        raise InputError("这是 OpenDocument（WPS/LibreOffice）文件，请另存为 .xlsx")
    if any(n.endswith(".json") for n in names) and any(n.endswith(".xlsx") for n in names):
        raise InputError(SIGNED_NOT_FORM)  # a bundle: .json + .xlsx (+ .html)
    raise InputError("这是一个 zip 压缩包，不是 .xlsx 表格，请提供 .json 或 .xlsx")


def _text(data: bytes, name: str) -> str:
    if data.startswith(_OLE_MAGIC):
        raise InputError("这是旧版 Office 文件（.xls 或 .doc），请在 Excel 中另存为 .xlsx")
    if data.startswith(_PDF_MAGIC):
        raise InputError("这是 PDF 文件，请提供 .json 或 .xlsx")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("文件是 UTF-16 编码，请以 UTF-8 编码另存后重试")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in data:
            _unrecognised(name)
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            _unrecognised(name)
        raise InputError("文件不是 UTF-8 编码（可能是 GBK），请以 UTF-8 编码另存后重试") from None
    stripped = text.lstrip()
    if not stripped:
        raise InputError("文件为空")
    if stripped[0] not in _JSON_STARTS:
        _unrecognised(name)
    return text


def _unrecognised(name: str) -> NoReturn:
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError("扩展名为 .xlsx，但内容不是 Excel 表格（可能已损坏或被改名）")
    raise InputError("无法识别的文件内容：既不是 JSON 也不是 .xlsx 表格")


def _from_json(text: str) -> Submission:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = next((v for k, v in _JSON_PROBLEMS.items() if exc.msg.startswith(k)), exc.msg)
        raise InputError(f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{problem}") from None
    except RecursionError:
        raise InputError("JSON 嵌套层数过深") from None
    if not isinstance(raw, dict):
        raise InputError("应为 JSON 对象（一个单位的自评表），而不是"
                         + ("数组" if isinstance(raw, list) else "单个值"))
    if {"payloadType", "payload", "signatures"} <= set(raw):
        from ..bundle.envelope import SUBMISSION_TYPE, TYPE_NAMES, TYPE_USE  # lazy: the signing side

        kind = raw["payloadType"]
        if kind != SUBMISSION_TYPE and kind in TYPE_NAMES:  # a roster, a summary…: say which, and where it goes
            raise InputError(f"这是{TYPE_NAMES[kind]}，不是自评表：{TYPE_USE[kind]}")
        raise InputError(SIGNED_NOT_FORM)
    if str(raw.get("format", "")).startswith("jixiao-key"):
        raise InputError("这是签名密钥文件，不是自评表：密钥用于 jixiao bundle --key（请妥善保管，不要外传）")
    try:
        # Validate the text, not `raw`: JSON mode is the contract (floats are refused the same way).
        return Submission.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, raw)) from None
