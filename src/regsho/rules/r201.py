"""17 CFR 242.201: the short sale price test circuit breaker, and 200(g)(2) short-exempt marking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from regsho.calendars import Calendars
from regsho.law import params
from regsho.law.citations import CFR, R201_C, R201_D


def may_trigger(at: dt.datetime, cal: Calendars) -> str | None:
    """17 CFR 242.201(b)(1); SEC Rule 201 FAQ 2.2: the circuit breaker can trigger only during regular trading hours
    of a trading day (early closes included), and only from Rule 201's compliance date. Returns None when a
    trigger at ``at`` is possible, else why not."""
    day = at.date()
    if not params.regime_in_force("regime.rule_201", day):
        start = params.regime_start("regime.rule_201")
        return f"a Rule 201 trigger before its compliance date {start} ({day}) is not possible"
    if not cal.is_trading_day(day):
        return f"{day} is not a trading day: the circuit breaker triggers only during regular trading hours"
    if not cal.in_regular_hours(at):
        o, c = cal.session_hours(day)
        return (f"{at.time().isoformat()} is outside regular trading hours ({o:%H:%M}-{c:%H:%M} ET), when alone "
                "the circuit breaker can trigger (17 CFR 242.201(b)(1); Rule 201 FAQ 2.2)")
    return None


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


def exempt_cite(exempt: str) -> str:
    """The citation of the short-exempt provision relied upon."""
    if exempt == "201(c)":
        return R201_C
    if exempt.startswith("201(d)"):
        return CFR + exempt
    return R201_D



def decline_triggers(prior_close: Decimal, price: Decimal, on: dt.date) -> bool:
    """17 CFR 242.201(b)(1)(i): the circuit breaker triggers when the price of a covered security decreases by 10%
    or more from its closing price on the prior day, as determined by the listing market. The engine consumes the
    listing market's determination (an ``ssr`` event); this is the test itself, for simulations and checks."""
    decline = params.value("rule201.trigger_decline", on)
    assert isinstance(decline, float)
    return price <= prior_close * (Decimal(1) - Decimal(str(decline)))
