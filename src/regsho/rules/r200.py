"""17 CFR 242.200: definitions and order marking."""

from __future__ import annotations


def net_long_available(position: int, open_sells: int) -> int:
    """17 CFR 242.200(c): a person is deemed to own securities only to the extent of a net long position.

    The quantity an account may still sell marked long: its position (negative = short) less every accepted,
    unfilled sell order of the account, whatever its marking (FINRA 2017 findings on open sell orders;
    docs/scenarios.md, conventions 10 and 19).
    """
    return position - open_sells


def may_mark_long(position: int, open_sells: int, qty: int) -> bool:
    """17 CFR 242.200(g)(1): an order may be marked long only if the seller is deemed to own the security.

    The whole order must be covered by the net long position; an order that would take the account net short is
    not a long sale (200(c)).
    """
    return net_long_available(position, open_sells) >= qty
