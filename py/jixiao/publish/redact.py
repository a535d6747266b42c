"""The public copy: the unit's submission with private fields removed, re-signed by the publisher.

Why a new envelope: nothing can be deleted from a signed payload without breaking the unit's
signature, and the original must never leave the publisher's hands (an older tool, or a
framework without `private_fields`, may have signed a contact person into it). So the public
copy is redacted again here, re-evaluated with the same framework, and signed by the
publisher's key; its payload says `redacted: true` and names the original (envelope sha256,
payload sha256, the unit's key fingerprints, its signing time), so whoever holds the original
can tie the two together. The zip has the same three files as a unit's bundle and passes
`jixiao verify`, which names the publisher's key and says it is a public copy.

What is removed: every field the framework marks private, the contact block whatever the
framework says (the model calls it private), reviewer notes should a payload ever carry them,
and mobile or landline numbers typed into free text (phones are private by the domain's rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..bundle.archive import Prepared, finish_bundle
from ..bundle.envelope import SUBMISSION_TYPE, make_signature
from ..bundle.keys import PrivateKey
from ..bundle.payload import build_payload, payload_bytes, signed_at_text
from ..catalog import load_framework
from ..model.evaluation import Evaluation
from ..model.framework import Framework
from ..model.submission import Submission
from ..rules.evaluate import evaluate
from .collect import Accepted

ALWAYS_PRIVATE = ("contact.name", "contact.phone")
# Keys a later review step may add to a submission; never published, wherever they sit.
REVIEW_KEYS = frozenset({"review_note", "review_notes", "reviewer_note", "reviewer_notes"})
PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])"
                   r"|(?<![0-9])0[1-9][0-9]{1,2}[- ][0-9]{7,8}(?![0-9])")
PHONE_MASK = "（电话已删去）"


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
    secrets: list[str]  # the removed values themselves: the build checks no file holds them


def _blank(data: dict[str, Any], path: str, removed: list[str], secrets: list[str]) -> None:
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and last in node and node[last] not in ("", None):
        secrets.append(str(node[last]).strip())
        node[last] = "" if isinstance(node[last], str) else None
        removed.append(path)


def _scrub(node: Any, path: str, removed: list[str], secrets: list[str]) -> Any:
    """Drop review keys and mask phone numbers in every string below `node`."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in REVIEW_KEYS:
                removed.append(f"{path}{key}")
                continue
            out[key] = _scrub(value, f"{path}{key}.", removed, secrets)
        return out
    if isinstance(node, list):
        return [_scrub(value, f"{path}{i}.", removed, secrets) for i, value in enumerate(node)]
    if isinstance(node, str) and PHONE.search(node):
        secrets += [m.group(0) for m in PHONE.finditer(node)]
        removed.append(path.rstrip("."))
        return PHONE.sub(PHONE_MASK, node)
    return node


def redact_submission(submission: Submission, framework: Framework
                      ) -> tuple[Submission, list[str], list[str]]:
    """(the public submission, dotted paths of what was removed or masked, the removed values)."""
    removed: list[str] = []
    secrets: list[str] = []
    data = submission.model_dump(mode="json")
    for path in dict.fromkeys([*framework.private_fields, *ALWAYS_PRIVATE]):
        _blank(data, path, removed, secrets)
    data = _scrub(data, "", removed, secrets)
    return Submission.model_validate(data), removed, [s for s in dict.fromkeys(secrets) if len(s) >= 2]


def public_copy(accepted: Accepted, key: PrivateKey, signed_at: str | datetime) -> PublicCopy:
    """Redact, re-evaluate and sign one verified original with the publisher's key."""
    content = accepted.content
    framework = load_framework(content.framework.id)  # verification proved it is the same one
    submission, removed, secrets = redact_submission(content.submission, framework)
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
    prepared = Prepared(submission, evaluation, framework, when, body)
    name, data = finish_bundle(prepared, [make_signature(key, SUBMISSION_TYPE, body)])
    return PublicCopy(accepted, submission, evaluation, framework, name.replace(".zip", "-公开版.zip"), data,
                      key.public.fingerprint, removed, secrets)
