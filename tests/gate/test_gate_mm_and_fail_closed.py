"""The market-making exception (203(b)(2)(iii), convention 9) and the gate's fail-closed checks."""

from __future__ import annotations

import datetime as dt

import pytest

from regsho.core.events import Account, AccountType, Security
from regsho.engine.gate import GateError, decide
from regsho.law import reasons as r

DAY = "2024-06-03"


# -- bona fide market making -----------------------------------------------------------------------------------


def test_bona_fide_market_maker(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    d = world.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True, price="10.05")
    assert (d.action, d.reasons) == ("accept", (r.BONA_FIDE_MARKET_MAKING,))
    assert "17 CFR 242.203(b)(2)(iii)" in d.cites
    assert d.consume == ()


def test_no_review_means_no_exception(world) -> None:
    d = world.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True)
    assert (d.action, d.reasons) == ("reject", (r.NOT_BONA_FIDE_MARKET_MAKING,))
    assert "no bona fide market-making review" in dict(d.details)[r.NOT_BONA_FIDE_MARKET_MAKING]


def test_false_review(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "XYZ", False)
    d = world.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True)
    assert (d.action, d.reasons) == ("reject", (r.NOT_BONA_FIDE_MARKET_MAKING,))
    assert "did not find" in dict(d.details)[r.NOT_BONA_FIDE_MARKET_MAKING]


def test_latest_review_counts(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    world.mm(f"{DAY}T12:00", "MM1", "XYZ", False)
    assert world.order(f"{DAY}T12:01", account="MM1", bona_fide_mm=True).reasons == (r.NOT_BONA_FIDE_MARKET_MAKING,)
    world.mm(f"{DAY}T13:00", "MM1", "XYZ", True)
    assert world.order(f"{DAY}T13:01", account="MM1", bona_fide_mm=True).reasons == (r.BONA_FIDE_MARKET_MAKING,)


def test_review_is_per_account_and_security(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "ABC", True)
    world.mm(f"{DAY}T08:00", "P1", "XYZ", True)
    assert world.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True).reasons == (
        r.NOT_BONA_FIDE_MARKET_MAKING,)
    assert world.order(f"{DAY}T09:35", account="MM1", symbol="ABC", bona_fide_mm=True).reasons == (
        r.BONA_FIDE_MARKET_MAKING,)


@pytest.mark.parametrize("account", ["P1", "A1"])
def test_not_a_market_maker(world, account: str) -> None:
    world.mm(f"{DAY}T08:00", account, "XYZ", True)
    world.locate(f"{DAY}T08:00", 1000, account=account, id="L1")
    d = world.order(f"{DAY}T09:35", account=account, bona_fide_mm=True)
    assert (d.action, d.reasons) == ("reject", (r.NOT_BONA_FIDE_MARKET_MAKING,))
    assert "not a market maker" in dict(d.details)[r.NOT_BONA_FIDE_MARKET_MAKING]
    # The same account without claiming the exception is covered by its locate.
    assert world.order(f"{DAY}T09:36", account=account).reasons == (r.LOCATE,)


def test_exception_considered_only_when_claimed(world) -> None:
    world.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    assert world.order(f"{DAY}T09:38", account="MM1").reasons == (r.NO_LOCATE,)
    world.locate(f"{DAY}T09:39", 200, account="MM1")
    assert world.order(f"{DAY}T09:40", account="MM1").reasons == (r.LOCATE,)


# -- fail closed -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["buy", "sell", "sell_short", "sell_short_exempt"])
def test_unknown_security_fails_closed(make_world, side: str) -> None:
    w = make_world(securities=[Security("ABC")])
    w.etb(f"{DAY}T07:00", "XYZ")
    d = w.order(f"{DAY}T10:00", side)
    assert (d.action, d.reasons) == ("reject", (r.UNKNOWN_SECURITY,))
    assert dict(d.facts)["security.known"] is False
    w.shell.add_security(Security("XYZ"))
    assert w.order(f"{DAY}T10:01", "buy").accepted


@pytest.mark.parametrize("side", ["buy", "sell", "sell_short"])
def test_unknown_account_fails_closed(make_world, side: str) -> None:
    w = make_world(accounts=[Account("A2", "FIRM", AccountType.CUSTOMER)])
    w.etb(f"{DAY}T07:00", "XYZ")
    w.position(f"{DAY}T07:00", 1000)
    d = w.order(f"{DAY}T10:00", side)
    assert (d.action, d.reasons) == ("reject", (r.UNKNOWN_ACCOUNT,))
    assert dict(d.facts)["account.known"] is False
    w.shell.add_account(Account("A1", "FIRM", AccountType.CUSTOMER))
    assert w.order(f"{DAY}T10:01", side).accepted


def test_reference_data_stale(make_world) -> None:
    w = make_world(reference_max_age=dt.timedelta(hours=24))
    w.locate(f"{DAY}T08:00", 10_000)
    missing = w.order(f"{DAY}T09:00")
    assert (missing.action, missing.reasons) == ("reject", (r.REFERENCE_DATA_STALE,))
    detail = dict(missing.details)[r.REFERENCE_DATA_STALE]
    assert "threshold list" in detail and "hard-to-borrow list" in detail
    w.threshold(f"{DAY}T09:10")
    only_htb = w.order(f"{DAY}T09:15")
    assert only_htb.reasons == (r.REFERENCE_DATA_STALE,)
    assert "threshold list" not in dict(only_htb.details)[r.REFERENCE_DATA_STALE]
    w.htb(f"{DAY}T09:20")
    assert w.order(f"{DAY}T09:21").reasons == (r.LOCATE,)
    w.locate("2024-06-04T08:00", 10_000)
    assert w.order("2024-06-04T09:09:59.999999").reasons == (r.LOCATE,)
    stale = w.order("2024-06-04T09:10:00")
    assert stale.reasons == (r.REFERENCE_DATA_STALE,)
    assert stale.consume == ()


def test_reference_age_not_enforced_by_default(world) -> None:
    world.locate(f"{DAY}T08:00", 1000)
    assert world.order(f"{DAY}T09:00").reasons == (r.LOCATE,)


def test_stale_reference_rejects_even_bona_fide_market_making(make_world) -> None:
    w = make_world(reference_max_age=dt.timedelta(minutes=30))
    w.threshold(f"{DAY}T08:00")
    w.htb(f"{DAY}T08:00")
    w.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    assert w.order(f"{DAY}T08:29", account="MM1", bona_fide_mm=True).accepted
    d = w.order(f"{DAY}T08:30", account="MM1", bona_fide_mm=True)
    assert (d.action, d.reasons) == ("reject", (r.REFERENCE_DATA_STALE,))


def test_orders_before_reg_sho_cannot_be_judged(world) -> None:
    order = world.make_order("2004-12-31T10:00", "buy")
    with pytest.raises(GateError):
        decide(order, world.snap)
    assert decide(world.make_order("2005-01-03T10:00", "buy"), world.snap).accepted
