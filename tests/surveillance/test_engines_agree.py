"""The numba engine against the Polars engine on synthetic days of every profile (orders, trades, Tier 2 and
sub-dollar symbols, an early close), and the column-wise review against the row-by-row one: the same findings and
verdicts, word for word."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def test_quotes_read_from_parquet_carry_codes_and_give_the_same_sums(tmp_path: Path) -> None:
    from regsho.adapters.quotes import CODES, read_quotes

    inp = _synthetic(5, dt.date(2012, 6, 21))
    want = me.compute(me.Inputs(inp.quotes, inp.nbbo, None, None, inp.tiers), "polars").sums
    cols = ["ts", "symbol", "mm_id", "bid", "ask", "bid_size", "ask_size", "venue", "displayed", "firm"]
    base = inp.quotes.select(cols).with_columns(
        bid_size=pl.when(pl.col("bid").is_null()).then(None).otherwise(pl.col("bid_size")),
        ask_size=pl.when(pl.col("ask").is_null()).then(None).otherwise(pl.col("ask_size")))
    for name, df in (("sorted", base.sort("symbol", "mm_id", "ts", maintain_order=True)),
                     ("by time", base.sort("ts", maintain_order=True)),
                     ("reversed pairs", base.sort("symbol", "mm_id", descending=True, maintain_order=True))):
        p = tmp_path / f"{name}.parquet"
        df.write_parquet(p)
        q = read_quotes(p)
        assert set(CODES.values()) <= set(q.columns), name
        # equal codes are equal text, and within one read code order is text order
        for text, code in CODES.items():
            seen = q.select(text, code).unique()
            assert seen.height == q.get_column(text).n_unique() == seen.get_column(code).n_unique()
            assert seen.sort(text).get_column(code).is_sorted()
        got = me.compute(me.Inputs(q, inp.nbbo, None, None, inp.tiers), "numba").sums
        assert_frame_equal(got, want.select(got.columns), rel_tol=1e-12, abs_tol=1e-9)
    # two reads joined: the first symbol of each file has the same rank in it, but their codes differ, so the
    # pair where one file ends and the other begins is not missed (no trades or orders name it either)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    base.filter(pl.col("symbol") == "S000").sort("symbol", "mm_id", "ts").write_parquet(a)
    base.filter(pl.col("symbol") != "S000").sort("symbol", "mm_id", "ts").write_parquet(b)
    qa, qb = read_quotes(a), read_quotes(b)
    assert qa.get_column("symbol_code").min() != qb.get_column("symbol_code").min()
    for both in (pl.concat([qb, qa]), pl.concat([qa, qb]), pl.concat([qb, qa]).sort("ts")):
        got = me.compute(me.Inputs(both, inp.nbbo, None, None, inp.tiers), "numba").sums
        assert_frame_equal(got, want.select(got.columns), rel_tol=1e-12, abs_tol=1e-9)


def test_text_checked_on_the_parquet_dictionary_still_names_the_row(tmp_path: Path) -> None:
    from regsho.adapters.quotes import InputError, read_quotes

    inp = _synthetic(6, dt.date(2012, 6, 21))
    q = inp.quotes.select("ts", "symbol", "mm_id", "bid", "ask", "bid_size", "ask_size", "venue", "displayed",
                          "firm").drop_nulls()
    for value, what in ((" S001", None), ("", "a value is required")):
        bad = q.with_columns(symbol=pl.when(pl.int_range(pl.len()) == 7).then(pl.lit(value)).otherwise("symbol"))
        p = tmp_path / "q.parquet"
        bad.write_parquet(p)
        if what is None:  # blanks around a value are stripped, as from a CSV
            got = read_quotes(p)
            assert got.get_column("symbol")[7] == "S001"
            assert got.get_column("symbol").str.strip_chars().equals(got.get_column("symbol"))
        else:
            with pytest.raises(InputError, match=r"row 8: column 'symbol': a value is required"):
                read_quotes(p)
