"""One trading day's frame for the review: regular trading hours from the calendar (early closes included), the
30-minute verdict windows, and the quotation bands of FINRA Rule 6272(a)(2) / Nasdaq Rule 4613(a)(2) in force
that day, all read from the dated parameter table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from regsho.calendars import regular_hours
from regsho.law import params

_NS = 1_000_000_000


def _f(name: str, on: dt.date) -> float:
    v = params.value(name, on)
    assert isinstance(v, int | float)
    return float(v)


@dataclass(frozen=True, slots=True)
class DayFrame:
    """17 CFR 242.203(b)(2)(iii); FINRA Rule 6272(a)(2); Nasdaq Rule 4613(a)(2): the review frame of one day.

    Times are nanoseconds since the Unix epoch. ``edge_open``/``edge_close`` bound the middle of the day outside
    which Tier 1 stocks have the wider band. Band figures are fractions of the reference price (NBB for bids, NBO
    for offers): ``dp*`` the Designated Percentage, ``dl*`` the Defined Limit."""

    day: dt.date
    open: int
    close: int
    edge_open: int
    edge_close: int
    window: int
    dp1: float
    dl1: float
    dp1e: float
    dl1e: float
    dp2: float
    dl2: float
    dp2s: float
    dl2s: float
    sub_dollar: float
    near: float
    edge: float

    @classmethod
    def of(cls, day: dt.date) -> DayFrame:
        o, c = regular_hours(day)
        open_ns = int(o.timestamp()) * _NS
        close_ns = int(c.timestamp()) * _NS
        minute = 60 * _NS
        return cls(
            day=day, open=open_ns, close=close_ns,
            edge_open=open_ns + params.int_value("mm.band.open_edge_minutes", day) * minute,
            edge_close=close_ns - params.int_value("mm.band.close_edge_minutes", day) * minute,
            window=params.int_value("mm.review.window_minutes", day) * minute,
            dp1=_f("mm.band.designated.tier1", day), dl1=_f("mm.band.defined.tier1", day),
            dp1e=_f("mm.band.designated.tier1_edge", day), dl1e=_f("mm.band.defined.tier1_edge", day),
            dp2=_f("mm.band.designated.tier2", day), dl2=_f("mm.band.defined.tier2", day),
            dp2s=_f("mm.band.designated.tier2_sub_dollar", day), dl2s=_f("mm.band.defined.tier2_sub_dollar", day),
            sub_dollar=_f("mm.band.sub_dollar_price", day),
            near=_f("mm.review.near_inside_band_fraction", day), edge=_f("mm.review.band_edge_fraction", day),
        )

    def window_starts(self) -> tuple[int, ...]:
        return tuple(range(self.open, self.close, self.window))

    def window_end(self, w: int) -> int:
        return min(self.open + (w + 1) * self.window, self.close)

    def boundaries(self) -> tuple[int, ...]:
        """Every time at which a piece must start: the open, each window start, the band-regime changes."""
        b = set(self.window_starts())
        b.update(t for t in (self.edge_open, self.edge_close) if self.open <= t < self.close)
        return tuple(sorted(b))

    def band(self, tier1: bool, ref: float, t: int) -> tuple[float, float]:
        """(Designated Percentage, Defined Limit) for a side whose reference price is ``ref`` at time ``t``."""
        if tier1:
            if t < self.edge_open or t >= self.edge_close:
                return self.dp1e, self.dl1e
            return self.dp1, self.dl1
        if ref < self.sub_dollar:
            return self.dp2s, self.dl2s
        return self.dp2, self.dl2
