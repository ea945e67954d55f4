"""A brute-force reference for the quote metrics: a plain loop over every elementary interval of the day, with the
state in force found by scanning every event. Slow and obvious, written apart from the engines."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import polars as pl

from regsho.surveillance.day import DayFrame


def _last(rows: list[dict[str, Any]], at: int) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for r in rows:
        if r["ts"] <= at and (best is None or (r["ts"], r["seq"]) > (best["ts"], best["seq"])):
            best = r
    return best


def reference_sums(f: DayFrame, quotes: pl.DataFrame, nbbo: pl.DataFrame, orders: pl.DataFrame,
                   tiers: dict[str, int]) -> dict[tuple[str, str, int], dict[str, float]]:
    qrows = quotes.with_row_index("seq").to_dicts()
    nrows = nbbo.with_row_index("seq").to_dicts()
    orows = orders.to_dicts()
    pairs = sorted({(r["symbol"], r["mm_id"]) for r in qrows} | {(r["symbol"], r["mm_id"]) for r in orows})
    out: dict[tuple[str, str, int], dict[str, float]] = {}
    for sym, mm in pairs:
        q = [r for r in qrows if r["symbol"] == sym and r["mm_id"] == mm and r["ts"] < f.close]
        n = [r for r in nrows if r["symbol"] == sym and r["ts"] < f.close]
        od = [r for r in orows if r["symbol"] == sym and r["mm_id"] == mm]
        cuts = {f.open, f.close, *f.boundaries()}
        for r in q + n:
            cuts.add(max(r["ts"], f.open))
        for r in od:
            cuts.add(min(max(r["ts"], f.open), f.close))
            if r["end_ts"] is not None:
                cuts.add(min(max(r["end_ts"], f.open), f.close))
        times = sorted(cuts)
        tier1 = tiers.get(sym, 1) == 1
        for a, b in itertools.pairwise(times):
            d = float(b - a)
            w = (a - f.open) // f.window
            acc = out.setdefault((sym, mm, w), {})
            qq = _last(q, a)
            nn = _last(n, a)
            bid = qq["bid"] if qq else None
            ask = qq["ask"] if qq else None
            nbb = nn["bid"] if nn else None
            nbo = nn["ask"] if nn else None
            hold = any(r["ts"] < f.close and max(r["ts"], f.open) <= a and (r["end_ts"] is None or r["end_ts"] > a)
                       for r in od)
            xb = (nbb - bid) / nbb if bid is not None and nbb is not None else None
            xa = (ask - nbo) / nbo if ask is not None and nbo is not None else None
            fb = fa = None
            dlb = dla = 0.0
            if xb is not None:
                dpb, dlb = f.band(tier1, nbb, a)  # type: ignore[arg-type]
                fb = xb / dpb
            if xa is not None:
                dpa, dla = f.band(tier1, nbo, a)  # type: ignore[arg-type]
                fa = xa / dpa
            quoted = bid is not None or ask is not None
            near2 = fb is not None and fa is not None and fb <= f.near and fa <= f.near

            def add(name: str, cond: bool, x: float = 1.0, acc: dict[str, float] = acc, d: float = d) -> None:
                acc[name] = acc.get(name, 0.0) + (d * x if cond else 0.0)

            add("t_total", True)
            add("t_bid", bid is not None)
            add("t_ask", ask is not None)
            add("t_two", bid is not None and ask is not None)
            add("t_quoted", quoted)
            add("t_bid_ref", xb is not None)
            add("t_ask_ref", xa is not None)
            add("t_bid_inside", xb is not None and xb <= 0)
            add("t_ask_inside", xa is not None and xa <= 0)
            add("t_bid_band", xb is not None and xb <= dlb)
            add("t_ask_band", xa is not None and xa <= dla)
            add("t_bid_edge", fb is not None and fb >= f.edge)
            add("t_ask_edge", fa is not None and fa >= f.edge)
            add("t_bid_near", fb is not None and fb <= f.near)
            add("t_ask_near", fa is not None and fa <= f.near)
            add("w_bid_x", xb is not None, xb or 0.0)
            add("w_ask_x", xa is not None, xa or 0.0)
            add("w_bid_f", fb is not None, fb or 0.0)
            add("w_ask_f", fa is not None, fa or 0.0)
            add("t_near2", near2)
            add("t_hold", hold)
            add("t_near2_hold", hold and near2)
            add("t_displayed", quoted and bool(qq and qq["displayed"]))
            add("t_firm", quoted and bool(qq and qq["firm"]))
    return out


def random_day(seed: int, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """A small, edge-heavy random day: equal timestamps of quotes and NBBO changes, quotes before the open and
    after the close, empty sides, sub-dollar Tier 2 prices, orders open at the close."""
    rnd = random.Random(seed)
    f = DayFrame.of(day)
    span = f.close - f.open
    grid = [f.open + int(span * k / 40) for k in range(41)] + list(f.boundaries())

    def t() -> int:
        r = rnd.random()
        if r < 0.35:
            return rnd.choice(grid)
        if r < 0.45:
            return f.open - rnd.randint(1, 10**12)
        if r < 0.5:
            return f.close + rnd.randint(0, 10**9)
        return f.open + rnd.randint(0, span - 1)

    syms = ["AAA", "PNY"]
    tiers = {"AAA": 1, "PNY": 2}
    base = {"AAA": 50.0, "PNY": 0.9}
    nb = []
    for s in syms:
        for _ in range(rnd.randint(3, 25)):
            p = base[s] * (1 + rnd.uniform(-0.05, 0.05))
            bid = round(p, 4) if rnd.random() > 0.05 else None
            ask = round(p * 1.002 + 0.01, 4) if rnd.random() > 0.05 else None
            nb.append({"ts": t(), "symbol": s, "bid": bid, "ask": ask})
    qs = []
    for s in syms:
        for mm in ("M1", "M2", "M3"):
            for _ in range(rnd.randint(0, 20)):
                p = base[s] * (1 + rnd.uniform(-0.05, 0.05))
                far = rnd.choice([0.0, 0.001, 0.05, 0.09, 0.2, 0.3])
                bid = round(p * (1 - far), 4) if rnd.random() > 0.15 else None
                ask = round(p * (1 + far) + 0.01, 4) if rnd.random() > 0.15 else None
                qs.append({"ts": t(), "symbol": s, "mm_id": mm, "bid": bid, "ask": ask,
                           "displayed": rnd.random() > 0.2, "firm": rnd.random() > 0.2})
    od = []
    for s in syms:
        for mm in ("M1", "M2", "M4"):
            for _ in range(rnd.randint(0, 3)):
                a = t()
                e = None if rnd.random() < 0.3 else a + rnd.randint(1, span)
                od.append({"ts": a, "end_ts": e, "symbol": s, "mm_id": mm})
    qdf = pl.DataFrame(qs, schema={"ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String, "bid": pl.Float64,
                                   "ask": pl.Float64, "displayed": pl.Boolean, "firm": pl.Boolean})
    ndf = pl.DataFrame(nb, schema={"ts": pl.Int64, "symbol": pl.String, "bid": pl.Float64, "ask": pl.Float64})
    odf = pl.DataFrame(od, schema={"ts": pl.Int64, "end_ts": pl.Int64, "symbol": pl.String, "mm_id": pl.String})
    return qdf, ndf, odf, tiers


def reference_review(m: Any) -> Any:
    """The review row by row: every check on every day and window, in plain Python (the definition the engine's
    column-wise review must reproduce exactly)."""
    from regsho.surveillance import findings as fi

    if m.days.height == 0:
        return fi.Review((), ())
    lim_cov = {f.day: fi._p("mm.review.min_two_sided_share", f.day) for f in m.frames}
    covered: dict[tuple[dt.date, str, str], list[str]] = {}
    for w in m.windows.select("date", "symbol", "mm_id", "two_sided_share", "window_start", "window_end").iter_rows(
            named=True):
        if (w["two_sided_share"] or 0.0) >= lim_cov[w["date"]]:
            covered.setdefault((w["date"], w["symbol"], w["mm_id"]), []).append(
                f"{fi._hm(w['window_start'])}-{fi._hm(w['window_end'])}")
    findings: list[Any] = []
    verdicts: list[Any] = []
    day_codes: dict[tuple[dt.date, str, str], list[Any]] = {}

    def verdict(r: dict[str, Any], scope: str, own: list[Any], day: tuple[Any, ...]) -> Any:
        key = (r["date"], r["symbol"], r["mm_id"])
        codes = tuple(dict.fromkeys([f.code for f in own] + [f.code for f in day]))
        pct = fi._pct
        if not codes:
            reasons = (f"bona fide: two-sided {pct(r['two_sided_share'])}, near the inside bid "
                       f"{pct(r['bid_near_inside_share'])} / ask {pct(r['ask_near_inside_share'])}, at the band "
                       f"edge bid {pct(r['bid_band_edge_share'])} / ask {pct(r['ask_band_edge_share'])}, firm "
                       f"{pct(r['firm_share'])}, displayed {pct(r['displayed_share'])}; no FINRA pattern found")
            return fi.Verdict(*key, scope, r["window_start"], r["window_end"], True, (), reasons)
        parts = [f"{f.code}: {fi.PATTERNS[f.code].meaning}: {f.evidence}" for f in own]
        parts += [f"{f.code} (the day as a whole): {fi.PATTERNS[f.code].meaning}: {f.evidence}" for f in day]
        return fi.Verdict(*key, scope, r["window_start"], r["window_end"], False, codes,
                          "not bona fide: " + "; ".join(parts))

    for r in m.days.select(fi._USED).iter_rows(named=True):
        key = (r["date"], r["symbol"], r["mm_id"])
        r["covered_windows"] = ", ".join(covered.get(key, []))
        fs = [fi.Finding(*key, "day", r["window_start"], r["window_end"], code, ev) for code, ev in fi._run(r, "day")]
        findings.extend(fs)
        day_codes[key] = fs
        verdicts.append(verdict(r, "day", fs, ()))
    for r in m.windows.select(fi._USED_W).iter_rows(named=True):
        key = (r["date"], r["symbol"], r["mm_id"])
        fs = [fi.Finding(*key, "window", r["window_start"], r["window_end"], code, ev)
              for code, ev in fi._run(r, "window")]
        findings.extend(fs)
        verdicts.append(verdict(r, "window", fs, tuple(day_codes.get(key, ()))))
    return fi.Review(tuple(findings), tuple(verdicts))
