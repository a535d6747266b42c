"""jixiao's version number names its scoring rules.

A bundle records the version that signed it. A signed evaluation that `evaluate` no longer gives
fails verification when this same version signed it (changed after signing), and is a warning,
counted as recomputed, when another version did (`bundle.verify.recomputed_otherwise`). That is
only true if the version moves whenever the rules' answers move, messages included: otherwise a
rules change turns every earlier bundle into a "changed after signing" failure. So the answers to
a fixed set of forms are fingerprinted here, and the fingerprint is tied to the version.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from pathlib import Path

from jixiao import __version__
from jixiao.catalog import example_names, framework_ids, load_example, load_framework
from jixiao.model.framework import Framework
from jixiao.model.submission import Submission
from jixiao.rules.evaluate import evaluate
from jixiao.samples import random_submission
from test_evaluate import VARIANTS

# The fingerprint of the rules' answers for each version that shipped them. Change the rules'
# answers and this test fails: raise the version (pyproject.toml and py/jixiao/__init__.py) and
# add the new version with the fingerprint the failure prints.
RULES = {
    "0.2.0": "6c4cdab4ce0d2f2dcd0ff27a42c4ec14d3a34926748f6576580fbe2b99c46301",
}
REPO = Path(__file__).resolve().parents[1]


def _forms() -> Iterator[tuple[Submission, Framework]]:
    """The examples, each one-defect variant of the seed, and 200 generated forms per framework
    (every kind of mistake `samples.random_submission` makes)."""
    for name in example_names():
        example = load_example(name)
        yield example, load_framework(example.framework_id)
    seed = load_example("jinxian-2021")
    for _, mutate, _, _ in VARIANTS:
        doc = seed.model_dump(mode="json")
        mutate(doc)
        yield Submission.model_validate(doc), load_framework("jinxian-2021")
    for framework_id in framework_ids():
        framework = load_framework(framework_id)
        for n in range(200):
            yield random_submission(n, framework), framework


def fingerprint() -> str:
    digest = hashlib.sha256()
    for submission, framework in _forms():
        digest.update(evaluate(submission, framework).model_dump_canonical().encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def test_the_rules_answers_belong_to_this_version() -> None:
    now = fingerprint()
    assert RULES.get(__version__) == now, (
        f"评分规则的结果与 jixiao {__version__} 记录的不同（或此版本尚未记录）。以前签名的材料按签名时的版本复算，"
        f"规则变了而版本号不变，它们会被当成签名后改动过。请提升版本号，并在 RULES 中加入 \"新版本\": \"{now}\"")


def test_the_package_and_the_project_say_the_same_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["version"] == __version__
