"""17 CFR 242.204(c) and 204(d): who notifies whom of a pre-borrow period, and of what."""

from __future__ import annotations

from typing import Final

IMPOSED: Final = "pre_borrow_imposed"
LIFTED: Final = "pre_borrow_lifted"


def notice_route(owner: str, participant: str, bd: str) -> tuple[str, str] | None:
    """17 CFR 242.204(c): the participant must notify every broker-dealer from which it receives trades for
    clearance and settlement that it is subject to the pre-borrow requirement, and when it no longer is; 204(d):
    after an allocation, the broker-dealer that becomes bound notifies the participant.

    For the period that binds ``bd`` on account of ``owner``'s obligation returns ``(sender, to)``, or None when
    no notice is sent (the participant does not notify itself). Certification under the proviso to 204(b)
    spares a broker-dealer the pre-borrow, not the notice (docs/scenarios.md, convention 24)."""
    if owner == participant:
        return None if bd == participant else (participant, bd)
    return owner, participant


def notice_recipients(owner: str, participant: str, clears_for: tuple[str, ...]) -> tuple[str, ...]:
    """17 CFR 242.204(c): when the participant's own unallocated fail is missed, every broker-dealer it clears
    for is told, bound or not; an allocated fail's broker-dealer tells the participant (204(d))."""
    if owner == participant:
        return clears_for
    return (participant,)
