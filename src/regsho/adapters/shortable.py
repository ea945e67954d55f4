"""A lender's shortable-stock file in the ``#BOF|...`` layout (e.g. a prime broker's daily ``usa.txt``).

Format (RULEBOOK §8.5): line 1 ``#BOF|YYYY.MM.DD|HH:MM:SS``; then ``#SYM|CUR|NAME|CON|ISIN|REBATERATE|FEERATE|
AVAILABLE|FIGI|``; rows ``UVIX|USD|...|conid|ISIN|-9.2|13.13|30000|FIGI|``; AVAILABLE is a number of shares or
``>N`` for "more than N"; the file ends with ``#EOF`` (a file without it is refused as truncated). The timestamp is
read as New York time. A name holding ``|`` is rejoined (the name is the only free-text field). Rebate and fee may
be empty or ``NA``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import lines
from regsho.calendars import ET

HEADER: Final = ("#SYM", "CUR", "NAME", "CON", "ISIN", "REBATERATE", "FEERATE", "AVAILABLE", "FIGI")
_BOF = re.compile(r"^#BOF\|(\d{4})\.(\d{2})\.(\d{2})\|(\d{2}):(\d{2}):(\d{2})\|?$")
_SYM = re.compile(r"^[A-Z0-9][A-Z0-9.\-/ +]{0,19}$")
_AVAIL = re.compile(r"^(>?)(\d{1,15})$")
_RATE = re.compile(r"^-?\d{1,6}(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class Shortable:
    symbol: str
    currency: str
    name: str
    available: int
    more_than: bool
    rebate: float | None
    fee: float | None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ShortableFile:
    path: str
    at: dt.datetime
    rows: tuple[Shortable, ...]

    def easy_to_borrow(self, min_available: int, currency: str = "USD") -> frozenset[str]:
        """Symbols in ``currency`` with at least ``min_available`` shares available (``>N`` counts as N+1)."""
        return frozenset(r.symbol for r in self.rows
                         if r.currency == currency and r.available + (1 if r.more_than else 0) >= min_available)


def _rate(p: Path, no: int, fld: str, v: str) -> float | None:
    s = v.strip()
    if s in ("", "NA"):
        return None
    if not _RATE.match(s):
        raise InputError(p, no, fld, "must be a rate (a number), empty or NA", v)
    return float(s)


def parse_file(path: str | Path) -> ShortableFile:
    p = Path(path)
    numbered = lines(p)
    if not numbered:
        raise InputError(p, None, None, "empty file: not a shortable-stock file")
    no, first = numbered[0]
    m = _BOF.match(first.strip())
    if m is None:
        raise InputError(p, no, "#BOF", "the first line must be #BOF|YYYY.MM.DD|HH:MM:SS", first)
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    try:
        at = dt.datetime(y, mo, d, h, mi, s, tzinfo=ET)
    except ValueError:
        raise InputError(p, no, "#BOF", "not a valid date and time", first) from None
    if len(numbered) < 2 or tuple(x.strip() for x in numbered[1][1].rstrip("|").split("|")) != HEADER:
        where = numbered[1] if len(numbered) > 1 else numbered[0]
        raise InputError(p, where[0], None, f"the second line must be the header {'|'.join(HEADER)}|", where[1])
    last_no, last = numbered[-1]
    if last.strip() != "#EOF":
        raise InputError(p, last_no, "#EOF", "the file must end with #EOF (truncated?)", last)
    rows: list[Shortable] = []
    seen: dict[tuple[str, str], int] = {}
    for no, text in numbered[2:-1]:
        parts = text.split("|")
        if parts and parts[-1] == "":
            parts = parts[:-1]
        if len(parts) < len(HEADER):
            raise InputError(p, no, None, f"a row needs {len(HEADER)} '|'-separated fields, this one has "
                             f"{len(parts)}", text)
        if len(parts) > len(HEADER):
            extra = len(parts) - len(HEADER)
            parts = [*parts[:2], "|".join(parts[2:3 + extra]), *parts[3 + extra:]]
        sym, cur, name, _con, _isin, rebate, fee, avail, _figi = (x.strip() for x in parts)
        if not _SYM.match(sym):
            raise InputError(p, no, "#SYM", "must be a ticker symbol", parts[0])
        if not re.fullmatch(r"[A-Z]{3}", cur):
            raise InputError(p, no, "CUR", "must be a 3-letter currency code", parts[1])
        am = _AVAIL.match(avail)
        if am is None:
            raise InputError(p, no, "AVAILABLE", "must be a number of shares or >N", parts[7])
        if (sym, cur) in seen:
            raise InputError(p, no, "#SYM", f"listed twice (also line {seen[(sym, cur)]})", sym)
        seen[(sym, cur)] = no
        rows.append(Shortable(sym, cur, name, int(am.group(2)), am.group(1) == ">", _rate(p, no, "REBATERATE", rebate),
                              _rate(p, no, "FEERATE", fee), no))
    return ShortableFile(str(p), at, tuple(rows))


def sniff(path: str | Path) -> bool:
    try:
        with Path(path).open("rb") as fh:
            return fh.read(5) == b"#BOF|"
    except OSError:
        return False
