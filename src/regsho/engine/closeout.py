"""The close-out engine: the stateful post-trade half of the replay (17 CFR 242.203(b)(3), 242.204, 242.204T).

It keeps close-out obligations, pre-borrow periods ("penalty box"), 204(c) notices and findings, and drives the
pre-trade gate's pre-borrow requirement through ``GateShell.require_pre_borrow`` / ``end_pre_borrow``. The rules
themselves are the pure, dated functions of ``regsho.rules.r204`` and ``regsho.rules.r203_b3``; this module only
keeps state and applies them in time order. Lifecycles are literal transition tables (DESIGN principle 8):
``OBLIGATION_TRANSITIONS`` and ``PERIOD_TRANSITIONS``.

Importing this module registers the engine with the replay (``set_post_trade``). The choices made where
docs/scenarios.md is silent are written down in ``docs/closeouts.md``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from regsho.adapters.scenario import Scenario, ScenarioEvent
from regsho.calendars import Calendars
from regsho.core import events as ev
from regsho.core.events import FailOrigin, Side
from regsho.engine.replay import set_post_trade
from regsho.engine.shell import GateInputError, GateShell
from regsho.law import citations as c
from regsho.law import params
from regsho.law.decision import Decision
from regsho.rules import r203_b3, r204
from regsho.rules.r203_b3 import Layer

CLOSE_OUT_MISSED: Final = "CLOSE_OUT_MISSED"
SHAM_CLOSE_OUT: Final = "SHAM_CLOSE_OUT"
NOT_A_CLOSE_OUT: Final = "NOT_A_CLOSE_OUT"
CYCLICAL_FAIL: Final = "CYCLICAL_FAIL"

IMPOSED: Final = "pre_borrow_imposed"
LIFTED: Final = "pre_borrow_lifted"


# -- lifecycles ---------------------------------------------------------------------------------------------------


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MISSED = "missed"


class ObEvent(StrEnum):
    CURED_IN_TIME = "cured_in_time"  # the whole quantity cured at or before the deadline
    CREDITED = "credited"  # 204(e) pre-fail credit covers it at once
    DEADLINE_PASSED = "deadline_passed"  # the deadline passed with quantity still owed
    LATE_CURE = "late_cure"  # a missed obligation is cured: keeps `missed`, gets `closed_at`
    ALLOCATED = "allocated"  # 204(d) / 203(b)(3)(vi): part of it moves to a correspondent
    DEADLINE_SET = "deadline_set"  # the 204T attestation question is settled (a new deadline, still open)


#: docs/scenarios.md "Output": open -> closed / missed; a missed obligation later cured stays missed.
OBLIGATION_TRANSITIONS: Final[dict[tuple[Status, ObEvent], Status]] = {
    (Status.OPEN, ObEvent.CURED_IN_TIME): Status.CLOSED,
    (Status.OPEN, ObEvent.CREDITED): Status.CLOSED,
    (Status.OPEN, ObEvent.DEADLINE_PASSED): Status.MISSED,
    (Status.OPEN, ObEvent.ALLOCATED): Status.OPEN,
    (Status.OPEN, ObEvent.DEADLINE_SET): Status.OPEN,
    (Status.MISSED, ObEvent.LATE_CURE): Status.MISSED,
    (Status.CLOSED, ObEvent.DEADLINE_SET): Status.CLOSED,
}


class PeriodState(StrEnum):
    IN_FORCE = "in_force"  # until not yet determined
    ENDING = "ending"  # until determined


class PeriodEvent(StrEnum):
    END_DETERMINED = "end_determined"


PERIOD_TRANSITIONS: Final[dict[tuple[PeriodState, PeriodEvent], PeriodState]] = {
    (PeriodState.IN_FORCE, PeriodEvent.END_DETERMINED): PeriodState.ENDING,
}


class TransitionError(RuntimeError):
    """A lifecycle event that the transition table does not allow (an engine bug, never bad input)."""


# -- records --------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Obligation:
    id: str
    seq: int
    symbol: str
    bd: str
    qty: int
    rule: str
    deadline: dt.datetime
    cure: r204.Cure
    settlement_date: dt.date
    created_at: dt.datetime
    origin: str | None = None
    trade_date: dt.date | None = None
    status: Status = Status.OPEN
    remaining: int = 0
    closed_at: dt.datetime | None = None
    cures: list[tuple[dt.datetime, int, str]] = field(default_factory=list)
    #: 204T market maker's fail: the attestation question is settled at this instant (None: settled)
    pending_until: dt.datetime | None = None
    allocated_from: str | None = None
    credit: str | None = None
    missed_qty: int = 0

    def transition(self, event: ObEvent) -> None:
        nxt = OBLIGATION_TRANSITIONS.get((self.status, event))
        if nxt is None:
            raise TransitionError(f"obligation {self.id}: {event} is not allowed when {self.status}")
        self.status = nxt

    def cured_by(self, at: dt.datetime) -> int:
        return sum(n for t, n, _ in self.cures if t <= at)

    @property
    def threshold(self) -> bool:
        return self.rule.startswith("203(b)(3)")


@dataclass(slots=True)
class Period:
    """A pre-borrow period of one broker-dealer in one security (docs/scenarios.md "Output": ``pre_borrow``)."""

    bd: str
    symbol: str
    rule: str
    start: dt.datetime
    box: str
    until: dt.datetime | None = None
    state: PeriodState = PeriodState.IN_FORCE

    def transition(self, event: PeriodEvent) -> None:
        nxt = PERIOD_TRANSITIONS.get((self.state, event))
        if nxt is None:
            raise TransitionError(f"pre-borrow period of {self.bd} in {self.symbol}: {event} when {self.state}")
        self.state = nxt


@dataclass(slots=True)
class Box:
    """One pre-borrow requirement imposed on ``owner``'s account of missed close-outs in a security, with the
    periods it imposes on every broker-dealer it binds."""

    id: str
    owner: str
    symbol: str
    rule: str
    threshold: bool  # 203(b)(3): ends with the purchase that closes its obligations; else 204(b)
    count_from: dt.datetime  # purchases from this instant count toward ending a 204(b) box
    need: int
    obligations: list[Obligation] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    until: dt.datetime | None = None


@dataclass(slots=True)
class LayerState:
    """A part of the fail position running its own 35-consecutive-settlement-day period (203(b)(3)(i)-(iii))."""

    kind: Layer
    qty: int
    start: dt.date
    last_seen: dt.date
    days: list[int] = field(default_factory=list)
    source: str = ""


@dataclass(slots=True)
class SymbolState:
    """The 203(b)(3) count of one security at the participant (driven by ``cns`` events alone)."""

    cns: dict[dt.date, int] = field(default_factory=dict)
    last_date: dt.date | None = None
    run: list[tuple[dt.date, int]] = field(default_factory=list)
    layers: list[LayerState] = field(default_factory=list)
    phase_outs_started: set[Layer] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Credit:
    id: str
    at: dt.datetime


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


class CloseOutEngine:
    """Implements the replay's ``PostTrade`` protocol."""

    def __init__(self, scenario: Scenario, cal: Calendars, gate: GateShell) -> None:
        self.sc = scenario
        self.cal = cal
        self.gate = gate
        self.firm = scenario.firm.id
        self.clears_for = scenario.firm.clears_for
        self.obligations: list[Obligation] = []
        self.boxes: list[Box] = []
        #: (bd, symbol) -> obligations that may still be owed (pruned as they close)
        self._owed: dict[tuple[str, str], list[Obligation]] = {}
        #: deadlines (and 204T attestation decisions) in time order: (due, seq, obligation); stale entries are
        #: skipped when popped
        self._due: list[tuple[dt.datetime, int, Obligation]] = []
        #: (owner, symbol) -> boxes, and box id -> box
        self._boxes_at: dict[tuple[str, str], list[Box]] = {}
        self._box_by_id: dict[str, Box] = {}
        self.periods: list[Period] = []
        self.notices: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self._seq = 0
        self._lists: list[tuple[dt.datetime, frozenset[str]]] = []
        self._symbols: dict[str, SymbolState] = {}
        #: (bd, symbol) -> purchases counted toward ending a 204(b) box: (time, qty, close-out id)
        self._purchases: dict[tuple[str, str], list[tuple[dt.datetime, int, str]]] = {}
        #: (bd, symbol) -> 204(e) credit lots: [credit, quantity left]
        self._credits: dict[tuple[str, str], list[list[Any]]] = {}
        #: (bd, symbol, date) -> time of the certification
        self._certs: dict[tuple[str, str, dt.date], dt.datetime] = {}
        #: (symbol, settlement date) -> [attestation time, quantity left]
        self._attest: dict[tuple[str, dt.date], list[list[Any]]] = {}
        #: options_mm_hedge fails: symbol -> (settlement date, quantity, options created)
        self._hedges: dict[str, list[tuple[dt.date, int, dt.date | None]]] = {}
        #: (bd, symbol) -> times of close-outs that closed out a fail (for cyclical fails)
        self._closeouts: dict[tuple[str, str], list[dt.datetime]] = {}
        #: (bd, symbol) -> times of accepted short sales
        self._shorts: dict[tuple[str, str], list[dt.datetime]] = {}

    # -- PostTrade protocol ----------------------------------------------------------------------------------------

    def before(self, se: ScenarioEvent) -> None:
        """Resolve deadlines strictly before the event's time (docs/scenarios.md, convention 2: a cure at the deadline
        is in time); before an order, also those at its time, so that the order is judged under the box."""
        self._advance(se.event.at, inclusive=se.type == "order")

    def handle(self, se: ScenarioEvent) -> None:
        e = se.event
        params.check_regime(e.at.date())  # a date before the earliest implemented regime is an error
        if isinstance(e, ev.ThresholdList):
            self._lists.append((e.at, e.symbols))
        elif isinstance(e, ev.Fail):
            self._fail(e)
        elif isinstance(e, ev.Cns):
            self._cns(e)
        elif isinstance(e, ev.CloseOut):
            self._close_out(e)
        elif isinstance(e, ev.Allocate):
            self._allocate(e)
        elif isinstance(e, ev.Certify):
            self._certify(e)
        elif isinstance(e, ev.Attestation):
            self._attestation(e)
        else:
            raise GateInputError("type", f"the close-out engine does not handle {se.type} events")

    def after_order(self, order: ev.Order, decision: Decision) -> None:
        """Accepted short sales are the "short sale in between" of a cyclical fail (docs/scenarios.md,
        convention 23)."""
        if decision.accepted and order.side in (Side.SELL_SHORT, Side.SELL_SHORT_EXEMPT):
            bd = self.gate.snap.accounts[order.account].bd
            self._shorts.setdefault((bd, order.symbol), []).append(order.at)

    def after_fill(self, fill: ev.Fill, order: ev.Order) -> None:
        """Fills do not change close-out state: a close-out purchase is recorded as a ``close_out`` event, which
        says what the purchase is for (a customer's buy is not the participant's close-out)."""
        return None

    def finish(self, last: dt.datetime) -> None:
        """The replay ends after the last event. Deadlines after it stay open; a 204T market maker's fail whose
        attestation question is still unsettled is settled now: no further attestation arrives (docs/scenarios.md
        convention 17)."""
        for ob in sorted(self.obligations, key=lambda o: o.seq):
            if ob.pending_until is not None:
                self._settle_attestation(ob)

    def output(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "obligations": [self._ob_json(o) for o in self.obligations if o.qty > 0],
            "pre_borrow": [self._period_json(p) for p in self.periods],
            "notices": list(self.notices),
            "findings": list(self.findings),
        }

    # -- time --------------------------------------------------------------------------------------------------------

    def _schedule(self, ob: Obligation) -> None:
        """Queue the obligation's next decision point: its 204T attestation decision, else its deadline."""
        due = ob.pending_until if ob.pending_until is not None else ob.deadline
        heapq.heappush(self._due, (due, ob.seq, ob))

    def _advance(self, t: dt.datetime, inclusive: bool) -> None:
        """Resolve, earliest first (then in creation order), every open obligation whose decision point is before
        ``t`` (or at ``t`` when ``inclusive``)."""
        heap = self._due
        while heap:
            due, _, ob = heap[0]
            if not (due < t or (inclusive and due == t)):
                return
            heapq.heappop(heap)
            if ob.status is not Status.OPEN or ob.qty == 0:
                continue
            current = ob.pending_until if ob.pending_until is not None else ob.deadline
            if current != due or (ob.pending_until is None and ob.remaining == 0):
                continue
            if ob.pending_until is not None:
                self._settle_attestation(ob)
            else:
                self._miss(ob, ob.deadline)

    def _settle_attestation(self, ob: Obligation) -> None:
        """17 CFR 242.204T(a)(3); FINRA Regulatory Notice 08-50: the market maker's fail keeps S+3 only with a
        timely attestation for at least its quantity; otherwise its deadline is S+1 and no pre-borrow is imposed
        before the end of S+1 (docs/scenarios.md, conventions 14 and 17)."""
        assert ob.pending_until is not None
        decided_at = ob.pending_until
        ob.pending_until = None
        attested = False
        for lot in self._attest.get((ob.symbol, ob.settlement_date), []):
            if lot[0] <= decided_at and lot[1] >= ob.qty:
                lot[1] -= ob.qty
                attested = True
                break
        origin = FailOrigin(ob.origin) if ob.origin else FailOrigin.BONA_FIDE_MM
        rule = r204.obligation_rule(origin, ob.settlement_date, attested=attested, hedge_excepted=False)
        assert rule is not None
        ob.rule = rule
        ob.deadline = r204.deadline(rule, ob.settlement_date, ob.trade_date, self.cal)
        ob.transition(ObEvent.DEADLINE_SET)
        if ob.status is not Status.OPEN:
            return
        self._schedule(ob)
        if ob.remaining == 0 and ob.closed_at is not None and ob.closed_at <= ob.deadline:
            ob.transition(ObEvent.CURED_IN_TIME)
        elif ob.deadline < decided_at:
            self._miss(ob, decided_at)

    def _miss(self, ob: Obligation, box_from: dt.datetime) -> None:
        ob.missed_qty = ob.qty - ob.cured_by(ob.deadline)
        ob.transition(ObEvent.DEADLINE_PASSED)
        pb = r203_b3.pre_borrow_rule(ob.rule) if ob.threshold else r204.pre_borrow_rule(ob.rule)
        cites = [r204.cite(ob.rule)] + ([r204.cite(pb)] if pb else [])
        self._finding(
            CLOSE_OUT_MISSED, ob.deadline, ob.symbol, ob.bd,
            f"{ob.bd} did not close out {ob.missed_qty} of the {ob.qty} shares of {ob.symbol} owed under "
            f"{ob.rule} (fail settling {ob.settlement_date.isoformat()}) by {ob.deadline.isoformat()}"
            + (f"; pre-borrow under {pb} applies" if pb else ""),
            cites, ob.id)
        if pb is not None:
            self._impose(ob, pb, box_from)

    # -- pre-borrow boxes ------------------------------------------------------------------------------------------

    def _bound(self, ob: Obligation) -> list[str]:
        """17 CFR 242.204(b), 204(d), 204(f); 203(b)(3)(iv)-(vi): who may not short without a pre-borrow.

        The owing broker-dealer; for the participant's own unallocated fail also every broker-dealer it clears for,
        except (for Rule 204) one that certified timely for the fail's settlement date (docs/scenarios.md 5, 22)."""
        if ob.bd != self.firm:
            return [ob.bd]
        out = [self.firm]
        for bd in self.clears_for:
            cert = self._certs.get((bd, ob.symbol, ob.settlement_date))
            if not ob.threshold and cert is not None and r204.certification_counts(cert, ob.deadline):
                continue
            out.append(bd)
        return out

    def _open_box(self, owner: str, symbol: str, rule: str) -> Box | None:
        for box in self._boxes_at.get((owner, symbol), ()):
            if box.rule == rule and box.until is None:
                return box
        return None

    def _add_box(self, box: Box) -> None:
        self.boxes.append(box)
        self._boxes_at.setdefault((box.owner, box.symbol), []).append(box)
        self._box_by_id[box.id] = box

    def _impose(self, ob: Obligation, rule: str, start: dt.datetime) -> None:
        box = self._open_box(ob.bd, ob.symbol, rule)
        if box is None:
            box = Box(f"PB{len(self.boxes) + 1}", ob.bd, ob.symbol, rule, ob.threshold, ob.deadline, 0)
            self._add_box(box)
        box.need += ob.missed_qty
        box.obligations.append(ob)
        have = {p.bd for p in box.periods}
        for bd in self._bound(ob):
            if bd not in have:
                self._add_period(box, bd, start, None)
        self._check_box(box)

    def _add_period(self, box: Box, bd: str, start: dt.datetime, until: dt.datetime | None) -> None:
        p = Period(bd, box.symbol, box.rule, start, box.id)
        box.periods.append(p)
        self.periods.append(p)
        self.gate.require_pre_borrow(bd, box.symbol, box.rule, start, None)
        self._notify(box, bd, IMPOSED, start)
        if until is not None:
            self._end_period(box, p, until)

    def _end_period(self, box: Box, p: Period, until: dt.datetime) -> None:
        p.transition(PeriodEvent.END_DETERMINED)
        p.until = until
        self.gate.end_pre_borrow(p.bd, p.symbol, p.rule, p.start, until)
        self._notify(box, p.bd, LIFTED, until)

    def _notify(self, box: Box, bd: str, kind: str, at: dt.datetime) -> None:
        """17 CFR 242.204(c), 204(d): the participant notifies each broker-dealer it clears for that the period
        binds; a correspondent bound by an allocated fail notifies the participant (docs/scenarios.md,
        convention 24)."""
        if box.owner == self.firm:
            if bd == self.firm:
                return
            to, sender = bd, self.firm
        else:
            to, sender = self.firm, box.owner
        self.notices.append({"to": to, "sender": sender, "symbol": box.symbol, "kind": kind, "at": at.isoformat(),
                             "rule": box.rule, "cites": [c.R204_C] if not box.threshold else [c.R203_B3]})

    def _check_box(self, box: Box) -> None:
        """End a box when the events determine its end: 204(b) when purchases since the miss reach the missed
        quantity (convention 5); 203(b)(3) at the end of the day of the purchase that closes its obligations."""
        if box.until is not None:
            return
        end: dt.datetime | None = None
        if box.threshold:
            if all(o.remaining == 0 for o in box.obligations):
                last = max(o.closed_at for o in box.obligations if o.closed_at is not None)
                end = r203_b3.rest_of_day(last, self.cal)
        else:
            total = 0
            for at, qty, _ in self._purchases.get((box.owner, box.symbol), []):
                if at < box.count_from:
                    continue
                total += qty
                if total >= box.need:
                    end = r204.pre_borrow_end(at, self.cal)
                    break
        if end is None:
            return
        box.until = end
        for p in box.periods:
            self._end_period(box, p, end)

    def _rest_of_day(self, owner: str, symbol: str, rule: str, at: dt.datetime, ob: Obligation) -> None:
        """17 CFR 242.203(b)(3); SEC Reg SHO FAQ 5.7; CBOE circular Question 4: every 203(b)(3) close-out
        purchase imposes pre-borrow for the rest of its day (docs/scenarios.md, convention 6)."""
        end = r203_b3.rest_of_day(at, self.cal)
        for box in self._boxes_at.get((owner, symbol), ()):
            if (box.rule == rule and box.periods
                    and box.periods[0].start <= at and (box.until is None or box.until >= end)):
                return
        box = Box(f"PB{len(self.boxes) + 1}", owner, symbol, rule, True, at, 0, [ob])
        self._add_box(box)
        box.until = end
        for bd in self._bound(ob):
            self._add_period(box, bd, at, end)

    # -- events ------------------------------------------------------------------------------------------------------

    def _new_ob(self, symbol: str, bd: str, qty: int, rule: str, settlement_date: dt.date, at: dt.datetime,
                origin: str | None, trade_date: dt.date | None, deadline: dt.datetime) -> Obligation:
        self._seq += 1
        ob = Obligation(f"OB{self._seq}", self._seq, symbol, bd, qty, rule, deadline, r204.cure_for(rule),
                        settlement_date, at, origin, trade_date, remaining=qty)
        self.obligations.append(ob)
        self._owed.setdefault((bd, symbol), []).append(ob)
        self._schedule(ob)
        return ob

    def _settlement_day(self, d: dt.date, fld: str, what: str) -> None:
        if d < params.REG_SHO_COMPLIANCE:
            raise GateInputError(fld, f"{what} {d.isoformat()} is before {params.REG_SHO_COMPLIANCE.isoformat()}, "
                                      "the compliance date of Regulation SHO; no earlier regime is implemented")
        if not self.cal.is_settlement_day(d):
            raise GateInputError(fld, f"{what} {d.isoformat()} is not a settlement day")

    def _threshold_since(self, symbol: str, day: dt.date) -> dt.date | None:
        """The first settlement day of the current threshold episode of ``symbol`` in effect at the end of ``day``
        (None when it is not then a threshold security)."""
        eod = self.cal.end_of_day(day)
        since: dt.date | None = None
        for at, symbols in self._lists:
            if at >= eod:
                break
            if symbol in symbols:
                if since is None:
                    since = r203_b3.threshold_since(at, self.cal)
            else:
                since = None
        return since

    def _fail(self, e: ev.Fail) -> None:
        s = e.settlement_date
        self._settlement_day(s, "settlement_date", "the settlement date")
        if e.at.date() < s:
            raise GateInputError("settlement_date", f"a fail settling {s.isoformat()} cannot be known on "
                                                    f"{e.at.date().isoformat()}")
        if e.origin in (FailOrigin.DEEMED_TO_OWN, FailOrigin.RULE144) and e.trade_date is None:
            raise GateInputError("trade_date", f"a {e.origin.value} fail needs its trade_date (the 35 days run "
                                               "from it)")
        bd = e.bd or self.firm
        if e.origin is FailOrigin.OPTIONS_MM_HEDGE:
            self._hedges.setdefault(e.symbol, []).append((s, e.qty, e.options_created))
        if e.origin is FailOrigin.RULE144 and r203_b3.rule144_extended(s):
            st = self._symbols.setdefault(e.symbol, SymbolState())
            st.layers.append(LayerState(Layer.RULE144, e.qty, s, self.cal.previous_settlement_day(s),
                                        source=e.prov))
        self._cyclical(e, bd)
        since = self._threshold_since(e.symbol, s)
        excepted = r204.options_hedge_excepted(e.origin, s, e.options_created, since)
        pending = r204.attestation_required(e.origin, s) and not excepted
        rule = r204.obligation_rule(e.origin, s, attested=None if pending else True, hedge_excepted=excepted)
        if rule is None:
            return
        if pending:
            dl = r204.deadline(r204.rule_name(r204.regime(s), r204.A), s, e.trade_date, self.cal)
        else:
            dl = r204.deadline(rule, s, e.trade_date, self.cal)
        ob = self._new_ob(e.symbol, bd, e.qty, rule, s, e.at, e.origin.value, e.trade_date, dl)
        if pending:
            ob.pending_until = r204.attestation_due(s, self.cal)
            self._schedule(ob)
        if r204.regime(s) is not r204.Regime.NONE:
            self._pre_fail_credit(ob, e)

    def _pre_fail_credit(self, ob: Obligation, e: ev.Fail) -> None:
        """17 CFR 242.204(e): pre-fail credit; each share of credit is used once (RBC; docs/scenarios.md 15)."""
        trade_date = e.trade_date or r204.implied_trade_date(e.settlement_date, self.cal)
        window = r204.pre_fail_credit_window(trade_date, e.settlement_date, self.cal)
        for lot in self._credits.get((ob.bd, ob.symbol), []):
            credit: _Credit = lot[0]
            if r204.pre_fail_credit_applies(credit.at, lot[1], True, e.at, ob.qty, window):
                lot[1] -= ob.qty
                ob.cures.append((e.at, ob.qty, credit.id))
                ob.remaining = 0
                ob.closed_at = e.at
                ob.credit = credit.id
                ob.transition(ObEvent.CREDITED)
                bisect.insort(self._closeouts.setdefault((ob.bd, ob.symbol), []), credit.at)
                return

    def _cyclical(self, e: ev.Fail, bd: str) -> None:
        key = (bd, e.symbol)
        closeouts = self._closeouts.get(key)
        if not closeouts:
            return
        shorts = self._shorts.get(key, [])
        n_days = params.int_value("closeout.cyclical_fail_days", e.settlement_date)
        # Only close-outs dated within the window can make a cyclical fail (both lists are kept in time order).
        earliest = self.cal.add_settlement_days(self.cal.settlement_day_on_or_before(e.settlement_date), -n_days)
        lo = bisect.bisect_left(closeouts, dt.datetime.combine(earliest, dt.time(0), tzinfo=e.at.tzinfo))
        for co in closeouts[lo:]:
            i = bisect.bisect_right(shorts, co)
            between = i < len(shorts) and shorts[i] < e.at
            if co < e.at and r204.cyclical(co, e.settlement_date, between, self.cal):
                n = params.int_value("closeout.cyclical_fail_days", co.date())
                self._finding(
                    CYCLICAL_FAIL, e.at, e.symbol, bd,
                    f"{bd} fails again in {e.symbol} (settling {e.settlement_date.isoformat()}) within {n} "
                    f"settlement days of its close-out at {co.isoformat()}, with short sales in between",
                    [c.CYCLICAL_CONVENTION, c.FAQ_5_7], None)
                return

    def _close_out(self, e: ev.CloseOut) -> None:
        bd = e.bd or self.firm
        key = (bd, e.symbol)
        kind = self.sc.securities[e.symbol].kind
        counts_as, finding, detail = r204.judge_close_out(e.method, kind, e.irrevocable, e.counterparty_delivers)
        if counts_as is None:
            assert finding is not None
            cites = [c.R203_B3_VII] if finding == SHAM_CLOSE_OUT else [c.R204_A, c.R203_B3]
            self._finding(finding, e.at, e.symbol, bd, f"close-out {e.id} ({e.method.value}, {e.qty} shares): "
                          f"{detail}; it cures nothing", cites, None)
            return
        if counts_as == r204.PURCHASE:
            self._purchases.setdefault(key, []).append((e.at, e.qty, e.id))
        active = [o for o in self._owed.get(key, ()) if o.remaining > 0 and o.status is not Status.CLOSED]
        self._owed[key] = active
        owed = list(active)
        owed.sort(key=lambda o: (o.deadline, o.seq))
        left = e.qty
        applied: list[Obligation] = []
        for ob in owed:
            if left == 0:
                break
            if not r204.cures(counts_as, ob.cure):
                continue
            n = min(left, ob.remaining)
            left -= n
            ob.remaining -= n
            ob.cures.append((e.at, n, e.id))
            applied.append(ob)
            if ob.remaining == 0:
                ob.closed_at = e.at
                if ob.status is Status.MISSED:
                    ob.transition(ObEvent.LATE_CURE)
                elif ob.pending_until is None:
                    ob.transition(ObEvent.CURED_IN_TIME)
        if applied:
            bisect.insort(self._closeouts.setdefault(key, []), e.at)
        elif counts_as == r204.BORROW and any(o.remaining > 0 and o.cure is r204.Cure.PURCHASE for o in owed):
            self._finding(NOT_A_CLOSE_OUT, e.at, e.symbol, bd,
                          f"close-out {e.id} is a borrow; {bd}'s open obligations in {e.symbol} can be closed out "
                          "only by a purchase", [c.R203_B3, c.R204_A2], None)
        if left and e.net_flat_or_long:
            self._credits.setdefault(key, []).append([_Credit(e.id, e.at), left])
        if counts_as == r204.PURCHASE:
            for box in self._boxes_at.get(key, ()):
                if box.until is None:
                    self._check_box(box)
            for ob in applied:
                if ob.threshold:
                    self._rest_of_day(bd, e.symbol, r203_b3.pre_borrow_rule(ob.rule), e.at, ob)

    def _allocate(self, e: ev.Allocate) -> None:
        """17 CFR 242.204(d), 203(b)(3)(vi): the participant allocates part of its open obligations in the
        security to a broker-dealer it clears for, earliest deadline first (docs/scenarios.md, conventions 3, 30)."""
        own = [o for o in self._owed.get((self.firm, e.symbol), ())
               if o.status is Status.OPEN and o.remaining > 0]
        own.sort(key=lambda o: (o.deadline, o.seq))
        if sum(o.remaining for o in own) < e.qty:
            raise GateInputError("qty", f"{self.firm} has {sum(o.remaining for o in own)} shares of open "
                                        f"close-out obligations in {e.symbol}; {e.qty} cannot be allocated")
        left = e.qty
        for ob in own:
            if left == 0:
                break
            n = min(left, ob.remaining)
            left -= n
            ob.qty -= n
            ob.remaining -= n
            ob.transition(ObEvent.ALLOCATED)
            new = self._new_ob(ob.symbol, e.to, n, ob.rule, ob.settlement_date, e.at, ob.origin, ob.trade_date,
                               ob.deadline)
            new.pending_until = ob.pending_until
            if new.pending_until is not None:
                self._schedule(new)
            new.allocated_from = ob.id
            if ob.remaining == 0 and ob.qty > 0 and ob.pending_until is None:
                ob.closed_at = max(t for t, _, _ in ob.cures)
                ob.transition(ObEvent.CURED_IN_TIME)

    def _certify(self, e: ev.Certify) -> None:
        self._settlement_day(e.date, "date", "the certified settlement date")
        if e.bd == self.firm:
            raise GateInputError("bd", f"{e.bd} is the participant; only a broker-dealer it clears for certifies "
                                       "to it under 204(f)")
        if e.at.date() < e.date:
            raise GateInputError("date", f"a certification about settlement date {e.date.isoformat()} cannot be "
                                         f"made on {e.at.date().isoformat()}")
        self._certs.setdefault((e.bd, e.symbol, e.date), e.at)

    def _attestation(self, e: ev.Attestation) -> None:
        self._settlement_day(e.settlement_date, "settlement_date", "the attested settlement date")
        self._attest.setdefault((e.symbol, e.settlement_date), []).append([e.at, e.qty])

    # -- 203(b)(3) ----------------------------------------------------------------------------------------------------

    def _cns(self, e: ev.Cns) -> None:
        """17 CFR 242.203(b)(3): the 13-consecutive-settlement-day count (docs/scenarios.md, conventions 6, 21, 28)."""
        d = e.date
        self._settlement_day(d, "date", "the CNS date")
        if e.at.date() < d:
            raise GateInputError("date", f"the CNS position of {d.isoformat()} cannot be known on "
                                         f"{e.at.date().isoformat()}")
        st = self._symbols.setdefault(e.symbol, SymbolState())
        if st.last_date is not None and d <= st.last_date:
            raise GateInputError("date", f"CNS positions of {e.symbol} must come in date order: {d.isoformat()} "
                                         f"follows {st.last_date.isoformat()}")
        prev_day = self.cal.previous_settlement_day(d)
        st.cns[d] = e.fail_qty
        st.last_date = d
        since = self._threshold_since(e.symbol, d)
        on_list = since is not None
        self._start_phase_outs(e.symbol, st, d)
        excepted = r203_b3.excepted_quantity(d, self._grandfathered(st, since), self._hedged(e.symbol, d, since))
        avail = max(0, e.fail_qty - excepted)
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
                    self._threshold_obligation(e, layer.kind.value, r203_b3.obligation_quantity(layer.days), d)
        counted = r203_b3.counted_position(e.fail_qty, excepted, layered)
        if st.run and st.run[-1][0] != prev_day:
            st.run = []
        if r203_b3.day_counts(on_list, counted):
            st.run.append((d, counted))
        else:
            st.run = []
        if len(st.run) == r203_b3.thirteen_days(d):
            qty = r203_b3.obligation_quantity([q for _, q in st.run])
            st.run = []
            self._threshold_obligation(e, r203_b3.THIRTEEN_DAY_RULE, qty, d)

    def _threshold_obligation(self, e: ev.Cns, rule: str, qty: int, day: dt.date) -> None:
        self._new_ob(e.symbol, self.firm, qty, rule, day, e.at, None, None,
                     r203_b3.obligation_deadline(day, self.cal))

    def _grandfathered(self, st: SymbolState, since: dt.date | None) -> int:
        """The CNS position on the last settlement day before the security became a threshold security."""
        if since is None:
            return 0
        return st.cns.get(self.cal.previous_settlement_day(since), 0)

    def _hedged(self, symbol: str, day: dt.date, since: dt.date | None) -> int:
        """Outstanding options_mm_hedge fails whose options were created before the security became a threshold
        security: the sum of such fails settled so far (docs/scenarios.md, convention 21)."""
        if since is None:
            return 0
        return sum(q for s, q, created in self._hedges.get(symbol, [])
                   if s <= day and created is not None and created < since)

    def _start_phase_outs(self, symbol: str, st: SymbolState, day: dt.date) -> None:
        """17 CFR 242.203(b)(3)(i) and (iii): on the effective date of each amendment, the quantity the removed
        exception excepted (and still failing) gets 35 consecutive settlement days from that date."""
        for kind in (Layer.GRANDFATHER_PHASE_OUT, Layer.OPTIONS_PHASE_OUT):
            start = r203_b3.phase_out_start(kind)
            if day < start or kind in st.phase_outs_started:
                continue
            st.phase_outs_started.add(kind)
            prev = self.cal.previous_settlement_day(start)
            since = self._threshold_since(symbol, prev)
            if since is None:
                continue
            was = (self._grandfathered(st, since) if kind is Layer.GRANDFATHER_PHASE_OUT
                   else self._hedged(symbol, prev, since))
            qty = min(was, st.cns.get(prev, 0))
            if qty > 0:
                st.layers.append(LayerState(kind, qty, start, prev))

    # -- output ----------------------------------------------------------------------------------------------

    def _finding(self, code: str, at: dt.datetime, symbol: str, bd: str, detail: str, cites: list[str],
                 obligation: str | None) -> None:
        self.findings.append({"code": code, "at": at.isoformat(), "symbol": symbol, "bd": bd, "detail": detail,
                              "cites": cites, "obligation": obligation})

    def _ob_json(self, o: Obligation) -> dict[str, Any]:
        return {
            "id": o.id, "symbol": o.symbol, "bd": o.bd, "qty": o.qty, "rule": o.rule,
            "deadline": o.deadline.isoformat(), "cure": o.cure.value, "status": o.status.value,
            "closed_at": _iso(o.closed_at), "settlement_date": o.settlement_date.isoformat(),
            "trade_date": o.trade_date.isoformat() if o.trade_date else None, "origin": o.origin,
            "cured": [{"at": t.isoformat(), "qty": n, "by": by} for t, n, by in o.cures],
            "missed_qty": o.missed_qty if o.status is Status.MISSED else 0,
            "allocated_from": o.allocated_from, "credit": o.credit, "cites": [r204.cite(o.rule)],
        }

    def _period_json(self, p: Period) -> dict[str, Any]:
        box = self._box_by_id[p.box]
        return {"symbol": p.symbol, "bd": p.bd, "rule": p.rule, "from": p.start.isoformat(),
                "until": _iso(p.until), "owner": box.owner, "obligations": [o.id for o in box.obligations],
                "cites": [r204.cite(p.rule)]}


def _factory(scenario: Scenario, cal: Calendars, gate: GateShell) -> CloseOutEngine:
    return CloseOutEngine(scenario, cal, gate)


set_post_trade(_factory)
