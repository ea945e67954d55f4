"""17 CFR 242.204(d) and 242.203(b)(3)(vi): allocation of a fail to a broker-dealer the participant clears for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar


class _Owed(Protocol):
    @property
    def deadline(self) -> dt.datetime: ...

    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=_Owed)


def allocation_order(open_obligations: Iterable[T]) -> list[T]:
    """17 CFR 242.204(d); 242.203(b)(3)(vi): a participant that reasonably allocates part of its fail to a
    broker-dealer it clears for, based on that broker-dealer's short position, takes the allocated quantity from
    its open obligations in the security earliest deadline first, then in the order they arose
    (docs/scenarios.md, conventions 3 and 30). The allocated part is owed by the broker-dealer under the same
    provision and deadline."""
    return sorted(open_obligations, key=lambda o: (o.deadline, o.seq))


def split(quantities: Sequence[int], qty: int) -> list[int]:
    """17 CFR 242.204(d): how much of each obligation (in allocation order) an allocation of ``qty`` takes."""
    out: list[int] = []
    left = qty
    for q in quantities:
        n = min(left, q)
        out.append(n)
        left -= n
    return out
