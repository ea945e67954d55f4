"""Settlement-day and trading-day calendars (RULEBOOK §5, docs/scenarios.md, convention 1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from regsho.calendars import CalendarRangeError, Calendars, default_calendars

D = dt.date.fromisoformat
FTD_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sec_ftd"


@pytest.fixture(scope="module")
def cal() -> Calendars:
    return default_calendars()


# RULEBOOK §5.4, worked examples: T, N, S, S+1 (204(a)), S+3 (204(a)(1), (a)(3)), 35th calendar day (204(a)(2)).
WORKED = [
    ("2016-03-01", 3, "2016-03-04", "2016-03-07", "2016-03-09", "2016-04-05"),
    ("2021-01-25", 2, "2021-01-27", "2021-01-28", "2021-02-01", "2021-03-01"),
    ("2024-05-24", 2, "2024-05-29", "2024-05-30", "2024-06-03", "2024-06-28"),
    ("2024-05-28", 1, "2024-05-29", "2024-05-30", "2024-06-03", "2024-07-02"),
    ("2024-10-10", 1, "2024-10-11", "2024-10-15", "2024-10-17", "2024-11-14"),
    ("2024-10-11", 1, "2024-10-15", "2024-10-16", "2024-10-18", "2024-11-15"),
    ("2024-11-08", 1, "2024-11-12", "2024-11-13", "2024-11-15", "2024-12-13"),
    ("2025-04-17", 1, "2025-04-21", "2025-04-22", "2025-04-24", "2025-05-22"),
]


@pytest.mark.parametrize(("trade", "n", "settle", "s1", "s3", "cal35"), WORKED)
def test_rulebook_worked_examples(cal: Calendars, trade: str, n: int, settle: str, s1: str, s3: str,
                                  cal35: str) -> None:
    t = D(trade)
    assert cal.cycle_days(t) == n
    s = cal.settlement_date(t)
    assert s == D(settle)
    assert cal.is_settlement_day(s)
    assert cal.add_settlement_days(s, 1) == D(s1)
    assert cal.add_settlement_days(s, 3) == D(s3)
    # 204(a)(2): the 35th calendar day after T, or the last trading day before it when it has no regular hours.
    assert cal.trading_day_on_or_before(t + dt.timedelta(days=35)) == D(cal35)
    # Deadlines are at the open, 09:30 ET, of the day named.
    assert cal.open_of(D(s1)).isoformat().startswith(f"{s1}T09:30:00-0")


def test_thirty_fifth_day_without_trading_rolls_back(cal: Calendars) -> None:
    # T 2024-02-23 + 35 calendar days = Good Friday 2024-03-29 (no regular trading hours) → Thu 2024-03-28.
    assert D("2024-02-23") + dt.timedelta(days=35) == D("2024-03-29")
    assert not cal.is_trading_day(D("2024-03-29"))
    assert cal.trading_day_on_or_before(D("2024-03-29")) == D("2024-03-28")


@pytest.mark.parametrize(("before", "after", "settle"), [
    ("2017-09-01", "2017-09-05", "2017-09-07"),  # T+3 → T+2
    ("2024-05-24", "2024-05-28", "2024-05-29"),  # T+2 → T+1
])
def test_cycle_transitions_double_settlement(cal: Calendars, before: str, after: str, settle: str) -> None:
    assert cal.settlement_date(D(before)) == D(settle)
    assert cal.settlement_date(D(after)) == D(settle)
    assert cal.cycle_days(D(after)) == cal.cycle_days(D(before)) - 1


def test_cycle_by_trade_date(cal: Calendars) -> None:
    assert cal.cycle_days(D("2017-09-04")) == 3
    assert cal.cycle_days(D("2017-09-05")) == 2
    assert cal.cycle_days(D("2024-05-27")) == 2
    assert cal.cycle_days(D("2024-05-28")) == 1
    # T+3 in 2017-08-31 (Thu): Fri, Tue (Labor Day Monday), Wed.
    assert cal.settlement_date(D("2017-08-31")) == D("2017-09-06")
    # T+2 on 2024-05-23 (Thu): Fri, Tue (Memorial Day Monday).
    assert cal.settlement_date(D("2024-05-23")) == D("2024-05-28")


@pytest.mark.parametrize(("day", "trading", "settlement"), [
    ("2020-10-12", True, False),   # Columbus Day: NYSE open, Fed closed
    ("2024-10-14", True, False),   # Columbus Day
    ("2023-10-09", True, False),   # Columbus Day
    ("2020-11-11", True, False),   # Veterans Day
    ("2024-11-11", True, False),   # Veterans Day
    ("2022-11-11", True, False),   # Veterans Day (Friday)
    ("2023-11-10", True, True),    # Veterans Day falls on Saturday: the Fed does not close the Friday before
    ("2021-04-02", False, False),  # Good Friday
    ("2025-04-18", False, False),  # Good Friday
    ("2022-06-20", False, False),  # Juneteenth observed (first NYSE closure for it)
    ("2023-06-19", False, False),  # Juneteenth
    ("2024-06-19", False, False),  # Juneteenth
    ("2021-06-18", True, True),    # Juneteenth 2021 fell on Saturday; NYSE open, Fed open on the Friday
    ("2018-12-05", False, True),   # unscheduled NYSE closure (President G.H.W. Bush): DTC settled
    ("2025-01-09", False, True),   # unscheduled NYSE closure (President Carter): DTC settled
    ("2024-06-03", True, True),    # an ordinary Monday
    ("2024-06-01", False, False),  # a Saturday
    ("2024-12-25", False, False),  # Christmas
])
def test_day_kinds(cal: Calendars, day: str, trading: bool, settlement: bool) -> None:
    assert cal.is_trading_day(D(day)) is trading
    assert cal.is_settlement_day(D(day)) is settlement


def test_fed_holiday_trades_settle_with_previous_day(cal: Calendars) -> None:
    # A trade on Columbus Day settles as if made the previous business day (roll backward, RULEBOOK §5.3).
    assert cal.settlement_date(D("2024-10-14")) == cal.settlement_date(D("2024-10-11")) == D("2024-10-15")
    assert cal.settlement_date(D("2024-11-11")) == cal.settlement_date(D("2024-11-08")) == D("2024-11-12")
    # T+2 era Columbus Day 2020-10-12: settles with Friday 2020-10-09's trades, on Wednesday 2020-10-14.
    assert cal.settlement_date(D("2020-10-12")) == D("2020-10-14")
    # Good Friday is never a settlement date; Juneteenth neither.
    assert cal.settlement_date(D("2025-04-17")) == D("2025-04-21")
    assert cal.settlement_date(D("2024-06-18")) == D("2024-06-20")
    assert cal.add_settlement_days(D("2024-06-18"), 1) == D("2024-06-20")
    assert cal.add_trading_days(D("2024-06-18"), 1) == D("2024-06-20")


def test_unscheduled_closures_count_as_settlement_days(cal: Calendars) -> None:
    # 2025-01-08 (Wed, T+1) settles on 2025-01-09, the day NYSE closed for President Carter's funeral.
    assert cal.settlement_date(D("2025-01-08")) == D("2025-01-09")
    assert cal.add_settlement_days(D("2025-01-08"), 1) == D("2025-01-09")
    # ... but Rule 201 counts trading days, and 2025-01-09 was not one.
    assert cal.next_trading_day(D("2025-01-08")) == D("2025-01-10")
    # 2018-12-04 (Tue, T+2) settles Thu 2018-12-06, counting Wed 2018-12-05 as a settlement day.
    assert cal.settlement_date(D("2018-12-04")) == D("2018-12-06")
    assert cal.add_settlement_days(D("2018-12-04"), 1) == D("2018-12-05")
    assert cal.next_trading_day(D("2018-12-04")) == D("2018-12-06")


def test_overrides_are_what_make_them_settlement_days() -> None:
    bare = Calendars(D("2018-11-01"), D("2018-12-31"), overrides={})
    assert not bare.is_settlement_day(D("2018-12-05"))
    assert bare.settlement_date(D("2018-12-04")) == D("2018-12-07")


def test_calendar_arithmetic(cal: Calendars) -> None:
    assert cal.next_settlement_day(D("2024-10-11")) == D("2024-10-15")
    assert cal.previous_settlement_day(D("2024-10-15")) == D("2024-10-11")
    assert cal.previous_trading_day(D("2024-10-15")) == D("2024-10-14")
    assert cal.settlement_day_on_or_before(D("2024-10-14")) == D("2024-10-11")
    assert cal.settlement_day_on_or_before(D("2024-10-15")) == D("2024-10-15")
    assert cal.settlement_days_between(D("2024-10-10"), D("2024-10-16")) == 3  # 11, 15, 16
    assert cal.settlement_days(D("2024-10-11"), D("2024-10-15")) == (D("2024-10-11"), D("2024-10-15"))
    assert cal.add_settlement_days(D("2024-10-15"), -1) == D("2024-10-11")
    assert cal.end_of_day(D("2024-10-11")).isoformat() == "2024-10-12T00:00:00-04:00"
    # A datetime is judged by its date.
    assert cal.is_settlement_day(dt.datetime(2024, 10, 14, 12, 0)) is False


def _random_dates(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo = np.datetime64("2005-01-03", "D").astype(int)
    hi = np.datetime64("2030-12-10", "D").astype(int)
    return rng.integers(lo, hi, n).astype("datetime64[D]")


def test_vectorised_settlement_dates_agree_with_scalar(cal: Calendars) -> None:
    specials = np.array([
        "2017-09-01", "2017-09-02", "2017-09-04", "2017-09-05", "2024-05-24", "2024-05-25", "2024-05-26",
        "2024-05-27", "2024-05-28", "2024-10-14", "2024-11-11", "2020-10-12", "2018-12-04", "2018-12-05",
        "2025-01-08", "2025-01-09", "2025-04-18", "2025-04-19", "2024-06-19", "2021-06-18",
    ], dtype="datetime64[D]")
    dates = np.concatenate([specials, _random_dates(5000, seed=20240528)])
    got = cal.settlement_dates(dates)
    assert got.dtype == np.dtype("datetime64[D]")
    want = [cal.settlement_date(d.item()) for d in dates]
    mismatches = [(d.item(), g.item(), w) for d, g, w in zip(dates, got, want, strict=True) if g.item() != w]
    assert mismatches == []


@pytest.mark.parametrize("day", ["2003-12-31", "2031-01-01", "1999-12-24"])
def test_out_of_range_membership_raises(cal: Calendars, day: str) -> None:
    with pytest.raises(CalendarRangeError):
        cal.is_settlement_day(D(day))
    with pytest.raises(CalendarRangeError):
        cal.is_trading_day(D(day))


def test_out_of_range_arithmetic_raises(cal: Calendars) -> None:
    with pytest.raises(CalendarRangeError):
        cal.settlement_date(D("2031-01-02"))
    with pytest.raises(CalendarRangeError):
        cal.settlement_date(D("2030-12-31"))  # its settlement date leaves the span
    with pytest.raises(CalendarRangeError):
        cal.add_settlement_days(D("2030-12-20"), 30)
    with pytest.raises(CalendarRangeError):
        cal.add_trading_days(D("2004-01-05"), -10)
    assert issubclass(CalendarRangeError, ValueError)


def test_non_calendar_day_with_zero_offset_raises(cal: Calendars) -> None:
    with pytest.raises(ValueError, match="not a day"):
        cal.add_settlement_days(D("2024-10-14"), 0)
    assert cal.add_settlement_days(D("2024-10-15"), 0) == D("2024-10-15")


# -- real data: SEC fails-to-deliver ---------------------------------------------------------------------------


def _ftd_settlement_dates() -> tuple[set[str], int]:
    dates: set[str] = set()
    rows = 0
    for path in sorted(FTD_DIR.glob("cnsfails*.txt")):
        with path.open("rb") as f:
            header = f.readline()
            assert header.startswith(b"SETTLEMENT DATE|"), path
            for line in f:
                if line.startswith(b"Trailer") or not line.strip():
                    continue
                assert line[8:9] == b"|", (path.name, line[:40])
                dates.add(line[:8].decode())
                rows += 1
    return dates, rows


@pytest.mark.skipif(not FTD_DIR.is_dir(), reason=f"SEC FTD data not found at {FTD_DIR} (needs ../shared beside "
                                                  "the project, as in CI)")
def test_every_sec_ftd_settlement_date_is_a_settlement_day(cal: Calendars) -> None:
    files = sorted(FTD_DIR.glob("cnsfails*.txt"))
    assert len(files) == 17
    raw, rows = _ftd_settlement_dates()
    assert rows == 928_589
    dates = {dt.datetime.strptime(s, "%Y%m%d").date() for s in raw}
    assert min(dates) == D("2020-09-01")
    assert max(dates) == D("2021-06-14")
    not_settlement = sorted(d for d in dates if not cal.is_settlement_day(d))
    assert not_settlement == []
    for fed_holiday in (D("2020-10-12"), D("2020-11-11")):
        assert cal.is_trading_day(fed_holiday)
        assert not cal.is_settlement_day(fed_holiday)
        assert fed_holiday not in dates
    # Every settlement day of the covered half-months appears (except the two missing half-month files).
    missing_files = (D("2021-03-15"), D("2021-03-31")), (D("2021-04-15"), D("2021-04-30"))
    expected = {d for d in cal.settlement_days(D("2020-09-01"), D("2021-06-14"))
                if not any(a <= d <= b for a, b in missing_files)}
    assert expected == dates


def test_vectorised_settlement_dates_refuse_dates_outside_the_span(cal: Calendars) -> None:
    with pytest.raises(CalendarRangeError):
        cal.settlement_dates(np.array(["2003-12-31"], dtype="datetime64[D]"))
    with pytest.raises(CalendarRangeError):
        cal.settlement_dates(np.array(["2030-12-30"], dtype="datetime64[D]"))
