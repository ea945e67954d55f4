"""Threshold status and the 203(b)(3) thirteen-day count (17 CFR 242.203(b)(3), 203(c)(6)).

``ThresholdLists`` keeps the SRO threshold lists as they arrived and answers "was the security a threshold
security, and since when, at this instant" by bisection over each symbol's listing episodes, so the cost of a
question does not grow with the number of lists. ``ThresholdCount`` keeps, per security, the participant's daily
CNS fail positions and the run of counted days; a day is judged by the list in effect at the *end* of that
settlement day (docs/scenarios.md, convention 6) — except that a day which, by what is known when its ``cns`` event
arrives, is the thirteenth is counted at the event (convention 28).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from regsho.calendars import Calendars
from regsho.core.lifecycle import Lifecycle
from regsho.rules import r203_b3
from regsho.rules.r203_b3 import Layer


class ListStatus(StrEnum):
    NOT_LISTED = "not_listed"
    LISTED = "listed"


class ListEvent(StrEnum):
    ON_LIST = "on_list"  # a list in effect carries the security
    OFF_LIST = "off_list"  # a list in effect does not carry it


#: 17 CFR 242.203(c)(6)(ii)-(iii): a security is a threshold security while an SRO list carries it.
THRESHOLD_STATUS: Lifecycle[ListStatus, ListEvent] = Lifecycle(
    "threshold status", ListStatus, ListEvent,
    {
        (ListStatus.NOT_LISTED, ListEvent.ON_LIST): ListStatus.LISTED,
        (ListStatus.NOT_LISTED, ListEvent.OFF_LIST): ListStatus.NOT_LISTED,
        (ListStatus.LISTED, ListEvent.ON_LIST): ListStatus.LISTED,
        (ListStatus.LISTED, ListEvent.OFF_LIST): ListStatus.NOT_LISTED,
    },
    ListStatus.NOT_LISTED,
)


@dataclass(slots=True)
class _Episode:
    """One stretch of consecutive lists carrying a symbol: from the list at ``start`` to the list at ``end``
    (exclusive; None while still listed); ``since`` is the first settlement day on or after the first list."""

    start: dt.datetime
    end: dt.datetime | None
    since: dt.date


class ThresholdLists:
    def __init__(self, cal: Calendars) -> None:
        self.cal = cal
        self.current: frozenset[str] = frozenset()
        self.as_of: dt.datetime | None = None
        self._status: dict[str, ListStatus] = {}
        self._episodes: dict[str, list[_Episode]] = {}
        self._starts: dict[str, list[dt.datetime]] = {}

    def apply(self, at: dt.datetime, symbols: frozenset[str]) -> None:
        """A list in effect from ``at``, replacing the previous one."""
        for sym in symbols - self.current:
            self._status[sym] = THRESHOLD_STATUS.step(self._status.get(sym, THRESHOLD_STATUS.initial),
                                                      ListEvent.ON_LIST, sym)
            ep = _Episode(at, None, r203_b3.threshold_since(at, self.cal))
            self._episodes.setdefault(sym, []).append(ep)
            self._starts.setdefault(sym, []).append(at)
        for sym in self.current - symbols:
            self._status[sym] = THRESHOLD_STATUS.step(self._status[sym], ListEvent.OFF_LIST, sym)
            self._episodes[sym][-1].end = at
        self.current = symbols
        self.as_of = at

    def since(self, symbol: str, at: dt.datetime, *, strict: bool) -> dt.date | None:
        """The first settlement day of the threshold episode of ``symbol`` in effect at ``at`` (None when it is
        not then a threshold security). ``strict``: the list must be dated strictly before ``at`` (the list "in
        effect at the end of a day" is the last one before its 00:00)."""
        starts = self._starts.get(symbol)
        if not starts:
            return None
        i = (bisect.bisect_left(starts, at) if strict else bisect.bisect_right(starts, at)) - 1
        if i < 0:
            return None
        ep = self._episodes[symbol][i]
        if ep.end is not None and (ep.end < at if strict else ep.end <= at):
            return None  # the list that dropped it is in effect at ``at``
        return ep.since

    def since_end_of(self, symbol: str, day: dt.date) -> dt.date | None:
        """As ``since``, for the list in effect at the end of ``day``."""
        return self.since(symbol, self.cal.end_of_day(day), strict=True)


@dataclass(slots=True)
class LayerState:
    """A part of the fail position running its own 35-consecutive-settlement-day period (203(b)(3)(i)-(iii))."""

    kind: Layer
    qty: int
    start: dt.date
    last_seen: dt.date
    days: list[int] = field(default_factory=list)


@dataclass(slots=True)
class SymbolCount:
    """The 203(b)(3) count of one security at the participant (driven by ``cns`` events alone)."""

    cns: dict[dt.date, int] = field(default_factory=dict)
    last_date: dt.date | None = None
    #: the last settlement day judged (the run and the layers are up to date through it)
    judged: dt.date | None = None
    run: list[tuple[dt.date, int]] = field(default_factory=list)
    layers: list[LayerState] = field(default_factory=list)
    phase_outs_started: set[Layer] = field(default_factory=set)
    #: a day whose cns arrived before the end of the day, to be judged then: (date, fail quantity, event time)
    pending: tuple[dt.date, int, dt.datetime] | None = None


@dataclass(frozen=True, slots=True)
class DueObligation:
    """What a judged day creates: a 203(b)(3) obligation (13 days) or a 35-day one (a layer), for the quantity that
    persisted, on ``day`` (the last day of the run), decided at ``at``."""

    symbol: str
    rule: str
    qty: int
    day: dt.date
    at: dt.datetime


class ThresholdCount:
    """The 13-consecutive-settlement-day count per security (docs/scenarios.md, conventions 6, 21 and 28)."""

    def __init__(self, cal: Calendars, lists: ThresholdLists) -> None:
        self.cal = cal
        self.lists = lists
        self.symbols: dict[str, SymbolCount] = {}
        #: options_mm_hedge fails: symbol -> (settlement date, quantity, options created)
        self.hedges: dict[str, list[tuple[dt.date, int, dt.date | None]]] = {}

    # -- inputs ---------------------------------------------------------------------------------------------------

    def add_hedge(self, symbol: str, settlement_date: dt.date, qty: int, created: dt.date | None) -> None:
        self.hedges.setdefault(symbol, []).append((settlement_date, qty, created))

    def add_rule144(self, symbol: str, settlement_date: dt.date, qty: int) -> None:
        st = self.symbols.setdefault(symbol, SymbolCount())
        st.layers.append(LayerState(Layer.RULE144, qty, settlement_date,
                                    self.cal.previous_settlement_day(settlement_date)))

    def cns(self, symbol: str, day: dt.date, fail_qty: int, at: dt.datetime) -> tuple[list[DueObligation], bool]:
        """Record the CNS position of ``day``, known at ``at``. Returns the obligations it creates now, and whether
        the day waits for the end of the day to be judged (the caller schedules ``judge_pending``)."""
        st = self.symbols.setdefault(symbol, SymbolCount())
        st.cns[day] = fail_qty
        st.last_date = day
        eod = self.cal.end_of_day(day)
        if at >= eod:
            return self._judge(symbol, st, day, fail_qty, at, self.lists.since(symbol, eod, strict=True)), False
        # Known before the end of the day: is it, by the list in effect now, the thirteenth counted day?
        since_now = self.lists.since(symbol, at, strict=False)
        trial = _trial_copy(st)
        due = self._judge(symbol, trial, day, fail_qty, at, since_now)
        if due:
            self.symbols[symbol] = trial
            return due, False
        st.pending = (day, fail_qty, at)
        return [], True

    def judge_pending(self, symbol: str, at: dt.datetime) -> list[DueObligation]:
        """The end of the pending day has come: judge it by the list in effect then (convention 6)."""
        st = self.symbols[symbol]
        if st.pending is None:
            return []
        day, qty, _ = st.pending
        st.pending = None
        return self._judge(symbol, st, day, qty, at, self.lists.since_end_of(symbol, day))

    def pending_due(self, symbol: str) -> dt.datetime | None:
        st = self.symbols.get(symbol)
        if st is None or st.pending is None:
            return None
        return self.cal.end_of_day(st.pending[0])

    # -- the judgment of one day ----------------------------------------------------------------------------------

    def _judge(self, symbol: str, st: SymbolCount, d: dt.date, fail_qty: int, at: dt.datetime,
               since: dt.date | None) -> list[DueObligation]:
        prev_day = self.cal.previous_settlement_day(d)
        on_list = since is not None
        out: list[DueObligation] = []
        self._start_phase_outs(symbol, st, d)
        excepted = r203_b3.excepted_quantity(d, self._grandfathered(st, since), self._hedged(symbol, d, since))
        avail = max(0, fail_qty - excepted)
        layered = 0
        for layer in list(st.layers):
            if d < layer.start:
                continue
            if d != self.cal.next_settlement_day(layer.last_seen):
                st.layers.remove(layer)  # a settlement day without a CNS position: flat, the fail is gone
                continue
            layer.last_seen = d
            present = min(layer.qty, avail)
            if present == 0 or (not on_list and layer.days):
                st.layers.remove(layer)
                continue
            avail -= present
            layered += present
            layer.qty = present  # SEC Reg SHO FAQ 5.8: reductions go to the most recent increase first
            if on_list:
                layer.days.append(present)
                if len(layer.days) == r203_b3.layer_days(layer.kind, d):
                    st.layers.remove(layer)
                    out.append(DueObligation(symbol, layer.kind.value,
                                             r203_b3.obligation_quantity(layer.days), d, at))
        counted = r203_b3.counted_position(fail_qty, excepted, layered)
        if st.run and st.run[-1][0] != prev_day:
            st.run = []
        if r203_b3.day_counts(on_list, counted):
            st.run.append((d, counted))
        else:
            st.run = []
        if len(st.run) == r203_b3.thirteen_days(d):
            qty = r203_b3.obligation_quantity([q for _, q in st.run])
            st.run = []
            out.append(DueObligation(symbol, r203_b3.THIRTEEN_DAY_RULE, qty, d, at))
        st.judged = d
        return out

    def _grandfathered(self, st: SymbolCount, since: dt.date | None) -> int:
        """The CNS position on the last settlement day before the security became a threshold security."""
        if since is None:
            return 0
        return st.cns.get(self.cal.previous_settlement_day(since), 0)

    def _hedged(self, symbol: str, day: dt.date, since: dt.date | None) -> int:
        """Outstanding options_mm_hedge fails whose options were created before the security became a threshold
        security: the sum of such fails settled so far (docs/scenarios.md, convention 21)."""
        if since is None:
            return 0
        return sum(q for s, q, created in self.hedges.get(symbol, [])
                   if s <= day and created is not None and created < since)

    def _start_phase_outs(self, symbol: str, st: SymbolCount, day: dt.date) -> None:
        """17 CFR 242.203(b)(3)(i) and (iii): on the effective date of each amendment, the quantity the removed
        exception excepted (and still failing) gets 35 consecutive settlement days from that date."""
        for kind in (Layer.GRANDFATHER_PHASE_OUT, Layer.OPTIONS_PHASE_OUT):
            start = r203_b3.phase_out_start(kind)
            if day < start or kind in st.phase_outs_started:
                continue
            st.phase_outs_started.add(kind)
            prev = self.cal.previous_settlement_day(start)
            since = self.lists.since_end_of(symbol, prev)
            if since is None:
                continue
            was = (self._grandfathered(st, since) if kind is Layer.GRANDFATHER_PHASE_OUT
                   else self._hedged(symbol, prev, since))
            qty = min(was, st.cns.get(prev, 0))
            if qty > 0:
                st.layers.append(LayerState(kind, qty, start, prev))


def _trial_copy(st: SymbolCount) -> SymbolCount:
    """A copy that a trial judgment may change without touching ``st`` (the CNS history is only read)."""
    return dataclasses.replace(
        st, run=list(st.run), phase_outs_started=set(st.phase_outs_started),
        layers=[dataclasses.replace(layer, days=list(layer.days)) for layer in st.layers])
