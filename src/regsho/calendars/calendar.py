"""The two calendars a Regulation SHO engine counts on, built once and queried in O(log n)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from regsho.law import params

ET: Final = ZoneInfo("America/New_York")

#: Days whose settlement status differs from "XNYS scheduled session and Fed business day".
#: True = a settlement day although NYSE was closed; False = not a settlement day although the rule says it is.
SETTLEMENT_OVERRIDES: Final[Mapping[dt.date, bool]] = {
    # National day of mourning, President G.H.W. Bush: NYSE closed, NSCC/DTC and Fedwire open (DTCC guidance).
    dt.date(2018, 12, 5): True,
    # National day of mourning, President Carter: NYSE closed, NSCC/DTC and Fedwire open (DTCC guidance).
    dt.date(2025, 1, 9): True,
}

REGULAR_OPEN: Final = dt.time(9, 30)
REGULAR_CLOSE: Final = dt.time(16, 0)

DEFAULT_START: Final = dt.date(2004, 1, 1)
DEFAULT_END: Final = dt.date(2030, 12, 31)


class CalendarRangeError(ValueError):
    """A date outside the span the calendars were built for."""


def _to_date(d: dt.date | dt.datetime) -> dt.date:
    return d.date() if isinstance(d, dt.datetime) else d


class Calendars:
    """Settlement-day and trading-day calendars over ``[start, end]``.

    - ``is_settlement_day``: 17 CFR 242.203(c)(5) / 204(g): a business day on which deliveries and payments may be
      made through a registered clearing agency.
    - ``settlement_date(trade_date)``: the trade date rolled back to a settlement day (Uniform Practice notices:
      trades on Columbus Day or Veterans Day settle with the previous business day's), plus the settlement cycle
      in force on the trade date (Rule 15c6-1: T+3, T+2 from 2017-09-05, T+1 from 2024-05-28).
    """

    def __init__(
        self,
        start: dt.date = DEFAULT_START,
        end: dt.date = DEFAULT_END,
        overrides: Mapping[dt.date, bool] = SETTLEMENT_OVERRIDES,
        nyse_sessions: Iterable[dt.date] | None = None,
        fed_holidays: Iterable[dt.date] | None = None,
        session_times: Mapping[dt.date, tuple[dt.time, dt.time]] | None = None,
    ) -> None:
        self._args = (start, end, dict(overrides), None if nyse_sessions is None else tuple(nyse_sessions),
                      None if fed_holidays is None else tuple(fed_holidays),
                      None if session_times is None else dict(session_times))
        if nyse_sessions is None:
            sessions = _xnys_sessions(start, end)
            nyse_sessions = list(sessions)
            if session_times is None:
                session_times = sessions
        if fed_holidays is None:
            fed_holidays = _fed_holidays(start.year, end.year)
        self.start = start
        self.end = end
        fed = frozenset(fed_holidays)
        trading = sorted(d for d in nyse_sessions if start <= d <= end)
        settle = {d for d in trading if d not in fed}
        for d, is_settle in overrides.items():
            if start <= d <= end:
                if is_settle:
                    settle.add(d)
                else:
                    settle.discard(d)
        self._trading: tuple[int, ...] = tuple(d.toordinal() for d in trading)
        self._settlement: tuple[int, ...] = tuple(sorted(d.toordinal() for d in settle))
        self._trading_set = frozenset(self._trading)
        #: Regular trading hours of each session whose open or close differs from 09:30-16:00 ET (early closes,
        #: late opens), from the exchange calendar's schedule.
        self._special_hours: dict[int, tuple[dt.time, dt.time]] = {
            d.toordinal(): hours for d, hours in (session_times or {}).items()
            if hours != (REGULAR_OPEN, REGULAR_CLOSE) and start <= d <= end
        }
        self._settlement_set = frozenset(self._settlement)
        weekmask = "1111111"
        all_days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        settle_np = np.array([dt.date.fromordinal(o) for o in self._settlement], dtype="datetime64[D]")
        not_settle = np.setdiff1d(all_days, settle_np)
        #: NumPy business-day calendar of settlement days, for vectorised work over many dates.
        self.settlement_busdays = np.busdaycalendar(weekmask=weekmask, holidays=not_settle)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled by reference to what built it: the process-wide default, or the same arguments again (an
        engine snapshot carries its calendars without their NumPy tables)."""
        if default_calendars.cache_info().currsize and self is default_calendars():
            return (default_calendars, ())
        return (Calendars, self._args)

    # -- membership -----------------------------------------------------------------------------------------

    def _check(self, d: dt.date) -> int:
        o = d.toordinal()
        if not (self.start <= d <= self.end):
            raise CalendarRangeError(
                f"{d.isoformat()} is outside the calendars' span {self.start.isoformat()}..{self.end.isoformat()}"
            )
        return o

    def is_settlement_day(self, d: dt.date | dt.datetime) -> bool:
        return self._check(_to_date(d)) in self._settlement_set

    def is_trading_day(self, d: dt.date | dt.datetime) -> bool:
        return self._check(_to_date(d)) in self._trading_set

    # -- arithmetic -----------------------------------------------------------------------------------------

    def _offset(self, days: tuple[int, ...], d: dt.date, n: int) -> dt.date:
        """The n-th day of ``days`` after ``d`` (n > 0), or before it (n < 0); n == 0 returns d if it is one."""
        o = self._check(d)
        if n > 0:
            i = bisect.bisect_right(days, o) + n - 1
        elif n < 0:
            i = bisect.bisect_left(days, o) + n
        else:
            i = bisect.bisect_left(days, o)
            if i >= len(days) or days[i] != o:
                raise ValueError(f"{d.isoformat()} is not a day of this calendar")
        if i < 0 or i >= len(days):
            raise CalendarRangeError(f"offset {n} from {d.isoformat()} leaves the calendars' span")
        return dt.date.fromordinal(days[i])

    def add_settlement_days(self, d: dt.date, n: int) -> dt.date:
        """The n-th settlement day after ``d`` (S+n when ``d`` is the settlement date S)."""
        return self._offset(self._settlement, d, n)

    def add_trading_days(self, d: dt.date, n: int) -> dt.date:
        """The n-th trading day (NYSE session) after ``d``."""
        return self._offset(self._trading, d, n)

    def next_trading_day(self, d: dt.date) -> dt.date:
        return self._offset(self._trading, d, 1)

    def previous_trading_day(self, d: dt.date) -> dt.date:
        return self._offset(self._trading, d, -1)

    def next_settlement_day(self, d: dt.date) -> dt.date:
        return self._offset(self._settlement, d, 1)

    def previous_settlement_day(self, d: dt.date) -> dt.date:
        return self._offset(self._settlement, d, -1)

    def settlement_day_on_or_before(self, d: dt.date) -> dt.date:
        return d if self.is_settlement_day(d) else self.previous_settlement_day(d)

    def trading_day_on_or_before(self, d: dt.date) -> dt.date:
        return d if self.is_trading_day(d) else self.previous_trading_day(d)

    def settlement_days_between(self, a: dt.date, b: dt.date) -> int:
        """Number of settlement days d with a < d <= b."""
        oa, ob = self._check(a), self._check(b)
        return bisect.bisect_right(self._settlement, ob) - bisect.bisect_right(self._settlement, oa)

    def settlement_days(self, a: dt.date, b: dt.date) -> tuple[dt.date, ...]:
        """Settlement days d with a <= d <= b."""
        oa, ob = self._check(a), self._check(b)
        lo = bisect.bisect_left(self._settlement, oa)
        hi = bisect.bisect_right(self._settlement, ob)
        return tuple(dt.date.fromordinal(o) for o in self._settlement[lo:hi])

    @staticmethod
    def cycle_days(trade_date: dt.date) -> int:
        """Settlement cycle (T+N) in force on a trade date."""
        return params.int_value("settlement.cycle_days", trade_date)

    def settlement_date(self, trade_date: dt.date) -> dt.date:
        """Regular-way settlement date of a trade made on ``trade_date``."""
        base = self.settlement_day_on_or_before(trade_date)
        return self.add_settlement_days(base, self.cycle_days(trade_date))

    def settlement_dates(self, trade_dates: npt.NDArray[np.datetime64]) -> npt.NDArray[np.datetime64]:
        """Vectorised ``settlement_date`` over an array of trade dates (datetime64[D])."""
        td = trade_dates.astype("datetime64[D]")
        if td.size:
            lo, hi = td.min(), td.max()
            if lo < np.datetime64(self.start, "D") or hi > np.datetime64(self.end, "D") - 10:
                raise CalendarRangeError(
                    f"trade dates {lo}..{hi} reach outside the calendars' span {self.start}..{self.end}"
                )
        base = np.busday_offset(td, 0, roll="backward", busdaycal=self.settlement_busdays)
        cycle = np.zeros(td.shape, dtype=np.int64)
        for row in params.history("settlement.cycle_days"):  # the cycle by trade date, from the parameter table
            assert isinstance(row.value, int)
            cycle = np.where(td >= np.datetime64(row.effective), row.value, cycle)
        if td.size and int(cycle.min()) == 0:
            raise params.RegimeError(f"trade dates before {params.history('settlement.cycle_days')[0].effective} "
                                     "have no settlement cycle in the parameter table")
        return np.busday_offset(base, cycle, roll="backward", busdaycal=self.settlement_busdays)

    # -- instants ---------------------------------------------------------------------------------------------

    @staticmethod
    def at_time(d: dt.date, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(d, t, tzinfo=ET)

    @staticmethod
    def end_of_day(d: dt.date) -> dt.datetime:
        """The end of a day: 00:00 ET of the next calendar day (docs/scenarios.md, convention 16)."""
        return dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), tzinfo=ET)

    def session_hours(self, d: dt.date) -> tuple[dt.time, dt.time]:
        """Regular trading hours of the NYSE session on ``d`` (ET), early closes included (Reg NMS Rule 600(b):
        "regular trading hours"; times from the exchange calendar's schedule). A day without a session has the
        regular 09:30-16:00 times, used only for deadlines that the rules place on it."""
        return self._special_hours.get(self._check(d), (REGULAR_OPEN, REGULAR_CLOSE))

    def open_of(self, d: dt.date) -> dt.datetime:
        """The beginning of regular trading hours on ``d`` (09:30 ET on NYSE)."""
        return self.at_time(d, self.session_hours(d)[0])

    def close_of(self, d: dt.date) -> dt.datetime:
        """The end of regular trading hours on ``d``: 16:00 ET, 13:00 on an early close."""
        return self.at_time(d, self.session_hours(d)[1])

    def in_regular_hours(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls within the regular trading hours of a trading day (open and close included)."""
        d = at.astimezone(ET)
        day = d.date()
        if not self.is_trading_day(day):
            return False
        o, c = self.session_hours(day)
        return o <= d.time() <= c


def _xnys_sessions(start: dt.date, end: dt.date) -> dict[dt.date, tuple[dt.time, dt.time]]:
    """XNYS sessions with their regular trading hours in ET (exchange_calendars' ``schedule``, early closes in)."""
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS", start=start.isoformat(), end=end.isoformat())
    sched = cal.schedule
    opens = sched["open"].dt.tz_convert(ET)
    closes = sched["close"].dt.tz_convert(ET)
    return {ts.date(): (o.time(), c.time()) for ts, o, c in zip(sched.index, opens, closes, strict=True)}


def _fed_holidays(first_year: int, last_year: int) -> list[dt.date]:
    import holidays

    fed = holidays.financial_holidays("XFED", years=range(first_year, last_year + 1))
    return list(fed.keys())


@lru_cache(maxsize=1)
def default_calendars() -> Calendars:
    """The process-wide calendars over the default span (built once, about a second)."""
    return Calendars()


@lru_cache(maxsize=4096)
def regular_hours(d: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Regular trading hours of NYSE session ``d`` as (open, close) in ET, early closes included (XNYS
    ``special_closes`` of ``exchange_calendars``); raises CalendarRangeError if ``d`` is not a session."""
    cal = _xnys(d.year)
    if not cal.is_session(d.isoformat()):
        raise CalendarRangeError(f"{d.isoformat()} is not an NYSE trading session")
    o = cal.session_open(d.isoformat()).to_pydatetime().astimezone(ET)
    c = cal.session_close(d.isoformat()).to_pydatetime().astimezone(ET)
    return o, c


@lru_cache(maxsize=64)
def _xnys(year: int) -> Any:
    import exchange_calendars as xc

    return xc.get_calendar("XNYS", start=f"{max(year, 2004)}-01-01", end=f"{year}-12-31")
