"""Returning unused shares of a locate to the locate desk (``locate_release``, docs/scenarios.md convention 33):
what is returned covers nothing again, what short sales consumed stays theirs, and no later cancel or buy-to-cover
brings the returned shares back."""

from __future__ import annotations

import pytest
from tests.gate.conftest import World, t

from regsho.core.book import Account, AccountType, Book, Firm, Security
from regsho.core.events import Event, LocateGrant, LocateRelease, Order, Side
from regsho.engine.book import BookEngine
from regsho.engine.lifecycles import LOCATE, LocateStatus
from regsho.engine.shell import GateInputError
from regsho.law import reasons as r


def release(w: World, at: str, lid: str, qty: int | None = None) -> None:
    w.shell.release(LocateRelease(t(at), lid, qty, "unused", "desk"))


def state(w: World, lid: str) -> tuple[int, int, int, int, LocateStatus]:
    loc = w.snap.locates[lid]
    assert loc.fresh + loc.freed + loc.consumed + loc.released == loc.qty
    return loc.fresh, loc.freed, loc.consumed, loc.released, loc.status


def test_release_part_leaves_the_rest_to_cover(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 1000)
    release(world, "2024-06-03T09:00", lid, 400)
    assert state(world, lid) == (600, 0, 0, 400, LocateStatus.GRANTED)
    assert world.order("2024-06-03T09:31", qty=700, locate=lid).reasons == (r.LOCATE_EXHAUSTED,)
    d = world.order("2024-06-03T09:32", qty=600, locate=lid)
    assert d.accepted and d.reasons == (r.LOCATE,)
    assert state(world, lid) == (0, 0, 600, 400, LocateStatus.EXHAUSTED)


def test_release_all_keeps_what_short_sales_consumed(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 1000)
    assert world.order("2024-06-03T09:31", qty=300, locate=lid).accepted
    release(world, "2024-06-03T09:40", lid)
    assert state(world, lid) == (0, 0, 300, 700, LocateStatus.EXHAUSTED)
    named = world.order("2024-06-03T09:41", qty=100, locate=lid)
    assert not named.accepted and named.reasons == (r.LOCATE_EXHAUSTED,)
    unnamed = world.order("2024-06-03T09:42", qty=100)
    assert not unnamed.accepted and unnamed.reasons == (r.NO_LOCATE,)


def test_a_locate_returned_whole_is_final(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 500)
    release(world, "2024-06-03T08:30", lid)
    assert state(world, lid) == (0, 0, 0, 500, LocateStatus.RETURNED)
    assert LOCATE.terminal(LocateStatus.RETURNED)
    assert world.order("2024-06-03T09:31", qty=1, locate=lid).reasons == (r.LOCATE_EXHAUSTED,)
    with pytest.raises(GateInputError, match="no unused shares") as e:
        release(world, "2024-06-03T09:32", lid)
    assert e.value.field == "id"


def test_releasing_more_than_is_unused_names_qty_and_changes_nothing(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 1000)
    assert world.order("2024-06-03T09:31", qty=600, locate=lid).accepted
    with pytest.raises(GateInputError, match="exceeds the 400 unused shares") as e:
        release(world, "2024-06-03T09:32", lid, 401)
    assert e.value.field == "qty"
    for bad in (0, -5):
        with pytest.raises(GateInputError) as e:
            release(world, "2024-06-03T09:33", lid, bad)
        assert e.value.field == "qty"
    assert state(world, lid) == (400, 0, 600, 0, LocateStatus.IN_USE)
    release(world, "2024-06-03T09:35", lid, 400)  # all that is unused: nothing left, short sales hold the rest
    with pytest.raises(GateInputError, match="no unused shares") as e:
        release(world, "2024-06-03T09:36", lid, 1)
    assert e.value.field == "qty"


def test_releasing_an_unknown_locate_names_id(world: World) -> None:
    with pytest.raises(GateInputError, match="unknown locate id L404") as e:
        release(world, "2024-06-03T09:00", "L404")
    assert e.value.field == "id"


def test_a_cancel_after_the_release_gives_back_only_what_was_consumed(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 1000)
    d = world.order("2024-06-03T09:31", qty=300, locate=lid)
    world.fill(d, "2024-06-03T09:32", 100)
    release(world, "2024-06-03T09:40", lid)
    assert state(world, lid) == (0, 0, 300, 700, LocateStatus.EXHAUSTED)
    world.cancel(d, "2024-06-03T09:45")  # the 200 unfilled come back to the locate; the 700 returned do not
    assert state(world, lid) == (200, 0, 100, 700, LocateStatus.IN_USE)
    assert world.order("2024-06-03T09:46", qty=201, locate=lid).reasons == (r.LOCATE_EXHAUSTED,)
    assert world.order("2024-06-03T09:47", qty=200, locate=lid).accepted


def test_a_buy_to_cover_after_the_release_frees_only_what_was_consumed(world: World) -> None:
    lid = world.locate("2024-06-03T08:00", 1000)
    world.short_and_fill("2024-06-03T09:31", 600, locate=lid)
    release(world, "2024-06-03T09:40", lid)
    assert state(world, lid) == (0, 0, 600, 400, LocateStatus.EXHAUSTED)
    world.buy_and_fill("2024-06-03T10:00", 1000)  # covers the 600 short and goes long: frees at most the 600
    assert state(world, lid) == (0, 600, 0, 400, LocateStatus.IN_USE)
    assert world.order("2024-06-03T10:01", qty=601, locate=lid).reasons == (r.LOCATE_EXHAUSTED,)
    d = world.order("2024-06-03T10:02", qty=600, locate=lid)
    assert d.accepted and d.reasons == (r.LOCATE_REUSED,)


def test_freed_quantity_is_released_before_fresh(make_world) -> None:  # type: ignore[no-untyped-def]
    w = make_world()
    # a timed locate: what a buy-to-cover frees may not be reused, so the desk takes it back first
    lid = w.locate("2024-06-03T08:00", 1000, good_for="2024-06-03T15:00")
    w.short_and_fill("2024-06-03T09:31", 500, locate=lid)
    w.buy_and_fill("2024-06-03T09:40", 200)
    assert state(w, lid) == (500, 200, 300, 0, LocateStatus.IN_USE)
    release(w, "2024-06-03T09:50", lid, 300)
    assert state(w, lid) == (400, 0, 300, 300, LocateStatus.IN_USE)
    assert w.order("2024-06-03T09:51", qty=400, locate=lid).reasons == (r.LOCATE,)


BOOK = Book.of(Firm("FIRM"), [Security("XYZ")], [Account("A1", "FIRM", AccountType.CUSTOMER)])


def _events() -> list[Event]:
    eod = t("2024-06-04T00:00")
    return [
        LocateGrant(t("2024-06-03T08:00"), "L1", "A1", "XYZ", 1000, eod, True, "desk"),
        Order(t("2024-06-03T09:31"), "O1", "A1", "XYZ", Side.SELL_SHORT, 300, locate="L1"),
        LocateRelease(t("2024-06-03T09:40"), "L1", 500, "end of need", "desk-1"),
        Order(t("2024-06-03T09:41"), "O2", "A1", "XYZ", Side.SELL_SHORT, 300, locate="L1"),
        Order(t("2024-06-03T09:42"), "O3", "A1", "XYZ", Side.SELL_SHORT, 100, locate="L1"),
        LocateRelease(t("2024-06-03T09:43"), "L1"),
        Order(t("2024-06-03T09:44"), "O4", "A1", "XYZ", Side.SELL_SHORT, 100),
    ]


def test_the_book_engine_applies_releases_and_the_decisions_say_so() -> None:
    eng = BookEngine(BOOK)
    ds = {d.order: d for e in _events() for d in eng.apply(e).decisions}
    assert [ds[o].action for o in ("O1", "O2", "O3", "O4")] == ["accept", "reject", "accept", "reject"]
    assert "locate.released" not in dict(ds["O1"].facts)
    o2 = dict(ds["O2"].facts)
    assert (o2["locate.fresh"], o2["locate.released"]) == (200, 500)
    assert dict(ds["O2"].details)[r.LOCATE_EXHAUSTED] == ("locate L1 has 200 of 1000 shares left; 500 returned to "
                                                           "the locate desk")
    assert dict(ds["O3"].facts)["locate.released"] == 500
    assert ds["O4"].reasons == (r.NO_LOCATE,) and dict(ds["O4"].facts)["locates.returned"] == (("L1", 600),)
    loc = eng.gate.snap.locates["L1"]
    assert (loc.fresh, loc.freed, loc.consumed, loc.released, loc.status) == (0, 0, 400, 600,
                                                                              LocateStatus.EXHAUSTED)


@pytest.mark.parametrize("cut", range(1, 7))
def test_snapshot_and_restore_keep_what_was_returned(cut: int) -> None:
    events = _events()
    straight = BookEngine(BOOK)
    want = [straight.apply(e) for e in events]
    eng = BookEngine(BOOK)
    got = [eng.apply(e) for e in events[:cut]]
    eng = BookEngine.restore(eng.snapshot())
    got += [eng.apply(e) for e in events[cut:]]
    assert got == want
    a, b = straight.gate.snap.locates["L1"], eng.gate.snap.locates["L1"]
    assert (a.fresh, a.freed, a.consumed, a.released, a.status) == (b.fresh, b.freed, b.consumed, b.released,
                                                                    b.status)
