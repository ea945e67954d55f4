"""The book engine: one engine for every source of events (files, the store, the service, public data feeds).

``BookEngine(book).apply(event) -> Effects`` is the only way in. It composes the pre-trade gate (``GateShell``
over the pure ``decide``) and the close-out state (obligations, the penalty box, threshold status), applies one
domain event at a time in time order under the rules in force on the event's date, and returns the immutable
records the event caused. Deadlines that pass between events take effect before the next event (``advance``);
``finish`` settles what the end of a replay determines.

The engine knows no file format, store or command line. Its state can be copied (``snapshot`` / ``restore``,
pickle-based) so that a long-lived book restarts from its latest snapshot and replays only what came after.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable, Iterable
from typing import Any, cast

from regsho.calendars import ET, Calendars, default_calendars
from regsho.core import events as ev
from regsho.core.book import Account, Book, Security
from regsho.core.records import NO_EFFECTS, Effects, new_record
from regsho.engine.closeout import CloseOutState
from regsho.engine.errors import EngineInputError
from regsho.engine.shell import GateShell
from regsho.engine.sink import Sink
from regsho.law import params
from regsho.law.decision import ACCEPT

_SHORT = (ev.Side.SELL_SHORT, ev.Side.SELL_SHORT_EXEMPT)
_ORDER = ev.Order


class BookEngine:
    def __init__(self, book: Book, calendars: Calendars | None = None,
                 reference_max_age: dt.timedelta | None = None) -> None:
        self.book = book
        self.cal = calendars or default_calendars()
        self.gate = GateShell(self.cal, book.securities.values(), book.accounts.values(), reference_max_age)
        self.sink = Sink()
        self.closeout = CloseOutState(book, self.cal, self.gate, self.sink)
        self.last: dt.datetime | None = None
        self._day: dt.date | None = None
        self.applied = 0
        self._dispatch = self._table()

    def _table(self) -> dict[type, Callable[[Any], object]]:
        g, co = self.gate, self.closeout
        return {
            ev.Order: g.order,  # applied by the fast path in ``apply``
            ev.Fill: g.fill,
            ev.Cancel: g.cancel,
            ev.LocateGrant: g.locate,
            ev.LocateRelease: g.release,
            ev.PreBorrow: g.pre_borrow,
            ev.EtbList: g.etb_list,
            ev.HtbList: g.htb_list,
            ev.ThresholdList: self._threshold_list,
            ev.SsrTrigger: g.ssr,
            ev.PositionSet: g.position,
            ev.MmStatus: g.mm_status,
            ev.GateSettings: g.settings,
            ev.MmVerdict: g.mm_verdict,
            ev.PreBorrowRequired: g.pre_borrow_required,
            ev.Fail: co.fail,
            ev.Cns: co.cns,
            ev.CloseOut: co.close_out,
            ev.Allocate: co.allocate,
            ev.Certify: co.certify,
            ev.Attestation: co.attestation,
        }

    # -- the one way in ----------------------------------------------------------------------------------------

    def apply(self, e: ev.Event) -> Effects:
        """Apply one event; return what it (and the deadlines passing up to it) caused. Raises
        ``EngineInputError`` (naming the field) for an event the engine cannot apply; nothing of that event is
        applied, though deadlines passed before it have taken effect."""
        at = e.at
        if at.tzinfo is not ET and (at.tzinfo is None or at.utcoffset() is None):
            raise EngineInputError("at", f"a naive time {at.isoformat()} is ambiguous; give a timezone-aware time")
        last = self.last
        if last is not None and at < last:
            raise EngineInputError("at", f"events out of time order: {at.isoformat()} is before the previous "
                                         f"event's {last.isoformat()}")
        kind = type(e)
        handler = self._dispatch.get(kind)
        if handler is None:
            raise EngineInputError("type", f"the engine does not apply {kind.__name__} events")
        day = at.date() if at.tzinfo is ET else at.astimezone(ET).date()
        if day != self._day:
            params.check_regime(day)
            self._day = day
        due = self.closeout._due
        if due and (due[0][0] < at or (due[0][0] == at and kind is _ORDER)):
            self.closeout.advance(at, inclusive=kind is _ORDER)
        self.last = at
        self.applied += 1
        sink = self.sink
        if kind is _ORDER:
            o = cast("ev.Order", e)
            d = self.gate.order(o)
            if d.action == ACCEPT and o.side in _SHORT:
                self.closeout.accepted_short(self.gate.snap.accounts[o.account].bd, o.symbol, d.at)
            if not (sink.obligations or sink.periods or sink.notices or sink.findings or sink.decisions):
                return new_record(Effects, ((d,), (), (), (), ()))
            sink.decisions.append(d)
            return sink.take()
        handler(e)
        if not (sink.decisions or sink.obligations or sink.periods or sink.notices or sink.findings):
            return NO_EFFECTS
        return sink.take()

    def advance(self, at: dt.datetime) -> Effects:
        """Let time pass to ``at`` without an event: deadlines before it take effect (the daily run "as of")."""
        self.closeout.advance(at, inclusive=False)
        return self.sink.take()

    def finish(self) -> Effects:
        """The end of a replay: settle what the events determine (docs/scenarios.md, "The replay ends after the
        last event")."""
        self.closeout.finish()
        return self.sink.take()

    def run(self, events: Iterable[ev.Event]) -> Iterable[Effects]:
        for e in events:
            yield self.apply(e)

    # -- the book's reference data ---------------------------------------------------------------------------

    def add_security(self, s: Security) -> None:
        self.book = self.book.with_security(s)
        self.closeout.book = self.book
        self.gate.add_security(s)

    def add_account(self, a: Account) -> None:
        self.book = self.book.with_account(a)
        self.closeout.book = self.book
        self.gate.add_account(a)

    # -- handlers that touch both halves -------------------------------------------------------------------

    def _threshold_list(self, e: ev.ThresholdList) -> None:
        self.gate.threshold_list(e)
        self.closeout.threshold_list(e)

    # -- state ------------------------------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The engine's whole state, to restart from (``restore``); the calendars are pickled by reference."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def restore(data: bytes) -> BookEngine:
        engine = pickle.loads(data)  # the engine's own snapshot, never foreign input
        if not isinstance(engine, BookEngine):
            raise TypeError("not a book engine snapshot")
        return engine

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_dispatch"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._dispatch = self._table()
