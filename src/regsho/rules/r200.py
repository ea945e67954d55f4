"""17 CFR 242.200: definitions and order marking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from regsho.core.events import EXEMPT_PROVISIONS
from regsho.law import params


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


def short_exempt_problem(
    exempt: str | None, restricted: bool, on: dt.date, price: Decimal | None, nbb: Decimal | None
) -> str | None:
    """17 CFR 242.200(g)(2): a sale order may be marked short exempt only if the provisions of 201(c) or 201(d)
    are met.

    Returns None when the marking is valid, else the reason in words. Short exempt exists only from Rule 201's
    compliance date (2011-02-28), only while a restriction is in force, and 201(c) requires a price above the
    national best bid at submission.
    """
    if not params.regime_in_force("regime.rule_201", on):
        rule201 = params.regime_start("regime.rule_201")
        if params.regime_in_force("regime.short_exempt_removed", on):
            return (f"no 'short exempt' marking existed from {params.regime_start('regime.short_exempt_removed')} "
                    f"(Release 34-55970) until Rule 201's compliance date {rule201}")
        return ("the 2005 'short exempt' marking served exceptions from the tick test of Rule 10a-1, which the "
                f"engine does not model; Rule 201's short-exempt provisions apply from {rule201}")
    if not restricted:
        return "no Rule 201 restriction is in force in the security"
    if exempt is None:
        return "no Rule 201 provision is cited"
    if exempt == "201(c)":
        if price is None or nbb is None or not price > nbb:
            return "201(c) requires a price above the national best bid at submission"
        return None
    if exempt in EXEMPT_PROVISIONS:
        return None
    return f"{exempt!r} is not a Rule 201 short-exempt provision (201(c), 201(d)(1)..(7))"
