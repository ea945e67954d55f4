"""Errors the engine raises for input it cannot apply (never for a rule outcome, which is a record)."""

from __future__ import annotations


class EngineInputError(ValueError):
    """An event the engine cannot apply; ``field`` names the offending field of the event."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
