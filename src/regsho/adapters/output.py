"""Large reads and writes: JSON output through orjson, byte for byte what the standard library writes, and bulk
work without the cyclic garbage collector."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
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


class LazyList:
    """A list in a document for ``write_json`` whose items are made as the writer reaches them and let go once
    written, so that a result of millions of records is never held whole as JSON-ready objects (nor as one
    string of hundreds of megabytes)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


#: items of a ``LazyList`` encoded per call to orjson
CHUNK: Final = 2_000


def write_json(obj: Any, stream: Any = None) -> None:
    """Write ``obj`` as ``json.dump(obj, stream, indent=2)`` does, byte for byte, through orjson (in C).

    orjson writes UTF-8 where the standard library escapes every character outside printable ASCII; those
    characters (found only inside strings) are escaped the same way afterwards. Anything orjson cannot encode
    exactly (an integer beyond 64 bits, a non-string key) goes through the standard library. One difference is
    left: a float that needs an exponent (below 1e-4 or from 1e16 in size) is written in orjson's shortest form,
    ``1e-6`` for ``1e-06``, the same number (regsho's records carry prices as decimals and quantities as
    integers). A top-level dictionary may hold ``LazyList`` values: the document is then written piece by
    piece, as if each were the list of its items."""
    out = stream if stream is not None else sys.stdout
    lazy = isinstance(obj, dict) and any(isinstance(v, LazyList) for v in obj.values())
    _write_pieces(_pieces(obj) if lazy else (_encode(obj),), out)


_ASCII_RE = re.compile(r"[^\n\x20-\x7e]")


def _encode(v: Any) -> bytes:
    """``json.dumps(v, indent=2)`` as ASCII bytes."""
    try:
        data = orjson.dumps(v, option=orjson.OPT_INDENT_2)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(v, indent=2).encode("ascii")
    if data.isascii() and b"\x7f" not in data:
        return data
    return _ASCII_RE.sub(_escape_char, data.decode("utf-8")).encode("ascii")


def _pieces(doc: dict[Any, Any]) -> Iterator[bytes]:
    """The bytes of ``json.dumps(doc, indent=2)`` for a dictionary whose ``LazyList`` values are written as
    lists, in pieces: each list's items in chunks, indented to their depth."""
    yield b"{"
    sep = b"\n  "
    for k, v in doc.items():
        yield sep
        sep = b",\n  "
        yield _encode(k if isinstance(k, str) else json.dumps(k))  # a key is written as text
        yield b": "
        if not isinstance(v, LazyList):
            yield _encode(v).replace(b"\n", b"\n  ")
            continue
        items = iter(v.items)
        first = True
        while chunk := list(islice(items, CHUNK)):
            # "[\n  item,\n  item\n]" at depth 0: the items without the brackets, two more spaces a line
            yield b"[\n    " if first else b",\n    "
            first = False
            yield _encode(chunk)[4:-2].replace(b"\n", b"\n  ")
        yield b"[]" if first else b"\n  ]"
    yield b"\n}" if doc else b"}"


def _write_pieces(pieces: Iterable[bytes], out: Any) -> None:
    raw = getattr(out, "buffer", None)
    if raw is not None:
        out.flush()
        for piece in pieces:
            raw.write(piece)
        raw.write(b"\n")
        raw.flush()
        return
    for piece in pieces:
        out.write(piece.decode("ascii"))
    out.write("\n")


def _escape_char(m: Any) -> str:
    c = ord(m.group(0))
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000
    return f"\\u{0xD800 | (c >> 10):04x}\\u{0xDC00 | (c & 0x3FF):04x}"
