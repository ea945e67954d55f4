"""marketdata imports only core, law and calendars (and itself); the market-data adapters never reach the engine,
the store, the app or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "regsho"
ADAPTERS = ("errors", "textfile", "sec_fails", "sec_fails_spark", "sro_lists", "shorthalts", "shortable", "shares",
            "cns", "lists")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("regsho"):
            out.add(node.module.split(".")[1] if "." in node.module else "")
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("regsho.")}
    return out


@pytest.mark.parametrize("path", sorted((SRC / "marketdata").glob("*.py")), ids=lambda p: p.name)
def test_marketdata_imports(path: Path) -> None:
    assert _imports(path) <= {"core", "law", "calendars", "marketdata"}


@pytest.mark.parametrize("name", ADAPTERS)
def test_market_data_adapters_imports(name: str) -> None:
    assert _imports(SRC / "adapters" / f"{name}.py") <= {"core", "law", "calendars", "adapters"}
