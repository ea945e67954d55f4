"""`regsho bench store` runs end to end on a small book (figures are for BENCHMARKS.md, not asserted)."""

from __future__ import annotations

from rich.console import Console

from regsho.bench.store import run


def test_the_store_benchmark_runs() -> None:
    console = Console(record=True, width=160)
    figures = run(events=200, console=console)
    assert figures["records"] == 1 + 1 + 200 + 1 + 1 + 10 + 10  # two imports, two headers, events, decisions
    text = console.export_text()
    assert "verify before read, from the verified point" in text and "× full walk" in text
