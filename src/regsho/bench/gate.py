"""Gate benchmark: a synthetic trading day replayed through ``GateShell.order``, next to a look-up baseline.

The day (all generated before anything is timed, from a fixed seed):

- ``symbols`` securities (stocks, ETFs, ADRs) with Zipf-like popularity; some hard to borrow (statically or on
  the day's hard-to-borrow list), some threshold securities, an easy-to-borrow list published at 07:00 (some
  threshold securities on it too, which it must not cover), a few under a Rule 201 restriction triggered the
  previous afternoon and a few more triggered during the morning;
- a few thousand accounts at four broker-dealers: customers, proprietary and market-maker accounts, with
  bona fide market-making reviews for each market maker's securities (most bona fide, some not);
- pre-borrow requirements (204(b), 203(b)(3)(iv)) on a few broker-dealer/security pairs, some with pre-borrows;
- ``locates`` locates granted before the open (day and timed), start-of-day positions (mostly long, some short);
- ``orders`` orders in time order over the session (more at the open and the close) with a realistic mix —
  buys (some covering a short sold that day, which frees day locates for reuse), long sales (some not net long),
  short sales naming a locate or not, on easy-to-borrow, hard-to-borrow, threshold and restricted securities,
  short-exempt orders, bona fide market making, and orders built to be rejected for each reason — plus fills,
  partial fills and cancels of accepted orders.

The fills and cancels are chosen by running the day once through a generation shell (so that only accepted
orders are filled, and cover orders really cover); the timed run replays the identical event stream on a fresh
shell, and its decisions must match the generation pass.

Timed (``time.perf_counter_ns`` around each call): (a) the gate, ``GateShell.order`` per order (``decide`` plus
applying consumption), with fills, cancels and Rule 201 triggers applied in between as they occur (not timed);
(b) the baseline, the same loop over the same orders doing only the dictionary and set look-ups the gate needs,
with no decision logic. The garbage collector is disabled during both timed loops (``gc.freeze`` then
``gc.disable``) and re-enabled after.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from regsho.calendars import Calendars, default_calendars
from regsho.core.events import (
    Account,
    AccountType,
    Cancel,
    EtbList,
    Fill,
    HtbList,
    LocateGrant,
    MmStatus,
    Order,
    PositionSet,
    PreBorrow,
    PreBorrowRequired,
    Security,
    SecurityKind,
    Side,
    SsrTrigger,
    ThresholdList,
)
from regsho.engine.shell import GateShell
from regsho.engine.snapshot import LocateState, Snapshot

#: The synthetic day: a Wednesday, T+1 regime, Rule 201 in force.
TRADE_DATE: Final = dt.date(2025, 3, 12)
TARGET_DECISIONS_PER_S: Final = 100_000.0
TARGET_P99_US: Final = 20.0

BROKER_DEALERS: Final = ("ALPHA", "BRAVO", "CHARLIE", "DELTA")
BD_WEIGHTS: Final = (0.4, 0.3, 0.2, 0.1)
ACCOUNTS: Final = 3_000
MM_SHARE: Final = 0.02
PROP_SHARE: Final = 0.08
MM_SYMBOLS_PER_ACCOUNT: Final = 150
SESSION_S: Final = 23_400  # 09:30 to 16:00

LOTS: Final = (100, 100, 100, 200, 200, 300, 500, 500, 1000, 1000, 2000, 5000)
LOCATE_SIZES: Final = (500, 1000, 1000, 2000, 2000, 5000, 5000, 10_000, 20_000)
PROVISIONS: Final = (*(f"201(d)({i})" for i in range(1, 8)), "201(c)", "201(c)")

#: Order intents and their shares of the day (normalised). Outcomes follow from the gate, not from the intent.
INTENTS: Final[tuple[tuple[str, float], ...]] = (
    ("buy", 0.400),            # any account, any security
    ("cover", 0.050),          # buy back a short sold today (frees day locates for reuse, FAQ 4.4)
    ("long", 0.185),           # marked long within the net long position
    ("long_over", 0.015),      # marked long beyond it: NOT_NET_LONG
    ("short_named", 0.085),    # names one of its locates
    ("short_named_over", 0.004),   # more than the named locate has left: LOCATE_EXHAUSTED
    ("short_named_wrong", 0.002),  # names another account's locate: NO_LOCATE
    ("short_reuse", 0.012),    # needs quantity freed by a cover: LOCATE_REUSED / LOCATE_REUSE_NOT_ALLOWED
    ("short_auto", 0.075),     # has a locate but names none: the gate picks one
    ("short_etb", 0.065),      # security on the easy-to-borrow list (threshold ones must not pass)
    ("short_nolocate", 0.008),  # nothing covers it: NO_LOCATE (or a pre-borrow does)
    ("short_ssr", 0.012),      # restricted security: some at or below the bid, some market orders
    ("short_preborrow", 0.008),  # broker-dealer under a pre-borrow requirement
    ("exempt", 0.006),         # short exempt in a restricted security (or before its trigger)
    ("exempt_bad", 0.002),     # short exempt with no restriction or no valid provision
    ("mm", 0.0705),            # bona fide market making by a reviewed market maker
    ("mm_bad", 0.0045),        # claims the exception without being a market maker, or without a review
    ("unknown", 0.0005),       # unknown security or account: fail closed
)

_ORDER_IDS_WIDTH: Final = 7


@dataclass
class Day:
    """A generated day: reference data, pre-open events, and the intraday stream in time order."""

    date: dt.date
    securities: list[Security]
    accounts: list[Account]
    pre_open: list[object]
    stream: list[Order | Fill | Cancel | SsrTrigger]
    orders: int
    gen_mix: Counter[str] = field(default_factory=Counter)
    gen_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def _ticker(i: int) -> str:
    """Four-letter tickers, a bijection of 0..26**4-1 (7919 is prime to 26)."""
    n = (i * 7919) % (26**4)
    out = []
    for _ in range(4):
        n, d = divmod(n, 26)
        out.append(chr(65 + d))
    return "".join(reversed(out))


def _zipf(rng: np.random.Generator, n: int, s: float, shift: float) -> npt.NDArray[np.float64]:
    ranks = rng.permutation(n).astype(np.float64)
    w = 1.0 / np.power(ranks + shift, s)
    return w / w.sum()  # type: ignore[no-any-return]


def _apply(shell: GateShell, e: object) -> None:
    """Apply one pre-open or intraday event to a shell."""
    if isinstance(e, Order):
        shell.order(e)
    elif isinstance(e, Fill):
        shell.fill(e)
    elif isinstance(e, Cancel):
        shell.cancel(e)
    elif isinstance(e, LocateGrant):
        shell.locate(e)
    elif isinstance(e, PositionSet):
        shell.position(e)
    elif isinstance(e, MmStatus):
        shell.mm_status(e)
    elif isinstance(e, PreBorrow):
        shell.pre_borrow(e)
    elif isinstance(e, PreBorrowRequired):
        shell.pre_borrow_required(e)
    elif isinstance(e, SsrTrigger):
        shell.ssr(e)
    elif isinstance(e, EtbList):
        shell.etb_list(e)
    elif isinstance(e, HtbList):
        shell.htb_list(e)
    elif isinstance(e, ThresholdList):
        shell.threshold_list(e)
    else:  # pragma: no cover - the generator makes only the events above
        raise TypeError(f"unexpected event {e!r}")


def _reference(
    symbols: int, locates: int, seed: int, cal: Calendars
) -> tuple[list[Security], list[Account], list[object], dict[str, object]]:
    """Securities, accounts and the pre-open events; ``ctx`` carries what the order generator samples from."""
    rng = np.random.default_rng(seed)
    pr = random.Random(seed)
    day = TRADE_DATE
    prev = cal.previous_trading_day(day)
    at = Calendars.at_time

    # -- securities ----------------------------------------------------------------------------------------
    tickers = [_ticker(i) for i in range(symbols)]
    pop = _zipf(rng, symbols, 1.05, 20.0)
    kind_draw = rng.random(symbols)
    static_htb = rng.random(symbols) < 0.02
    securities = [
        Security(t, SecurityKind.ETF if k < 0.10 else SecurityKind.ADR if k < 0.15 else SecurityKind.STOCK,
                 htb=bool(h), shares_outstanding=int(rng.integers(5, 2_000)) * 1_000_000)
        for t, k, h in zip(tickers, kind_draw.tolist(), static_htb.tolist(), strict=True)
    ]
    perm = rng.permutation(symbols).tolist()
    n_htb_list = int(symbols * 0.06)
    n_threshold = max(1, symbols // 100)
    n_ssr_prev = max(1, symbols // 500)
    n_ssr_today = max(1, symbols // 250)
    htb_list = {tickers[i] for i in perm[:n_htb_list]}
    threshold = {tickers[i] for i in perm[n_htb_list:n_htb_list + n_threshold]}
    # Restricted securities drawn from the popular half, so that they trade.
    by_pop = np.argsort(-pop).tolist()
    popular = [tickers[i] for i in by_pop[: symbols // 2]]
    ssr_pick = pr.sample(popular, n_ssr_prev + n_ssr_today)
    ssr_prev, ssr_today = ssr_pick[:n_ssr_prev], ssr_pick[n_ssr_prev:]
    htb_all = htb_list | {s.symbol for s in securities if s.htb}
    etb = {t for t in tickers if t not in htb_all and t not in threshold and pr.random() < 0.75}
    etb |= {t for t in sorted(threshold) if pr.random() < 0.3}  # on the list, but a threshold security: never covers

    pre_open: list[object] = [
        ThresholdList(at(day, dt.time(6, 0)), frozenset(threshold), "bench"),
        HtbList(at(day, dt.time(6, 30)), frozenset(htb_list), "bench"),
        EtbList(at(day, dt.time(7, 0)), frozenset(etb), "bench"),
    ]
    for s in ssr_prev:
        pre_open.append(SsrTrigger(at(prev, dt.time(pr.randint(10, 15), pr.randint(0, 59))), s, "bench"))

    # -- accounts ------------------------------------------------------------------------------------------
    bd_of = rng.choice(len(BROKER_DEALERS), size=ACCOUNTS, p=BD_WEIGHTS).tolist()
    type_draw = rng.random(ACCOUNTS).tolist()
    accounts: list[Account] = []
    for i in range(ACCOUNTS):
        bd = BROKER_DEALERS[bd_of[i]]
        u = type_draw[i]
        if u < MM_SHARE:
            typ, tag = AccountType.MARKET_MAKER, "M"
        elif u < MM_SHARE + PROP_SHARE:
            typ, tag = AccountType.PROPRIETARY, "P"
        else:
            typ, tag = AccountType.CUSTOMER, "C"
        accounts.append(Account(f"{bd[:2]}-{tag}{i:05d}", bd, typ))
    activity = _zipf(rng, ACCOUNTS, 0.8, 10.0)
    is_mm = np.array([a.type is AccountType.MARKET_MAKER for a in accounts])
    activity = np.where(is_mm, activity * 20.0, activity)
    activity /= activity.sum()
    traders = [i for i, a in enumerate(accounts) if a.type is not AccountType.MARKET_MAKER]
    trader_w = activity[traders] / activity[traders].sum()

    # -- market-making reviews -----------------------------------------------------------------------------
    mm_pairs: list[tuple[str, str]] = []
    mm_accounts = [a for a in accounts if a.type is AccountType.MARKET_MAKER]
    for a in mm_accounts:
        k = min(MM_SYMBOLS_PER_ACCOUNT, symbols)
        for si in rng.choice(symbols, size=k, replace=False, p=pop).tolist():
            s = tickers[si]
            pre_open.append(MmStatus(at(day, dt.time(7, 30)), a.id, s, pr.random() < 0.93, "bench"))
            mm_pairs.append((a.id, s))

    # -- start-of-day positions ----------------------------------------------------------------------------
    holdings: list[tuple[str, str]] = []
    sod = at(day, dt.time(5, 0))
    for a in accounts:
        if a.type is AccountType.MARKET_MAKER:
            n = 100
        elif a.type is AccountType.PROPRIETARY:
            n = 60
        else:
            n = int(rng.poisson(14))
        if n == 0:
            continue
        for si in set(rng.choice(symbols, size=n, p=pop).tolist()):
            qty = pr.choice(LOTS) * pr.choice((1, 2, 5, 10, 20))
            if pr.random() < 0.04:
                qty = -qty  # short carried from earlier days
            else:
                holdings.append((a.id, tickers[si]))
            pre_open.append(PositionSet(sod, a.id, tickers[si], qty, "bench"))

    # -- pre-borrow requirements and pre-borrows -------------------------------------------------------------
    pb_pairs: list[tuple[str, str]] = []
    n_pb = max(1, symbols // 200)
    for si in rng.choice(symbols, size=n_pb, replace=False, p=pop).tolist():
        bd = BROKER_DEALERS[int(rng.choice(len(BROKER_DEALERS), p=BD_WEIGHTS))]
        rule = "204(b)" if pr.random() < 0.8 else "203(b)(3)(iv)"
        pre_open.append(PreBorrowRequired(at(prev, dt.time(9, 30)), bd, tickers[si], rule, None, "bench"))
        pb_pairs.append((bd, tickers[si]))
    n_lot = 0
    for bd, s in pb_pairs:
        for _ in range(pr.choice((0, 0, 1, 1, 2))):
            n_lot += 1
            pre_open.append(PreBorrow(at(day, dt.time(8, pr.randint(0, 59))), f"PB{n_lot:05d}", bd, s,
                                      pr.choice((1_000, 2_000, 5_000, 10_000, 20_000)), "bench"))
    # Pre-borrows without a requirement, in hard-to-borrow securities: cover short sales as 203(b)(1)(i).
    htb_sorted = sorted(htb_all)
    for s in pr.sample(htb_sorted, min(len(htb_sorted), max(1, symbols // 100))):
        n_lot += 1
        pre_open.append(PreBorrow(at(day, dt.time(8, pr.randint(0, 59))), f"PB{n_lot:05d}",
                                  pr.choice(BROKER_DEALERS), s, pr.choice((5_000, 10_000, 50_000)), "bench"))

    # -- locates granted before the open -------------------------------------------------------------------
    # Short sellers ask for locates in what they short: hard-to-borrow and threshold names far more than
    # easy-to-borrow ones, and some in the securities restricted under Rule 201.
    loc_w = pop.copy()
    for i, t in enumerate(tickers):
        if t in htb_all:
            loc_w[i] *= 6.0
        elif t in threshold:
            loc_w[i] *= 4.0
        elif t in etb:
            loc_w[i] *= 0.3
    loc_w /= loc_w.sum()
    loc_sym = rng.choice(symbols, size=locates, p=loc_w).tolist()
    loc_acct = rng.choice(traders, size=locates, p=trader_w).tolist()
    loc_secs = np.sort(rng.integers(0, 9_000, size=locates)).tolist()  # 07:00:00 .. 09:29:59
    eod = cal.end_of_day(day)
    seven = at(day, dt.time(7, 0))
    open_ = cal.open_of(day)
    for i in range(locates):
        granted = seven + dt.timedelta(seconds=loc_secs[i])
        is_day = pr.random() < 0.8
        until = eod if is_day else open_ + dt.timedelta(minutes=pr.randint(30, 360))
        pre_open.append(LocateGrant(granted, f"L{i + 1:07d}", accounts[loc_acct[i]].id, tickers[loc_sym[i]],
                                    pr.choice(LOCATE_SIZES), until, is_day, "bench-desk", "bench"))

    ctx: dict[str, object] = {
        "tickers": tickers, "pop": pop, "etb": etb, "htb_all": htb_all, "ssr_prev": ssr_prev,
        "ssr_today": ssr_today, "traders": traders, "trader_w": trader_w, "activity": activity,
        "mm_pairs": mm_pairs, "holdings": holdings, "pb_pairs": pb_pairs,
    }
    return securities, accounts, pre_open, ctx


class _Generator:
    """Builds the intraday stream by running it through a generation shell, so that fills follow acceptances."""

    def __init__(self, day: dt.date, cal: Calendars, securities: list[Security], accounts: list[Account],
                 pre_open: list[object], ctx: dict[str, object], seed: int) -> None:
        self.rng = np.random.default_rng(seed + 1)
        self.pr = random.Random(seed + 1)
        self.open = cal.open_of(day)
        self.shell = GateShell(cal, securities, accounts)
        for e in pre_open:
            _apply(self.shell, e)
        self.snap: Snapshot = self.shell.snap
        self.accounts = accounts
        self.tickers: list[str] = ctx["tickers"]  # type: ignore[assignment]
        self.pop: npt.NDArray[np.float64] = ctx["pop"]  # type: ignore[assignment]
        self.etb: set[str] = ctx["etb"]  # type: ignore[assignment]
        self.ssr_symbols: list[str] = list(ctx["ssr_prev"]) + list(ctx["ssr_today"])  # type: ignore[call-overload]
        self.ssr_set = set(self.ssr_symbols)
        self.ssr_today: list[str] = ctx["ssr_today"]  # type: ignore[assignment]
        self.traders: list[int] = ctx["traders"]  # type: ignore[assignment]
        self.trader_w: npt.NDArray[np.float64] = ctx["trader_w"]  # type: ignore[assignment]
        self.activity: npt.NDArray[np.float64] = ctx["activity"]  # type: ignore[assignment]
        self.mm_pairs: list[tuple[str, str]] = ctx["mm_pairs"]  # type: ignore[assignment]
        self.mm_set = set(self.mm_pairs)
        self.holdings: list[tuple[str, str]] = list(ctx["holdings"])  # type: ignore[call-overload]
        self.holding_set = set(self.holdings)
        self.pb_pairs: list[tuple[str, str]] = ctx["pb_pairs"]  # type: ignore[assignment]
        self.by_bd: dict[str, list[str]] = {}
        for a in accounts:
            self.by_bd.setdefault(a.bd, []).append(a.id)
        self.customers = [a.id for a in accounts if a.type is AccountType.CUSTOMER]
        self.mm_ids = [a.id for a in accounts if a.type is AccountType.MARKET_MAKER]
        self.locs: list[LocateState] = list(self.snap.locates.values())
        self.ssr_locate_owners: dict[str, list[str]] = {}
        for loc in self.locs:
            if loc.symbol in self.ssr_set:
                self.ssr_locate_owners.setdefault(loc.symbol, []).append(loc.account)
        self.short_pairs: list[tuple[str, str]] = []
        self.short_set: set[tuple[str, str]] = set()
        self.covered: list[tuple[str, str]] = []
        self.covered_set: set[tuple[str, str]] = set()
        self.heap: list[tuple[int, int, Fill | Cancel | SsrTrigger]] = []
        self.seq = 0
        self.stream: list[Order | Fill | Cancel | SsrTrigger] = []
        self.mix: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self._dec: dict[int, Decimal] = {}
        self.ref_cents = (np.exp(self.rng.normal(3.4, 0.9, len(self.tickers))) * 100).astype(np.int64) + 100
        self.ref_of = dict(zip(self.tickers, self.ref_cents.tolist(), strict=True))
        # Intraday Rule 201 triggers, 09:35 to 11:30.
        for s in self.ssr_today:
            us = self.pr.randint(300, 7_200) * 1_000_000
            self._push(us, SsrTrigger(self._at(us), s, "bench"))

    # -- helpers -------------------------------------------------------------------------------------------

    def _at(self, us: int) -> dt.datetime:
        return self.open + dt.timedelta(microseconds=us)

    def _push(self, us: int, e: Fill | Cancel | SsrTrigger) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (us, self.seq, e))

    def _d(self, cents: int) -> Decimal:
        d = self._dec.get(cents)
        if d is None:
            d = self._dec[cents] = Decimal(cents).scaleb(-2)
        return d

    def _quote(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(national best bid, offer) from the security's reference price."""
        c = self.ref_of.get(symbol, 1000)
        return self._d(c), self._d(c + 1)

    def _lot(self) -> int:
        return self.pr.choice(LOTS)

    def _fit(self, qty: int, room: int) -> int:
        """``qty`` cut down to ``room`` in round lots, at least one lot."""
        if room >= qty:
            return qty
        return max(100, room // 100 * 100)

    def _release(self, upto: int) -> None:
        """Apply pending fills, cancels and triggers due at or before ``upto`` µs after the open."""
        heap, shell, snap = self.heap, self.shell, self.snap
        while heap and heap[0][0] <= upto:
            _, _, e = heapq.heappop(heap)
            self.stream.append(e)
            if isinstance(e, Fill):
                shell.fill(e)
                self.counts["fills"] += 1
                o = shell.orders[e.order].order
                pair = (o.account, o.symbol)
                if o.side is Side.BUY:
                    if pair in self.short_set and pair not in self.covered_set:
                        locs = snap.account_locates.get(pair, ())
                        if any(loc.freed > 0 for loc in locs):
                            self.covered.append(pair)
                            self.covered_set.add(pair)
                    if pair not in self.holding_set and snap.positions.get(pair, 0) > 0:
                        self.holdings.append(pair)
                        self.holding_set.add(pair)
                elif o.side is not Side.SELL and any(p.kind != "pre_borrow" for p in shell.orders[e.order].parts):
                    self.short_pairs.append(pair)
                    self.short_set.add(pair)
            elif isinstance(e, Cancel):
                shell.cancel(e)
                self.counts["cancels"] += 1
            else:
                shell.ssr(e)
                self.counts["ssr_triggers"] += 1

    def _schedule(self, o: Order, us: int, p_fill: float, p_cancel: float) -> None:
        pr = self.pr
        qty = o.qty
        t = us
        if pr.random() < p_fill:
            total = qty if pr.random() < 0.85 else max(1, qty // 2)
            parts = 1 if pr.random() < 0.7 or total < 3 else pr.randint(2, 3)
            done = 0
            for k in range(parts):
                n = total - done if k == parts - 1 else max(1, (total - done) // (parts - k))
                done += n
                t += 1 + int(pr.expovariate(1 / 300_000))
                self._push(t, Fill(self._at(t), o.id, n, o.price))
            if total < qty and pr.random() < p_cancel:
                t += 1 + int(pr.expovariate(1 / 20_000_000))
                self._push(t, Cancel(self._at(t), o.id))
        elif pr.random() < p_cancel:
            t += 1 + int(pr.expovariate(1 / 30_000_000))
            self._push(t, Cancel(self._at(t), o.id))

    # -- the orders ----------------------------------------------------------------------------------------

    def run(self, n: int) -> None:
        rng = self.rng
        tickers, accounts = self.tickers, self.accounts
        # U-shaped intraday activity: more at the open and the close.
        us = np.sort((rng.beta(0.75, 0.75, n) * SESSION_S * 1_000_000).astype(np.int64)).tolist()
        names = [name for name, _ in INTENTS]
        p = np.array([w for _, w in INTENTS])
        intents = rng.choice(len(INTENTS), size=n, p=p / p.sum()).tolist()
        sym = rng.choice(len(tickers), size=n, p=self.pop).tolist()
        acct = rng.choice(len(accounts), size=n, p=self.activity).tolist()
        trader = rng.choice(self.traders, size=n, p=self.trader_w).tolist()
        etb_idx = [i for i, t in enumerate(tickers) if t in self.etb]
        non_idx = [i for i, t in enumerate(tickers) if t not in self.etb]
        etb_w = self.pop[etb_idx] / self.pop[etb_idx].sum()
        non_w = self.pop[non_idx] / self.pop[non_idx].sum()
        etb_draw = rng.choice(etb_idx, size=n, p=etb_w).tolist() if etb_idx else sym
        non_draw = rng.choice(non_idx, size=n, p=non_w).tolist() if non_idx else sym
        shell = self.shell
        for i in range(n):
            t = us[i]
            if self.heap and self.heap[0][0] <= t:
                self._release(t)
            at = self._at(t)
            oid = f"O{i:0{_ORDER_IDS_WIDTH}d}"
            intent = names[intents[i]]
            o = self._make(intent, oid, at, tickers[sym[i]], accounts[acct[i]].id, accounts[trader[i]].id,
                           tickers[etb_draw[i]], tickers[non_draw[i]])
            d = shell.order(o)
            self.stream.append(o)
            self.counts["intent." + intent] += 1
            for code in d.reasons:
                self.mix[code] += 1
            self.mix["accept" if d.accepted else "reject"] += 1
            if d.accepted:
                if o.side is Side.BUY:
                    self._schedule(o, t, 0.85, 0.75)
                elif o.bona_fide_mm:
                    self._schedule(o, t, 0.5, 0.8)
                else:
                    self._schedule(o, t, 0.8, 0.75)
        self._release(1 << 62)

    def _make(self, intent: str, oid: str, at: dt.datetime, symbol: str, account: str, trader: str,
              etb_symbol: str, non_etb_symbol: str) -> Order:
        pr, snap = self.pr, self.snap
        bid, offer = self._quote(symbol)
        if intent == "cover":
            for _ in range(3):
                if not self.short_pairs:
                    break
                pair = pr.choice(self.short_pairs)
                pos = snap.positions.get(pair, 0)
                if pos < 0:
                    b, a = self._quote(pair[1])
                    return Order(at, oid, pair[0], pair[1], Side.BUY, min(-pos, max(self._lot(), 100)), a, b)
            intent = "buy"
        if intent == "buy":
            return Order(at, oid, account, symbol, Side.BUY, self._lot(), offer if pr.random() < 0.9 else None, bid)
        if intent in ("long", "long_over"):
            pair, room = self.holdings[0], 0
            for _ in range(4):
                pair = pr.choice(self.holdings)
                room = snap.positions.get(pair, 0) - snap.open_sells.get(pair, 0)
                if room >= 100:
                    break
            b, a = self._quote(pair[1])
            qty = self._fit(self._lot(), room) if intent == "long" else max(room, 0) + self._lot()
            return Order(at, oid, pair[0], pair[1], Side.SELL, qty, a if pr.random() < 0.9 else None, b)
        if intent == "short_reuse" and self.covered:
            pair = pr.choice(self.covered)
            for loc in snap.account_locates.get(pair, ()):
                if loc.freed > 0 and at < loc.good_until:
                    b, a = self._quote(pair[1])
                    qty = loc.fresh + min(loc.freed, self._lot())
                    return Order(at, oid, pair[0], pair[1], Side.SELL_SHORT, qty, a, b,
                                 locate=loc.id if pr.random() < 0.7 else None)
            intent = "short_named"
        elif intent == "short_reuse":
            intent = "short_named"
        if intent in ("short_named", "short_named_over", "short_named_wrong", "short_auto"):
            loc = self.locs[pr.randrange(len(self.locs))]
            b, a = self._quote(loc.symbol)
            price = a if pr.random() < 0.85 else (b if pr.random() < 0.5 else None)
            if intent == "short_named_over":
                return Order(at, oid, loc.account, loc.symbol, Side.SELL_SHORT, loc.fresh + loc.freed + self._lot(),
                             price, b, locate=loc.id)
            if intent == "short_named_wrong":
                other = trader if trader != loc.account else self.customers[0]
                return Order(at, oid, other, loc.symbol, Side.SELL_SHORT, self._lot(), price, b, locate=loc.id)
            qty = self._fit(self._lot(), loc.fresh) if loc.fresh >= 100 else self._lot()
            return Order(at, oid, loc.account, loc.symbol, Side.SELL_SHORT, qty, price, b,
                         locate=loc.id if intent == "short_named" else None)
        if intent == "short_etb":
            b, a = self._quote(etb_symbol)
            return Order(at, oid, trader, etb_symbol, Side.SELL_SHORT, self._lot(), a, b)
        if intent == "short_nolocate":
            b, a = self._quote(non_etb_symbol)
            return Order(at, oid, trader, non_etb_symbol, Side.SELL_SHORT, self._lot(), a, b)
        if intent in ("short_ssr", "exempt"):
            s = pr.choice(self.ssr_symbols)
            owners = self.ssr_locate_owners.get(s)
            who = pr.choice(owners) if owners and pr.random() < 0.6 else trader
            b, a = self._quote(s)
            if intent == "short_ssr":
                u = pr.random()
                price = a if u < 0.7 else (b if u < 0.85 else None)
                return Order(at, oid, who, s, Side.SELL_SHORT, self._lot(), price, b)
            provision = pr.choice(PROVISIONS)
            price = a if provision != "201(c)" or pr.random() < 0.9 else b
            return Order(at, oid, who, s, Side.SELL_SHORT_EXEMPT, self._lot(), price, b, exempt=provision)
        if intent == "exempt_bad":
            if pr.random() < 0.8:
                s = symbol if symbol not in self.ssr_set else non_etb_symbol
                prov: str | None = pr.choice(PROVISIONS)
            else:
                s = pr.choice(self.ssr_symbols)
                prov = pr.choice((None, "201(e)"))
            b, a = self._quote(s)
            return Order(at, oid, trader, s, Side.SELL_SHORT_EXEMPT, self._lot(), a, b, exempt=prov)
        if intent == "short_preborrow":
            bd, s = pr.choice(self.pb_pairs)
            b, a = self._quote(s)
            return Order(at, oid, pr.choice(self.by_bd[bd]), s, Side.SELL_SHORT, self._lot(), a, b)
        if intent == "mm":
            who, s = pr.choice(self.mm_pairs)
            b, a = self._quote(s)
            return Order(at, oid, who, s, Side.SELL_SHORT, self._lot(), a, b, bona_fide_mm=True)
        if intent == "mm_bad":
            if pr.random() < 0.5 or not self.mm_ids:
                who = pr.choice(self.customers)
            else:
                who = pr.choice(self.mm_ids)
                if (who, symbol) in self.mm_set:
                    symbol = non_etb_symbol
            b, a = self._quote(symbol)
            return Order(at, oid, who, symbol, Side.SELL_SHORT, self._lot(), a, b, bona_fide_mm=True)
        # unknown
        if pr.random() < 0.5:
            return Order(at, oid, account, "ZZZZZ", Side.SELL_SHORT, self._lot(), offer, bid)
        return Order(at, oid, "XX-UNKNOWN", symbol, Side.SELL, self._lot(), offer, bid)


def build_day(orders: int, symbols: int, locates: int, seed: int, cal: Calendars) -> Day:
    """Generate the whole day (nothing here is timed by the benchmark)."""
    t0 = time.perf_counter()
    securities, accounts, pre_open, ctx = _reference(symbols, locates, seed, cal)
    gen = _Generator(TRADE_DATE, cal, securities, accounts, pre_open, ctx, seed)
    gen.run(orders)
    counts = dict(gen.counts)
    counts["pre_open_events"] = len(pre_open)
    counts["positions"] = sum(1 for e in pre_open if isinstance(e, PositionSet))
    counts["locates"] = len(gen.snap.locates)
    counts["mm_reviews"] = len(gen.snap.mm_review)
    counts["pre_borrow_pairs"] = len(gen.snap.pre_borrow_periods)
    counts["ssr_symbols"] = len(gen.ssr_symbols)
    counts["htb_symbols"] = len(ctx["htb_all"])  # type: ignore[arg-type]
    counts["threshold_symbols"] = len(gen.snap.threshold_symbols)
    counts["etb_symbols"] = len(gen.snap.etb_symbols)
    day = Day(TRADE_DATE, securities, accounts, pre_open, gen.stream, orders, gen.mix,
              time.perf_counter() - t0, counts)
    return day


# -- timing -------------------------------------------------------------------------------------------------


def _lookups(o: Order, snap: Snapshot) -> None:
    """The baseline: the look-ups the gate makes for ``o``, and nothing else (no decision, no mutation)."""
    symbol = o.symbol
    sec = snap.securities.get(symbol)
    acct = snap.accounts.get(o.account)
    side = o.side
    if sec is None or acct is None or side is Side.BUY:
        return
    key = (o.account, symbol)
    snap.positions.get(key, 0)
    snap.open_sells.get(key, 0)
    if side is Side.SELL:
        return
    pb_key = (acct.bd, symbol)
    _ = symbol in snap.threshold_symbols
    _ = symbol in snap.htb_symbols
    snap.ssr.get(symbol)
    snap.pre_borrow_periods.get(pb_key)
    if o.bona_fide_mm:
        snap.mm_review.get(key)
        return
    if o.locate is not None:
        snap.locates.get(o.locate)
        return
    snap.account_locates.get(key)
    _ = symbol in snap.etb_symbols
    snap.pre_borrows.get(pb_key)


def _time_gate(shell: GateShell, stream: list[Order | Fill | Cancel | SsrTrigger], n: int) -> tuple[
        npt.NDArray[np.int64], float]:
    lat = [0] * n
    pc = time.perf_counter_ns
    order, fill, cancel, ssr = shell.order, shell.fill, shell.cancel, shell.ssr
    i = 0
    w0 = time.perf_counter()
    for e in stream:
        cls = type(e)
        if cls is Order:
            t0 = pc()
            order(e)  # type: ignore[arg-type]
            lat[i] = pc() - t0
            i += 1
        elif cls is Fill:
            fill(e)  # type: ignore[arg-type]
        elif cls is Cancel:
            cancel(e)  # type: ignore[arg-type]
        else:
            ssr(e)  # type: ignore[arg-type]
    wall = time.perf_counter() - w0
    return np.array(lat[:i], dtype=np.int64), wall


def _time_baseline(snap: Snapshot, stream: list[Order | Fill | Cancel | SsrTrigger], n: int) -> tuple[
        npt.NDArray[np.int64], float]:
    lat = [0] * n
    pc = time.perf_counter_ns
    look = _lookups
    i = 0
    w0 = time.perf_counter()
    for e in stream:
        if type(e) is Order:
            t0 = pc()
            look(e, snap)
            lat[i] = pc() - t0
            i += 1
    wall = time.perf_counter() - w0
    return np.array(lat[:i], dtype=np.int64), wall


def _timer_overhead_ns() -> float:
    pc = time.perf_counter_ns
    xs = []
    for _ in range(200_000):
        t0 = pc()
        xs.append(pc() - t0)
    return float(np.median(np.array(xs)))


def _stats(lat: npt.NDArray[np.int64]) -> dict[str, float]:
    total_s = float(lat.sum()) / 1e9
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9]).tolist()
    return {
        "decisions_per_s": len(lat) / total_s if total_s else 0.0,
        "mean_us": float(lat.mean()) / 1e3,
        "p50_us": p50 / 1e3,
        "p99_us": p99 / 1e3,
        "p999_us": p999 / 1e3,
        "max_us": float(lat.max()) / 1e3,
    }


def _new_shell(cal: Calendars, day: Day) -> GateShell:
    shell = GateShell(cal, day.securities, day.accounts)
    for e in day.pre_open:
        _apply(shell, e)
    return shell


def run(orders: int, symbols: int, locates: int, seed: int, console: Console) -> dict[str, float]:
    """Generate the day, time the gate and the baseline, print the tables, return the figures."""
    if orders <= 0 or symbols <= 0 or locates <= 0:
        raise ValueError("orders, symbols and locates must be positive")
    t_start = time.perf_counter()
    console.print(f"[bold]regsho bench gate[/]: {orders:,} orders, {symbols:,} securities, {locates:,} locates, "
                  f"seed {seed}, trade date {TRADE_DATE.isoformat()}")
    cal = default_calendars()
    with console.status("generating the day (a generation pass runs the gate once to choose fills)"):
        day = build_day(orders, symbols, locates, seed, cal)
    c = day.counts
    console.print(
        f"generated in {day.gen_seconds:.1f} s: {c['pre_open_events']:,} pre-open events "
        f"({c['locates']:,} locates, {c['positions']:,} positions, {c['mm_reviews']:,} market-making reviews, "
        f"{c['pre_borrow_pairs']} pre-borrow requirements), {len(day.stream):,} intraday events "
        f"({orders:,} orders, {c.get('fills', 0):,} fills, {c.get('cancels', 0):,} cancels, "
        f"{c.get('ssr_triggers', 0)} Rule 201 triggers); {len(day.securities):,} securities "
        f"({c['htb_symbols']} hard to borrow, {c['threshold_symbols']} threshold, {c['ssr_symbols']} restricted, "
        f"{c['etb_symbols']:,} easy to borrow), {len(day.accounts):,} accounts at {len(BROKER_DEALERS)} "
        "broker-dealers", highlight=False)

    shell = _new_shell(cal, day)
    overhead = _timer_overhead_ns()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        gate_lat, gate_wall = _time_gate(shell, day.stream, orders)
        base_lat, base_wall = _time_baseline(shell.snap, day.stream, orders)
    finally:
        gc.enable()
        gc.unfreeze()

    mix: Counter[str] = Counter()
    for st in shell.orders.values():
        for code in st.decision.reasons:
            mix[code] += 1
        mix["accept" if st.decision.accepted else "reject"] += 1
    same = mix == day.gen_mix
    g, b = _stats(gate_lat), _stats(base_lat)
    passed_rate = g["decisions_per_s"] >= TARGET_DECISIONS_PER_S
    passed_p99 = g["p99_us"] <= TARGET_P99_US
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = Table(title="Gate vs baseline (per order call, time.perf_counter_ns)", title_justify="left")
    t.add_column("metric")
    t.add_column("gate", justify="right")
    t.add_column("baseline", justify="right")
    t.add_column("gate/baseline", justify="right")
    rows = (("decisions/s", "decisions_per_s", "{:,.0f}"), ("mean µs", "mean_us", "{:.2f}"),
            ("p50 µs", "p50_us", "{:.2f}"), ("p99 µs", "p99_us", "{:.2f}"), ("p99.9 µs", "p999_us", "{:.2f}"),
            ("max µs", "max_us", "{:,.0f}"))
    for label, key, fmt in rows:
        ratio = g[key] / b[key] if b[key] else float("nan")
        t.add_row(label, fmt.format(g[key]), fmt.format(b[key]), f"{ratio:.2f}×")
    t.add_row("wall s (loop)", f"{gate_wall:.2f}", f"{base_wall:.2f}", f"{gate_wall / base_wall:.2f}×")
    console.print(t)
    console.print(f"wall loop of the gate includes {c.get('fills', 0):,} fills, {c.get('cancels', 0):,} cancels "
                  f"and the timer; timer overhead ≈ {overhead:.0f} ns per measurement (not subtracted); "
                  "gc.freeze() + gc.disable() during both timed loops", highlight=False)

    m = Table(title="Decision mix (every reason listed; a rejection may list several)", title_justify="left")
    m.add_column("reason")
    m.add_column("orders", justify="right")
    m.add_column("share", justify="right")
    for code in ("accept", "reject"):
        m.add_row(f"[bold]{code}ed[/]", f"{mix[code]:,}", f"{mix[code] / orders:.2%}")
    for code, k in sorted(((k, v) for k, v in mix.items() if k not in ("accept", "reject")),
                          key=lambda kv: -kv[1]):
        m.add_row(code, f"{k:,}", f"{k / orders:.3%}")
    console.print(m)

    tc = Table(title="Target: ≥ 100,000 decisions/s on one core and p99 ≤ 20 µs", title_justify="left")
    tc.add_column("check")
    tc.add_column("measured", justify="right")
    tc.add_column("result")
    tc.add_row("decisions/s ≥ 100,000", f"{g['decisions_per_s']:,.0f}",
               "[green]PASS[/]" if passed_rate else "[red]FAIL[/]")
    tc.add_row("p99 ≤ 20 µs", f"{g['p99_us']:.2f} µs", "[green]PASS[/]" if passed_p99 else "[red]FAIL[/]")
    tc.add_row("overall", "", "[bold green]PASS[/]" if passed_rate and passed_p99 else "[bold red]FAIL[/]")
    console.print(tc)
    elapsed = time.perf_counter() - t_start
    console.print(f"decisions identical to the generation pass: {'yes' if same else 'NO'}; "
                  f"peak RSS {rss_mb:,.0f} MB; total run {elapsed:.1f} s", highlight=False)

    result: dict[str, float] = {f"gate_{k}": v for k, v in g.items()}
    result.update({f"baseline_{k}": v for k, v in b.items()})
    result.update({
        "ratio_decisions_per_s": g["decisions_per_s"] / b["decisions_per_s"],
        "ratio_p50": g["p50_us"] / b["p50_us"],
        "ratio_p99": g["p99_us"] / b["p99_us"],
        "ratio_p999": g["p999_us"] / b["p999_us"],
        "gate_wall_s": gate_wall,
        "baseline_wall_s": base_wall,
        "timer_overhead_ns": overhead,
        "orders": float(orders),
        "accepted": float(mix["accept"]),
        "rejected": float(mix["reject"]),
        "target_pass": float(passed_rate and passed_p99),
        "deterministic": float(same),
        "gc_disabled": 1.0,
        "generation_s": day.gen_seconds,
        "peak_rss_mb": rss_mb,
    })
    result.update({f"mix_{k}": float(v) for k, v in mix.items() if k not in ("accept", "reject")})
    return result
