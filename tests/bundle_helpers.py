"""Shared material for the bundle tests: fixed keys, the seed example's bundle, zip helpers.

Keys are fixed (not random) so a failure reproduces; the seed bundle is built once per run.
"""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import PurePosixPath

from jixiao import Framework, Submission, load_example, load_framework
from jixiao.bundle import PrivateKey, Verdict, build_bundle

SIGNED_AT = "2022-03-01T10:00:00+08:00"  # 02:00:00Z, a day in the 2022 reporting season
UNIT_CODE = "360124-KGX"


def seed() -> Submission:
    return load_example("jinxian-2021")


def framework() -> Framework:
    return load_framework("jinxian-2021")


@cache
def unit_key() -> PrivateKey:
    return PrivateKey("ed25519", bytes(range(32)))


@cache
def other_key() -> PrivateKey:
    return PrivateKey("ed25519", bytes(range(100, 132)))


@cache
def supervisor_key() -> PrivateKey:
    return PrivateKey("ed25519", bytes(range(50, 82)))


@cache
def seed_bundle() -> tuple[str, bytes]:
    return build_bundle(seed(), framework(), unit_key(), SIGNED_AT)


def entries(zip_bytes: bytes) -> dict[str, bytes]:
    """The bundle's entries by suffix: {'.json': …, '.xlsx': …, '.html': …}."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {PurePosixPath(n).suffix: archive.read(n) for n in archive.namelist()}


def rezip(files: dict[str, bytes], *, stem: str = "2021-360124-KGX-x-整体支出绩效自评") -> bytes:
    """A zip of {suffix or full name: bytes}; a key starting with '.' gets the stem in front."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{stem}{name}" if name.startswith(".") else name, data)
    return out.getvalue()


def failures(verdict: Verdict) -> list[str]:
    return [c.message for c in verdict.checks if c.status == "fail"]


def text_of(verdict: Verdict) -> str:
    return "\n".join(f"{c.status} {c.code} {c.message}" for c in verdict.checks)


def set_path(doc: dict[str, object], path: str, value: object) -> None:
    """Set a dotted path ('indicators.0.groups.1.items.0.score') in a submission's JSON."""
    *parents, last = path.split(".")
    node: object = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value  # type: ignore[index]
