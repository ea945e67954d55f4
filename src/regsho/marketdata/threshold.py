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
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

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
    daily: pl.DataFrame  # rows of >= min_shares (unsorted): settlement_date, idx, cusip, symbol, quantity, tso,
    # qualifies
    days: pl.Series  # the covered settlement days, sorted (idx is the position in it)
    params: ThresholdParams

    @property
    def unknown_count(self) -> int:
        return self.unknown.height


def norm_symbol(col: pl.Expr) -> pl.Expr:
    """Symbols compared without class punctuation (``BRK.B``, ``BRK/B``, ``BRK-B`` and ``BRKB`` are one)."""
    return col.str.to_uppercase().str.replace_all(r"[.\-/ ^]", "")


@dataclass(frozen=True, slots=True)
class PreparedShares:
    """Shares-outstanding counts split once for joining: per kind of key, the securities with one count (a hash
    join gives it on every date) and those with several (an as-of join by date)."""

    single: tuple[tuple[str, pl.DataFrame], ...]
    dated: tuple[tuple[str, pl.DataFrame], ...]

    @staticmethod
    def of(shares: pl.DataFrame) -> PreparedShares:
        s = shares.with_columns(pl.when(pl.col("key_kind") == "symbol").then(norm_symbol(pl.col("key")))
                                .otherwise(pl.col("key")).alias("key"))
        single, dated = [], []
        for kind, by in (("cusip", "cusip"), ("symbol", "_sym")):
            right = s.filter(pl.col("key_kind") == kind).with_columns(pl.len().over("key").alias("_n"))
            one = right.filter(pl.col("_n") == 1).select(pl.col("key").alias(by), pl.col("shares"))
            many = right.filter(pl.col("_n") > 1).select(pl.col("key").alias(by),
                                                         pl.col("date").fill_null(_FAR_PAST), "shares").sort("date")
            if one.height:
                single.append((by, one))
            if many.height:
                dated.append((by, many))
        return PreparedShares(tuple(single), tuple(dated))


def attach_shares(rows: pl.DataFrame, shares: pl.DataFrame | PreparedShares) -> pl.DataFrame:
    """``rows`` (settlement_date, cusip, symbol, ...) with ``tso``: the count in force on the date, by CUSIP first,
    then by symbol; a count dated after the date is used when none precedes it; null when none is known."""
    prep = shares if isinstance(shares, PreparedShares) else PreparedShares.of(shares)
    out = rows
    names = []
    if any(by == "_sym" for by, _ in (*prep.single, *prep.dated)):
        # a symbol repeats from day to day: normalised once each, single counts looked up once each
        syms = rows.select(pl.col("symbol").unique()).with_columns(
            norm_symbol(pl.col("symbol").fill_null("")).alias("_sym"))
        for i, (by, one) in enumerate(prep.single):
            if by == "_sym":
                syms = syms.join(one.rename({"shares": f"_tso_one_{i}"}), on="_sym", how="left")
                names.append(f"_tso_one_{i}")
        # joined on the symbol's hash when that tells the symbols apart (counted), else on the text
        hashed = syms.with_columns(pl.col("symbol").hash(11).alias("_hs"))
        if hashed["_hs"].n_unique() == hashed.height:
            out = out.with_columns(pl.col("symbol").hash(11).alias("_hs")).join(
                hashed.drop("symbol"), on="_hs", how="left").drop("_hs")
        else:
            out = out.join(syms, on="symbol", how="left", nulls_equal=True)
    for i, (by, one) in enumerate(prep.single):
        name = f"_tso_one_{i}"
        if by != "_sym":
            out = out.join(one.rename({"shares": name}), on=by, how="left")
            names.append(name)
    for i, (by, many) in enumerate(prep.dated):
        out = out.sort("settlement_date")
        for strategy in ("backward", "forward"):
            name = f"_tso_{strategy}_{i}"
            out = out.join_asof(many.rename({"shares": name}), left_on="settlement_date", right_on="date", by=by,
                                strategy=strategy, check_sortedness=False).drop("date")
            names.append(name)
    # precedence: CUSIP before symbol; within a kind a security has either one count or several
    order = sorted(names, key=lambda n: 0 if _kind_of(n, prep) == "cusip" else 1)
    tso = pl.coalesce(*order) if order else pl.lit(None, pl.Int64())
    return out.with_columns(tso.alias("tso")).drop(*names, *(["_sym"] if "_sym" in out.columns else []))


def _kind_of(name: str, prep: PreparedShares) -> str:
    i = int(name.rsplit("_", 1)[1])
    by = (prep.single if "_one_" in name else prep.dated)[i][0]
    return "cusip" if by == "cusip" else "symbol"


def _runs(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Runs of consecutive ``idx`` per CUSIP (rows sorted by cusip, idx): the rows tagged with their run, and one row
    per run with its start, end, length, last symbol and largest fail."""
    same = pl.col("cusip") == pl.col("cusip").shift(1)
    new = (~same).fill_null(True) | ((pl.col("idx") - pl.col("idx").shift(1)) != 1).fill_null(True)
    tagged = rows.with_columns(new.cum_sum().alias("run"))
    return tagged, tagged.group_by("run", maintain_order=True).agg(
        pl.col("cusip").first(), pl.col("symbol").drop_nulls().last(), pl.col("idx").min().alias("run_start"),
        pl.col("idx").max().alias("run_end"), pl.len().alias("run_len"), pl.col("quantity").max().alias("max_fails"))


_ROWS: Final = pl.Schema({"cusip": pl.String(), "symbol": pl.String(), "idx": pl.Int64(), "quantity": pl.Int64(),
                          "forced_start": pl.Int64()})


#: Days are indexed below this power of two, so that a security's hash above the day's index is one sort key.
_IDX_BITS: Final = 20
_NONE: Final = np.iinfo(np.int64).max  # no day (a missing start)
_SPLIT: Final = 50_000  # rows above which the clusters are found in two halves, in parallel


def _order(rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The order of ``rows`` by security, then day, and in that order where a new security begins.

    One integer sort on the CUSIP's hash above the day's index; the text of the CUSIPs in that order must change
    exactly where the hash does (else two CUSIPs share a hash and the rows are sorted on the text)."""
    top = rows["idx"].max()
    if top is not None and int(top) < (1 << _IDX_BITS):  # type: ignore[arg-type]
        key = rows.select(pl.col("cusip").hash(7) // (1 << _IDX_BITS) * (1 << _IDX_BITS)
                          + pl.col("idx").cast(pl.UInt64())).to_series()
        order = key.arg_sort().to_numpy()
        sec = key.to_numpy()[order] >> _IDX_BITS
        new = np.ones(len(order), dtype=bool)
        new[1:] = sec[1:] != sec[:-1]
        text = rows["cusip"].gather(order)
        if (new[1:] == (text.slice(1) != text.slice(0, len(text) - 1)).to_numpy()).all():
            return order, new
    order = rows.select(pl.arg_sort_by("cusip", "idx")).to_series().to_numpy()
    text = rows["cusip"].gather(order)
    new = np.ones(len(order), dtype=bool)
    new[1:] = (text.slice(1) != text.slice(0, len(text) - 1)).to_numpy()
    return order, new


def _clusters(rows: pl.DataFrame, p: ThresholdParams, last_idx: int, final: bool
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Spells decided by the data so far, and the rows to carry into the next chunk.

    ``rows`` are the days a predicate holds (cusip, symbol, idx, quantity, forced_start), carried rows included.
    Runs of consecutive days are grouped into clusters separated by fewer than ``days`` days without it; a cluster
    with a run of ``days`` or more (or a carried ``forced_start``: already listed) is a spell from that run's
    ``days``-th day to ``days - 1`` days after the cluster's last day (203(c)(6)(iii)). A cluster is decided once
    ``days`` days have passed after its last day; otherwise it is carried: a listed one as one row holding its
    start, an unlisted one as the rows of its last run (fewer than ``days``).

    One sort; then, as the rows of a cluster are contiguous, runs, clusters and each row's place in its run come
    from comparisons with the row before, and each cluster's figures from one segmented reduction.
    """
    n = p.days
    order, new_sec = _order(rows)
    idx = rows["idx"].to_numpy()[order]
    qty = rows["quantity"].to_numpy()[order]
    forced = rows["forced_start"].fill_null(_NONE).to_numpy()[order]
    has_symbol = rows["symbol"].is_not_null().to_numpy()[order]
    step = np.diff(idx, prepend=idx[:1])
    new_run = new_sec | (step != 1)
    new_cluster = new_sec | (step > n)
    row = np.arange(len(idx))
    pos = row - np.maximum.accumulate(np.where(new_run, row, 0))  # the row's place in its run, from 0
    run = np.cumsum(new_run)
    first = np.flatnonzero(new_cluster)
    last = np.append(first[1:], len(idx)) - 1
    start = np.minimum(np.minimum.reduceat(forced, first),
                       np.minimum.reduceat(np.where(pos == n - 1, idx, _NONE), first))
    listed = start != _NONE
    end = idx[last]
    max_fails = np.maximum.reduceat(qty, first)
    sym_row = np.maximum.reduceat(np.where(has_symbol, row, -1), first)  # the last row giving a symbol

    def per(which: np.ndarray) -> pl.DataFrame:
        sym = rows["symbol"].gather(order[np.maximum(sym_row[which], 0)])
        return pl.DataFrame({"cusip": rows["cusip"].gather(order[first[which]]),
                             "symbol": sym.zip_with(pl.Series(sym_row[which] >= 0), pl.Series([None], dtype=sym.dtype)),
                             "start_idx": pl.Series(start[which], dtype=pl.Int64()),
                             "end": pl.Series(end[which], dtype=pl.Int64()),
                             "max_fails": pl.Series(max_fails[which], dtype=pl.Int64())})

    decided = end + n <= last_idx
    spells = per(listed & (decided | final)).select(
        "cusip", "symbol", "start_idx",
        pl.when(pl.col("end") + n <= last_idx).then(pl.col("end") + n - 1).otherwise(None).alias("end_idx"),
        "max_fails")
    if final:
        return spells, pl.DataFrame(schema=_ROWS)
    carried = per(listed & ~decided).select(
        "cusip", "symbol", pl.col("end").alias("idx"), pl.col("max_fails").alias("quantity"),
        pl.col("start_idx").alias("forced_start"))
    # the rows of an unlisted open cluster's last run, each carrying the cluster's largest fail so far
    cluster = np.cumsum(new_cluster) - 1
    keep = (~listed & ~decided)[cluster] & (run == run[last][cluster])
    pending = rows[order[keep]].select("cusip", "symbol", "idx").with_columns(
        pl.Series("quantity", max_fails[cluster[keep]], dtype=pl.Int64()),
        pl.lit(None, pl.Int64()).alias("forced_start"))
    return spells, pl.concat([carried, pending], how="vertical_relaxed").cast(_ROWS)


class Computation:
    """Threshold spells over fails data fed in date order, one chunk at a time (a file, a year): memory holds one
    chunk and the clusters still open, not the history."""

    def __init__(self, shares: pl.DataFrame, cal: Calendars | None = None, keep_daily: bool = True) -> None:
        self.shares = PreparedShares.of(shares)
        self.cal = cal or default_calendars()
        self.keep_daily = keep_daily
        self.params: ThresholdParams | None = None
        self.days: list[pl.Series] = []
        self.n_days = 0
        self.carry = pl.DataFrame(schema=_ROWS)
        self.carry_unknown = pl.DataFrame(schema=_ROWS)
        self.spells: list[pl.DataFrame] = []
        self.unknown: list[pl.DataFrame] = []
        self.daily: list[pl.DataFrame] = []
        self.rows = 0
        self.finished = False

    def add(self, fails: pl.DataFrame, last: bool = False) -> None:
        """The next chunk of fails rows: every date after those of the previous chunks (``last``: no more will
        come, which saves carrying the open clusters)."""
        if self.finished:
            raise ValueError("the computation has already been given its last chunk")
        days = fails.select(pl.col("settlement_date").unique().sort()).to_series()
        if days.len() == 0:
            return
        if self.days and days[0] <= self.days[-1][-1]:
            raise ValueError(f"fails data must come in date order: {days[0]} after {self.days[-1][-1]}")
        p = ThresholdParams.over(days[0], days[-1])
        if self.params is not None and p != self.params:
            raise params.RegimeError(f"threshold parameters change at {days[0]}; compute the spans separately")
        self.params = p
        big = fails.lazy().filter(pl.col("quantity") >= p.min_shares).select(
            "settlement_date", "cusip", "symbol", "quantity").collect()
        # a day's index: its position among the chunk's days (sorted), after the days of the chunks before
        idx = pl.Series("idx", days.search_sorted(big["settlement_date"]), dtype=pl.Int64()) + self.n_days
        self.days.append(days)
        self.n_days += days.len()
        self.rows += fails.height
        daily = attach_shares(big.with_columns(idx), self.shares).select(
            "settlement_date", "cusip", "symbol", "quantity", "tso", "idx",
            (pl.col("tso").is_not_null() & (pl.col("quantity") >= pl.col("tso") * p.min_fraction)).alias("qualifies"))
        if self.keep_daily:
            self.daily.append(daily)
        self._step(daily, final=last)
        self.finished = last

    def _step(self, daily: pl.DataFrame | None, final: bool) -> None:
        assert self.params is not None
        p, last = self.params, self.n_days - 1
        jobs: list[tuple[str, pl.DataFrame]] = []
        for which in ("q", "u"):
            carry = self.carry if which == "q" else self.carry_unknown
            parts = [carry]
            if daily is not None:
                pred = pl.col("qualifies") if which == "q" else pl.col("tso").is_null()
                parts.insert(0, daily.filter(pred).select(
                    "cusip", "symbol", "idx", "quantity", pl.lit(None, pl.Int64()).alias("forced_start")))
            rows = pl.concat(parts, how="vertical_relaxed")
            if rows.height > _SPLIT:  # two halves by CUSIP (a security's rows all in one), one per core
                half = rows.select(pl.col("cusip").hash(5) % 2 == 0).to_series()
                jobs += [(which, h) for h in (rows.filter(half), rows.filter(~half)) if h.height]
            elif rows.height:
                jobs.append((which, rows))
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1, max(len(jobs), 1))) as pool:
            done = list(pool.map(lambda job: _clusters(job[1], p, last, final), jobs))
        for which in ("q", "u"):
            got = [d for (w, _), d in zip(jobs, done, strict=True) if w == which]
            if not got:
                continue
            carry = pl.concat([c for _, c in got], how="vertical_relaxed")
            if which == "q":
                self.carry = carry
                self.spells += [sp for sp, _ in got]
            else:
                self.carry_unknown = carry
                self.unknown += [sp for sp, _ in got]

    def result(self) -> ThresholdResult:
        """The spells once every chunk is in (spells still open at the end of the data have no end)."""
        if self.params is None:
            return ThresholdResult(pl.DataFrame(schema=SPELL_SCHEMA), pl.DataFrame(schema=UNKNOWN_SCHEMA),
                                   pl.DataFrame(), pl.Series("settlement_date", [], dtype=pl.Date()),
                                   ThresholdParams.over(self.cal.end, self.cal.end))
        if not self.finished:
            self._step(None, final=True)
            self.finished = True
        days = pl.concat(self.days).alias("settlement_date")
        raw = pl.concat(self.spells) if self.spells else pl.DataFrame(
            schema={"cusip": pl.String(), "symbol": pl.String(), "start_idx": pl.Int64(), "end_idx": pl.Int64(),
                    "max_fails": pl.Int64()})
        spells = _dates(raw.drop("max_fails"), days, self.cal, self.params)
        unknown_raw = pl.concat(self.unknown) if self.unknown else pl.DataFrame(schema=raw.schema)
        unknown = unknown_raw.sort("start_idx").group_by("cusip", maintain_order=True).agg(
            pl.col("symbol").drop_nulls().last(), pl.col("start_idx").min(), pl.col("max_fails").max())
        unknown = unknown.join(pl.DataFrame({"start_idx": pl.int_range(0, days.len(), eager=True, dtype=pl.Int64()),
                                             "first_possible": days}), on="start_idx").select(
            "cusip", "symbol", "first_possible", "max_fails").sort("first_possible", "cusip")
        daily = pl.concat(self.daily) if self.daily else pl.DataFrame()
        return ThresholdResult(spells, unknown.cast(UNKNOWN_SCHEMA), daily, days, self.params)


def compute(fails: pl.DataFrame, shares: pl.DataFrame, cal: Calendars | None = None) -> ThresholdResult:
    """Threshold spells (17 CFR 242.203(c)(6)(i), (iii)) from a fails table (``regsho.adapters.sec_fails``) and a
    shares-outstanding table (``regsho.adapters.shares``)."""
    comp = Computation(shares, cal)
    comp.add(fails, last=True)
    return comp.result()


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


def on_list(spells: pl.DataFrame, d: dt.date) -> pl.DataFrame:
    """The spells that carry a security on the list dated ``d``."""
    return spells.filter((pl.col("start") <= d) & (pl.col("end").is_null() | (pl.col("end") >= d)))
