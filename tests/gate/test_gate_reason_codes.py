"""Every reason code of regsho.law.reasons.CODES: one case that produces it, and the same case with one fact
changed that gives the other outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from regsho.core.events import Account, AccountType, Security
from regsho.law import reasons as r
from regsho.law.decision import Decision

Pair = tuple[Decision, Decision]
DAY = "2024-06-03"


def _buy(mk) -> Pair:
    w = mk()
    return w.order(f"{DAY}T10:00", "buy", 100), w.order(f"{DAY}T10:00", "sell", 100)


def _long_sale(mk) -> Pair:
    w1, w2 = mk(), mk()
    w1.position(f"{DAY}T08:00", 500)
    w2.position(f"{DAY}T08:00", 499)
    return w1.order(f"{DAY}T10:00", "sell", 500), w2.order(f"{DAY}T10:00", "sell", 500)


def _not_net_long(mk) -> Pair:
    a, b = _long_sale(mk)
    return b, a


def _locate(mk) -> Pair:
    w1, w2 = mk(), mk()
    w1.locate(f"{DAY}T08:00", 1000, id="L1")
    w2.locate(f"{DAY}T08:00", 999, id="L1")
    return (w1.order(f"{DAY}T10:00", qty=1000, locate="L1"), w2.order(f"{DAY}T10:00", qty=1000, locate="L1"))


def _reuse_world(mk, symbol: str):
    w = mk()
    w.locate(f"{DAY}T08:00", 1000, symbol=symbol, id="L1")
    w.short_and_fill(f"{DAY}T09:45", 1000, symbol=symbol, locate="L1")
    w.buy_and_fill(f"{DAY}T10:30", 1000, symbol=symbol)
    return w


def _locate_reused(mk) -> Pair:
    ok = _reuse_world(mk, "XYZ").order(f"{DAY}T11:00", qty=1000, symbol="XYZ", locate="L1")
    barred = _reuse_world(mk, "HTB1").order(f"{DAY}T11:00", qty=1000, symbol="HTB1", locate="L1")
    return ok, barred


def _locate_reuse_not_allowed(mk) -> Pair:
    a, b = _locate_reused(mk)
    return b, a


def _etb(mk) -> Pair:
    w = mk()
    w.etb(f"{DAY}T07:00", "XYZ")
    return w.order("2024-06-04T06:59:59.999999", qty=5000), w.order("2024-06-04T07:00:00", qty=5000)


def _pre_borrow(mk) -> Pair:
    w1, w2 = mk(), mk()
    w1.pre_borrow(f"{DAY}T08:00", 1000)
    w2.pre_borrow(f"{DAY}T08:00", 999)
    return w1.order(f"{DAY}T10:00", qty=1000), w2.order(f"{DAY}T10:00", qty=1000)


def _bfmm(mk) -> Pair:
    w1, w2 = mk(), mk()
    w1.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    w2.mm(f"{DAY}T08:00", "MM1", "XYZ", False)
    return (w1.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True),
            w2.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True))


def _not_bfmm(mk) -> Pair:
    w = mk()
    w.mm(f"{DAY}T08:00", "MM1", "XYZ", True)
    w.mm(f"{DAY}T08:00", "P1", "XYZ", True)
    return (w.order(f"{DAY}T09:35", account="P1", bona_fide_mm=True),
            w.order(f"{DAY}T09:35", account="MM1", bona_fide_mm=True))


def _short_exempt(mk) -> Pair:
    w = mk()
    w.ssr("2024-10-10T11:00")
    w.locate("2024-10-11T08:00", 1000)
    w.locate("2024-10-14T08:00", 1000)
    kw = {"price": "8.50", "nbb": "8.50", "exempt": "201(d)(1)"}
    return (w.order("2024-10-11T10:00", "sell_short_exempt", **kw),
            w.order("2024-10-14T10:00", "sell_short_exempt", **kw))


def _short_exempt_invalid(mk) -> Pair:
    w = mk()
    w.ssr("2024-10-10T11:00")
    w.locate("2024-10-10T08:00", 1000)
    return (w.order("2024-10-10T11:05", "sell_short_exempt", price="9.00", nbb="9.00", exempt="201(c)"),
            w.order("2024-10-10T11:05", "sell_short_exempt", price="9.01", nbb="9.00", exempt="201(c)"))


def _no_locate(mk) -> Pair:
    w1, w2 = mk(), mk()
    w2.locate(f"{DAY}T08:00", 100)
    return w1.order(f"{DAY}T10:00"), w2.order(f"{DAY}T10:00")


def _locate_expired(mk) -> Pair:
    w = mk()
    w.locate(f"{DAY}T08:00", 1000, id="L1")
    return (w.order("2024-06-04T00:00:00", locate="L1"), w.order(f"{DAY}T23:59:59.999999", locate="L1"))


def _locate_exhausted(mk) -> Pair:
    w = mk()
    w.locate(f"{DAY}T08:00", 1000, id="L1")
    assert w.order(f"{DAY}T09:45", qty=600, locate="L1").accepted
    return w.order(f"{DAY}T09:46", qty=401, locate="L1"), w.order(f"{DAY}T09:47", qty=400, locate="L1")


def _pre_borrow_required(mk) -> Pair:
    w1, w2 = mk(), mk()
    for w in (w1, w2):
        w.require_pre_borrow(f"{DAY}T09:30")
        w.locate(f"{DAY}T08:00", 1000)
    w2.pre_borrow(f"{DAY}T09:00", 100)
    return w1.order(f"{DAY}T10:00"), w2.order(f"{DAY}T10:00")


def _price_test(mk) -> Pair:
    w = mk()
    w.ssr("2024-10-10T11:00")
    w.locate("2024-10-10T08:00", 1000)
    return (w.order("2024-10-10T11:05", price="9.00", nbb="9.00"),
            w.order("2024-10-10T11:06", price="9.01", nbb="9.00"))


def _unknown_security(mk) -> Pair:
    without = mk(securities=[Security("ABC")])
    return without.order(f"{DAY}T10:00", "buy"), mk().order(f"{DAY}T10:00", "buy")


def _unknown_account(mk) -> Pair:
    without = mk(accounts=[Account("A2", "FIRM", AccountType.CUSTOMER)])
    return without.order(f"{DAY}T10:00", "buy"), mk().order(f"{DAY}T10:00", "buy")


def _stale(mk) -> Pair:
    w = mk(reference_max_age=dt.timedelta(hours=24))
    w.threshold(f"{DAY}T07:00")
    w.htb(f"{DAY}T07:00")
    w.locate("2024-06-04T06:00", 1000)
    return w.order("2024-06-04T07:00:00"), w.order("2024-06-04T06:59:59.999999")


def _invalid_order(mk) -> Pair:
    w1, w2 = mk(), mk()
    w1.locate(f"{DAY}T08:00", 1000, id="L1")
    w2.locate(f"{DAY}T08:00", 1000, id="L1")
    return w1.order(f"{DAY}T10:00", qty=-600, locate="L1"), w2.order(f"{DAY}T10:00", qty=600, locate="L1")


CASES: dict[str, Callable[..., Pair]] = {
    r.BUY: _buy,
    r.LONG_SALE: _long_sale,
    r.LOCATE: _locate,
    r.LOCATE_REUSED: _locate_reused,
    r.EASY_TO_BORROW: _etb,
    r.PRE_BORROW: _pre_borrow,
    r.BONA_FIDE_MARKET_MAKING: _bfmm,
    r.SHORT_EXEMPT: _short_exempt,
    r.NOT_NET_LONG: _not_net_long,
    r.NO_LOCATE: _no_locate,
    r.LOCATE_EXPIRED: _locate_expired,
    r.LOCATE_EXHAUSTED: _locate_exhausted,
    r.LOCATE_REUSE_NOT_ALLOWED: _locate_reuse_not_allowed,
    r.PRE_BORROW_REQUIRED: _pre_borrow_required,
    r.PRICE_TEST_RESTRICTED: _price_test,
    r.SHORT_EXEMPT_INVALID: _short_exempt_invalid,
    r.NOT_BONA_FIDE_MARKET_MAKING: _not_bfmm,
    r.UNKNOWN_SECURITY: _unknown_security,
    r.UNKNOWN_ACCOUNT: _unknown_account,
    r.REFERENCE_DATA_STALE: _stale,
    r.INVALID_ORDER: _invalid_order,
}


def test_every_code_has_a_case() -> None:
    assert set(CASES) == set(r.CODES)


@pytest.mark.parametrize("code", sorted(r.CODES))
def test_code_produced_and_flipped(code: str, make_world) -> None:
    produced, flipped = CASES[code](make_world)
    info = r.CODES[code]
    assert code in produced.reasons, produced
    assert produced.action == info.action
    assert flipped.action != produced.action, flipped
    assert code not in flipped.reasons
    # The decision cites every citation of the code (a pre-borrow rejection cites just the provision of the period
    # that binds, one of the code's), and the code explains itself.
    if code == r.PRE_BORROW_REQUIRED:
        assert [cite for cite in info.cites if cite in produced.cites] == ["17 CFR 242.204(b)"]
    else:
        for cite in info.cites:
            assert cite in produced.cites
    assert info.meaning
    if produced.accepted:
        assert produced.reasons[0] == code or code == r.SHORT_EXEMPT


def test_codes_table_is_consistent() -> None:
    for code, info in r.CODES.items():
        assert info.code == code
        assert info.action in ("accept", "reject")
        assert info.cites and all(isinstance(c, str) and c for c in info.cites)
    accepts = {c for c, i in r.CODES.items() if i.action == "accept"}
    assert accepts == {r.BUY, r.LONG_SALE, r.LOCATE, r.LOCATE_REUSED, r.EASY_TO_BORROW, r.PRE_BORROW,
                       r.BONA_FIDE_MARKET_MAKING, r.SHORT_EXEMPT}
