"""The columnar engine (Polars): pieces from as-of joins on one packed integer key, metrics by the shared SQL.

A point is the start of a piece: every quote, every NBBO change of the symbol after the firm's first quote, every
window start and band-regime change, and every time the firm starts or stops holding a customer order. Points of
one (symbol, mm_id) pair are packed as ``gid << 45 | (t - open)`` (regular hours are < 2^45 ns), so one sorted
int64 column orders them and ``join_asof`` on it finds the quote in force with no ``by`` grouping; a match from
the previous pair is recognised by its gid and dropped. The NBBO in force is found by ``search_sorted`` on the
NBBO's own packed key (symbol id, time). The packed as-of plan is only right on sorted input: every input is
checked for order and sorted when it is not.
"""

from __future__ import annotations

import polars as pl

from regsho.surveillance.day import DayFrame
from regsho.surveillance.sql import metrics_query

SHIFT = 45
SCALE = 1 << SHIFT


def _sorted_or_sort(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``df`` sorted by ``by`` (stable); the check is a single pass, the sort only runs if it is needed."""
    if df.height < 2:
        return df
    ok = True
    prev_equal: pl.Expr | None = None
    conds = []
    for c in by:
        cur_gt = pl.col(c) < pl.col(c).shift(1)  # a descent in c
        conds.append(cur_gt if prev_equal is None else (prev_equal & cur_gt))
        eq = pl.col(c) == pl.col(c).shift(1)
        prev_equal = eq if prev_equal is None else (prev_equal & eq)
    bad = df.select(pl.any_horizontal(conds).fill_null(False).any()).item()
    ok = not bad
    return df if ok else df.sort(by, maintain_order=True)


def _last_per_key(df: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Keep the last row of each run of equal ``key`` (the input is sorted by key then arrival)."""
    nxt = [pl.col(k) != pl.col(k).shift(-1) for k in key]
    return df.filter(pl.any_horizontal(nxt).fill_null(True))


def pieces(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
           pairs: pl.DataFrame) -> pl.DataFrame:
    """All pieces of the day (see ``regsho.surveillance.sql``). ``pairs`` (symbol, mm_id, tier1) is sorted and
    names every pair reviewed; quotes (symbol, mm_id, ts, seq, bid, ask, displayed, firm), nbbo (symbol, ts, seq,
    bid, ask) and orders (symbol, mm_id, ts, end_ts) are that day's rows."""
    o, c = f.open, f.close
    pairs = pairs.sort("symbol", "mm_id").with_row_index("gid").with_columns(pl.col("gid").cast(pl.Int64))
    syms = pairs.select("symbol").unique(maintain_order=True).with_row_index("sid").with_columns(
        pl.col("sid").cast(pl.Int64))
    pairs = pairs.join(syms, on="symbol", how="left", maintain_order="left")

    # Quotes: sorted by pair and time, clamped to the open, the last of equal times kept.
    q = quotes.filter(pl.col("ts") < c)
    q = _sorted_or_sort(q, ["symbol", "mm_id", "ts", "seq"])
    q = q.join(pairs.select("symbol", "mm_id", "gid"), on=["symbol", "mm_id"], how="inner", maintain_order="left")
    q = q.with_columns(t=pl.max_horizontal(pl.col("ts"), pl.lit(o)))
    q = _last_per_key(q, ["gid", "t"]).select(
        (pl.col("gid") * SCALE + (pl.col("t") - o)).alias("k"), "gid", "bid", "ask", "displayed", "firm")

    # NBBO: sorted by symbol and time, clamped, last of equal times, unchanged rows dropped.
    n = nbbo.filter(pl.col("ts") < c)
    n = _sorted_or_sort(n, ["symbol", "ts", "seq"])
    n = n.join(syms, on="symbol", how="inner", maintain_order="left")
    n = n.with_columns(t=pl.max_horizontal(pl.col("ts"), pl.lit(o)))
    n = _last_per_key(n, ["sid", "t"])
    same = (pl.col("sid") == pl.col("sid").shift(1)) & pl.col("bid").eq_missing(pl.col("bid").shift(1)) & \
        pl.col("ask").eq_missing(pl.col("ask").shift(1))
    n = n.filter(~same.fill_null(False)).select(
        "sid", "t", (pl.col("sid") * SCALE + (pl.col("t") - o)).alias("nk"), "bid", "ask")

    # Points.
    first = q.group_by("gid").agg(pl.col("k").min().alias("k0"))
    gp = pairs.select("gid", "sid").join(first, on="gid", how="inner")
    nbbo_pts = n.select("sid", "t").join(gp, on="sid", how="inner").filter(
        (pl.col("gid") * SCALE + (pl.col("t") - o)) >= pl.col("k0")).select(
        (pl.col("gid") * SCALE + (pl.col("t") - o)).alias("k"))
    bounds = pl.DataFrame({"b": [b - o for b in f.boundaries()]}, schema={"b": pl.Int64})
    bound_pts = pairs.select("gid").join(bounds, how="cross").select((pl.col("gid") * SCALE + pl.col("b")).alias("k"))
    ev = _order_events(f, orders, pairs)
    parts = [q.select("k"), nbbo_pts, bound_pts, ev.select("k")]
    pts = pl.concat(parts).sort("k").unique(subset="k", keep="first", maintain_order=True)
    pts = pts.with_columns(gid=pl.col("k") // SCALE)

    # State in force at each point.
    pts = pts.join_asof(q.rename({"gid": "qgid"}), on="k", strategy="backward", check_sortedness=False)
    qcols = ["bid", "ask", "displayed", "firm"]
    stale = pl.col("qgid") != pl.col("gid")
    pts = pts.with_columns([pl.when(stale).then(None).otherwise(pl.col(x)).alias(x) for x in qcols])
    if ev.height:
        pts = pts.join_asof(ev.select("k", pl.col("gid").alias("egid"), "held"), on="k", strategy="backward",
                            check_sortedness=False)
        pts = pts.with_columns(hold=((pl.col("egid") == pl.col("gid")) & (pl.col("held") > 0)).fill_null(False))
    else:
        pts = pts.with_columns(hold=pl.lit(False))
    pts = pts.join(pairs.select("gid", "sid", "symbol", "mm_id", "tier1"), on="gid", how="left",
                   maintain_order="left")
    nk = pl.Series(n.get_column("nk"))
    off = pts.get_column("k") % SCALE
    want = pts.get_column("sid") * SCALE + off
    idx = nk.search_sorted(want, side="right").cast(pl.Int64) - 1
    valid = idx >= 0
    safe = idx.clip(lower_bound=0)
    if n.height:
        nsid = n.get_column("sid").gather(safe)
        nbb = n.get_column("bid").gather(safe)
        nbo = n.get_column("ask").gather(safe)
        ok = valid & (nsid == pts.get_column("sid"))
        nbb = nbb.set(~ok, None)
        nbo = nbo.set(~ok, None)
    else:
        nbb = pl.Series("nbb", [None] * pts.height, dtype=pl.Float64)
        nbo = nbb
    t = off + o
    end = pl.when(pl.col("gid") == pl.col("gid").shift(-1)).then(pl.col("t").shift(-1)).otherwise(pl.lit(c))
    return pts.with_columns(nbb=nbb, nbo=nbo, t=t).with_columns(dur=end - pl.col("t")).select(
        "symbol", "mm_id", ((pl.col("t") - o) // f.window).alias("w"), "t", "dur",
        ((pl.col("t") < f.edge_open) | (pl.col("t") >= f.edge_close)).alias("edge"),
        "tier1", *qcols, "nbb", "nbo", "hold")


def _order_events(f: DayFrame, orders: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """(k, gid, held): the number of customer orders held from each change on, per pair."""
    o, c = f.open, f.close
    od = orders.filter((pl.col("ts") < c) & (pl.col("end_ts").is_null() | (pl.col("end_ts") > o)))
    od = od.join(pairs.select("symbol", "mm_id", "gid"), on=["symbol", "mm_id"], how="inner")
    start = od.select("gid", pl.max_horizontal(pl.col("ts"), pl.lit(o)).alias("t"), pl.lit(1).alias("d"))
    stop = od.filter(pl.col("end_ts").is_not_null() & (pl.col("end_ts") < c)).select(
        "gid", pl.col("end_ts").alias("t"), pl.lit(-1).alias("d"))
    ev = pl.concat([start, stop]).group_by("gid", "t").agg(pl.col("d").sum()).sort("gid", "t")
    return ev.with_columns(held=pl.col("d").cum_sum().over("gid")).select(
        (pl.col("gid") * SCALE + (pl.col("t") - o)).alias("k"), "gid", "held")


def window_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                pairs: pl.DataFrame) -> pl.DataFrame:
    """Sum columns (``regsho.surveillance.sql.SUMS``) per symbol, mm_id and window, for one day."""
    p = pieces(f, quotes, nbbo, orders, pairs)
    ctx = pl.SQLContext(pieces=p.lazy(), eager=False)
    return ctx.execute(metrics_query(f)).collect()
