"""Inputs for the publish tests: the seed bundle, a hostile unit, a tampered and an older bundle.

The hostile unit's bundle is signed the way an older or foreign tool might sign it: with the
contact person and phone still inside the payload, so the publisher's redaction is what keeps
them off the site. Its texts try every trick that would run a script (each payload sets
`window.__pwned` or opens an alert) or be read as Markdown or as a template.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from jixiao import Submission, load_example, load_framework
from jixiao.bundle import PrivateKey, build_bundle
from jixiao.bundle.archive import Prepared, finish_bundle
from jixiao.bundle.envelope import SUBMISSION_TYPE, make_signature
from jixiao.bundle.payload import build_payload, payload_bytes, signed_at_text
from jixiao.rules.evaluate import evaluate

CONTACT_NAME, CONTACT_PHONE = "张三", "13800000000"
TEXT_PHONE = "13912345678"  # typed into a report paragraph: masked as a phone number
# ...and as offices write them (an audit found these published): each number's own digits
TEXT_PHONES = {"（0791）85621234": "85621234", "１３８００１３８０００": "13800138000", "0791—85621235": "85621235",
               "0791 8562 1239": "85621239"}
HOSTILE = [
    "<script>alert(1)</script>",
    "<script>window.__pwned = 'script'</script>",
    '"><img src=x onerror=alert(1)>',
    '"><img src=x onerror="window.__pwned=\'img\'">',
    "{{ 7*7 }}",
    "{% raw %}",
    "[x](javascript:alert(1))",
    "[点我](javascript:window.__pwned='link')",
    "![图](x\" onerror=\"window.__pwned='mdimg')",
    "<a href=\"javascript:window.__pwned='a'\">点我</a>",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
]
HOSTILE_NAME = "<b>恶意</b>单位\"'><script>window.__pwned='name'</script>"
HOSTILE_DEPT = "\"><img src=x onerror=\"window.__pwned='dept'\">测试主管部门"
HOSTILE_CODE = "../../X1<i>"
SIGNED_AT = "2022-03-01T10:00:00+08:00"


def seed_with_contact() -> Submission:
    seed = load_example("jinxian-2021")
    return seed.model_copy(update={"contact": seed.contact.model_copy(
        update={"name": CONTACT_NAME, "phone": CONTACT_PHONE})})


def hostile_submission() -> Submission:
    data = seed_with_contact().model_dump(mode="json")
    text = "\n".join(HOSTILE)
    data.update(unit_name=HOSTILE_NAME, unit_code=HOSTILE_CODE, department=HOSTILE_DEPT, unit_kind="所属单位")
    data["goal"] = {"target": text, "completion": "第一段\n\n" + text}
    sections = data["report"]["sections"]
    for index, section in enumerate(sections):
        sections[section] = HOSTILE[index % len(HOSTILE)] + "\n" + sections[section]
    sections["overview.duties"] += f"\n联系人：{CONTACT_NAME}，联系电话：{TEXT_PHONE}；办公室：{'、'.join(TEXT_PHONES)}"
    item = data["indicators"][0]["groups"][0]["items"][0]
    item["deviation"] = text
    item["actual"] = HOSTILE[2]
    return Submission.model_validate(data)


def unredacted_bundle(submission: Submission, key: PrivateKey, signed_at: str = SIGNED_AT) -> tuple[str, bytes]:
    """A bundle whose signed payload still holds the private fields (no `redact` before signing)."""
    framework = load_framework(submission.framework_id)
    evaluation = evaluate(submission, framework)
    when = signed_at_text(signed_at)
    body = payload_bytes(build_payload(submission, evaluation, framework, when))
    prepared = Prepared(submission, evaluation, framework, when, body)
    return finish_bundle(prepared, [make_signature(key, SUBMISSION_TYPE, body)])


def tampered(data: bytes) -> bytes:
    """The same zip with one digit of the signed JSON's payload changed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith(".json"):
                content = content.replace(b'"payload": "ey', b'"payload": "eX', 1)
            target.writestr(info, content)
    return out.getvalue()


def write_inputs(folder: Path, unit: PrivateKey, hostile_unit: PrivateKey) -> dict[str, Path]:
    """seed (latest), seed (older, superseded), hostile, tampered: the bundles to publish."""
    folder.mkdir(parents=True, exist_ok=True)
    framework = load_framework("jinxian-2021")
    seed = seed_with_contact()
    paths: dict[str, Path] = {}
    name, data = build_bundle(seed, framework, unit, SIGNED_AT)
    paths["seed"] = folder / name
    _, older = build_bundle(seed, framework, unit, "2022-02-01T10:00:00+08:00")
    paths["older"] = folder / "older" / "seed-older.zip"
    name, bad = unredacted_bundle(hostile_submission(), hostile_unit)
    paths["hostile"] = folder / name
    paths["tampered"] = folder / "tampered.zip"
    paths["older"].parent.mkdir()
    for key, content in (("seed", data), ("older", older), ("hostile", bad), ("tampered", tampered(data))):
        paths[key].write_bytes(content)
    return paths


def all_bytes(root: Path) -> list[tuple[str, bytes]]:
    """Every file under `root`, and every member of every zip (xlsx too), recursively."""
    out: list[tuple[str, bytes]] = []

    def walk(name: str, data: bytes) -> None:
        out.append((name, data))
        if data.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    walk(f"{name}!{member}", archive.read(member))

    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        walk(str(path.relative_to(root)), path.read_bytes())
    return out
