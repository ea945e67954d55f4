"""Bad close-out input is a scenario error naming the event's index and field; nothing is half-replayed."""

from __future__ import annotations

import pytest

from regsho.adapters.scenario import ScenarioError, loads
from regsho.app.replay import ReplayResult, replay

HEAD = """
version: 1
firm: {id: FIRM, clears_for: [CORR]}
securities:
  XYZ: {}
accounts:
  A1: {bd: FIRM, type: customer}
events:
"""
FAIL = ('  - {at: "2024-06-04T18:00", type: fail, symbol: XYZ, qty: 1000, settlement_date: "2024-06-04", '
        'origin: short_sale, trade_date: "2024-06-03"}\n')


def _replay(events: str) -> ReplayResult:
    return replay(loads(HEAD + events, "bad.yaml"))


@pytest.mark.parametrize(
    ("events", "where", "field"),
    [
        ('  - {at: "2024-06-08T18:00", type: fail, symbol: XYZ, qty: 1, settlement_date: "2024-06-08", '
         'origin: short_sale}\n', "events[0] (fail)", "settlement_date"),
        ('  - {at: "2024-10-14T18:00", type: fail, symbol: XYZ, qty: 1, settlement_date: "2024-10-14", '
         'origin: short_sale}\n', "events[0] (fail)", "settlement_date"),
        ('  - {at: "2024-06-03T18:00", type: fail, symbol: XYZ, qty: 1, settlement_date: "2024-06-04", '
         'origin: short_sale}\n', "events[0] (fail)", "settlement_date"),
        ('  - {at: "2024-06-04T18:00", type: fail, symbol: XYZ, qty: 1, settlement_date: "2024-06-04", '
         'origin: rule144}\n', "events[0] (fail)", "trade_date"),
        (FAIL + '  - {at: "2024-06-05T08:00", type: certify, bd: CORR, symbol: XYZ, date: "2024-06-08", '
                'basis: no_fail}\n', "events[1] (certify)", "date"),
        (FAIL + '  - {at: "2024-06-05T08:00", type: certify, bd: FIRM, symbol: XYZ, date: "2024-06-04", '
                'basis: no_fail}\n', "events[1] (certify)", "bd"),
        (FAIL + '  - {at: "2024-06-04T19:00", type: allocate, symbol: XYZ, qty: 1001, to: CORR}\n',
         "events[1] (allocate)", "qty"),
        ('  - {at: "2024-06-09T19:00", type: cns, symbol: XYZ, date: "2024-06-09", fail_qty: 5}\n',
         "events[0] (cns)", "date"),
        ('  - {at: "2024-06-05T19:00", type: cns, symbol: XYZ, date: "2024-06-05", fail_qty: 5}\n'
         '  - {at: "2024-06-05T19:01", type: cns, symbol: XYZ, date: "2024-06-04", fail_qty: 5}\n',
         "events[1] (cns)", "date"),
        ('  - {at: "2024-06-05T19:00", type: attestation, symbol: XYZ, qty: 5, settlement_date: "2024-06-09"}\n',
         "events[0] (attestation)", "settlement_date"),
        ('  - {at: "2004-12-30T10:00", type: close_out, id: C1, symbol: XYZ, qty: 5, method: purchase}\n',
         "events[0] (close_out)", "at"),
        ('  - {at: "2005-01-03T18:00", type: fail, symbol: XYZ, qty: 1, settlement_date: "2004-12-31", '
         'origin: short_sale}\n', "events[0] (fail)", "settlement_date"),
    ],
    ids=["fail-on-saturday", "fail-on-columbus-day", "fail-known-before-settlement", "rule144-without-trade-date",
         "certify-date-not-settlement-day", "participant-certifies-to-itself", "allocate-more-than-owed",
         "cns-on-sunday", "cns-out-of-date-order", "attestation-date-not-settlement-day", "close-out-before-2005",
         "fail-settling-before-2005"],
)
def test_bad_input_names_event_and_field(events: str, where: str, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _replay(events)
    err = info.value
    assert err.where == where
    assert err.field == field
    assert "bad.yaml" in str(err)


def test_close_out_by_broker_dealer_that_owes_nothing_is_not_bad_input() -> None:
    res = _replay('  - {at: "2024-06-05T09:00", type: close_out, id: C1, symbol: XYZ, qty: 5, method: purchase, '
                  'bd: CORR}\n')
    assert res.obligations == [] and res.pre_borrow == [] and res.findings == []
