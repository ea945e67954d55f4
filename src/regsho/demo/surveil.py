"""The demo's market makers under surveillance: synthetic quotes of each around a synthetic NBBO of its securities,
reviewed by the real bona fide market-making review (``regsho.surveillance``), and the window verdicts turned into
``MmVerdict`` events the gate judges their short sales on (17 CFR 242.203(b)(2)(iii))."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from regsho.core.events import MmVerdict
from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy
from regsho.surveillance.verdict_events import verdict_events

#: NBBO changes per security and day in the synthetic tape (enough for 13 half-hour windows)
UPDATES = 400


def review_days(days: Sequence[dt.date], prices: Mapping[str, float], makers: Mapping[str, tuple[str, str]],
                seed: int) -> tuple[MmVerdict, ...]:
    """Window verdicts for each day: ``prices`` maps the securities quoted to a price to quote around, ``makers``
    maps a surveillance id to (the account that relies on the exception, its quoting profile)."""
    symbols = sorted(prices)
    out: list[MmVerdict] = []
    for i, d in enumerate(days):
        raw = sy.synthetic_nbbo(d, len(symbols), UPDATES, seed=seed * 1_000 + i)
        names = {f"S{k:03d}": s for k, s in enumerate(symbols)}
        # centre each tape on the security's price, on whole cents, the offer at least a cent above the bid
        first = raw.group_by("symbol").agg(pl.col("bid").first().alias("p0"))
        nbbo = (raw.join(first, on="symbol")
                .with_columns(symbol=pl.col("symbol").replace_strict(names))
                .with_columns(scale=pl.col("symbol").replace_strict({s: prices[s] for s in symbols}) / pl.col("p0"))
                .with_columns(bid=(pl.col("bid") * pl.col("scale")).round(2),
                              ask=(pl.col("ask") * pl.col("scale")).round(2))
                .with_columns(ask=pl.max_horizontal("ask", (pl.col("bid") + sy.TICK).round(2)))
                .drop("p0", "scale"))
        mk = tuple(sy.Maker(mm, profile) for mm, (_, profile) in sorted(makers.items()))
        syn = sy.generate(nbbo, mk, seed=seed * 1_000 + i)
        review = fi.review(me.compute(me.Inputs(sy.with_day(syn.quotes), nbbo)))
        out.extend(verdict_events(review, {mm: acct for mm, (acct, _) in makers.items()},
                                  source="regsho surveil (demo)"))
    return tuple(sorted(out, key=lambda e: (e.at, e.account, e.symbol)))
