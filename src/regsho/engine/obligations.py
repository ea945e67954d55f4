"""Close-out obligations (17 CFR 242.204(a), 204T(a), 203(b)(2)(ii), 203(b)(3)): their lifecycle and ledger.

Each obligation is kept as mutable engine state (``ObState``) and leaves the engine as immutable ``Obligation``
versions, one per change. The lifecycle is the literal table ``OBLIGATION``; the 204T attestation question of a
market maker's fail has its own, ``ATTESTATION``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from regsho.core.lifecycle import Lifecycle
from regsho.core.records import Cure, Obligation, ParamValue, new_record
from regsho.rules import r204


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MISSED = "missed"


class ObEvent(StrEnum):
    CURED_IN_TIME = "cured_in_time"  # the whole quantity cured at or before the deadline
    CREDITED = "credited"  # 204(e) pre-fail credit covers it at once
    DEADLINE_PASSED = "deadline_passed"  # the deadline passed with quantity still owed
    PARTLY_CURED = "partly_cured"  # shares applied, some still owed
    LATE_CURE = "late_cure"  # a missed obligation is cured: keeps `missed`, gets `closed_at`
    ALLOCATED = "allocated"  # 204(d) / 203(b)(3)(vi): part of it moves to a correspondent
    DEADLINE_SET = "deadline_set"  # the 204T attestation question is settled (a new deadline)


#: docs/scenarios.md "Output": open -> closed / missed; a missed obligation later cured stays missed.
OBLIGATION: Lifecycle[Status, ObEvent] = Lifecycle(
    "obligation", Status, ObEvent,
    {
        (Status.OPEN, ObEvent.CURED_IN_TIME): Status.CLOSED,
        (Status.OPEN, ObEvent.CREDITED): Status.CLOSED,
        (Status.OPEN, ObEvent.DEADLINE_PASSED): Status.MISSED,
        (Status.OPEN, ObEvent.PARTLY_CURED): Status.OPEN,
        (Status.OPEN, ObEvent.ALLOCATED): Status.OPEN,
        (Status.OPEN, ObEvent.DEADLINE_SET): Status.OPEN,
        (Status.MISSED, ObEvent.PARTLY_CURED): Status.MISSED,
        (Status.MISSED, ObEvent.LATE_CURE): Status.MISSED,
        (Status.CLOSED, ObEvent.DEADLINE_SET): Status.CLOSED,
    },
    Status.OPEN,
)


class Attest(StrEnum):
    PENDING = "pending"  # a 204T market maker's fail: S+3 only with a timely written attestation
    ATTESTED = "attested"
    NOT_ATTESTED = "not_attested"
    NOT_REQUIRED = "not_required"


class AttestEvent(StrEnum):
    ATTESTED_IN_TIME = "attested_in_time"
    DUE_PASSED = "due_passed"  # the end of S+1 (or the end of the replay) without enough attested shares


#: 17 CFR 242.204T(a)(3); FINRA Regulatory Notice 08-50 (docs/scenarios.md, conventions 14 and 17).
ATTESTATION: Lifecycle[Attest, AttestEvent] = Lifecycle(
    "204T attestation", Attest, AttestEvent,
    {
        (Attest.PENDING, AttestEvent.ATTESTED_IN_TIME): Attest.ATTESTED,
        (Attest.PENDING, AttestEvent.DUE_PASSED): Attest.NOT_ATTESTED,
    },
    Attest.NOT_REQUIRED,
)


_CITES: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
_MISSED = Status.MISSED
#: records carry plain strings (an enum's ``.value`` is a slow descriptor on a hot path)
_TEXT: dict[object, str] = {m: m.value for m in (*Status, *r204.Cure)}


def _cites(rule: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    hit = _CITES.get((rule, extra))
    if hit is None:
        hit = _CITES[(rule, extra)] = (r204.cite(rule), *extra)
    return hit


@dataclass(slots=True, eq=False)
class ObState:
    id: str
    seq: int
    symbol: str
    bd: str
    qty: int
    rule: str
    deadline: dt.datetime
    cure: r204.Cure
    settlement_date: dt.date
    created_at: dt.datetime
    origin: str | None = None
    trade_date: dt.date | None = None
    status: Status = Status.OPEN
    remaining: int = 0
    closed_at: dt.datetime | None = None
    cures: list[Cure] = field(default_factory=list)
    attest: Attest = Attest.NOT_REQUIRED
    #: while the 204T attestation question is pending: when it is settled
    pending_until: dt.datetime | None = None
    allocated_from: str | None = None
    credit: str | None = None
    missed_qty: int = 0
    params: tuple[ParamValue, ...] = ()
    #: sources relied on besides the provision itself (the allocation paragraph, an interpretation)
    extra_cites: tuple[str, ...] = ()

    def step(self, event: ObEvent) -> None:
        self.status = OBLIGATION.step(self.status, event, self.id)

    def step_attestation(self, event: AttestEvent) -> None:
        self.attest = ATTESTATION.step(self.attest, event, self.id)

    def cured_by(self, at: dt.datetime) -> int:
        return sum(c.qty for c in self.cures if c.at <= at)

    @property
    def threshold(self) -> bool:
        return self.rule.startswith("203(b)(3)")

    def record(self, change: str, at: dt.datetime) -> Obligation:
        status = self.status
        return new_record(Obligation, (
            self.id, self.symbol, self.bd, self.qty, self.rule, self.deadline, _TEXT[self.cure], _TEXT[status],
            self.settlement_date, self.created_at, at, change, self.origin, self.trade_date, self.closed_at,
            tuple(self.cures), self.missed_qty if status is _MISSED else 0, self.allocated_from,
            self.credit, _cites(self.rule, self.extra_cites), self.params))
