"""A firm's own CNS fail positions, for the threshold watch: a CSV of ``date``, ``symbol`` (or ``cusip``) and
``fail_qty``, one row per security and settlement date."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import decode, read_bytes


def read_cns(path: str | Path) -> pl.DataFrame:
    """A firm's CNS fail positions: ``date``, ``symbol`` or ``cusip``, ``fail_qty`` (CSV)."""
    p = Path(path)
    text = decode(read_bytes(p), p)
    try:
        raw = pl.read_csv(text.encode(), infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise InputError(p, None, None, f"not a CSV file: {str(e).splitlines()[0]}") from None
    cols = {c.strip().lower(): c for c in raw.columns}
    key = "cusip" if "cusip" in cols else "symbol"
    if not {"date", "fail_qty", key} <= cols.keys():
        raise InputError(p, 1, None, "a CNS positions file needs date, symbol (or cusip) and fail_qty columns",
                         ",".join(raw.columns))
    df = raw.select(pl.col(cols[key]).str.strip_chars().alias("key"),
                    pl.col(cols["date"]).str.strip_chars().alias("d"),
                    pl.col(cols["fail_qty"]).str.strip_chars().alias("q"))
    df = df.with_columns(
        pl.coalesce(pl.col("d").str.strptime(pl.Date(), "%Y-%m-%d", strict=False),
                    pl.col("d").str.strptime(pl.Date(), "%Y%m%d", strict=False)).alias("date"),
        pl.col("q").cast(pl.Int64(), strict=False).alias("fail_qty"))
    for fld, bad, msg, src in (
        (cols[key], pl.col("key").fill_null("") == "", "must not be empty", "key"),
        (cols["date"], pl.col("date").is_null(), "must be a date YYYY-MM-DD", "d"),
        (cols["fail_qty"], ~(pl.col("fail_qty") >= 0).fill_null(False), "must be a whole number of shares", "q"),
    ):
        mask = df.select(bad).to_series()
        if mask.any():
            i = int(mask.arg_max() or 0)
            raise InputError(p, i + 2, fld, msg, df[src][i])
    return df.select(pl.lit(key).alias("key_kind"), "key", "date", "fail_qty")
