"""The input errors of the adapters: every parser raises one of these on bad input, before returning anything
(nothing is half-loaded), naming the file, where in it, the field and (cut) the value read.

- ``ScenarioError``: a scenario file (``file: events[3] (order): field 'qty': message``);
- ``InputError``: a regulator's, an SRO's or a lender's file (``file: line N: field 'F': message, got 'value'``).
"""

from __future__ import annotations

from pathlib import Path

#: How much of an offending value is quoted in a message.
VALUE_CUT = 40


def quote(value: object, cut: int = VALUE_CUT) -> str:
    """The value as read, quoted, and cut to ``cut`` characters (``...`` marks the cut)."""
    text = value.decode("ascii", "backslashreplace") if isinstance(value, bytes) else str(value)
    if len(text) > cut:
        text = text[:cut] + "..."
    return repr(text)


class InputError(ValueError):
    """Bad input in a market-data file: ``file: line N: field 'F': message, got 'value'``."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, message: str,
                 value: object = None) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        self.value = None if value is None else quote(value)
        parts = [self.file]
        if line is not None:
            parts.append(f"line {line}")
        if field is not None:
            parts.append(f"field {field!r}")
        text = ": ".join(parts) + ": " + message
        if self.value is not None:
            text += f", got {self.value}"
        super().__init__(text)


class ScenarioError(ValueError):
    """Bad input in a scenario file: ``file: where: field 'name': message`` on one line."""

    def __init__(self, file: str, where: str, field: str | None, message: str) -> None:
        self.file = file
        self.where = where
        self.field = field
        loc = f"{file}: {where}" if where else file
        if field:
            loc += f": field '{field}'"
        super().__init__(" ".join(f"{loc}: {message}".splitlines()))
