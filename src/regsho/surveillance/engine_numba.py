"""The compiled engine (Numba): one sequential merge per (symbol, mm_id), accumulating the sums of
``regsho.surveillance.sql`` per window directly, with no pieces table.

Every other engine cuts the day into pieces (every NBBO change of a symbol times every market maker quoting it, 4.8
pieces per quote on a day of 20 makers) and aggregates them: a columnar engine can only say "the quote and the NBBO
in force at each point" as a join or a sort over all of them. Walked in time order, the same thing is a merge of
four sorted streams of one pair — its quotes, its symbol's NBBO changes, the window and band boundaries of the day,
its customer-order changes — holding the state in force and adding each stretch between two consecutive points to
its window's sums. The kernel does exactly that, compiled by Numba (``cache=True``: the machine code is kept next to
this module and reused by later processes), in parallel over pairs.

It keeps every semantic of the SQL: an empty side (and an empty NBB or NBO) is NaN, so every comparison on it is
false and it adds nothing to a sum that requires it; a Tier 1 pair takes the wider band outside the middle of the
day, any other the sub-dollar band when its reference price is below the sub-dollar price (an empty reference takes
the ordinary band, as SQL's CASE does on NULL); points before the open take effect at the open, so the NBBO and a
quote from before the open are in force at it; of several changes at one nanosecond the last (by time, then arrival)
wins.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import polars as pl

from regsho.surveillance.day import DayFrame
from regsho.surveillance.engine_polars import SCALE as _SCALE
from regsho.surveillance.engine_polars import _order_events, _pairs
from regsho.surveillance.metrics import pair_breaks
from regsho.surveillance.sql import SUMS

_NSUMS = len(SUMS)
assert _NSUMS == 24

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]


@numba.njit(cache=True, nogil=True, inline="always")
def _add_state(r: Any, seg: float, bid: float, ask: float, disp: bool, firm: bool,
               held: int) -> None:  # pragma: no cover - compiled
    """Add ``seg`` ns spent in one quote-and-order state to the sums that depend on that state alone."""
    hb = not np.isnan(bid)
    ha = not np.isnan(ask)
    r[0] += seg
    if hb:
        r[1] += seg
    if ha:
        r[2] += seg
    if hb and ha:
        r[3] += seg
    if hb or ha:
        r[4] += seg
        if disp:
            r[22] += seg
        if firm:
            r[23] += seg
    if held > 0:
        r[20] += seg


@numba.njit(cache=True, nogil=True, inline="always")
def _add_nbbo(r: Any, s5: float, s6: float, s7: float, s8: float, s9: float, s10: float, s11: float, s12: float,
              s13: float, s14: float, s15: float, s16: float, s17: float, s18: float, s19: float,
              s21: float) -> None:  # pragma: no cover - compiled
    """Add a window's NBBO-dependent sums (kept in locals while the window runs) to its row."""
    r[5] += s5
    r[6] += s6
    r[7] += s7
    r[8] += s8
    r[9] += s9
    r[10] += s10
    r[11] += s11
    r[12] += s12
    r[13] += s13
    r[14] += s14
    r[15] += s15
    r[16] += s16
    r[17] += s17
    r[18] += s18
    r[19] += s19
    r[21] += s21


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pair(out: Any, row0: int, o: int, c: int, window: int, edge_open: int, edge_close: int,
          tier1: bool, band: Any, near: float, edge_frac: float, bounds: Any,
          q_ts: Any, q_bid: Any, q_ask: Any, q_disp: Any, q_firm: Any, qi: int, qe: int,
          n_ts: Any, n_bid: Any, n_ask: Any, ni: int, ne: int,
          e_t: Any, e_held: Any, ei: int, ee: int) -> None:  # pragma: no cover - compiled
    """Add the sums of one pair to its rows of ``out`` (``row0`` is its first window): its quotes are rows
    [qi, qe), its symbol's NBBO changes [ni, ne), its held-order counts [ei, ee). The next point other than an NBBO
    change (``lim``) is kept, so a stretch cut only by the NBBO costs one comparison of stream heads."""
    dp1, dl1, dp1e, dl1e, dp2, dl2, dp2s, dl2s, sub = (band[0], band[1], band[2], band[3], band[4], band[5],
                                                       band[6], band[7], band[8])
    bid = np.nan
    ask = np.nan
    disp = False
    firm = False
    nbb = np.nan
    nbo = np.nan
    held = 0
    nb = bounds.shape[0]
    bi = 0
    t = o
    row = row0
    # the sums of the current window: time in the current quote-and-order state (``seg``) is added to the sums
    # that depend on that state alone when it changes; the NBBO-dependent sums are added piece by piece
    seg = 0.0
    s5 = s6 = s7 = s8 = s9 = s10 = s11 = s12 = s13 = s14 = s15 = s16 = s17 = s18 = s19 = s21 = 0.0
    is_edge = t < edge_open or t >= edge_close
    hb = ha = hold = False
    dpb = dpa = dp2
    dlb = dla = dl2
    lim = o  # the next change other than the NBBO's (a quote, an order, a boundary)
    while True:
        if t == lim:
            # every change at or before t takes effect; of several at one time the last wins
            qchg = False
            while qi < qe and max(q_ts[qi], o) <= t:
                qchg = True
                qi += 1
            hchg = False
            while ei < ee and e_t[ei] <= t:
                hchg = True
                ei += 1
            bchg = False
            while bi < nb and bounds[bi] <= t:
                bchg = True
                bi += 1
            # close the quote-and-order state segment (and, at a boundary, the window)
            r = out[row]
            _add_state(r, seg, bid, ask, disp, firm, held)
            seg = 0.0
            if bchg:
                _add_nbbo(r, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s21)
                s5 = s6 = s7 = s8 = s9 = s10 = s11 = s12 = s13 = s14 = s15 = s16 = s17 = s18 = s19 = s21 = 0.0
                row = row0 + (t - o) // window
                is_edge = t < edge_open or t >= edge_close
            if qchg:
                bid = q_bid[qi - 1]
                ask = q_ask[qi - 1]
                disp = q_disp[qi - 1]
                firm = q_firm[qi - 1]
            if hchg:
                held = e_held[ei - 1]
            lim = c
            if qi < qe and q_ts[qi] < lim:
                lim = max(q_ts[qi], o)
            if ei < ee and e_t[ei] < lim:
                lim = e_t[ei]
            if bi < nb and bounds[bi] < lim:
                lim = bounds[bi]
            hb = not np.isnan(bid)
            ha = not np.isnan(ask)
            hold = held > 0
            if tier1:
                dpb = dpa = dp1e if is_edge else dp1
                dlb = dla = dl1e if is_edge else dl1
        if ni < ne and max(n_ts[ni], o) <= t:
            while ni < ne and max(n_ts[ni], o) <= t:
                ni += 1
            nbb = n_bid[ni - 1]
            nbo = n_ask[ni - 1]
            if not tier1:
                if nbb < sub:
                    dpb = dp2s
                    dlb = dl2s
                else:
                    dpb = dp2
                    dlb = dl2
                if nbo < sub:
                    dpa = dp2s
                    dla = dl2s
                else:
                    dpa = dp2
                    dla = dl2
        nxt = lim
        if ni < ne and n_ts[ni] < nxt:
            nxt = max(n_ts[ni], o)
        d = float(nxt - t)
        seg += d
        # the piece [t, nxt): distances from the inside against the band of each side
        nearb = False
        neara = False
        if hb and not np.isnan(nbb):
            xb = (nbb - bid) / nbb
            fb = xb / dpb
            nearb = fb <= near
            s5 += d
            s7 += d if xb <= 0.0 else 0.0
            s9 += d if xb <= dlb else 0.0
            s11 += d if fb >= edge_frac else 0.0
            s13 += d if nearb else 0.0
            s15 += d * xb
            s17 += d * fb
        if ha and not np.isnan(nbo):
            xa = (ask - nbo) / nbo
            fa = xa / dpa
            neara = fa <= near
            s6 += d
            s8 += d if xa <= 0.0 else 0.0
            s10 += d if xa <= dla else 0.0
            s12 += d if fa >= edge_frac else 0.0
            s14 += d if neara else 0.0
            s16 += d * xa
            s18 += d * fa
        if nearb and neara:
            s19 += d
            s21 += d if hold else 0.0
        if nxt >= c:
            break
        t = nxt
    r = out[row]
    _add_state(r, seg, bid, ask, disp, firm, held)
    _add_nbbo(r, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s21)


@numba.njit(cache=True, parallel=True)
def _kernel(nw: int, o: int, c: int, window: int, edge_open: int, edge_close: int, band: Any, near: float,
            edge_frac: float, bounds: Any, tier1: Any, sid: Any,
            q_lo: Any, q_hi: Any, q_ts: Any, q_bid: Any, q_ask: Any, q_disp: Any, q_firm: Any,
            n_lo: Any, n_hi: Any, n_ts: Any, n_bid: Any, n_ask: Any,
            e_off: Any, e_t: Any, e_held: Any) -> Any:  # pragma: no cover - compiled
    ng = tier1.shape[0]
    out = np.zeros((ng * nw, _NSUMS))
    for g in numba.prange(ng):
        s = sid[g]
        _pair(out, g * nw, o, c, window, edge_open, edge_close, tier1[g], band, near, edge_frac, bounds,
              q_ts, q_bid, q_ask, q_disp, q_firm, q_lo[g], q_hi[g],
              n_ts, n_bid, n_ask, n_lo[s], n_hi[s],
              e_t, e_held, e_off[g], e_off[g + 1])
    return out


@numba.njit(cache=True, nogil=True)
def _changes(lo: Any, hi: Any, bid: Any, ask: Any) -> Any:  # pragma: no cover - compiled
    """The rows of each run that change its (bid, ask) from the row before (NaN equal to NaN): applying any other
    row changes nothing, so dropping it leaves every state in force unchanged."""
    keep = np.ones(bid.shape[0], dtype=np.bool_)
    for s in range(lo.shape[0]):
        for i in range(lo[s] + 1, hi[s]):
            same_b = bid[i] == bid[i - 1] or (np.isnan(bid[i]) and np.isnan(bid[i - 1]))
            same_a = ask[i] == ask[i - 1] or (np.isnan(ask[i]) and np.isnan(ask[i - 1]))
            if same_b and same_a:
                keep[i] = False
    return keep


@numba.njit(cache=True, nogil=True)
def _ordered_within_runs(lo: Any, hi: Any, ts: Any, seq: Any) -> bool:  # pragma: no cover - compiled
    """Whether (ts, seq) never decreases inside each run [lo, hi)."""
    for r in range(lo.shape[0]):
        for i in range(lo[r] + 1, hi[r]):
            if ts[i] < ts[i - 1] or (ts[i] == ts[i - 1] and seq[i] < seq[i - 1]):
                return False
    return True


def _coded_runs(df: pl.DataFrame, brk: _I, table: pl.DataFrame) -> tuple[_I, _I] | None:
    """``_runs`` for quotes with code columns (``regsho.surveillance.metrics.CODES``): the pair changes at the rows
    ``brk``; the quotes are in order when the pairs at those rows strictly increase (a pair met twice is out of
    order), and each row of ``table`` takes the run of its pair (an empty one when it has no quotes)."""
    heads = df[brk].select("symbol", "mm_id")
    s, m = pl.col("symbol"), pl.col("mm_id")
    if heads.height > 1 and not heads.select(
            ((s > s.shift(1)) | ((s == s.shift(1)) & (m > m.shift(1)))).slice(1).all()).item():
        return None
    ends = np.append(brk[1:], df.height).astype(np.int64)
    got = table.select("symbol", "mm_id").join(heads.with_columns(lo=pl.Series(brk), hi=pl.Series(ends)),
                                               on=["symbol", "mm_id"], how="left", maintain_order="left")
    lo = got.get_column("lo").fill_null(0).to_numpy().astype(np.int64)
    hi = got.get_column("hi").fill_null(0).to_numpy().astype(np.int64)
    ok = _ordered_within_runs(_ro(brk), _ro(ends), _ro(_i64(df.get_column("ts"))), _ro(_i64(df.get_column("seq"))))
    return (lo, hi) if ok else None


def _runs(df: pl.DataFrame, keys: list[str], table: pl.DataFrame) -> tuple[_I, _I] | None:
    """For each row of ``table`` (sorted by ``keys``), the first and past-the-last row of its run in ``df``, found
    by binary search, if ``df`` is sorted by ``keys``, ts, seq as far as those runs are concerned: the first key
    sorted throughout, the second inside each run of the first, (ts, seq) inside each run; else None. Quotes with
    code columns are cut into pairs by their codes (``_coded_runs``)."""
    if keys == ["symbol", "mm_id"]:
        brk = pair_breaks(df)
        if brk is not None:
            return _coded_runs(df, brk, table)
    first = df.get_column(keys[0])
    if not first.is_sorted():
        return None
    tk = table.get_column(keys[0])
    lo = first.search_sorted(tk, "left").cast(pl.Int64).to_numpy().copy()
    hi = first.search_sorted(tk, "right").cast(pl.Int64).to_numpy().copy()
    if len(keys) == 2:
        second = df.get_column(keys[1])
        tv = table.get_column(keys[1])
        # the rows of table are sorted: each value of the first key is one run of them
        brk = np.flatnonzero(np.append(True, (tk != tk.shift(1)).fill_null(True).to_numpy()[1:]))
        for j, a in enumerate(brk):
            b = brk[j + 1] if j + 1 < brk.size else tk.len()
            s0, s1 = int(lo[a]), int(hi[a])
            part = second.slice(s0, s1 - s0)
            if not part.is_sorted():
                return None
            vals = tv.slice(int(a), int(b - a))
            lo[a:b] = s0 + part.search_sorted(vals, "left").cast(pl.Int64).to_numpy()
            hi[a:b] = s0 + part.search_sorted(vals, "right").cast(pl.Int64).to_numpy()
    ok = _ordered_within_runs(_ro(lo), _ro(hi), _ro(_i64(df.get_column("ts"))), _ro(_i64(df.get_column("seq"))))
    return (lo, hi) if ok else None


def _index(df: pl.DataFrame, keys: list[str], table: pl.DataFrame) -> tuple[pl.DataFrame, _I, _I]:
    """``df`` sorted by ``keys``, ts, seq (sorted here only when it is not) and each row of ``table``'s run in it.
    Checking the order costs a comparison per row; the runs are then found by binary search."""
    if df.height == 0:
        z = np.zeros(table.height, dtype=np.int64)
        return df, z, z.copy()
    got = _runs(df, keys, table)
    if got is None:
        df = df.sort([*keys, "ts", "seq"], maintain_order=True)
        got = _runs(df, keys, table)
        assert got is not None
    return df, got[0], got[1]


def _ro(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only C-contiguous view: the kernels are compiled (and cached) for one array type, whether a column
    came from Polars without a copy (read-only) or not."""
    v = np.ascontiguousarray(a).view()
    v.flags.writeable = False
    return v


def _offsets(ids: _I, n: int) -> _I:
    """Start of each id's rows in ``ids`` (sorted), plus the end: ``n + 1`` offsets."""
    return np.searchsorted(ids, np.arange(n + 1, dtype=np.int64), side="left").astype(np.int64)


def _f64(s: pl.Series) -> _F:
    s = s.cast(pl.Float64)
    return (s.fill_null(np.nan) if s.null_count() else s).to_numpy().astype(np.float64, copy=False)


def _bool(s: pl.Series) -> npt.NDArray[np.bool_]:
    return (s.fill_null(False) if s.null_count() else s).to_numpy().astype(np.bool_, copy=False)


def _i64(s: pl.Series) -> _I:
    return s.cast(pl.Int64).to_numpy().astype(np.int64, copy=False)


def window_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                pairs: pl.DataFrame) -> pl.DataFrame:
    """Sum columns (``regsho.surveillance.sql.SUMS``) per symbol, mm_id and window, for one day: the same columns
    and figures as ``regsho.surveillance.engine_polars.window_sums``, every pair with every window. Quotes (symbol,
    mm_id, ts, seq, bid, ask, displayed, firm) and the NBBO (symbol, ts, seq, bid, ask) in any order; rows at or
    after the close are ignored."""
    o, c = f.open, f.close
    pairs = _pairs(pairs)
    syms = pairs.select("symbol", "sid").unique(maintain_order=True)
    ng, nw = pairs.height, len(f.window_starts())
    q, q_lo, q_hi = _index(quotes, ["symbol", "mm_id"], pairs)
    n, n_lo, n_hi = _index(nbbo, ["symbol"], syms)
    n_ts, n_bid, n_ask = _i64(n.get_column("ts")), _f64(n.get_column("bid")), _f64(n.get_column("ask"))
    keep = _changes(_ro(n_lo), _ro(n_hi), _ro(n_bid), _ro(n_ask))
    if not keep.all():
        cs = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(keep, dtype=np.int64)])
        n_ts, n_bid, n_ask, n_lo, n_hi = n_ts[keep], n_bid[keep], n_ask[keep], cs[n_lo], cs[n_hi]
    ev = _order_events(f, orders, pairs)
    band = np.array([f.dp1, f.dl1, f.dp1e, f.dl1e, f.dp2, f.dl2, f.dp2s, f.dl2s, f.sub_dollar], dtype=np.float64)
    bounds = np.array(f.boundaries(), dtype=np.int64)
    out = _kernel(nw, o, c, f.window, f.edge_open, f.edge_close, _ro(band), f.near, f.edge, _ro(bounds),
                  _ro(_bool(pairs.get_column("tier1"))), _ro(_i64(pairs.get_column("sid"))),
                  _ro(q_lo), _ro(q_hi), _ro(_i64(q.get_column("ts"))), _ro(_f64(q.get_column("bid"))),
                  _ro(_f64(q.get_column("ask"))), _ro(_bool(q.get_column("displayed"))),
                  _ro(_bool(q.get_column("firm"))),
                  _ro(n_lo), _ro(n_hi), _ro(n_ts), _ro(n_bid), _ro(n_ask),
                  _ro(_offsets(_i64(ev.get_column("gid")), ng)), _ro(np.asarray(_i64(ev.get_column("k")) % _SCALE + o)),
                  _ro(_i64(ev.get_column("held"))))
    idx = pl.Series(np.repeat(np.arange(ng, dtype=np.int64), nw))
    return pairs.select(pl.col("symbol").gather(idx), pl.col("mm_id").gather(idx)).with_columns(
        w=pl.Series(np.tile(np.arange(nw, dtype=np.int64), ng)),
        **{name: pl.Series(out[:, k]) for k, name in enumerate(SUMS)})


def warm_up() -> float:
    """Compile the kernels (or load them from Numba's cache) on a tiny day; returns the seconds it took."""
    import datetime as dt
    import time

    t0 = time.perf_counter()
    f = DayFrame.of(dt.date(2012, 6, 21))
    q = pl.DataFrame({"symbol": ["A"], "mm_id": ["M"], "ts": [f.open], "seq": [0], "bid": [1.0], "ask": [1.1],
                      "displayed": [True], "firm": [True]})
    n = pl.DataFrame({"symbol": ["A"], "ts": [f.open], "seq": [0], "bid": [1.0], "ask": [1.1]})
    od = pl.DataFrame(schema={"symbol": pl.String, "mm_id": pl.String, "ts": pl.Int64, "end_ts": pl.Int64})
    window_sums(f, q, n, od, pl.DataFrame({"symbol": ["A"], "mm_id": ["M"], "tier1": [True]}))
    return time.perf_counter() - t0


def cache_stats() -> tuple[int, int]:
    """(cache hits, cache misses) of the kernels in this process: a miss is a compilation."""
    kernels = (_kernel, _pair, _changes, _ordered_within_runs)
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)
    return int(hits), int(misses)
