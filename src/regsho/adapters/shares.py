"""Total shares outstanding, the denominator of the 0.5% test of 17 CFR 242.203(c)(6)(i).

Two layouts, told apart by their header:

- point-in-time counts: ``symbol`` or ``cusip``, ``date`` (YYYY-MM-DD or YYYYMMDD) and ``shares_outstanding``; a
  count holds from its date until the next one for the same security;
- a stock-screener snapshot (``Symbol``, ``Market Cap``, ``Last Sale``, as exported by the exchanges' screeners):
  shares outstanding = Market Cap / Last Sale, undated (used for every date: an approximation, good for sanity
  checks, not for an exact test). A row without a market cap or price gives no count.

The result is one table ``key_kind`` (``cusip`` or ``symbol``), ``key``,
``date`` (null for a snapshot) and ``shares`` (Int64). Symbols are kept as read (upper-cased).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import decode, read_bytes

SCHEMA: Final = pl.Schema({"key_kind": pl.String(), "key": pl.String(), "date": pl.Date(), "shares": pl.Int64()})


def _first_bad(mask: pl.Series) -> int | None:
    return int(mask.arg_max() or 0) if mask.any() else None


def read_file(path: str | Path) -> pl.DataFrame:
    p = Path(path)
    text = decode(read_bytes(p), p)
    if not text.strip():
        raise InputError(p, None, None, "empty file: no shares-outstanding counts")
    try:
        raw = pl.read_csv(text.encode(), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as e:
        raise InputError(p, None, None, f"not a CSV file: {str(e).splitlines()[0]}") from None
    cols = {c.strip().lower(): c for c in raw.columns}
    if "shares_outstanding" in cols and "date" in cols and ("cusip" in cols or "symbol" in cols):
        return _point_in_time(p, raw, cols)
    if {"symbol", "market cap", "last sale"} <= cols.keys():
        return _screener(p, raw, cols)
    raise InputError(p, 1, None, "unknown layout: expected symbol|cusip,date,shares_outstanding or a screener "
                     "export with Symbol, Market Cap and Last Sale", ",".join(raw.columns))


def _point_in_time(p: Path, raw: pl.DataFrame, cols: dict[str, str]) -> pl.DataFrame:
    kind = "cusip" if "cusip" in cols else "symbol"
    key_col, date_col, n_col = cols[kind], cols["date"], cols["shares_outstanding"]
    df = raw.select(
        pl.col(key_col).str.strip_chars().alias("key"),
        pl.col(date_col).str.strip_chars().alias("d"),
        pl.col(n_col).str.strip_chars().str.replace_all(",", "").alias("n"),
    )
    parsed = df.with_columns(
        pl.coalesce(pl.col("d").str.strptime(pl.Date(), "%Y-%m-%d", strict=False),
                    pl.col("d").str.strptime(pl.Date(), "%Y%m%d", strict=False)).alias("date"),
        pl.col("n").cast(pl.Int64(), strict=False).alias("shares"),
    )
    key_ok = (pl.col("key").str.contains(r"^[0-9A-Z*@#]{9}$") if kind == "cusip"
              else pl.col("key").str.contains(r"^[A-Za-z0-9][A-Za-z0-9.\-/ ^]{0,19}$"))
    checks = (
        (key_col, key_ok.fill_null(False), "must be a 9-character CUSIP" if kind == "cusip" else "must be a symbol",
         "key"),
        (date_col, pl.col("date").is_not_null(), "must be a date YYYY-MM-DD", "d"),
        (n_col, (pl.col("shares") > 0).fill_null(False), "must be a positive whole number of shares", "n"),
    )
    for fld, ok, msg, src in checks:
        i = _first_bad(parsed.select(~ok).to_series())
        if i is not None:
            raise InputError(p, i + 2, fld, msg, parsed[src][i])
    out = parsed.select(pl.lit(kind).alias("key_kind"),
                        pl.col("key").str.to_uppercase().alias("key"),
                        "date", "shares")
    dup = out.select(~pl.struct("key", "date").is_first_distinct()).to_series()
    i = _first_bad(dup)
    if i is not None:
        raise InputError(p, i + 2, date_col, f"a second count for {parsed['key'][i]} on the same date", parsed["d"][i])
    return out


def _screener(p: Path, raw: pl.DataFrame, cols: dict[str, str]) -> pl.DataFrame:
    sym, cap, last = cols["symbol"], cols["market cap"], cols["last sale"]
    df = raw.select(
        pl.col(sym).str.strip_chars().alias("key"),
        pl.col(cap).str.strip_chars().str.replace_all(r"[$,]", "").alias("cap_s"),
        pl.col(last).str.strip_chars().str.replace_all(r"[$,]", "").alias("last_s"),
    ).with_columns(pl.col("cap_s").cast(pl.Float64(), strict=False).alias("cap"),
                   pl.col("last_s").cast(pl.Float64(), strict=False).alias("last"))
    checks = (
        (sym, pl.col("key").str.contains(r"^[A-Za-z0-9][A-Za-z0-9.\-/ ^]{0,19}$").fill_null(False),
         "must be a symbol", "key"),
        (cap, (pl.col("cap_s").fill_null("") == "") | (pl.col("cap") >= 0).fill_null(False),
         "must be a market capitalisation (a number) or empty", "cap_s"),
        (last, (pl.col("last_s").fill_null("") == "") | (pl.col("last") >= 0).fill_null(False),
         "must be a price or empty", "last_s"),
    )
    for fld, ok, msg, src in checks:
        i = _first_bad(df.select(~ok).to_series())
        if i is not None:
            raise InputError(p, i + 2, fld, msg, df[src][i])
    out = df.filter((pl.col("cap") > 0) & (pl.col("last") > 0)).select(
        pl.lit("symbol").alias("key_kind"), pl.col("key").str.to_uppercase().alias("key"),
        pl.lit(None, pl.Date()).alias("date"),
        (pl.col("cap") / pl.col("last")).round(0).cast(pl.Int64()).alias("shares"))
    return out.unique(subset=["key"], keep="first", maintain_order=True)


def read_many(paths: Sequence[str | Path]) -> pl.DataFrame:
    """Several files as one table; the first file to give a security a count for a date wins."""
    if not paths:
        return pl.DataFrame(schema=SCHEMA)
    parts = [read_file(p) for p in paths]
    return pl.concat(parts).unique(subset=["key_kind", "key", "date"], keep="first", maintain_order=True)
