"""The engines against a brute-force loop on random, edge-heavy small days, to 1e-12."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tests.surveillance.reference import random_day, reference_sums

from regsho.adapters.quotes import ny_day
from regsho.surveillance import metrics as me
from regsho.surveillance.day import DayFrame
from regsho.surveillance.sql import SUMS

DAYS = (dt.date(2012, 6, 21), dt.date(2012, 11, 23))  # a full day and an early close (13:00)


def _inputs(seed: int, day: dt.date) -> tuple[me.Inputs, dict[str, int]]:
    q, n, o, tiers = random_day(seed, day)
    add = [ny_day(pl.col("ts")).alias("day")]
    q = q.with_columns(*add).with_columns(pl.lit(day).alias("day"))
    o = o.with_columns(pl.lit(day).alias("day"))
    return me.Inputs(q, n.with_columns(*add), None, o, tiers), tiers


def _check(got: pl.DataFrame, want: dict[tuple[str, str, int], dict[str, float]]) -> None:
    rows = {(r["symbol"], r["mm_id"], r["w"]): r for r in got.iter_rows(named=True)}
    assert set(rows) == set(want)
    for key, ref in want.items():
        for col in SUMS:
            a, b = rows[key][col], ref.get(col, 0.0)
            assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (key, col, a, b)


@pytest.mark.parametrize("engine", ["numba", "polars", "duckdb"])
@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_brute_force(engine: str, seed: int) -> None:
    day = DAYS[seed % 2]
    inp, tiers = _inputs(seed, day)
    m = me.compute(inp, engine)
    want = reference_sums(DayFrame.of(day), inp.quotes.drop("day"), inp.nbbo.drop("day"),
                          inp.orders.drop("day") if inp.orders is not None else pl.DataFrame(), tiers)
    _check(m.sums, want)


def test_early_close_windows_end_at_one() -> None:
    f = DayFrame.of(dt.date(2012, 11, 23))
    assert len(f.window_starts()) == 7
    assert me.iso(f.window_end(6)).startswith("2012-11-23T13:00:00")
    # the wider Tier 1 band covers the last 25 minutes before the early close
    assert me.iso(f.edge_close).startswith("2012-11-23T12:35:00")


def test_unsorted_input_gives_the_same_metrics() -> None:
    inp, _ = _inputs(3, DAYS[0])
    # equal timestamps keep arrival order, so take inputs without them; then shuffle and reverse
    q = inp.quotes.unique(subset=["symbol", "mm_id", "ts"], keep="first", maintain_order=True)
    n = inp.nbbo.unique(subset=["symbol", "ts"], keep="first", maintain_order=True)
    a = me.compute(me.Inputs(q, n, None, inp.orders, inp.tiers)).sums
    b = me.compute(me.Inputs(q.sample(fraction=1.0, shuffle=True, seed=1), n.reverse(), None, inp.orders,
                             inp.tiers)).sums
    assert a.height > 0
    assert a.equals(b)
