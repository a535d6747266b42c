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


# Session fixtures for the browser tests (a built site, a server, Chromium); defined once here
# so every test module shares one build.
from browser_fixtures import *  # noqa: E402, F403
