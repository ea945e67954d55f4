"""Nasdaq's daily Rule 201 file (``shorthaltsYYYYMMDD.txt``) into immutable records.

Format (RULEBOOK §8.4): CSV, not pipe-delimited; header ``Symbol,Security Name,Market Category,Trigger Time``;
names may be quoted and hold commas; Trigger Time is ``M/D/YYYY h:mm:ss AM/PM`` in New York time; the last line
is a file-creation timestamp ``YYYYMMDDHHMMSS``. The file for day D lists the securities whose circuit breaker
was triggered on D, or is still in force on D from a trigger on the previous trading day; a trigger dated
otherwise is refused. As for the threshold lists, the trailer must be dated D or the next calendar day (an
unpublished day is not an empty file), and a file without it is refused as truncated.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from regsho.adapters.errors import InputError
from regsho.adapters.sro_lists import _symbol
from regsho.adapters.textfile import date_in_name, lines, parse_stamp
from regsho.calendars import ET, default_calendars

HEADER: Final = ("Symbol", "Security Name", "Market Category", "Trigger Time")
_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$")


@dataclass(frozen=True, slots=True)
class ShortHalt:
    symbol: str
    name: str
    market_category: str
    trigger: dt.datetime
    line: int = 0


@dataclass(frozen=True, slots=True)
class ShortHaltFile:
    path: str
    date: dt.date
    created: dt.datetime
    halts: tuple[ShortHalt, ...]


def parse_time(text: str) -> dt.datetime | None:
    """``M/D/YYYY h:mm:ss AM/PM`` in New York time, or None."""
    m = _TIME.match(text.strip())
    if m is None:
        return None
    mo, d, y, h, mi, s, ampm = m.groups()
    hour = int(h)
    if not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return dt.datetime(int(y), int(mo), int(d), hour, int(mi), int(s), tzinfo=ET)
    except ValueError:
        return None


def parse_file(path: str | Path, date: dt.date | None = None) -> ShortHaltFile:
    p = Path(path)
    numbered = lines(p)
    if not numbered:
        raise InputError(p, None, None, "empty file: not a Rule 201 file (an unpublished day is not an empty list)")
    first_no, first = numbered[0]
    if tuple(c.strip() for c in next(csv.reader([first]))) != HEADER:
        raise InputError(p, first_no, None, f"not a Nasdaq Rule 201 file: the header must be {','.join(HEADER)!r}",
                         first)
    last_no, last = numbered[-1]
    created = parse_stamp(last) if len(numbered) > 1 else None
    if created is None:
        raise InputError(p, last_no, "trailer", "the last line must be the file's creation timestamp "
                         "(YYYYMMDDHHMMSS): without it the file may be truncated or the day unpublished", last)
    d = date or date_in_name(p) or created.date()
    cal = default_calendars()
    if not (cal.start <= d <= cal.end) or not cal.is_trading_day(d):
        raise InputError(p, None, None, "a Rule 201 file is dated by a trading day; this date is not one",
                         d.isoformat())
    if created.date() not in (d, d + dt.timedelta(days=1)):
        raise InputError(p, last_no, "trailer", f"the file was created for another day than {d.isoformat()}: the "
                         "file for that date was not published", last)
    earliest = cal.previous_trading_day(d)
    halts: list[ShortHalt] = []
    for no, text in numbered[1:-1]:
        try:
            row = next(csv.reader([text], strict=True))
        except csv.Error as e:
            raise InputError(p, no, None, f"not a CSV row: {e}", text) from None
        if len(row) != 4:
            raise InputError(p, no, None, f"a row needs 4 comma-separated fields, this one has {len(row)}", text)
        sym = _symbol(p, no, row[0])
        cat = row[2].strip()
        if not re.fullmatch(r"[A-Z]", cat):
            raise InputError(p, no, "Market Category", "must be one letter", row[2])
        t = parse_time(row[3])
        if t is None:
            raise InputError(p, no, "Trigger Time", "must be M/D/YYYY h:mm:ss AM/PM", row[3])
        if not earliest <= t.date() <= d:
            raise InputError(p, no, "Trigger Time", f"a file for {d.isoformat()} lists triggers of that day or of "
                             f"the trading day before ({earliest.isoformat()})", row[3])
        halts.append(ShortHalt(sym, row[1].strip(), cat, t, no))
    return ShortHaltFile(str(p), d, created, tuple(halts))


def sniff(path: str | Path) -> bool:
    try:
        with Path(path).open("rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip().removeprefix("\ufeff")
    except OSError:
        return False
    return first.replace(" ,", ",") == ",".join(HEADER)
