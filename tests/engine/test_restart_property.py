"""Property: the book engine applied event by event, restarted from a copy of its state between pieces of random
size, gives exactly the effects of one straight run (what a long-lived service relies on after a restart)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from regsho.calendars import ET, default_calendars
from regsho.core import events as ev
from regsho.core.book import Account, AccountType, Book, Firm, Security, SecurityKind
from regsho.core.records import Effects
from regsho.engine.book import BookEngine
from regsho.engine.errors import EngineInputError

CAL = default_calendars()
BOOK = Book.of(
    Firm("FIRM", ("CORR",)),
    [Security("AAA"), Security("BBB", htb=True), Security("ETF1", SecurityKind.ETF), Security("THR")],
    [Account("C1", "FIRM", AccountType.CUSTOMER), Account("C2", "CORR", AccountType.CUSTOMER),
     Account("MM1", "FIRM", AccountType.MARKET_MAKER), Account("P1", "CORR", AccountType.PROPRIETARY)],
)
SYMS = ("AAA", "BBB", "ETF1", "THR")
ACCTS = ("C1", "C2", "MM1", "P1")


def stream(seed: int, n: int) -> list[ev.Event]:
    """A random but plausible day-by-day stream: lists, locates, orders, fills, cancels, fails, CNS positions,
    close-outs, allocations, certifications, Rule 201 triggers, locates returned to the desk."""
    rng = random.Random(seed)
    days = CAL.settlement_days(dt.date(2024, 6, 3), dt.date(2024, 7, 31))
    out: list[ev.Event] = []
    orders: list[str] = []
    locates = 0
    t = dt.datetime.combine(days[0], dt.time(7, 0), tzinfo=ET)
    day_i = 0
    for i in range(n):
        t += dt.timedelta(minutes=rng.choice((1, 5, 30, 90, 240)))
        if t.hour >= 20:
            day_i = min(day_i + 1, len(days) - 1)
            t = dt.datetime.combine(days[day_i], dt.time(7, rng.randrange(60)), tzinfo=ET)
        d = t.date()
        kind = rng.choices(
            ("locate", "order", "fill", "cancel", "fail", "cns", "close_out", "list", "etb", "htb", "ssr",
             "allocate", "certify", "position", "mm_status", "pre_borrow", "release"),
            (10, 25, 12, 4, 8, 6, 8, 2, 2, 1, 1, 2, 1, 2, 2, 2, 3))[0]
        sym = rng.choice(SYMS)
        acct = rng.choice(ACCTS)
        if kind == "locate":
            locates += 1
            out.append(ev.LocateGrant(t, f"L{locates}", acct, sym, rng.choice((100, 500, 1000)),
                                      CAL.end_of_day(d), True, "desk"))
        elif kind == "order":
            oid = f"O{i}"
            orders.append(oid)
            side = rng.choice(list(ev.Side))
            price = Decimal(rng.choice(("10.00", "10.05", "9.95"))) if rng.random() < 0.7 else None
            nbb = Decimal("10.00") if rng.random() < 0.8 else None
            exempt = rng.choice(("201(c)", "201(d)(1)", None)) if side is ev.Side.SELL_SHORT_EXEMPT else None
            loc = f"L{rng.randrange(1, locates + 1)}" if locates and rng.random() < 0.4 else None
            out.append(ev.Order(t, oid, acct, sym, side, rng.choice((100, 200, 500)), price, nbb, loc,
                                acct == "MM1" and rng.random() < 0.5, exempt))
        elif kind in ("fill", "cancel") and orders:
            oid = rng.choice(orders[-20:])
            out.append(ev.Fill(t, oid, rng.choice((100, 200))) if kind == "fill" else ev.Cancel(t, oid))
        elif kind == "fail":
            s = CAL.settlement_day_on_or_before(d)
            origin = rng.choice(list(ev.FailOrigin))
            trade = CAL.previous_settlement_day(s)
            out.append(ev.Fail(t, sym, rng.choice((100, 500, 1000)), s, origin, trade,
                               rng.choice((None, "CORR")), trade if origin is ev.FailOrigin.OPTIONS_MM_HEDGE else None))
        elif kind == "cns":
            out.append(ev.Cns(t, "THR", CAL.settlement_day_on_or_before(d), rng.choice((0, 300, 800))))
        elif kind == "close_out":
            out.append(ev.CloseOut(t, f"X{i}", sym, rng.choice((100, 500, 1000)), rng.choice(list(ev.CloseOutMethod)),
                                   rng.choice((None, "CORR")), rng.random() < 0.9, rng.random() < 0.95,
                                   rng.random() < 0.3))
        elif kind == "list":
            out.append(ev.ThresholdList(t, frozenset(rng.sample(("THR", "AAA"), rng.randrange(3)))))
        elif kind == "etb":
            out.append(ev.EtbList(t, frozenset(rng.sample(SYMS, rng.randrange(4)))))
        elif kind == "htb":
            out.append(ev.HtbList(t, frozenset(rng.sample(SYMS, rng.randrange(3)))))
        elif kind == "ssr":
            out.append(ev.SsrTrigger(t.replace(hour=11), sym) if t.hour < 11 else ev.SsrTrigger(t, sym))
        elif kind == "allocate":
            out.append(ev.Allocate(t, sym, rng.choice((100, 300)), "CORR"))
        elif kind == "certify":
            out.append(ev.Certify(t, "CORR", sym, CAL.previous_settlement_day(d), ev.CertifyBasis.NO_FAIL))
        elif kind == "position":
            out.append(ev.PositionSet(t, acct, sym, rng.choice((-500, 0, 500, 1000))))
        elif kind == "mm_status":
            out.append(ev.MmStatus(t, "MM1", sym, rng.random() < 0.7))
        elif kind == "release" and locates:
            out.append(ev.LocateRelease(t, f"L{rng.randrange(1, locates + 1)}", rng.choice((None, 100, 300))))
        elif kind == "pre_borrow":
            out.append(ev.PreBorrow(t, f"PBR{i}", rng.choice(("FIRM", "CORR")), sym, rng.choice((100, 500))))
    out.sort(key=lambda e: e.at)
    return out


def _valid(events: list[ev.Event]) -> list[ev.Event]:
    """The events the engine accepts, in order (a random stream has some it rightly refuses)."""
    eng = BookEngine(BOOK, CAL)
    kept = []
    for e in events:
        probe = BookEngine.restore(eng.snapshot())
        try:
            probe.apply(e)
        except EngineInputError:
            continue
        eng = probe
        kept.append(e)
    return kept


def _straight(events: list[ev.Event]) -> list[Effects]:
    eng = BookEngine(BOOK, CAL)
    out = [eng.apply(e) for e in events]
    out.append(eng.finish())
    return out


def _in_pieces(events: list[ev.Event], cuts: list[int]) -> list[Effects]:
    eng = BookEngine(BOOK, CAL)
    out: list[Effects] = []
    i = 0
    for size in cuts:
        for e in events[i:i + size]:
            out.append(eng.apply(e))
        i += size
        eng = BookEngine.restore(eng.snapshot())  # a restart from a copy of the state
    for e in events[i:]:
        out.append(eng.apply(e))
    out.append(eng.finish())
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), cuts=st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_restart_between_pieces_gives_the_same_effects(seed: int, cuts: list[int]) -> None:
    events = _valid(stream(seed, 180))
    assert _in_pieces(events, cuts) == _straight(events)


def test_the_random_streams_exercise_the_close_out_side() -> None:
    seen: set[str] = set()
    for seed in range(6):
        for fx in _straight(_valid(stream(seed, 180))):
            seen.update(o.change for o in fx.obligations)
            seen.update(f.code for f in fx.findings)
            seen.update(n.kind for n in fx.notices)
            seen.update(d.action for d in fx.decisions)
            seen.update(k for d in fx.decisions for k, _ in d.facts if k == "locate.released")
    assert {"created", "closed", "missed", "accept", "reject", "CLOSE_OUT_MISSED", "pre_borrow_imposed",
            "locate.released"} <= seen
