"""Shared fixtures of the close-out tests: the engine is registered before any replay."""

from __future__ import annotations

import pytest

from regsho.calendars import Calendars, default_calendars


@pytest.fixture(scope="session")
def cal() -> Calendars:
    return default_calendars()
