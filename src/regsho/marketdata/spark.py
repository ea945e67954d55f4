"""The threshold computation on Apache Spark, for the whole market's history on a cluster.

The same steps as ``regsho.marketdata.threshold`` in Spark's DataFrame API (window functions for the runs; Spark
has no as-of join, so a count of shares outstanding is chosen by a join on the security and a max/min by date),
giving the same spells: the final step (dates, days on the list, the 13th day, on the settlement calendar) is the
Polars function over the few spell rows collected. ``regsho.adapters.sec_fails_spark`` reads the SEC text files
with Spark itself.

Needs the ``spark`` extra (``pip install regsho[spark]``) and Java 17 or newer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from regsho.calendars import Calendars, default_calendars
from regsho.marketdata.threshold import SPELL_SCHEMA, ThresholdParams, _dates

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def session(app: str = "regsho", cores: int = 2) -> SparkSession:
    """A local Spark session sized for one machine (no UI, few shuffle partitions)."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{cores}]").appName(app)
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(cores)).config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def from_polars(spark: SparkSession, df: pl.DataFrame) -> DataFrame:
    """A Polars table as a Spark DataFrame (through Arrow)."""
    return spark.createDataFrame(df.to_arrow())


def _norm(col: Any) -> Any:
    from pyspark.sql import functions as F

    return F.regexp_replace(F.upper(col), r"[.\-/ ^]", "")


def _attach_shares(big: DataFrame, shares: DataFrame) -> DataFrame:
    """Per row the count in force (backward by date, else the first later one), by CUSIP first, then by symbol."""
    from pyspark.sql import functions as F

    far = F.to_date(F.lit("1900-01-01"))
    s = shares.select("key_kind", "key", F.coalesce("date", far).alias("sdate"), "shares")
    rows = big.withColumn("_sym", _norm(F.coalesce("symbol", F.lit(""))))
    rid = ["cusip", "settlement_date"]  # one fails row per security and day
    out = rows
    for kind, col in (("cusip", "cusip"), ("symbol", "_sym")):
        cand = rows.select(*rid, F.col(col).alias("key")).join(F.broadcast(s.filter(F.col("key_kind") == kind)),
                                                               on="key")
        best = cand.groupBy(*rid).agg(
            F.max(F.when(F.col("sdate") <= F.col("settlement_date"), F.struct("sdate", "shares"))).alias("b"),
            F.min(F.when(F.col("sdate") > F.col("settlement_date"), F.struct("sdate", "shares"))).alias("f"))
        out = out.join(best.select(*rid, F.coalesce(F.col("b.shares"), F.col("f.shares")).alias(f"_t_{kind}")),
                       on=rid, how="left")
    return out.withColumn("tso", F.coalesce("_t_cusip", "_t_symbol")).drop("_t_cusip", "_t_symbol", "_sym")


def compute_spells(spark: SparkSession, fails: DataFrame, shares: DataFrame,
                   cal: Calendars | None = None) -> pl.DataFrame:
    """Threshold spells (17 CFR 242.203(c)(6)(i), (iii)) computed by Spark: ``SPELL_SCHEMA``, like
    ``threshold.compute(...).spells``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cal = cal or default_calendars()
    days_sdf = fails.select("settlement_date").distinct()
    days_pl = pl.from_arrow(days_sdf.toArrow())
    assert isinstance(days_pl, pl.DataFrame)
    days = days_pl.to_series().sort()
    if days.len() == 0:
        return pl.DataFrame(schema=SPELL_SCHEMA)
    p = ThresholdParams.over(days[0], days[-1])
    last_idx = days.len() - 1
    index = spark.createDataFrame(pl.DataFrame({"settlement_date": days, "idx": pl.int_range(
        0, days.len(), eager=True, dtype=pl.Int64())}).to_arrow())
    big = fails.filter(F.col("quantity") >= p.min_shares).select("settlement_date", "cusip", "symbol", "quantity")
    q = _attach_shares(big, shares).filter(
        F.col("tso").isNotNull() & (F.col("quantity") >= F.col("tso") * F.lit(p.min_fraction))).join(
        F.broadcast(index), on="settlement_date")
    w = Window.partitionBy("cusip").orderBy("idx")
    prev = F.lag("idx").over(w)
    q = q.withColumn("_new", F.when(prev.isNull() | (F.col("idx") - prev != 1), 1).otherwise(0))
    q = q.withColumn("run", F.sum("_new").over(w.rowsBetween(Window.unboundedPreceding, 0)))
    runs = q.groupBy("cusip", "run").agg(
        F.max_by("symbol", F.when(F.col("symbol").isNotNull(), F.col("idx"))).alias("symbol"),
        F.min("idx").alias("run_start"), F.max("idx").alias("run_end"), F.count("*").alias("run_len"))
    wr = Window.partitionBy("cusip").orderBy("run_start")
    gap = F.col("run_start") - F.lag("run_end").over(wr) - 1
    runs = runs.withColumn("_new", F.when(gap.isNull() | (gap >= p.days), 1).otherwise(0))
    runs = runs.withColumn("cluster", F.sum("_new").over(wr.rowsBetween(Window.unboundedPreceding, 0)))
    clusters = runs.groupBy("cusip", "cluster").agg(
        F.max_by("symbol", F.when(F.col("symbol").isNotNull(), F.col("run_start"))).alias("symbol"),
        F.min(F.when(F.col("run_len") >= p.days, F.col("run_start"))).alias("first_long"),
        F.max("run_end").alias("cluster_end")).filter(F.col("first_long").isNotNull())
    spells = clusters.select(
        "cusip", "symbol", (F.col("first_long") + p.days - 1).alias("start_idx"),
        F.when(F.col("cluster_end") + p.days <= last_idx, F.col("cluster_end") + p.days - 1).alias("end_idx"))
    got = pl.from_arrow(spells.toArrow())
    assert isinstance(got, pl.DataFrame)
    got = got.with_columns(pl.col("start_idx").cast(pl.Int64()), pl.col("end_idx").cast(pl.Int64()))
    return _dates(got, days, cal, p)
