"""Who may do what: the roles of the service and the dashboard, and the one table of what each role may do.

An API key (``regsho keys add --role R``) belongs to one principal with one role. Every write records the
principal that submitted it; an override of a rejected order needs a compliance principal and a second,
different approver with the compliance or admin role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    TRADER = "trader"
    LOCATE_DESK = "locate_desk"
    OPERATIONS = "operations"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of an API key: a name recorded on everything it submits, and its role."""

    name: str
    role: Role


_ALL = frozenset(Role)
_T, _L, _O, _C, _A = Role.TRADER, Role.LOCATE_DESK, Role.OPERATIONS, Role.COMPLIANCE, Role.ADMIN

#: action -> the roles allowed to perform it. Actions are named ``area.verb``; the service and the dashboard ask
#: ``allowed(role, action)`` and nothing else decides access.
PERMISSIONS: dict[str, frozenset[Role]] = {
    # the gate and the order's life
    "orders.check": frozenset({_T, _A}),
    "orders.fill": frozenset({_T, _O, _A}),
    "orders.cancel": frozenset({_T, _O, _A}),
    "orders.override": frozenset({_C}),
    "orders.approve_override": frozenset({_C, _A}),
    # locates
    "locates.request": frozenset({_T, _L, _A}),
    "locates.grant": frozenset({_L, _A}),
    "locates.release": frozenset({_L, _A}),
    "locates.read": _ALL,
    # reference lists (easy- and hard-to-borrow, threshold, Rule 201 triggers)
    "lists.upload": frozenset({_L, _O, _A}),
    "lists.read": _ALL,
    # settlement: fails, CNS positions, close-outs, allocations, certifications
    "settlement.write": frozenset({_O, _A}),
    "settlement.read": frozenset({_O, _C, _A}),
    # decisions, records and the audit trail
    "decisions.read": frozenset({_T, _L, _O, _C, _A}),
    "records.read": frozenset({_O, _C, _A}),
    # corrections and cancellations of recorded events (a new record pointing at the original, with who and why)
    "records.amend": frozenset({_O, _C, _A}),
    "audit.read": frozenset({_C, _A}),
    # dashboard page groups
    "pages.desk": frozenset({_T, _L, _O, _C, _A}),
    "pages.compliance": frozenset({_C, _A}),
    "pages.operations": frozenset({_O, _C, _A}),
    # administration
    "keys.manage": frozenset({_A}),
    # the live service: opening a book; surveillance verdicts and market-maker status recorded into a book
    "books.create": frozenset({_A}),
    "surveillance.write": frozenset({_C, _A}),
}


def allowed(role: Role, action: str) -> bool:
    """Whether ``role`` may perform ``action``; an action not in the table is allowed to nobody."""
    return role in PERMISSIONS.get(action, frozenset())
