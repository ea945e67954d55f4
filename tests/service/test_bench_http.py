"""`regsho bench http` runs end to end against a real `regsho serve` process on loopback, briefly (figures are for
BENCHMARKS.md, not asserted): every request answered, the server's processor time per request measured, the
commits' wall and processor time printed."""

from __future__ import annotations

import math
import sys

import pytest
from rich.console import Console

from regsho.bench.http import run


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the server's processor time is read from /proc")
def test_the_http_benchmark_runs() -> None:
    console = Console(record=True, width=200)
    results = run(rate=200, seconds=0.5, connections=4, console=console)
    assert [(s.label, s.target) for s in results] == [("empty", None), ("check", None), ("empty", 200),
                                                        ("check", 200)]
    for s in results:
        assert s.ok > 0 and s.errors == 0 and s.ok == s.sent
        # /proc counts processor time in clock ticks (10 ms): 100 empty requests at 200/s can cost less than one
        # tick, so only the capacity runs (thousands of requests) must show some
        assert not math.isnan(s.cpu_us) and s.cpu_us >= 0
        assert s.target is not None or s.cpu_us > 0
    text = console.export_text()
    assert "server processor time a request" in text and "a commit took" in text
