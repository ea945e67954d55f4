"""Benchmark: a year of a clearing firm's settlement fails through the close-out engine (``regsho bench closeouts``).

The synthetic book: one participant clearing for 20 correspondents, 3,000 securities (some threshold
securities with daily CNS positions), about 5,000 fails a settlement day with a realistic mix of origins, most
closed out on time by purchase or borrow, some late, some allocated to correspondents, some certified, and a few
thousand short-sale orders a day through the gate. Events are generated before timing. The baseline, measured in
the same run over the same events, is the replay loop dispatching every event with no engine behind it.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from regsho.adapters.scenario import Scenario, ScenarioEvent
from regsho.calendars import ET, default_calendars
from regsho.core import events as ev
from regsho.core.book import Book
from regsho.rules import r203_b2

ORIGINS: tuple[tuple[ev.FailOrigin, float], ...] = (
    (ev.FailOrigin.SHORT_SALE, 0.60),
    (ev.FailOrigin.LONG_SALE, 0.20),
    (ev.FailOrigin.BONA_FIDE_MM, 0.12),
    (ev.FailOrigin.DEEMED_TO_OWN, 0.04),
    (ev.FailOrigin.OPTION_EXERCISE, 0.04),
)


def build(
    year: int = 2025, fails_per_day: int = 5_000, securities: int = 3_000, correspondents: int = 20,
    orders_per_day: int = 2_000, threshold_securities: int = 60, seed: int = 11,
) -> Scenario:
    """A year's events for one participant, in time order, as a scenario.

    The synthetic firm behaves the same way all year, so that the workload is stationary and a benchmark over
    it measures the engine, not a growing backlog: it closes out every obligation it incurs (its 203(b)(3)
    obligations too, found by running the engine over the threshold list and the CNS positions), buys a
    deemed-to-own fail on the settlement day before a 35th day on which the banks are closed, and allocates
    only a fail that is its sole fail and sole open obligation in the security that day."""
    rng = random.Random(seed)
    cal = default_calendars()
    days = cal.settlement_days(dt.date(year, 1, 2), dt.date(year, 12, 31))
    firm = ev.Firm("CLEAR", tuple(f"C{i:02d}" for i in range(correspondents)))
    bds = (firm.id, *firm.clears_for)
    syms = [f"S{i:04d}" for i in range(securities)]
    secs = {s: ev.Security(s, ev.SecurityKind.ETF if i % 50 == 0 else ev.SecurityKind.STOCK,
                           i % 40 == 0, 10_000_000 + i * 1_000) for i, s in enumerate(syms)}
    accounts = {f"A{i:03d}": ev.Account(f"A{i:03d}", bds[i % len(bds)],
                                        ev.AccountType.MARKET_MAKER if i % 10 == 0 else ev.AccountType.CUSTOMER)
                for i in range(len(bds) * 5)}
    acct_ids = list(accounts)
    thr = syms[-threshold_securities:]
    origins = [o for o, _ in ORIGINS]
    weights = [w for _, w in ORIGINS]
    out: list[ScenarioEvent] = []
    n = 0

    def add(e: ev.Event, t: str) -> None:
        nonlocal n
        out.append(ScenarioEvent(n, t, e))
        n += 1

    def at(d: dt.date, h: int, m: int = 0, s: int = 0) -> dt.datetime:
        return dt.datetime(d.year, d.month, d.day, h, m, s, tzinfo=ET)

    pending: dict[dt.date, list[tuple[str, str, int, str]]] = {}  # close-outs due: day -> (sym, bd, qty, method)
    #: close-outs scheduled and not yet made, per (bd, symbol): a fail is allocated only when it is the
    #: participant's one open obligation in the security, so that 204(d)'s allocation order (earliest deadline
    #: first) moves exactly that fail and every broker-dealer's close-outs match what it owes
    outstanding: dict[tuple[str, str], int] = {}
    oid = lid = cid = 0
    thr_list = ev.ThresholdList(at(days[0], 6), frozenset(thr))
    add(thr_list, "threshold_list")
    cns_events = _cns_positions(days, thr, rng)
    # The firm closes out its 203(b)(3) obligations too, by purchase when due: it knows them as the engine does
    # (the 13-day count depends on the threshold list and the CNS positions alone).
    thr_owed = _threshold_obligations(firm, secs, accounts, [thr_list, *cns_events])
    cns_by_day: dict[dt.date, list[ev.Cns]] = {}
    for c in cns_events:
        cns_by_day.setdefault(c.date, []).append(c)
    for d in days:
        # 08:00-09:29: close-outs due today, mostly on time
        todays = pending.pop(d, [])
        for i, (sym, bd, qty, method) in enumerate(todays):
            late = rng.random() < 0.02
            t = at(d, 10, 30) if late else at(d, 8, 0) + dt.timedelta(seconds=i % 5000)
            if late:
                pending.setdefault(d, []).append((sym, bd, qty, "purchase"))
                continue
            cid += 1
            outstanding[(bd, sym)] -= 1
            add(ev.CloseOut(t, f"X{cid}", sym, qty, ev.CloseOutMethod(method), bd), "close_out")
        # 09:30-16:00: locates and short sales through the gate
        for i in range(orders_per_day):
            a = acct_ids[rng.randrange(len(acct_ids))]
            sym = syms[rng.randrange(securities)]
            t = at(d, 9, 31) + dt.timedelta(seconds=i * 11)
            lid += 1
            add(ev.LocateGrant(t, f"L{lid}", a, sym, 1_000, at(d + dt.timedelta(days=1), 0), True, "desk"), "locate")
            oid += 1
            add(ev.Order(t, f"O{oid}", a, sym, ev.Side.SELL_SHORT, rng.choice((100, 200, 500)), locate=f"L{lid}"),
                "order")
        # late close-outs (after the open) for the 2% missed
        for i, (sym, bd, qty, method) in enumerate(pending.pop(d, [])):
            cid += 1
            outstanding[(bd, sym)] -= 1
            add(ev.CloseOut(at(d, 15, 0) + dt.timedelta(seconds=i), f"X{cid}", sym, qty,
                            ev.CloseOutMethod(method), bd), "close_out")
        # 18:00: the day's fails
        day_fails: list[tuple[str, ev.FailOrigin, int, str]] = []
        for _ in range(fails_per_day):
            sym = syms[rng.randrange(securities)]
            origin = rng.choices(origins, weights)[0]
            qty = rng.choice((100, 200, 500, 1_000, 2_500))
            bd = firm.id if rng.random() < 0.6 else bds[1 + rng.randrange(correspondents)]
            day_fails.append((sym, origin, qty, bd))
        # the participant's fails today, per security: one that is its only fail in the security today and its
        # only open obligation there may be allocated in the evening
        firm_fails: dict[str, int] = {}
        for sym, _, _, bd in day_fails:
            if bd == firm.id:
                firm_fails[sym] = firm_fails.get(sym, 0) + 1
        allocs: list[tuple[str, int, str]] = []
        trade = cal.previous_settlement_day(d)
        for i, (sym, origin, qty, bd) in enumerate(day_fails):
            add(ev.Fail(at(d, 18) + dt.timedelta(milliseconds=i), sym, qty, d, origin, trade, bd), "fail")
            if origin is ev.FailOrigin.DEEMED_TO_OWN:
                # the 35th day may be a trading day on which the banks are closed (Columbus Day, Veterans Day):
                # the firm buys on the settlement day before it
                due = cal.settlement_day_on_or_before(r203_b2.deemed_to_own_deadline(trade, cal).date())
                method = "purchase"
            else:
                k = 3 if origin in (ev.FailOrigin.LONG_SALE, ev.FailOrigin.BONA_FIDE_MM) else 1
                due = cal.add_settlement_days(d, k)
                method = "purchase" if rng.random() < 0.5 else "borrow"
            if (bd == firm.id and rng.random() < 0.05 and firm_fails[sym] == 1
                    and not outstanding.get((bd, sym))):
                allocs.append((sym, qty, bds[1 + rng.randrange(correspondents)]))
                bd = allocs[-1][2]
            if outstanding.get((bd, sym)):
                method = "purchase"  # a borrow cannot cure a purchase-only obligation it would be matched with
            outstanding[(bd, sym)] = outstanding.get((bd, sym), 0) + 1
            pending.setdefault(due, []).append((sym, bd, qty, method))
        for i, (sym, qty, to) in enumerate(allocs):
            add(ev.Allocate(at(d, 19, 30) + dt.timedelta(milliseconds=i), sym, qty, to), "allocate")
        # 19:00: CNS positions in the threshold securities, and the 203(b)(3) obligations they start
        for c in cns_by_day.get(d, ()):
            add(c, "cns")
        for sym, qty, due in thr_owed.get(d, ()):
            outstanding[(firm.id, sym)] = outstanding.get((firm.id, sym), 0) + 1
            pending.setdefault(due, []).append((sym, firm.id, qty, "purchase"))
    out.sort(key=lambda se: se.event.at)
    events = tuple(ScenarioEvent(i, se.type, se.event) for i, se in enumerate(out))
    return Scenario("<bench closeouts>", f"synthetic year {year}", (), firm, secs, accounts, events, None,
                    frozenset(bds))


def _cns_positions(days: Sequence[dt.date], thr: list[str], rng: random.Random) -> list[ev.Cns]:
    """The participant's daily CNS fail positions in the threshold securities (19:00 each settlement day)."""
    qty = {s: 0 for s in thr}
    out = []
    for d in days:
        for i, sym in enumerate(thr):
            qty[sym] = max(0, qty[sym] + rng.choice((-2_000, -500, 0, 500, 1_000)))
            out.append(ev.Cns(dt.datetime(d.year, d.month, d.day, 19, tzinfo=ET) + dt.timedelta(milliseconds=i),
                              sym, d, qty[sym]))
    return out


def _threshold_obligations(firm: ev.Firm, secs: dict[str, ev.Security], accounts: dict[str, ev.Account],
                           events: list[ev.Event]) -> dict[dt.date, list[tuple[str, int, dt.date]]]:
    """The 203(b)(3) close-out obligations the threshold list and the CNS positions start, by the last day of
    their run: (symbol, quantity, day due), as the engine finds them."""
    from regsho.engine.book import BookEngine

    engine = BookEngine(Book(firm, secs, accounts, "<bench closeouts: 203(b)(3)>"))
    out: dict[dt.date, list[tuple[str, int, dt.date]]] = {}
    for e in events:
        for o in engine.apply(e).obligations:
            if o.change == "created":
                out.setdefault(o.settlement_date, []).append((o.symbol, o.qty, o.deadline.date()))
    return out


def measure(year: int, fails_per_day: int, seed: int, days: int | None = None, by_type: bool = False
            ) -> dict[str, Any]:
    """Build one synthetic year (or its first ``days`` settlement days), then time the dispatch-only baseline and
    ``BookEngine.apply`` over the same events, one event at a time. With ``by_type``, a second pass through a new
    engine (after the first run's effects are folded and let go) times each event and sums the time by event type
    (the deadlines an event lets pass, and the misses they cause, count to that event)."""
    from regsho.adapters.output import bulk
    from regsho.app.replay import book_of
    from regsho.engine.book import BookEngine
    from regsho.engine.ledger import Ledger

    t0 = time.perf_counter()
    sc = build(year=year, fails_per_day=fails_per_day, seed=seed)
    events = [se.event for se in sc.events]
    if days is not None:
        cal = default_calendars()
        last = cal.settlement_days(dt.date(year, 1, 2), dt.date(year, 12, 31))[min(days, 250) - 1]
        events = [e for e in events if e.at.date() <= last]
    t_build = time.perf_counter() - t0
    n = len(events)
    counts: dict[str, int] = {}
    for e in events:
        counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
    handlers: dict[type, Any] = {t: (lambda e: None) for t in {type(e) for e in events}}

    # Baseline: the same loop dispatching every event by type, with no engine behind it.
    gc.collect()
    t0 = time.perf_counter()
    for e in events:
        handlers[type(e)](e)
    t_base = time.perf_counter() - t0

    engine = BookEngine(book_of(sc))
    gc.collect()
    with bulk():  # as `regsho replay` runs it: no cyclic garbage collection during the replay
        t0 = time.perf_counter()
        apply = engine.apply
        effects = [apply(e) for e in events]
        effects.append(engine.finish())
        t_engine = time.perf_counter() - t0

    ledger = Ledger()
    t0 = time.perf_counter()
    for fx in effects:
        if fx:
            ledger.absorb(fx)
    t_ledger = time.perf_counter() - t0
    records = {"obligations": len(ledger.obligations), "pre_borrow_periods": len(ledger.periods),
               "notices": len(ledger.notices), "findings": len(ledger.findings), "decisions": len(ledger.decisions)}
    del effects, ledger, engine

    per_type: dict[str, float] = {}
    if by_type:
        by_kind: dict[type, float] = {}
        engine = BookEngine(book_of(sc))
        clock = time.perf_counter
        gc.collect()
        with bulk():
            apply = engine.apply
            for e in events:
                t0 = clock()
                apply(e)
                t1 = clock()
                kind = type(e)
                by_kind[kind] = by_kind.get(kind, 0.0) + (t1 - t0)
        per_type = {kind.__name__: secs for kind, secs in by_kind.items()}
    return {
        "fails_per_day": fails_per_day, "events": n, "counts": counts, "build_seconds": t_build,
        "engine_seconds": t_engine, "engine_events_per_s": n / t_engine,
        "baseline_events_per_s": n / t_base if t_base else float("inf"),
        "ratio": (n / t_engine) / (n / t_base) if t_base else 0.0, "ledger_seconds": t_ledger, **records,
        "seconds_by_type": per_type,
    }


def run(year: int, sizes: tuple[int, ...], seed: int, console: Console, days: int | None = None,
        by_type: bool = False) -> list[dict[str, Any]]:
    results = [measure(year, n, seed, days, by_type) for n in sizes]
    t = Table(title=f"close-out engine: a synthetic year ({year}{f', first {days} days' if days else ''}), "
                    "one event at a time through BookEngine.apply", title_justify="left")
    t.add_column("measure")
    for r in results:
        t.add_column(f"{r['fails_per_day']:,} fails/day", justify="right")
    t.add_row("events", *(f"{r['events']:,}" for r in results))
    kinds = sorted({k for r in results for k in r["counts"]})
    for k in kinds:
        t.add_row(f"  {k}", *(f"{r['counts'].get(k, 0):,}" for r in results))
    t.add_row("engine events/s", *(f"{r['engine_events_per_s']:,.0f}" for r in results))
    t.add_row("baseline (dispatch only) events/s", *(f"{r['baseline_events_per_s']:,.0f}" for r in results))
    t.add_row("engine / baseline", *(f"{r['ratio']:.4f}" for r in results))
    t.add_row("engine wall time", *(f"{r['engine_seconds']:.1f} s" for r in results))
    t.add_row("ledger fold (projections)", *(f"{r['ledger_seconds']:.1f} s" for r in results))
    t.add_row("obligations / periods / notices / findings",
              *(f"{r['obligations']:,} / {r['pre_borrow_periods']:,} / {r['notices']:,} / {r['findings']:,}"
                for r in results))
    console.print(t)
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        spread = hi["engine_events_per_s"] / lo["engine_events_per_s"]
        console.print(f"events/s at {hi['fails_per_day']:,} fails/day / at {lo['fails_per_day']:,}: {spread:.2f} "
                      f"(target 0.80-1.25: {'PASS' if 0.8 <= spread <= 1.25 else 'MISS'})", highlight=False)
    big = results[-1]
    console.print(f"events/s at {big['fails_per_day']:,} fails/day: {big['engine_events_per_s']:,.0f} (target "
                  f">= 100,000: {'PASS' if big['engine_events_per_s'] >= 100_000 else 'MISS'})", highlight=False)
    if by_type:
        _print_by_type(results, kinds, console)
    return results


def _print_by_type(results: list[dict[str, Any]], kinds: list[str], console: Console) -> None:
    """µs per event by event type at each size and, for the largest size, the time its events would take at the
    smallest size's cost per event type: the sizes' events/s differ by their mix of event types as well as by
    what the engine holds, and this separates the two."""
    t = Table(title="µs per event, by event type (a second, per-event timed pass)", title_justify="left")
    t.add_column("event type")
    for r in results:
        t.add_column(f"{r['fails_per_day']:,} fails/day", justify="right")

    def us(r: dict[str, Any], k: str) -> float | None:
        n = r["counts"].get(k, 0)
        return r["seconds_by_type"].get(k, 0.0) / n * 1e6 if n else None

    for k in kinds:
        t.add_row(k, *(f"{v:.2f}" if (v := us(r, k)) is not None else "-" for r in results))
    console.print(t)
    if len(results) < 2:
        return
    lo, hi = results[0], results[-1]
    measured = sum(hi["seconds_by_type"].values())
    predicted = 0.0
    for k, n in hi["counts"].items():
        cost = us(lo, k)
        if cost is None:
            console.print(f"no {k} events at {lo['fails_per_day']:,} fails/day: no comparison by mix",
                          highlight=False)
            return
        predicted += n * cost / 1e6
    console.print(f"{hi['fails_per_day']:,} fails/day: {measured:.1f} s measured by type; {predicted:.1f} s at the "
                  f"cost per event type of {lo['fails_per_day']:,} fails/day; measured / predicted "
                  f"{measured / predicted:.2f} (1.00: the cost of each kind of event does not grow with the "
                  "book)", highlight=False)
