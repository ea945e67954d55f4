"""The daily report from a stored book (or a replayed scenario): store -> verified replay -> records -> report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from regsho.app.replay import ReplayResult
from regsho.calendars import ET
from regsho.reports.daily import DailyReport, daily_report


class ReportError(ValueError):
    """A report that cannot be made as asked (a date outside the book, a book without events)."""


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
    return daily_report(result.book, events, result.decisions, result.obligations, result.pre_borrow,
                        result.notices, result.findings, day, name=name or result.book.name,
                        generated_at=generated_at)


def report_from_store(store: Any, book: str, day: dt.date | None = None) -> DailyReport:
    """The report of a stored book (``regsho.store.Store``), replayed from its verified records."""
    return report_of(store.replay_book(book), day, book)


def write_report(report: DailyReport, out: Path) -> list[Path]:
    """HTML, PDF and one CSV per table, in ``out``."""
    return report.write(out)
