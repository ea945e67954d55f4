"""The daily close-out run: what is due today, what was missed, who is in the pre-borrow penalty box and since
when, the 204(c) notices and the findings, as of a moment (default: the last event)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from regsho.adapters import results_json as rj
from regsho.adapters.scenario import Scenario
from regsho.app.replay import ReplayResult
from regsho.calendars import ET
from regsho.core.records import Finding, Notice, Obligation, PreBorrowPeriod


def cut(sc: Scenario, as_of: dt.datetime | None) -> Scenario:
    """The scenario's events up to and including ``as_of``."""
    if as_of is None:
        return sc
    return dataclasses.replace(sc, events=tuple(se for se in sc.events if se.event.at <= as_of))


@dataclasses.dataclass(frozen=True, slots=True)
class RunStatus:
    """The daily run's sections, as records."""

    as_of: dt.datetime
    due_today: tuple[Obligation, ...]
    open: tuple[Obligation, ...]
    missed: tuple[Obligation, ...]
    still_owed: tuple[Obligation, ...]
    penalty_box: tuple[PreBorrowPeriod, ...]
    notices: tuple[Notice, ...]
    findings: tuple[Finding, ...]
    documents: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "due_today": [rj.obligation_json(o) for o in self.due_today],
            "open": [rj.obligation_json(o) for o in self.open],
            "missed": [rj.obligation_json(o) for o in self.missed],
            "still_owed": [rj.obligation_json(o) for o in self.still_owed],
            "penalty_box": [rj.period_json(p) for p in self.penalty_box],
            "notices": [rj.notice_json(n) for n in self.notices],
            "findings": [rj.finding_json(f) for f in self.findings],
            "documents": list(self.documents),
        }


def status(result: ReplayResult, as_of: dt.datetime) -> RunStatus:
    """The run's sections as of ``as_of``."""
    today = as_of.astimezone(ET).date()
    open_obs = sorted((o for o in result.obligations if o.status == "open"), key=lambda o: o.deadline)
    due_today = tuple(o for o in open_obs if o.deadline.astimezone(ET).date() == today)
    missed = tuple(o for o in result.obligations if o.status == "missed")
    in_force = [p for p in result.pre_borrow if p.start <= as_of and (p.until is None or as_of < p.until)]
    return RunStatus(as_of, due_today, tuple(open_obs), missed, tuple(o for o in missed if o.closed_at is None),
                     tuple(sorted(in_force, key=lambda p: (p.symbol, p.bd))), tuple(result.notices),
                     tuple(result.findings))
