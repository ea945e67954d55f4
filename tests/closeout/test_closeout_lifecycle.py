"""Lifecycles as transition tables (DESIGN principle 8): every state and event, allowed or refused; and the engine's
time rules that a scenario's ``expect`` block cannot state directly."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from regsho.adapters.scenario import loads
from regsho.app.replay import ReplayResult, replay
from regsho.calendars import ET, default_calendars
from regsho.core.lifecycle import Lifecycle, TransitionError
from regsho.engine.lifecycles import all_lifecycles
from regsho.engine.obligations import ATTESTATION, OBLIGATION, Attest, AttestEvent, ObEvent, Status


@pytest.mark.parametrize("life", all_lifecycles(), ids=lambda lc: lc.name)
def test_every_state_against_every_event(life: Lifecycle[Any, Any]) -> None:
    for state, event in itertools.product(life.states, life.events):
        expected = life.table.get((state, event))
        if expected is None:
            assert not life.allows(state, event)
            with pytest.raises(TransitionError, match=event.value):
                life.step(state, event, "X1")
        else:
            assert life.step(state, event) is expected


@pytest.mark.parametrize("life", all_lifecycles(), ids=lambda lc: lc.name)
def test_every_state_is_reachable_from_the_initial_one(life: Lifecycle[Any, Any]) -> None:
    seen = {life.initial}
    frontier = [life.initial]
    while frontier:
        s = frontier.pop()
        for (a, _), b in life.table.items():
            if a == s and b not in seen:
                seen.add(b)
                frontier.append(b)
    unreachable = set(life.states) - seen
    # An obligation may start open; the attestation question starts pending on a 204T market maker's fail.
    allowed = {"204T attestation": {"pending", "attested", "not_attested"}}.get(life.name, set())
    assert {s.value for s in unreachable} <= allowed


def test_missed_is_final_except_for_cures() -> None:
    assert {e for (s, e) in OBLIGATION.table if s is Status.MISSED} == {ObEvent.LATE_CURE, ObEvent.PARTLY_CURED}
    assert OBLIGATION.table[(Status.MISSED, ObEvent.LATE_CURE)] is Status.MISSED
    assert OBLIGATION.terminal(Status.CLOSED)
    assert ATTESTATION.step(Attest.PENDING, AttestEvent.DUE_PASSED) is Attest.NOT_ATTESTED


HEAD = """
version: 1
firm: {id: FIRM, clears_for: [CORR]}
securities:
  XYZ: {}
  THR: {}
accounts:
  A1: {bd: FIRM, type: customer}
events:
"""


def _run(events: str) -> ReplayResult:
    return replay(loads(HEAD + events, "t.yaml"))


def test_statuses_are_those_at_the_last_event() -> None:
    fail = ('  - {at: "2024-06-04T18:00", type: fail, symbol: XYZ, qty: 10, settlement_date: "2024-06-04", '
            'origin: short_sale}\n')
    at_deadline = _run(fail + '  - {at: "2024-06-05T09:30", type: cns, symbol: XYZ, date: "2024-06-04", '
                              'fail_qty: 10}\n')
    assert at_deadline.obligations[0].status == "open"
    assert at_deadline.pre_borrow == []
    after = _run(fail + '  - {at: "2024-06-05T09:30:01", type: cns, symbol: XYZ, date: "2024-06-04", '
                        'fail_qty: 10}\n')
    assert after.obligations[0].status == "missed"
    assert [p.bd for p in after.pre_borrow] == ["FIRM", "CORR"]
    assert [f.code for f in after.findings] == ["CLOSE_OUT_MISSED"]
    assert "17 CFR 242.204(a)" in after.findings[0].cites


def test_204t_attestation_question_settled_at_the_end_of_the_replay() -> None:
    res = _run('  - {at: "2008-09-22T18:00", type: fail, symbol: XYZ, qty: 10, settlement_date: "2008-09-22", '
               'origin: bona_fide_mm}\n'
               '  - {at: "2008-09-23T12:00", type: cns, symbol: XYZ, date: "2008-09-23", fail_qty: 10}\n')
    ob = res.obligations[0]
    assert (ob.rule, ob.status) == ("204T(a)", "missed")
    assert ob.deadline == dt.datetime(2008, 9, 23, 9, 30, tzinfo=ET)
    start = dt.datetime(2008, 9, 24, tzinfo=ET)
    assert [(p.rule, p.start) for p in res.pre_borrow] == [("204T(b)", start), ("204T(b)", start)]


def _cns_days(start: dt.date, n: int, qty: int) -> str:
    cal = default_calendars()
    d = start if cal.is_settlement_day(start) else cal.next_settlement_day(start)
    out = []
    for _ in range(n):
        out.append(f'  - {{at: "{d}T19:00", type: cns, symbol: THR, date: "{d}", fail_qty: {qty}}}\n')
        d = cal.next_settlement_day(d)
    return "".join(out)


@pytest.mark.parametrize(("days", "owed"), [(34, False), (35, True)])
def test_rule144_day_34_vs_35(days: int, owed: bool) -> None:
    res = _run('  - {at: "2024-05-31T20:00", type: threshold_list, symbols: [THR]}\n'
               '  - {at: "2024-06-04T18:00", type: fail, symbol: THR, qty: 500, settlement_date: "2024-06-04", '
               'origin: rule144, trade_date: "2024-06-03"}\n' + _cns_days(dt.date(2024, 6, 4), days, 500))
    rules = [o.rule for o in res.obligations]
    assert "203(b)(3)" not in rules  # a Rule 144 fail never hits the 13-day close-out
    assert ("203(b)(3)(ii)" in rules) is owed


@pytest.mark.parametrize(("days", "owed"), [(34, False), (35, True)])
def test_grandfather_phase_out_day_34_vs_35(days: int, owed: bool) -> None:
    res = _run('  - {at: "2007-10-10T19:00", type: cns, symbol: THR, date: "2007-10-10", fail_qty: 500}\n'
               '  - {at: "2007-10-11T18:00", type: threshold_list, symbols: [THR]}\n'
               + _cns_days(dt.date(2007, 10, 11), 2 + days, 500))
    assert [o.rule for o in res.obligations] == (["203(b)(3)(i)"] if owed else [])


def test_new_fail_above_grandfathered_amount_after_2007_10_15_counts_13_days() -> None:
    res = _run('  - {at: "2007-10-10T19:00", type: cns, symbol: THR, date: "2007-10-10", fail_qty: 500}\n'
               '  - {at: "2007-10-11T18:00", type: threshold_list, symbols: [THR]}\n'
               + _cns_days(dt.date(2007, 10, 11), 2, 500) + _cns_days(dt.date(2007, 10, 15), 13, 800))
    assert [(o.rule, o.qty) for o in res.obligations] == [("203(b)(3)", 300)]


@pytest.mark.parametrize(("days", "owed"), [(12, False), (13, True)])
def test_thirteen_day_boundary(days: int, owed: bool) -> None:
    res = _run('  - {at: "2024-05-31T20:00", type: threshold_list, symbols: [THR]}\n'
               + _cns_days(dt.date(2024, 6, 3), days, 100))
    assert [o.rule for o in res.obligations] == (["203(b)(3)"] if owed else [])


def test_not_a_threshold_security_never_counts() -> None:
    res = _run(_cns_days(dt.date(2024, 6, 3), 20, 100))
    assert res.obligations == []


def test_off_the_list_for_a_day_restarts_the_count() -> None:
    res = _run('  - {at: "2024-05-31T20:00", type: threshold_list, symbols: [THR]}\n'
               + _cns_days(dt.date(2024, 6, 3), 5, 100)
               + '  - {at: "2024-06-10T20:00", type: threshold_list, symbols: []}\n'
               + '  - {at: "2024-06-10T21:00", type: cns, symbol: THR, date: "2024-06-10", fail_qty: 100}\n'
               + '  - {at: "2024-06-11T08:00", type: threshold_list, symbols: [THR]}\n'
               + _cns_days(dt.date(2024, 6, 11), 12, 100))
    assert res.obligations == []
