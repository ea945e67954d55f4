"""Market-making quote metrics per day, mm_id and symbol, and per 30-minute window (17 CFR 242.203(b)(2)(iii);
FINRA 2023 and 2024 Annual Regulatory Oversight Reports, Regulation SHO: where and how quotes are placed, how often
and when in the day, proprietary trades against customer fills).

Time-weighted over regular trading hours (early closes from ``regsho.calendars``), exact when the NBBO moves
during a quote's life: the engines cut the day into pieces over which nothing changes (``regsho.surveillance.sql``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from regsho.calendars.calendar import CalendarRangeError
from regsho.core.columns import QUOTE_CODES
from regsho.surveillance.day import DayFrame
from regsho.surveillance.sql import SUMS

ENGINES: Final = ("numba", "polars", "duckdb", "spark")

#: The engine of ``regsho surveil`` and of the benchmark; the others are cross-checks.
DEFAULT_ENGINE: Final = "numba"

WindowSums = Callable[[DayFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame], pl.DataFrame]


class SurveillanceError(ValueError):
    """Input that cannot be reviewed (for example a day that is not a trading session)."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """Validated inputs (see ``regsho.adapters.quotes``): ``ts`` Int64 ns since the epoch, ``day`` New York date."""

    quotes: pl.DataFrame
    nbbo: pl.DataFrame
    trades: pl.DataFrame | None = None
    orders: pl.DataFrame | None = None
    tiers: Mapping[str, int] | None = None  # LULD tier per symbol; 1 when not given


@dataclass(frozen=True, slots=True)
class Metrics:
    """``sums``: the additive sums per (date, symbol, mm_id, w); ``windows`` and ``days``: the readable metrics."""

    sums: pl.DataFrame
    windows: pl.DataFrame
    days: pl.DataFrame
    frames: tuple[DayFrame, ...]


_EMPTY_ORDERS: Final = {"ts": pl.Int64, "end_ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String}


def engine_fn(name: str) -> WindowSums:
    if name == "numba":
        from regsho.surveillance.engine_numba import window_sums as numba_sums
        return numba_sums
    if name == "polars":
        from regsho.surveillance.engine_polars import window_sums
        return window_sums
    if name == "duckdb":
        from regsho.surveillance.engine_sql import duckdb_window_sums
        return duckdb_window_sums
    if name == "spark":
        from regsho.surveillance.engine_sql import spark_window_sums
        return spark_window_sums
    raise SurveillanceError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


def compute(inp: Inputs, engine: str | WindowSums = DEFAULT_ENGINE) -> Metrics:
    """Metrics of every (day, symbol, mm_id) in the quotes, trades or customer orders."""
    fn = engine_fn(engine) if isinstance(engine, str) else engine
    tiers = dict(inp.tiers or {})
    quotes = inp.quotes.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    nbbo = inp.nbbo.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    orders = inp.orders if inp.orders is not None else pl.DataFrame(schema={**_EMPTY_ORDERS, "day": pl.Date})
    trades = inp.trades
    pair_src = [orders.select("day", "symbol", "mm_id")]
    if trades is not None:
        pair_src.append(trades.select("day", "symbol", "mm_id"))
    all_pairs = pl.concat([_quote_pairs(quotes), *(_pairs_of(x) for x in pair_src)]).unique()
    days = sorted(all_pairs.get_column("day").unique().to_list())
    frames: list[DayFrame] = []
    out: list[pl.DataFrame] = []
    for d in days:
        try:
            f = DayFrame.of(d)
        except CalendarRangeError as e:
            raise SurveillanceError(f"{d.isoformat()}: {e}; quotes on it cannot be reviewed") from None
        frames.append(f)
        pairs = all_pairs.filter(pl.col("day") == d).select("symbol", "mm_id").sort("symbol", "mm_id")
        pairs = pairs.with_columns(tier1=pl.col("symbol").replace_strict(tiers, default=1, return_dtype=pl.Int64) == 1)
        qd = (quotes if len(days) == 1 else quotes.filter(pl.col("day") == d)).select(
            "symbol", "mm_id", "ts", "seq", "bid", "ask", "displayed", "firm", *_codes(quotes))
        nd = _between(nbbo, f.open - 86_400_000_000_000, f.close).select("symbol", "ts", "seq", "bid", "ask")
        od = (orders if len(days) == 1 else orders.filter(pl.col("day") == d)).select("symbol", "mm_id", "ts",
                                                                                          "end_ts")
        s = fn(f, qd, nd, od, pairs)
        out.append(s.with_columns(date=pl.lit(d), w=pl.col("w").cast(pl.Int64)))
    sums = pl.concat(out) if out else pl.DataFrame()
    if sums.height:
        sums = sums.select("date", "symbol", "mm_id", "w", *[pl.col(c).cast(pl.Float64) for c in SUMS]).sort(
            "date", "symbol", "mm_id", "w")
    return _finish(sums, tuple(frames), trades)


def _runs_of(df: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``df`` that differ from the row before: the same distinct rows, and on sorted input a few
    thousand instead of millions to hash."""
    if df.height < 2:
        return df
    return df.filter(pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in df.columns]).fill_null(True))


def _pairs_of(df: pl.DataFrame) -> pl.DataFrame:
    """The distinct (day, symbol, mm_id) of ``df`` (after ``_runs_of``; the day compared only if there are two)."""
    if df.height and df.get_column("day").min() == df.get_column("day").max():
        return _runs_of(df.select("symbol", "mm_id")).select(pl.lit(df.get_column("day")[0]).alias("day"), "symbol",
                                                             "mm_id")
    return _runs_of(df)


#: Code columns a quotes frame may carry (``regsho.core.columns.QUOTE_CODES``): integers equal exactly when the
#: symbol (the mm_id) is equal, so that the pairs are told apart by integer comparisons.
CODES: Final = (QUOTE_CODES["symbol"], QUOTE_CODES["mm_id"])


def _codes(quotes: pl.DataFrame) -> tuple[str, ...]:
    """The code columns of ``quotes`` (both or none)."""
    return CODES if all(r in quotes.columns for r in CODES) else ()


def pair_breaks(df: pl.DataFrame) -> npt.NDArray[np.int64] | None:
    """The rows of ``df`` (quotes with code columns) where the (symbol, mm_id) pair differs from the row before,
    the first row included, by integer comparisons; None without code columns."""
    if not _codes(df):
        return None
    if df.height == 0:
        return np.zeros(0, dtype=np.int64)
    sr = df.get_column(CODES[0]).to_numpy()
    mr = df.get_column(CODES[1]).to_numpy()
    brk = np.empty(df.height, dtype=np.bool_)
    brk[0] = True
    np.not_equal(sr[1:], sr[:-1], out=brk[1:])
    brk[1:] |= mr[1:] != mr[:-1]
    return np.flatnonzero(brk).astype(np.int64)


def _quote_pairs(quotes: pl.DataFrame) -> pl.DataFrame:
    """The distinct (day, symbol, mm_id) of the quotes: ``_pairs_of``, or with code columns the rows where the
    codes (or the day) change, found by integer comparisons."""
    q = quotes.select("day", "symbol", "mm_id")
    brk = pair_breaks(quotes)
    if brk is None or q.height == 0:
        return _pairs_of(q)
    if q.get_column("day").min() != q.get_column("day").max():
        day = q.get_column("day").to_physical().to_numpy()
        cut = np.zeros(q.height, dtype=np.bool_)
        cut[brk] = True
        cut[1:] |= day[1:] != day[:-1]
        brk = np.flatnonzero(cut)
    return q[brk]


def _between(df: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    """Rows with ``lo <= ts < hi`` (the frame itself when every row is)."""
    if df.height == 0:
        return df
    t_lo, t_hi = df.get_column("ts").min(), df.get_column("ts").max()
    assert isinstance(t_lo, int) and isinstance(t_hi, int)
    if lo <= t_lo and t_hi < hi:
        return df
    return df.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))


def _ratio(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(b > 0).then(a / b).otherwise(None)


def readable(df: pl.DataFrame) -> pl.DataFrame:
    """Shares, distances and trade figures from the sums (one row per input row)."""
    c = pl.col
    return df.with_columns(
        seconds=c("t_total") / 1e9,
        two_sided_share=_ratio(c("t_two"), c("t_total")),
        bid_quoted_share=_ratio(c("t_bid"), c("t_total")),
        ask_quoted_share=_ratio(c("t_ask"), c("t_total")),
        bid_at_inside_share=_ratio(c("t_bid_inside"), c("t_total")),
        ask_at_inside_share=_ratio(c("t_ask_inside"), c("t_total")),
        bid_in_band_share=_ratio(c("t_bid_band"), c("t_total")),
        ask_in_band_share=_ratio(c("t_ask_band"), c("t_total")),
        bid_distance_bp=_ratio(c("w_bid_x"), c("t_bid_ref")) * 1e4,
        ask_distance_bp=_ratio(c("w_ask_x"), c("t_ask_ref")) * 1e4,
        bid_band_fraction=_ratio(c("w_bid_f"), c("t_bid_ref")),
        ask_band_fraction=_ratio(c("w_ask_f"), c("t_ask_ref")),
        bid_band_edge_share=_ratio(c("t_bid_edge"), c("t_bid_ref")),
        ask_band_edge_share=_ratio(c("t_ask_edge"), c("t_ask_ref")),
        bid_near_inside_share=_ratio(c("t_bid_near"), c("t_total")),
        ask_near_inside_share=_ratio(c("t_ask_near"), c("t_total")),
        near_inside_two_sided_share=_ratio(c("t_near2"), c("t_total")),
        holding_share=_ratio(c("t_hold"), c("t_total")),
        holding_seconds=c("t_hold") / 1e9,
        not_holding_seconds=(c("t_total") - c("t_hold")) / 1e9,
        near_inside_holding_share=_ratio(c("t_near2_hold"), c("t_hold")),
        near_inside_not_holding_share=_ratio(c("t_near2") - c("t_near2_hold"), c("t_total") - c("t_hold")),
        displayed_share=_ratio(c("t_displayed"), c("t_quoted")),
        firm_share=_ratio(c("t_firm"), c("t_quoted")),
        principal_qty=c("principal_buy_qty") + c("principal_sell_qty"),
        principal_to_customer=_ratio(c("principal_buy_qty") + c("principal_sell_qty"), c("customer_fill_qty")),
        principal_imbalance=_ratio(c("principal_buy_qty") - c("principal_sell_qty"),
                                   c("principal_buy_qty") + c("principal_sell_qty")),
    )


TRADE_SUMS: Final = ("principal_buy_qty", "principal_sell_qty", "customer_fill_qty")


def _trade_sums(trades: pl.DataFrame | None, frames: tuple[DayFrame, ...]) -> pl.DataFrame:
    schema = {"date": pl.Date, "symbol": pl.String, "mm_id": pl.String, "w": pl.Int64,
              **{k: pl.Float64 for k in TRADE_SUMS}}
    if trades is None or not frames:
        return pl.DataFrame(schema=schema)
    fr = pl.DataFrame({"date": [f.day for f in frames], "open": [f.open for f in frames],
                       "close": [f.close for f in frames], "win": [f.window for f in frames]})
    t = trades.join(fr, left_on="day", right_on="date", how="inner").filter(
        (pl.col("ts") >= pl.col("open")) & (pl.col("ts") < pl.col("close")))
    principal = pl.col("capacity") == "principal"
    return t.group_by(pl.col("day").alias("date"), "symbol", "mm_id",
                      ((pl.col("ts") - pl.col("open")) // pl.col("win")).cast(pl.Int64).alias("w")).agg(
        principal_buy_qty=pl.col("qty").filter(principal & (pl.col("side") == "buy")).sum().cast(pl.Float64),
        principal_sell_qty=pl.col("qty").filter(principal & (pl.col("side") == "sell")).sum().cast(pl.Float64),
        customer_fill_qty=pl.col("qty").filter(~principal).sum().cast(pl.Float64),
    ).select(list(schema))


def _finish(sums: pl.DataFrame, frames: tuple[DayFrame, ...], trades: pl.DataFrame | None) -> Metrics:
    if sums.height == 0:
        empty = pl.DataFrame()
        return Metrics(sums, empty, empty, frames)
    ts = _trade_sums(trades, frames)
    full = sums.join(ts, on=["date", "symbol", "mm_id", "w"], how="left").with_columns(
        [pl.col(k).fill_null(0.0) for k in TRADE_SUMS])
    fr = pl.DataFrame({"date": [f.day for f in frames], "open": [f.open for f in frames],
                       "close": [f.close for f in frames], "win": [f.window for f in frames]})
    windows = readable(full.join(fr, on="date", how="left").with_columns(
        window_start=pl.col("open") + pl.col("w") * pl.col("win"),
        window_end=pl.min_horizontal(pl.col("open") + (pl.col("w") + 1) * pl.col("win"), pl.col("close")),
    ).drop("open", "close", "win"))
    keys = ["date", "symbol", "mm_id"]
    day_sums = full.group_by(keys).agg([pl.col(c).sum() for c in (*SUMS, *TRADE_SUMS)])
    from regsho.law import params
    lim = pl.DataFrame({"date": [f.day for f in frames], "lim": [
        float(params.lookup("mm.review.min_two_sided_share", f.day).value) for f in frames]})  # type: ignore[arg-type]
    cover = windows.join(lim, on="date", how="left").with_columns(
        covered=pl.col("two_sided_share") >= pl.col("lim")
    ).group_by(keys).agg(windows=pl.len(), windows_two_sided=pl.col("covered").sum())
    days = readable(day_sums).join(cover, on=keys, how="left").join(fr, on="date", how="left").with_columns(
        window_coverage=pl.col("windows_two_sided") / pl.col("windows"),
        window_start=pl.col("open"), window_end=pl.col("close")).drop("open", "close", "win")
    return Metrics(sums, windows.sort(*keys, "w"), days.sort(keys), frames)


METRIC_COLUMNS: Final = (
    "seconds", "two_sided_share", "bid_quoted_share", "ask_quoted_share",
    "bid_at_inside_share", "ask_at_inside_share", "bid_in_band_share", "ask_in_band_share",
    "bid_distance_bp", "ask_distance_bp", "bid_band_fraction", "ask_band_fraction",
    "bid_band_edge_share", "ask_band_edge_share", "bid_near_inside_share", "ask_near_inside_share",
    "near_inside_two_sided_share", "holding_share", "holding_seconds", "not_holding_seconds",
    "near_inside_holding_share", "near_inside_not_holding_share", "displayed_share", "firm_share",
    "principal_buy_qty", "principal_sell_qty", "principal_qty", "customer_fill_qty", "principal_to_customer",
    "principal_imbalance",
)


def iso(ns: int) -> str:
    """A nanosecond epoch time as New York ISO 8601 (to the microsecond)."""
    from regsho.calendars import ET
    t = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=ET).replace(microsecond=(ns % 1_000_000_000) // 1000)
    return t.isoformat()


def table(m: Metrics) -> pl.DataFrame:
    """metrics.csv: one row per day and per window of every (symbol, mm_id)."""
    if m.days.height == 0:
        return pl.DataFrame()
    def rows(df: pl.DataFrame, scope: str) -> pl.DataFrame:
        extra = [pl.lit(None, dtype=pl.Int64).alias("windows"), pl.lit(None, dtype=pl.Int64).alias(
            "windows_two_sided"), pl.lit(None, dtype=pl.Float64).alias("window_coverage")] if scope == "window" else []
        return df.with_columns(*extra).select(
            "date", "symbol", "mm_id", pl.lit(scope).alias("scope"),
            pl.col("window_start").map_elements(iso, return_dtype=pl.String),
            pl.col("window_end").map_elements(iso, return_dtype=pl.String),
            *METRIC_COLUMNS, pl.col("windows").cast(pl.Int64), pl.col("windows_two_sided").cast(pl.Int64),
            pl.col("window_coverage").cast(pl.Float64))
    return pl.concat([rows(m.days, "day"), rows(m.windows, "window")]).sort(
        "date", "symbol", "mm_id", "scope", "window_start")
