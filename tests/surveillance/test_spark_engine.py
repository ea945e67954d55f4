"""Spark (the portable union + running-max formulation) gives the same metrics and verdicts as the Polars engine
on small data: a random, edge-heavy early-close day and a day of synthetic makers, in one session."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.surveillance.test_metrics_reference import _inputs

from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime ('java' not found)"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def test_spark_agrees_with_polars() -> None:
    pytest.importorskip("pyspark", reason="PySpark is not installed (the 'spark' extra)")
    rnd, _ = _inputs(5, dt.date(2012, 11, 23))
    nb = sy.synthetic_nbbo(dt.date(2012, 6, 21), 2, 120, seed=7)
    s = sy.generate(nb, tuple(sy.Maker(f"M{i}", p) for i, p in enumerate(sy.PROFILES)), seed=7)
    syn_q = sy.with_day(s.quotes).select(rnd.quotes.columns)
    inp = me.Inputs(pl.concat([rnd.quotes, syn_q]), pl.concat([rnd.nbbo, nb.select(rnd.nbbo.columns)]),
                    sy.with_day(s.trades), pl.concat([rnd.orders, sy.with_day(s.orders).select(rnd.orders.columns)])
                    if rnd.orders is not None else None, rnd.tiers)
    a = me.compute(inp, "polars")
    b = me.compute(inp, "spark")
    assert a.sums.height > 0
    assert_frame_equal(a.sums, b.sums.select(a.sums.columns).cast(dict(a.sums.schema)), rel_tol=1e-12, abs_tol=1e-9)
    cols = ["date", "symbol", "mm_id", "scope", "window_start", "bona_fide", "codes"]
    va, vb = fi.verdicts_table(fi.review(a)), fi.verdicts_table(fi.review(b))
    assert va.select(cols).equals(vb.select(cols))
    honest = va.filter((pl.col("mm_id") == "M0") & (pl.col("date") == dt.date(2012, 6, 21)))
    assert honest.height == 2 * 14 and honest.get_column("bona_fide").all()
