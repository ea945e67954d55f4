"""The demo firm: a seeded generator of a clearing firm's month, as one scenario document.

Harbor Clearing LLC (``HBCL``) is a participant of a registered clearing agency and clears for three correspondents:
two retail brokers (``NWST``, ``LAKE``) and a market-making firm (``MRDN``). Its book holds customer accounts at all
four, proprietary accounts, and two market-maker accounts. Over a month of trading days the generator writes what
such a firm records: the morning threshold and easy-to-borrow lists, locates from the locate desk and stock loan,
orders, fills and cancels, settlement fails and their close-outs, CNS positions in threshold securities, and the
market makers' surveillance verdicts. Woven into the month:

- a missed close-out: the participant's own 204(a) fail not closed out by 09:30 on S+1, the 204(b) penalty box for
  it and for the correspondents that did not certify, the 204(c) notices, a late borrow that cures the fail but
  not the box, and the purchase whose settlement ends it;
- a Rule 201 trigger, with short sales at the bid refused and short-exempt orders under 201(c);
- locates used, exhausted, expired and reused after a buy-to-cover (SEC Reg SHO FAQ 4.4), and a barred reuse;
- locates returned to the locate desk: the unused rest of a large locate taken back in the afternoon, so that a
  later short sale against it is refused, and a locate handed back whole before any use;
- a market maker whose quoting fails the surveillance review, so that its short sales relying on the exception
  of 203(b)(2)(iii) are refused, next to one whose quoting passes;
- a threshold security whose CNS fail position persists: the 13-day clock of 203(b)(3).

The generator runs the book engine as it writes, so that it fills only accepted orders and closes out the
obligations the engine creates (all but the one it misses on purpose). ``build`` is a pure function of its
arguments: the same seed, size and market give the same document.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from regsho.adapters.scenario_dump import dump_event
from regsho.calendars import ET, Calendars, default_calendars
from regsho.core import events as ev
from regsho.core.book import Account, AccountType, Book, Firm, Security
from regsho.core.records import Effects, Obligation
from regsho.demo.market import FIRST_DAY, Listed, Market, synthetic
from regsho.demo.surveil import review_days
from regsho.engine.book import BookEngine

FIRM: Final = Firm("HBCL", ("NWST", "LAKE", "MRDN"), name="Harbor Clearing LLC", crd="104711",
                   contact="Regulation SHO desk, Harbor Clearing LLC, 200 Harbor Street, New York, NY; "
                           "regsho@harborclearing.example, +1 212 555 0140",
                   signatory="Dana Whitfield, Chief Compliance Officer")
#: the correspondents, in words
CORRESPONDENTS: Final = {"NWST": "Northwest Securities Inc", "LAKE": "Lakeshore Brokerage LLC",
                         "MRDN": "Meridian Market Making LLC"}
#: the two market makers: surveillance id -> (account, quoting profile of ``regsho.surveillance.synthetic``)
MAKERS: Final = {"MRDN-A": ("MM1", "honest"), "MRDN-B": ("MM2", "pegged")}
FAILING_MM: Final = "MM2"
TICK: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Size:
    """How big a demo: securities, trading days from 2021-01-04, random orders a day, customer accounts, threshold
    securities (synthetic market), the market makers' securities."""

    securities: int = 400
    days: int = 19
    orders_per_day: int = 1_000
    customers: int = 60
    threshold: int = 20
    mm_securities: int = 4


FULL: Final = Size()
SMALL: Final = Size(securities=40, days=7, orders_per_day=120, customers=12, threshold=4, mm_securities=2)


@dataclass(frozen=True, slots=True)
class Story:
    """Where the generator put what the demo is about (symbols, dates, ids), for its summary and tests."""

    missed_symbol: str
    missed_fail_settles: dt.date
    missed_deadline: dt.datetime
    certified_bd: str
    ssr_symbol: str
    ssr_at: dt.datetime
    failing_mm: str
    honest_mm: str
    mm_symbols: tuple[str, ...]
    clock_symbol: str | None
    reuse_order: str
    barred_reuse_order: str
    first_day: dt.date
    last_day: dt.date
    #: the last day's locate whose unused rest the locate desk takes back, and the short sale refused after it
    returned_locate: str = "L-RETURN"
    refused_after_return: str = "RETURN-2"
    #: the last day's locate handed back whole before any use
    spare_locate: str = "L-SPARE"
    #: the account of both (a proprietary account of MRDN the random flow leaves alone)
    return_account: str = "PROP-MR"


def trading_days(cal: Calendars, n: int, first: dt.date = FIRST_DAY) -> tuple[dt.date, ...]:
    d = first if cal.is_trading_day(first) else cal.next_trading_day(first)
    out = [d]
    while len(out) < n:
        out.append(cal.next_trading_day(out[-1]))
    return tuple(out)


def at(d: dt.date, h: int, m: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(h, m, s), tzinfo=ET)


def _money(x: float) -> Decimal:
    return Decimal(f"{max(0.01, x):.2f}")


@dataclass
class _Gen:
    seed: int
    size: Size
    market: Market
    cal: Calendars
    days: tuple[dt.date, ...]
    rng: random.Random
    engine: BookEngine
    story: Story
    accounts: dict[str, Account]
    events: list[ev.Event] = field(default_factory=list)
    queue: list[tuple[dt.datetime, int, ev.Event]] = field(default_factory=list)
    later: dict[dt.date, list[ev.Event]] = field(default_factory=dict)
    pos: dict[tuple[str, str], int] = field(default_factory=dict)
    shorts: dict[dt.date, list[tuple[str, str, int]]] = field(default_factory=dict)
    n: int = 0
    closed_story: bool = False
    clock_closed: bool = False
    hooks: dict[str, Callable[[ev.Order, Any], None]] = field(default_factory=dict)
    orders: dict[str, ev.Order] = field(default_factory=dict)
    #: the last close-out day per (broker-dealer, symbol): a new fail soon after one is rarely written
    recent: dict[tuple[str, str], dt.date] = field(default_factory=dict)

    # -- the queue: events in time order, each applied to the engine as it is written ---------------------------

    def push(self, e: ev.Event) -> None:
        self.n += 1
        heapq.heappush(self.queue, (e.at, self.n, e))

    def push_on(self, d: dt.date, e: ev.Event) -> None:
        self.later.setdefault(d, []).append(e)

    def drain(self) -> None:
        while self.queue:
            _, _, e = heapq.heappop(self.queue)
            fx = self.engine.apply(e)
            self.events.append(e)
            if isinstance(e, ev.Order):
                self._after_order(e, fx)
            elif isinstance(e, ev.Fill):
                self._after_fill(e)
            if fx.obligations:
                self._obligations(fx)

    # -- reactions -------------------------------------------------------------------------------------------

    def _after_order(self, o: ev.Order, fx: Effects) -> None:
        d = fx.decisions[-1] if fx.decisions else None
        if d is None or not d.accepted:
            return
        hook = self.hooks.pop(o.id, None)
        if hook is not None:
            hook(o, d)
            return
        r = self.rng.random()
        lag = dt.timedelta(seconds=self.rng.randint(1, 90))
        close = self.cal.close_of(o.at.date())
        when = min(o.at + lag, close - dt.timedelta(seconds=1))
        if when < o.at:
            when = o.at
        if r < 0.88:
            self.push(ev.Fill(when, o.id, o.qty, o.price))
        elif r < 0.94 and o.qty >= 200:
            part = (o.qty // 200) * 100
            self.push(ev.Fill(when, o.id, part, o.price))
            self.push(ev.Cancel(min(when + dt.timedelta(minutes=5), close), o.id))
        else:
            self.push(ev.Cancel(min(o.at + dt.timedelta(minutes=self.rng.randint(1, 20)), close), o.id))

    def _after_fill(self, f: ev.Fill) -> None:
        o = self.orders[f.order]
        key = (o.account, o.symbol)
        if o.side is ev.Side.BUY:
            self.pos[key] = self.pos.get(key, 0) + f.qty
        else:
            self.pos[key] = self.pos.get(key, 0) - f.qty
            if o.side in (ev.Side.SELL_SHORT, ev.Side.SELL_SHORT_EXEMPT):
                self.shorts.setdefault(f.at.date(), []).append((o.account, o.symbol, f.qty))

    def _obligations(self, fx: Effects) -> None:
        """Close out every new obligation before its deadline, by the cure it allows; all but the story's fail."""
        for ob in fx.obligations:
            if ob.change != "created":
                continue
            if ob.symbol == self.story.missed_symbol and ob.settlement_date == self.story.missed_fail_settles:
                continue
            self._close_out(ob)

    def _close_out(self, ob: Obligation) -> None:
        day = ob.deadline.astimezone(ET).date()
        if ob.rule.startswith("203(b)(3)"):
            self.clock_closed = True  # bought in the morning it is due; the CNS position is flat from then
        elif ob.rule != "204(a)" and self.rng.random() < 0.5:
            # long sales and market makers' fails have until S+3: often closed out the day before
            day = self.cal.add_settlement_days(day, -1)
        method = ev.CloseOutMethod.PURCHASE
        if ob.cure == "purchase_or_borrow" and self.rng.random() < 0.35:
            method = ev.CloseOutMethod.BORROW
        when = at(day, 7, 30) + dt.timedelta(minutes=self.rng.randint(0, 100))
        bd = None if ob.bd == FIRM.id else ob.bd
        self.recent[(ob.bd, ob.symbol)] = day
        self.push_on(day, ev.CloseOut(when, f"X-{ob.id}", ob.symbol, ob.qty, method, bd))


def _pick_story(market: Market, rng: random.Random, size: Size, days: tuple[dt.date, ...],
                cal: Calendars) -> tuple[Story, list[Listed]]:
    thr = market.threshold_symbols
    plain = [s for s in market.securities if s.symbol not in thr]
    funds = ("etf", "fund", "trust", "index", "shares")
    general = [s for s in plain if s.tier == "general" and not any(w in s.name.lower() for w in funds)]
    etb = [s for s in plain if s.tier == "etb" and s.price >= 10]
    if len(general) < 2 or len(etb) < size.mm_securities + 2:
        raise ValueError("the demo market is too small: it needs at least 2 general and "
                         f"{size.mm_securities + 2} easy-to-borrow securities priced at $10 or more")
    missed = rng.choice(general)
    ssr = etb[len(etb) // 2]
    mm = tuple(s.symbol for s in etb[: size.mm_securities])
    # the 13-day clock runs on a threshold security listed every day of the demo
    always = sorted(s for s in thr if all(s in syms for _, syms in market.threshold))
    n = len(days)
    s_fail = days[n - 4]
    miss_day = cal.next_settlement_day(s_fail)
    story = Story(missed.symbol, s_fail, at(miss_day, 9, 30), "LAKE", ssr.symbol,
                  at(days[n - 2], 11, 42, 17), FAILING_MM, "MM1", mm, always[0] if always else None,
                  "REUSE-2", "REUSE-HTB-2", days[0], days[-1])
    return story, [missed, ssr]


def build(seed: int = 7, size: Size = FULL, market: Market | None = None) -> dict[str, Any]:
    """The demo firm's month as a scenario document (docs/scenarios.md), deterministic in its arguments."""
    doc, _ = build_with_story(seed, size, market)
    return doc


def build_with_story(seed: int = 7, size: Size = FULL, market: Market | None = None,
                     progress: Callable[[str, int, int], None] | None = None) -> tuple[dict[str, Any], Story]:
    """``build``, and where the story went; ``progress(stage, done, total)`` is told of each day reviewed by
    surveillance and each day written."""
    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    if size.days < 6:
        raise ValueError("the demo needs at least 6 trading days")
    cal = default_calendars()
    days = trading_days(cal, size.days)
    mk = market or synthetic(seed, size.securities, days, size.threshold)
    rng = random.Random(f"firm-{seed}")
    story, _ = _pick_story(mk, rng, size, days, cal)
    accounts = _accounts(size, rng)
    securities = {s.symbol: Security(s.symbol, htb=s.tier == "htb" or s.symbol in mk.threshold_symbols,
                                     shares_outstanding=s.shares_outstanding, name=s.name, cusip=s.cusip)
                  for s in mk.securities}
    book = Book(FIRM, securities, accounts, "demo")
    g = _Gen(seed, size, mk, cal, days, rng, BookEngine(book, cal), story, accounts)
    prices = {s.symbol: s.price for s in mk.securities}
    by_day: dict[dt.date, list[ev.MmVerdict]] = {}
    step("surveillance", 0, len(days))
    for i, d in enumerate(days):
        by_day[d] = list(review_days((d,), {s: prices[s] for s in story.mm_symbols}, MAKERS, seed * 100 + i))
        step("surveillance", i + 1, len(days))
    step("orders", 0, len(days))
    for i, d in enumerate(days):
        _day(g, i, d, prices, by_day.get(d, []))
        g.drain()
        step("orders", i + 1, len(days))
    header = _header(mk, accounts, seed, size)
    doc = {**header, "events": [dump_event(e) for e in g.events]}
    return doc, story


def _accounts(size: Size, rng: random.Random) -> dict[str, Account]:
    out: dict[str, Account] = {}
    bds = (FIRM.id, "NWST", "LAKE", "MRDN")
    for i in range(size.customers):
        bd = bds[i % 3] if i % 10 else bds[i % 4]
        out[f"C{i + 1:03d}"] = Account(f"C{i + 1:03d}", bd, AccountType.CUSTOMER)
    out["PROP-HB"] = Account("PROP-HB", FIRM.id, AccountType.PROPRIETARY)
    out["PROP-NW"] = Account("PROP-NW", "NWST", AccountType.PROPRIETARY)
    out["PROP-MR"] = Account("PROP-MR", "MRDN", AccountType.PROPRIETARY)
    for acct, _ in MAKERS.values():
        out[acct] = Account(acct, "MRDN", AccountType.MARKET_MAKER)
    return out


def _header(mk: Market, accounts: dict[str, Account], seed: int, size: Size) -> dict[str, Any]:
    firm = {"id": FIRM.id, "clears_for": list(FIRM.clears_for), "name": FIRM.name, "crd": FIRM.crd,
            "contact": FIRM.contact, "signatory": FIRM.signatory}
    secs: dict[str, Any] = {}
    for s in mk.securities:
        spec: dict[str, Any] = {"name": s.name, "cusip": s.cusip}
        if s.shares_outstanding:
            spec["shares_outstanding"] = s.shares_outstanding
        if s.tier == "htb" or s.symbol in mk.threshold_symbols:
            spec["htb"] = True
        secs[s.symbol] = spec
    return {"version": 1,
            "name": f"demo: {FIRM.name} and its correspondents, {size.days} trading days (seed {seed}; "
                    f"market: {mk.source})",
            "cite": ["17 CFR 242.200(g)", "17 CFR 242.201", "17 CFR 242.203(b)(1)", "17 CFR 242.203(b)(2)(iii)",
                     "17 CFR 242.203(b)(3)", "17 CFR 242.204(a)", "17 CFR 242.204(b)", "17 CFR 242.204(c)"],
            "firm": firm, "securities": secs,
            "accounts": {a.id: {"bd": a.bd, "type": a.type.value} for a in accounts.values()}}


# -- one trading day ----------------------------------------------------------------------------------------


def _day(g: _Gen, i: int, d: dt.date, prices: dict[str, float], verdicts: list[ev.MmVerdict]) -> None:
    rng, mk, story = g.rng, g.market, g.story
    listed = mk.on_list(d)
    syms = [s.symbol for s in mk.securities]
    tier = {s.symbol: s.tier for s in mk.securities}
    g.push(ev.ThresholdList(at(d, 6, 0), listed))
    etb = frozenset(s for s in syms if tier[s] == "etb" and s not in listed)
    g.push(ev.EtbList(at(d, 6, 5), etb))
    for e in g.later.pop(d, []):
        g.push(e)
    customers = [a for a in g.accounts.values() if a.type is AccountType.CUSTOMER]
    if i == 0:  # opening positions: what the customers and the proprietary desks hold
        for a in [*customers, g.accounts["PROP-HB"], g.accounts["PROP-NW"]]:
            for sym in rng.sample(syms, min(len(syms), 8)):
                qty = rng.randint(5, 200) * 100
                g.pos[(a.id, sym)] = qty
                g.push(ev.PositionSet(at(d, 6, 30), a.id, sym, qty))
    # the market makers' periodic review, then the surveillance verdict of each half hour as it completes
    for acct, _ in MAKERS.values():
        for sym in story.mm_symbols:
            g.push(ev.MmStatus(at(d, 7, 0), acct, sym, True))
    for v in verdicts:
        g.push(v)
    # locates before the open: the locate desk for general securities, stock loan for hard-to-borrow ones
    located: dict[str, list[tuple[str, str]]] = {}
    need = [s for s in syms if tier[s] != "etb" or s in listed]
    n_loc = 0
    for a in [*customers, g.accounts["PROP-HB"]]:
        for sym in rng.sample(need, min(len(need), rng.randint(0, 3))):
            n_loc += 1
            lid = f"L{d:%m%d}-{n_loc:04d}"
            hard = tier[sym] == "htb" or sym in listed
            source = rng.choice(("stock loan: State Street lending", "stock loan: BNY agency lending")) if hard \
                else "locate desk"
            t = at(d, 7, 30) + dt.timedelta(seconds=rng.randint(0, 6_900))
            timed = rng.random() < 0.1
            until = at(d, 12, 0) if timed else g.cal.end_of_day(d)
            g.push(ev.LocateGrant(t, lid, a.id, sym, rng.randint(10, 80) * 100, until, not timed, source))
            located.setdefault(a.id, []).append((sym, lid))
    _story_day(g, i, d, prices)
    # the day's order flow
    open_t = at(d, 9, 30)
    span = 6 * 3600 + 29 * 60
    mm_accts = [acct for acct, _ in MAKERS.values()]
    held: dict[str, list[str]] = {}
    for (a_id, s_), q in sorted(g.pos.items()):
        if q > 0:
            held.setdefault(a_id, []).append(s_)
    etb_syms = [s for s in syms if tier[s] == "etb"] or syms
    for k in range(g.size.orders_per_day):
        t = open_t + dt.timedelta(seconds=rng.randint(0, span))
        oid = f"O{d:%m%d}-{k + 1:05d}"
        r = rng.random()
        if r < 0.08:  # the market makers: buys and short sales relying on the exception
            acct = rng.choice(mm_accts)
            sym = rng.choice(story.mm_symbols)
            px = _px(prices[sym], rng)
            if rng.random() < 0.5:
                o = ev.Order(t, oid, acct, sym, ev.Side.BUY, rng.randint(1, 5) * 100, px)
            else:
                o = ev.Order(t, oid, acct, sym, ev.Side.SELL_SHORT, rng.randint(1, 5) * 100, px, px - TICK,
                             bona_fide_mm=True)
        else:
            acct_o = rng.choice(customers) if r < 0.85 else g.accounts[rng.choice(("PROP-HB", "PROP-NW"))]
            acct = acct_o.id
            side_r = rng.random()
            qty = rng.randint(1, 30) * 100
            if side_r < 0.40:
                sym = rng.choice(syms)
                o = ev.Order(t, oid, acct, sym, ev.Side.BUY, qty, _px(prices[sym], rng))
            elif side_r < 0.68:
                mine_held = held.get(acct)
                sym = rng.choice(mine_held) if mine_held else rng.choice(syms)
                have = g.pos.get((acct, sym), 0)
                if have >= 100 and rng.random() < 0.96:
                    qty = min(qty, have)
                px = _px(prices[sym], rng)
                o = ev.Order(t, oid, acct, sym, ev.Side.SELL, qty, px)
            else:
                mine = located.get(acct, [])
                locate = None
                if mine and rng.random() < 0.7:
                    sym, lid = rng.choice(mine)
                    if rng.random() < 0.3:
                        locate = lid
                else:
                    sym = rng.choice(etb_syms) if rng.random() < 0.9 else rng.choice(syms)
                px = _px(prices[sym], rng)
                nbb = px - TICK * rng.choice((0, 1, 1, 2))
                o = ev.Order(t, oid, acct, sym, ev.Side.SELL_SHORT, qty, px, nbb, locate)
        g.orders[oid] = o
        g.push(o)
    # after the close: the day's settlement fails, the CNS position in threshold securities
    if g.cal.is_settlement_day(d):
        _fails(g, d)
        _cns(g, d, listed)


def _px(p: float, rng: random.Random) -> Decimal:
    return _money(p * (1 + rng.uniform(-0.006, 0.006)))


def _fails(g: _Gen, s: dt.date) -> None:
    """Fails settling on ``s``: a few of the short and long sales of the trade date that settles on it."""
    rng = g.rng
    trade = next((t for t in g.shorts if g.cal.settlement_date(t) == s), None)
    if trade is None:
        return
    sold = g.shorts.pop(trade)
    k = max(1, len(sold) // 40)
    for n, (acct, sym, qty) in enumerate(rng.sample(sold, min(k, len(sold)))):
        a = g.accounts[acct]
        if sym == g.story.missed_symbol:
            continue
        last = g.recent.get((a.bd, sym))
        if last is not None and g.cal.settlement_days_between(last, s) <= 6 and rng.random() < 0.9:
            continue
        origin = ev.FailOrigin.BONA_FIDE_MM if a.type is AccountType.MARKET_MAKER else ev.FailOrigin.SHORT_SALE
        if n % 5 == 4:
            origin = ev.FailOrigin.LONG_SALE
        bd = None if a.bd == FIRM.id else a.bd
        fail_qty = max(100, (qty * rng.randint(20, 100) // 100) // 100 * 100)
        g.push(ev.Fail(at(s, 18, 0) + dt.timedelta(seconds=n), sym, fail_qty, s, origin, trade, bd))
    if s == g.story.missed_fail_settles:
        # the participant's own fail, which nobody will close out by 09:30 tomorrow
        g.push(ev.Fail(at(s, 18, 5), g.story.missed_symbol, 4_000, s, ev.FailOrigin.SHORT_SALE, trade))
        g.push(ev.Certify(at(s, 19, 0), g.story.certified_bd, g.story.missed_symbol, s, ev.CertifyBasis.NO_FAIL))


def _cns(g: _Gen, d: dt.date, listed: frozenset[str]) -> None:
    sym = g.story.clock_symbol
    if sym is None or sym not in listed:
        return
    qty = 0 if g.clock_closed else 2_500 + g.rng.randint(0, 20) * 100
    g.push(ev.Cns(at(d, 18, 30), sym, d, qty))


def _story_day(g: _Gen, i: int, d: dt.date, prices: dict[str, float]) -> None:
    """The scripted part of the day: what the demo is about."""
    st, n = g.story, len(g.days)
    cust = {bd: next(a.id for a in g.accounts.values() if a.bd == bd and a.type is AccountType.CUSTOMER)
            for bd in (FIRM.id, "NWST", "LAKE")}
    thr_or_htb = sorted(s.symbol for s in g.market.securities if s.tier == "htb")
    general = sorted(s.symbol for s in g.market.securities if s.tier == "general"
                     and s.symbol not in g.market.threshold_symbols and s.symbol != st.missed_symbol)

    def order(oid: str, t: dt.datetime, acct: str, sym: str, side: ev.Side, qty: int, *, locate: str | None = None,
              px: Decimal | None = None, nbb: Decimal | None = None, exempt: str | None = None,
              mm: bool = False, hook: Callable[[ev.Order, Any], None] | None = None) -> None:
        p = px if px is not None else _money(prices[sym])
        o = ev.Order(t, oid, acct, sym, side, qty, p, nbb if nbb is not None else
                     (p - TICK if side is not ev.Side.BUY else None), locate, mm, exempt)
        g.orders[oid] = o
        if hook is not None:
            g.hooks[oid] = hook
        g.push(o)

    def fill_now(o: ev.Order, _: Any) -> None:
        g.push(ev.Fill(o.at + dt.timedelta(seconds=2), o.id, o.qty, o.price))

    if i == 1 and general:
        # FAQ 4.4: a day locate reused after a buy-to-cover; the same in a hard-to-borrow security is barred
        c = cust["NWST"]
        sym = next((s for s in general if g.pos.get((c, s), 0) == 0), general[0])
        g.push(ev.LocateGrant(at(d, 8, 0), "L-REUSE", c, sym, 1_000, g.cal.end_of_day(d), True, "locate desk"))
        order("REUSE-1", at(d, 9, 40), c, sym, ev.Side.SELL_SHORT, 1_000, locate="L-REUSE", hook=fill_now)
        order("COVER-1", at(d, 10, 30), c, sym, ev.Side.BUY, 1_000, hook=fill_now)
        order(st.reuse_order, at(d, 11, 0), c, sym, ev.Side.SELL_SHORT, 1_000, hook=fill_now)
        if thr_or_htb:
            h = thr_or_htb[0]
            g.push(ev.LocateGrant(at(d, 8, 0), "L-HTB", c, h, 500, g.cal.end_of_day(d), True,
                                  "stock loan: State Street lending"))
            order("REUSE-HTB-1", at(d, 9, 45), c, h, ev.Side.SELL_SHORT, 500, locate="L-HTB", hook=fill_now)
            order("COVER-HTB-1", at(d, 10, 35), c, h, ev.Side.BUY, 500, hook=fill_now)
            order(st.barred_reuse_order, at(d, 11, 5), c, h, ev.Side.SELL_SHORT, 500)
        # a timed locate used after it expired, and a named locate with too little left
        c2 = cust["LAKE"]
        g.push(ev.LocateGrant(at(d, 8, 5), "L-TIMED", c2, sym, 2_000, at(d, 11, 0), False, "locate desk"))
        order("TIMED-1", at(d, 10, 0), c2, sym, ev.Side.SELL_SHORT, 1_500, locate="L-TIMED", hook=fill_now)
        order("TIMED-2", at(d, 10, 20), c2, sym, ev.Side.SELL_SHORT, 1_000, locate="L-TIMED")
        order("TIMED-3", at(d, 11, 30), c2, sym, ev.Side.SELL_SHORT, 300, locate="L-TIMED")
    miss = st.missed_deadline.astimezone(ET).date()
    m = st.missed_symbol
    if d == miss:
        # the deadline passed at 09:30: HBCL and NWST (and MRDN) may short the security only against a pre-borrow;
        # LAKE certified under the proviso to 204(b)
        for bd, c in cust.items():
            g.push(ev.LocateGrant(at(d, 8, 30), f"L-BOX-{bd}", c, m, 3_000, g.cal.end_of_day(d), True,
                                  "locate desk"))
        order("BOX-1", at(d, 10, 0), cust["NWST"], m, ev.Side.SELL_SHORT, 500, locate="L-BOX-NWST")
        order("BOX-2", at(d, 10, 2), cust["LAKE"], m, ev.Side.SELL_SHORT, 500, locate="L-BOX-LAKE")
        order("BOX-3", at(d, 10, 4), cust[FIRM.id], m, ev.Side.SELL_SHORT, 500, locate=f"L-BOX-{FIRM.id}")
        # a late borrow cures the fail but never ends the box; a pre-borrow lets HBCL short meanwhile
        g.push(ev.CloseOut(at(d, 10, 15), "X-LATE-BORROW", m, 4_000, ev.CloseOutMethod.BORROW))
        g.push(ev.PreBorrow(at(d, 11, 0), "PB-1", FIRM.id, m, 1_000))
        order("BOX-4", at(d, 11, 5), cust[FIRM.id], m, ev.Side.SELL_SHORT, 600)
        # the purchase that ends the box once it has settled (T+2)
        g.push(ev.CloseOut(at(d, 14, 0), "X-BUY-IN", m, 4_000, ev.CloseOutMethod.PURCHASE))
    if d > miss:
        order(f"BOX-{d:%m%d}", at(d, 9, 50), cust["NWST"], m, ev.Side.SELL_SHORT, 300)
    ssr_day = st.ssr_at.date()
    s = st.ssr_symbol
    if d == ssr_day:
        # the listing market triggers the circuit breaker: the price test binds to the end of the next trading day
        prices[s] = round(prices[s] * 0.89, 2)
        g.push(ev.SsrTrigger(st.ssr_at, s))
        bid = _money(prices[s])
        order("SSR-1", at(d, 11, 50), cust["NWST"], s, ev.Side.SELL_SHORT, 500, px=bid, nbb=bid)
        order("SSR-2", at(d, 11, 51), cust["NWST"], s, ev.Side.SELL_SHORT, 500, px=bid + TICK, nbb=bid)
        order("SSR-3", at(d, 12, 10), cust["LAKE"], s, ev.Side.SELL_SHORT_EXEMPT, 400, px=bid + TICK, nbb=bid,
              exempt="201(c)")
    if d == g.cal.next_trading_day(ssr_day) and i < n:
        bid = _money(prices[s])
        order("SSR-4", at(d, 9, 45), cust[FIRM.id], s, ev.Side.SELL_SHORT, 800, px=bid, nbb=bid)
        order("SSR-5", at(d, 9, 46), cust[FIRM.id], s, ev.Side.SELL_SHORT_EXEMPT, 800, px=bid, nbb=bid,
              exempt="201(c)")
        order("SSR-6", at(d, 10, 30), cust[FIRM.id], s, ev.Side.SELL_SHORT, 800, px=bid + TICK * 2, nbb=bid)
    if i == n - 1 and len(general) >= 2:
        # the locate desk takes back what it located and is not used: the unused rest of a large locate in the
        # afternoon (the later short sale against it is refused, LOCATE_EXHAUSTED), and a locate handed back whole
        acct, big, spare = st.return_account, general[-1], general[-2]
        g.push(ev.LocateGrant(at(d, 8, 15), st.returned_locate, acct, big, 20_000, g.cal.end_of_day(d), True,
                              "locate desk"))
        g.push(ev.LocateGrant(at(d, 8, 20), st.spare_locate, acct, spare, 3_000, g.cal.end_of_day(d), True,
                              "stock loan: BNY agency lending"))
        order("RETURN-1", at(d, 10, 5), acct, big, ev.Side.SELL_SHORT, 5_000, locate=st.returned_locate,
              hook=fill_now)
        g.push(ev.LocateRelease(at(d, 11, 10), st.spare_locate, None, "the desk's short sale was called off",
                                "stock loan desk: P. Marsh"))
        g.push(ev.LocateRelease(at(d, 14, 0), st.returned_locate, None,
                                "unused rest of a 20,000-share locate taken back for another client",
                                "locate desk: R. Okafor"))
        order(st.refused_after_return, at(d, 14, 30), acct, big, ev.Side.SELL_SHORT, 2_000,
              locate=st.returned_locate)
    if i == n - 1:
        # the failing market maker's short sales late in the day: its surveillance windows are not bona fide
        for k, sym in enumerate(st.mm_symbols):
            order(f"MM-{k + 1}", at(d, 14, 35, k), st.failing_mm, sym, ev.Side.SELL_SHORT, 200, mm=True)
            order(f"MM-OK-{k + 1}", at(d, 14, 36, k), st.honest_mm, sym, ev.Side.SELL_SHORT, 200, mm=True)
