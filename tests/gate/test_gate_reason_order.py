"""Reason order (docs/scenarios.md, convention 25): marking, Rule 201, the pre-borrow requirement, then locate coverage
or the market-making exception; an accepted order's first reason is what covered it."""

from __future__ import annotations

import datetime as dt

from regsho.law import reasons as r

TRIGGER = "2024-10-10T11:00"
AT = "2024-10-10T11:05"


def _restricted(world):
    world.ssr(TRIGGER)
    return world


def test_price_test_then_no_locate(world) -> None:
    d = _restricted(world).order(AT, price="9.00", nbb="9.00")
    assert d.reasons == (r.PRICE_TEST_RESTRICTED, r.NO_LOCATE)


def test_price_test_then_locate_problems(world) -> None:
    _restricted(world)
    world.locate("2024-10-10T08:00", 50, id="L1")
    assert world.order(AT, price="9.00", nbb="9.00", locate="L1").reasons == (r.PRICE_TEST_RESTRICTED,
                                                                             r.LOCATE_EXHAUSTED)
    world.locate("2024-10-10T08:00", 50, account="A2", id="L2")
    assert world.order(AT, nbb="9.00", locate="L2").reasons == (r.PRICE_TEST_RESTRICTED, r.NO_LOCATE)


def test_price_test_then_pre_borrow_requirement(world) -> None:
    _restricted(world).require_pre_borrow("2024-10-10T09:30")
    world.locate("2024-10-10T08:00", 1000)
    d = world.order(AT, price="9.00", nbb="9.00")
    assert d.reasons == (r.PRICE_TEST_RESTRICTED, r.PRE_BORROW_REQUIRED)
    assert d.cites.index("17 CFR 242.201(b)(1)(i)") < d.cites.index("17 CFR 242.204(b)")


def test_price_test_then_market_making(world) -> None:
    _restricted(world).mm("2024-10-10T08:00", "P1", "XYZ", True)
    d = world.order(AT, account="P1", price="9.00", nbb="9.00", bona_fide_mm=True)
    assert d.reasons == (r.PRICE_TEST_RESTRICTED, r.NOT_BONA_FIDE_MARKET_MAKING)


def test_short_exempt_invalid_then_no_locate(world) -> None:
    d = world.order(AT, "sell_short_exempt", price="9.00", nbb="9.00", exempt="201(d)(1)")
    assert d.reasons == (r.SHORT_EXEMPT_INVALID, r.NO_LOCATE)


def test_short_exempt_invalid_then_pre_borrow_requirement(world) -> None:
    _restricted(world).require_pre_borrow("2024-10-10T09:30")
    d = world.order(AT, "sell_short_exempt", price="9.00", nbb="9.00", exempt="201(c)")
    assert d.reasons == (r.SHORT_EXEMPT_INVALID, r.PRE_BORROW_REQUIRED)


def test_short_exempt_invalid_then_market_making(world) -> None:
    world.mm("2024-10-10T08:00", "MM1", "XYZ", False)
    d = world.order(AT, "sell_short_exempt", account="MM1", exempt="201(d)(2)", bona_fide_mm=True)
    assert d.reasons == (r.SHORT_EXEMPT_INVALID, r.NOT_BONA_FIDE_MARKET_MAKING)


def test_stale_reference_data_listed_with_the_others(make_world) -> None:
    w = make_world(reference_max_age=dt.timedelta(hours=1))
    w.ssr(TRIGGER)
    w.require_pre_borrow("2024-10-10T09:30")
    d = w.order(AT, price="9.00", nbb="9.00")
    assert d.reasons[:2] == (r.PRICE_TEST_RESTRICTED, r.PRE_BORROW_REQUIRED)
    assert r.REFERENCE_DATA_STALE in d.reasons
    assert d.action == "reject"


def test_accepted_first_reason_is_the_coverage(world) -> None:
    _restricted(world)
    world.locate("2024-10-10T08:00", 100, id="L1")
    assert world.order(AT, "sell_short_exempt", exempt="201(d)(1)", locate="L1").reasons == (r.LOCATE,
                                                                                            r.SHORT_EXEMPT)
    world.etb("2024-10-10T11:06", "XYZ")
    assert world.order("2024-10-10T11:07", "sell_short_exempt", exempt="201(d)(1)").reasons == (
        r.EASY_TO_BORROW, r.SHORT_EXEMPT)
    world.mm("2024-10-10T11:08", "MM1", "XYZ", True)
    assert world.order("2024-10-10T11:09", "sell_short_exempt", account="MM1", exempt="201(d)(2)",
                       bona_fide_mm=True).reasons == (r.BONA_FIDE_MARKET_MAKING, r.SHORT_EXEMPT)
    world.require_pre_borrow("2024-10-10T11:10")
    world.pre_borrow("2024-10-10T11:10", 100)
    d = world.order("2024-10-10T11:11", "sell_short_exempt", exempt="201(d)(1)")
    assert d.reasons == (r.PRE_BORROW, r.SHORT_EXEMPT)
    assert "17 CFR 242.201(d)(1)" in d.cites


def test_a_rejection_never_lists_an_accept_code(world) -> None:
    _restricted(world)
    world.locate("2024-10-10T08:00", 100, id="L1")
    d = world.order(AT, price="9.00", nbb="9.00", locate="L1")
    assert d.reasons == (r.PRICE_TEST_RESTRICTED,)
    assert all(r.CODES[c].action == "reject" for c in d.reasons)
    assert d.locate is None and d.consume == ()
