"""One decision in plain words: the outcome, each reason with its meaning and details, the citations, what was
consumed, the facts read and every parameter used (for `regsho explain` on a file and `regsho store explain`)."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.markup import escape

from regsho.law import reasons as rc
from regsho.law.decision import Decision


def _plain(v: object) -> str:
    """A fact's value in words: times in ISO 8601, windows as 'from .. until'."""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, dt.datetime) for x in v):
        return f"from {v[0].isoformat()} until {v[1].isoformat()}"
    if isinstance(v, str):
        return str(v)
    return repr(v) if v is None or isinstance(v, bool) else str(v)


def explain_decision(d: Decision, console: Console) -> None:
    """Print one decision in plain words: outcome, each reason with its citation and the facts behind it."""
    verb = "ACCEPTED" if d.accepted else "REJECTED"
    colour = "green" if d.accepted else "red"
    console.print(f"Order [bold]{escape(d.order)}[/] at {d.at.isoformat()} was [bold {colour}]{verb}[/].")
    details = dict(d.details)
    for code in d.reasons:
        info = rc.CODES.get(code)
        meaning = info.meaning if info else ""
        console.print(f"  • [bold]{code}[/]: {meaning}.")
        if code in details:
            console.print(f"      {escape(details[code])}.")
    console.print(f"  Cites: {'; '.join(d.cites)}", highlight=False)
    if d.locate:
        console.print(f"  Locate used: {escape(d.locate)}")
    if d.consume:
        console.print("  Consumed: " + escape(", ".join(f"{c.qty} from {c.kind} {c.id}" for c in d.consume)))
    if d.facts:
        console.print("  Facts read:")
        for k, v in d.facts:
            console.print(f"    {escape(k)} = {escape(_plain(v))}", highlight=False)
    if d.params:
        console.print("  Parameters used:")
        for p in d.params:
            console.print(f"    {p.name} = {_plain(p.value)} (in force from {p.effective.isoformat()}; {p.cite})",
                          highlight=False)
