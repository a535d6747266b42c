"""Shared fixtures: the seed example and the shipped frameworks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from jixiao import Framework, Submission, load_example, load_framework

# Generation speed varies on a shared 2-core machine: no wall-clock deadlines in tests.
settings.register_profile("jixiao", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jixiao")


@pytest.fixture
def seed() -> Submission:
    """The real 2021 self-evaluation of 进贤县科技和工业信息化局, defects included."""
    return load_example("jinxian-2021")


@pytest.fixture
def jinxian() -> Framework:
    return load_framework("jinxian-2021")


@pytest.fixture
def national() -> Framework:
    return load_framework("national-2020")


@pytest.fixture(params=["orjson", "json"])
def json_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with orjson (the server, `cli` extra) and with the standard library (the
    browser, a bare install): consolidation's reader (consolidate/fastjson.py) has both paths."""
    from jixiao.consolidate import fastjson

    if request.param == "json":
        monkeypatch.setattr(fastjson, "orjson", None)
    elif fastjson.orjson is None:
        pytest.skip("orjson is not installed")
    return str(request.param)


# Session fixtures for the browser tests (a built site, a server, Chromium); defined once here
# so every test module shares one build.
from browser_fixtures import *  # noqa: E402, F403
