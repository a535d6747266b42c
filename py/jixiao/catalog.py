"""The frameworks and examples shipped inside the package as data files.

Read with importlib.resources so the same call works from a wheel in Pyodide, a zip, or a
source checkout. A framework's sha256 is computed here from its canonical JSON, so an edited
file can never keep its old hash.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .canonical import sha256_hex
from .model.framework import Framework
from .model.submission import Submission


class UnknownName(LookupError):
    """A framework or example name that is not shipped; the message lists what is."""


def _data(folder: str) -> dict[str, Any]:
    files = resources.files("jixiao").joinpath("data", folder)
    found: dict[str, Any] = {}
    for entry in files.iterdir():
        if entry.name.endswith(".json"):
            found[entry.name[: -len(".json")]] = entry
    return found


def framework_ids() -> list[str]:
    return sorted(_data("frameworks"))


def example_names() -> list[str]:
    return sorted(_data("examples"))


def framework_from_data(data: dict[str, Any]) -> Framework:
    """Validate framework data and stamp it with the hash of its validated canonical form."""
    framework = Framework.model_validate({k: v for k, v in data.items() if k != "sha256"})
    digest = sha256_hex(framework.model_dump(mode="json", exclude={"sha256"}))
    return framework.model_copy(update={"sha256": digest})


@cache
def load_framework(framework_id: str) -> Framework:
    entries = _data("frameworks")
    if framework_id not in entries:
        raise UnknownName(f"没有指标体系“{framework_id}”，可用：{'、'.join(sorted(entries))}")
    return framework_from_data(json.loads(entries[framework_id].read_text("utf-8")))


def load_example(name: str) -> Submission:
    entries = _data("examples")
    if name not in entries:
        raise UnknownName(f"没有示例“{name}”，可用：{'、'.join(sorted(entries))}")
    return Submission.model_validate_json(entries[name].read_bytes())


def example_json(name: str) -> str:
    """The example as shipped (its own formatting), for `jixiao example`."""
    entries = _data("examples")
    if name not in entries:
        raise UnknownName(f"没有示例“{name}”，可用：{'、'.join(sorted(entries))}")
    text: str = entries[name].read_text("utf-8")
    return text
