"""Downloads wired to the parsers that validate them: a file enters the cache only if its adapter accepts it."""

from __future__ import annotations

import datetime as dt

from regsho.adapters import sec_fails, shorthalts, sro_lists
from regsho.marketdata import download


def fails_sources(month: str, mirror: str | None = None) -> list[download.Source]:
    """The SEC files of a month, each checked by the fails parser (a truncated zip is refused)."""
    return download.fails_sources(month, sec_fails.read_file, mirror)


def list_sources(d: dt.date, mirror: str | None = None) -> list[download.Source]:
    """The SRO files of a date, each checked for that date (an unpublished day is refused, not read as empty)."""
    return download.list_sources(d, lambda p: sro_lists.parse_file(p, d), lambda p: shorthalts.parse_file(p, d),
                                 mirror)
