"""A department for the consolidation tests: its own level (the seed) and three units.

Each unit is an edited copy of the seed with round numbers, so every 附件4 figure below can be
checked by hand:

    序号  单位                      编码            预算      执行     自评
    1     进贤县科技和工业信息化局   360124-KGX      5479.62   5479.62   98   (本级, the seed)
    2     进贤县科技情报研究所       360124-KGX-01    120.50    120.50   95
    3     进贤县中小企业服务中心     360124-KGX-02     80.00     60.00   85
    4     进贤县工业园区服务中心     360124-KGX-03    300.00    270.00   90
    合计                                             5980.12   5930.12   99.16%  weighted 97.36

A fifth unit (360124-KGX-04) has its signed JSON edited after signing: it must be rejected.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from decimal import Decimal
from functools import cache
from pathlib import Path

from bundle_helpers import SIGNED_AT, framework, seed, supervisor_key, unit_key
from jixiao import Submission
from jixiao.bundle import PrivateKey, build_bundle

DEPARTMENT = "进贤县科技和工业信息化局"
UNITS = (
    # code, name, budget, executed, score
    ("360124-KGX-03", "进贤县工业园区服务中心", "300.00", "270.00", 90),
    ("360124-KGX-01", "进贤县科技情报研究所", "120.50", "120.50", 95),
    ("360124-KGX-02", "进贤县中小企业服务中心", "80.00", "60.00", 85),
)
TAMPERED = ("360124-KGX-04", "进贤县被改动单位", "50.00", "50.00", 92)
EFFICIENCY = (2, 1, 0)  # 服务群众办事效率 (分值 35, seed 34): the row whose score is lowered


def unit_submission(code: str, name: str, budget: str, executed: str, score: int, *,
                    department: str = DEPARTMENT, year: int = 2021) -> Submission:
    """The seed as a 所属单位: its own code, name, funds and a total of `score`."""
    data = seed().model_dump(mode="json")
    b, e = Decimal(budget), Decimal(executed)
    basic_b = (b / 5).quantize(Decimal("0.01"))
    basic_e = min(basic_b, e)
    data.update(unit_code=code, unit_name=name, unit_kind="所属单位", department=department, year=year,
                subordinate_units=0, total=str(score))
    data["funds"] = {
        "total": {"budget": str(b), "executed": str(e), "rate": None},
        "fiscal": {"budget": str(b), "executed": str(e), "rate": None},
        "other": {"budget": "0", "executed": "0", "rate": None},
        "basic": {"budget": str(basic_b), "executed": str(basic_e), "rate": None},
        "project": {"budget": str(b - basic_b), "executed": str(e - basic_e), "rate": None},
    }
    level, group, item = EFFICIENCY
    row = data["indicators"][level]["groups"][group]["items"][item]
    row["score"] = str(34 - (98 - score))
    row["deviation"] = "部分事项办理时限未达标"
    figures = data["report"]["figures"]
    grade = "优" if score >= 90 else "良" if score >= 80 else "中" if score >= 60 else "差"  # jinxian-2021's bands
    figures.update(budget=str(b), executed=str(e), rate=None, unit_count=0, grade=grade)
    return Submission.model_validate(data)


@cache
def unit_key_for(code: str) -> PrivateKey:
    """A fixed key per unit code (deterministic, so failures reproduce)."""
    import hashlib

    return PrivateKey("ed25519", hashlib.sha256(code.encode()).digest())


@cache
def own_bundle() -> tuple[str, bytes]:
    return build_bundle(seed(), framework(), unit_key(), SIGNED_AT)


@cache
def unit_bundle(code: str, signed_at: str = SIGNED_AT) -> tuple[str, bytes]:
    spec = next(u for u in (*UNITS, TAMPERED) if u[0] == code)
    return build_bundle(unit_submission(*spec), framework(), unit_key_for(code), signed_at)


def earlier_rules_envelope(code: str) -> bytes:
    """The unit's signed .json as jixiao 0.1.0 would have made it, had its rules suggested another
    score for 预算完成率: the evaluation differs from today's recomputation, and nothing was changed
    after signing (the unit's own key signs it)."""
    from jixiao.bundle.archive import prepare_bundle
    from jixiao.bundle.envelope import SUBMISSION_TYPE, sign_payload
    from jixiao.canonical import canonical_json

    spec = next(u for u in UNITS if u[0] == code)
    raw = json.loads(prepare_bundle(unit_submission(*spec), framework(), SIGNED_AT).payload)
    raw["software"]["version"] = "0.1.0"
    assert raw["evaluation"]["indicators"][2]["name"] == "预算完成率"
    raw["evaluation"]["indicators"][2]["suggested"] = "1"
    envelope = sign_payload(SUBMISSION_TYPE, canonical_json(raw), [unit_key_for(code)])
    return envelope.to_json().encode("utf-8")


def tamper_json(zip_bytes: bytes) -> bytes:
    """Change the signed payload in the zip's .json (a budget) without re-signing."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith(".json"):
                doc = json.loads(data)
                payload = base64.b64decode(doc["payload"]).replace(b'"50.00"', b'"5.00"')
                doc["payload"] = base64.b64encode(payload).decode()
                data = json.dumps(doc, ensure_ascii=False, indent=2).encode()
            dst.writestr(info, data)
    return out.getvalue()


@cache
def tampered_bundle() -> tuple[str, bytes]:
    name, data = unit_bundle(TAMPERED[0])
    return name, tamper_json(data)


def write_department(folder: Path, *, tampered: bool = True) -> list[Path]:
    """The department's bundles as files in `folder` (the tampered one too, unless told not)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [own_bundle(), *(unit_bundle(code) for code, *_ in UNITS)]
    if tampered:
        made.append(tampered_bundle())
    paths = []
    for name, data in made:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def supervisor() -> PrivateKey:
    return supervisor_key()
