"""Rule 201: the short sale price test circuit breaker (17 CFR 242.201(b); docs/scenarios.md, conventions 7, 20, 29)."""

from __future__ import annotations

import pytest

from regsho.engine.shell import GateInputError
from regsho.law import reasons as r


def _restricted(world, at: str, symbol: str = "XYZ") -> bool:
    """Whether a short sale at the national best bid, covered by a fresh locate, is rejected by the price test."""
    world.locate(at, 100, symbol=symbol)
    d = world.order(at, qty=100, symbol=symbol, price="10.00", nbb="10.00")
    if d.accepted:
        assert d.reasons == (r.LOCATE,)
        return False
    assert d.reasons == (r.PRICE_TEST_RESTRICTED,), d
    return True


def test_from_the_trigger_time_itself(world) -> None:
    world.ssr("2024-10-10T11:00")
    assert not _restricted(world, "2024-10-10T10:59:59.999999")
    assert _restricted(world, "2024-10-10T11:00:00")
    assert _restricted(world, "2024-10-10T16:00")


def test_to_the_end_of_the_next_trading_day(world) -> None:
    world.ssr("2024-10-10T11:00")  # Thursday
    assert _restricted(world, "2024-10-11T00:00")
    assert _restricted(world, "2024-10-11T23:59:59")
    assert _restricted(world, "2024-10-11T23:59:59.999999")
    assert not _restricted(world, "2024-10-12T00:00:00")
    assert world.snap.ssr["XYZ"][1].isoformat() == "2024-10-12T00:00:00-04:00"


def test_across_a_weekend(world) -> None:
    world.ssr("2024-06-07T15:00")  # Friday
    assert _restricted(world, "2024-06-08T12:00")  # Saturday
    assert _restricted(world, "2024-06-10T23:59:59")  # Monday
    assert not _restricted(world, "2024-06-11T00:00")


def test_columbus_day_is_a_trading_day(world) -> None:
    world.ssr("2024-10-11T10:00")  # Friday; Monday 2024-10-14 is an NYSE session (not a settlement day)
    assert _restricted(world, "2024-10-14T23:59:59")
    assert not _restricted(world, "2024-10-15T00:00")


@pytest.mark.parametrize(("trigger", "holiday", "last", "after"), [
    ("2024-07-03T11:00", "2024-07-04T12:00", "2024-07-05T23:59:59", "2024-07-06T00:00"),  # Independence Day
    ("2025-04-17T11:00", "2025-04-18T12:00", "2025-04-21T23:59:59", "2025-04-22T00:00"),  # Good Friday
    ("2025-01-08T11:00", "2025-01-09T12:00", "2025-01-10T23:59:59", "2025-01-11T00:00"),  # unscheduled closure
    ("2024-06-18T11:00", "2024-06-19T12:00", "2024-06-20T23:59:59", "2024-06-21T00:00"),  # Juneteenth
])
def test_across_a_holiday(world, trigger: str, holiday: str, last: str, after: str) -> None:
    world.ssr(trigger)
    assert _restricted(world, holiday)
    assert _restricted(world, last)
    assert not _restricted(world, after)


def test_retrigger_on_the_restricted_day_extends(make_world) -> None:
    once, twice = make_world(), make_world()
    for w in (once, twice):
        w.ssr("2024-06-03T10:00")  # Monday: Monday and Tuesday
    twice.ssr("2024-06-04T11:00")  # Tuesday re-trigger: Wednesday as well
    assert not _restricted(once, "2024-06-05T10:00")
    assert _restricted(twice, "2024-06-05T10:00")
    assert _restricted(twice, "2024-06-05T23:59:59")
    assert not _restricted(twice, "2024-06-06T00:00")
    # The restriction never lapsed in between.
    assert _restricted(twice, "2024-06-04T10:59")
    assert twice.snap.ssr["XYZ"][0].isoformat() == "2024-06-03T10:00:00-04:00"


def test_retrigger_on_the_trigger_day_does_not_extend(world) -> None:
    world.ssr("2024-06-03T10:00")
    world.ssr("2024-06-03T14:00")
    assert _restricted(world, "2024-06-03T10:30")
    assert _restricted(world, "2024-06-04T23:59:59")
    assert not _restricted(world, "2024-06-05T00:00")


def test_new_trigger_after_the_window_starts_a_new_window(world) -> None:
    world.ssr("2024-06-03T10:00")
    world.ssr("2024-06-06T11:00")  # Thursday
    assert not _restricted(world, "2024-06-05T10:00")
    assert not _restricted(world, "2024-06-06T10:59")
    assert _restricted(world, "2024-06-06T11:00")
    assert _restricted(world, "2024-06-07T23:59:59")
    assert not _restricted(world, "2024-06-08T00:00")


def test_only_the_triggered_symbol(world) -> None:
    world.ssr("2024-10-10T11:00", symbol="XYZ")
    assert not _restricted(world, "2024-10-10T11:05", symbol="ABC")
    assert _restricted(world, "2024-10-10T11:05", symbol="XYZ")


def test_above_versus_at_and_below_the_bid(world) -> None:
    world.ssr("2024-10-10T11:00")
    world.locate("2024-10-10T08:00", 10_000, id="L1")
    assert world.order("2024-10-10T11:05", price="9.01", nbb="9.00", locate="L1").reasons == (r.LOCATE,)
    assert world.order("2024-10-10T11:05", price="9.0001", nbb="9.00", locate="L1").reasons == (r.LOCATE,)
    at = world.order("2024-10-10T11:05", price="9.00", nbb="9.00", locate="L1")
    below = world.order("2024-10-10T11:05", price="8.99", nbb="9.00", locate="L1")
    assert at.reasons == below.reasons == (r.PRICE_TEST_RESTRICTED,)


def test_market_order_and_missing_bid_are_restricted(world) -> None:  # convention 20
    world.ssr("2024-10-10T11:00")
    world.locate("2024-10-10T08:00", 10_000, id="L1")
    market = world.order("2024-10-10T11:05", nbb="9.00", locate="L1")
    assert (market.action, market.reasons) == ("reject", (r.PRICE_TEST_RESTRICTED,))
    assert "market order" in dict(market.details)[r.PRICE_TEST_RESTRICTED]
    no_bid = world.order("2024-10-10T11:05", price="9.50", locate="L1")
    assert (no_bid.action, no_bid.reasons) == ("reject", (r.PRICE_TEST_RESTRICTED,))
    assert "national best bid" in dict(no_bid.details)[r.PRICE_TEST_RESTRICTED]
    neither = world.order("2024-10-10T11:05", locate="L1")
    assert neither.reasons == (r.PRICE_TEST_RESTRICTED,)
    # Once the restriction has lapsed, a market order without a bid is fine.
    world.locate("2024-10-14T08:00", 100, id="LX")
    assert world.order("2024-10-14T11:05", locate="LX").reasons == (r.LOCATE,)


def test_rejection_by_the_price_test_consumes_nothing(world) -> None:
    world.ssr("2024-10-10T11:00")
    world.locate("2024-10-10T08:00", 1000, id="L1")
    d = world.order("2024-10-10T11:05", qty=1000, price="9.00", nbb="9.00", locate="L1")
    assert not d.accepted and d.consume == ()
    assert world.ledger("L1") == (1000, 0, 0)
    assert world.snap.open_sells.get(("A1", "XYZ"), 0) == 0


def test_long_sales_and_buys_are_not_restricted(world) -> None:
    world.ssr("2024-10-10T11:00")
    world.position("2024-10-10T08:00", 1000)
    assert world.order("2024-10-10T11:05", "sell", 500, price="9.00", nbb="9.00").reasons == (r.LONG_SALE,)
    assert world.order("2024-10-10T11:05", "sell", 500).reasons == (r.LONG_SALE,)
    assert world.order("2024-10-10T11:05", "buy", 500).reasons == (r.BUY,)


def test_decision_records_the_window(world) -> None:
    world.ssr("2024-10-10T11:00")
    world.locate("2024-10-10T08:00", 1000, id="L1")
    d = world.order("2024-10-10T11:05", price="9.00", nbb="9.00", locate="L1")
    facts = dict(d.facts)
    assert facts["rule201.restricted"] is True
    window = facts["rule201.window"]
    assert isinstance(window, tuple)
    assert tuple(t.isoformat() for t in window) == ("2024-10-10T11:00:00-04:00", "2024-10-12T00:00:00-04:00")
    assert "17 CFR 242.201(b)(1)(i)" in d.cites and "17 CFR 242.201(b)(1)(ii)" in d.cites


@pytest.mark.parametrize("at", ["2024-10-12T11:00", "2024-07-04T11:00", "2025-01-09T11:00"])
def test_trigger_on_a_non_trading_day_is_bad_input(world, at: str) -> None:
    with pytest.raises(GateInputError) as e:
        world.ssr(at)
    assert e.value.field == "at"
    assert "XYZ" not in world.snap.ssr


def test_trigger_before_the_compliance_date_is_bad_input(world) -> None:
    with pytest.raises(GateInputError) as e:
        world.ssr("2011-02-25T11:00")
    assert e.value.field == "at"
    world.ssr("2011-02-28T11:00")
    assert _restricted(world, "2011-03-01T10:00")


@pytest.mark.parametrize(("at", "ok"), [
    ("2024-10-10T09:29:59", False), ("2024-10-10T09:30", True), ("2024-10-10T16:00", True),
    ("2024-10-10T16:00:01", False), ("2024-10-10T08:00", False),
])
def test_a_trigger_only_happens_during_regular_trading_hours(world, at: str, ok: bool) -> None:
    if ok:
        world.ssr(at)
        assert _restricted(world, at)
    else:
        with pytest.raises(GateInputError, match="outside regular trading hours") as exc:
            world.ssr(at)
        assert exc.value.field == "at"
