"""The engine snapshot (build/snapshot.py): the page starts its engine from it, scores as CPython
does, falls back to starting Python when it cannot be used, is the same bytes on every build,
and does not make its visitors share a random state."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from browser_fixtures import load_build_module, logged_page, poll_until
from jixiao import load_example
from jixiao.browser import run
from pyodide_harness import NODE_RUNNER, node_or_skip

SNAPSHOT = "pyodide/engine.snapshot.gz"


def _in_restored_engine(site: Path, script: str, tmp_path: Path, *, empty_stdlib: bool = False) -> str:
    """Run ``script`` in a Pyodide restored from the built site's snapshot (under Node); its stdout.
    With ``empty_stdlib`` it is restored as the worker restores it: the start-up zip written in,
    and the site's empty stand-in for the standard library."""
    node = node_or_skip()
    path = tmp_path / "script.py"
    path.write_text(script, encoding="utf-8")
    cmd = [node, str(NODE_RUNNER), "--pyodide", str(site / "pyodide"), "--snapshot", str(site / SNAPSHOT)]
    if empty_stdlib:
        cmd += ["--zip", "jixiao-startup.zip", "--stdlib", str(site / "pyodide" / "stdlib-placeholder.zip")]
    cmd.append(str(path))
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout.decode("utf-8")


@pytest.mark.pyodide
def test_the_restored_engine_scores_the_seed_as_cpython_does(built_site: Path, tmp_path: Path) -> None:
    seed = load_example("jinxian-2021").model_dump_json()
    script = f"from jixiao.browser import run\nprint(json.dumps(run({seed!r}, 'jinxian-2021')))"
    out = _in_restored_engine(built_site, "import json\n" + script, tmp_path)
    assert json.loads(out) == run(seed, "jinxian-2021")


@pytest.mark.pyodide
def test_the_engine_scores_before_its_files_arrive(built_site: Path, tmp_path: Path) -> None:
    """The worker scores while the standard library is still downloading (an empty zip stands in
    for it). Every evaluation path must then need no standard module the snapshot has not
    imported: a unit's own draft (generated forms), unreadable values, an unknown framework, another
    framework's draft, bad JSON. (An unknown framework once failed here: reading the package's list
    of frameworks needed the start-up zip, which the worker then wrote only after the first score.)"""
    from jixiao import load_framework
    from jixiao.samples import random_submission

    framework = load_framework("jinxian-2021")
    seed = load_example("jinxian-2021").model_dump(mode="json")
    broken = json.loads(json.dumps(seed))
    broken["indicators"][0]["groups"][0]["items"][0]["score"] = "两分"
    broken["funds"]["total"]["budget"] = "-5"
    broken["subordinate_units"] = "一个"
    unknown = {**seed, "framework_id": "no-such"}
    other = {**seed, "framework_id": "national-2020"}
    texts = [json.dumps(d, ensure_ascii=False) for d in (seed, broken, unknown, other)]
    texts += [random_submission(n, framework).model_dump_json() for n in range(12)]
    texts += ["{", "[]", '{"year": "二〇二一"}']
    script = (
        "import json, sys\nfrom jixiao.browser import run\n"
        f"texts = json.loads({json.dumps(texts, ensure_ascii=False)!r})\n"
        "print(json.dumps([run(t, 'jinxian-2021')[:2] for t in texts], ensure_ascii=False))\n"
    )
    out = json.loads(_in_restored_engine(built_site, script, tmp_path, empty_stdlib=True))
    assert out == [run(t, "jinxian-2021")[:2] for t in texts]
    assert [status for status, _ in out].count("ok") >= len(texts) - 3


@pytest.mark.pyodide
def test_visitors_do_not_share_the_snapshot_random_state(built_site: Path, tmp_path: Path) -> None:
    """The snapshot froze `random` as it was at build time: without `after_restore` every visitor
    would draw the same numbers; with it (as the worker calls it), each draws its own."""
    frozen = "import random\nprint(random.random())"
    assert _in_restored_engine(built_site, frozen, tmp_path) == _in_restored_engine(built_site, frozen, tmp_path)
    fresh = "import os, random\nfrom jixiao.browser import after_restore\nafter_restore()\n" \
            "print(random.random(), os.urandom(16).hex())"
    first, second = (_in_restored_engine(built_site, fresh, tmp_path).split() for _ in range(2))
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.pyodide
def test_the_snapshot_is_the_same_bytes_on_every_build(built_site: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever node the machine has: here only Debian 12's node 18 (which stopped at the snapshot)
    is on PATH, and the build runs the pinned Node (fetch.node_command, tests/test_build_node.py)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").write_text("#!/bin/sh\necho v18.20.4\n", encoding="utf-8")
    (bin_dir / "node").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    snapshot = load_build_module("snapshot")
    folder = tmp_path / "pyodide"
    folder.mkdir()
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json",
                 "jixiao-startup.zip"):
        shutil.copy(built_site / "pyodide" / name, folder / name)
    made = snapshot.make_snapshot(folder, "jixiao-startup.zip", "jinxian-2021", node=node_or_skip())
    assert made.path.read_bytes() == (built_site / SNAPSHOT).read_bytes()
    assert made.memory > made.size > 1_000_000 and made.modules > 100


def _engine_phases(page: Any, base: str) -> dict[str, Any]:
    page.goto(base + "/fill.html")
    poll_until(page, "() => document.querySelector('#jixiao-form').dataset.engineEvaluatedAt", what="engine's score")
    phases = page.evaluate("() => document.querySelector('#jixiao-form').dataset.enginePhases")
    return json.loads(phases)  # type: ignore[no-any-return]


@pytest.mark.browser
def test_the_page_starts_its_engine_from_the_snapshot(browser: Any, site_server: str) -> None:
    with logged_page(browser, site_server) as page:
        assert _engine_phases(page, site_server).get("snapshot") is True
        assert page.locator('[data-testid="findings"] li').count() > 0  # the blank form's findings
        assert any(url.endswith(SNAPSHOT) for url in page.requests)


@pytest.mark.browser
def test_an_unusable_snapshot_falls_back_to_starting_python(browser: Any, site_server: str) -> None:
    """A snapshot that does not restore (here: not gzip at all) costs the time, not the engine."""
    with logged_page(browser, site_server, service_workers="block") as page:
        page.route(f"**/{SNAPSHOT}", lambda route: route.fulfill(status=200, body=b"not a snapshot",
                                                                 content_type="application/gzip"))
        phases = _engine_phases(page, site_server)
        assert "snapshot" not in phases
        assert page.locator('[data-testid="findings"] li').count() > 0
        assert "启动失败" not in page.locator("#jx-status").inner_text()
