"""``lists load``: a folder of SRO threshold lists, Rule 201 files and shortable files appended to a stored book.

The files are parsed and validated first (``regsho.adapters.lists``); their events are appended to an existing
book through the store, which replays the book with them before writing anything. Symbols the book does not yet
declare are added to its header as securities.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regsho.adapters import lists
from regsho.adapters.scenario_dump import dump_event
from regsho.core.events import EtbList, Event, SsrTrigger, ThresholdList

#: A firm's own choice, not a regulatory number: a symbol is easy to borrow when the lender shows at least this many
#: shares available (by default only the top ``>10000000`` bucket of a #BOF shortable file).
DEFAULT_ETB_MIN_AVAILABLE = 10_000_001


@dataclass(frozen=True, slots=True)
class LoadSummary:
    book: str
    threshold_lists: int
    ssr_triggers: int
    etb_lists: int
    new_securities: tuple[str, ...]
    sources: tuple[str, ...]
    ignored: tuple[str, ...]


def document(firm: dict[str, Any], known: set[str], evs: list[Event]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A scenario-format document appending ``evs`` to a book of ``firm`` that declares ``known`` securities."""
    new = tuple(sorted(lists.symbols(evs) - known))
    doc = {"version": 1, "firm": firm, "securities": {s: {} for s in new}, "accounts": {},
           "events": [dump_event(e) for e in evs]}
    return doc, new


def load_folder(folder: str | Path, book: str, db: str,
                min_available: int = DEFAULT_ETB_MIN_AVAILABLE) -> LoadSummary:
    """Append a folder's lists to ``book`` in the store at ``db`` (the book must exist)."""
    from regsho.store import Store

    day = lists.read_folder(folder)
    evs = lists.events(day, min_available)
    store = Store(db)
    try:
        sc = store.load_book(book)
        firm: dict[str, Any] = {"id": sc.firm.id}
        if sc.firm.clears_for:
            firm["clears_for"] = list(sc.firm.clears_for)
        doc, new = document(firm, set(sc.securities), evs)
        store.import_document(doc, str(folder), book)
    finally:
        store.close()
    return LoadSummary(
        book,
        sum(isinstance(e, ThresholdList) for e in evs), sum(isinstance(e, SsrTrigger) for e in evs),
        sum(isinstance(e, EtbList) for e in evs), new,
        (*(f.path for f in day.threshold), *(f.path for f in day.shorthalts), *(f.path for f in day.shortable)),
        day.ignored)
