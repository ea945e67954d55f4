"""17 CFR 242.201: the short sale price test circuit breaker, and 200(g)(2) short-exempt marking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from regsho.calendars import Calendars
from regsho.core.events import EXEMPT_PROVISIONS
from regsho.law import params
from regsho.law.citations import R201_C, R201_D


def restriction_window(trigger: dt.datetime, cal: Calendars) -> tuple[dt.datetime, dt.datetime]:
    """17 CFR 242.201(b)(1)(ii): once triggered, the restriction applies for the remainder of the day and the
    following day (SEC Rule 201 FAQ 2.2: from the trigger time on).

    Returns ``[from, until)``: from the trigger to the end (00:00 ET) of the next trading day.
    """
    day = trigger.date()
    extra = params.int_value("rule201.duration_next_trading_days", day)
    last = cal.add_trading_days(cal.trading_day_on_or_before(day), extra)
    return trigger, cal.end_of_day(last)


def extend_window(
    current: tuple[dt.datetime, dt.datetime] | None, trigger: dt.datetime, cal: Calendars
) -> tuple[dt.datetime, dt.datetime]:
    """17 CFR 242.201(b)(1)(ii); Release 34-61595 n.290: a further trigger while restricted extends the
    restriction through the day after the new trigger day; there is no limit on re-triggers."""
    start, until = restriction_window(trigger, cal)
    if current is not None and current[0] <= trigger < current[1]:
        return current[0], max(current[1], until)
    return start, until


def in_force(window: tuple[dt.datetime, dt.datetime] | None, at: dt.datetime) -> bool:
    """17 CFR 242.201(b)(1): whether the price test restriction is in force at ``at``."""
    return window is not None and window[0] <= at < window[1]


def price_permitted(price: Decimal | None, nbb: Decimal | None) -> bool:
    """17 CFR 242.201(b)(1)(i): while restricted, a short sale may not execute or display at or below the current
    national best bid. A market order (no price) or an order without a known national best bid is not permitted
    (docs/scenarios.md, convention 20)."""
    return price is not None and nbb is not None and price > nbb


def short_exempt_problem(
    exempt: str | None, restricted: bool, on: dt.date, price: Decimal | None, nbb: Decimal | None
) -> str | None:
    """17 CFR 242.200(g)(2): a sale may be marked short exempt only if 201(c) or 201(d) is met.

    Returns None when the marking is valid, else the reason in words. Short exempt exists only from Rule 201's
    compliance date (2011-02-28), only while a restriction is in force, and 201(c) requires a price above the
    national best bid at submission.
    """
    if on < params.RULE_201:
        return f"short exempt marking is not available before Rule 201's compliance date {params.RULE_201}"
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


def exempt_cite(exempt: str) -> str:
    """The citation of the short-exempt provision relied upon."""
    if exempt == "201(c)":
        return R201_C
    if exempt.startswith("201(d)"):
        return "17 CFR 242." + exempt
    return R201_D

