"""Threshold status from the SEC fails data, computed columnar with Polars (no Python loop over rows).

17 CFR 242.203(c)(6)(i): a security qualifies on a settlement day when its aggregate fail to deliver position at a
registered clearing agency is at least 10,000 shares and at least 0.5% of its total shares outstanding; it enters
the list on the fifth consecutive qualifying settlement day; by (c)(6)(iii) it ceases to be a threshold security
once it has not qualified for five consecutive settlement days. The numbers come from ``regsho.law.params``.

Conventions (docs/marketdata.md):

- A list dated D reflects settlement data through D (``threshold.list_effective_trading_days``): a spell's
  ``start`` is the fifth qualifying settlement day, the date of the first list that carries the security; its
  ``end`` is the last date a list still carries it (the fourth non-qualifying day), empty while still listed at the
  end of the data.
- Days are counted over the settlement days the data covers (a day with no row market-wide is a missing file):
  a missing day neither counts nor breaks a run. History before the first covered day is unknown, so the
  earliest possible start is the fifth covered day.
- ``days_on_list`` counts the settlement days of the calendar from ``start`` to ``end`` (or to the last covered
  day); ``day_13`` is the thirteenth consecutive settlement day on the list, counting the list's own date as day 1
  (SEC Reg SHO FAQ, 2005), after which a 203(b)(3) close-out is due.
- A security without a known count of shares outstanding cannot be judged on the 0.5% test: it is reported in
  ``unknown`` (every security whose fails reached 10,000 shares for five consecutive days without a count), never
  dropped silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from regsho.adapters.shares import norm_symbol
from regsho.calendars import Calendars, default_calendars
from regsho.law import citations as c
from regsho.law import params

_FAR_PAST: Final = dt.date(1900, 1, 1)

SPELL_SCHEMA: Final = pl.Schema({
    "cusip": pl.String(), "symbol": pl.String(), "start": pl.Date(), "end": pl.Date(), "days_on_list": pl.Int64(),
    "day_13": pl.Date(),
})
UNKNOWN_SCHEMA: Final = pl.Schema({
    "cusip": pl.String(), "symbol": pl.String(), "first_possible": pl.Date(), "max_fails": pl.Int64(),
})


@dataclass(frozen=True, slots=True)
class ThresholdParams:
    """The 203(c)(6) and 203(b)(3) numbers in force over a span of dates, with their citations."""

    min_shares: int
    min_fraction: float
    days: int
    closeout_days: int
    first_list_day: int
    cites: tuple[str, ...]

    @staticmethod
    def over(first: dt.date, last: dt.date) -> ThresholdParams:
        """The values in force from ``first`` to ``last``; a change of value inside the span is refused (the run
        arithmetic assumes one value), as is a date before Regulation SHO."""
        def one(name: str) -> params.ParamValue:
            a, b = params.lookup(name, first), params.lookup(name, last)
            if a != b or any(p.name == name and first < p.effective <= last for p in params.TABLE):
                raise params.RegimeError(f"{name} changes between {first} and {last}; compute the spans separately")
            return a
        ms, fr, n = one("threshold.min_fail_shares"), one("threshold.min_fail_fraction_tso"), \
            one("threshold.consecutive_days")
        co, d1 = one("closeout.threshold_days"), one("threshold.first_list_day")
        values = (ms.value, fr.value, n.value, co.value, d1.value)
        assert isinstance(values[0], int) and isinstance(values[1], float) and isinstance(values[2], int)
        assert isinstance(values[3], int) and isinstance(values[4], int)
        return ThresholdParams(values[0], values[1], values[2], values[3], values[4],
                               (c.R203_C6_I, c.R203_C6_III, c.R203_B3, d1.cite))


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    spells: pl.DataFrame  # SPELL_SCHEMA, sorted by start, cusip
    unknown: pl.DataFrame  # UNKNOWN_SCHEMA
    daily: pl.DataFrame  # rows of >= min_shares: settlement_date, idx, cusip, symbol, quantity, tso, qualifies
    days: pl.Series  # the covered settlement days, sorted (idx is the position in it)
    params: ThresholdParams

    @property
    def unknown_count(self) -> int:
        return self.unknown.height


def attach_shares(rows: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (settlement_date, cusip, symbol, ...) with ``tso``: the count in force on the date, by CUSIP first,
    then by symbol; a count dated after the date is used when none precedes it; null when none is known."""
    left = rows.with_columns(norm_symbol(pl.col("symbol").fill_null("")).alias("_sym")).sort("settlement_date")
    s = shares.with_columns(pl.col("date").fill_null(_FAR_PAST))
    out = left
    names = []
    for kind, by in (("cusip", "cusip"), ("symbol", "_sym")):
        right = s.filter(pl.col("key_kind") == kind).select(pl.col("key").alias(by), "date",
                                                             pl.col("shares")).sort("date")
        for strategy in ("backward", "forward"):
            name = f"_tso_{kind}_{strategy}"
            out = out.join_asof(right.rename({"shares": name}), left_on="settlement_date", right_on="date", by=by,
                                strategy=strategy, check_sortedness=False).drop("date")
            names.append(name)
    return out.with_columns(pl.coalesce(*names).alias("tso")).drop(*names, "_sym")


def _runs(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Runs of consecutive ``idx`` per CUSIP (rows sorted by cusip, idx): the rows tagged with their run, and one row
    per run with its start, end, length, last symbol and largest fail."""
    same = pl.col("cusip") == pl.col("cusip").shift(1)
    new = (~same).fill_null(True) | ((pl.col("idx") - pl.col("idx").shift(1)) != 1).fill_null(True)
    tagged = rows.with_columns(new.cum_sum().alias("run"))
    return tagged, tagged.group_by("run", maintain_order=True).agg(
        pl.col("cusip").first(), pl.col("symbol").drop_nulls().last(), pl.col("idx").min().alias("run_start"),
        pl.col("idx").max().alias("run_end"), pl.len().alias("run_len"), pl.col("quantity").max().alias("max_fails"))


def compute(fails: pl.DataFrame, shares: pl.DataFrame, cal: Calendars | None = None) -> ThresholdResult:
    """Threshold spells (17 CFR 242.203(c)(6)(i), (iii)) from a fails table (``regsho.adapters.sec_fails``) and a
    shares-outstanding table (``regsho.adapters.shares``)."""
    cal = cal or default_calendars()
    days = fails.select(pl.col("settlement_date").unique().sort()).to_series()
    if days.len() == 0:
        return ThresholdResult(pl.DataFrame(schema=SPELL_SCHEMA), pl.DataFrame(schema=UNKNOWN_SCHEMA),
                               pl.DataFrame(), days, ThresholdParams.over(cal.end, cal.end))
    p = ThresholdParams.over(days[0], days[-1])
    last_idx = days.len() - 1
    index = pl.DataFrame({"settlement_date": days, "idx": pl.int_range(0, days.len(), eager=True, dtype=pl.Int64())})
    big = fails.lazy().filter(pl.col("quantity") >= p.min_shares).select(
        "settlement_date", "cusip", "symbol", "quantity").collect()
    daily = attach_shares(big, shares).join(index, on="settlement_date").with_columns(
        (pl.col("tso").is_not_null() & (pl.col("quantity") >= pl.col("tso") * p.min_fraction)).alias("qualifies"),
    ).sort("cusip", "idx")
    _, runs = _runs(daily.filter(pl.col("qualifies")))
    spells = _spells(runs, p, last_idx)
    spells = _dates(spells, days, cal, p)
    unknown = _unknown(daily, p, days, spells)
    return ThresholdResult(spells, unknown, daily, days, p)


def _spells(runs: pl.DataFrame, p: ThresholdParams, last_idx: int) -> pl.DataFrame:
    """Runs grouped into clusters separated by fewer than ``days`` non-qualifying days; a cluster with a run of
    ``days`` or more is a spell from that run's ``days``-th day to ``days - 1`` days after the cluster's last
    qualifying day (203(c)(6)(iii)), open when the data ends sooner."""
    same = pl.col("cusip") == pl.col("cusip").shift(1)
    gap = pl.col("run_start") - pl.col("run_end").shift(1) - 1
    clusters = runs.sort("cusip", "run_start").with_columns(
        ((~same).fill_null(True) | (gap >= p.days).fill_null(True)).cum_sum().alias("cluster"))
    spells = clusters.group_by("cluster", maintain_order=True).agg(
        pl.col("cusip").first(), pl.col("symbol").drop_nulls().last(),
        pl.col("run_start").filter(pl.col("run_len") >= p.days).min().alias("first_long"),
        pl.col("run_end").max().alias("cluster_end"),
    ).filter(pl.col("first_long").is_not_null())
    return spells.select(
        "cusip", "symbol", (pl.col("first_long") + p.days - 1).alias("start_idx"),
        pl.when(pl.col("cluster_end") + p.days <= last_idx).then(pl.col("cluster_end") + p.days - 1)
        .otherwise(None).alias("end_idx"))


def _dates(spells: pl.DataFrame, days: pl.Series, cal: Calendars, p: ThresholdParams) -> pl.DataFrame:
    """Indices to dates; days on the list and the 13th day from the calendar's settlement days (one array)."""
    index = pl.DataFrame({"i": pl.int_range(0, days.len(), eager=True, dtype=pl.Int64()), "d": days})
    dated = (spells.join(index.rename({"d": "start"}), left_on="start_idx", right_on="i", how="left")
             .join(index.rename({"d": "end"}), left_on="end_idx", right_on="i", how="left"))
    horizon = min(cal.end, days[-1] + dt.timedelta(days=60))
    settle = np.array(cal.settlement_days(days[0], horizon), dtype="datetime64[D]")
    start = dated["start"].to_numpy().astype("datetime64[D]")
    end = dated["end"].to_numpy().astype("datetime64[D]")
    s_pos = np.searchsorted(settle, start)
    last_pos = np.searchsorted(settle, np.datetime64(days[-1], "D"))
    e_pos = np.where(np.isnat(end), last_pos, np.searchsorted(settle, end))
    n13 = s_pos + (p.closeout_days - p.first_list_day)
    has13 = (n13 < len(settle)) & (np.isnat(end) | (n13 <= e_pos))
    day13 = np.where(has13, settle[np.minimum(n13, len(settle) - 1)], np.datetime64("NaT"))
    return dated.select(
        "cusip", "symbol", "start", "end",
        pl.Series("days_on_list", e_pos - s_pos + 1, dtype=pl.Int64()),
        pl.Series("day_13", day13, dtype=pl.Date()),
    ).sort("start", "cusip")


def _unknown(daily: pl.DataFrame, p: ThresholdParams, days: pl.Series, spells: pl.DataFrame) -> pl.DataFrame:
    """Securities with no shares-outstanding count whose fails were >= min_shares for ``days`` consecutive days."""
    rows = daily.filter(pl.col("tso").is_null())
    if rows.height == 0:
        return pl.DataFrame(schema=UNKNOWN_SCHEMA)
    _, runs = _runs(rows)
    long = runs.filter(pl.col("run_len") >= p.days).group_by("cusip").agg(
        pl.col("symbol").last(), (pl.col("run_start").min() + p.days - 1).alias("first_idx"),
        pl.col("max_fails").max())
    return long.select("cusip", "symbol", days.gather(long["first_idx"]).alias("first_possible"),
                       "max_fails").sort("first_possible", "cusip")


def on_list(spells: pl.DataFrame, d: dt.date) -> pl.DataFrame:
    """The spells that carry a security on the list dated ``d``."""
    return spells.filter((pl.col("start") <= d) & (pl.col("end").is_null() | (pl.col("end") >= d)))
