"""The threshold watch for a date: what a stock-loan desk opens at 07:00.

- ``pending``: securities on day 1 to 4 of a qualifying run on the date (17 CFR 242.203(c)(6)(i)): one to four
  more qualifying settlement days put them on the list.
- ``firm``: from the firm's own CNS fail positions (``regsho.adapters.cns``), every
  threshold security in which the firm fails, with the consecutive settlement days it has failed while the
  security was on the list, the settlement days left, and the day a 17 CFR 242.203(b)(3) close-out is due (the
  settlement day after the 13th). Days are counted on the settlement calendar, the list's own date being day 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from regsho.calendars import Calendars, default_calendars
from regsho.marketdata.threshold import ThresholdResult, _runs, norm_symbol


@dataclass(frozen=True, slots=True)
class Watch:
    date: dt.date
    pending: pl.DataFrame  # cusip, symbol, run_day, days_to_list, quantity, tso, pct_tso
    firm: pl.DataFrame  # symbol, cusip, fail_qty, days_failing, days_left, closeout_due


def watch(result: ThresholdResult, d: dt.date, cns: pl.DataFrame | None = None,
          cal: Calendars | None = None) -> Watch:
    cal = cal or default_calendars()
    p = result.params
    days = result.days
    hit = days.search_sorted(d)
    if hit >= days.len() or days[hit] != d:
        raise ValueError(f"{d.isoformat()} is not a settlement day covered by the fails data "
                         f"({days[0]}..{days[-1]})" if days.len() else "no fails data")
    spells = result.spells
    listed = spells.filter((pl.col("start") <= d) & (pl.col("end").is_null() | (pl.col("end") >= d)))
    tagged, runs = _runs(result.daily.filter(pl.col("qualifies")).sort("cusip", "idx"))
    today = tagged.filter(pl.col("idx") == hit).join(runs.select("run", "run_start"), on="run")
    pending = today.with_columns((pl.col("idx") - pl.col("run_start") + 1).alias("run_day")).filter(
        pl.col("run_day") < p.days).join(listed.select("cusip"), on="cusip", how="anti").select(
        "cusip", "symbol", "run_day", (p.days - pl.col("run_day")).alias("days_to_list"), "quantity", "tso",
        (pl.col("quantity") / pl.col("tso") * 100).round(3).alias("pct_tso")).sort("run_day", "quantity",
                                                                                   descending=True)
    firm = _firm(spells, d, cns, cal, p.closeout_days, p.first_list_day) if cns is not None else pl.DataFrame(
        schema={"symbol": pl.String(), "cusip": pl.String(), "fail_qty": pl.Int64(), "days_failing": pl.Int64(),
                "days_left": pl.Int64(), "closeout_due": pl.Date()})
    return Watch(d, pending, firm)


def _firm(spells: pl.DataFrame, d: dt.date, cns: pl.DataFrame, cal: Calendars, closeout_days: int,
          first_day: int) -> pl.DataFrame:
    """Consecutive settlement days up to ``d`` on which the firm failed in a security while it was listed."""
    settle = np.array(cal.settlement_days(max(cal.start, d - dt.timedelta(days=400)), d), dtype="datetime64[D]")
    pos = pl.DataFrame({"date": pl.Series(settle, dtype=pl.Date()),
                        "idx": pl.int_range(0, len(settle), eager=True, dtype=pl.Int64())})
    sp = spells.with_columns(norm_symbol(pl.col("symbol").fill_null("")).alias("_sym"),
                             pl.col("end").fill_null(d).alias("_end"))
    rows = cns.filter((pl.col("date") <= d) & (pl.col("fail_qty") > 0)).join(pos, on="date")
    by_cusip = rows.filter(pl.col("key_kind") == "cusip").join(sp, left_on="key", right_on="cusip").with_columns(
        pl.col("key").alias("cusip"))
    by_sym = rows.filter(pl.col("key_kind") == "symbol").with_columns(norm_symbol(pl.col("key")).alias("_k")).join(
        sp, left_on="_k", right_on="_sym")
    cols = ["key", "date", "idx", "fail_qty", "cusip", "symbol", "start", "_end"]
    on = pl.concat([by_cusip.select(cols), by_sym.select(cols)]).filter(
        (pl.col("date") >= pl.col("start")) & (pl.col("date") <= pl.col("_end"))).unique(["key", "date"])
    last = len(settle) - 1
    if on.height == 0:
        return pl.DataFrame(schema={"symbol": pl.String(), "cusip": pl.String(), "fail_qty": pl.Int64(),
                                    "days_failing": pl.Int64(), "days_left": pl.Int64(), "closeout_due": pl.Date()})
    tagged, runs = _runs(on.select(pl.col("key").alias("cusip"), "symbol", "idx", pl.col("fail_qty").alias("quantity"),
                                   pl.col("cusip").alias("_c")).sort("cusip", "idx"))
    current = runs.filter(pl.col("run_end") == last)
    today = tagged.filter(pl.col("idx") == last).select("run", "quantity", "_c")
    out = current.join(today, on="run").with_columns(
        (pl.col("run_end") - pl.col("run_start") + 1).alias("days_failing"))
    due_pos = out["run_start"].to_numpy() + (closeout_days - first_day) + 1
    ext = np.array(cal.settlement_days(d, min(cal.end, d + dt.timedelta(days=60))), dtype="datetime64[D]")
    full = np.concatenate([settle, ext[1:]])
    due = full[np.minimum(due_pos, len(full) - 1)]
    return out.select(
        pl.col("symbol"), pl.col("_c").alias("cusip"), pl.col("quantity").alias("fail_qty"), "days_failing",
        (closeout_days - pl.col("days_failing")).alias("days_left"),
        pl.Series("closeout_due", due, dtype=pl.Date())).sort("days_left", "symbol")
