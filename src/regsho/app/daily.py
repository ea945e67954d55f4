"""The daily report from a stored book (or a replayed scenario): store -> verified replay -> records -> report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from regsho.app.replay import ReplayResult, book_of, replay
from regsho.calendars import ET, Calendars
from regsho.core import events as ev
from regsho.core.book import Book
from regsho.core.records import Effects
from regsho.engine.book import BookEngine
from regsho.reports.daily import DailyReport, LocateReturn, daily_report


class ReportError(ValueError):
    """A report that cannot be made as asked (a date outside the book, a book without events)."""


class ReturnsEngine(BookEngine):
    """The book engine, keeping an account of each ``locate_release`` it applies (``returns``): the shares the
    locate desk took back, what the locate had left to cover and what short sales held of it afterwards. A release
    may say "all that is unused", which only the engine's ledger of the locate can count."""

    def __init__(self, book: Book, calendars: Calendars | None = None,
                 reference_max_age: dt.timedelta | None = None) -> None:
        super().__init__(book, calendars, reference_max_age)
        self.returns: list[LocateReturn] = []

    def apply(self, e: ev.Event) -> Effects:
        if type(e) is not ev.LocateRelease:
            return super().apply(e)
        loc = self.gate.snap.locates.get(e.id)
        before = loc.released if loc is not None else 0
        fx = super().apply(e)
        loc = self.gate.snap.locates[e.id]
        self.returns.append(LocateReturn(e.at, e.id, loc.account, loc.symbol, loc.source or "", loc.released - before,
                                         loc.fresh + loc.freed, loc.consumed, e.by, e.reason))
        return fx


def replay_for_report(scenario: Any, calendars: Calendars | None = None) -> ReplayResult:
    """``replay``, with the engine's account of each locate returned to the locate desk (``ReturnsEngine``)."""
    return replay(scenario, calendars, engine=ReturnsEngine(book_of(scenario), calendars))


def locate_returns(result: ReplayResult, until: dt.datetime | None = None) -> list[LocateReturn]:
    """Each ``locate_release`` of the replay (up to ``until``) as the engine applied it: from the replay's own
    engine when it kept them, else from the events replayed again up to the last release."""
    if isinstance(result.engine, ReturnsEngine):
        return [r for r in result.engine.returns if until is None or r.at < until]
    events = [se.event for se in result.scenario.events]
    last = max((i for i, e in enumerate(events) if isinstance(e, ev.LocateRelease)
                and (until is None or e.at < until)), default=None)
    if last is None:
        return []
    eng = ReturnsEngine(book_of(result.scenario), result.engine.cal if result.engine is not None else None)
    for e in events[: last + 1]:
        eng.apply(e)  # the same events replayed without error already
    return eng.returns


def report_of(result: ReplayResult, day: dt.date | None = None, name: str = "",
              generated_at: dt.datetime | None = None) -> DailyReport:
    """The daily report for ``day`` (default: the day of the book's last event) from a replay."""
    events = [se.event for se in result.scenario.events]
    if not events:
        raise ReportError(f"book {name or result.scenario.name!r} has no events")
    first = events[0].at.astimezone(ET).date()
    last = events[-1].at.astimezone(ET).date()
    day = day or last
    if not first <= day <= last:
        raise ReportError(f"--date {day.isoformat()}: book {name or result.book.name!r} has events from "
                          f"{first.isoformat()} to {last.isoformat()}")
    cal = result.engine.cal if result.engine is not None else None
    start = dt.datetime.combine(day, dt.time(0), tzinfo=ET)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=ET)
    today = any(isinstance(e, ev.LocateRelease) and start <= e.at < end for e in events)
    return daily_report(result.book, events, result.decisions, result.obligations, result.pre_borrow,
                        result.notices, result.findings, day, name=name or result.book.name,
                        generated_at=generated_at, calendars=cal,
                        returns=locate_returns(result, end) if today else ())


def report_from_store(store: Any, book: str, day: dt.date | None = None) -> DailyReport:
    """The report of a stored book (``regsho.store.Store``), replayed from its verified records."""
    return report_of(replay_for_report(store.load_book(book)), day, book)


def write_report(report: DailyReport, out: Path) -> list[Path]:
    """HTML, PDF and one CSV per table, in ``out``."""
    return report.write(out)
