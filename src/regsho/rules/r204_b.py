"""17 CFR 242.204(b) (204T(b) in 2008-2009) and 242.203(b)(3)(iv)-(v): the pre-borrow requirement ("penalty box"):
who is bound, from when, and until when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence

from regsho.calendars import Calendars


def pre_borrow_rule(rule: str) -> str | None:
    """17 CFR 242.204(b) (204T(b) in 2008-2009): the pre-borrow provision a missed obligation of ``rule``
    triggers; None for 203(b)(2)(ii), which has no pre-borrow consequence (docs/scenarios.md, convention 32)."""
    if rule == "203(b)(2)(ii)":
        return None
    return "204T(b)" if rule.startswith("204T") else "204(b)"


def certification_counts(cert_at: dt.datetime, obligation_deadline: dt.datetime) -> bool:
    """17 CFR 242.204(b), proviso: a broker-dealer is not bound when it timely certifies to the participant that
    it has not incurred a fail in the security on the settlement date, or that it is in compliance with 204(e).
    "Timely" is at or before the close-out deadline (docs/scenarios.md, convention 22)."""
    return cert_at <= obligation_deadline


def bound_broker_dealers(
    owner: str, participant: str, clears_for: Sequence[str], certified: Collection[str], threshold: bool
) -> tuple[str, ...]:
    """17 CFR 242.204(b); 242.203(b)(3)(iv)-(vi): who may not short the security without a pre-borrow.

    The broker-dealer that owes the obligation. For the participant's own unallocated fail, also every
    broker-dealer it clears for ("the participant and any broker or dealer for which it clears transactions"),
    except, under 204(b), one that certified timely under the proviso (``certified``); 203(b)(3)(iv) has no such
    proviso. An allocated fail (204(d), 203(b)(3)(vi)) binds the broker-dealer it was allocated to
    (docs/scenarios.md, conventions 5 and 22)."""
    if owner != participant:
        return (owner,)
    return (participant, *(bd for bd in clears_for if threshold or bd not in certified))


def counts_toward_release(purchase_at: dt.datetime, count_from: dt.datetime) -> bool:
    """17 CFR 242.204(b): the period lasts until the participant "closes out the fail to deliver position by
    purchasing": a purchase at or before the missed deadline is a cure in time of that obligation, not part of
    the close-out of the missed remainder; only purchases after the deadline count toward ending the period
    (docs/scenarios.md, convention 5)."""
    return purchase_at > count_from


def purchases_complete(
    purchases: Iterable[tuple[dt.datetime, int]], count_from: dt.datetime, need: int
) -> dt.datetime | None:
    """17 CFR 242.204(b): the time of the purchase that completes ``need`` shares bought after ``count_from``
    (every purchase of the broker-dealer in the security counts, even after a late borrow cured the fail; a
    borrow never counts), or None while they fall short."""
    total = 0
    for at, qty in purchases:
        if not counts_toward_release(at, count_from):
            continue
        total += qty
        if total >= need:
            return at
    return None


def pre_borrow_end(purchase_at: dt.datetime, cal: Calendars) -> dt.datetime:
    """17 CFR 242.204(b): the requirement lasts until the close-out purchase "has cleared and settled"; the engine
    ends it at the end of the purchase's settlement date, its trade date plus the settlement cycle in force
    (docs/scenarios.md, convention 5)."""
    return cal.end_of_day(cal.settlement_date(purchase_at.date()))


#: A pre-borrow period as the gate keeps it: (provision, from, until or None, period id, obligations behind it).
PeriodEntry = tuple[str, dt.datetime, dt.datetime | None, str, tuple[str, ...]]


def period_in_force(periods: Sequence[PeriodEntry], at: dt.datetime) -> PeriodEntry | None:
    """17 CFR 242.204(b) and 242.203(b)(3)(iv): while a pre-borrow period binds the broker-dealer in the security,
    it may not accept or effect a short sale without borrowing or a bona fide arrangement to borrow, market
    makers included. Returns the period in force at ``at`` (the earliest that began), if any."""
    for p in periods:
        if p[1] <= at and (p[2] is None or at < p[2]):
            return p
    return None
