"""The public copy: the unit's submission with private fields removed, re-signed by the publisher.

Why a new envelope: nothing can be deleted from a signed payload without breaking the unit's
signature, and the original must never leave the publisher's hands (an older tool, or a
framework without `private_fields`, may have signed a contact person into it). So the public
copy is redacted again here, re-evaluated with the same framework, and signed by the
publisher's key; its payload says `redacted: true` and names the original (envelope sha256,
payload sha256, the unit's key fingerprints, its signing time), so whoever holds the original
can tie the two together. The zip has the same three files as a unit's bundle, each named
…-公开版, the page and both sheets opening with a line that says so and when the publisher
signed (payload.public_note); it passes `jixiao verify`, which names the publisher's key,
says it is a public copy and checks that line.

What is removed: every field the framework marks private, the contact block whatever the
framework says (the model calls it private), reviewer notes should a payload ever carry them,
and, in every string the unit typed, those removed values (the contact named in the report:
blanking the field alone left the name on the page), what a 联系人 label points to and the
person named there (names.py), and mobile or landline numbers (phones are private by the
domain's rule) in every form phones.py reads, the contact's own number in any spelling. What
was removed is returned as `Private` (the values, a number by its digits) for the site's leak
check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..bundle.archive import bundle_stem, bundle_zip
from ..bundle.envelope import SUBMISSION_TYPE, Envelope, make_signature
from ..bundle.keys import PrivateKey
from ..bundle.payload import (
    CHINA,
    build_payload,
    parse_payload,
    parse_signed_at,
    payload_bytes,
    public_note,
    signed_at_text,
)
from ..catalog import load_framework
from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.submission import Submission
from ..render.report_html import render_report_html
from ..render.xlsx import write_xlsx
from ..rules.evaluate import evaluate
from . import names, phones
from .collect import Accepted

ALWAYS_PRIVATE = ("contact.name", "contact.phone")
# Keys a later review step may add to a submission; never published, wherever they sit.
REVIEW_KEYS = frozenset({"review_note", "review_notes", "reviewer_note", "reviewer_notes"})
PHONE_PATHS = frozenset({"contact.phone"})  # a private value here is a number whatever it looks like
PUBLIC_SUFFIX = "-公开版"  # on the zip and each of its files
NAME_MASK = names.MASK  # the contact's name in the unit's texts
TEXT_MASK = "（已删去）"  # any other private value a framework names
_NAMES_APART = re.compile(r"[、,，;；/\s]+")  # '李明、王芳': each name is masked on its own too
# Personal data no form field holds but a unit may type into its report (QA found both published):
# a resident ID number (18 characters, a birth date at 7–14) and an e-mail address.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                       r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
ID_MASK, EMAIL_MASK = "（身份证号已删去）", "（邮箱已删去）"


@dataclass(frozen=True)
class Private:
    """What one unit's public copy must not hold: removed values, numbers by their digits
    (phones.identities), so the leak check finds them in any spelling, and the persons named
    after a 联系人 label, looked for in the unit's own files only (a shared page may hold the
    same characters in another unit's name or text, which that unit had no reason to mask)."""

    texts: frozenset[str] = field(default_factory=frozenset)
    numbers: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class PublicCopy:
    """What goes on the site: the redacted submission, its evaluation and the signed zip."""

    accepted: Accepted
    submission: Submission
    evaluation: Evaluation
    framework: Framework
    zip_name: str
    zip_bytes: bytes
    publisher_fingerprint: str
    removed: list[str]
    private: Private  # the build checks that no file holds any of it


def _blank(data: dict[str, Any], path: str, removed: list[str]) -> str | None:
    """Blank one dotted path; the value it held, if any."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or last not in node or node[last] in ("", None):
        return None
    value = str(node[last]).strip()
    node[last] = "" if isinstance(node[last], str) else None
    removed.append(path)
    return value


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _scrub(node: Any, path: str, removed: list[str], values: list[tuple[str, str]], numbers: frozenset[str]) -> Any:
    """Drop review keys; in every string below `node`, mask what a 联系人 label points to, the
    private values (longest first) and phone numbers."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in REVIEW_KEYS:
                removed.append(f"{path}{key}")
                continue
            out[key] = _scrub(value, f"{path}{key}.", removed, values, numbers)
        return out
    if isinstance(node, list):
        return [_scrub(value, f"{path}{i}.", removed, values, numbers) for i, value in enumerate(node)]
    if isinstance(node, str):
        masked = EMAIL.sub(EMAIL_MASK, ID_NUMBER.sub(ID_MASK, names.mask_labelled(node)))
        for value, mask in values:
            pattern = names.spaced(value)  # '赵 六' too, as documents set two-character names
            masked = pattern.sub(mask, masked) if pattern is not None else masked.replace(value, mask)
        masked, _ = phones.mask(masked, numbers)
        if masked != node:
            removed.append(path.rstrip("."))
        return masked
    return node


def _texts(path: str, value: str) -> dict[str, str]:
    """A private value and, for several names in one field, each name: value → its mask."""
    mask = NAME_MASK if path == "contact.name" else TEXT_MASK
    parts = [p for p in _NAMES_APART.split(value) if len(p) >= 2]
    return {text: mask for text in [value, *parts] if len(text) >= 2}


def redact_submission(submission: Submission, framework: Framework
                      ) -> tuple[Submission, list[str], Private]:
    """(the public submission, dotted paths of what was removed or masked, what it must not hold).
    Every number is found first, so a number written in full in one paragraph is masked in
    another where only its local part appears."""
    removed: list[str] = []
    texts: dict[str, str] = {}
    numbers: set[str] = set()
    persons: set[str] = set()
    data = submission.model_dump(mode="json")
    for path in dict.fromkeys([*framework.private_fields, *ALWAYS_PRIVATE]):
        value = _blank(data, path, removed)
        if value is None:
            continue
        found = phones.identities(value)
        numbers |= found
        if path not in PHONE_PATHS and not found:
            texts.update(_texts(path, value))
    for text in _strings(data):
        numbers.update(n for _, _, found in phones.find(phones.fold(text)) for n in found)
        persons |= names.persons(text)
        texts.update({found: ID_MASK for found in ID_NUMBER.findall(text)})
        texts.update({found: EMAIL_MASK for found in EMAIL.findall(text)})
    values = sorted({**dict.fromkeys(persons, NAME_MASK), **texts}.items(), key=lambda item: -len(item[0]))
    data = _scrub(data, "", removed, values, frozenset(numbers))
    return Submission.model_validate(data), removed, Private(frozenset(texts), frozenset(numbers),
                                                             frozenset(persons - texts.keys()))


def public_copy(accepted: Accepted, key: PrivateKey, signed_at: str | datetime) -> PublicCopy:
    """Redact, re-evaluate and sign one verified original with the publisher's key."""
    content = accepted.content
    framework = load_framework(content.framework.id)  # verification proved it is the same one
    submission, removed, private = redact_submission(content.submission, framework)
    evaluation = evaluate(submission, framework)
    when = signed_at_text(signed_at)
    payload = build_payload(submission, evaluation, framework, when)
    payload["redacted"] = True
    payload["original"] = {
        "envelope_sha256": accepted.envelope_sha256,
        "payload_sha256": accepted.payload_sha256,
        "signers": [s.public_key.fingerprint_hex for s in accepted.envelope.valid_signatures()],
        "signed_at": content.signed_at,
    }
    body = payload_bytes(payload)
    name, data = _public_zip(submission, evaluation, framework, when, body, key)
    return PublicCopy(accepted, submission, evaluation, framework, name, data, key.public.fingerprint,
                      removed, private)


def _public_zip(submission: Submission, evaluation: Evaluation, framework: Framework, when: str, body: bytes,
                key: PrivateKey) -> tuple[str, bytes]:
    """The three files of a unit's bundle (finish_bundle's steps), each named as the public copy
    and its page and sheets opening with the public line, so a file taken out of the zip still
    says what it is; `jixiao verify` rebuilds that line from the payload."""
    envelope = Envelope(SUBMISSION_TYPE, body, (make_signature(key, SUBMISSION_TYPE, body),))
    note = public_note(parse_payload(body))
    stem = bundle_stem(submission) + PUBLIC_SUFFIX
    xlsx = write_xlsx(submission, evaluation, envelope.to_json(indent=None), framework=framework,
                      dated=parse_signed_at(when).astimezone(CHINA), public=note)
    html = render_report_html(submission, evaluation, framework=framework, signed_at=when, public=note)
    files = [(".json", (envelope.to_json() + "\n").encode("utf-8")), (".xlsx", xlsx), (".html", html.encode("utf-8"))]
    return f"{stem}.zip", bundle_zip(stem, files, when)
