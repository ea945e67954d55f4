"""``regsho closeouts``: the daily close-out run over a scenario file or a stored book.

What is due, what was missed, who is in the pre-borrow penalty box and since when, the 204(c) notices and the
findings, as of a moment (default: the last event).
"""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from regsho.adapters.scenario import Scenario
from regsho.app.closeouts import RunStatus
from regsho.app.replay import ReplayResult, replay
from regsho.calendars import ET


def run_with_progress(sc: Scenario, console: Console) -> ReplayResult:
    total = len(sc.events)
    with Progress(TextColumn("replaying {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=total < 20_000 or not console.is_terminal) as bar:
        task = bar.add_task(sc.name[:40], total=total)
        return replay(sc, progress=lambda n: bar.update(task, completed=n))


def _short(v: object) -> str:
    """A time as ``YYYY-MM-DD HH:MM[:SS]`` (ET, as every time here is); anything else as text."""
    if isinstance(v, dt.datetime):
        t = v.astimezone(ET)
        return t.strftime("%Y-%m-%d %H:%M:%S" if t.second else "%Y-%m-%d %H:%M")
    return "" if v is None else str(v)


def render(sc: Scenario, st: RunStatus, console: Console) -> None:
    as_of = st.as_of
    console.print(f"[bold]Close-out run[/] for {sc.firm.id} ({sc.name}) as of {_short(as_of)} ET", highlight=False)

    def table(title: str, cols: list[str], rows: list[list[object]], empty: str) -> None:
        if not rows:
            console.print(f"[bold]{title}[/]: {empty}", highlight=False)
            return
        t = Table(title=title, title_justify="left")
        for c in cols:
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(*(_short(x) for x in r))
        console.print(t)

    cols = ["obligation", "broker-dealer", "symbol", "provision", "qty", "deadline", "cure"]
    table("Due today", cols, [[o.id, o.bd, o.symbol, o.rule, f"{o.qty:,}", o.deadline, o.cure]
                              for o in st.due_today], "nothing due today")
    later = [o for o in st.open if o not in st.due_today]
    table("Open, due later", cols, [[o.id, o.bd, o.symbol, o.rule, f"{o.qty:,}", o.deadline, o.cure]
                                    for o in later], "none")
    table("Missed", ["obligation", "broker-dealer", "symbol", "provision", "missed qty", "deadline", "cured at"],
          [[o.id, o.bd, o.symbol, o.rule, f"{o.missed_qty or o.qty:,}", o.deadline,
            o.closed_at or "[red]still owed[/]"] for o in st.missed], "none")
    table("Pre-borrow requirement in force (penalty box)",
          ["broker-dealer", "symbol", "provision", "since", "until", "released by"],
          [[p.bd, p.symbol, p.rule, p.start, p.until or "until the purchase settles", p.releases]
           for p in st.penalty_box], "no broker-dealer is in the penalty box")
    table("204(c) notices", ["at", "from", "to", "symbol", "kind", "period"],
          [[n.at, n.sender, n.to, n.symbol, n.kind, n.period] for n in st.notices], "none")
    table("Findings", ["at", "code", "broker-dealer", "symbol", "detail"],
          [[f.at, f.code, f.bd, f.symbol, f.detail] for f in st.findings], "none")
