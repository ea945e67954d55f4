"""Locate coverage (17 CFR 242.203(b)(1); docs/scenarios.md, conventions 8, 11, 18, 31)."""

from __future__ import annotations

import pytest

from regsho.core.events import PreBorrow
from regsho.engine.shell import GateInputError
from regsho.law import reasons as r

DAY = "2024-06-03"


# -- quantity ---------------------------------------------------------------------------------------------------


def test_exactly_the_remaining_quantity_then_one_more(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    d1 = world.order(f"{DAY}T09:45", qty=600, locate="L1")
    assert (d1.action, d1.reasons, d1.locate) == ("accept", (r.LOCATE,), "L1")
    assert world.ledger("L1") == (400, 0, 600)
    over = world.order(f"{DAY}T09:46", qty=401, locate="L1")
    assert (over.action, over.reasons) == ("reject", (r.LOCATE_EXHAUSTED,))
    assert world.ledger("L1") == (400, 0, 600)  # a rejection consumes nothing
    exact = world.order(f"{DAY}T09:47", qty=400, locate="L1")
    assert (exact.action, exact.reasons) == ("accept", (r.LOCATE,))
    assert world.ledger("L1") == (0, 0, 1000)
    one = world.order(f"{DAY}T09:48", qty=1, locate="L1")
    assert (one.action, one.reasons) == ("reject", (r.LOCATE_EXHAUSTED,))


def test_whole_locate_at_once(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    assert world.order(f"{DAY}T09:45", qty=1001, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)
    assert world.order(f"{DAY}T09:45", qty=1000, locate="L1").reasons == (r.LOCATE,)


def test_unnamed_order_is_not_split_across_locates(world) -> None:
    world.locate(f"{DAY}T08:00", 500, id="L1")
    world.locate(f"{DAY}T08:01", 500, id="L2")
    d = world.order(f"{DAY}T10:00", qty=600)
    assert (d.action, d.reasons) == ("reject", (r.NO_LOCATE,))
    assert world.ledger("L1") == (500, 0, 0) and world.ledger("L2") == (500, 0, 0)


def test_several_locates_oldest_first(world) -> None:
    world.locate(f"{DAY}T08:00", 500, id="L1")
    world.locate(f"{DAY}T08:05", 1000, id="L2")
    assert world.order(f"{DAY}T10:00", qty=400).locate == "L1"
    d = world.order(f"{DAY}T10:01", qty=400)  # L1 has only 100 left
    assert (d.reasons, d.locate) == ((r.LOCATE,), "L2")
    assert world.order(f"{DAY}T10:02", qty=100).locate == "L1"
    assert world.order(f"{DAY}T10:03", qty=600).locate == "L2"
    assert world.order(f"{DAY}T10:04", qty=1).reasons == (r.NO_LOCATE,)
    assert world.ledger("L1") == (0, 0, 500) and world.ledger("L2") == (0, 0, 1000)


def test_expired_older_locate_is_skipped(world) -> None:
    world.locate(f"{DAY}T08:00", 500, id="L1", good_for=f"{DAY}T09:00")
    world.locate(f"{DAY}T08:05", 500, id="L2")
    d = world.order(f"{DAY}T09:00", qty=100)
    assert (d.reasons, d.locate) == ((r.LOCATE,), "L2")


def test_locates_are_per_symbol(world) -> None:
    world.locate(f"{DAY}T08:00", 500, symbol="ABC", id="L1")
    assert world.order(f"{DAY}T10:00", qty=100, symbol="XYZ").reasons == (r.NO_LOCATE,)
    named = world.order(f"{DAY}T10:00", qty=100, symbol="XYZ", locate="L1")
    assert named.reasons == (r.NO_LOCATE,)
    assert world.ledger("L1") == (500, 0, 0)


def test_another_accounts_locate_gives_no_locate(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, account="A2", id="L1")
    named = world.order(f"{DAY}T10:00", account="A1", locate="L1")
    assert (named.action, named.reasons) == ("reject", (r.NO_LOCATE,))
    unnamed = world.order(f"{DAY}T10:00", account="A1")
    assert (unnamed.action, unnamed.reasons) == ("reject", (r.NO_LOCATE,))
    assert world.ledger("L1") == (1000, 0, 0)
    assert world.order(f"{DAY}T10:00", account="A2", locate="L1").accepted


def test_another_accounts_locate_even_when_expired_gives_no_locate(world) -> None:
    # Convention 8: a named locate is checked for account, then expiry, then quantity.
    world.locate(f"{DAY}T08:00", 10, account="A2", id="L1")
    assert world.order("2024-06-04T10:00", qty=100, account="A1", locate="L1").reasons == (r.NO_LOCATE,)
    # Own locate: expiry before quantity.
    world.locate(f"{DAY}T08:00", 10, account="A1", id="L2")
    assert world.order("2024-06-04T10:00", qty=100, account="A1", locate="L2").reasons == (r.LOCATE_EXPIRED,)


def test_unknown_named_locate_gives_no_locate(world) -> None:
    assert world.order(f"{DAY}T10:00", locate="NOPE").reasons == (r.NO_LOCATE,)


def test_named_locate_is_judged_alone(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ")
    world.locate(f"{DAY}T08:00", 100, id="L1")
    world.locate(f"{DAY}T08:00", 1000, id="L2")
    d = world.order(f"{DAY}T10:00", qty=500, locate="L1")
    assert (d.action, d.reasons) == ("reject", (r.LOCATE_EXHAUSTED,))
    assert world.order(f"{DAY}T10:00", qty=500).reasons == (r.LOCATE,)


def test_unnamed_coverage_order_locate_then_etb_then_pre_borrow(world) -> None:
    world.pre_borrow(f"{DAY}T07:00", 1000)
    world.etb(f"{DAY}T07:00", "XYZ")
    world.locate(f"{DAY}T08:00", 100, id="L1")
    assert world.order(f"{DAY}T10:00", qty=100).reasons == (r.LOCATE,)
    assert world.order(f"{DAY}T10:01", qty=100).reasons == (r.EASY_TO_BORROW,)
    world.etb(f"{DAY}T10:02", "ABC")  # XYZ no longer on the list
    d = world.order(f"{DAY}T10:03", qty=100)
    assert d.reasons == (r.PRE_BORROW,)
    assert [(c.kind, c.id, c.qty) for c in d.consume] == [("pre_borrow", "PB1", 100)]


# -- expiry -----------------------------------------------------------------------------------------------------


def test_day_locate_lasts_until_the_end_of_its_day(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    assert world.order(f"{DAY}T23:59:59", locate="L1").reasons == (r.LOCATE,)
    assert world.order("2024-06-04T00:00:00", locate="L1").reasons == (r.LOCATE_EXPIRED,)
    assert world.order("2024-06-04T00:00:00").reasons == (r.NO_LOCATE,)


def test_day_locate_granted_on_friday_expires_before_monday(world) -> None:
    world.locate("2024-06-07T08:00", 1000, id="L1")
    assert world.order("2024-06-10T09:30", locate="L1").reasons == (r.LOCATE_EXPIRED,)


def test_timed_locate_good_for_boundary(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1", good_for="2024-06-04T12:00")
    assert world.order("2024-06-04T11:59:59.999999", locate="L1").reasons == (r.LOCATE,)
    assert world.order("2024-06-04T12:00:00", locate="L1").reasons == (r.LOCATE_EXPIRED,)
    assert world.order("2024-06-04T12:00:00").reasons == (r.NO_LOCATE,)


def test_timed_locate_shorter_than_a_day(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1", good_for=f"{DAY}T10:00")
    assert world.order(f"{DAY}T09:59", locate="L1").accepted
    assert world.order(f"{DAY}T10:00", locate="L1").reasons == (r.LOCATE_EXPIRED,)


# -- easy-to-borrow ---------------------------------------------------------------------------------------------


def test_etb_age_boundary(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ")
    assert world.order(f"{DAY}T07:00").reasons == (r.EASY_TO_BORROW,)
    assert world.order("2024-06-04T06:59:59.999999").reasons == (r.EASY_TO_BORROW,)
    assert world.order("2024-06-04T07:00:00").reasons == (r.NO_LOCATE,)


def test_etb_covers_only_listed_symbols_and_replaces(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ")
    assert world.order(f"{DAY}T08:00", symbol="ABC").reasons == (r.NO_LOCATE,)
    world.etb(f"{DAY}T09:00", "ABC")
    assert world.order(f"{DAY}T09:01", symbol="ABC").reasons == (r.EASY_TO_BORROW,)
    assert world.order(f"{DAY}T09:01", symbol="XYZ").reasons == (r.NO_LOCATE,)
    # A fresh list the next day supports a locate again.
    world.etb("2024-06-04T07:00", "XYZ")
    assert world.order("2024-06-04T09:00", symbol="XYZ").reasons == (r.EASY_TO_BORROW,)


def test_etb_never_for_a_threshold_security(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ", "THR")
    world.threshold(f"{DAY}T07:00", "THR")
    assert world.order(f"{DAY}T10:00", symbol="THR").reasons == (r.NO_LOCATE,)
    assert world.order(f"{DAY}T10:00", symbol="XYZ").reasons == (r.EASY_TO_BORROW,)
    world.threshold(f"{DAY}T11:00")  # off the threshold list
    assert world.order(f"{DAY}T11:01", symbol="THR").reasons == (r.EASY_TO_BORROW,)


def test_etb_does_not_consume(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ")
    d = world.order(f"{DAY}T10:00", qty=10_000_000)
    assert d.reasons == (r.EASY_TO_BORROW,) and d.consume == () and d.locate is None


# -- reuse after buy-to-cover (FAQ 4.4) --------------------------------------------------------------------------


def _short_then_cover(world, symbol: str = "XYZ", good_for: str = "day", qty: int = 1000, cover: int = 1000):
    world.locate(f"{DAY}T08:00", qty, symbol=symbol, id="L1", good_for=good_for)
    world.short_and_fill(f"{DAY}T09:45", qty, symbol=symbol, locate="L1")
    world.buy_and_fill(f"{DAY}T10:30", cover, symbol=symbol)


def test_day_locate_reuse_after_buy_to_cover(world) -> None:
    _short_then_cover(world)
    assert world.ledger("L1") == (0, 1000, 0)
    d = world.order(f"{DAY}T11:00", qty=1000, locate="L1")
    assert (d.action, d.reasons, d.locate) == ("accept", (r.LOCATE_REUSED,), "L1")
    assert [(c.kind, c.qty) for c in d.consume] == [("reuse", 1000)]
    assert world.ledger("L1") == (0, 0, 1000)
    assert world.order(f"{DAY}T11:01", qty=1, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)


def test_reuse_unnamed(world) -> None:
    _short_then_cover(world)
    d = world.order(f"{DAY}T11:00", qty=1000)
    assert (d.reasons, d.locate) == ((r.LOCATE_REUSED,), "L1")


def test_unnamed_oldest_locate_first_even_when_its_quantity_was_freed(world) -> None:
    # Convention 8: any valid locate of the account with enough quantity left, oldest first.
    _short_then_cover(world)
    world.locate(f"{DAY}T10:40", 1000, id="L2")
    d = world.order(f"{DAY}T11:00", qty=1000)
    assert (d.reasons, d.locate) == ((r.LOCATE_REUSED,), "L1")
    assert world.ledger("L2") == (1000, 0, 0)
    d = world.order(f"{DAY}T11:01", qty=1000)
    assert (d.reasons, d.locate) == ((r.LOCATE,), "L2")


def test_unnamed_skips_an_older_locate_whose_reuse_is_barred(world) -> None:
    _short_then_cover(world, symbol="HTB1")
    world.locate(f"{DAY}T10:40", 1000, symbol="HTB1", id="L2")
    d = world.order(f"{DAY}T11:00", qty=1000, symbol="HTB1")
    assert (d.reasons, d.locate) == ((r.LOCATE,), "L2")
    assert world.ledger("L1") == (0, 1000, 0)


def test_partial_buy_to_cover_frees_only_what_was_bought(world) -> None:
    _short_then_cover(world, cover=300)
    assert world.ledger("L1") == (0, 300, 700)
    assert world.order(f"{DAY}T11:00", qty=301, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)
    assert world.order(f"{DAY}T11:00", qty=300, locate="L1").reasons == (r.LOCATE_REUSED,)


def test_fresh_and_freed_combine(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    world.short_and_fill(f"{DAY}T09:45", 600, locate="L1")
    world.buy_and_fill(f"{DAY}T10:30", 600)
    assert world.ledger("L1") == (400, 600, 0)
    d = world.order(f"{DAY}T11:00", qty=1000, locate="L1")
    assert d.reasons == (r.LOCATE_REUSED,)
    assert sorted((c.kind, c.qty) for c in d.consume) == [("locate", 400), ("reuse", 600)]
    assert world.ledger("L1") == (0, 0, 1000)


def test_fresh_quantity_covers_without_reuse(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, symbol="HTB1", id="L1")
    world.short_and_fill(f"{DAY}T09:45", 600, symbol="HTB1", locate="L1")
    world.buy_and_fill(f"{DAY}T10:30", 600, symbol="HTB1")
    assert world.order(f"{DAY}T11:00", qty=400, symbol="HTB1", locate="L1").reasons == (r.LOCATE,)
    assert world.order(f"{DAY}T11:01", qty=1, symbol="HTB1", locate="L1").reasons == (r.LOCATE_REUSE_NOT_ALLOWED,)


def test_no_reuse_without_a_short_position(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    world.position(f"{DAY}T08:00", 5000)  # long 5000: the short sale below leaves it long 4000
    world.short_and_fill(f"{DAY}T09:45", 1000, locate="L1")
    world.buy_and_fill(f"{DAY}T10:30", 1000)
    assert world.ledger("L1") == (0, 0, 1000)
    assert world.order(f"{DAY}T11:00", qty=1000, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)


def test_no_reuse_of_an_unfilled_short_sale(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    world.position(f"{DAY}T08:00", -1000)  # short from before
    assert world.order(f"{DAY}T09:45", qty=1000, locate="L1").accepted  # open, not filled
    world.buy_and_fill(f"{DAY}T10:30", 1000)
    assert world.ledger("L1") == (0, 0, 1000)
    assert world.order(f"{DAY}T11:00", qty=1000, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)


@pytest.mark.parametrize("how", ["static_htb", "htb_list", "threshold"])
def test_reuse_barred_for_hard_to_borrow_and_threshold(world, how: str) -> None:
    symbol = "HTB1" if how == "static_htb" else "XYZ"
    if how == "htb_list":
        world.htb(f"{DAY}T07:00", "XYZ")
    if how == "threshold":
        world.threshold(f"{DAY}T07:00", "XYZ")
    _short_then_cover(world, symbol=symbol)
    named = world.order(f"{DAY}T11:00", qty=1000, symbol=symbol, locate="L1")
    assert (named.action, named.reasons) == ("reject", (r.LOCATE_REUSE_NOT_ALLOWED,))
    unnamed = world.order(f"{DAY}T11:00", qty=1000, symbol=symbol)
    assert (unnamed.action, unnamed.reasons) == ("reject", (r.LOCATE_REUSE_NOT_ALLOWED,))
    assert world.ledger("L1") == (0, 1000, 0)


def test_reuse_barred_for_timed_locates(world) -> None:
    _short_then_cover(world, good_for="2024-06-04T12:00")
    named = world.order(f"{DAY}T11:00", qty=1000, locate="L1")
    assert (named.action, named.reasons) == ("reject", (r.LOCATE_REUSE_NOT_ALLOWED,))
    assert world.order(f"{DAY}T11:00", qty=1000).reasons == (r.LOCATE_REUSE_NOT_ALLOWED,)


def test_barred_reuse_falls_back_to_other_coverage(world) -> None:
    world.etb(f"{DAY}T07:00", "XYZ")
    world.threshold(f"{DAY}T07:00", "THR")
    world.locate(f"{DAY}T08:00", 1000, symbol="THR", id="L1")
    world.short_and_fill(f"{DAY}T09:45", 1000, symbol="THR", locate="L1")
    world.buy_and_fill(f"{DAY}T10:30", 1000, symbol="THR")
    world.pre_borrow(f"{DAY}T10:40", 1000, symbol="THR")
    assert world.order(f"{DAY}T11:00", qty=1000, symbol="THR").reasons == (r.PRE_BORROW,)


def test_reuse_frees_most_recently_consumed_day_locate_first(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    world.locate(f"{DAY}T08:00", 1000, id="L2")
    world.short_and_fill(f"{DAY}T09:45", 1000, locate="L1")
    world.short_and_fill(f"{DAY}T09:50", 1000, locate="L2")
    world.buy_and_fill(f"{DAY}T10:30", 600)
    assert world.ledger("L2") == (0, 600, 400)
    assert world.ledger("L1") == (0, 0, 1000)
    world.buy_and_fill(f"{DAY}T10:31", 600)
    assert world.ledger("L2") == (0, 1000, 0)
    assert world.ledger("L1") == (0, 200, 800)


# -- cancel ------------------------------------------------------------------------------------------------------


def test_cancel_gives_back_the_unfilled_rest(world) -> None:
    world.locate(f"{DAY}T08:00", 1000, id="L1")
    d = world.order(f"{DAY}T09:45", qty=1000, locate="L1")
    world.fill(d, f"{DAY}T09:46", 300)
    assert world.ledger("L1") == (0, 0, 1000)
    assert world.snap.open_sells[("A1", "XYZ")] == 700
    world.cancel(d, f"{DAY}T09:50")
    assert world.ledger("L1") == (700, 0, 300)
    assert world.snap.open_sells[("A1", "XYZ")] == 0
    assert world.order(f"{DAY}T10:00", qty=701, locate="L1").reasons == (r.LOCATE_EXHAUSTED,)
    assert world.order(f"{DAY}T10:00", qty=700, locate="L1").reasons == (r.LOCATE,)
    # A second cancel, or a cancel of a filled order, gives nothing back.
    world.cancel(d, f"{DAY}T10:01")
    assert world.ledger("L1") == (0, 0, 1000)


def test_cancel_of_a_reuse_gives_back_freed_quantity(world) -> None:
    _short_then_cover(world)
    d = world.order(f"{DAY}T11:00", qty=1000, locate="L1")
    assert d.reasons == (r.LOCATE_REUSED,)
    world.cancel(d, f"{DAY}T11:01")
    assert world.ledger("L1") == (0, 1000, 0)
    assert world.order(f"{DAY}T11:02", qty=1000, locate="L1").reasons == (r.LOCATE_REUSED,)


def test_cancel_of_a_rejected_order_changes_nothing(world) -> None:
    world.locate(f"{DAY}T08:00", 100, id="L1")
    d = world.order(f"{DAY}T09:45", qty=1000, locate="L1")
    assert not d.accepted
    world.cancel(d, f"{DAY}T09:46")
    assert world.ledger("L1") == (100, 0, 0)
    assert world.snap.open_sells.get(("A1", "XYZ"), 0) == 0


# -- shell input errors ------------------------------------------------------------------------------------------


def test_shell_input_errors_name_the_field(world) -> None:
    world.locate(f"{DAY}T08:00", 100, id="L1")
    with pytest.raises(GateInputError) as e:
        world.locate(f"{DAY}T08:01", 100, id="L1")
    assert e.value.field == "id"
    d = world.order(f"{DAY}T09:45", qty=1000, locate="L1")  # rejected
    with pytest.raises(GateInputError) as e:
        world.fill(d, f"{DAY}T09:46", 10)
    assert e.value.field == "order"
    ok = world.order(f"{DAY}T09:47", qty=100, locate="L1")
    with pytest.raises(GateInputError) as e:
        world.fill(ok, f"{DAY}T09:48", 101)
    assert e.value.field == "qty"
    with pytest.raises(GateInputError) as e:
        world.fill(ok, f"{DAY}T09:46", 10)
    assert e.value.field == "at"
    with pytest.raises(GateInputError) as e:
        world.cancel("NOPE", f"{DAY}T09:50")
    assert e.value.field == "order"
    dup = world.make_order(f"{DAY}T09:50")
    world.shell.order(dup)
    with pytest.raises(GateInputError) as e:
        world.shell.order(dup)
    assert e.value.field == "id"
    world.pre_borrow(f"{DAY}T08:00", 10)
    with pytest.raises(GateInputError) as e:
        world.shell.pre_borrow(PreBorrow(ok.at, "PB1", "FIRM", "XYZ", 5))
    assert e.value.field == "id"


def test_a_locate_granted_after_the_order_does_not_cover_it(world) -> None:
    """The shell may be fed out of time order through its API; a locate not yet granted never covers."""
    lid = world.locate("2024-06-03T10:00", 1_000)
    named = world.order("2024-06-03T09:45", locate=lid)
    assert named.reasons == ("NO_LOCATE",)
    assert "after the order" in dict(named.details)["NO_LOCATE"]
    unnamed = world.order("2024-06-03T09:46")
    assert unnamed.reasons == ("NO_LOCATE",)
    assert world.order("2024-06-03T10:00", locate=lid).reasons == ("LOCATE",)


def test_order_times_in_other_zones_are_judged_on_the_new_york_day(world) -> None:
    import dataclasses
    import datetime as dt

    import pytest

    from regsho.engine.shell import GateInputError

    lid = world.locate("2024-06-03T08:00", 1_000)
    # 2024-06-04T02:00Z is still 22:00 on 06-03 in New York: the day locate is valid.
    late_evening = world.make_order("2024-06-03T22:00", locate=lid)
    in_utc = dataclasses.replace(late_evening, at=late_evening.at.astimezone(dt.UTC))
    assert in_utc.at.date() == dt.date(2024, 6, 4)
    d = world.shell.order(in_utc)
    assert d.reasons == ("LOCATE",)
    assert d.at.isoformat() == "2024-06-03T22:00:00-04:00"
    naive = dataclasses.replace(late_evening, id="N1", at=late_evening.at.replace(tzinfo=None))
    with pytest.raises(GateInputError, match="naive"):
        world.shell.order(naive)


@pytest.mark.parametrize(("published", "order", "covers"), [
    # fall back (2024-11-03): 17:30 EST on the 3rd is 24.5 real hours after 18:00 EDT on the 2nd
    ("2024-11-02T18:00", "2024-11-03T17:30", False),
    ("2024-11-02T18:00", "2024-11-03T16:59", True),
    # spring forward (2024-03-10): 18:30 EDT on the 10th is 23.5 real hours after 18:00 EST on the 9th
    ("2024-03-09T18:00", "2024-03-10T18:30", True),
    ("2024-03-09T18:00", "2024-03-10T19:00", False),
])
def test_etb_age_is_elapsed_time_across_daylight_saving(make_world, published: str, order: str, covers: bool) -> None:
    w = make_world()
    w.etb(published, "XYZ")
    d = w.order(order, "sell_short", 100)
    assert (d.reasons[0] == "EASY_TO_BORROW") is covers, d
