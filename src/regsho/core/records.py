"""What the engine produces: immutable records that explain themselves (DESIGN principles 5 and 7).

``BookEngine.apply(event)`` returns ``Effects``: the decisions, obligation versions, pre-borrow period versions,
notices and findings that the event caused. An obligation or a period that changes is emitted again as a new
version with the same ``id`` (``change`` says what happened); projections keep the latest version. Every record
carries its citations, the facts it read where it read any, and the regulatory parameters it used
(``ParamValue``: name, effective date, value, citation).

Records are ``NamedTuple``s: immutable like frozen dataclasses and several times cheaper to build, which matters
at a record every few microseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

#: builds a record straight from all of its fields, in order: ``new_record(Decision, (...))``. The records are
#: NamedTuples, whose generated ``__new__`` is a Python frame with defaults; the engine builds millions of them on
#: its hot paths, where this is the same immutable record at a fraction of the cost.
new_record = tuple.__new__

ACCEPT = "accept"
REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ParamValue:
    """One value of a regulatory parameter, in force from ``effective`` until the next value's date."""

    name: str
    effective: dt.date
    value: object
    cite: str
    note: str = ""


class Consumption(NamedTuple):
    """What accepting the order takes: ``kind`` is ``locate`` (fresh quantity), ``reuse`` (quantity freed by a
    buy-to-cover) or ``pre_borrow``."""

    kind: str
    id: str
    qty: int


class Decision(NamedTuple):
    order: str
    at: dt.datetime
    action: str
    reasons: tuple[str, ...]
    cites: tuple[str, ...]
    #: The facts read, as (name, value) pairs, in the order the checks read them.
    facts: tuple[tuple[str, object], ...]
    #: The regulatory parameters used.
    params: tuple[ParamValue, ...] = ()
    #: Plain-words detail per reason code, where the code alone does not say enough.
    details: tuple[tuple[str, str], ...] = ()
    locate: str | None = None
    consume: tuple[Consumption, ...] = ()
    #: what the order was, so that the decision answers "why" alone
    account: str = ""
    symbol: str = ""
    side: str = ""
    qty: int = 0
    price: object = None

    @property
    def accepted(self) -> bool:
        return self.action == ACCEPT


class Cure(NamedTuple):
    """Shares applied to an obligation: by a close-out (its id) or by pre-fail credit (the credit's close-out)."""

    at: dt.datetime
    qty: int
    by: str


class Obligation(NamedTuple):
    """A close-out obligation as of ``at`` (its latest change)."""

    id: str
    symbol: str
    bd: str
    qty: int
    rule: str
    deadline: dt.datetime
    cure: str  # "purchase_or_borrow" | "purchase"
    status: str  # "open" | "closed" | "missed"
    settlement_date: dt.date
    created_at: dt.datetime
    at: dt.datetime
    change: str
    origin: str | None = None
    trade_date: dt.date | None = None
    closed_at: dt.datetime | None = None
    cured: tuple[Cure, ...] = ()
    missed_qty: int = 0
    allocated_from: str | None = None
    credit: str | None = None
    cites: tuple[str, ...] = ()
    params: tuple[ParamValue, ...] = ()


class PreBorrowPeriod(NamedTuple):
    """A period in which broker-dealer ``bd`` may short ``symbol`` only against a pre-borrow, imposed by ``rule``
    on account of ``owner``'s missed close-out(s); ``until`` is None while its end is not determined."""

    id: str
    bd: str
    symbol: str
    rule: str
    start: dt.datetime
    until: dt.datetime | None
    owner: str
    obligations: tuple[str, ...]
    at: dt.datetime
    change: str  # "imposed" | "ended"
    #: what ends it, in words (the purchase that must settle, or the close-out purchase)
    releases: str = ""
    cites: tuple[str, ...] = ()
    params: tuple[ParamValue, ...] = ()


class Notice(NamedTuple):
    """A notice between the participant and a broker-dealer it clears for (204(c); 204(d) after allocation)."""

    id: str
    to: str
    sender: str
    symbol: str
    kind: str  # "pre_borrow_imposed" | "pre_borrow_lifted"
    at: dt.datetime
    rule: str
    period: str
    obligations: tuple[str, ...] = ()
    cites: tuple[str, ...] = ()


class Finding(NamedTuple):
    code: str
    at: dt.datetime
    symbol: str
    bd: str
    detail: str
    cites: tuple[str, ...] = ()
    obligation: str | None = None
    facts: tuple[tuple[str, object], ...] = ()
    params: tuple[ParamValue, ...] = ()


class Effects(NamedTuple):
    """What one event (or the passage of time up to it) caused, in the order it happened."""

    decisions: tuple[Decision, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    periods: tuple[PreBorrowPeriod, ...] = ()
    notices: tuple[Notice, ...] = ()
    findings: tuple[Finding, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.decisions or self.obligations or self.periods or self.notices or self.findings)

    def __add__(self, other: object) -> Effects:
        if not isinstance(other, Effects):
            return NotImplemented
        if not other:
            return self
        if not self:
            return other
        return Effects(self.decisions + other.decisions, self.obligations + other.obligations,
                       self.periods + other.periods, self.notices + other.notices, self.findings + other.findings)


NO_EFFECTS = Effects()
