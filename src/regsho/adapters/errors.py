"""The one input error of the market-data parsers: the file, the line, the field and the value that was read.

Every parser of a regulator's, an SRO's or a lender's file raises only this error on bad input, and raises it before
returning anything (nothing is half-loaded).
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
