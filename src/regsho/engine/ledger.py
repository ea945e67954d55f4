"""Projections of the engine's records: the latest version of every obligation and period, every decision,
notice and finding, in the order they arose. Computed from ``Effects``, never stored (DESIGN principle 10)."""

from __future__ import annotations

from regsho.core.records import Decision, Effects, Finding, Notice, Obligation, PreBorrowPeriod


class Ledger:
    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self._obligations: dict[str, Obligation] = {}
        self._periods: dict[str, PreBorrowPeriod] = {}
        self.notices: list[Notice] = []
        self.findings: list[Finding] = []
        self._by_order: dict[str, Decision] = {}

    def absorb(self, fx: Effects) -> None:
        if fx.decisions:
            self.decisions.extend(fx.decisions)
            for d in fx.decisions:
                self._by_order.setdefault(d.order, d)
        for o in fx.obligations:
            self._obligations[o.id] = o
        for p in fx.periods:
            self._periods[p.id] = p
        self.notices.extend(fx.notices)
        self.findings.extend(fx.findings)

    @property
    def obligations(self) -> list[Obligation]:
        """Every obligation's latest version, in creation order; one allocated away entirely is left out."""
        return [o for o in self._obligations.values() if o.qty > 0]

    @property
    def periods(self) -> list[PreBorrowPeriod]:
        return list(self._periods.values())

    def obligation(self, ob_id: str) -> Obligation | None:
        return self._obligations.get(ob_id)

    def period(self, period_id: str) -> PreBorrowPeriod | None:
        return self._periods.get(period_id)

    def decision(self, order_id: str) -> Decision | None:
        return self._by_order.get(order_id)
