"""The limits every input file is read under (docs/scenarios.md, "Input rules").

They bound what a hostile or broken file can cost before it is refused: bytes read, nesting, alias expansion,
number sizes and the span of dates the calendars cover. Each is a constant here, so that the docs, the decoder
and the tests name one value.
"""

from __future__ import annotations

from typing import Final

from regsho.calendars.calendar import DEFAULT_END, DEFAULT_START

#: Largest file read (bytes). A 1,000,000-event JSON scenario is about 150 MB.
MAX_BYTES: Final = 512 * 1024 * 1024

#: Deepest nesting of mappings and lists anywhere in a document (a scenario needs 4).
MAX_DEPTH: Final = 32

#: Nodes that YAML aliases may add to a document when expanded (a 10-line alias bomb adds about 10^9).
MAX_ALIAS_NODES: Final = 10_000

#: Digits of an integer written in a YAML file; longer runs of digits are read as text (and so refused where a
#: number is expected). JSON integers are bounded by the 64-bit range of the decoder.
MAX_INT_DIGITS: Final = 18

#: Largest quantity, position or share count accepted.
MAX_QUANTITY: Final = 10**15

#: Longest identifier, symbol or broker-dealer id (characters).
MAX_ID_LENGTH: Final = 128

#: Longest price written as text (characters).
MAX_PRICE_LENGTH: Final = 32

#: The dates the calendars cover: every date and time in a scenario must lie in this span.
FIRST_DATE: Final = DEFAULT_START
LAST_DATE: Final = DEFAULT_END

#: How much of an offending value an error message quotes.
QUOTE_CHARS: Final = 40


def show(v: object) -> str:
    """An offending value for an error message: quoted (``repr``), on one line, cut to ``QUOTE_CHARS``."""
    if isinstance(v, str | bytes):
        r = repr(v[: QUOTE_CHARS + 1])
        if len(v) > QUOTE_CHARS:
            r = repr(v[:QUOTE_CHARS]) + "…"
        return r
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**QUOTE_CHARS:
        return f"an integer of {len(str(abs(v)))} digits" if abs(v) < 10**4000 else "a very large integer"
    r = repr(v)
    return r if len(r) <= QUOTE_CHARS else r[:QUOTE_CHARS] + "…"
