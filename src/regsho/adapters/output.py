"""Large reads and writes: JSON output through orjson, byte for byte what the standard library writes, and bulk
work without the cyclic garbage collector."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import sys
from collections.abc import Iterator
from typing import Any, Final

import orjson

#: Objects made (net) under ``bulk`` beyond which the survivors are frozen rather than left to the collector.
FREEZE_AFTER: Final = 200_000


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Reading, replaying and writing a large file makes millions of objects and no reference cycles worth
    collecting: the cyclic garbage collector only slows it (two to three times on a 1,000,000-event file), so it
    is off for the duration and on again after.

    Turned on again as it was, the collector's next pass would traverse every object the bulk work made and kept
    (a second per 100,000 replayed events, found nothing to free): when that many were made, the survivors are
    moved to the collector's permanent generation instead (``gc.freeze``), where it never looks. They are still
    freed by reference counting when they go."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] >= FREEZE_AFTER:
                gc.freeze()
            gc.enable()


def write_json(obj: Any, stream: Any = None) -> None:
    """Write ``obj`` as ``json.dump(obj, stream, indent=2)`` does, byte for byte, through orjson (in C).

    orjson writes UTF-8 where the standard library escapes every character outside printable ASCII; those
    characters (found only inside strings) are escaped the same way afterwards. Anything orjson cannot encode
    exactly (an integer beyond 64 bits, a non-string key) goes through the standard library."""
    out = stream if stream is not None else sys.stdout
    try:
        data = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    except (orjson.JSONEncodeError, TypeError):
        json.dump(obj, out, indent=2)
        out.write("\n")
        return
    if data.isascii() and b"\x7f" not in data:
        raw = getattr(out, "buffer", None)
        if raw is not None:  # a text stream over bytes: the ASCII bytes go straight through
            out.flush()
            raw.write(data)
            raw.write(b"\n")
            raw.flush()
            return
        text = data.decode("ascii")
    else:
        text = _ASCII_RE.sub(_escape_char, data.decode("utf-8"))
    out.write(text)
    out.write("\n")


_ASCII_RE = re.compile(r"[^\n\x20-\x7e]")


def _escape_char(m: Any) -> str:
    c = ord(m.group(0))
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000
    return f"\\u{0xD800 | (c >> 10):04x}\\u{0xDC00 | (c & 0x3FF):04x}"
