"""The live book moves what it keeps out of the collector's way (``freeze_heap``) every ``freeze_every``
records, after collecting the young garbage: cycles made and dropped before a freeze are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import Api, make_keys, open_day

from regsho.service import create_app
from regsho.service.live import freeze_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freeze_heap_collects_young_cycles_first(unfrozen: None) -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    kept = _Node()
    freeze_heap()
    assert gone() is None  # the dropped cycle was collected, not frozen
    assert gc.get_freeze_count() > 0
    assert kept.other is None


@pytest.mark.parametrize("every", [3, 0])
def test_the_writer_freezes_the_heap_every_so_many_records(tmp_path: Path, every: int) -> None:
    db = str(tmp_path / "heap.db")
    keys = make_keys(db)
    with TestClient(create_app(db, probe_seconds=0.2, freeze_every=every)) as c:
        api = Api(c, keys)
        open_day(api)
        gc.unfreeze()
        try:
            for i in range(4):
                api.ok("/v1/orders/check", {"id": f"H{i}", "account": "HF1", "symbol": "KELP", "side": "buy",
                                            "qty": 10, "at": f"2025-03-10T09:4{i}:00-04:00"}, "trader")
            frozen = gc.get_freeze_count()
        finally:
            gc.unfreeze()
    assert (frozen > 0) == bool(every)
