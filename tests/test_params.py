"""The table of regulatory parameters: values by effective date, each with a citation (DESIGN principle 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from regsho.law import params
from regsho.law.params import RegimeError

D = dt.date.fromisoformat


@pytest.mark.parametrize(("on", "days"), [
    ("1995-06-07", 3),
    ("2005-01-03", 3),
    ("2017-09-01", 3),
    ("2017-09-04", 3),
    ("2017-09-05", 2),
    ("2021-01-25", 2),
    ("2024-05-24", 2),
    ("2024-05-27", 2),
    ("2024-05-28", 1),
    ("2030-12-31", 1),
])
def test_settlement_cycle_by_trade_date(on: str, days: int) -> None:
    assert params.int_value("settlement.cycle_days", D(on)) == days
    row = params.lookup("settlement.cycle_days", D(on))
    assert row.value == days
    assert row.effective <= D(on)


def test_boundaries_name_the_releases() -> None:
    assert params.lookup("settlement.cycle_days", D("2017-09-01")).cite == "17 CFR 240.15c6-1"
    assert params.lookup("settlement.cycle_days", D("2017-09-05")).cite == "Release 34-80295 (2017)"
    assert params.lookup("settlement.cycle_days", D("2024-05-27")).cite == "Release 34-80295 (2017)"
    assert params.lookup("settlement.cycle_days", D("2024-05-28")).cite == "Release 34-96930 (2023)"
    assert [r.effective for r in params.history("settlement.cycle_days")][1:] == [D("2017-09-05"), D("2024-05-28")]


def test_lookup_by_effective_date_for_other_parameters() -> None:
    assert params.value("locate.etb_max_age", D("2024-06-03")) == dt.timedelta(hours=24)
    assert params.int_value("closeout.threshold_days", D("2005-01-03")) == 13
    assert params.int_value("closeout.short_sale_days", D("2008-09-18")) == 1
    assert params.int_value("closeout.long_sale_days", D("2024-06-03")) == 3
    assert params.int_value("closeout.market_maker_days", D("2024-06-03")) == 3
    assert params.int_value("closeout.deemed_to_own_calendar_days", D("2024-06-03")) == 35
    assert params.value("rule201.trigger_decline", D("2011-02-28")) == 0.10
    assert params.int_value("rule201.duration_next_trading_days", D("2011-02-28")) == 1
    assert params.value("regime.rule_201", D("2011-02-28")) == D("2011-02-28")


@pytest.mark.parametrize(("name", "before"), [
    ("settlement.cycle_days", "1995-06-06"),
    ("rule201.trigger_decline", "2011-02-27"),
    ("rule201.duration_next_trading_days", "2011-02-27"),
    ("closeout.short_sale_days", "2008-09-17"),
    ("closeout.phase_out_days", "2007-10-14"),
    ("locate.etb_max_age", "2005-01-02"),
    ("closeout.threshold_days", "2005-01-02"),
])
def test_regime_error_before_first_effective_date(name: str, before: str) -> None:
    with pytest.raises(RegimeError, match=name.replace(".", r"\.")):
        params.lookup(name, D(before))
    first = params.lookup(name, D(before) + dt.timedelta(days=1))
    assert first.effective == D(before) + dt.timedelta(days=1)


def test_int_value_and_value_raise_regime_error_too() -> None:
    with pytest.raises(RegimeError):
        params.int_value("settlement.cycle_days", D("1990-01-01"))
    with pytest.raises(RegimeError):
        params.value("rule201.trigger_decline", D("2010-11-10"))
    assert issubclass(RegimeError, ValueError)


def test_check_regime() -> None:
    params.check_regime(D("2005-01-03"))
    with pytest.raises(RegimeError, match="2005-01-03"):
        params.check_regime(D("2005-01-02"))


def test_unknown_parameter() -> None:
    with pytest.raises(KeyError):
        params.lookup("no.such.parameter", D("2024-06-03"))


def test_int_value_refuses_non_integers() -> None:
    with pytest.raises(TypeError):
        params.int_value("locate.etb_max_age", D("2024-06-03"))


def test_every_value_has_a_citation() -> None:
    assert params.TABLE
    for row in params.TABLE:
        assert isinstance(row.cite, str) and row.cite.strip(), row
        assert row.name in params.names()
        # Each row is reachable through lookup on its own effective date.
        assert params.lookup(row.name, row.effective) == row


def test_histories_are_unambiguous() -> None:
    for name in params.names():
        dates = [row.effective for row in params.TABLE if row.name == name]
        assert len(dates) == len(set(dates)), name


def test_regime_dates_are_read_from_the_table() -> None:
    for name, when in [("regime.reg_sho", "2005-01-03"), ("regime.rule_201", "2011-02-28"),
                       ("regime.rule_204t", "2008-09-18"), ("regime.rule_204", "2009-07-31"),
                       ("regime.grandfather_removed", "2007-10-15"),
                       ("regime.options_mm_exception_removed", "2008-10-17")]:
        row = params.history(name)[0]
        assert row.value == row.effective == params.regime_start(name) == D(when)
        assert params.regime_in_force(name, D(when)) and not params.regime_in_force(name, D(when) - dt.timedelta(1))


def test_a_trace_records_each_parameter_used_with_its_date_and_citation() -> None:
    with params.trace() as used:
        params.int_value("closeout.short_sale_days", D("2024-06-03"))
        assert params.regime_in_force("regime.rule_201", D("2024-06-03"))
        assert not params.regime_in_force("regime.rule_201", D("2010-06-03"))
    names = [p.name for p in used]
    assert names == ["closeout.short_sale_days", "regime.rule_201"]
    row = next(iter(used))
    assert (row.effective, row.cite) == (D("2008-09-18"), "17 CFR 242.204(a)")


def test_every_parameter_is_read_by_the_code() -> None:
    """No parameter sits in the table unused: each name is read somewhere in the package (DESIGN principle 2)."""
    import pathlib

    src = pathlib.Path(params.__file__).resolve().parents[1]
    code = "\n".join(p.read_text() for p in src.rglob("*.py") if p.name != "params.py")
    unread = [n for n in params.names() if f'"{n}"' not in code]
    assert unread == []
