"""17 CFR 242.203(b): the locate requirement, its exceptions, and the pre-borrow requirements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from regsho.calendars import ET
from regsho.core.events import MmVerdict
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
    while it is less than 24 hours old, and never for a threshold security (docs/scenarios.md, convention 11)."""
    return listed and not threshold and as_of is not None and at - as_of < max_age


def bona_fide_mm_exception(is_market_maker: bool, latest_review_bona_fide: bool | None) -> bool:
    """17 CFR 242.203(b)(2)(iii): the locate requirement does not apply to short sales by a market maker in
    connection with bona fide market making in the security. The firm must demonstrate it per transaction
    (FINRA 2023 and 2024 reports): only a market-maker account whose latest review for the security found bona fide
    market making qualifies; no review means no exception."""
    return is_market_maker and latest_review_bona_fide is True


def mm_verdict_in_force(verdicts: Sequence[MmVerdict], at: dt.datetime) -> MmVerdict | None:
    """17 CFR 242.203(b)(2)(iii): only a market maker engaged in bona fide market making in the security at the time
    of the sale may rely on the exception (FINRA 2023 and 2024 reports). The verdict that judges a sale is the one
    for the sale's own window, or else the latest complete window before it that day (New York); none otherwise.
    ``verdicts`` are sorted by window start."""
    latest: MmVerdict | None = None
    day = at.astimezone(ET).date()
    for v in verdicts:
        if v.start <= at < v.end:
            return v
        if v.end <= at and v.start.astimezone(ET).date() == day and (latest is None or v.end >= latest.end):
            latest = v
    return latest


def pre_borrow_rule_in_force(
    periods: Sequence[tuple[str, dt.datetime, dt.datetime | None]], at: dt.datetime
) -> str | None:
    """17 CFR 242.204(b) and 242.203(b)(3)(iv): while a pre-borrow period binds the broker-dealer in the security,
    it may not accept or effect a short sale without borrowing or a bona fide arrangement to borrow, market
    makers included. Returns the provision of the period in force at ``at``, if any."""
    for rule, start, until in periods:
        if start <= at and (until is None or at < until):
            return rule
    return None
