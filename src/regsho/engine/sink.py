"""Where the engine's parts put the records an event causes, until ``BookEngine.apply`` returns them."""

from __future__ import annotations

from regsho.core.records import NO_EFFECTS, Decision, Effects, Finding, Notice, Obligation, PreBorrowPeriod


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
        out = Effects(tuple(self.decisions), tuple(self.obligations), tuple(self.periods), tuple(self.notices),
                      tuple(self.findings))
        self.decisions.clear()
        self.obligations.clear()
        self.periods.clear()
        self.notices.clear()
        self.findings.clear()
        return out
