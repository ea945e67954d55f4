"""The pure, dated close-out rules (regsho.rules.r204, regsho.rules.r203_b3), with the boundary of each parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from regsho.calendars import ET, Calendars
from regsho.core.events import CloseOutMethod, FailOrigin, SecurityKind
from regsho.law.params import RegimeError
from regsho.rules import r203_b3, r204, r204_b

D = dt.date


def T(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=ET)


@pytest.mark.parametrize(
    ("settle", "expected"),
    [(D(2005, 1, 3), r204.Regime.NONE), (D(2008, 9, 17), r204.Regime.NONE), (D(2008, 9, 18), r204.Regime.R204T),
     (D(2009, 7, 30), r204.Regime.R204T), (D(2009, 7, 31), r204.Regime.R204)],
)
def test_regime_by_settlement_date(settle: dt.date, expected: r204.Regime) -> None:
    assert r204.regime(settle) is expected


def test_dates_before_reg_sho_are_errors() -> None:
    with pytest.raises(RegimeError):
        r204.regime(D(2004, 12, 31))
    with pytest.raises(RegimeError):
        r203_b3.thirteen_days(D(2004, 12, 31))


@pytest.mark.parametrize(
    ("origin", "settle", "rule"),
    [
        (FailOrigin.SHORT_SALE, D(2024, 6, 4), "204(a)"),
        (FailOrigin.OPTION_EXERCISE, D(2024, 6, 4), "204(a)"),
        (FailOrigin.LONG_SALE, D(2024, 6, 4), "204(a)(1)"),
        (FailOrigin.BONA_FIDE_MM, D(2024, 6, 4), "204(a)(3)"),
        (FailOrigin.OPTIONS_MM_HEDGE, D(2024, 6, 4), "204(a)(3)"),
        (FailOrigin.DEEMED_TO_OWN, D(2024, 6, 4), "204(a)(2)"),
        (FailOrigin.RULE144, D(2024, 6, 4), "204(a)(2)"),
        (FailOrigin.LONG_SALE, D(2008, 11, 3), "204T(a)(1)"),
        (FailOrigin.SHORT_SALE, D(2006, 3, 6), None),
        (FailOrigin.DEEMED_TO_OWN, D(2006, 3, 6), "203(b)(2)(ii)"),
    ],
)
def test_rule_names_by_origin(origin: FailOrigin, settle: dt.date, rule: str | None) -> None:
    assert r204.obligation_rule(origin, settle, attested=True, hedge_excepted=False) == rule


def test_204t_attestation_decides_market_maker_rule() -> None:
    s = D(2008, 9, 22)
    assert r204.attestation_required(FailOrigin.BONA_FIDE_MM, s)
    assert not r204.attestation_required(FailOrigin.BONA_FIDE_MM, D(2008, 10, 17))
    assert not r204.attestation_required(FailOrigin.SHORT_SALE, s)
    assert r204.obligation_rule(FailOrigin.BONA_FIDE_MM, s, attested=False, hedge_excepted=False) == "204T(a)"
    assert r204.obligation_rule(FailOrigin.BONA_FIDE_MM, s, attested=True, hedge_excepted=False) == "204T(a)(3)"
    assert r204.obligation_rule(FailOrigin.OPTIONS_MM_HEDGE, s, attested=True, hedge_excepted=True) is None


def test_attestation_due_end_of_s_plus_1(cal: Calendars) -> None:
    assert r204.attestation_due(D(2008, 9, 22), cal) == T("2008-09-24T00:00")
    assert r204.attestation_due(D(2008, 10, 10), cal) == T("2008-10-15T00:00")  # Columbus Day 2008-10-13


@pytest.mark.parametrize(
    ("rule", "settle", "trade", "deadline"),
    [
        ("204(a)", D(2024, 10, 11), None, "2024-10-15T09:30"),  # Columbus Day
        ("204(a)", D(2024, 11, 8), None, "2024-11-12T09:30"),  # Veterans Day
        ("204(a)(1)", D(2024, 11, 8), None, "2024-11-14T09:30"),
        ("204(a)(3)", D(2024, 11, 8), None, "2024-11-14T09:30"),
        ("204(a)", D(2025, 4, 17), None, "2025-04-21T09:30"),  # Good Friday
        ("204(a)", D(2024, 6, 18), None, "2024-06-20T09:30"),  # Juneteenth
        ("204(a)", D(2016, 3, 4), None, "2016-03-07T09:30"),
        ("204(a)(1)", D(2016, 3, 4), None, "2016-03-09T09:30"),
        ("204(a)(2)", D(2021, 1, 27), D(2021, 1, 25), "2021-03-01T09:30"),
        ("204(a)(2)", D(2024, 5, 31), D(2024, 5, 30), "2024-07-03T09:30"),  # 35th day is July 4
        ("204(a)(2)", D(2025, 3, 17), D(2025, 3, 14), "2025-04-17T09:30"),  # 35th day is Good Friday
        ("204(a)(2)", D(2024, 10, 15), D(2024, 10, 14), "2024-11-18T09:30"),  # 35th day is a Monday
        ("204(a)(2)", D(2024, 10, 15), D(2024, 10, 12), "2024-11-15T09:30"),  # 35th day is a Saturday
        ("203(b)(2)(ii)", D(2006, 3, 6), D(2006, 3, 1), "2006-04-05T09:30"),
    ],
)
def test_deadlines(cal: Calendars, rule: str, settle: dt.date, trade: dt.date | None, deadline: str) -> None:
    assert r204.deadline(rule, settle, trade, cal) == T(deadline)


def test_cures() -> None:
    assert r204.cure_for("204(a)") is r204.Cure.PURCHASE_OR_BORROW
    assert r204.cure_for("204T(a)(3)") is r204.Cure.PURCHASE_OR_BORROW
    assert r204.cure_for("204(a)(2)") is r204.Cure.PURCHASE
    assert r204.cure_for("203(b)(3)") is r204.Cure.PURCHASE
    assert r204.cure_for("203(b)(3)(ii)") is r204.Cure.PURCHASE
    assert r204.cures(r204.BORROW, r204.Cure.PURCHASE_OR_BORROW)
    assert not r204.cures(r204.BORROW, r204.Cure.PURCHASE)
    assert r204.cures(r204.PURCHASE, r204.Cure.PURCHASE)


@pytest.mark.parametrize(
    ("method", "kind", "irrevocable", "delivers", "counts", "finding"),
    [
        (CloseOutMethod.PURCHASE, SecurityKind.STOCK, True, True, "purchase", None),
        (CloseOutMethod.BORROW, SecurityKind.STOCK, True, True, "borrow", None),
        (CloseOutMethod.ETF_CREATION, SecurityKind.ETF, True, True, "purchase", None),
        (CloseOutMethod.ETF_CREATION, SecurityKind.STOCK, True, True, None, "NOT_A_CLOSE_OUT"),
        (CloseOutMethod.ADR_CONVERSION, SecurityKind.ADR, True, True, None, "NOT_A_CLOSE_OUT"),
        (CloseOutMethod.PURCHASE, SecurityKind.STOCK, False, True, None, "NOT_A_CLOSE_OUT"),
        (CloseOutMethod.PURCHASE, SecurityKind.STOCK, True, False, None, "SHAM_CLOSE_OUT"),
    ],
)
def test_judge_close_out(method: CloseOutMethod, kind: SecurityKind, irrevocable: bool, delivers: bool,
                         counts: str | None, finding: str | None) -> None:
    got = r204.judge_close_out(method, kind, irrevocable, delivers)
    assert got[:2] == (counts, finding)


def test_pre_fail_credit_window_and_conditions(cal: Calendars) -> None:
    w = r204.pre_fail_credit_window(D(2024, 6, 3), D(2024, 6, 4), cal)
    assert w == (T("2024-06-04T00:00"), T("2024-06-04T16:00"))
    fail_at = T("2024-06-04T18:00")
    assert r204.pre_fail_credit_applies(T("2024-06-04T16:00"), 1000, True, fail_at, 1000, w)
    assert not r204.pre_fail_credit_applies(T("2024-06-04T16:00:01"), 1000, True, fail_at, 1000, w)
    assert not r204.pre_fail_credit_applies(T("2024-06-03T23:59"), 1000, True, fail_at, 1000, w)
    assert not r204.pre_fail_credit_applies(T("2024-06-04T12:00"), 999, True, fail_at, 1000, w)
    assert not r204.pre_fail_credit_applies(T("2024-06-04T12:00"), 1000, False, fail_at, 1000, w)
    assert not r204.pre_fail_credit_applies(T("2024-06-04T12:00"), 1000, True, T("2024-06-04T11:00"), 1000, w)


def test_implied_trade_date_is_latest_regular_way(cal: Calendars) -> None:
    assert r204.implied_trade_date(D(2024, 10, 15), cal) == D(2024, 10, 14)  # a Columbus Day trade settles 10-15
    assert r204.implied_trade_date(D(2021, 1, 27), cal) == D(2021, 1, 25)
    assert r204.implied_trade_date(D(2016, 3, 4), cal) == D(2016, 3, 1)


def test_certification_and_pre_borrow_end(cal: Calendars) -> None:
    assert r204_b.certification_counts(T("2024-06-05T09:30"), T("2024-06-05T09:30"))
    assert not r204_b.certification_counts(T("2024-06-05T09:30:01"), T("2024-06-05T09:30"))
    assert r204_b.pre_borrow_end(T("2024-06-05T10:00"), cal) == T("2024-06-07T00:00")  # T+1
    assert r204_b.pre_borrow_end(T("2021-01-28T10:00"), cal) == T("2021-02-02T00:00")  # T+2
    assert r204_b.pre_borrow_end(T("2016-03-07T10:00"), cal) == T("2016-03-11T00:00")  # T+3
    assert r204_b.pre_borrow_end(T("2024-10-14T10:00"), cal) == T("2024-10-16T00:00")  # Columbus Day trade
    assert r204_b.pre_borrow_rule("204(a)") == "204(b)"
    assert r204_b.pre_borrow_rule("204T(a)(3)") == "204T(b)"
    assert r204_b.pre_borrow_rule("203(b)(2)(ii)") is None


def test_cyclical_window(cal: Calendars) -> None:
    co = T("2024-06-05T09:00")
    assert r204.cyclical(co, D(2024, 6, 12), True, cal)  # 5th settlement day after
    assert not r204.cyclical(co, D(2024, 6, 13), True, cal)  # 6th
    assert not r204.cyclical(co, D(2024, 6, 6), False, cal)
    assert not r204.cyclical(co, D(2024, 6, 4), True, cal)


def test_threshold_count_rules(cal: Calendars) -> None:
    assert r203_b3.thirteen_days(D(2024, 6, 3)) == 13
    assert r203_b3.layer_days(r203_b3.Layer.RULE144, D(2024, 6, 3)) == 35
    assert r203_b3.threshold_since(T("2006-03-03T20:00"), cal) == D(2006, 3, 3)
    assert r203_b3.threshold_since(T("2024-06-01T10:00"), cal) == D(2024, 6, 3)  # a Saturday list
    assert r203_b3.excepted_quantity(D(2007, 10, 12), 5000, 0) == 5000
    assert r203_b3.excepted_quantity(D(2007, 10, 15), 5000, 0) == 0
    assert r203_b3.excepted_quantity(D(2008, 10, 16), 0, 20000) == 20000
    assert r203_b3.excepted_quantity(D(2008, 10, 17), 0, 20000) == 0
    assert not r203_b3.rule144_extended(D(2007, 10, 12))
    assert r203_b3.rule144_extended(D(2007, 10, 15))
    assert r203_b3.counted_position(1000, 5000, 0) == 0
    assert r203_b3.counted_position(9000, 5000, 1000) == 3000
    assert r203_b3.day_counts(True, 1) and not r203_b3.day_counts(False, 1) and not r203_b3.day_counts(True, 0)
    assert r203_b3.obligation_quantity([5000, 6000, 4000, 7000]) == 4000
    assert r203_b3.obligation_deadline(D(2024, 6, 18), cal) == T("2024-06-20T09:30")
    assert r203_b3.pre_borrow_rule("203(b)(3)") == "203(b)(3)"
    assert r203_b3.pre_borrow_rule("203(b)(3)(ii)") == "203(b)(3)(v)"
    assert r203_b3.rest_of_day(T("2024-06-21T11:00"), cal) == T("2024-06-22T00:00")
    assert r203_b3.phase_out_start(r203_b3.Layer.GRANDFATHER_PHASE_OUT) == D(2007, 10, 15)
    assert r203_b3.phase_out_start(r203_b3.Layer.OPTIONS_PHASE_OUT) == D(2008, 10, 17)
    with pytest.raises(ValueError):
        r203_b3.phase_out_start(r203_b3.Layer.RULE144)


def test_options_hedge_exception() -> None:
    f = FailOrigin.OPTIONS_MM_HEDGE
    assert r204.options_hedge_excepted(f, D(2006, 3, 6), D(2006, 2, 15), D(2006, 3, 3))
    assert not r204.options_hedge_excepted(f, D(2006, 3, 6), D(2006, 3, 3), D(2006, 3, 3))
    assert not r204.options_hedge_excepted(f, D(2008, 10, 17), D(2006, 2, 15), D(2006, 3, 3))
    assert not r204.options_hedge_excepted(FailOrigin.OPTION_EXERCISE, D(2006, 3, 6), D(2006, 2, 15), D(2006, 3, 3))
    assert not r204.options_hedge_excepted(f, D(2006, 3, 6), D(2006, 2, 15), None)
