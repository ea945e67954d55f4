"""17 CFR 242.203(b)(1): the locate requirement — which locate, list or borrow covers a short sale."""

from __future__ import annotations

import datetime as dt

from regsho.law import reasons as r


def named_locate_code(
    account: str,
    symbol: str,
    qty: int,
    at: dt.datetime,
    loc_account: str,
    loc_symbol: str,
    granted_at: dt.datetime,
    good_until: dt.datetime,
    fresh: int,
    freed: int,
    day: bool,
    reuse_barred_security: bool,
) -> str:
    """17 CFR 242.203(b)(1): a short sale needs reasonable grounds to believe the security can be borrowed.

    Judges an order on the one locate it names (docs/scenarios.md, convention 8): the locate must belong to the account
    and the security (convention 18, else NO_LOCATE), be unexpired, and have the quantity left. Quantity freed by
    an intraday buy-to-cover covers only for a day locate in a security that is neither hard to borrow nor a
    threshold security (SEC Reg SHO FAQ 4.4; FINRA 2023 report).
    """
    if loc_account != account or loc_symbol != symbol or at < granted_at:
        return r.NO_LOCATE
    if at >= good_until:
        return r.LOCATE_EXPIRED
    if fresh >= qty:
        return r.LOCATE
    if fresh + freed >= qty:
        if day and not reuse_barred_security:
            return r.LOCATE_REUSED
        return r.LOCATE_REUSE_NOT_ALLOWED
    return r.LOCATE_EXHAUSTED


def reuse_barred(htb: bool, threshold: bool) -> bool:
    """SEC Reg SHO FAQ 4.4: a locate may not be re-applied after an intraday buy-to-cover in a hard-to-borrow or
    threshold security."""
    return htb or threshold


def etb_covers(
    listed: bool, as_of: dt.datetime | None, at: dt.datetime, max_age: dt.timedelta, threshold: bool
) -> bool:
    """17 CFR 242.203(b)(1)(ii); 69 FR 48008 at 48014: an easy-to-borrow list may give reasonable grounds only
    while it is less than 24 hours old, and never for a threshold security (docs/scenarios.md, convention 11).
    The age is elapsed time (UTC), so a list published before a daylight-saving change is 24 hours old 24 real
    hours later (two New York times subtract as wall-clock times in Python)."""
    return (listed and not threshold and as_of is not None
            and dt.timedelta(seconds=at.timestamp() - as_of.timestamp()) < max_age)


def coverage_order() -> tuple[str, ...]:
    """17 CFR 242.203(b)(1)(i)-(ii): what may cover a short sale that names no locate, in the order the gate tries
    it (docs/scenarios.md, convention 8): any valid locate of the account with enough quantity left (oldest
    first), the easy-to-borrow list, then the broker-dealer's pre-borrow (a borrow, 203(b)(1)(i))."""
    return ("locate", "easy_to_borrow", "pre_borrow")
