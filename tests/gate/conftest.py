"""A small world for gate tests: a GateShell over a few securities and accounts, and terse event builders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

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
    Security,
    Side,
    SsrTrigger,
    ThresholdList,
)
from regsho.engine.shell import GateShell
from regsho.law.decision import Decision

ET = ZoneInfo("America/New_York")


def t(s: str) -> dt.datetime:
    """A wall-clock time in America/New_York (``2024-06-03T09:45[:SS[.ffffff]]``)."""
    return dt.datetime.fromisoformat(s).replace(tzinfo=ET)


SECURITIES = (
    Security("XYZ"),
    Security("ABC"),
    Security("HTB1", htb=True),
    Security("THR"),
)
ACCOUNTS = (
    Account("A1", "FIRM", AccountType.CUSTOMER),
    Account("A2", "FIRM", AccountType.CUSTOMER),
    Account("MM1", "FIRM", AccountType.MARKET_MAKER),
    Account("P1", "FIRM", AccountType.PROPRIETARY),
    Account("C1", "CORR", AccountType.CUSTOMER),
)


class World:
    def __init__(
        self,
        cal: Calendars,
        securities: Iterable[Security] = SECURITIES,
        accounts: Iterable[Account] = ACCOUNTS,
        reference_max_age: dt.timedelta | None = None,
    ) -> None:
        self.cal = cal
        self.shell = GateShell(cal, securities, accounts, reference_max_age)
        self._orders = 0
        self._locates = 0
        self._pbs = 0

    @property
    def snap(self):  # type: ignore[no-untyped-def]
        return self.shell.snap

    # reference data
    def etb(self, at: str, *symbols: str) -> None:
        self.shell.etb_list(EtbList(t(at), frozenset(symbols)))

    def htb(self, at: str, *symbols: str) -> None:
        self.shell.htb_list(HtbList(t(at), frozenset(symbols)))

    def threshold(self, at: str, *symbols: str) -> None:
        self.shell.threshold_list(ThresholdList(t(at), frozenset(symbols)))

    def ssr(self, at: str, symbol: str = "XYZ") -> None:
        self.shell.ssr(SsrTrigger(t(at), symbol))

    def mm(self, at: str, account: str, symbol: str, bona_fide: bool) -> None:
        self.shell.mm_status(MmStatus(t(at), account, symbol, bona_fide))

    def position(self, at: str, qty: int, account: str = "A1", symbol: str = "XYZ") -> None:
        self.shell.position(PositionSet(t(at), account, symbol, qty))

    # locates and pre-borrows
    def locate(self, at: str, qty: int, account: str = "A1", symbol: str = "XYZ", good_for: str = "day",
               id: str | None = None) -> str:
        self._locates += 1
        lid = id or f"L{self._locates}"
        granted = t(at)
        if good_for == "day":
            until, day = self.cal.end_of_day(granted.date()), True
        else:
            until, day = t(good_for), False
        self.shell.locate(LocateGrant(granted, lid, account, symbol, qty, until, day))
        return lid

    def pre_borrow(self, at: str, qty: int, bd: str = "FIRM", symbol: str = "XYZ") -> str:
        self._pbs += 1
        pid = f"PB{self._pbs}"
        self.shell.pre_borrow(PreBorrow(t(at), pid, bd, symbol, qty))
        return pid

    def require_pre_borrow(self, at: str, until: str | None = None, bd: str = "FIRM", symbol: str = "XYZ",
                           rule: str = "204(b)") -> None:
        self.shell.require_pre_borrow(bd, symbol, rule, t(at), t(until) if until else None)

    # orders
    def make_order(self, at: str, side: str = "sell_short", qty: int = 100, account: str = "A1",
                   symbol: str = "XYZ", price: str | None = None, nbb: str | None = None,
                   locate: str | None = None, bona_fide_mm: bool = False, exempt: str | None = None) -> Order:
        self._orders += 1
        return Order(t(at), f"O{self._orders}", account, symbol, Side(side), qty,
                     Decimal(price) if price is not None else None, Decimal(nbb) if nbb is not None else None,
                     locate, bona_fide_mm, exempt)

    def order(self, at: str, side: str = "sell_short", qty: int = 100, **kw: object) -> Decision:
        return self.shell.order(self.make_order(at, side, qty, **kw))  # type: ignore[arg-type]

    def fill(self, d: Decision | str, at: str, qty: int | None = None) -> None:
        oid = d if isinstance(d, str) else d.order
        st = self.shell.orders[oid]
        self.shell.fill(Fill(t(at), oid, st.open_qty if qty is None else qty))

    def cancel(self, d: Decision | str, at: str) -> None:
        oid = d if isinstance(d, str) else d.order
        self.shell.cancel(Cancel(t(at), oid))

    # convenience
    def short_and_fill(self, at: str, qty: int, **kw: object) -> Decision:
        d = self.order(at, "sell_short", qty, **kw)
        assert d.accepted, d
        self.fill(d, at)
        return d

    def buy_and_fill(self, at: str, qty: int, **kw: object) -> Decision:
        d = self.order(at, "buy", qty, **kw)
        assert d.accepted, d
        self.fill(d, at)
        return d

    def ledger(self, lid: str) -> tuple[int, int, int]:
        loc = self.snap.locates[lid]
        assert loc.fresh + loc.freed + loc.consumed + loc.released == loc.qty
        return loc.fresh, loc.freed, loc.consumed


@pytest.fixture(scope="session")
def cal() -> Calendars:
    return default_calendars()


@pytest.fixture
def world(cal: Calendars) -> World:
    return World(cal)


@pytest.fixture
def make_world(cal: Calendars) -> Callable[..., World]:
    def make(**kw: object) -> World:
        return World(cal, **kw)  # type: ignore[arg-type]

    return make
