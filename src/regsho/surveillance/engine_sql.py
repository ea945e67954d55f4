"""The portable formulation (DuckDB, and Spark for data beyond one machine): Spark SQL has no ASOF JOIN, so the
pieces come from a union of every point (quotes, NBBO changes, window and band boundaries, customer-order changes)
and a running maximum of the quote time and the NBBO time per (symbol, mm_id), equi-joined back to the quote and
the NBBO in force. The running frame is RANGE ... CURRENT ROW, so a quote and an NBBO change at the same nanosecond
are both in force at it. The metrics are then the same SQL as every engine's (``regsho.surveillance.sql``).
"""

from __future__ import annotations

import threading
from typing import Any

import polars as pl

from regsho.surveillance.day import DayFrame
from regsho.surveillance.sql import metric_ctes, metric_select


def pieces_ctes(f: DayFrame) -> str:
    """CTEs ending in ``pieces`` over relations quotes, nbbo, orders, pairs and bounds (no leading WITH)."""
    o, c = f.open, f.close
    return f"""qc AS (
  SELECT symbol, mm_id, CASE WHEN ts < {o} THEN {o} ELSE ts END AS t, ts, seq, bid, ask, displayed, firm
  FROM quotes WHERE ts < {c}
), qd AS (
  SELECT symbol, mm_id, t, bid, ask, displayed, firm FROM (
    SELECT symbol, mm_id, t, bid, ask, displayed, firm,
      ROW_NUMBER() OVER (PARTITION BY symbol, mm_id, t ORDER BY ts DESC, seq DESC) AS rn FROM qc) x
  WHERE rn = 1
), nc AS (
  SELECT symbol, CASE WHEN ts < {o} THEN {o} ELSE ts END AS t, ts, seq, bid, ask FROM nbbo WHERE ts < {c}
), nd AS (
  SELECT symbol, t, bid, ask FROM (
    SELECT symbol, t, bid, ask, ROW_NUMBER() OVER (PARTITION BY symbol, t ORDER BY ts DESC, seq DESC) AS rn
    FROM nc) y
  WHERE rn = 1
), oe AS (
  SELECT symbol, mm_id, CASE WHEN ts < {o} THEN {o} ELSE ts END AS t, 1 AS delta FROM orders
  WHERE ts < {c} AND (end_ts IS NULL OR end_ts > {o})
  UNION ALL
  SELECT symbol, mm_id, end_ts AS t, -1 AS delta FROM orders
  WHERE ts < {c} AND end_ts IS NOT NULL AND end_ts > {o} AND end_ts < {c}
), pts AS (
  SELECT symbol, mm_id, t, t AS qt, CAST(NULL AS BIGINT) AS nt, 0 AS delta FROM qd
  UNION ALL
  SELECT p.symbol, p.mm_id, n.t, CAST(NULL AS BIGINT), n.t, 0 FROM nd n JOIN pairs p ON n.symbol = p.symbol
  UNION ALL
  SELECT p.symbol, p.mm_id, b.t, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), 0 FROM pairs p CROSS JOIN bounds b
  UNION ALL
  SELECT symbol, mm_id, t, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), delta FROM oe
), run AS (
  SELECT symbol, mm_id, t,
    MAX(qt) OVER (PARTITION BY symbol, mm_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS qt,
    MAX(nt) OVER (PARTITION BY symbol, mm_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nt,
    SUM(delta) OVER (PARTITION BY symbol, mm_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      AS held
  FROM pts
), pc AS (
  SELECT DISTINCT symbol, mm_id, t, qt, nt, held FROM run
), pz AS (
  SELECT symbol, mm_id, t, qt, nt, held,
    COALESCE(LEAD(t) OVER (PARTITION BY symbol, mm_id ORDER BY t), {c}) - t AS dur
  FROM pc
), pieces AS (
  SELECT pz.symbol, pz.mm_id, CAST(FLOOR((pz.t - {o}) / {f.window}) AS BIGINT) AS w, pz.t, pz.dur,
    (pz.t < {f.edge_open} OR pz.t >= {f.edge_close}) AS edge, pr.tier1,
    q.bid, q.ask, q.displayed, q.firm, n.bid AS nbb, n.ask AS nbo, (pz.held > 0) AS hold
  FROM pz JOIN pairs pr ON pr.symbol = pz.symbol AND pr.mm_id = pz.mm_id
  LEFT JOIN qd q ON q.symbol = pz.symbol AND q.mm_id = pz.mm_id AND q.t = pz.qt
  LEFT JOIN nd n ON n.symbol = pz.symbol AND n.t = pz.nt
)"""


def query(f: DayFrame) -> str:
    return "WITH " + pieces_ctes(f) + ",\n" + metric_ctes(f) + "\n" + metric_select(f)


def _bounds(f: DayFrame) -> pl.DataFrame:
    return pl.DataFrame({"t": list(f.boundaries())}, schema={"t": pl.Int64})


def duckdb_window_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                       pairs: pl.DataFrame) -> pl.DataFrame:
    """Sum columns per symbol, mm_id and window, for one day, on DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        for name, df in (("quotes", quotes), ("nbbo", nbbo), ("orders", orders), ("pairs", pairs),
                         ("bounds", _bounds(f))):
            con.register(name, df.to_arrow())
        out = pl.DataFrame(con.sql(query(f)).to_arrow_table())
    finally:
        con.close()
    return out


_SPARK: list[Any] = []
_LOCK = threading.Lock()


def spark_session() -> Any:
    """The active Spark session if there is one (a cluster's), else one local session per process, created on first
    use and set for small data (UTC, few shuffle partitions, quick JIT warm-up)."""
    with _LOCK:
        if not _SPARK:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:
                _SPARK.append(active)
                return active
            _SPARK.append(
                SparkSession.builder.master("local[2]").appName("regsho-surveillance")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
                .getOrCreate())
            _SPARK[0].sparkContext.setLogLevel("ERROR")
        return _SPARK[0]


def spark_window_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                      pairs: pl.DataFrame) -> pl.DataFrame:
    """Sum columns per symbol, mm_id and window, for one day, on Spark (the same SQL text as DuckDB)."""
    spark = spark_session()
    for name, df in (("quotes", quotes), ("nbbo", nbbo), ("orders", orders), ("pairs", pairs),
                     ("bounds", _bounds(f))):
        spark.createDataFrame(df.to_arrow(), schema=_ddl(df)).createOrReplaceTempView(name)
    return pl.DataFrame(spark.sql(query(f)).toArrow())


_SPARK_TYPES = {pl.Int64: "BIGINT", pl.Int32: "INT", pl.Float64: "DOUBLE", pl.String: "STRING",
                pl.Boolean: "BOOLEAN"}


def _ddl(df: pl.DataFrame) -> str:
    return ", ".join(f"{n} {_SPARK_TYPES[t.base_type()]}" for n, t in df.schema.items())
