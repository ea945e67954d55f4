"""The columnar engine (Polars): pieces from sorted streams of points on one packed integer key, metrics by the
shared SQL.

A point is the start of a piece: every quote, every NBBO change of the symbol, every window start and band-regime
change, and every change in the customer orders held. Points of one (symbol, mm_id) pair are packed as
``gid << 45 | (t - open)`` (regular hours are < 2^45 ns), so one int64 orders them. Each source yields its points
already in that order (quotes sorted by pair and time; the NBBO expanded pair by pair in time order), so a stable
sort merges the four sorted runs in linear time (NumPy's timsort), and the quote, NBBO and order state in force at
each point is the running maximum of each stream's row number — an as-of with no join. A state carried over from
the previous pair is recognised by its pair and dropped.

The plan is only right on sorted input: every input is checked for order (one pass) and sorted when it is not.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from regsho.surveillance.day import DayFrame
from regsho.surveillance.sql import metrics_query

SHIFT = 45
SCALE = 1 << SHIFT
_I = pl.Int64


def _sorted_or_sort(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``df`` sorted by ``by`` (stable); the check is a single pass, the sort only runs if it is needed."""
    if df.height < 2:
        return df
    prev_equal: pl.Expr | None = None
    conds = []
    for c in by:
        down = pl.col(c) < pl.col(c).shift(1)
        conds.append(down if prev_equal is None else (prev_equal & down))
        eq = pl.col(c) == pl.col(c).shift(1)
        prev_equal = eq if prev_equal is None else (prev_equal & eq)
    bad = df.select(pl.any_horizontal(conds).fill_null(False).any()).item()
    return df.sort(by, maintain_order=True) if bad else df


def _runs(df: pl.DataFrame, keys: list[str], table: pl.DataFrame, id_col: str) -> pl.Series:
    """For ``df`` sorted by ``keys``: the id of each row's key in ``table`` (keys -> id_col), by runs, without a
    row-by-row join."""
    brk = pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in keys]).fill_null(True)
    marked = df.select(*keys, brk.alias("brk"))
    run = marked.get_column("brk").cast(_I).cum_sum() - 1
    firsts = marked.filter(pl.col("brk")).select(keys).join(table.select(*keys, id_col), on=keys, how="left",
                                                            maintain_order="left")
    return firsts.get_column(id_col).gather(run)


def _last_per_key(df: pl.DataFrame, key: str) -> pl.DataFrame:
    """Keep the last row of each run of equal ``key`` (the input is sorted by key then arrival)."""
    return df.filter((pl.col(key) != pl.col(key).shift(-1)).fill_null(True))


def pieces(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
           pairs: pl.DataFrame, presorted: bool = False) -> pl.DataFrame:
    """All pieces of the day (``regsho.surveillance.sql``), with ``gid`` (the pair's index in ``pairs`` sorted by
    symbol and mm_id) in place of symbol and mm_id. ``pairs`` (symbol, mm_id, tier1) names every pair reviewed;
    quotes (symbol, mm_id, ts, seq, bid, ask, displayed, firm), nbbo (symbol, ts, seq, bid, ask) and orders
    (symbol, mm_id, ts, end_ts) are that day's rows; ``presorted`` skips the order check when the caller made it."""
    o, c = f.open, f.close
    pairs = _pairs(pairs)
    syms = pairs.select("symbol", "sid").unique(maintain_order=True)

    q = quotes.filter(pl.col("ts") < c)
    q = q if presorted else _sorted_or_sort(q, ["symbol", "mm_id", "ts", "seq"])
    q = q.with_columns(gid=_runs(q, ["symbol", "mm_id"], pairs, "gid"))
    q = q.filter(pl.col("gid").is_not_null()).select(
        "gid", (pl.col("gid") * SCALE + (pl.max_horizontal("ts", pl.lit(o)) - o)).alias("k"),
        "bid", "ask", "displayed", "firm")
    q = _last_per_key(q, "k")

    n = nbbo.filter(pl.col("ts") < c)
    n = n if presorted else _sorted_or_sort(n, ["symbol", "ts", "seq"])
    n = n.with_columns(sid=_runs(n, ["symbol"], syms, "sid"))
    n = n.filter(pl.col("sid").is_not_null()).select(
        "sid", (pl.col("sid") * SCALE + (pl.max_horizontal("ts", pl.lit(o)) - o)).alias("nk"), "bid", "ask")
    n = _last_per_key(n, "nk")
    same = (pl.col("sid") == pl.col("sid").shift(1)) & pl.col("bid").eq_missing(pl.col("bid").shift(1)) & \
        pl.col("ask").eq_missing(pl.col("ask").shift(1))
    n = n.filter(~same.fill_null(False))

    # The points of the four streams, each already in key order.
    qk = q.get_column("k").to_numpy()
    nsid = n.get_column("sid").to_numpy()
    noff = (n.get_column("nk") % SCALE).to_numpy()
    psid = pairs.get_column("sid").to_numpy()
    sid_start = np.searchsorted(nsid, psid, side="left")
    sid_end = np.searchsorted(nsid, psid, side="right")
    counts = sid_end - sid_start
    b_gid = np.repeat(np.arange(psid.size, dtype=np.int64), counts)
    first_out = np.cumsum(counts) - counts
    b_ni = np.arange(b_gid.size, dtype=np.int64) - np.repeat(first_out - sid_start, counts)
    bk = b_gid * SCALE + noff[b_ni]
    bounds = np.array([x - o for x in f.boundaries()], dtype=np.int64)
    ck = (np.arange(psid.size, dtype=np.int64)[:, None] * SCALE + bounds[None, :]).ravel()
    ev = _order_events(f, orders, pairs)
    dk = ev.get_column("k").to_numpy()
    keys = np.concatenate([qk, bk, ck, dk])
    src = np.concatenate([np.zeros(qk.size, np.int8), np.ones(bk.size, np.int8), np.full(ck.size, 2, np.int8),
                          np.full(dk.size, 3, np.int8)])
    # a stable sort of four sorted runs: timsort merges them in linear time
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    src = src[order]
    # as-of by running maximum of each stream's row number (rows of a stream are in key order)
    pos = np.concatenate([np.arange(qk.size), np.arange(bk.size), np.zeros(ck.size, np.int64),
                          np.arange(dk.size)])[order]

    def latest(stream: int) -> npt.NDArray[np.int64]:
        x = np.where(src == stream, pos, -1)
        return np.maximum.accumulate(x) if x.size else x

    qi, bi, di = latest(0), latest(1), latest(3)
    last = np.ones(keys.size, dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    keys, qi, bi, di = keys[last], qi[last], bi[last], di[last]
    gid = keys // SCALE
    off = keys % SCALE
    nxt_same = np.zeros(keys.size, dtype=bool)
    nxt_same[:-1] = gid[1:] == gid[:-1]
    dur = np.where(nxt_same, np.roll(keys, -1) - keys, (c - o) - off)
    q_gid = q.get_column("gid").to_numpy()
    q_ok = (qi >= 0) & (q_gid[np.clip(qi, 0, None)] == gid) if q_gid.size else np.zeros(keys.size, dtype=bool)
    n_ok = (bi >= 0) & (b_gid[np.clip(bi, 0, None)] == gid) if b_gid.size else np.zeros(keys.size, dtype=bool)
    ni = b_ni[np.clip(bi, 0, None)] if b_gid.size else np.zeros(keys.size, dtype=np.int64)
    e_gid = ev.get_column("gid").to_numpy()
    held = ev.get_column("held").to_numpy()
    h_ok = (di >= 0) & (e_gid[np.clip(di, 0, None)] == gid) if e_gid.size else np.zeros(keys.size, dtype=bool)
    hold = h_ok & (held[np.clip(di, 0, None)] > 0) if e_gid.size else h_ok
    tier = pairs.get_column("tier1").to_numpy()

    pts = pl.DataFrame({
        "gid": gid, "w": off // f.window, "t": off + o, "dur": dur,
        "edge": (off < f.edge_open - o) | (off >= f.edge_close - o), "tier1": tier[gid],
        "qi": pl.Series(np.where(q_ok, qi, 0)).set(pl.Series(~q_ok), None),
        "ni": pl.Series(ni).set(pl.Series(~n_ok), None), "hold": hold,
    })
    qcols = ["bid", "ask", "displayed", "firm"]
    return pts.select(
        "gid", "w", "t", "dur", "edge", "tier1",
        *[pl.lit(q.get_column(x)).gather(pl.col("qi")).alias(x) for x in qcols],
        pl.lit(n.get_column("bid")).gather(pl.col("ni")).alias("nbb"),
        pl.lit(n.get_column("ask")).gather(pl.col("ni")).alias("nbo"),
        "hold")


def _pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    pairs = pairs.sort("symbol", "mm_id").with_columns(gid=pl.int_range(pl.len(), dtype=_I))
    return pairs.with_columns(sid=(pl.col("symbol") != pl.col("symbol").shift(1)).fill_null(True).cast(_I).cum_sum()
                              - 1)


def _order_events(f: DayFrame, orders: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """(k, gid, held): the number of customer orders held from each change on, per pair."""
    o, c = f.open, f.close
    od = orders.filter((pl.col("ts") < c) & (pl.col("end_ts").is_null() | (pl.col("end_ts") > o)))
    od = od.join(pairs.select("symbol", "mm_id", "gid"), on=["symbol", "mm_id"], how="inner")
    start = od.select("gid", pl.max_horizontal(pl.col("ts"), pl.lit(o)).alias("t"), pl.lit(1, dtype=_I).alias("d"))
    stop = od.filter(pl.col("end_ts").is_not_null() & (pl.col("end_ts") < c)).select(
        "gid", pl.col("end_ts").alias("t"), pl.lit(-1, dtype=_I).alias("d"))
    ev = pl.concat([start, stop]).group_by("gid", "t").agg(pl.col("d").sum()).sort("gid", "t")
    return ev.with_columns(held=pl.col("d").cum_sum().over("gid")).select(
        (pl.col("gid") * SCALE + (pl.col("t") - o)).alias("k"), "gid", "held")


#: Points per batch of symbols: the pieces of a batch are built and aggregated before the next, so the working
#: set stays a few hundred MB however large the day (fresh memory costs more than the arithmetic on these VMs).
BATCH_POINTS = 4_000_000


def _symbol_runs(df: pl.DataFrame) -> pl.DataFrame:
    """(symbol, start, len) of each symbol's rows in ``df`` sorted by symbol."""
    brk = (pl.col("symbol") != pl.col("symbol").shift(1)).fill_null(True)
    return df.select("symbol", brk.alias("brk")).with_row_index("start").filter(pl.col("brk")).with_columns(
        len=(pl.col("start").shift(-1).fill_null(df.height) - pl.col("start"))).select("symbol", "start", "len")


def aggregate(f: DayFrame, p: pl.DataFrame) -> pl.DataFrame:
    """The shared metrics SQL over pieces sorted by pair and time, grouped on one sorted key packing the pair and
    the window (Polars' fast path for sorted keys), in the streaming engine."""
    nw = len(f.window_starts())
    keyed = p.with_columns(gw=pl.col("gid") * nw + pl.col("w")).drop("gid", "w").set_sorted("gw")
    sums = pl.SQLContext(pieces=keyed.lazy(), eager=False).execute(metrics_query(f, group="gw")).collect(
        engine="streaming")
    return sums.with_columns(gid=pl.col("gw") // nw, w=pl.col("gw") % nw).drop("gw")


def window_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                pairs: pl.DataFrame) -> pl.DataFrame:
    """Sum columns (``regsho.surveillance.sql.SUMS``) per symbol, mm_id and window, for one day, in batches of
    whole symbols."""
    q = _sorted_or_sort(quotes.filter(pl.col("ts") < f.close), ["symbol", "mm_id", "ts", "seq"])
    n = _sorted_or_sort(nbbo.filter(pl.col("ts") < f.close), ["symbol", "ts", "seq"])
    per = pairs.group_by("symbol").agg(makers=pl.len()).join(
        _symbol_runs(q).rename({"start": "qs", "len": "ql"}), on="symbol", how="left").join(
        _symbol_runs(n).rename({"start": "ns", "len": "nl"}), on="symbol", how="left").sort("symbol")
    per = per.with_columns(pl.col("qs", "ql", "ns", "nl").fill_null(0), cost=pl.col("ql").fill_null(0)
                           + pl.col("makers") * pl.col("nl").fill_null(0))
    out: list[pl.DataFrame] = []
    batch: list[dict[str, int | str]] = []
    cost = 0

    def flush() -> None:
        if not batch:
            return
        syms = [str(b["symbol"]) for b in batch]
        qb = pl.concat([q.slice(int(b["qs"]), int(b["ql"])) for b in batch])
        nb = pl.concat([n.slice(int(b["ns"]), int(b["nl"])) for b in batch])
        pb = pairs.filter(pl.col("symbol").is_in(syms))
        ob = orders.filter(pl.col("symbol").is_in(syms))
        sums = aggregate(f, pieces(f, qb, nb, ob, pb, presorted=True))
        names = _pairs(pb).select("gid", "symbol", "mm_id")
        out.append(sums.join(names, on="gid", how="left").drop("gid"))
        batch.clear()

    for row in per.iter_rows(named=True):
        batch.append(row)
        cost += int(row["cost"])
        if cost >= BATCH_POINTS:
            flush()
            cost = 0
    flush()
    return pl.concat(out) if out else pl.DataFrame()
