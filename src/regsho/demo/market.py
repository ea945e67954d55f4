"""The demo firm's market: the securities it deals in, their prices and tiers, and the threshold list of each day.

With the SEC fails-to-deliver files at hand (``<project>/../shared/data``) the securities are real ones — symbol,
CUSIP, name and last price from the fails files — and the threshold securities are those the public record put on
the list (17 CFR 242.203(c)(6), computed by ``regsho.marketdata.threshold`` with the exchanges' shares-outstanding
counts). Without them a seeded synthetic market stands in, with the same shape.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from regsho.calendars import Calendars

#: The demo month: January 2021 (T+2), covered by the SEC fails files of the shared data.
FIRST_DAY: Final = dt.date(2021, 1, 4)
LAST_DAY: Final = dt.date(2021, 1, 29)
#: Fails files read for the real market: a month of history before the demo month, for the five-day test.
FAIL_FILES: Final = ("cnsfails202012a.txt", "cnsfails202012b.txt", "cnsfails202101a.txt", "cnsfails202101b.txt")
SHARE_FILES: Final = ("nasdaqlist_1625204865858.csv", "nyselist_1625204791785.csv")

TIERS: Final = ("etb", "general", "htb")


@dataclass(frozen=True, slots=True)
class Listed:
    """One security of the demo: ``tier`` is how the firm's stock loan desk sees it (``etb`` on the easy-to-borrow
    list, ``general`` located on request, ``htb`` hard to borrow)."""

    symbol: str
    name: str
    cusip: str
    price: float
    tier: str
    shares_outstanding: int | None = None


@dataclass(frozen=True, slots=True)
class Market:
    securities: tuple[Listed, ...]
    #: the symbols on the threshold list in effect on each trading day of the demo (the list published after the
    #: previous settlement day), only for securities of the demo
    threshold: tuple[tuple[dt.date, frozenset[str]], ...]
    #: where the securities and the lists came from, in words
    source: str

    def on_list(self, d: dt.date) -> frozenset[str]:
        for day, syms in self.threshold:
            if day == d:
                return syms
        return frozenset()

    @property
    def threshold_symbols(self) -> frozenset[str]:
        out: set[str] = set()
        for _, syms in self.threshold:
            out |= syms
        return frozenset(out)


def shared_data(root: Path) -> Path:
    """The shared data folder next to the project (``<root>/../shared/data``)."""
    return root / ".." / "shared" / "data"


def _tier(rng: random.Random) -> str:
    return rng.choices(TIERS, weights=(55, 35, 10))[0]


_WORDS: Final = ("Apex", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
                 "Keystone", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quarry", "Ridge", "Summit", "Tidal",
                 "Umber", "Vantage", "Willow", "Xenon", "Yarrow", "Zephyr")
_KINDS: Final = ("Holdings Inc", "Therapeutics Inc", "Energy Corp", "Systems Inc", "Bancorp", "Mining Ltd",
                 "Pharmaceuticals Inc", "Technologies Inc", "Retail Group Inc", "Industries Inc")


def _check_digit(base: str) -> str:
    total = 0
    for i, ch in enumerate(base):
        v = int(ch) if ch.isdigit() else ord(ch) - 55
        if i % 2:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


def synthetic(seed: int, n: int, days: tuple[dt.date, ...], n_threshold: int) -> Market:
    """A seeded market of ``n`` securities, ``n_threshold`` of them on the threshold list for part of the month."""
    rng = random.Random(f"market-{seed}")
    used: set[str] = set()
    out: list[Listed] = []
    while len(out) < n:
        length = rng.choice((3, 4, 4, 4))
        sym = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") for _ in range(length))
        if sym in used:
            continue
        used.add(sym)
        base = f"{rng.randrange(10**5, 10**6)}{rng.choice('ABCDEFGH')}{rng.randrange(10, 99)}"
        cusip = base + _check_digit(base)
        price = round(min(900.0, max(1.5, rng.lognormvariate(3.4, 0.9))), 2)
        name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)}"
        out.append(Listed(sym, name, cusip, price, _tier(rng), rng.randrange(20, 900) * 1_000_000))
    # threshold securities: small, hard to borrow names, each listed for a run of days
    thr = [replace(s, tier="htb", price=round(min(s.price, 12.0), 2)) for s in out[:n_threshold]]
    out[:n_threshold] = thr
    spans: dict[str, tuple[int, int]] = {}
    for i, s in enumerate(thr):
        if i == 0:  # one security listed the whole month: the firm's 13-day clock runs on it
            spans[s.symbol] = (0, len(days))
        else:
            a = rng.randrange(0, max(1, len(days) - 3))
            spans[s.symbol] = (a, min(len(days), a + rng.randrange(5, 16)))
    lists = tuple((d, frozenset(sym for sym, (a, b) in spans.items() if a <= i < b)) for i, d in enumerate(days))
    return Market(tuple(sorted(out, key=lambda s: s.symbol)), lists, f"synthetic (seed {seed})")


def real(data: Path, seed: int, n: int, days: tuple[dt.date, ...], n_threshold: int, cal: Calendars) -> Market:
    """Real securities and threshold lists from the SEC fails files and the exchanges' listings in ``data``."""
    import polars as pl

    from regsho.adapters import sec_fails, shares
    from regsho.marketdata import threshold

    fails = sec_fails.read_many([data / "sec_ftd" / f for f in FAIL_FILES])
    counts = shares.read_many([data / "listings" / f for f in SHARE_FILES])
    result = threshold.compute(fails, counts, cal)
    first, last = days[0], days[-1]
    spells = result.spells.filter(
        (pl.col("start") <= last) & (pl.col("end").is_null() | (pl.col("end") >= cal.previous_settlement_day(first)))
        & pl.col("symbol").str.contains(r"^[A-Z]{1,5}$"))
    # the longest spells first (GME in January 2021), then by CUSIP: deterministic
    spells = spells.sort(["days_on_list", "cusip"], descending=[True, False]).head(n_threshold)
    latest = (fails.filter(pl.col("settlement_date") <= last).sort("settlement_date")
              .group_by("cusip", maintain_order=True).last())
    tso = {r[0]: r[1] for r in result.daily.group_by("cusip").agg(pl.col("tso").max()).iter_rows()} \
        if result.daily.height and "tso" in result.daily.columns else {}
    thr_cusips = set(spells.get_column("cusip").to_list())
    info = {r["cusip"]: r for r in latest.iter_rows(named=True)}
    picked: list[Listed] = []
    for c in sorted(thr_cusips):
        r = info.get(c)
        if r is None:
            continue
        price = r["price"] if r["price"] and r["price"] > 0 else 5.0
        picked.append(Listed(r["symbol"], _clean(r["description"]), c, round(float(price), 2), "htb",
                             _int(tso.get(c))))
    # the rest: ordinary listed stocks seen in the fails files, priced at $2 or more, one symbol per CUSIP
    pool = (latest.filter(pl.col("symbol").str.contains(r"^[A-Z]{1,4}$") & (pl.col("price") >= 2.0)
                          & ~pl.col("cusip").is_in(sorted(thr_cusips)))
            .unique("symbol", keep="first").sort("cusip"))
    rng = random.Random(f"market-{seed}")
    taken = {s.symbol for s in picked}
    rows = [r for r in pool.rows(named=True) if r["symbol"] not in taken]
    for r in rng.sample(rows, min(len(rows), max(0, n - len(picked)))):
        picked.append(Listed(r["symbol"], _clean(r["description"]), r["cusip"], round(float(r["price"]), 2),
                             _tier(rng), _int(tso.get(r["cusip"]))))
    symbols = {s.symbol for s in picked}
    by_cusip = {r["cusip"]: r["symbol"] for r in spells.iter_rows(named=True)}
    lists = []
    for d in days:
        prev = cal.previous_settlement_day(d)
        on = threshold.on_list(spells, prev).get_column("cusip").to_list()
        lists.append((d, frozenset(by_cusip[c] for c in on if by_cusip.get(c) in symbols)))
    src = (f"SEC fails-to-deliver data {', '.join(FAIL_FILES)} and exchange listings in {data}: "
           f"{len(thr_cusips)} threshold securities of 17 CFR 242.203(c)(6) in the demo month")
    return Market(tuple(sorted(picked, key=lambda s: s.symbol)), tuple(lists), src)


def _clean(desc: object) -> str:
    text = " ".join(str(desc or "").split())
    return text.title() if text else "Unnamed security"


def _int(v: object) -> int | None:
    if isinstance(v, int | float) and v > 0:
        return int(v)
    return None


def available(data: Path) -> bool:
    return all((data / "sec_ftd" / f).is_file() for f in FAIL_FILES) and all(
        (data / "listings" / f).is_file() for f in SHARE_FILES)
