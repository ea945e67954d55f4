"""Over the LOBSTER AMZN and GOOG days and 20 generator seeds, every synthetic pattern gets its finding and every
honest maker is bona fide (day and every window)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from regsho.adapters.lobster import read_lobster_nbbo
from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy

LOBSTER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lobster"
FILES = ("AMZN_2012-06-21_34200000_57600000_message_1.csv", "GOOG_2012-06-21_34200000_57600000_message_1.csv")
SEEDS = range(20)


@pytest.fixture(scope="module")
def nbbo() -> pl.DataFrame:
    if not all((LOBSTER / f).exists() for f in FILES):
        pytest.skip(f"LOBSTER sample files not found under {LOBSTER} (../shared/data is absent)")
    return pl.concat([read_lobster_nbbo(LOBSTER / f) for f in FILES])


@pytest.fixture(scope="module")
def reviewed(nbbo: pl.DataFrame) -> tuple[fi.Review, dict[str, str]]:
    quotes, orders, trades = [], [], []
    profile: dict[str, str] = {}
    for seed in SEEDS:
        makers = tuple(sy.Maker(f"S{seed:02d}{p.upper()}", p) for p in sy.PROFILES)
        profile.update({m.mm_id: m.profile for m in makers})
        s = sy.generate(nbbo, makers, seed=seed)
        quotes.append(s.quotes)
        orders.append(s.orders)
        trades.append(s.trades)
    inp = me.Inputs(sy.with_day(pl.concat(quotes)), nbbo, sy.with_day(pl.concat(trades)),
                    sy.with_day(pl.concat(orders)), {"AMZN": 1, "GOOG": 1})
    return fi.review(me.compute(inp)), profile


def test_every_pattern_gets_its_finding(reviewed: tuple[fi.Review, dict[str, str]]) -> None:
    rv, profile = reviewed
    day_codes: dict[tuple[str, str], set[str]] = {}
    for f in rv.findings:
        if f.scope == "day":
            day_codes.setdefault((f.symbol, f.mm_id), set()).add(f.code)
    checked = 0
    for mm, p in profile.items():
        for sym in ("AMZN", "GOOG"):
            if p in sy.EXPECTED_FINDING:
                assert sy.EXPECTED_FINDING[p] in day_codes.get((sym, mm), set()), (sym, mm, p)
                checked += 1
    assert checked == 20 * 2 * len(sy.EXPECTED_FINDING)


def test_every_honest_maker_is_bona_fide(reviewed: tuple[fi.Review, dict[str, str]]) -> None:
    rv, profile = reviewed
    honest = [v for v in rv.verdicts if profile[v.mm_id] == "honest"]
    assert len(honest) == 20 * 2 * (1 + 13)
    bad = [v for v in honest if not v.bona_fide]
    assert not bad, bad[:3]
    others = {v.mm_id for v in rv.verdicts if v.scope == "day" and not v.bona_fide}
    assert others == {mm for mm, p in profile.items() if p != "honest"}
