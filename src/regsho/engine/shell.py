"""The stateful shell around the pure gate: keeps the snapshot current and applies consumption atomically.

Every mutation of gate state goes through this class; ``decide`` only reads. Errors in the input (a fill of an
order that was never accepted, a fill larger than what is open) raise ``GateInputError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from regsho.calendars import ET, Calendars
from regsho.core.events import (
    Account,
    Cancel,
    EtbList,
    Fill,
    GateSettings,
    HtbList,
    LocateGrant,
    LocateRelease,
    MmStatus,
    MmVerdict,
    Order,
    PositionSet,
    PreBorrow,
    PreBorrowRequired,
    Security,
    Side,
    SsrTrigger,
    ThresholdList,
)
from regsho.engine.errors import EngineInputError
from regsho.engine.gate import decide
from regsho.engine.lifecycles import LOCATE, RULE201, LocateEvent, Restriction, RestrictionEvent
from regsho.engine.snapshot import LocateState, PreBorrowState, Snapshot
from regsho.law import params
from regsho.law.decision import ACCEPT, Decision
from regsho.rules import r201

# enum members read once: a member looked up on its class costs about 0.2 µs a time on Python 3.11
_BUY = Side.BUY
_CONSUMED_PART = LocateEvent.CONSUMED_PART
_CONSUMED_ALL = LocateEvent.CONSUMED_ALL
_RELEASED = LocateEvent.RELEASED


class GateInputError(EngineInputError):
    """Bad input to the gate's shell; ``field`` names the offending field of the event."""


@dataclass(slots=True)
class _Part:
    kind: str
    id: str
    qty: int
    filled: int = 0


@dataclass(slots=True)
class OrderState:
    order: Order
    decision: Decision
    filled: int = 0
    cancelled: int = 0
    #: what an accepted short sale consumed, one part per locate or pre-borrow lot (empty for every other order)
    parts: tuple[_Part, ...] = ()

    @property
    def open_qty(self) -> int:
        if not self.decision.accepted:
            return 0
        return self.order.qty - self.filled - self.cancelled


class GateShell:
    """Owns one snapshot; applies reference data, locates, orders, fills and cancels in time order."""

    def __init__(
        self,
        calendars: Calendars,
        securities: Iterable[Security] = (),
        accounts: Iterable[Account] = (),
        reference_max_age: dt.timedelta | None = None,
    ) -> None:
        self.cal = calendars
        self.snap = Snapshot(reference_max_age=reference_max_age)
        for s in securities:
            self.snap.securities[s.symbol] = s
        # ``htb: true`` on a security is the hard-to-borrow list in force from the start (docs/scenarios.md, the
        # event table); a later ``htb_list`` replaces it like any other list.
        self.snap.htb_symbols = frozenset(s.symbol for s in self.snap.securities.values() if s.htb)
        self.rule201: dict[str, Restriction] = {}
        for a in accounts:
            self.snap.accounts[a.id] = a
        self.orders: dict[str, OrderState] = {}
        self._seq = 0

    # -- reference data ------------------------------------------------------------------------------------

    def add_security(self, s: Security) -> None:
        self.snap.securities[s.symbol] = s
        if s.htb and self.snap.htb_as_of is None:
            self.snap.htb_symbols = self.snap.htb_symbols | {s.symbol}

    def add_account(self, a: Account) -> None:
        self.snap.accounts[a.id] = a

    def etb_list(self, ev: EtbList) -> None:
        self.snap.etb_symbols = ev.symbols
        self.snap.etb_as_of = ev.at
        row = params.lookup("locate.etb_max_age", ev.at.date())
        assert isinstance(row.value, dt.timedelta)
        self.snap.etb_max_age = row.value
        self.snap.etb_max_age_param = row

    def htb_list(self, ev: HtbList) -> None:
        self.snap.htb_symbols = ev.symbols
        self.snap.htb_as_of = ev.at

    def threshold_list(self, ev: ThresholdList) -> None:
        self.snap.threshold_symbols = ev.symbols
        self.snap.threshold_as_of = ev.at

    def ssr(self, ev: SsrTrigger) -> None:
        """17 CFR 242.201(b)(1): the listing market has triggered the circuit breaker at ``ev.at``."""
        with params.trace() as used:
            why = r201.may_trigger(ev.at, self.cal)
            if why is not None:
                raise GateInputError("at", why)
            current = self.snap.ssr.get(ev.symbol)
            state = self.rule201.get(ev.symbol, RULE201.initial)
            if state is Restriction.RESTRICTED and not r201.in_force(current, ev.at):
                state = RULE201.step(state, RestrictionEvent.WINDOW_ENDED, ev.symbol)
            event = RestrictionEvent.RETRIGGERED if state is Restriction.RESTRICTED else RestrictionEvent.TRIGGERED
            self.rule201[ev.symbol] = RULE201.step(state, event, ev.symbol)
            self.snap.ssr[ev.symbol] = r201.extend_window(current if state is Restriction.RESTRICTED else None,
                                                          ev.at, self.cal)
        self.snap.ssr_params[ev.symbol] = tuple(used)

    def settings(self, ev: GateSettings) -> None:
        """The gate's settings from this event on (the fail-closed age limit of the reference lists)."""
        self.snap.reference_max_age = ev.reference_max_age

    def mm_status(self, ev: MmStatus) -> None:
        self.snap.mm_review[(ev.account, ev.symbol)] = ev.bona_fide

    def mm_verdict(self, ev: MmVerdict) -> None:
        """A surveillance verdict for a window; a later verdict for the same window replaces the earlier one."""
        vs = [v for v in self.snap.mm_verdicts.get((ev.account, ev.symbol), []) if v.start != ev.start]
        vs.append(ev)
        vs.sort(key=lambda v: v.start)
        self.snap.mm_verdicts[(ev.account, ev.symbol)] = vs

    def position(self, ev: PositionSet) -> None:
        self.snap.positions[(ev.account, ev.symbol)] = ev.qty

    # -- locates and pre-borrows ---------------------------------------------------------------------------

    def locate(self, ev: LocateGrant) -> None:
        if ev.id in self.snap.locates:
            raise GateInputError("id", f"locate id {ev.id} is already used")
        st = LocateState(ev.id, ev.account, ev.symbol, ev.qty, ev.at, ev.good_until, ev.day, ev.source,
                         fresh=ev.qty, status=LOCATE.initial)
        self.snap.locates[ev.id] = st
        self.snap.account_locates.setdefault((ev.account, ev.symbol), []).append(st)

    def release(self, ev: LocateRelease) -> None:
        """17 CFR 242.203(b)(1): shares the locate desk takes back give no reasonable grounds to borrow any more.

        Takes back unused quantity of a locate (all of it when ``qty`` is None): freed quantity first, then fresh, so
        that what the account keeps covers without a reuse question (docs/scenarios.md, convention 33). What short
        sales consumed stays attributed to them, and returns to the locate if they are cancelled or bought back; the
        shares returned never do (``released`` only grows)."""
        loc = self.snap.locates.get(ev.id)
        if loc is None:
            raise GateInputError("id", f"unknown locate id {ev.id}")
        unused = loc.fresh + loc.freed
        qty = unused if ev.qty is None else ev.qty
        held = (f"{loc.consumed} consumed by short sales, {loc.released} already returned, of {loc.qty} "
                f"granted")
        if type(qty) is not int or isinstance(qty, bool) or (ev.qty is not None and qty <= 0):
            raise GateInputError("qty", f"release of locate {ev.id}: quantity {ev.qty!r} is not a positive whole "
                                        "number of shares")
        if unused == 0:
            raise GateInputError("qty" if ev.qty is not None else "id",
                                 f"locate {ev.id} has no unused shares to release ({held})")
        if qty > unused:
            raise GateInputError("qty", f"release of {qty} exceeds the {unused} unused shares of locate {ev.id} "
                                        f"({held})")
        from_freed = min(qty, loc.freed)
        loc.freed -= from_freed
        loc.fresh -= qty - from_freed
        loc.released += qty
        step = (LocateEvent.RETURNED_PART if loc.fresh + loc.freed else
                LocateEvent.RETURNED_REST if loc.consumed else LocateEvent.RETURNED_ALL)
        loc.status = LOCATE.step(loc.status, step, loc.id)

    def pre_borrow(self, ev: PreBorrow) -> None:
        lots = self.snap.pre_borrows.setdefault((ev.bd, ev.symbol), [])
        if any(lot.id == ev.id for lot in lots):
            raise GateInputError("id", f"pre-borrow id {ev.id} is already used")
        lots.append(PreBorrowState(ev.id, ev.bd, ev.symbol, ev.qty, ev.at, self.cal.end_of_day(ev.at.date()),
                                   ev.qty))

    def require_pre_borrow(
        self, bd: str, symbol: str, rule: str, start: dt.datetime, until: dt.datetime | None = None,
        period: str = "", obligations: tuple[str, ...] = (),
    ) -> None:
        """Impose a pre-borrow period on a broker-dealer in a security (from the close-out engine, or from a
        204(c) notice received), naming the period and the obligations behind it."""
        periods = self.snap.pre_borrow_periods.setdefault((bd, symbol), [])
        if periods:
            # periods that ended before this one starts never bind again (time only moves forward)
            periods[:] = [p for p in periods if p[2] is None or p[2] > start]
        periods.append((rule, start, until, period, obligations))

    def end_pre_borrow(self, bd: str, symbol: str, rule: str, start: dt.datetime, until: dt.datetime) -> None:
        """Set the end of the open period of ``rule`` that started at ``start``."""
        periods = self.snap.pre_borrow_periods.get((bd, symbol), [])
        for i in range(len(periods) - 1, -1, -1):  # the open period is a recent one
            r, s, u, pid, obs = periods[i]
            if r == rule and s == start and u is None:
                periods[i] = (r, s, until, pid, obs)
                return
        raise KeyError(f"no open {rule} pre-borrow period for {bd} in {symbol} from {start}")

    def pre_borrow_required(self, ev: PreBorrowRequired) -> None:
        self.require_pre_borrow(ev.bd, ev.symbol, ev.rule, ev.at, ev.until)

    # -- orders ---------------------------------------------------------------------------------------------

    def order(self, ev: Order) -> Decision:
        """Decide an order and, if accepted, apply what it consumes. Its time must be timezone-aware; it is judged
        on the America/New_York calendar day (day locates, Rule 201 windows), whatever zone it is given in."""
        if ev.at.tzinfo is not ET:
            if ev.at.tzinfo is None or ev.at.utcoffset() is None:
                raise GateInputError("at", f"order {ev.id}: a naive time {ev.at.isoformat()} is ambiguous; give a "
                                           "timezone-aware time")
            ev = dataclasses.replace(ev, at=ev.at.astimezone(ET))
        if ev.id in self.orders:
            raise GateInputError("id", f"order id {ev.id} is already used")
        d = decide(ev, self.snap)
        st = OrderState(ev, d)
        self.orders[ev.id] = st
        if d.action == ACCEPT:
            self._seq += 1
            consume = d.consume
            if consume:
                st.parts = tuple([_Part(cons.kind, cons.id, cons.qty) for cons in consume])
                day = ev.at.date()
            for cons in consume:
                if cons.kind == "pre_borrow":
                    for lot in self.snap.pre_borrows[(self.snap.accounts[ev.account].bd, ev.symbol)]:
                        if lot.id == cons.id:
                            lot.remaining -= cons.qty
                            break
                else:
                    loc = self.snap.locates[cons.id]
                    if cons.kind == "locate":
                        loc.fresh -= cons.qty
                    else:
                        loc.freed -= cons.qty
                    loc.consumed += cons.qty
                    loc.status = LOCATE.step(loc.status, _CONSUMED_PART if loc.fresh + loc.freed
                                             else _CONSUMED_ALL, loc.id)
                    loc.last_consumed_seq = self._seq
                    loc.last_consumed_day = day
            if ev.side is not _BUY:
                key = (ev.account, ev.symbol)
                self.snap.open_sells[key] = self.snap.open_sells.get(key, 0) + ev.qty
        return d

    def _state(self, order_id: str) -> OrderState:
        st = self.orders.get(order_id)
        if st is None:
            raise GateInputError("order", f"unknown order id {order_id}")
        return st

    def fill(self, ev: Fill) -> None:
        st = self._state(ev.order)
        o = st.order
        if not st.decision.accepted:
            raise GateInputError("order", f"order {o.id} was rejected and cannot be filled")
        if ev.at < o.at:
            raise GateInputError("at", f"fill of order {o.id} is before the order")
        if ev.qty > st.open_qty:
            raise GateInputError("qty", f"fill of {ev.qty} exceeds the {st.open_qty} shares open on order {o.id}")
        st.filled += ev.qty
        key = (o.account, o.symbol)
        pos = self.snap.positions.get(key, 0)
        if o.side is _BUY:
            self.snap.positions[key] = pos + ev.qty
            if pos < 0:
                self._free_for_buy_to_cover(o.account, o.symbol, min(ev.qty, -pos), ev.at.date())
            return
        self.snap.positions[key] = pos - ev.qty
        self.snap.open_sells[key] -= ev.qty
        need = ev.qty
        for part in st.parts:
            if need == 0:
                break
            n = min(need, part.qty - part.filled)
            part.filled += n
            need -= n
            if n and part.kind != "pre_borrow":
                self.snap.locates[part.id].executed += n

    def _free_for_buy_to_cover(self, account: str, symbol: str, qty: int, day: dt.date) -> None:
        """SEC Reg SHO FAQ 4.4: a buy filled the same day while the account is short frees located quantity again,
        up to what was consumed (docs/scenarios.md, conventions 8 and 31: the most recently consumed day locate first).
        Freed quantity of a timed locate is tracked too, so that a barred reuse can be named."""
        locs = [loc for loc in self.snap.account_locates.get((account, symbol), ())
                if loc.last_consumed_day == day and loc.executed > 0]
        locs.sort(key=lambda loc: (not loc.day, -loc.last_consumed_seq))
        for loc in locs:
            if qty == 0:
                return
            n = min(qty, loc.executed)
            loc.executed -= n
            loc.consumed -= n
            loc.freed += n
            qty -= n
            if n:
                loc.status = LOCATE.step(loc.status, _RELEASED, loc.id)

    def cancel(self, ev: Cancel) -> None:
        st = self._state(ev.order)
        rest = st.open_qty
        if rest <= 0:
            return
        st.cancelled += rest
        o = st.order
        if o.side is not _BUY:
            self.snap.open_sells[(o.account, o.symbol)] -= rest
        give = rest
        for part in reversed(st.parts):
            if give == 0:
                break
            n = min(give, part.qty - part.filled)
            if n <= 0:
                continue
            part.qty -= n
            give -= n
            if part.kind == "pre_borrow":
                bd = self.snap.accounts[o.account].bd
                for lot in self.snap.pre_borrows[(bd, o.symbol)]:
                    if lot.id == part.id:
                        lot.remaining += n
                        break
            else:
                loc = self.snap.locates[part.id]
                loc.consumed -= n
                if part.kind == "locate":
                    loc.fresh += n
                else:
                    loc.freed += n
                loc.status = LOCATE.step(loc.status, _RELEASED, loc.id)
