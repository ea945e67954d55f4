"""The gate refuses nonsense from any entry point: a quantity that is not a positive whole number, a price that is
not finite and positive, an unknown side — rejected with a reason code and never applied to a locate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from regsho.law import reasons as r

DAY = "2024-06-03"


@pytest.mark.parametrize(("kw", "why"), [
    ({"qty": -600}, "quantity -600"),
    ({"qty": 0}, "quantity 0"),
    ({"qty": 10.5}, "quantity 10.5"),
    ({"qty": True}, "quantity True"),
    ({"qty": 100, "price": Decimal("NaN")}, "price NaN"),
    ({"qty": 100, "price": Decimal("-1")}, "price -1"),
    ({"qty": 100, "price": Decimal("Infinity")}, "price Infinity"),
    ({"qty": 100, "nbb": Decimal("0")}, "nbb 0"),
    ({"qty": 100, "price": float("nan")}, "price nan"),
])
def test_nonsense_is_rejected_and_consumes_nothing(make_world, kw: dict[str, object], why: str) -> None:
    w = make_world()
    w.locate(f"{DAY}T08:00", 1000, id="L1")
    before = w.ledger("L1")
    d = w.order(f"{DAY}T10:00", locate="L1", **kw)
    assert d.action == "reject" and d.reasons == (r.INVALID_ORDER,)
    assert why.split()[0] in dict(d.details)[r.INVALID_ORDER]
    assert w.ledger("L1") == before
    assert w.shell.orders[d.order].open_qty == 0  # nothing open: a fill of it is refused


def test_an_unknown_side_is_rejected(make_world) -> None:
    import dataclasses

    w = make_world()
    o = dataclasses.replace(w.make_order(f"{DAY}T10:00", "sell_short", 100), side="sell_sideways")
    d = w.shell.order(o)
    assert d.reasons == (r.INVALID_ORDER,) and "side" in dict(d.details)[r.INVALID_ORDER]


def test_every_decision_carries_what_the_order_was(make_world) -> None:
    w = make_world()
    d = w.order(f"{DAY}T10:00", "sell_short", 300, price=Decimal("10.01"))
    assert (d.account, d.symbol, d.side, d.qty, d.price) == ("A1", "XYZ", "sell_short", 300, Decimal("10.01"))
    assert d.reasons == (r.NO_LOCATE,)


def test_no_locate_lists_the_locates_considered(make_world) -> None:
    w = make_world()
    w.locate(f"{DAY}T08:00", 100, id="L1")
    w.locate(f"{DAY}T08:00", 200, id="L2", good_for="2024-06-03T09:00")
    d = w.order(f"{DAY}T10:00", "sell_short", 300)
    detail = dict(d.details)[r.NO_LOCATE]
    assert "L1 (100 of 100 shares left, 300 needed)" in detail
    assert "L2 (expired at 2024-06-03T09:00:00-04:00)" in detail
