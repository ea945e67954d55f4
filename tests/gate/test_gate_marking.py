"""Marking (17 CFR 242.200(c), (g)) and short-exempt marking (200(g)(2), 201(c), (d); conventions 10, 19, 29)."""

from __future__ import annotations

import pytest

from regsho.law import reasons as r

DAY = "2024-06-03"


def test_buy_is_always_accepted(world) -> None:
    d = world.order(f"{DAY}T10:00", "buy", 1_000_000)
    assert (d.action, d.reasons, d.cites) == ("accept", (r.BUY,), ("17 CFR 242.200(g)",))
    assert d.consume == ()


@pytest.mark.parametrize(("position", "qty", "ok"), [
    (500, 500, True), (500, 499, True), (500, 501, False), (0, 1, False), (-100, 1, False), (1, 1, True),
])
def test_long_sale_needs_a_net_long_position(world, position: int, qty: int, ok: bool) -> None:
    world.position(f"{DAY}T08:00", position)
    d = world.order(f"{DAY}T10:00", "sell", qty)
    assert d.reasons == ((r.LONG_SALE,) if ok else (r.NOT_NET_LONG,))
    assert d.accepted is ok


def test_position_is_per_account_and_symbol(world) -> None:
    world.position(f"{DAY}T08:00", 500, account="A2")
    world.position(f"{DAY}T08:00", 500, symbol="ABC")
    assert world.order(f"{DAY}T10:00", "sell", 100).reasons == (r.NOT_NET_LONG,)
    assert world.order(f"{DAY}T10:00", "sell", 100, account="A2").reasons == (r.LONG_SALE,)
    assert world.order(f"{DAY}T10:00", "sell", 100, symbol="ABC").reasons == (r.LONG_SALE,)


def test_open_sell_orders_are_counted(world) -> None:
    world.position(f"{DAY}T08:00", 500)
    first = world.order(f"{DAY}T09:40", "sell", 300)
    assert first.reasons == (r.LONG_SALE,)
    second = world.order(f"{DAY}T09:41", "sell", 300)
    assert (second.action, second.reasons) == ("reject", (r.NOT_NET_LONG,))
    assert "open sells 300" in dict(second.details)[r.NOT_NET_LONG]
    third = world.order(f"{DAY}T09:42", "sell", 200)
    assert third.reasons == (r.LONG_SALE,)
    # Fills move shares from open sells to the position: nothing more becomes available.
    world.fill(first, f"{DAY}T09:43", 300)
    assert world.snap.positions[("A1", "XYZ")] == 200
    assert world.order(f"{DAY}T09:44", "sell", 1).reasons == (r.NOT_NET_LONG,)
    # Cancelling the open order makes its shares available again.
    world.cancel(third, f"{DAY}T09:45")
    assert world.order(f"{DAY}T09:46", "sell", 201).reasons == (r.NOT_NET_LONG,)
    assert world.order(f"{DAY}T09:46", "sell", 200).reasons == (r.LONG_SALE,)


def test_open_short_sales_count_against_a_long_sale(world) -> None:
    world.position(f"{DAY}T08:00", 1000)
    world.locate(f"{DAY}T08:00", 400, id="L1")
    assert world.order(f"{DAY}T09:40", "sell_short", 400, locate="L1").accepted
    assert world.order(f"{DAY}T09:41", "sell", 601).reasons == (r.NOT_NET_LONG,)
    assert world.order(f"{DAY}T09:42", "sell", 600).reasons == (r.LONG_SALE,)


def test_rejected_sells_are_not_open(world) -> None:
    world.position(f"{DAY}T08:00", 500)
    assert not world.order(f"{DAY}T09:40", "sell", 600).accepted
    assert not world.order(f"{DAY}T09:40", "sell_short", 600).accepted
    assert world.order(f"{DAY}T09:41", "sell", 500).reasons == (r.LONG_SALE,)


def test_bought_shares_may_be_sold_long(world) -> None:
    world.buy_and_fill(f"{DAY}T09:40", 300)
    assert world.order(f"{DAY}T09:41", "sell", 300).reasons == (r.LONG_SALE,)


def test_a_long_sale_needs_no_locate_and_consumes_nothing(world) -> None:
    world.position(f"{DAY}T08:00", 500)
    world.require_pre_borrow(f"{DAY}T08:00")
    world.mm(f"{DAY}T08:00", "A1", "XYZ", False)
    d = world.order(f"{DAY}T10:00", "sell", 500)
    assert d.reasons == (r.LONG_SALE,) and d.consume == ()


# -- short exempt ----------------------------------------------------------------------------------------------


def _restricted_world(world):
    world.ssr("2024-10-10T11:00")
    world.locate("2024-10-10T08:00", 10_000, id="L1")
    return world


@pytest.mark.parametrize("provision", [f"201(d)({i})" for i in range(1, 8)])
def test_201d_provisions_need_no_price(world, provision: str) -> None:
    _restricted_world(world)
    at_bid = world.order("2024-10-10T11:05", "sell_short_exempt", price="9.00", nbb="9.00", exempt=provision,
                         locate="L1")
    assert (at_bid.action, at_bid.reasons) == ("accept", (r.LOCATE, r.SHORT_EXEMPT))
    assert f"17 CFR 242.{provision}" in at_bid.cites
    market = world.order("2024-10-10T11:06", "sell_short_exempt", exempt=provision, locate="L1")
    assert market.reasons == (r.LOCATE, r.SHORT_EXEMPT)


def test_201c_must_be_priced_above_the_bid(world) -> None:
    _restricted_world(world)
    above = world.order("2024-10-10T11:05", "sell_short_exempt", price="9.01", nbb="9.00", exempt="201(c)",
                        locate="L1")
    assert (above.action, above.reasons) == ("accept", (r.LOCATE, r.SHORT_EXEMPT))
    assert "17 CFR 242.201(c)" in above.cites
    for kw in ({"price": "9.00", "nbb": "9.00"}, {"price": "8.99", "nbb": "9.00"}, {"nbb": "9.00"},
               {"price": "9.50"}, {}):
        d = world.order("2024-10-10T11:06", "sell_short_exempt", exempt="201(c)", locate="L1", **kw)
        assert (d.action, d.reasons) == ("reject", (r.SHORT_EXEMPT_INVALID,)), kw
    assert world.ledger("L1") == (9_900, 0, 100)


def test_short_exempt_without_restriction_is_invalid(world) -> None:
    world.locate("2024-10-10T08:00", 1000, id="L1")
    d = world.order("2024-10-10T10:59", "sell_short_exempt", price="9.00", nbb="8.00", exempt="201(d)(1)",
                    locate="L1")
    assert (d.action, d.reasons) == ("reject", (r.SHORT_EXEMPT_INVALID,))
    assert "no Rule 201 restriction" in dict(d.details)[r.SHORT_EXEMPT_INVALID]
    world.ssr("2024-10-10T11:00")
    assert world.order("2024-10-10T11:00", "sell_short_exempt", price="9.00", nbb="8.00", exempt="201(d)(1)",
                       locate="L1").accepted


@pytest.mark.parametrize("exempt", [None, "201(e)", "201(d)(8)", "10a-1"])
def test_short_exempt_without_a_valid_provision(world, exempt: str | None) -> None:
    _restricted_world(world)
    d = world.order("2024-10-10T11:05", "sell_short_exempt", price="9.01", nbb="9.00", exempt=exempt, locate="L1")
    assert (d.action, d.reasons) == ("reject", (r.SHORT_EXEMPT_INVALID,))


@pytest.mark.parametrize("day", ["2005-06-01", "2007-07-05", "2008-10-01", "2010-11-10", "2011-02-25"])
def test_short_exempt_before_rule_201_compliance_is_invalid(world, day: str) -> None:
    world.locate(f"{day}T08:00", 1000, id="L1")
    d = world.order(f"{day}T10:00", "sell_short_exempt", price="9.01", nbb="9.00", exempt="201(c)", locate="L1")
    assert (d.action, d.reasons) == ("reject", (r.SHORT_EXEMPT_INVALID,))
    assert "2011-02-28" in dict(d.details)[r.SHORT_EXEMPT_INVALID]
    # ... while a plain short sale on the same day is judged as usual.
    assert world.order(f"{day}T10:00", "sell_short", locate="L1").reasons == (r.LOCATE,)


def test_short_exempt_on_the_compliance_date(world) -> None:
    world.ssr("2011-02-28T10:00")
    world.locate("2011-02-28T08:00", 1000, id="L1")
    d = world.order("2011-02-28T10:01", "sell_short_exempt", price="9.01", nbb="9.00", exempt="201(c)",
                    locate="L1")
    assert d.reasons == (r.LOCATE, r.SHORT_EXEMPT)


def test_short_exempt_still_needs_a_locate(world) -> None:
    world.ssr("2024-10-10T11:00")
    d = world.order("2024-10-10T11:05", "sell_short_exempt", price="9.00", nbb="9.00", exempt="201(d)(1)")
    assert (d.action, d.reasons) == ("reject", (r.NO_LOCATE,))
    world.etb("2024-10-10T11:06", "XYZ")
    d = world.order("2024-10-10T11:07", "sell_short_exempt", price="9.00", nbb="9.00", exempt="201(d)(1)")
    assert d.reasons == (r.EASY_TO_BORROW, r.SHORT_EXEMPT)


def test_short_exempt_counts_as_an_open_sell(world) -> None:
    world.position("2024-10-10T08:00", 1000)
    _restricted_world(world)
    assert world.order("2024-10-10T11:05", "sell_short_exempt", 700, exempt="201(d)(1)", locate="L1").accepted
    assert world.order("2024-10-10T11:06", "sell", 301).reasons == (r.NOT_NET_LONG,)
    assert world.order("2024-10-10T11:06", "sell", 300).reasons == (r.LONG_SALE,)
