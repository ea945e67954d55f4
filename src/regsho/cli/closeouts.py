"""``regsho closeouts``: the daily close-out run over a scenario file or a stored book.

What is due, what was missed, who is in the pre-borrow penalty box and since when, the 204(c) notices and the
findings, as of a moment (default: the last event).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from regsho.adapters.scenario import Scenario, parse_datetime
from regsho.engine.replay import ReplayResult, replay


def cut(sc: Scenario, as_of: dt.datetime | None) -> Scenario:
    """The scenario's events up to and including ``as_of``."""
    if as_of is None:
        return sc
    return dataclasses.replace(sc, events=tuple(se for se in sc.events if se.event.at <= as_of))


def run_with_progress(sc: Scenario, console: Console) -> ReplayResult:
    total = len(sc.events)
    with Progress(TextColumn("replaying {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=total < 20_000 or not console.is_terminal) as bar:
        task = bar.add_task(sc.name[:40], total=total)
        return replay(sc, progress=lambda n: bar.update(task, completed=n))


def _t(v: Any) -> dt.datetime | None:
    return parse_datetime(v) if v else None


def _short(v: str) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM[:SS]`` (ET, as every time here is); anything else unchanged."""
    try:
        t = parse_datetime(v) if len(v) >= 16 and v[4] == "-" and v[10] == "T" else None
    except ValueError:
        t = None
    if t is None:
        return v
    return t.strftime("%Y-%m-%d %H:%M:%S" if t.second else "%Y-%m-%d %H:%M")


def status(result: ReplayResult, as_of: dt.datetime) -> dict[str, Any]:
    """The run's sections, as plain data."""
    today = as_of.date()
    open_obs = sorted((o for o in result.obligations if o["status"] == "open"), key=lambda o: o["deadline"])
    due_today = [o for o in open_obs if (_t(o["deadline"]) or as_of).date() == today]
    missed = [o for o in result.obligations if o["status"] == "missed"]
    in_force = []
    for p in result.pre_borrow:
        start, until = _t(p["from"]), _t(p.get("until"))
        if start is not None and start <= as_of and (until is None or as_of < until):
            in_force.append(p)
    return {
        "as_of": as_of.isoformat(),
        "due_today": due_today,
        "open": open_obs,
        "missed": missed,
        "still_owed": [o for o in missed if not o.get("closed_at")],
        "penalty_box": sorted(in_force, key=lambda p: (p["symbol"], p["bd"])),
        "notices": result.notices,
        "findings": result.findings,
    }


def render(sc: Scenario, st: dict[str, Any], console: Console) -> None:
    as_of = st["as_of"]
    console.print(f"[bold]Close-out run[/] for {sc.firm.id} ({sc.name}) as of {_short(as_of)} ET", highlight=False)

    def table(title: str, cols: list[str], rows: list[list[str]], empty: str) -> None:
        if not rows:
            console.print(f"[bold]{title}[/]: {empty}", highlight=False)
            return
        t = Table(title=title, title_justify="left")
        for c in cols:
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(*(_short(x) for x in r))
        console.print(t)

    table("Due today", ["obligation", "broker-dealer", "symbol", "provision", "qty", "deadline", "cure"],
          [[o["id"], o["bd"], o["symbol"], o["rule"], f"{o['qty']:,}", o["deadline"], o["cure"]]
           for o in st["due_today"]], "nothing due today")
    later = [o for o in st["open"] if o not in st["due_today"]]
    table("Open, due later", ["obligation", "broker-dealer", "symbol", "provision", "qty", "deadline", "cure"],
          [[o["id"], o["bd"], o["symbol"], o["rule"], f"{o['qty']:,}", o["deadline"], o["cure"]] for o in later],
          "none")
    table("Missed", ["obligation", "broker-dealer", "symbol", "provision", "missed qty", "deadline", "cured at"],
          [[o["id"], o["bd"], o["symbol"], o["rule"], f"{o.get('missed_qty') or o['qty']:,}", o["deadline"],
            o.get("closed_at") or "[red]still owed[/]"] for o in st["missed"]], "none")
    table("Pre-borrow requirement in force (penalty box)", ["broker-dealer", "symbol", "provision", "since", "until"],
          [[p["bd"], p["symbol"], p["rule"], p["from"], p.get("until") or "until the purchase settles"]
           for p in st["penalty_box"]], "no broker-dealer is in the penalty box")
    table("204(c) notices", ["at", "from", "to", "symbol", "kind"],
          [[n["at"], n.get("sender", ""), n["to"], n["symbol"], n["kind"]] for n in st["notices"]], "none")
    table("Findings", ["at", "code", "broker-dealer", "symbol", "detail"],
          [[f["at"], f["code"], f.get("bd", ""), f["symbol"], f.get("detail", "")] for f in st["findings"]], "none")
