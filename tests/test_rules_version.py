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
# Each earlier version's fingerprint is its code run on today's set of forms (the set grew with 0.3.0).
# 0.3.0: 达到95% is ≥95%, 日 is 天, ratings (优秀 > 良好 > 合格), 无 is no reason, half a fund row.
RULES = {
    "0.2.0": "98d21e99d653b4a19ac0e58ae207c4802bb8538505304c5b583b6465c82d72f9",
    "0.3.0": "ae91fc5a4aa3c0e4a599837deb7af3f1eaab0b37fb832edfb517386416aa8320",
}
REPO = Path(__file__).resolve().parents[1]


def _forms() -> Iterator[tuple[Submission, Framework]]:
    """The examples, each one-defect variant of the seed, 200 generated forms per framework
    (every kind of mistake `samples.random_submission` makes), and the seed with odd cells."""
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
    yield from _cells(seed)


# How units write a target, an actual and a reason, as the audits met them: every pair is scored
# on one row of the seed, so a change in how any of them is read moves the fingerprint.
TARGETS = ["≥95%", "≤5%", "83家", "0", "≥0%", "<3天", "≤5天", "达到95%", "达95%以上", "95%以上",
           "5%及以下", "完整", "公开", "无重大事故", "优秀", "良好", "合格", "提高", "较高", ""]
ACTUALS = ["100%", "95%", "90%", "≥95%", "<95%", "≤90%", "达到95%", "83家", "83个", "0", "2起",
           "3天", "3日", "6天", "完整", "不完整", "基本完整", "未公开", "优秀", "良好", "不合格",
           "有所提高", "基本完成", ""]
REASONS = ["", "无", "/", "暂无。", "市场原因"]


def _cells(seed: Submission) -> Iterator[tuple[Submission, Framework]]:
    framework = load_framework("jinxian-2021")
    for i, (target, actual) in enumerate((t, a) for t in TARGETS for a in ACTUALS):
        doc = seed.model_dump(mode="json")
        row = doc["indicators"][1]["groups"][0]["items"][2]  # 任务3: its rule is read from the target
        assert row["max_score"] == "2"
        row.update(target=target, actual=actual, score=("2", "1.5", "1")[i % 3],
                   deviation=REASONS[i % len(REASONS)])
        yield Submission.model_validate(doc), framework
    for key in ("total", "fiscal", "other", "basic", "project"):  # half a fund row, either half
        for field in ("budget", "executed"):
            doc = seed.model_dump(mode="json")
            doc["funds"]["total"] = {"budget": "5479.62", "executed": "5479.62", "rate": "100"}
            doc["funds"][key][field] = None
            yield Submission.model_validate(doc), framework


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
