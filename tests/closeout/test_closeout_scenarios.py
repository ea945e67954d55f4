"""Replay every close-out scenario (the project's own and the shared acceptance files) and check its ``expect``."""

from __future__ import annotations

from pathlib import Path

import pytest

from regsho.adapters.scenario import load
from regsho.app.check import check
from regsho.app.replay import replay

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
SHARED = HERE.parents[1].parent / "shared"  # ../shared relative to the repository root

OWN = sorted(SCENARIOS.glob("*.yaml"))
SHARED_FILES = sorted((SHARED / "scenarios").glob("*.yaml")) if (SHARED / "scenarios").is_dir() else []


def _run(path: Path) -> None:
    sc = load(path)
    assert sc.expect, f"{path.name} has no expect block: a scenario without expectations cannot fail"
    mismatches = check(replay(sc))
    assert not mismatches, "\n".join(str(m) for m in mismatches)


@pytest.mark.parametrize("path", OWN, ids=[p.stem for p in OWN])
def test_own_scenario(path: Path) -> None:
    _run(path)


def test_own_scenarios_exist() -> None:
    assert len(OWN) >= 30


@pytest.mark.skipif(not SHARED_FILES, reason=f"the shared acceptance scenarios are absent ({SHARED / 'scenarios'})")
@pytest.mark.parametrize("path", SHARED_FILES, ids=[p.stem for p in SHARED_FILES])
def test_shared_acceptance_scenario(path: Path) -> None:
    _run(path)
