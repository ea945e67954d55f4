"""Replay: run a scenario's events, in time order, through the engine under the rules in force on each date.

The replay validates the whole file before running it and holds every result in memory until the end, so bad
input leaves nothing half-replayed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from regsho.adapters.scenario import Scenario, ScenarioError, ScenarioEvent
from regsho.calendars import CalendarRangeError, Calendars, default_calendars
from regsho.core import events as ev
from regsho.engine.gate import GateError
from regsho.engine.shell import GateInputError, GateShell
from regsho.law.decision import Decision
from regsho.law.params import RegimeError


class PostTrade(Protocol):
    """The close-out half of the engine, driven by the replay alongside the gate."""

    def before(self, se: ScenarioEvent) -> None:
        """Called before every event, so that deadlines that have passed take effect first."""

    def handle(self, se: ScenarioEvent) -> None:
        """Apply a close-out event (fail, cns, close_out, allocate, certify, attestation)."""

    def after_order(self, order: ev.Order, decision: Decision) -> None:
        """Called after each order decision."""

    def after_fill(self, fill: ev.Fill, order: ev.Order) -> None:
        """Called after each fill."""

    def finish(self, last: dt.datetime) -> None:
        """The replay ends after the last event: settle what the events determine."""

    def output(self) -> dict[str, list[dict[str, Any]]]:
        """``obligations``, ``pre_borrow``, ``notices`` and ``findings`` in docs/scenarios.md form."""


PostTradeFactory = Callable[[Scenario, Calendars, GateShell], PostTrade]


@dataclass
class ReplayResult:
    scenario: Scenario
    decisions: list[Decision] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    pre_borrow: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    _index: dict[str, Decision] = field(default_factory=dict, repr=False, compare=False)

    def decision(self, order_id: str) -> Decision | None:
        """The decision on an order (indexed on first use; decisions are only appended during the replay)."""
        if len(self._index) != len(self.decisions):
            self._index = {d.order: d for d in self.decisions}
        return self._index.get(order_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "file": self.scenario.path,
            "decisions": [decision_json(d) for d in self.decisions],
            "obligations": self.obligations,
            "pre_borrow": self.pre_borrow,
            "notices": self.notices,
            "findings": self.findings,
        }


def _jsonable(v: object) -> object:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, bool | int | str) or v is None:
        return v
    return str(v)


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "order": d.order,
        "at": d.at.isoformat(),
        "action": d.action,
        "reasons": list(d.reasons),
        "cites": list(d.cites),
        "locate": d.locate,
        "facts": {k: _jsonable(v) for k, v in d.facts},
        "params": {k: _jsonable(v) for k, v in d.params},
        "details": dict(d.details),
    }


_post_trade_factory: PostTradeFactory | None = None


def set_post_trade(factory: PostTradeFactory | None) -> None:
    """Install the close-out engine the replay drives. ``regsho.engine.closeout`` registers itself when first
    imported, which ``replay`` does on first use."""
    global _post_trade_factory
    _post_trade_factory = factory


def replay(
    scenario: Scenario, calendars: Calendars | None = None, progress: Callable[[int], None] | None = None
) -> ReplayResult:
    """Run every event of ``scenario``; raise ``ScenarioError`` (naming the event and field) on bad input.

    ``progress``, if given, is called with the number of events replayed so far every 10,000 events and at the end.
    """
    cal = calendars or default_calendars()
    gate = GateShell(cal, scenario.securities.values(), scenario.accounts.values())
    if _post_trade_factory is None:
        import regsho.engine.closeout  # noqa: F401 - registers the close-out engine (it imports this module)
    factory = _post_trade_factory
    post = factory(scenario, cal, gate) if factory is not None else None
    result = ReplayResult(scenario)
    last: dt.datetime | None = None
    for n, se in enumerate(scenario.events):
        e = se.event
        last = e.at
        if progress is not None and n % 10_000 == 0:
            progress(n)
        try:
            if post is not None:
                post.before(se)
            if isinstance(e, ev.Order):
                d = gate.order(e)
                result.decisions.append(d)
                if post is not None:
                    post.after_order(e, d)
            elif isinstance(e, ev.Fill):
                gate.fill(e)
                if post is not None:
                    post.after_fill(e, gate.orders[e.order].order)
            elif isinstance(e, ev.Cancel):
                gate.cancel(e)
            elif isinstance(e, ev.LocateGrant):
                gate.locate(e)
            elif isinstance(e, ev.PreBorrow):
                gate.pre_borrow(e)
            elif isinstance(e, ev.EtbList):
                gate.etb_list(e)
            elif isinstance(e, ev.HtbList):
                gate.htb_list(e)
            elif isinstance(e, ev.ThresholdList):
                gate.threshold_list(e)
                if post is not None:
                    post.handle(se)
            elif isinstance(e, ev.SsrTrigger):
                gate.ssr(e)
            elif isinstance(e, ev.PositionSet):
                gate.position(e)
            elif isinstance(e, ev.MmStatus):
                gate.mm_status(e)
            elif isinstance(e, ev.MmVerdict):
                gate.mm_verdict(e)
            elif isinstance(e, ev.PreBorrowRequired):
                gate.pre_borrow_required(e)
            elif post is not None:
                post.handle(se)
        except GateInputError as err:
            raise scenario.error(se.index, err.field, str(err)) from None
        except (GateError, RegimeError, CalendarRangeError) as err:
            raise scenario.error(se.index, "at", str(err)) from None
    if progress is not None:
        progress(len(scenario.events))
    if post is not None and last is not None:
        try:
            post.finish(last)
        except (RegimeError, CalendarRangeError) as err:
            raise ScenarioError(scenario.path, "", None, str(err)) from None
        out = post.output()
        result.obligations = out.get("obligations", [])
        result.pre_borrow = out.get("pre_borrow", [])
        result.notices = out.get("notices", [])
        result.findings = out.get("findings", [])
    return result
