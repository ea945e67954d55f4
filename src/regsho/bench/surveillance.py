"""``regsho bench surveillance``: the market-making review over one synthetic day (default 10M quotes, 100
symbols, 20 market makers), from Parquet files read and validated as ``regsho surveil`` reads them
(``regsho.adapters.quotes``) to metrics, findings and verdicts, in quotes per second, with the time of each
stage; next to it, the time merely to scan the same files, measured in the same runs (interleaved). The compiled
engine's warm-up (compiling its kernels, or loading them from Numba's cache) is reported apart."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from regsho.adapters.quotes import read_nbbo, read_quotes
from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy
from regsho.surveillance.day import DayFrame

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


def _scan(qp: Path, np_: Path) -> tuple[float, float]:
    """Wall and CPU seconds merely to read both files and touch their columns."""
    t0, c0 = time.perf_counter(), time.process_time()
    q = pl.read_parquet(qp)
    n = pl.read_parquet(np_)
    q.select(pl.col("ts").sum(), pl.col("bid").sum(), pl.col("ask").sum())
    n.select(pl.col("ts").sum())
    return time.perf_counter() - t0, time.process_time() - c0


STAGES = ("read", "engine", "metrics", "review")
_LABELS = {
    "read": "read and validate both files, NY dates",
    "engine": "engine: order check, merge, window sums",
    "metrics": "metrics: pairs, days, trade sums, shares",
    "review": "findings and verdicts",
}


def _review(qp: Path, np_: Path, engine: str) -> tuple[float, dict[str, float], int, int, float]:
    """One whole review from the files: the total, the seconds of each stage, verdicts, findings, CPU seconds."""
    fn = me.engine_fn(engine)
    took = {k: 0.0 for k in STAGES}

    def timed_engine(*a: Any) -> pl.DataFrame:
        t = time.perf_counter()
        out = fn(*a)
        took["engine"] += time.perf_counter() - t
        return out

    c0 = time.process_time()
    t0 = time.perf_counter()
    q = read_quotes(qp)
    n = read_nbbo(np_)
    t1 = time.perf_counter()
    m = me.compute(me.Inputs(q, n), timed_engine)
    t3 = time.perf_counter()
    rv = fi.review(m)
    t4 = time.perf_counter()
    took.update(read=t1 - t0, metrics=t3 - t1 - took["engine"], review=t4 - t3)
    return t4 - t0, took, len(rv.verdicts), len(rv.findings), time.process_time() - c0


def _warm_up(engine: str) -> str:
    if engine != "numba":
        return "none (no compiled kernels)"
    from regsho.surveillance import engine_numba as en

    secs = en.warm_up()
    _, misses = en.cache_stats()
    how = "loaded from Numba's cache" if misses == 0 else f"compiled ({misses} kernels not in Numba's cache)"
    return f"{secs:.2f} s, {how}"


def run(n_quotes: int, n_symbols: int, n_makers: int, repeat: int, engine: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="regsho-bench-surv-") as d:
        t0 = time.perf_counter()
        qp, np_, nq, nn = _make(Path(d), n_quotes, n_symbols, n_makers)
        yield (f"generated {nq:,} quotes ({n_symbols} symbols x {n_makers} market makers) and {nn:,} NBBO updates "
               f"for {DAY} in {time.perf_counter() - t0:.1f} s")
        DayFrame.of(DAY)  # load the exchange calendar once, outside the timings
        yield f"engine: {engine}; warm-up of the kernels (not in the timings): {_warm_up(engine)}"
        scans: list[tuple[float, float]] = []
        runs: list[tuple[float, dict[str, float], int, int, float]] = []
        for _ in range(max(1, repeat)):  # interleaved, so that both see the same load
            scans.append(_scan(qp, np_))
            runs.append(_review(qp, np_, engine))
        scan = statistics.median(x[0] for x in scans)
        scan_cpu = statistics.median(x[1] for x in scans)
        total = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[4] for r in runs)
        yield f"runs: {len(runs)} (median); machine: {_machine()}"
        yield (f"scan both Parquet files (baseline):        {scan:8.3f} s   {nq / scan:14,.0f} quotes/s   "
               f"(CPU {scan_cpu:.3f} s)")
        yield (f"review, Parquet -> verdicts:               {total:8.3f} s   {nq / total:14,.0f} quotes/s   "
               f"({total / scan:.1f}x the scan; CPU {cpu:.3f} s, {cpu / scan_cpu:.1f}x the scan's)")
        for k in STAGES:
            yield f"  {_LABELS[k] + ':':41s}{statistics.median(r[1][k] for r in runs):8.3f} s"
        yield f"  ({runs[0][2]:,} verdicts, {runs[0][3]:,} findings)"
        yield "each run: " + ", ".join(f"{r[0]:.2f} s" for r in runs) + "; scans: " + ", ".join(
            f"{x[0]:.2f} s" for x in scans)
        target = 5_000_000
        yield f"target >= {target:,} quotes/s: {'met' if nq / total >= target else 'NOT met'}"


def _machine() -> str:
    import os

    try:
        load = os.getloadavg()
        return f"{os.cpu_count()} cores, load average {load[0]:.2f}"
    except OSError:
        return f"{os.cpu_count()} cores"
