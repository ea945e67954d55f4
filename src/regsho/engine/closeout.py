"""The close-out state of a book and its driver (17 CFR 242.203(b)(3), 242.204, 242.204T).

The parts: ``obligations`` (the lifecycle and ledger of close-out obligations), ``penalty_box`` (pre-borrow
periods and 204(c) notices), ``threshold`` (threshold status and the 203(b)(3) count). This driver applies the
close-out events in time order and resolves deadlines as time passes; the rules themselves are the pure, dated
functions of ``regsho.rules``. The choices made where docs/scenarios.md is silent are in ``docs/closeouts.md``.

Cost per event does not grow with history: deadlines sit in a heap, obligations owed are indexed by
(broker-dealer, security) and pruned as they close, threshold lists are answered by bisection, and everything
computed from a settlement date alone (regime, deadlines, windows) is computed once per date.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Collection
from typing import Final

from regsho.calendars import Calendars
from regsho.core import events as ev
from regsho.core.book import Book
from regsho.core.events import FailOrigin
from regsho.core.records import Cure, Finding, ParamValue, new_record
from regsho.engine.errors import EngineInputError
from regsho.engine.obligations import Attest, AttestEvent, ObEvent, ObState, Status
from regsho.engine.penalty_box import PenaltyBox
from regsho.engine.shell import GateShell
from regsho.engine.sink import Sink
from regsho.engine.threshold import DueObligation, ThresholdCount, ThresholdLists
from regsho.law import citations as c
from regsho.law import findings as fc
from regsho.law import params
from regsho.rules import r203_b3, r204, r204_b, r204_d

#: kinds of scheduled decision points
_DEADLINE: Final = 0
_ATTESTATION: Final = 1
_DAY_END: Final = 2

# enum members read once: on Python 3.11 a member looked up on its class goes through the enum metaclass's
# ``__getattr__`` hook (about 0.1-0.2 µs a time), and these are read for every fail and close-out
_OPEN, _CLOSED, _MISSED = Status.OPEN, Status.CLOSED, Status.MISSED
_DTO, _R144, _HEDGE, _BFMM = (FailOrigin.DEEMED_TO_OWN, FailOrigin.RULE144, FailOrigin.OPTIONS_MM_HEDGE,
                              FailOrigin.BONA_FIDE_MM)
_PURCHASE_ONLY = r204.Cure.PURCHASE
_ORIGIN_TEXT: Final = {o: o.value for o in FailOrigin}
_CURED_IN_TIME, _LATE_CURE, _PARTLY_CURED = ObEvent.CURED_IN_TIME, ObEvent.LATE_CURE, ObEvent.PARTLY_CURED


def _by_deadline(o: ObState) -> tuple[dt.datetime, int]:
    return (o.deadline, o.seq)


class CloseOutState:
    def __init__(self, book: Book, cal: Calendars, gate: GateShell, sink: Sink) -> None:
        self.book = book
        self.cal = cal
        self.gate = gate
        self.sink = sink
        self.firm = book.firm.id
        self.clears_for = book.firm.clears_for
        #: obligations whose 204T attestation question is still open, by sequence number (the only ones ``finish``
        #: needs); an obligation otherwise lives only as long as something indexes it (``_owed``, the deadline
        #: heap, a penalty box), so live state does not grow with the obligations closed
        self._pending: dict[int, ObState] = {}
        self.lists = ThresholdLists(cal)
        self.count = ThresholdCount(cal, self.lists)
        self.box = PenaltyBox(self.firm, self.clears_for, cal, gate, sink, self._certified)
        #: (bd, symbol) -> obligations that may still be owed (pruned as they close)
        self._owed: dict[tuple[str, str], list[ObState]] = {}
        #: decision points in time order: a heap of (due, kind) keys, each with its payloads in the order they
        #: were queued (most deadlines fall on a few instants, the open of a settlement day); stale entries are
        #: skipped when reached
        self._due: list[tuple[dt.datetime, int]] = []
        self._buckets: dict[tuple[dt.datetime, int], list[object]] = {}
        self._seq = 0
        #: (bd, symbol) -> 204(e) credit lots: [close-out id, time, quantity left]
        self._credits: dict[tuple[str, str], list[list[object]]] = {}
        #: (bd, symbol, date) -> time of the certification
        self._certs: dict[tuple[str, str, dt.date], dt.datetime] = {}
        #: (symbol, settlement date) -> [attestation time, quantity left]
        self._attest: dict[tuple[str, dt.date], list[list[object]]] = {}
        #: (bd, symbol) -> times of close-outs that closed out a fail (for cyclical fails)
        self._closeouts: dict[tuple[str, str], list[dt.datetime]] = {}
        #: (bd, symbol) -> times of accepted short sales
        self._shorts: dict[tuple[str, str], list[dt.datetime]] = {}
        #: per-date memo of what depends on the date alone
        self._memo: dict[tuple[object, ...], object] = {}
        self._cures: dict[str, r204.Cure] = {}
        #: (close-out date, fail's settlement date) -> (cyclical, window in settlement days, parameters used)
        self._cyclical_of: dict[tuple[dt.date, dt.date], tuple[bool, int, tuple[ParamValue, ...]]] = {}
        #: what a close-out counts as, by (method, kind of security, irrevocable, counterparty delivers)
        self._judged: dict[tuple[object, ...], tuple[str | None, str | None, str]] = {}

    # -- time ---------------------------------------------------------------------------------------------------

    def _push(self, due: dt.datetime, kind: int, payload: object) -> None:
        key = (due, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [payload]
            heapq.heappush(self._due, key)
        else:
            bucket.append(payload)

    def _schedule(self, ob: ObState) -> None:
        """Queue the obligation's next decision point: its 204T attestation decision, else its deadline."""
        if ob.pending_until is not None:
            self._push(ob.pending_until, _ATTESTATION, ob)
        else:
            self._push(ob.deadline, _DEADLINE, ob)

    def next_due(self) -> dt.datetime | None:
        return self._due[0][0] if self._due else None

    def advance(self, t: dt.datetime, inclusive: bool) -> None:
        """Resolve, earliest first, every decision point before ``t`` (or at ``t`` when ``inclusive``): deadlines
        passed (docs/scenarios.md, convention 2: a cure at the deadline is in time), 204T attestation questions
        settled, threshold days judged at their end."""
        heap, buckets = self._due, self._buckets
        while heap:
            key = heap[0]
            due, kind = key
            if not (due < t or (inclusive and due == t)):
                return
            bucket = buckets[key]
            n = 0
            while n < len(bucket):  # the bucket may grow while it is resolved: those come after, as queued
                payload = bucket[n]
                n += 1
                if kind == _DAY_END:
                    assert isinstance(payload, str)
                    if self.count.pending_due(payload) == due:
                        self._threshold_due(self.count.judge_pending(payload, due))
                else:
                    assert isinstance(payload, ObState)
                    ob = payload
                    if ob.status is not _OPEN or ob.qty == 0:
                        pass
                    elif kind == _ATTESTATION:
                        if ob.pending_until == due:
                            self._settle_attestation(ob)
                    elif ob.pending_until is None and ob.deadline == due and ob.remaining > 0:
                        self._miss(ob, ob.deadline)
                if heap[0] is not key:  # an earlier decision point was queued: it comes first
                    del bucket[:n]
                    break
            else:
                heapq.heappop(heap)
                del buckets[key]

    def finish(self) -> None:
        """The replay ends after the last event. Deadlines after it stay open; a 204T market maker's fail whose
        attestation question is still unsettled is settled now: no further attestation arrives
        (docs/scenarios.md convention 17). A threshold day waiting for its end stays unjudged."""
        for seq in sorted(self._pending):  # settling one takes it out of the table
            self._settle_attestation(self._pending[seq])

    # -- obligations ------------------------------------------------------------------------------------------

    def _new_ob(self, symbol: str, bd: str, qty: int, rule: str, settlement_date: dt.date, at: dt.datetime,
                origin: str | None, trade_date: dt.date | None, deadline: dt.datetime,
                used: tuple[ParamValue, ...], schedule: bool = True) -> ObState:
        self._seq += 1
        cure = self._cures.get(rule)
        if cure is None:
            cure = self._cures[rule] = r204.cure_for(rule)
        ob = ObState(f"OB{self._seq}", self._seq, symbol, bd, qty, rule, deadline, cure,
                     settlement_date, at, origin, trade_date, remaining=qty, params=used)
        self._owed.setdefault((bd, symbol), []).append(ob)
        if schedule:
            self._push(deadline, _DEADLINE, ob)  # a new obligation's next decision point is its deadline
        return ob

    def _emit(self, ob: ObState, change: str, at: dt.datetime) -> None:
        self.sink.obligations.append(ob.record(change, at))

    def _settle_attestation(self, ob: ObState) -> None:
        """17 CFR 242.204T(a)(3); FINRA Regulatory Notice 08-50: the market maker's fail keeps S+3 only with a
        timely attestation for at least its quantity; otherwise its deadline is S+1 and no pre-borrow is imposed
        before the end of S+1 (docs/scenarios.md, conventions 14 and 17)."""
        assert ob.pending_until is not None
        decided_at = ob.pending_until
        ob.pending_until = None
        self._pending.pop(ob.seq, None)
        attested = False
        for lot in self._attest.get((ob.symbol, ob.settlement_date), []):
            t, left = lot
            assert isinstance(t, dt.datetime) and isinstance(left, int)
            if t <= decided_at and left >= ob.qty:
                lot[1] = left - ob.qty
                attested = True
                break
        ob.step_attestation(AttestEvent.ATTESTED_IN_TIME if attested else AttestEvent.DUE_PASSED)
        origin = FailOrigin(ob.origin) if ob.origin else _BFMM
        with params.trace() as used:
            rule = r204.obligation_rule(origin, ob.settlement_date, attested=attested, hedge_excepted=False)
            assert rule is not None
            ob.rule = rule
            ob.deadline = r204.deadline(rule, ob.settlement_date, ob.trade_date, self.cal)
        ob.params = tuple(dict.fromkeys((*ob.params, *used)))
        ob.step(ObEvent.DEADLINE_SET)
        if ob.status is not _OPEN:
            self._emit(ob, "deadline_set", decided_at)
            return
        self._schedule(ob)
        if ob.remaining == 0 and ob.closed_at is not None and ob.closed_at <= ob.deadline:
            ob.step(_CURED_IN_TIME)
            self._emit(ob, "closed", decided_at)
        elif ob.deadline < decided_at:
            self._emit(ob, "deadline_set", decided_at)
            self._miss(ob, decided_at)
        else:
            self._emit(ob, "deadline_set", decided_at)

    def _miss(self, ob: ObState, box_from: dt.datetime) -> None:
        ob.missed_qty = ob.qty - ob.cured_by(ob.deadline)
        ob.step(ObEvent.DEADLINE_PASSED)
        self._emit(ob, "missed", ob.deadline)
        pb = r203_b3.pre_borrow_rule(ob.rule) if ob.threshold else r204_b.pre_borrow_rule(ob.rule)
        cites = (r204.cite(ob.rule), *((c.cite_pre_borrow(pb),) if pb else ()))
        self._finding(
            fc.CLOSE_OUT_MISSED, ob.deadline, ob.symbol, ob.bd,
            f"{ob.bd} did not close out {ob.missed_qty} of the {ob.qty} shares of {ob.symbol} owed under "
            f"{ob.rule} (fail settling {ob.settlement_date.isoformat()}) by {ob.deadline.isoformat()}"
            + (f"; pre-borrow under {pb} applies" if pb else ""),
            cites, ob.id, (("qty", ob.qty), ("missed_qty", ob.missed_qty), ("deadline", ob.deadline)), ob.params)
        if pb is not None:
            self.box.impose(ob, pb, box_from)

    def _certified(self, ob: ObState) -> Collection[str]:
        """Broker-dealers whose certification under the proviso to 204(b) counts for ``ob``."""
        out = []
        for bd in self.clears_for:
            cert = self._certs.get((bd, ob.symbol, ob.settlement_date))
            if cert is not None and r204_b.certification_counts(cert, ob.deadline):
                out.append(bd)
        return out

    def _finding(self, code: str, at: dt.datetime, symbol: str, bd: str, detail: str, cites: tuple[str, ...],
                 obligation: str | None, facts: tuple[tuple[str, object], ...] = (),
                 used: tuple[ParamValue, ...] = ()) -> None:
        self.sink.findings.append(Finding(code, at, symbol, bd, detail, cites, obligation, facts, used))

    # -- events -------------------------------------------------------------------------------------------------

    def threshold_list(self, e: ev.ThresholdList) -> None:
        self.lists.apply(e.at, e.symbols)

    def accepted_short(self, bd: str, symbol: str, at: dt.datetime) -> None:
        """Accepted short sales are the "short sale in between" of a cyclical fail (docs/scenarios.md,
        convention 23)."""
        self._shorts.setdefault((bd, symbol), []).append(at)

    def _settlement_day(self, d: dt.date, fld: str, what: str) -> None:
        if ("settles", d) in self._memo:
            return
        if not params.regime_in_force("regime.reg_sho", d):
            raise EngineInputError(fld, f"{what} {d.isoformat()} is before "
                                        f"{params.regime_start('regime.reg_sho').isoformat()}, the compliance date of "
                                        "Regulation SHO; no earlier regime is implemented")
        if not self.cal.is_settlement_day(d):
            raise EngineInputError(fld, f"{what} {d.isoformat()} is not a settlement day")
        self._memo[("settles", d)] = True

    def _fail_terms(self, origin: FailOrigin, s: dt.date, trade_date: dt.date | None, excepted: bool
                    ) -> tuple[str | None, bool, dt.datetime | None, dt.datetime | None, tuple[ParamValue, ...], bool]:
        """What a fail of ``origin`` settling on ``s`` owes, computed once per (origin, date, trade date):
        (rule, attestation pending, deadline, attestation due, parameters used, under Rule 204 or 204T)."""
        key = ("fail", origin, s, trade_date, excepted)
        hit = self._memo.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        with params.trace() as used:
            pending = r204.attestation_required(origin, s) and not excepted
            rule = r204.obligation_rule(origin, s, attested=None if pending else True, hedge_excepted=excepted)
            dl = due = None
            if rule is not None:
                if pending:
                    dl = r204.deadline(r204.rule_name(r204.regime(s), r204.A), s, trade_date, self.cal)
                    due = r204.attestation_due(s, self.cal)
                else:
                    dl = r204.deadline(rule, s, trade_date, self.cal)
        out = (rule, pending, dl, due, tuple(used), r204.regime(s) is not r204.Regime.NONE)
        self._memo[key] = out
        return out

    def fail(self, e: ev.Fail) -> None:
        s = e.settlement_date
        self._settlement_day(s, "settlement_date", "the settlement date")
        at, origin = e.at, e.origin
        if at.date() < s:
            raise EngineInputError("settlement_date", f"a fail settling {s.isoformat()} cannot be known on "
                                                      f"{at.date().isoformat()}")
        if (origin is _DTO or origin is _R144) and e.trade_date is None:
            raise EngineInputError("trade_date", f"a {origin.value} fail needs its trade_date (the 35 days run "
                                                 "from it)")
        bd = e.bd or self.firm
        key = (bd, e.symbol)
        if origin is _HEDGE:
            self.count.add_hedge(e.symbol, s, e.qty, e.options_created)
        if origin is _R144 and r203_b3.rule144_extended(s):
            self.count.add_rule144(e.symbol, s, e.qty)
        if key in self._closeouts:
            self._cyclical(e, bd)
        excepted = False
        if origin is _HEDGE:
            since = self.lists.since_end_of(e.symbol, s)
            excepted = r204.options_hedge_excepted(origin, s, e.options_created, since)
        rule, pending, dl, due, used, rule204 = self._fail_terms(origin, s, e.trade_date, excepted)
        if rule is None:
            return
        assert dl is not None
        ob = self._new_ob(e.symbol, bd, e.qty, rule, s, at, _ORIGIN_TEXT[origin], e.trade_date, dl, used,
                          schedule=not pending)
        if pending:
            ob.attest = Attest.PENDING
            ob.pending_until = due
            self._pending[ob.seq] = ob
            self._schedule(ob)
        self._emit(ob, "created", at)
        if rule204 and key in self._credits:
            self._pre_fail_credit(ob, e)

    def _pre_fail_credit(self, ob: ObState, e: ev.Fail) -> None:
        """17 CFR 242.204(e): pre-fail credit; each share of credit is used once (RBC; docs/scenarios.md 15)."""
        lots = self._credits.get((ob.bd, ob.symbol))
        if not lots:
            return
        key = ("credit_window", e.settlement_date, e.trade_date)
        window = self._memo.get(key)
        if window is None:
            trade_date = e.trade_date or r204.implied_trade_date(e.settlement_date, self.cal)
            window = r204.pre_fail_credit_window(trade_date, e.settlement_date, self.cal)
            self._memo[key] = window
        assert isinstance(window, tuple)
        for lot in lots:
            cid, cat, left = lot
            assert isinstance(cid, str) and isinstance(cat, dt.datetime) and isinstance(left, int)
            if r204.pre_fail_credit_applies(cat, left, True, e.at, ob.qty, window):
                lot[2] = left - ob.qty
                ob.cures.append(Cure(e.at, ob.qty, cid))
                ob.remaining = 0
                ob.closed_at = e.at
                ob.credit = cid
                ob.step(ObEvent.CREDITED)
                self._emit(ob, "credited", e.at)
                bisect.insort(self._closeouts.setdefault((ob.bd, ob.symbol), []), cat)
                return

    def _cyclical(self, e: ev.Fail, bd: str) -> None:
        key = (bd, e.symbol)
        closeouts = self._closeouts.get(key)
        if not closeouts:
            return
        shorts = self._shorts.get(key)
        if not shorts:
            return
        # A close-out has a short sale "in between" when a short sale follows it before the fail: exactly the
        # close-outs before the last short sale before the fail.
        j = bisect.bisect_left(shorts, e.at) - 1
        if j < 0:
            return
        last_short = shorts[j]
        mkey = ("cyclical", e.settlement_date)
        earliest = self._memo.get(mkey)
        if earliest is None:
            n_days = params.int_value("closeout.cyclical_fail_days", e.settlement_date)
            day = self.cal.add_settlement_days(self.cal.settlement_day_on_or_before(e.settlement_date), -n_days)
            earliest = dt.datetime.combine(day, dt.time(0), tzinfo=e.at.tzinfo)
            self._memo[mkey] = earliest
        assert isinstance(earliest, dt.datetime)
        # Only close-outs dated within the window can make a cyclical fail (both lists are kept in time order).
        lo = bisect.bisect_left(closeouts, earliest)
        for k in range(lo, len(closeouts)):
            co = closeouts[k]
            if co >= last_short:
                return  # no short sale between this close-out (or any later one) and the fail
            i = bisect.bisect_right(shorts, co)
            ckey = (co.date(), e.settlement_date)
            judged = self._cyclical_of.get(ckey)
            if judged is None:
                with params.trace() as used:
                    hit = r204.cyclical(co, e.settlement_date, True, self.cal)
                    n = params.int_value("closeout.cyclical_fail_days", co.date())
                judged = self._cyclical_of[ckey] = (hit, n, tuple(used))
            hit, n, cyc_used = judged
            if hit:
                self._finding(
                    fc.CYCLICAL_FAIL, e.at, e.symbol, bd,
                    f"{bd} fails again in {e.symbol} (settling {e.settlement_date.isoformat()}) within {n} "
                    f"settlement days of its close-out at {co.isoformat()}, with short sales in between",
                    fc.CODES[fc.CYCLICAL_FAIL].cites, None,
                    (("close_out_at", co), ("settlement_date", e.settlement_date), ("short_sale_at", shorts[i])),
                    cyc_used)
                return

    def close_out(self, e: ev.CloseOut) -> None:
        bd = e.bd or self.firm
        key = (bd, e.symbol)
        kind = self.book.securities[e.symbol].kind
        jkey = (e.method, kind, e.irrevocable, e.counterparty_delivers)
        judged = self._judged.get(jkey)
        if judged is None:
            judged = self._judged[jkey] = r204.judge_close_out(e.method, kind, e.irrevocable,
                                                               e.counterparty_delivers)
        counts_as, finding, detail = judged
        if counts_as is None:
            assert finding is not None
            cites = (c.R204_F, c.R203_B3_VII) if finding == fc.SHAM_CLOSE_OUT else (c.R204_A, c.R203_B3)
            self._finding(finding, e.at, e.symbol, bd, f"close-out {e.id} ({e.method.value}, {e.qty} shares): "
                          f"{detail}; it cures nothing", cites, None,
                          (("method", e.method.value), ("qty", e.qty), ("irrevocable", e.irrevocable),
                           ("counterparty_delivers", e.counterparty_delivers)))
            return
        current = self._owed.get(key)
        if current:
            active = [o for o in current if o.remaining > 0 and o.status is not _CLOSED]
            self._owed[key] = active
            owed = sorted(active, key=_by_deadline) if len(active) > 1 else active
        else:
            owed = []
        left = e.qty
        applied: list[ObState] = []
        for ob in owed:
            if left == 0:
                break
            if not r204.cures(counts_as, ob.cure):
                continue
            n = min(left, ob.remaining)
            left -= n
            ob.remaining -= n
            ob.cures.append(new_record(Cure, (e.at, n, e.id)))
            applied.append(ob)
            if ob.remaining == 0:
                ob.closed_at = e.at
                if ob.status is _MISSED:
                    ob.step(_LATE_CURE)
                elif ob.pending_until is None:
                    ob.step(_CURED_IN_TIME)
                self._emit(ob, "closed", e.at)
            else:
                ob.step(_PARTLY_CURED)
                self._emit(ob, "cured", e.at)
        if applied:
            bisect.insort(self._closeouts.setdefault(key, []), e.at)
        elif counts_as == r204.BORROW and any(o.remaining > 0 and o.cure is _PURCHASE_ONLY for o in owed):
            self._finding(fc.NOT_A_CLOSE_OUT, e.at, e.symbol, bd,
                          f"close-out {e.id} is a borrow; {bd}'s open obligations in {e.symbol} can be closed out "
                          "only by a purchase", (c.R203_B3, c.R204_A2), None, (("method", e.method.value),))
        if left and e.net_flat_or_long:
            self._credits.setdefault(key, []).append([e.id, e.at, left])
        if counts_as == r204.PURCHASE:
            self.box.purchase(bd, e.symbol, e.at, e.qty)
            for ob in applied:
                if ob.threshold:
                    self.box.rest_of_day(bd, e.symbol, r203_b3.pre_borrow_rule(ob.rule), e.at, ob)

    def allocate(self, e: ev.Allocate) -> None:
        """17 CFR 242.204(d), 203(b)(3)(vi): the participant allocates part of its open obligations in the
        security to a broker-dealer it clears for, earliest deadline first (docs/scenarios.md, conventions 3, 30)."""
        own = r204_d.allocation_order(o for o in self._owed.get((self.firm, e.symbol), ())
                                      if o.status is _OPEN and o.remaining > 0)
        total = sum(o.remaining for o in own)
        if total < e.qty:
            raise EngineInputError("qty", f"{self.firm} has {total} shares of open close-out obligations in "
                                          f"{e.symbol}; {e.qty} cannot be allocated")
        for ob, n in zip(own, r204_d.split([o.remaining for o in own], e.qty), strict=True):
            if n == 0:
                break
            ob.qty -= n
            ob.remaining -= n
            ob.step(ObEvent.ALLOCATED)
            new = self._new_ob(ob.symbol, e.to, n, ob.rule, ob.settlement_date, e.at, ob.origin, ob.trade_date,
                               ob.deadline, ob.params, schedule=False)
            new.pending_until = ob.pending_until
            if new.pending_until is not None:
                self._pending[new.seq] = new
            new.attest = ob.attest
            new.allocated_from = ob.id
            new.extra_cites = (c.R203_B3_VI if ob.threshold else c.R204_D,)
            self._schedule(new)
            if ob.remaining == 0 and ob.qty > 0 and ob.pending_until is None:
                ob.closed_at = max(cu.at for cu in ob.cures)
                ob.step(_CURED_IN_TIME)
            self._emit(ob, "allocated", e.at)
            self._emit(new, "created", e.at)

    def certify(self, e: ev.Certify) -> None:
        self._settlement_day(e.date, "date", "the certified settlement date")
        if e.bd == self.firm:
            raise EngineInputError("bd", f"{e.bd} is the participant; only a broker-dealer it clears for "
                                         "certifies to it under the proviso to 204(b)")
        if e.at.date() < e.date:
            raise EngineInputError("date", f"a certification about settlement date {e.date.isoformat()} cannot "
                                           f"be made on {e.at.date().isoformat()}")
        self._certs.setdefault((e.bd, e.symbol, e.date), e.at)

    def attestation(self, e: ev.Attestation) -> None:
        self._settlement_day(e.settlement_date, "settlement_date", "the attested settlement date")
        self._attest.setdefault((e.symbol, e.settlement_date), []).append([e.at, e.qty])

    # -- 203(b)(3) ------------------------------------------------------------------------------------------------

    def cns(self, e: ev.Cns) -> None:
        """17 CFR 242.203(b)(3): the 13-consecutive-settlement-day count (docs/scenarios.md, conventions 6, 21,
        28)."""
        d = e.date
        self._settlement_day(d, "date", "the CNS date")
        if e.at.date() < d:
            raise EngineInputError("date", f"the CNS position of {d.isoformat()} cannot be known on "
                                           f"{e.at.date().isoformat()}")
        st = self.count.symbols.get(e.symbol)
        if st is not None and st.last_date is not None and d <= st.last_date:
            raise EngineInputError("date", f"CNS positions of {e.symbol} must come in date order: "
                                           f"{d.isoformat()} follows {st.last_date.isoformat()}")
        if st is not None and st.pending is not None:
            # the previous day's end has come (the heap entry at that instant may still be queued)
            self._threshold_due(self.count.judge_pending(e.symbol, e.at))
        with params.trace() as used:
            due, wait = self.count.cns(e.symbol, d, e.fail_qty, e.at)
        self._threshold_due(due, tuple(used))
        if wait:
            when = self.count.pending_due(e.symbol)
            assert when is not None
            self._push(when, _DAY_END, e.symbol)

    def _threshold_due(self, due: list[DueObligation], used: tuple[ParamValue, ...] = ()) -> None:
        for o in due:
            with params.trace() as more:
                deadline = r203_b3.obligation_deadline(o.day, self.cal)
                r203_b3.thirteen_days(o.day)
            ob = self._new_ob(o.symbol, self.firm, o.qty, o.rule, o.day, o.at, None, None, deadline,
                              tuple(dict.fromkeys((*used, *more))))
            ob.extra_cites = (c.FAQ_5_8,)  # the quantity that persisted: reductions go to the latest increase
            self._emit(ob, "created", o.at)
