"""Replay a scenario through the book engine: the scenario adapter gives the book, the events and the
expectations; the engine applies the events one at a time; the ledger keeps what they caused.

The whole file is validated before it runs and every result is held in memory until the end, so bad input leaves
nothing half-replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from regsho.adapters import results_json as rj
from regsho.adapters.output import LazyList
from regsho.adapters.scenario import Scenario, ScenarioError
from regsho.calendars import CalendarRangeError, Calendars
from regsho.core.book import Book
from regsho.core.records import Decision, Finding, Notice, Obligation, PreBorrowPeriod
from regsho.engine.book import BookEngine
from regsho.engine.errors import EngineInputError
from regsho.engine.gate import GateError
from regsho.engine.ledger import Ledger
from regsho.law.params import RegimeError


def book_of(sc: Scenario) -> Book:
    return Book(sc.firm, sc.securities, sc.accounts, sc.name)


@dataclass
class ReplayResult:
    scenario: Scenario
    ledger: Ledger = field(default_factory=Ledger)
    engine: BookEngine | None = field(default=None, repr=False, compare=False)

    @property
    def decisions(self) -> list[Decision]:
        return self.ledger.decisions

    @property
    def obligations(self) -> list[Obligation]:
        return self.ledger.obligations

    @property
    def pre_borrow(self) -> list[PreBorrowPeriod]:
        return self.ledger.periods

    @property
    def notices(self) -> list[Notice]:
        return self.ledger.notices

    @property
    def findings(self) -> list[Finding]:
        return self.ledger.findings

    @property
    def book(self) -> Book:
        return self.engine.book if self.engine is not None else book_of(self.scenario)

    def decision(self, order_id: str) -> Decision | None:
        return self.ledger.decision(order_id)

    def to_json(self) -> dict[str, Any]:
        return self._doc(list)

    def lazy_json(self) -> dict[str, Any]:
        """``to_json`` for ``write_json`` to write piece by piece: each list's items are made as they are written
        and let go after (``LazyList``), so a large result is never held whole as JSON-ready objects."""
        return self._doc(LazyList)

    def _doc(self, lst: Callable[[Iterable[Any]], Any]) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "file": self.scenario.path,
            "decisions": lst(map(rj.decision_json, self.decisions)),
            "obligations": lst(map(rj.obligation_json, self.obligations)),
            "pre_borrow": lst(map(rj.period_json, self.pre_borrow)),
            "notices": lst(map(rj.notice_json, self.notices)),
            "findings": lst(map(rj.finding_json, self.findings)),
        }


def replay(
    scenario: Scenario, calendars: Calendars | None = None, progress: Callable[[int], None] | None = None,
    engine: BookEngine | None = None, finish: bool = True,
) -> ReplayResult:
    """Run every event of ``scenario``; raise ``ScenarioError`` (naming the event and field) on bad input.

    ``progress``, if given, is called with the number of events replayed so far every 10,000 events and at the
    end. ``finish``: settle what the end of the replay determines (docs/scenarios.md); a caller that goes on
    applying events later passes False.
    """
    eng = engine or BookEngine(book_of(scenario), calendars)
    result = ReplayResult(scenario, engine=eng)
    absorb = result.ledger.absorb
    apply = eng.apply
    for n, se in enumerate(scenario.events):
        if progress is not None and n % 10_000 == 0:
            progress(n)
        try:
            fx = apply(se.event)
        except EngineInputError as err:
            raise scenario.error(se.index, err.field, str(err)) from None
        except (GateError, RegimeError, CalendarRangeError) as err:
            raise scenario.error(se.index, "at", str(err)) from None
        if fx:
            absorb(fx)
    if progress is not None:
        progress(len(scenario.events))
    if finish and scenario.events:
        try:
            absorb(eng.finish())
        except (RegimeError, CalendarRangeError) as err:
            raise ScenarioError(scenario.path, "", None, str(err)) from None
    return result
