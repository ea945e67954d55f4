"""A book as the dashboard and the reports read it: its reference data, the records its events caused, the events
themselves, and when it was last brought up to date.

``BookSource`` is what a reader asks for books; the live service gives its in-memory books, ``StoreSource`` replays
them from the store (verified first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from regsho.app.replay import ReplayResult
from regsho.core.book import Book
from regsho.engine.book import BookEngine
from regsho.engine.ledger import Ledger


@dataclass(frozen=True)
class BookView:
    """One book, read at ``updated_at``. ``history`` holds the store's records of the book in the order written
    (``seq``, ``kind``, ``type``, ``event_time``, ``recorded_at``, ``source``, ``body``), when it came from a store."""

    name: str
    book: Book
    ledger: Ledger
    updated_at: dt.datetime
    engine: BookEngine | None = field(default=None, repr=False, compare=False)
    history: tuple[dict[str, Any], ...] = ()


class BookSource(Protocol):
    def books(self) -> list[str]: ...

    def view(self, name: str) -> BookView: ...


def view_of(name: str, result: ReplayResult, history: tuple[dict[str, Any], ...] = (),
            at: dt.datetime | None = None) -> BookView:
    return BookView(name, result.book, result.ledger, at or dt.datetime.now(dt.UTC), result.engine, history)


class StoreSource:
    """Books read from a store: each view is a verified replay of the book's records."""

    def __init__(self, store: Any) -> None:  # regsho.store.Store (kept untyped here: app must not need the store)
        self.store = store

    def books(self) -> list[str]:
        return list(self.store.books())

    def view(self, name: str) -> BookView:
        result = self.store.replay_book(name)
        return view_of(name, result, tuple(self.store.history(name)))
