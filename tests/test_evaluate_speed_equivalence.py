"""The shortcuts taken to make `evaluate` cheaper must answer exactly what the plain code did.

Each test sets a shortcut beside the straightforward code it replaced (kept here as the
reference) and compares them on many inputs, edge cases included.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from decimal import Decimal

import pytest

from jixiao import evaluate, load_example, load_framework
from jixiao.model import numbers
from jixiao.model.measures import _PREFIXES, _SUFFIXES, REACH, normalize_text, parse_measure
from jixiao.model.submission import Submission
from jixiao.rules import index as index_module
from jixiao.rules import indicators
from jixiao.samples import random_submission


def _result(fn, value):  # type: ignore[no-untyped-def]
    try:
        return fn(value)
    except Exception as exc:  # the type of failure is part of the answer
        return type(exc)


def test_plain_prints_as_the_renderer_does() -> None:
    """`plain` returns `str(value)` when that is already plain; `_plain` is the definition."""
    rng = random.Random(3)
    texts = ["NaN", "-NaN", "sNaN", "NaN12", "Infinity", "-Infinity", "-0", "0", "0.0", "-0.00",
             "0E-7", "0E+3", "1E+1", "1.00", "100", "1" * 30, "1" * 21, "1" * 20, "-" + "9" * 19,
             "1" * 19 + ".5", "0.000001", "0.0000001"]
    for _ in range(20000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 32)))
        sign = "-" if rng.random() < 0.3 else ""
        texts.append(f"{sign}{digits}E{rng.randint(-12, 6):+d}")
        texts.append(f"{sign}{digits[:rng.randint(1, 8)]}.{digits[:rng.randint(0, 6)]}")
    for text in texts:
        value = Decimal(text)
        assert _result(numbers.plain, value) == _result(numbers._plain, value), text


def test_normalize_drops_exactly_what_the_regex_dropped() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.match(r"\s", chr(c))]
    assert spaces == [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    rng = random.Random(5)
    for _ in range(5000):
        text = "".join(rng.choice([*spaces, "a", "１", "，", ",", "≥", "完成"])
                       for _ in range(rng.randint(0, 10)))
        folded = unicodedata.normalize("NFKC", text)
        assert normalize_text(text) == re.sub(r"\s+", "", folded).replace(",", "")


def _reference_parse(text: str) -> tuple[str | None, Decimal, str] | None:
    """The parse as it was written: a loop of `startswith` over the comparator words."""
    body = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace(",", "")
    if not body:
        return None
    comparator = None
    for word, comp in _PREFIXES:
        if body.startswith(word):
            comparator, body = comp, body[len(word):]
            break
    for word, comp in sorted(_SUFFIXES, key=lambda pair: -len(pair[0])):
        if body.endswith(word):
            comparator = comp if comparator in (None, REACH) else comparator  # 达到95%以上 is ≥95%
            body = body[: -len(word)]
            break
    match = re.match(r"^(?P<num>[+-]?(\d+(\.\d+)?|\.\d+))(?P<unit>[^\d.+-]{0,8})$", body)
    unit = None if not match else {"日": "天"}.get(match.group("unit"), match.group("unit"))
    return None if not match else (comparator, Decimal(match.group("num")), unit)


def test_parse_measure_matches_the_loop_it_replaced() -> None:
    words = [w for w, _ in _PREFIXES] + [w for w, _ in _SUFFIXES] + [
        "１", "０", "．", "％", "%", "家", "万元", " ", "\n", "\u3000", ",", "1", "2", "0", ".",
        "+", "-", "5", "完成", "未", "e", "日", "天"]
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        measure = parse_measure.__wrapped__(text)
        got = None if measure is None else (measure.comparator, measure.value, measure.unit)
        want = _reference_parse(text)
        assert got == want and (got is None or want is None or str(got[1]) == str(want[1])), text


def test_matches_as_written_steps() -> None:
    assert [s.as_tuple() for s in numbers._STEPS] == [
        Decimal(1).scaleb(-places).as_tuple() for places in range(3)]


def test_row_facts_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_MAX_ROWS", 8)
    index = index_module._build(load_framework("jinxian-2021"))  # a fresh one, empty
    for n in range(40):
        index.row_facts("产出指标", "数量指标", f"自设指标{n}（2分）", bool(n % 2))
    assert len(index.rows) <= 8


@pytest.mark.parametrize("framework_id", ["jinxian-2021", "national-2020"])
def test_results_do_not_depend_on_what_was_evaluated_before(framework_id: str) -> None:
    """The caches hold only what the values fully determine: an evaluation dumps the same
    bytes before and after many others (under both frameworks) filled them."""
    fw = load_framework(framework_id)
    other = load_framework("national-2020" if framework_id == "jinxian-2021" else "jinxian-2021")
    probes = [random_submission(seed, fw) for seed in range(5)] + [load_example("jinxian-2021")]
    before = [evaluate(sub, fw).model_dump_json() for sub in probes]
    for seed in range(100, 160):
        evaluate(random_submission(seed, fw), fw)
        evaluate(random_submission(seed, other), other)
    assert [evaluate(sub, fw).model_dump_json() for sub in probes] == before


def test_findings_fill_their_templates_as_format_did() -> None:
    """`finding` fills a template with `format_map(values)`; `format(**values)` is the definition."""
    from string import Formatter

    from jixiao.rules.findings import REGISTRY, finding

    for code, entry in REGISTRY.items():
        names = [field for _, field, _, _ in Formatter().parse(entry.template) if field]
        values = {name: f"「{name}」{{0}}%" for name in names}
        made = finding(code, "a.b", **values)
        assert (made.code, made.message, made.path, made.severity) == (
            code, entry.template.format(**values), "a.b", entry.severity)
        if names:
            with pytest.raises(KeyError):
                finding(code, "a.b")


def _respelled(sub: Submission, rng: random.Random) -> Submission:
    """The same submission with some numbers spelt otherwise (2 → 2.0, 0 → -0): equal values."""
    data = sub.model_dump(mode="json")
    for level in data["indicators"]:
        for group in level["groups"]:
            for item in group["items"]:
                for name in ("max_score", "score"):
                    if item[name] is not None and rng.random() < 0.5:
                        value = Decimal(item[name])
                        item[name] = str(value.copy_negate() if value == 0 else value.quantize(Decimal("0.1")))
    return Submission.model_validate(data)


@pytest.mark.parametrize("framework_id", ["jinxian-2021", "national-2020"])
def test_remembered_rows_answer_as_rows_checked_afresh(framework_id: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A framework row's checks are remembered across submissions; what is remembered must be
    what checking the row again gives, down to how its numbers are spelt (0 and -0 are equal
    Decimals that print differently)."""
    fw = load_framework(framework_id)
    rng = random.Random(11)
    subs = []
    for seed in range(150):
        sub = random_submission(seed, fw)
        subs += [sub, _respelled(sub, rng)]
    remembered = [evaluate(sub, fw).model_dump_json() for sub in subs]
    assert any('"score":"-0"' in dump for dump in remembered)  # a respelt zero reached a result
    monkeypatch.setattr(indicators, "_check_known_item", indicators._check_item)
    assert [evaluate(sub, fw).model_dump_json() for sub in subs] == remembered


def test_remembered_rows_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indicators, "MAX_CHECKED", 8)
    monkeypatch.setattr(index_module, "_INDEX", {})  # a fresh index, nothing remembered yet
    fw = load_framework("jinxian-2021")
    index = index_module.framework_index(fw)
    for seed in range(20):
        evaluate(random_submission(seed, fw), fw)
        assert len(index.checked) <= 8
