"""Session hours come from the exchange calendar, early closes included: a Rule 201 trigger after a 13:00 close is
bad input, and 204(e) pre-fail credit ends at 13:00 on an early-close settlement date."""

from __future__ import annotations

import datetime as dt

import pytest

from regsho.adapters.scenario import ScenarioError, loads
from regsho.app.replay import replay
from regsho.calendars import ET, default_calendars

HEAD = """
version: 1
firm: {id: FIRM}
securities:
  XYZ: {}
accounts:
  A1: {bd: FIRM, type: customer}
events:
"""


def test_the_calendar_knows_the_day_after_thanksgiving_closes_at_13() -> None:
    cal = default_calendars()
    assert cal.session_hours(dt.date(2024, 11, 29)) == (dt.time(9, 30), dt.time(13, 0))
    assert cal.close_of(dt.date(2024, 11, 27)) == dt.datetime(2024, 11, 27, 16, 0, tzinfo=ET)
    assert cal.in_regular_hours(dt.datetime(2024, 11, 29, 13, 0, tzinfo=ET))
    assert not cal.in_regular_hours(dt.datetime(2024, 11, 29, 13, 0, 1, tzinfo=ET))


def test_rule_201_trigger_within_the_half_day() -> None:
    res = replay(loads(HEAD + '  - {at: "2024-11-29T12:59", type: ssr, symbol: XYZ}\n'
                       '  - {at: "2024-11-29T12:59:30", type: order, id: O1, account: A1, symbol: XYZ, '
                       'side: sell_short, qty: 100, price: 9.99, nbb: 10.00}\n', "t.yaml"))
    d = res.decision("O1")
    assert d is not None and "PRICE_TEST_RESTRICTED" in d.reasons


def test_rule_201_trigger_after_the_early_close_is_bad_input() -> None:
    with pytest.raises(ScenarioError, match=r"outside regular trading hours .09:30-13:00"):
        replay(loads(HEAD + '  - {at: "2024-11-29T14:00", type: ssr, symbol: XYZ}\n', "t.yaml"))


@pytest.mark.parametrize(("at", "credited"), [("12:59", True), ("13:00", True), ("13:01", False)])
def test_pre_fail_credit_ends_at_the_early_close(at: str, credited: bool) -> None:
    # trade 2024-11-27 settles 2024-11-29 (T+1, Thanksgiving between), a half day
    res = replay(loads(HEAD + f'  - {{at: "2024-11-29T{at}", type: close_out, id: C1, symbol: XYZ, qty: 500, '
                       'method: purchase, net_flat_or_long: true}\n'
                       '  - {at: "2024-11-29T18:00", type: fail, symbol: XYZ, qty: 500, settlement_date: '
                       '"2024-11-29", origin: short_sale, trade_date: "2024-11-27"}\n', "t.yaml"))
    (ob,) = res.obligations
    assert (ob.credit == "C1") is credited
    assert ob.status == ("closed" if credited else "open")
