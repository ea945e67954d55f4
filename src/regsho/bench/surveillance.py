"""``regsho bench surveillance``: the market-making review over one synthetic day (default 10M quotes, 100
symbols, 20 market makers), from Parquet files to metrics, findings and verdicts, in quotes per second; next to it,
the time the same engine takes merely to scan the same files, measured in the same run."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from regsho.adapters.quotes import ny_day
from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy
from regsho.surveillance.day import DayFrame
from regsho.surveillance.engine_polars import aggregate, pieces

DAY = dt.date(2012, 6, 21)


def _make(dirpath: Path, n_quotes: int, n_symbols: int, n_makers: int) -> tuple[Path, Path, int, int]:
    per_pair = max(1, n_quotes // (n_symbols * n_makers))
    updates = max(10, per_pair * 4)  # NBBO changes per symbol; makers refresh on a quarter of them
    nbbo = sy.synthetic_nbbo(DAY, n_symbols, updates, seed=1)
    profiles = ("honest",) * 14 + ("one_sided", "pegged", "order_only", "mornings", "not_firm", "honest")
    makers = tuple(sy.Maker(f"MM{i:02d}", profiles[i % len(profiles)]) for i in range(n_makers))
    s = sy.generate(nbbo, makers, seed=1, update_prob=0.25)
    qp, np_ = dirpath / "quotes.parquet", dirpath / "nbbo.parquet"
    s.quotes.sort("symbol", "mm_id", "ts", maintain_order=True).write_parquet(qp)
    nbbo.drop("day").sort("symbol", "ts").write_parquet(np_)
    return qp, np_, s.quotes.height, nbbo.height


def _scan(qp: Path, np_: Path) -> float:
    t0 = time.perf_counter()
    q = pl.read_parquet(qp)
    n = pl.read_parquet(np_)
    q.select(pl.col("ts").sum(), pl.col("bid").sum(), pl.col("ask").sum())
    n.select(pl.col("ts").sum())
    return time.perf_counter() - t0


def _review(qp: Path, np_: Path, engine: str) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    q = pl.read_parquet(qp).with_columns(day=ny_day(pl.col("ts")))
    n = pl.read_parquet(np_).with_columns(day=ny_day(pl.col("ts")))
    t1 = time.perf_counter()
    m = me.compute(me.Inputs(q, n), engine)
    rv = fi.review(m)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, len(rv.verdicts)


def run(n_quotes: int, n_symbols: int, n_makers: int, repeat: int, engine: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="regsho-bench-surv-") as d:
        t0 = time.perf_counter()
        qp, np_, nq, nn = _make(Path(d), n_quotes, n_symbols, n_makers)
        yield (f"generated {nq:,} quotes ({n_symbols} symbols x {n_makers} market makers) and {nn:,} NBBO updates "
               f"for {DAY} in {time.perf_counter() - t0:.1f} s")
        DayFrame.of(DAY)  # load the exchange calendar once, outside the timings
        scans = [_scan(qp, np_) for _ in range(max(1, repeat))]
        runs = [_review(qp, np_, engine) for _ in range(max(1, repeat))]
        scan = statistics.median(scans)
        total = statistics.median(r[0] for r in runs)
        read = statistics.median(r[1] for r in runs)
        # where the time goes: the pieces (sort + as-of joins) alone, on the frames already read
        q = pl.read_parquet(qp).with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64))
        n = pl.read_parquet(np_).with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64))
        f = DayFrame.of(DAY)
        pairs = q.select("symbol", "mm_id").unique().sort("symbol", "mm_id").with_columns(tier1=pl.lit(True))
        empty = pl.DataFrame(schema={"ts": pl.Int64, "end_ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String})
        tp = time.perf_counter()
        pc = pieces(f, q, n, empty, pairs)
        tp = time.perf_counter() - tp
        npieces = pc.height
        ta = time.perf_counter()
        aggregate(f, pc)
        ta = time.perf_counter() - ta
        del pc
        yield f"engine: {engine}; runs: {len(runs)} (median); machine: {_machine()}"
        yield f"scan both Parquet files (baseline):      {scan:8.3f} s   {nq / scan:14,.0f} quotes/s"
        yield (f"review, Parquet -> verdicts:             {total:8.3f} s   {nq / total:14,.0f} quotes/s   "
               f"({total / scan:.1f}x the scan)")
        yield f"  of which reading + New York dates:    {read:8.3f} s"
        yield (f"  pieces alone (sort check, merge, as-of): {tp:7.3f} s   {npieces:,} pieces "
               f"({npieces / nq:.2f} per quote)")
        yield f"  metrics SQL over the pieces alone:    {ta:8.3f} s"
        target = 5_000_000
        yield f"target >= {target:,} quotes/s: {'met' if nq / total >= target else 'NOT met'}"


def _machine() -> str:
    import os

    try:
        load = os.getloadavg()
        return f"{os.cpu_count()} cores, load average {load[0]:.2f}"
    except OSError:
        return f"{os.cpu_count()} cores"
