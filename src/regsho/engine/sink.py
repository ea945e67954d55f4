"""Where the engine's parts put the records an event causes, until ``BookEngine.apply`` returns them."""

from __future__ import annotations

from regsho.core.records import (
    NO_EFFECTS,
    Decision,
    Effects,
    Finding,
    Notice,
    Obligation,
    PreBorrowPeriod,
    new_record,
)


class Sink:
    __slots__ = ("decisions", "findings", "notices", "obligations", "periods")

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.obligations: list[Obligation] = []
        self.periods: list[PreBorrowPeriod] = []
        self.notices: list[Notice] = []
        self.findings: list[Finding] = []

    def take(self) -> Effects:
        """The records collected since the last ``take``, as one ``Effects``; the sink is emptied."""
        if not (self.decisions or self.obligations or self.periods or self.notices or self.findings):
            return NO_EFFECTS
        d, o, p, n, f = self.decisions, self.obligations, self.periods, self.notices, self.findings
        out = new_record(Effects, (tuple(d) if d else (), tuple(o) if o else (), tuple(p) if p else (),
                             tuple(n) if n else (), tuple(f) if f else ()))
        if d:
            d.clear()
        if o:
            o.clear()
        if p:
            p.clear()
        if n:
            n.clear()
        if f:
            f.clear()
        return out
