"""The gate's lifecycles — a locate's use and a security's Rule 201 restriction — as literal transition tables on
the one mechanism of ``regsho.core.lifecycle``. The close-out lifecycles sit beside their state:
``obligations.OBLIGATION``, ``obligations.ATTESTATION``, ``penalty_box.PERIOD``, ``threshold.THRESHOLD_STATUS``;
``all_lifecycles()`` lists every one (the tests walk each over every state and event)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from regsho.core.lifecycle import Lifecycle


class LocateStatus(StrEnum):
    GRANTED = "granted"  # nothing consumed yet
    IN_USE = "in_use"  # some quantity consumed, some left
    EXHAUSTED = "exhausted"  # nothing left to consume (until a cancel or a buy-to-cover frees some)
    RETURNED = "returned"  # handed back whole to the locate desk, nothing consumed: it covers nothing again


class LocateEvent(StrEnum):
    CONSUMED_PART = "consumed_part"  # a short sale took quantity; some is left
    CONSUMED_ALL = "consumed_all"  # a short sale took the last of it
    RELEASED = "released"  # a cancel gave back the unfilled rest, or a buy-to-cover freed quantity (FAQ 4.4)
    # the locate desk takes back unused quantity (a ``locate_release`` event), never what short sales consumed:
    RETURNED_PART = "returned_part"  # part of the unused quantity; some is left to consume
    RETURNED_REST = "returned_rest"  # all that was unused; short sales still hold the rest
    RETURNED_ALL = "returned_all"  # all of it: nothing is left and nothing is consumed


#: 17 CFR 242.203(b)(1); SEC Reg SHO FAQ 4.4 (docs/scenarios.md, convention 8). A return (``locate_release``)
#: leaves an exhausted locate alone (nothing unused to hand back) and a returned one is final: with nothing consumed,
#: no cancel or buy-to-cover can free anything of it.
LOCATE: Lifecycle[LocateStatus, LocateEvent] = Lifecycle(
    "locate", LocateStatus, LocateEvent,
    {
        (LocateStatus.GRANTED, LocateEvent.CONSUMED_PART): LocateStatus.IN_USE,
        (LocateStatus.GRANTED, LocateEvent.CONSUMED_ALL): LocateStatus.EXHAUSTED,
        (LocateStatus.IN_USE, LocateEvent.CONSUMED_PART): LocateStatus.IN_USE,
        (LocateStatus.IN_USE, LocateEvent.CONSUMED_ALL): LocateStatus.EXHAUSTED,
        (LocateStatus.IN_USE, LocateEvent.RELEASED): LocateStatus.IN_USE,
        (LocateStatus.EXHAUSTED, LocateEvent.RELEASED): LocateStatus.IN_USE,
        (LocateStatus.GRANTED, LocateEvent.RETURNED_PART): LocateStatus.GRANTED,
        (LocateStatus.GRANTED, LocateEvent.RETURNED_ALL): LocateStatus.RETURNED,
        (LocateStatus.IN_USE, LocateEvent.RETURNED_PART): LocateStatus.IN_USE,
        (LocateStatus.IN_USE, LocateEvent.RETURNED_REST): LocateStatus.EXHAUSTED,
        (LocateStatus.IN_USE, LocateEvent.RETURNED_ALL): LocateStatus.RETURNED,
    },
    LocateStatus.GRANTED,
)


class Restriction(StrEnum):
    UNRESTRICTED = "unrestricted"
    RESTRICTED = "restricted"


class RestrictionEvent(StrEnum):
    TRIGGERED = "triggered"  # the listing market triggers the circuit breaker (201(b)(3))
    RETRIGGERED = "retriggered"  # a further trigger while restricted extends the window (Release 34-61595 n.290)
    WINDOW_ENDED = "window_ended"  # the end of the trading day after the last trigger has passed


#: 17 CFR 242.201(b)(1)(ii) (docs/scenarios.md, convention 7).
RULE201: Lifecycle[Restriction, RestrictionEvent] = Lifecycle(
    "Rule 201 restriction", Restriction, RestrictionEvent,
    {
        (Restriction.UNRESTRICTED, RestrictionEvent.TRIGGERED): Restriction.RESTRICTED,
        (Restriction.RESTRICTED, RestrictionEvent.RETRIGGERED): Restriction.RESTRICTED,
        (Restriction.RESTRICTED, RestrictionEvent.WINDOW_ENDED): Restriction.UNRESTRICTED,
    },
    Restriction.UNRESTRICTED,
)


def all_lifecycles() -> tuple[Lifecycle[Any, Any], ...]:
    from regsho.engine.obligations import ATTESTATION, OBLIGATION
    from regsho.engine.penalty_box import PERIOD
    from regsho.engine.threshold import THRESHOLD_STATUS

    return (OBLIGATION, ATTESTATION, PERIOD, THRESHOLD_STATUS, LOCATE, RULE201)
