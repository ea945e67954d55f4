"""The bundled example scenarios (used by `regsho demo`) replay and meet their own expectations."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

from regsho.adapters.scenario import load
from regsho.app.check import check
from regsho.app.replay import replay

FILES = sorted(EXAMPLES.glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_meets_its_expectations(path: Path) -> None:
    sc = load(path)
    assert sc.expect, f"{path.name} has no expect block"
    result = replay(sc)
    assert check(result) == []
