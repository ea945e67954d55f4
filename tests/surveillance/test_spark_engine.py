"""Spark (the portable union + running-max formulation) gives the same metrics as the Polars engine on small
data. One local session for the module."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.surveillance.test_metrics_reference import _inputs

from regsho.surveillance import metrics as me

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime ('java' not found)"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def spark() -> object:
    pytest.importorskip("pyspark", reason="PySpark is not installed (the 'spark' extra)")
    from regsho.surveillance.engine_sql import spark_session

    return spark_session()


@pytest.mark.parametrize("seed", [5])
def test_spark_agrees_with_polars(spark: object, seed: int) -> None:
    inp, _ = _inputs(seed, (dt.date(2012, 6, 21), dt.date(2012, 11, 23))[seed % 2])
    a = me.compute(inp, "polars").sums
    b = me.compute(inp, "spark").sums
    assert a.height > 0
    assert_frame_equal(a, b.select(a.columns).cast(dict(a.schema)), rel_tol=1e-12, abs_tol=1e-9)


def test_spark_verdicts_match_on_synthetic_makers(spark: object) -> None:
    from regsho.surveillance import findings as fi
    from regsho.surveillance import synthetic as sy

    nb = sy.synthetic_nbbo(dt.date(2012, 6, 21), 2, 120, seed=7)
    makers = tuple(sy.Maker(f"M{i}", p) for i, p in enumerate(sy.PROFILES))
    s = sy.generate(nb, makers, seed=7)
    inp = me.Inputs(sy.with_day(s.quotes), nb, sy.with_day(s.trades), sy.with_day(s.orders))
    va = fi.verdicts_table(fi.review(me.compute(inp, "polars")))
    vb = fi.verdicts_table(fi.review(me.compute(inp, "spark")))
    assert va.select("symbol", "mm_id", "scope", "window_start", "bona_fide", "codes").equals(
        vb.select("symbol", "mm_id", "scope", "window_start", "bona_fide", "codes"))
    assert not va.filter(pl.col("mm_id") == "M0").get_column("bona_fide").is_in([False]).any()
