"""SEC fails-to-deliver text files read by Spark itself, for histories too large for one machine.

Each line is split like ``regsho.adapters.sec_fails`` does (a stray ``|`` stays in the description, trailer lines
and the header are dropped, CRLF accepted) and every value is checked; a bad value raises ``InputError`` with the
file and field (Spark does not keep line numbers). Needs the ``spark`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regsho.adapters.errors import InputError
from regsho.adapters.sec_fails import FIELDS, HEADER

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_fails(spark: SparkSession, paths: Sequence[str | Path]) -> DataFrame:
    """SEC fails text files as a Spark DataFrame (settlement_date, cusip, symbol, quantity, description, price)."""
    from pyspark.sql import functions as F

    raw = spark.read.text([str(p) for p in paths]).withColumn("_file", F.input_file_name())
    lines = raw.select(F.regexp_replace("value", "\r$", "").alias("line"), "_file").filter(F.trim("line") != "")
    body = lines.filter((F.col("line") != HEADER) & ~F.col("line").startswith("Trailer "))
    arr = F.split("line", r"\|")
    parts = body.select("_file", "line", arr.alias("a"), F.size(arr).alias("n"))
    def at(k: int) -> Any:  # 1-based, null past the end (never an error, whatever the ANSI setting)
        return F.try_element_at("a", F.lit(k))

    typed = parts.select(
        "_file", "line", "n",
        F.try_to_timestamp(at(1), F.lit("yyyyMMdd")).cast("date").alias("settlement_date"), at(1).alias("_d"),
        at(2).alias("cusip"), at(3).alias("symbol"), at(4).alias("_q"),
        F.array_join(F.slice("a", 5, F.greatest(F.col("n") - 5, F.lit(1))), "|").alias("description"),
        F.try_element_at("a", F.lit(-1)).alias("_p"))
    checks = [
        (None, F.col("n") < 6, "line", "a row needs 6 '|'-separated fields"),
        (FIELDS[0], ~F.col("_d").rlike(r"^\d{8}$") | F.col("settlement_date").isNull(), "_d",
         "must be a date YYYYMMDD"),
        (FIELDS[1], ~F.col("cusip").rlike(r"^[0-9A-Z*@#]{9}$"), "cusip", "must be a 9-character CUSIP"),
        (FIELDS[3], ~F.col("_q").rlike(r"^\d{1,15}$"), "_q", "must be a whole number of shares"),
        (FIELDS[5], ~F.col("_p").rlike(r"^(\.|\d{1,12}(\.\d*)?|\.\d+)$"), "_p", "must be a price or '.'"),
    ]
    # one pass over the data for every check: the first offending row of each
    found = typed.agg(*(F.first(F.when(bad, F.struct(F.col("_file").alias("f"), F.col(col).alias("v"))),
                                ignorenulls=True).alias(f"c{i}") for i, (_, bad, col, _) in enumerate(checks))
                      ).collect()[0]
    for i, (fld, _, _, msg) in enumerate(checks):
        hit = found[f"c{i}"]
        if hit is not None:
            raise InputError(str(hit["f"]).removeprefix("file://"), None, fld, msg, hit["v"])
    return typed.select(
        "settlement_date", "cusip",
        F.when(F.col("symbol") == "", None).otherwise(F.col("symbol")).alias("symbol"),
        F.col("_q").cast("long").alias("quantity"), "description",
        F.when(F.col("_p") == ".", None).otherwise(F.col("_p")).cast("double").alias("price"))
