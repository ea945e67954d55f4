"""A seeded generator of market makers quoting around a real (or synthetic) NBBO, one per FINRA pattern.

Profiles (FINRA 2023 report, Regulation SHO findings):

- ``honest``: both sides a few ticks from the inside all day, firm and displayed, refreshed as the NBBO moves;
  holds some customer orders and trades both ways.
- ``one_sided``: the offer at or near the inside, the bid parked far from it.
- ``pegged``: both sides at the band edge (the Designated Percentage from the NBBO), re-pegged as it moves.
- ``order_only``: near the inside only while holding a customer order, far from it otherwise.
- ``mornings``: honest until noon, then no quotes.
- ``not_firm``: honest prices on a private venue, neither firm nor displayed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from regsho.surveillance.day import DayFrame

PROFILES: Final = ("honest", "one_sided", "pegged", "order_only", "mornings", "not_firm")

#: The finding each profile must produce (``regsho.surveillance.findings``).
EXPECTED_FINDING: Final = {
    "one_sided": "MM_ONE_SIDED_INSIDE",
    "pegged": "MM_BAND_EDGE",
    "order_only": "MM_NEAR_INSIDE_ONLY_WITH_ORDER",
    "mornings": "MM_PART_OF_DAY",
    "not_firm": "MM_NOT_FIRM",
}

TICK: Final = 0.01
_NS: Final = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Maker:
    mm_id: str
    profile: str


@dataclass(frozen=True, slots=True)
class Synthetic:
    quotes: pl.DataFrame
    orders: pl.DataFrame
    trades: pl.DataFrame
    makers: tuple[Maker, ...]


def _asof(t: npt.NDArray[np.int64], nt: npt.NDArray[np.int64], v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    i = np.searchsorted(nt, t, side="right") - 1
    out = v[np.clip(i, 0, None)]
    return np.where(i >= 0, out, np.nan)


def _dp(f: DayFrame, t: npt.NDArray[np.int64], tier1: bool, ref: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if tier1:
        wide = (t < f.edge_open) | (t >= f.edge_close)
        return np.where(wide, f.dp1e, f.dp1)
    return np.where(ref < f.sub_dollar, f.dp2s, f.dp2)


def _floor(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.round(np.floor(np.round(x / TICK, 6)) * TICK, 2)


def _ceil(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.round(np.ceil(np.round(x / TICK, 6)) * TICK, 2)


def generate(nbbo: pl.DataFrame, makers: tuple[Maker, ...], seed: int, tier1: bool = True,
             update_prob: float = 0.5) -> Synthetic:
    """Quotes of ``makers`` in every symbol of ``nbbo`` (one trading day: ``ts`` ns, ``symbol``, ``bid``,
    ``ask``, ``day``) for the given seed."""
    rng = np.random.default_rng(seed)
    qparts: list[pl.DataFrame] = []
    oparts: list[pl.DataFrame] = []
    tparts: list[pl.DataFrame] = []
    day: dt.date = nbbo.get_column("day")[0]
    f = DayFrame.of(day)
    for sym, g in sorted(nbbo.sort("ts").partition_by("symbol", as_dict=True).items()):
        symbol = str(sym[0])
        g = g.filter(pl.col("bid").is_not_null() & pl.col("ask").is_not_null())
        nt = g.get_column("ts").to_numpy()
        nbb = g.get_column("bid").to_numpy()
        nbo = g.get_column("ask").to_numpy()
        for mk in makers:
            q, o, tr = _maker(f, rng, mk, symbol, nt, nbb, nbo, tier1, update_prob)
            qparts.append(q)
            oparts.append(o)
            tparts.append(tr)
    quotes = pl.concat(qparts).sort("symbol", "mm_id", "ts", maintain_order=True)
    return Synthetic(quotes, pl.concat(oparts), pl.concat(tparts), makers)


def _maker(f: DayFrame, rng: np.random.Generator, mk: Maker, symbol: str, nt: npt.NDArray[np.int64],
           nbb: npt.NDArray[np.float64], nbo: npt.NDArray[np.float64], tier1: bool, p: float,
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    # Quote times: the open, then a random subset of NBBO changes after a small latency.
    pick = rng.random(nt.size) < p
    lat = rng.integers(1_000, 2_000_000, size=int(pick.sum()))
    t = np.concatenate([[f.open], nt[pick] + lat])
    t = t[t < f.close]
    # Customer orders: a few intervals through the day (order_only and honest makers hold them).
    o_start = np.sort(rng.integers(f.open + 10 * 60 * _NS, f.close - 40 * 60 * _NS, size=6))
    o_len = rng.integers(12 * 60 * _NS, 30 * 60 * _NS, size=6)
    o_end = o_start + o_len
    if mk.profile in ("order_only", "honest"):
        t = np.unique(np.concatenate([t, o_start, o_end[o_end < f.close]]))
    t = np.sort(t)
    b = _asof(t, nt, nbb)
    a = _asof(t, nt, nbo)
    first = np.nan_to_num(nbb[0]) if nbb.size else 100.0
    b = np.where(np.isnan(b), first, b)
    a = np.where(np.isnan(a), np.nan_to_num(nbo[0]) if nbo.size else first + TICK, a)
    k_b = rng.integers(0, 4, size=t.size) * TICK
    k_a = rng.integers(0, 4, size=t.size) * TICK
    bid = _floor(b - k_b)
    ask = _ceil(a + k_a)
    dpb = _dp(f, t, tier1, b)
    dpa = _dp(f, t, tier1, a)
    firm = np.ones(t.size, dtype=bool)
    displayed = np.ones(t.size, dtype=bool)
    venue = "NASDAQ"
    if mk.profile == "one_sided":
        frac = rng.uniform(0.4, 0.6, size=t.size)
        bid = _floor(b * (1 - frac * dpb))
    elif mk.profile == "pegged":
        bid = _floor(b * (1 - dpb))
        ask = _ceil(a * (1 + dpa))
    elif mk.profile == "order_only":
        hold = np.zeros(t.size, dtype=bool)
        for s, e in zip(o_start, o_end, strict=True):
            hold |= (t >= s) & (t < e)
        frac = rng.uniform(0.45, 0.65, size=t.size)
        bid = np.where(hold, bid, _floor(b * (1 - frac * dpb)))
        ask = np.where(hold, ask, _ceil(a * (1 + frac * dpa)))
    elif mk.profile == "not_firm":
        firm[:] = False
        displayed[:] = False
        venue = "PRIVATE-ATS"
    bid_v: npt.NDArray[np.float64] = bid.astype(np.float64)
    ask_v: npt.NDArray[np.float64] = ask.astype(np.float64)
    bad = bid_v >= ask_v
    bid_v = np.where(bad, ask_v - TICK, bid_v)
    sizes = rng.integers(1, 10, size=t.size) * 100
    has = np.ones(t.size, dtype=bool)
    if mk.profile == "mornings":
        noon = int(dt.datetime.combine(f.day, dt.time(12), tzinfo=_ny()).timestamp()) * _NS
        keep = t < noon
        t = np.concatenate([t[keep], [noon]])
        bid_v = np.concatenate([bid_v[keep], [np.nan]])
        ask_v = np.concatenate([ask_v[keep], [np.nan]])
        sizes = np.concatenate([sizes[keep], [0]])
        firm = np.concatenate([firm[keep], [True]])
        displayed = np.concatenate([displayed[keep], [True]])
        has = np.concatenate([has[keep], [False]])
    q = pl.DataFrame({
        "ts": t.astype(np.int64), "symbol": symbol, "mm_id": mk.mm_id,
        "bid": bid_v, "ask": ask_v, "bid_size": sizes, "ask_size": sizes,
        "venue": venue, "displayed": displayed, "firm": firm,
    }).with_columns(
        bid=pl.when(pl.lit(pl.Series(has))).then(pl.col("bid")).otherwise(None),
        ask=pl.when(pl.lit(pl.Series(has))).then(pl.col("ask")).otherwise(None),
        bid_size=pl.when(pl.lit(pl.Series(has))).then(pl.col("bid_size")).otherwise(None),
        ask_size=pl.when(pl.lit(pl.Series(has))).then(pl.col("ask_size")).otherwise(None),
    )
    holds = mk.profile in ("order_only", "honest")
    n_o = o_start.size if holds else 0
    orders = pl.DataFrame({
        "ts": o_start[:n_o].astype(np.int64), "end_ts": o_end[:n_o].astype(np.int64), "symbol": [symbol] * n_o,
        "mm_id": [mk.mm_id] * n_o, "order_id": [f"{mk.mm_id}-{symbol}-{i}" for i in range(n_o)],
        "side": rng.choice(["buy", "sell"], size=n_o).tolist(), "qty": rng.integers(1, 20, size=n_o) * 100,
        "price": [None] * n_o,
    }, schema={"ts": pl.Int64, "end_ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String,
               "order_id": pl.String, "side": pl.String, "qty": pl.Int64, "price": pl.Float64})
    n_t = 40
    tt = np.sort(rng.integers(f.open, f.close, size=n_t))
    mid = (_asof(tt, nt, nbb) + _asof(tt, nt, nbo)) / 2
    side = np.array(["buy", "sell"] * (n_t // 2))
    rng.shuffle(side)
    cap = np.where(rng.random(n_t) < 0.5, "principal", "agency")
    trades = pl.DataFrame({
        "ts": tt.astype(np.int64), "symbol": [symbol] * n_t, "mm_id": [mk.mm_id] * n_t, "side": side.tolist(),
        "qty": np.full(n_t, 100, dtype=np.int64), "price": np.round(np.nan_to_num(mid, nan=first), 2),
        "capacity": cap.tolist(), "customer": [None if c == "principal" else "C1" for c in cap],
    }, schema={"ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String, "side": pl.String, "qty": pl.Int64,
               "price": pl.Float64, "capacity": pl.String, "customer": pl.String})
    return q, orders, trades


def _ny() -> dt.tzinfo:
    from regsho.calendars import ET
    return ET


def with_day(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with ``day``, the New York date of its nanosecond ``ts``, as the input readers give it."""
    return df.with_columns(day=pl.from_epoch(pl.col("ts"), time_unit="ns").dt.replace_time_zone("UTC")
                           .dt.convert_time_zone("America/New_York").dt.date())


def synthetic_nbbo(day: dt.date, symbols: int, updates_per_symbol: int, seed: int) -> pl.DataFrame:
    """A random-walk NBBO for ``symbols`` symbols (``S000``...), ``updates_per_symbol`` changes each."""
    rng = np.random.default_rng(seed)
    f = DayFrame.of(day)
    parts = []
    for s in range(symbols):
        n = updates_per_symbol
        t = np.sort(rng.integers(f.open, f.close, size=n))
        p0 = rng.uniform(20, 300)
        mid = p0 + np.cumsum(rng.normal(0, 0.01, size=n))
        mid = np.maximum(mid, 1.0)
        half = rng.integers(1, 6, size=n) * TICK / 2
        parts.append(pl.DataFrame({"ts": t.astype(np.int64), "symbol": f"S{s:03d}",
                                   "bid": _floor(mid - half), "ask": _ceil(mid + half)}))
    df = pl.concat(parts).with_columns(ask=pl.max_horizontal("ask", pl.col("bid") + TICK).round(2))
    return with_day(df)
