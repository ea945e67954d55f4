"""The pre-borrow requirement (17 CFR 242.204(b), 203(b)(3)(iv)) and pre-borrows (convention 26)."""

from __future__ import annotations

import pytest

from regsho.core.events import PreBorrowRequired
from regsho.law import reasons as r

DAY = "2024-06-03"


def test_requirement_overrides_locate_and_etb(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.etb(f"{DAY}T07:00", "XYZ")
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    named = world.order(f"{DAY}T10:00", locate="L1")
    assert (named.action, named.reasons) == ("reject", (r.PRE_BORROW_REQUIRED,))
    assert "17 CFR 242.204(b)" in named.cites
    assert "204(b)" in dict(named.details)[r.PRE_BORROW_REQUIRED]
    unnamed = world.order(f"{DAY}T10:00")
    assert unnamed.reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.ledger("L1") == (1000, 0, 0)


def test_requirement_binds_market_makers_relying_on_bona_fide_market_making(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    assert world.order(f"{DAY}T09:00", account="MM1", bona_fide_mm=True).reasons == (r.BONA_FIDE_MARKET_MAKING,)
    world.require_pre_borrow(f"{DAY}T09:30")
    d = world.order(f"{DAY}T10:00", account="MM1", bona_fide_mm=True)
    assert (d.action, d.reasons) == ("reject", (r.PRE_BORROW_REQUIRED,))
    world.pre_borrow(f"{DAY}T10:01", 100)
    d = world.order(f"{DAY}T10:02", account="MM1", bona_fide_mm=True)
    assert (d.action, d.reasons) == ("accept", (r.PRE_BORROW,))


def test_requirement_period_boundaries(world) -> None:
    world.locate(f"{DAY}T08:00", 10_000)
    world.require_pre_borrow(f"{DAY}T09:30", until="2024-06-05T00:00")
    assert world.order(f"{DAY}T09:29:59.999999").reasons == (r.LOCATE,)
    assert world.order(f"{DAY}T09:30").reasons == (r.PRE_BORROW_REQUIRED,)
    world.locate("2024-06-04T08:00", 10_000)
    assert world.order("2024-06-04T23:59:59.999999").reasons == (r.PRE_BORROW_REQUIRED,)
    world.locate("2024-06-05T00:00", 10_000)
    assert world.order("2024-06-05T00:00").reasons == (r.LOCATE,)


def test_end_pre_borrow_closes_the_open_period(world) -> None:
    world.locate(f"{DAY}T08:00", 10_000)
    world.require_pre_borrow(f"{DAY}T09:30")
    assert world.order(f"{DAY}T15:00").reasons == (r.PRE_BORROW_REQUIRED,)
    start = world.snap.pre_borrow_periods[("FIRM", "XYZ")][0][1]
    world.shell.end_pre_borrow("FIRM", "XYZ", "204(b)", start, world.cal.end_of_day(start.date()))
    assert world.order(f"{DAY}T23:59").reasons == (r.PRE_BORROW_REQUIRED,)
    world.locate("2024-06-04T08:00", 10_000)
    assert world.order("2024-06-04T09:00").reasons == (r.LOCATE,)
    with pytest.raises(KeyError):
        world.shell.end_pre_borrow("FIRM", "XYZ", "204(b)", start, start)


def test_pre_borrow_required_event_and_rule_citation(world) -> None:
    world.locate(f"{DAY}T08:00", 10_000)
    world.shell.pre_borrow_required(PreBorrowRequired(world.make_order(f"{DAY}T09:30").at, "FIRM", "XYZ",
                                                      "203(b)(3)"))
    d = world.order(f"{DAY}T10:00")
    assert d.reasons == (r.PRE_BORROW_REQUIRED,)
    assert d.cites == ("17 CFR 242.203(b)(3)(iv)",)
    assert dict(d.facts)["pre_borrow.required"] == "203(b)(3)"


def test_pre_borrow_consumption(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T09:00", 1000)
    a = world.order(f"{DAY}T10:00", qty=600)
    assert (a.reasons, [(c.kind, c.id, c.qty) for c in a.consume]) == ((r.PRE_BORROW,), [("pre_borrow", "PB1", 600)])
    over = world.order(f"{DAY}T10:01", qty=401)
    assert (over.action, over.reasons) == ("reject", (r.PRE_BORROW_REQUIRED,))
    assert dict(over.facts)["pre_borrow.available"] == 400
    assert world.order(f"{DAY}T10:02", qty=400).reasons == (r.PRE_BORROW,)
    assert world.order(f"{DAY}T10:03", qty=1).reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.snap.pre_borrows[("FIRM", "XYZ")][0].remaining == 0


def test_pre_borrow_lots_add_up_oldest_first(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T09:00", 300)
    world.pre_borrow(f"{DAY}T09:10", 300)
    d = world.order(f"{DAY}T10:00", qty=500)
    assert [(c.id, c.qty) for c in d.consume] == [("PB1", 300), ("PB2", 200)]
    assert world.order(f"{DAY}T10:01", qty=101).reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.order(f"{DAY}T10:01", qty=100).reasons == (r.PRE_BORROW,)


def test_pre_borrows_are_valid_only_the_day_made(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T09:00", 1000)
    assert world.order(f"{DAY}T23:59:59", qty=100).reasons == (r.PRE_BORROW,)
    assert world.order("2024-06-04T00:00", qty=100).reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.order("2024-06-04T10:00", qty=100).reasons == (r.PRE_BORROW_REQUIRED,)


def test_pre_borrow_not_yet_made_does_not_cover(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T11:00", 1000)
    # (Events arrive in time order in practice; the gate still checks the lot's time.)
    assert world.order(f"{DAY}T10:59", qty=100).reasons == (r.PRE_BORROW_REQUIRED,)


def test_pre_borrow_is_not_reused_after_buy_to_cover(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T09:00", 1000)
    world.short_and_fill(f"{DAY}T10:00", 1000)
    world.buy_and_fill(f"{DAY}T10:30", 1000)
    assert world.snap.pre_borrows[("FIRM", "XYZ")][0].remaining == 0
    assert world.order(f"{DAY}T11:00", qty=1000).reasons == (r.PRE_BORROW_REQUIRED,)


def test_cancel_gives_pre_borrow_back(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.pre_borrow(f"{DAY}T09:00", 1000)
    d = world.order(f"{DAY}T10:00", qty=1000)
    world.fill(d, f"{DAY}T10:01", 250)
    world.cancel(d, f"{DAY}T10:02")
    assert world.snap.pre_borrows[("FIRM", "XYZ")][0].remaining == 750
    assert world.order(f"{DAY}T10:03", qty=751).reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.order(f"{DAY}T10:03", qty=750).reasons == (r.PRE_BORROW,)


def test_requirement_and_pre_borrows_are_per_broker_dealer_and_symbol(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30", bd="CORR")
    world.locate(f"{DAY}T08:00", 1000, account="A1")
    world.locate(f"{DAY}T08:00", 1000, account="C1")
    world.locate(f"{DAY}T08:00", 1000, account="C1", symbol="ABC")
    assert world.order(f"{DAY}T10:00", account="A1").reasons == (r.LOCATE,)
    assert world.order(f"{DAY}T10:00", account="C1").reasons == (r.PRE_BORROW_REQUIRED,)
    assert world.order(f"{DAY}T10:00", account="C1", symbol="ABC").reasons == (r.LOCATE,)
    world.pre_borrow(f"{DAY}T10:01", 1000, bd="FIRM")  # the clearing firm's own pre-borrow does not cover CORR
    assert world.order(f"{DAY}T10:02", account="C1").reasons == (r.PRE_BORROW_REQUIRED,)
    world.pre_borrow(f"{DAY}T10:03", 1000, bd="CORR", symbol="ABC")
    assert world.order(f"{DAY}T10:04", account="C1").reasons == (r.PRE_BORROW_REQUIRED,)
    world.pre_borrow(f"{DAY}T10:05", 1000, bd="CORR")
    assert world.order(f"{DAY}T10:06", account="C1").reasons == (r.PRE_BORROW,)


def test_without_requirement_pre_borrow_covers_last(world) -> None:
    world.pre_borrow(f"{DAY}T09:00", 100)
    assert world.order(f"{DAY}T10:00", qty=100).reasons == (r.PRE_BORROW,)
    assert world.order(f"{DAY}T10:01", qty=1).reasons == (r.NO_LOCATE,)


def test_buys_and_long_sales_unaffected(world) -> None:
    world.require_pre_borrow(f"{DAY}T09:30")
    world.position(f"{DAY}T08:00", 100)
    assert world.order(f"{DAY}T10:00", "buy").reasons == (r.BUY,)
    assert world.order(f"{DAY}T10:00", "sell", 100).reasons == (r.LONG_SALE,)
