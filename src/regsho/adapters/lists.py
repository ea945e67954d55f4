"""A day's SRO files as the engine's events: threshold lists, Rule 201 triggers, an easy-to-borrow list.

- Threshold lists: each SRO lists the securities for which it is the primary listing market, so the market's list
  for date D is the union of every SRO's list dated D, one ``ThresholdList`` event. The list reflects settlement
  data through D and governs trading from the next trading day (``threshold.list_effective_trading_days``): the
  event's time is the start (00:00 ET) of that trading day, or the latest file's creation time if later.
- The Rule 201 file: one ``SsrTrigger`` per row, at its trigger time; a trigger listed again in the next day's
  file (a restriction still in force) is the same trigger and is given once.
- A shortable-stock file: one ``EtbList`` of the symbols with at least ``min_available`` shares available, at the
  file's own time.

Every event carries its provenance (the files it was read from).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from regsho.adapters import shortable, shorthalts, sro_lists
from regsho.adapters.errors import InputError
from regsho.calendars import ET, Calendars, default_calendars
from regsho.core.events import EtbList, Event, SsrTrigger, ThresholdList
from regsho.law import params


@dataclass(frozen=True, slots=True)
class DayFiles:
    """What a folder of downloaded files holds, parsed and validated."""

    threshold: tuple[sro_lists.ThresholdFile, ...]
    shorthalts: tuple[shorthalts.ShortHaltFile, ...]
    shortable: tuple[shortable.ShortableFile, ...]
    ignored: tuple[str, ...]


def read_folder(folder: str | Path) -> DayFiles:
    """Every threshold list, Rule 201 file and shortable file in a folder (recognised by their first line; other
    files are listed as ignored). Any bad file raises ``InputError`` before anything is returned."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, None, None, "not a folder")
    thr: list[sro_lists.ThresholdFile] = []
    halts: list[shorthalts.ShortHaltFile] = []
    short: list[shortable.ShortableFile] = []
    ignored: list[str] = []
    for f in sorted(x for x in root.rglob("*") if x.is_file()):
        if f.name.startswith(".") or f.name == "SHA256SUMS":
            continue
        if sro_lists.sniff(f):
            thr.append(sro_lists.parse_file(f))
        elif shorthalts.sniff(f):
            halts.append(shorthalts.parse_file(f))
        elif shortable.sniff(f):
            short.append(shortable.parse_file(f))
        else:
            ignored.append(str(f))
    seen: dict[tuple[sro_lists.Sro, dt.date], str] = {}
    for t in thr:
        key = (t.sro, t.date)
        if key in seen:
            raise InputError(t.path, None, None, f"a second {t.sro.value} list for {t.date.isoformat()} (also "
                             f"{seen[key]})")
        seen[key] = t.path
    if not (thr or halts or short):
        raise InputError(root, None, None, "no threshold list, Rule 201 file or shortable file in this folder")
    return DayFiles(tuple(thr), tuple(halts), tuple(short), tuple(ignored))


def effective_time(d: dt.date, created: Iterable[dt.datetime | None], cal: Calendars) -> dt.datetime:
    """When a list dated ``d`` starts to govern: the start of the trading day after ``d`` (or later, when a file
    was written after midnight)."""
    lag = params.int_value("threshold.list_effective_trading_days", d)
    start = cal.add_trading_days(d, lag)
    at = dt.datetime.combine(start, dt.time(0), tzinfo=ET)
    for c in created:
        if c is not None and c > at:
            at = c
    return at


def threshold_events(files: Iterable[sro_lists.ThresholdFile], cal: Calendars | None = None) -> list[ThresholdList]:
    """One ``ThresholdList`` per date: the union of the SROs' lists of that date."""
    cal = cal or default_calendars()
    by_date: dict[dt.date, list[sro_lists.ThresholdFile]] = {}
    for f in files:
        by_date.setdefault(f.date, []).append(f)
    out = []
    for d in sorted(by_date):
        group = sorted(by_date[d], key=lambda f: f.sro.value)
        symbols = frozenset().union(*(f.symbols for f in group))
        prov = ";".join(f"{Path(f.path).name}({f.sro.value})" for f in group)
        out.append(ThresholdList(effective_time(d, (f.created for f in group), cal), symbols, prov))
    return out


def ssr_events(files: Iterable[shorthalts.ShortHaltFile]) -> list[SsrTrigger]:
    seen: set[tuple[str, dt.datetime]] = set()
    out = []
    for f in sorted(files, key=lambda f: f.date):
        for h in f.halts:
            if (h.symbol, h.trigger) in seen:
                continue
            seen.add((h.symbol, h.trigger))
            out.append(SsrTrigger(h.trigger, h.symbol, f"{Path(f.path).name}:{h.line}"))
    return sorted(out, key=lambda e: (e.at, e.symbol))


def etb_events(files: Iterable[shortable.ShortableFile], min_available: int) -> list[EtbList]:
    return [EtbList(f.at, f.easy_to_borrow(min_available), Path(f.path).name)
            for f in sorted(files, key=lambda f: f.at)]


def events(day: DayFiles, min_available: int, cal: Calendars | None = None) -> list[Event]:
    """All of a folder's events in time order (a threshold list before a trigger at the same instant)."""
    evs: list[Event] = [*threshold_events(day.threshold, cal), *ssr_events(day.shorthalts),
                        *etb_events(day.shortable, min_available)]
    rank = {ThresholdList: 0, EtbList: 1, SsrTrigger: 2}
    return sorted(evs, key=lambda e: (e.at, rank[type(e)]))


def symbols(evs: Iterable[Event]) -> frozenset[str]:
    out: set[str] = set()
    for e in evs:
        if isinstance(e, ThresholdList | EtbList):
            out |= e.symbols
        elif isinstance(e, SsrTrigger):
            out.add(e.symbol)
    return frozenset(out)
