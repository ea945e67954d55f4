"""``bulk``: the collector off during bulk work, on again after, and a large bulk's survivors frozen."""

from __future__ import annotations

import gc

from regsho.adapters.output import FREEZE_AFTER, bulk


def test_collector_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with bulk():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_small_bulk_leaves_its_objects_to_the_collector() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    with bulk():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == before
    assert len(kept) == 1000


def test_large_bulk_freezes_its_survivors_and_they_are_still_freed() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    try:
        with bulk():
            kept = [[i] for i in range(FREEZE_AFTER + 1000)]
        assert gc.get_freeze_count() >= before + FREEZE_AFTER
        assert gc.isenabled()
        del kept  # reference counting frees frozen objects too
    finally:
        gc.unfreeze()


def test_collector_left_off_if_it_was_off() -> None:
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
