"""17 CFR 242.203(b)(2): exceptions to the locate requirement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from regsho.calendars import ET, Calendars
from regsho.core.events import MmVerdict
from regsho.law import params


def bona_fide_mm_exception(is_market_maker: bool, latest_review_bona_fide: bool | None) -> bool:
    """17 CFR 242.203(b)(2)(iii): the locate requirement does not apply to short sales by a market maker in
    connection with bona fide market making in the security. The firm must demonstrate it per transaction
    (FINRA 2023 and 2024 reports): only a market-maker account whose latest review for the security found bona fide
    market making qualifies; no review means no exception."""
    return is_market_maker and latest_review_bona_fide is True


def deemed_to_own_deadline(trade_date: dt.date, cal: Calendars) -> dt.datetime:
    """17 CFR 242.203(b)(2)(ii): a sale of a security the seller is deemed to own, not delivered "within 35 days
    after the trade date": the broker-dealer must borrow or purchase by then. The engine puts the deadline at the
    beginning of regular trading hours on the 35th calendar day after the trade date, or the last trading day
    before it when that day has no regular trading hours (docs/scenarios.md, convention 32; the same day as
    204(a)(2) from 2008)."""
    n = params.int_value("closeout.deemed_to_own_calendar_days", trade_date)
    return cal.open_of(cal.trading_day_on_or_before(trade_date + dt.timedelta(days=n)))


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
