"""One generic mechanism for every lifecycle: a literal transition table and a step function (DESIGN principle 8).

A ``Lifecycle`` names its states and events and holds the table ``{(state, event): next_state}``; ``step`` is the
only way to move. A pair missing from the table is a ``TransitionError`` (an engine defect, never bad input): the
tests walk every state against every event. The tables themselves live in ``regsho.core.lifecycles``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class TransitionError(RuntimeError):
    """A lifecycle event that the transition table does not allow in the current state."""


@dataclass(frozen=True, slots=True)
class Lifecycle(Generic[S, E]):
    name: str
    states: type[S]
    events: type[E]
    table: Mapping[tuple[S, E], S]
    initial: S

    def __post_init__(self) -> None:
        for (s, e), nxt in self.table.items():
            if not (isinstance(s, self.states) and isinstance(e, self.events) and isinstance(nxt, self.states)):
                raise TypeError(f"{self.name}: bad table entry ({s!r}, {e!r}) -> {nxt!r}")

    def step(self, state: S, event: E, subject: str = "") -> S:
        nxt = self.table.get((state, event))
        if nxt is None:
            who = f" {subject}" if subject else ""
            raise TransitionError(f"{self.name}{who}: {event.value} is not allowed when {state.value}")
        return nxt

    def allows(self, state: S, event: E) -> bool:
        return (state, event) in self.table

    def terminal(self, state: S) -> bool:
        """No event leaves ``state`` (a self-loop does not count as leaving)."""
        return all(nxt == state for (s, _), nxt in self.table.items() if s == state)
