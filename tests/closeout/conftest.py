"""Shared fixtures of the close-out tests: the engine is registered before any replay."""

from __future__ import annotations

import pytest

import regsho.engine.closeout  # noqa: F401  (registers the close-out engine with the replay)
from regsho.calendars import Calendars, default_calendars


@pytest.fixture(scope="session")
def cal() -> Calendars:
    return default_calendars()
