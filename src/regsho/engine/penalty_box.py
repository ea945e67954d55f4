"""The pre-borrow requirement ("penalty box"): 17 CFR 242.204(b) and 204T(b), 203(b)(3)(iv)-(v), with the
notices of 204(c) and 204(d).

A ``Box`` is one requirement imposed on account of ``owner``'s missed close-outs in a security; it imposes a
``Period`` on every broker-dealer it binds (the rules of ``regsho.rules.r204_b``) and sends the notices of
``regsho.rules.r204_c``. A period's lifecycle is the literal table ``PERIOD``. The gate learns of every period
through ``GateShell.require_pre_borrow`` / ``end_pre_borrow``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from regsho.calendars import Calendars
from regsho.core.lifecycle import Lifecycle
from regsho.core.records import Notice, PreBorrowPeriod, new_record
from regsho.engine.obligations import ObState
from regsho.engine.shell import GateShell
from regsho.engine.sink import Sink
from regsho.law import citations as c
from regsho.rules import r203_b3, r204_b, r204_c


class PeriodState(StrEnum):
    IN_FORCE = "in_force"  # until not yet determined
    ENDING = "ending"  # until determined


class PeriodEvent(StrEnum):
    END_DETERMINED = "end_determined"


PERIOD: Lifecycle[PeriodState, PeriodEvent] = Lifecycle(
    "pre-borrow period", PeriodState, PeriodEvent,
    {(PeriodState.IN_FORCE, PeriodEvent.END_DETERMINED): PeriodState.ENDING},
    PeriodState.IN_FORCE,
)
_END_DETERMINED = PeriodEvent.END_DETERMINED


@dataclass(slots=True, eq=False)
class Period:
    """A pre-borrow period of one broker-dealer in one security (docs/scenarios.md "Output": ``pre_borrow``)."""

    id: str
    bd: str
    symbol: str
    rule: str
    start: dt.datetime
    box: Box
    until: dt.datetime | None = None
    state: PeriodState = PeriodState.IN_FORCE

    def record(self, change: str, at: dt.datetime, ids: tuple[str, ...], releases: str,
               cites: tuple[str, ...]) -> PreBorrowPeriod:
        """The period as it stands, with what its box names (``ids``, ``releases``, ``cites``: the same for every
        period of the box, so the caller computes them once)."""
        return new_record(PreBorrowPeriod, (self.id, self.bd, self.symbol, self.rule, self.start, self.until,
                                            self.box.owner, ids, at, change, releases, cites, ()))

_PERIOD_CITES: dict[tuple[str, bool], tuple[str, ...]] = {}


def _period_cites(rule: str, rest_of_day: bool) -> tuple[str, ...]:
    hit = _PERIOD_CITES.get((rule, rest_of_day))
    if hit is None:
        hit = _PERIOD_CITES[(rule, rest_of_day)] = (
            (c.cite_pre_borrow(rule), c.FAQ_5_7, c.CBOE_OMM_Q4) if rest_of_day else (c.cite_pre_borrow(rule),))
    return hit


@dataclass(slots=True, eq=False)
class Box:
    id: str
    owner: str
    symbol: str
    rule: str
    threshold: bool  # 203(b)(3): ends with the purchase that closes its obligations; else 204(b)
    count_from: dt.datetime  # purchases after this instant count toward ending a 204(b) box
    need: int
    obligations: list[ObState] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    until: dt.datetime | None = None
    #: who has been told that the box was imposed (204(c)): recipient -> the period the notice names
    told: dict[str, str] = field(default_factory=dict)
    rest_of_day: bool = False
    #: purchases of the owner in the security after ``count_from`` (204(b)), summed as they come
    bought: int = 0
    _releases: tuple[int, str] | None = None
    #: the ids of ``obligations``, as the records name them (built once per obligation added)
    _ids: tuple[str, ...] | None = None
    #: every obligation before this index is closed (an obligation's remaining quantity never grows again)
    _open_from: int = 0

    def all_closed(self) -> bool:
        """Whether every obligation of the box is closed out, checked from the first one not known to be closed,
        so that a box that stays open for months costs no more per purchase than a new one."""
        obs = self.obligations
        i, n = self._open_from, len(obs)
        while i < n and obs[i].remaining == 0:
            i += 1
        self._open_from = i
        return i == n

    def add(self, ob: ObState) -> None:
        self.obligations.append(ob)
        self._ids = None

    def obligation_ids(self) -> tuple[str, ...]:
        ids = self._ids
        if ids is None:
            ids = self._ids = tuple([o.id for o in self.obligations])
        return ids

    def releases(self) -> str:
        """What ends the box, in words (computed once per quantity needed)."""
        if self._releases is not None and self._releases[0] == self.need:
            return self._releases[1]
        if self.rest_of_day:
            text = "the end of the day of the 203(b)(3) close-out purchase"
        elif self.threshold:
            text = f"a purchase closing out the {self.need or 'owed'} shares (203(b)(3)(iv))"
        else:
            text = (f"purchases of {self.need:,} shares of {self.symbol} by {self.owner} after "
                    f"{self.count_from:%Y-%m-%d %H:%M:%S} ET, cleared and settled (204(b))")
        self._releases = (self.need, text)
        return text


class PenaltyBox:
    def __init__(self, participant: str, clears_for: tuple[str, ...], cal: Calendars, gate: GateShell,
                 sink: Sink, certified: Callable[[ObState], Collection[str]]) -> None:
        self.participant = participant
        self.clears_for = clears_for
        self.cal = cal
        self.gate = gate
        self.sink = sink
        self.certified = certified
        self.boxes: list[Box] = []
        self._at: dict[tuple[str, str], list[Box]] = {}
        #: (bd, symbol) -> purchases of the broker-dealer in the security: (time, qty)
        self.purchases: dict[tuple[str, str], list[tuple[dt.datetime, int]]] = {}
        self._notices = 0
        self._notice_cites: dict[tuple[bool, bool, str], tuple[str, ...]] = {}

    # -- imposing ------------------------------------------------------------------------------------------------

    def impose(self, ob: ObState, rule: str, start: dt.datetime) -> None:
        """A missed obligation of ``ob.bd`` imposes the pre-borrow ``rule`` from ``start``."""
        box = self._open(ob.bd, ob.symbol, rule)
        if box is None:
            box = self._new_box(ob.bd, ob.symbol, rule, ob.threshold, ob.deadline)
            if not box.threshold:
                box.bought = sum(q for _, q in self._since(box))
        box.need += ob.missed_qty
        box.add(ob)
        bound = r204_b.bound_broker_dealers(ob.bd, self.participant, self.clears_for, self.certified(ob),
                                            ob.threshold)
        have = {p.bd for p in box.periods}
        self._add_periods(box, [bd for bd in bound if bd not in have], start)
        self._tell(box, start)
        self.check(box)

    def rest_of_day(self, owner: str, symbol: str, rule: str, at: dt.datetime, ob: ObState) -> None:
        """17 CFR 242.203(b)(3); SEC Reg SHO FAQ 5.7; CBOE Regulatory Circular on Regulation SHO and options market-
        makers, Question 4: every 203(b)(3) close-out purchase imposes pre-borrow for the rest of its day
        (docs/scenarios.md, convention 6)."""
        end = r203_b3.rest_of_day(at, self.cal)
        for box in self._at.get((owner, symbol), ()):
            if (box.rule == rule and box.periods
                    and box.periods[0].start <= at and (box.until is None or box.until >= end)):
                return
        box = self._new_box(owner, symbol, rule, True, at)
        box.add(ob)
        box.rest_of_day = True
        self._add_periods(box, r204_b.bound_broker_dealers(owner, self.participant, self.clears_for, (), True), at)
        self._tell(box, at)
        self._end(box, end, at)

    # -- ending ---------------------------------------------------------------------------------------------------

    def purchase(self, bd: str, symbol: str, at: dt.datetime, qty: int) -> None:
        """A purchase of the broker-dealer in the security (a close-out purchase or creation)."""
        self.purchases.setdefault((bd, symbol), []).append((at, qty))
        for box in self._at.get((bd, symbol), ()):
            if box.until is None:
                if not box.threshold and r204_b.counts_toward_release(at, box.count_from):
                    box.bought += qty
                self.check(box, at)

    def check(self, box: Box, now: dt.datetime | None = None) -> None:
        """End a box when the events determine its end: 204(b) when purchases after the missed deadline reach the
        missed quantity (convention 5); 203(b)(3) at the end of the day of the purchase that closes its
        obligations."""
        if box.until is not None:
            return
        end: dt.datetime | None = None
        decided = now
        if box.threshold:
            if box.all_closed():
                last = max(o.closed_at for o in box.obligations if o.closed_at is not None)
                end = r203_b3.rest_of_day(last, self.cal)
                decided = decided or last
        elif box.bought >= box.need:
            done = r204_b.purchases_complete(self._since(box), box.count_from, box.need)
            if done is not None:
                end = r204_b.pre_borrow_end(done, self.cal)
                decided = decided or done
        if end is not None:
            assert decided is not None
            self._end(box, end, decided)

    # -- internals ----------------------------------------------------------------------------------------------

    def _since(self, box: Box) -> list[tuple[dt.datetime, int]]:
        """The owner's purchases in the security after the box's ``count_from`` (kept in time order)."""
        purchases = self.purchases.get((box.owner, box.symbol), [])
        lo = bisect.bisect_right(purchases, (box.count_from, 2**62))
        return purchases[lo:]

    def _open(self, owner: str, symbol: str, rule: str) -> Box | None:
        for box in self._at.get((owner, symbol), ()):
            if box.rule == rule and box.until is None and not box.rest_of_day:
                return box
        return None

    def _new_box(self, owner: str, symbol: str, rule: str, threshold: bool, count_from: dt.datetime) -> Box:
        box = Box(f"PB{len(self.boxes) + 1}", owner, symbol, rule, threshold, count_from, 0)
        self.boxes.append(box)
        boxes = self._at.setdefault((owner, symbol), [])
        # Boxes that ended before this one starts can no longer bind or be extended: keep the index short, so
        # the cost of a purchase or a miss does not grow with history.
        boxes[:] = [b for b in boxes if b.until is None or b.until > count_from]
        boxes.append(box)
        return box

    def _add_periods(self, box: Box, bds: Iterable[str], start: dt.datetime) -> None:
        """Impose a period of ``box`` on each of ``bds`` from ``start`` (what the records name is the same for all
        of them, so it is computed once, and only when there is one)."""
        bds = list(bds)
        if not bds:
            return
        symbol, rule = box.symbol, box.rule
        ids, releases, cites = box.obligation_ids(), box.releases(), _period_cites(rule, box.rest_of_day)
        require, out = self.gate.require_pre_borrow, self.sink.periods
        for bd in bds:
            p = Period(f"{box.id}-{bd}", bd, symbol, rule, start, box)
            box.periods.append(p)
            require(bd, symbol, rule, start, None, p.id, ids)
            out.append(p.record("imposed", start, ids, releases, cites))

    def _end(self, box: Box, until: dt.datetime, at: dt.datetime) -> None:
        box.until = until
        ids, releases, cites = box.obligation_ids(), box.releases(), _period_cites(box.rule, box.rest_of_day)
        end, out = self.gate.end_pre_borrow, self.sink.periods
        for p in box.periods:
            p.state = PERIOD.step(p.state, _END_DETERMINED, p.id)
            p.until = until
            end(p.bd, p.symbol, p.rule, p.start, until)
            out.append(p.record("ended", at, ids, releases, cites))
        for to, period in box.told.items():
            self._notice(box, to, r204_c.LIFTED, until, period)

    def _tell(self, box: Box, at: dt.datetime) -> None:
        """17 CFR 242.204(c), 204(d): notify every broker-dealer the participant clears for (bound or certified),
        or, for an allocated fail, the participant (docs/scenarios.md, convention 24)."""
        periods = {p.bd: p.id for p in box.periods}
        own = periods.get(box.owner, "")
        for to in r204_c.notice_recipients(box.owner, self.participant, self.clears_for):
            if to in box.told:
                continue
            route = r204_c.notice_route(box.owner, self.participant, to if box.owner == self.participant
                                        else box.owner)
            if route is None:
                continue
            period = periods.get(to, own)
            box.told[to] = period
            self._notice(box, to, r204_c.IMPOSED, at, period)

    def _notice(self, box: Box, to: str, kind: str, at: dt.datetime, period: str) -> None:
        self._notices += 1
        own = box.owner == self.participant
        key = (own, box.threshold, box.rule)
        cites = self._notice_cites.get(key)
        if cites is None:
            cites = ((c.R204_C,) if not box.threshold
                     else (c.R203_B3_IV if box.rule == "203(b)(3)" else c.R203_B3_V,))
            if not own and not box.threshold:
                cites = (c.R204_C, c.R204_D)
            self._notice_cites[key] = cites
        self.sink.notices.append(new_record(Notice, (f"N{self._notices}", to, self.participant if own else box.owner,
                                                     box.symbol, kind, at, box.rule, period, box.obligation_ids(),
                                                     cites)))

