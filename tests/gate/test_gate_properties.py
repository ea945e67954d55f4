"""Property tests over random sequences of locates, pre-borrows, orders, fills and cancels."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from regsho.calendars import default_calendars
from regsho.core.events import (
    Account,
    AccountType,
    Cancel,
    Fill,
    HtbList,
    LocateGrant,
    LocateRelease,
    MmStatus,
    Order,
    PositionSet,
    PreBorrow,
    Security,
    Side,
    SsrTrigger,
)
from regsho.engine.gate import decide
from regsho.engine.shell import GateShell
from regsho.law import reasons as r

ET = ZoneInfo("America/New_York")
START = dt.datetime(2024, 6, 3, 8, 0, tzinfo=ET)
ACCOUNTS = ("A1", "A1", "A1", "A2", "MM1")  # weighted: most activity in one account and security
SYMBOLS = ("XYZ", "XYZ", "XYZ", "HTB1")

_locate = st.tuples(st.just("locate"), st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS), st.integers(1, 1000),
                    st.one_of(st.none(), st.none(), st.integers(1, 600)))
_order = st.tuples(st.just("order"), st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS),
                   st.sampled_from(["sell_short", "sell_short", "sell_short", "buy", "buy", "sell",
                                    "sell_short_exempt"]),
                   st.integers(1, 500), st.one_of(st.none(), st.none(), st.integers(0, 30)),
                   st.sampled_from([False, False, False, True]), st.booleans())
_fill = st.tuples(st.just("fill"), st.integers(0, 3), st.floats(0.0, 1.0))
_cancel = st.tuples(st.just("cancel"), st.integers(0, 3))
_release = st.tuples(st.just("release"), st.integers(0, 3), st.one_of(st.none(), st.floats(0.0, 1.0)))
_round_trip = st.tuples(st.just("round_trip"), st.sampled_from(SYMBOLS), st.integers(1, 500), st.integers(1, 600),
                        st.integers(1, 500))
op = st.one_of(
    _locate, _locate, _locate,
    _order, _order, _order, _order, _order, _order,
    _fill, _fill, _fill, _fill,
    _cancel, _cancel,
    _release,
    st.tuples(st.just("pre_borrow"), st.sampled_from(["FIRM", "CORR"]), st.sampled_from(SYMBOLS),
              st.integers(1, 800)),
    st.tuples(st.just("position"), st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS), st.integers(-500, 500)),
    st.tuples(st.just("htb"), st.booleans()),
    st.tuples(st.just("ssr"),),
    st.tuples(st.just("pre_borrow_required"), st.sampled_from(["FIRM", "CORR"])),
    st.tuples(st.just("mm_status"), st.sampled_from(SYMBOLS), st.booleans()),
    _round_trip, _round_trip,
    st.tuples(st.just("wait"), st.integers(1, 240)),
)


def _shell() -> GateShell:
    return GateShell(
        default_calendars(),
        [Security("XYZ"), Security("HTB1", htb=True)],
        [Account("A1", "FIRM", AccountType.CUSTOMER), Account("A2", "CORR", AccountType.CUSTOMER),
         Account("MM1", "FIRM", AccountType.MARKET_MAKER)],
    )


def _check_ledgers(shell: GateShell) -> None:
    snap = shell.snap
    reserved: dict[str, int] = {}
    for o in shell.orders.values():
        for part in o.parts:
            if part.kind != "pre_borrow":
                reserved[part.id] = reserved.get(part.id, 0) + part.qty - part.filled
    for loc in snap.locates.values():
        assert loc.fresh >= 0 and loc.freed >= 0 and loc.consumed >= 0 and loc.executed >= 0, loc
        assert loc.released >= 0, loc
        assert loc.fresh + loc.freed + loc.consumed + loc.released == loc.qty, loc
        assert loc.consumed <= loc.qty
        # What is consumed is exactly what open orders hold plus executed short sales not yet bought back.
        assert loc.consumed == reserved.get(loc.id, 0) + loc.executed, loc
    for lots in snap.pre_borrows.values():
        for lot in lots:
            assert 0 <= lot.remaining <= lot.qty, lot
    open_sells: dict[tuple[str, str], int] = {}
    for o in shell.orders.values():
        if o.order.side is not Side.BUY and o.open_qty:
            key = (o.order.account, o.order.symbol)
            open_sells[key] = open_sells.get(key, 0) + o.open_qty
    assert {k: v for k, v in snap.open_sells.items() if v} == open_sells


class _Driver:
    def __init__(self) -> None:
        self.shell = _shell()
        self.cal = default_calendars()
        self.now = START
        self.n_locates = self.n_orders = self.n_pbs = 0
        self.locate_ids: list[str] = []
        self.order_ids: list[str] = []
        #: each locate's released count after the last step (it never goes down)
        self.released: dict[str, int] = {}

    def locate(self, account: str, symbol: str, qty: int, minutes: int | None) -> None:
        self.n_locates += 1
        lid = f"L{self.n_locates}"
        if minutes is None:
            until, day = self.cal.end_of_day(self.now.date()), True
        else:
            until, day = self.now + dt.timedelta(minutes=minutes), False
        self.shell.locate(LocateGrant(self.now, lid, account, symbol, qty, until, day))
        self.locate_ids.append(lid)

    def place(self, account: str, symbol: str, side: str, qty: int, named: str | None = None, bfmm: bool = False,
              fill_now: bool = False) -> None:
        shell = self.shell
        self.n_orders += 1
        exempt = "201(d)(1)" if side == "sell_short_exempt" else None
        order = Order(self.now, f"O{self.n_orders}", account, symbol, Side(side), qty, Decimal("10.01"),
                      Decimal("10.00"), named, bfmm, exempt)
        before = copy.deepcopy(shell.snap)
        first = decide(order, shell.snap)
        assert shell.snap == before, "decide() mutated the snapshot"
        assert decide(order, shell.snap) == first
        ledgers = {lid: (loc.fresh, loc.freed) for lid, loc in shell.snap.locates.items()}
        lots = {(lot.id, lot.bd): lot.remaining for lots in shell.snap.pre_borrows.values() for lot in lots}
        d = shell.order(order)
        assert d == first
        event(f"{d.action} {d.reasons[0]}")
        assert d.reasons and r.CODES[d.reasons[0]].action == d.action
        if d.accepted:
            taken: dict[tuple[str, str], int] = {}
            for c in d.consume:
                taken[(c.kind, c.id)] = taken.get((c.kind, c.id), 0) + c.qty
            for (ckind, cid), n in taken.items():
                if ckind == "locate":
                    assert n <= ledgers[cid][0]
                elif ckind == "reuse":
                    assert n <= ledgers[cid][1]
                else:
                    assert n <= lots[(cid, shell.snap.accounts[account].bd)]
            if d.reasons[0] in (r.LOCATE, r.LOCATE_REUSED, r.PRE_BORROW):
                assert sum(c.qty for c in d.consume) == qty
            else:
                assert d.consume == ()
        else:
            assert d.consume == () and d.locate is None
            assert {lid: (loc.fresh, loc.freed) for lid, loc in shell.snap.locates.items()} == ledgers
        self.order_ids.append(order.id)
        if fill_now and d.accepted:
            self.fill(order.id, qty)

    def fill(self, oid: str, qty: int) -> None:
        st_ = self.shell.orders[oid]
        if not st_.decision.accepted or qty <= 0:
            return
        o = st_.order
        if o.side is Side.BUY and self.shell.snap.positions.get((o.account, o.symbol), 0) < 0:
            event("buy-to-cover fill")
        self.shell.fill(Fill(self.now, oid, qty))

    def recent(self, i: int) -> str | None:
        return self.order_ids[-1 - i % len(self.order_ids)] if self.order_ids else None

    def step(self, o: tuple) -> None:  # type: ignore[type-arg]
        shell = self.shell
        self.now += dt.timedelta(seconds=37)
        kind = o[0]
        if kind == "wait":
            self.now += dt.timedelta(minutes=o[1])
        elif kind == "locate":
            self.locate(*o[1:])
        elif kind == "pre_borrow":
            self.n_pbs += 1
            shell.pre_borrow(PreBorrow(self.now, f"PB{self.n_pbs}", o[1], o[2], o[3]))
        elif kind == "position":
            shell.position(PositionSet(self.now, o[1], o[2], o[3]))
        elif kind == "htb":
            shell.htb_list(HtbList(self.now, frozenset({"XYZ"}) if o[1] else frozenset()))
        elif kind == "ssr":
            if self.cal.is_trading_day(self.now.date()) and dt.time(9, 30) <= self.now.time() <= dt.time(16):
                shell.ssr(SsrTrigger(self.now, "XYZ"))
        elif kind == "pre_borrow_required":
            shell.require_pre_borrow(o[1], "XYZ", "204(b)", self.now, self.now + dt.timedelta(minutes=20))
        elif kind == "mm_status":
            shell.mm_status(MmStatus(self.now, "MM1", o[1], o[2]))
        elif kind == "order":
            _, account, symbol, side, qty, loc_i, bfmm, fill_now = o
            named = self.locate_ids[-1 - loc_i % len(self.locate_ids)] if (
                loc_i is not None and self.locate_ids) else None
            self.place(account, symbol, side, qty, named, bfmm, fill_now)
        elif kind == "round_trip":  # located short, filled, bought back, shorted again: exercises reuse
            _, symbol, qty, cover, again = o
            self.locate("A1", symbol, qty, None)
            self.place("A1", symbol, "sell_short", qty, fill_now=True)
            self.place("A1", symbol, "buy", cover, fill_now=True)
            self.place("A1", symbol, "sell_short", again, named=self.locate_ids[-1])
        elif kind == "fill":
            oid = self.recent(o[1])
            if oid is not None:
                self.fill(oid, int(shell.orders[oid].open_qty * o[2]))
        elif kind == "cancel":
            oid = self.recent(o[1])
            if oid is not None:
                if shell.orders[oid].open_qty and shell.orders[oid].parts:
                    event("cancel gives back located or pre-borrowed quantity")
                shell.cancel(Cancel(self.now, oid))
        elif kind == "release" and self.locate_ids:
            loc = shell.snap.locates[self.locate_ids[-1 - o[1] % len(self.locate_ids)]]
            unused, before = loc.fresh + loc.freed, loc.released
            if unused:
                qty = None if o[2] is None else max(1, int(unused * o[2]))
                shell.release(LocateRelease(self.now, loc.id, qty))
                assert loc.released == before + (unused if qty is None else qty)
                assert loc.fresh + loc.freed == unused - (loc.released - before)
                event("release returns unused quantity")
        _check_ledgers(shell)
        for lid, loc in shell.snap.locates.items():
            assert loc.released >= self.released.get(lid, 0), "returned shares came back"
            self.released[lid] = loc.released


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=20, max_size=80))
def test_ledgers_hold_and_decide_is_pure(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """Each locate's ledger fresh + freed + consumed + released == qty holds after every step, returned shares never
    come back, no consumption exceeds what was available, rejections consume nothing, and decide() never mutates
    the snapshot."""
    driver = _Driver()
    for o in ops:
        driver.step(o)
