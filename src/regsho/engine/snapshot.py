"""The state the pre-trade gate reads: reference data, locates, pre-borrows, positions and open orders.

The shell (``regsho.engine.shell``) owns a snapshot and is the only writer; ``decide`` only reads it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from regsho.core.events import Account, MmVerdict, Security
from regsho.core.records import ParamValue
from regsho.engine.lifecycles import LocateStatus


@dataclass(slots=True)
class LocateState:
    """A locate's ledger line: ``fresh`` never consumed, ``freed`` released by a buy-to-cover, ``consumed`` now
    attributed to short sales, ``released`` handed back to the locate desk (``locate_release``; it never comes
    back). ``fresh + freed + consumed + released == qty`` always; ``fresh + freed`` is what is left to cover."""

    id: str
    account: str
    symbol: str
    qty: int
    granted_at: dt.datetime
    good_until: dt.datetime
    day: bool
    source: str | None
    fresh: int
    freed: int = 0
    consumed: int = 0
    #: part of ``consumed`` that belongs to executed (filled) short sales and has not been freed since
    executed: int = 0
    last_consumed_seq: int = -1
    last_consumed_day: dt.date | None = None
    status: LocateStatus = LocateStatus.GRANTED
    #: shares handed back to the locate desk (``locate_release``); they cover nothing again
    released: int = 0


@dataclass(slots=True)
class PreBorrowState:
    """A pre-borrow lot: covers short sales of its broker-dealer on the day it was made, consumed like a locate
    without reuse (docs/scenarios.md, convention 26)."""

    id: str
    bd: str
    symbol: str
    qty: int
    at: dt.datetime
    good_until: dt.datetime
    remaining: int


@dataclass(slots=True)
class Snapshot:
    securities: dict[str, Security] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    etb_symbols: frozenset[str] = frozenset()
    etb_as_of: dt.datetime | None = None
    htb_symbols: frozenset[str] = frozenset()
    htb_as_of: dt.datetime | None = None
    threshold_symbols: frozenset[str] = frozenset()
    threshold_as_of: dt.datetime | None = None
    #: Rule 201 restriction window per symbol: [from, until)
    ssr: dict[str, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)
    locates: dict[str, LocateState] = field(default_factory=dict)
    #: (account, symbol) -> locates in grant order (oldest first)
    account_locates: dict[tuple[str, str], list[LocateState]] = field(default_factory=dict)
    #: (bd, symbol) -> pre-borrow lots in order made
    pre_borrows: dict[tuple[str, str], list[PreBorrowState]] = field(default_factory=dict)
    #: (bd, symbol) -> pre-borrow requirement periods (rule, from, until or None, period id, obligations)
    pre_borrow_periods: dict[tuple[str, str], list[tuple[str, dt.datetime, dt.datetime | None, str,
                                                         tuple[str, ...]]]] = field(default_factory=dict)
    positions: dict[tuple[str, str], int] = field(default_factory=dict)
    open_sells: dict[tuple[str, str], int] = field(default_factory=dict)
    mm_review: dict[tuple[str, str], bool] = field(default_factory=dict)
    #: (account, symbol) -> surveillance verdicts by window start
    mm_verdicts: dict[tuple[str, str], list[MmVerdict]] = field(default_factory=dict)
    etb_max_age: dt.timedelta = dt.timedelta(hours=24)
    #: the parameter row the ETB freshness limit came from (recorded in the decisions that rely on the list)
    etb_max_age_param: ParamValue | None = None
    #: the parameters that set each symbol's Rule 201 window
    ssr_params: dict[str, tuple[ParamValue, ...]] = field(default_factory=dict)
    #: Fail-closed freshness limit for the threshold and hard-to-borrow lists (None: not enforced).
    reference_max_age: dt.timedelta | None = None
