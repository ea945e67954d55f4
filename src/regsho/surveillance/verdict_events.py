"""Surveillance verdicts -> the gate's market-making status: ``MmVerdict`` events (17 CFR 242.203(b)(2)(iii)).

The user maps each surveillance ``mm_id`` to the account that sells short under the exception. A window's verdict
is known at the window's end, which is its event time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from regsho.calendars import ET
from regsho.core.events import MmVerdict
from regsho.surveillance.findings import Review


def _t(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=ET).replace(microsecond=(ns % 1_000_000_000) // 1000)


def verdict_events(rv: Review, accounts: Mapping[str, str], source: str = "regsho surveil",
                   scope: str = "window") -> tuple[MmVerdict, ...]:
    """One ``MmVerdict`` per verdict of ``scope`` ("window" or "day") whose mm_id is in ``accounts``; the event
    carries the finding codes and their citations."""
    out = []
    for v in rv.verdicts:
        if v.scope != scope or v.mm_id not in accounts:
            continue
        out.append(MmVerdict(_t(v.end), accounts[v.mm_id], v.symbol, _t(v.start), _t(v.end), v.bona_fide,
                             v.codes, v.cites, f"{source}: {v.mm_id} {v.symbol} {v.date.isoformat()}",
                             f"{source}#{v.mm_id}/{v.symbol}/{_t(v.start).isoformat()}"))
    return tuple(sorted(out, key=lambda e: (e.at, e.account, e.symbol)))
