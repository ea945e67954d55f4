"""The numba engine against the Polars engine on synthetic days of every profile (orders, trades, Tier 2 and
sub-dollar symbols, an early close), and the column-wise review against the row-by-row one: the same findings and
verdicts, word for word."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.surveillance.reference import reference_review
from tests.surveillance.test_metrics_reference import _inputs

from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy


def _synthetic(seed: int, day: dt.date) -> me.Inputs:
    nb = sy.synthetic_nbbo(day, 3, 200, seed=seed)
    # one symbol below a dollar: the Tier 2 sub-dollar band applies to it
    nb = nb.with_columns(pl.when(pl.col("symbol") == "S002").then(pl.col(c) / 150).otherwise(pl.col(c)).alias(c)
                         for c in ("bid", "ask"))
    s = sy.generate(nb, tuple(sy.Maker(f"M{i}", p) for i, p in enumerate(sy.PROFILES)), seed=seed)
    return me.Inputs(sy.with_day(s.quotes), nb, sy.with_day(s.trades), sy.with_day(s.orders),
                     {"S000": 1, "S001": 2, "S002": 2})


@pytest.mark.parametrize(("seed", "day"), [(1, dt.date(2012, 6, 21)), (2, dt.date(2012, 11, 23)),
                                           (3, dt.date(2012, 3, 12))])
def test_numba_agrees_with_polars_and_review_with_the_row_loop(seed: int, day: dt.date) -> None:
    inp = _synthetic(seed, day)
    a = me.compute(inp, "polars")
    b = me.compute(inp, "numba")
    assert a.sums.height > 0
    assert_frame_equal(a.sums, b.sums.select(a.sums.columns), rel_tol=1e-12, abs_tol=1e-9)
    rv = fi.review(b)
    assert rv == reference_review(b)
    assert {f.code for f in rv.findings} >= set(sy.EXPECTED_FINDING.values())


@pytest.mark.parametrize("seed", range(6))
def test_review_on_edge_heavy_days_matches_the_row_loop(seed: int) -> None:
    inp, _ = _inputs(seed, (dt.date(2012, 6, 21), dt.date(2012, 11, 23))[seed % 2])
    m = me.compute(inp)
    assert fi.review(m) == reference_review(m)


def test_ny_days_matches_the_time_zone_conversion() -> None:
    import random

    from regsho.adapters.quotes import ny_day, ny_days

    rnd = random.Random(4)
    hour = 3_600_000_000_000
    # every DST change from 2007 to 2013 (2 a.m. local on a Sunday of the weeks below): each UTC hour of those
    # weeks, and a nanosecond either side of it
    marks = [int(dt.datetime(y, m, d, tzinfo=dt.UTC).timestamp()) * 10**9 + h * hour
             for y in range(2007, 2014) for m, days in ((3, range(8, 15)), (11, range(1, 8))) for d in days
             for h in range(0, 24)]
    ts = [t + e for t in marks for e in (-1, 0, 1)] + [rnd.randint(1_167_609_600, 1_388_534_400) * 10**9
                                                        + rnd.randint(0, 10**9 - 1) for _ in range(5000)]
    s = pl.Series("ts", ts, dtype=pl.Int64)
    want = pl.select(ny_day(pl.lit(s))).to_series()
    assert ny_days(s).to_list() == want.to_list()
    span = pl.Series("ts", [-5 * hour, 3, 10**18], dtype=pl.Int64)  # before 1970 and a wide span: row by row
    assert ny_days(span).to_list() == pl.select(ny_day(pl.lit(span))).to_series().to_list()


def test_numba_checks_the_order_and_sorts_when_needed() -> None:
    inp = _synthetic(4, dt.date(2012, 6, 21))
    q = inp.quotes.unique(subset=["symbol", "mm_id", "ts"], keep="first").sort("symbol", "mm_id", "ts")
    n = inp.nbbo.unique(subset=["symbol", "ts"], keep="first").sort("symbol", "ts")
    want = me.compute(me.Inputs(q, n, None, inp.orders, inp.tiers), "numba").sums
    assert want.height > 0
    for qv, nv in ((q.sort("symbol", "ts"), n), (q.sort("symbol", "mm_id", "ts", descending=[False, False, True]),
                                                 n.sort("ts")), (q.sort("mm_id", "symbol", "ts"), n.reverse())):
        got = me.compute(me.Inputs(qv, nv, None, inp.orders, inp.tiers), "numba").sums
        assert_frame_equal(got, want)
