"""Reading a market-data file once: plain or zipped, ASCII or UTF-8, LF or CRLF, with its lines numbered."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from regsho.adapters.errors import InputError
from regsho.calendars import ET

_DATE_IN_NAME = re.compile(r"(\d{8})")


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file, or of the one member of a zip archive (the SEC ships each file zipped)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(p, None, None, f"cannot read: {e.strerror or e}") from None
    if raw[:4] != b"PK\x03\x04" and p.suffix.lower() != ".zip":
        return raw
    try:
        import io

        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise InputError(p, None, None, f"a zip archive must hold exactly one file, it holds {len(members)}")
            return z.read(members[0])
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, NotImplementedError) as e:
        raise InputError(p, None, None, f"not a readable zip archive (truncated or damaged): {e}") from None
    except Exception as e:  # zlib.error and similar from a damaged member
        if isinstance(e, InputError):
            raise
        raise InputError(p, None, None, f"not a readable zip archive (truncated or damaged): {e}") from None


def decode(raw: bytes, name: str | Path) -> str:
    """Text from bytes: UTF-8 (ASCII is a subset), with a byte order mark dropped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(name, line, None, "not UTF-8 or ASCII text", raw[e.start: e.start + 8]) from None
    return text.removeprefix("\ufeff")


def lines(path: str | Path) -> list[tuple[int, str]]:
    """The non-blank lines of a file with their 1-based numbers, line endings (LF, CRLF, CR) removed."""
    text = decode(read_bytes(path), path)
    return [(i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip()]


def date_in_name(path: str | Path) -> dt.date | None:
    """The ``YYYYMMDD`` date in a file's name (``nasdaqth20210128.txt``), if it has one."""
    m = _DATE_IN_NAME.search(Path(path).name)
    if m is None:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError:
        return None


_STAMP = re.compile(r"^(\d{14})\|*$")
_CREATION = re.compile(r"^File Creation Time:\s*(\d{8})(\d{2}):(\d{2})\|*$")


def parse_stamp(text: str) -> dt.datetime | None:
    """A trailer timestamp, ``YYYYMMDDHHMMSS`` or ``File Creation Time: MMDDYYYYHH:MM``, in New York time."""
    s = text.strip()
    try:
        m = _STAMP.match(s)
        if m:
            return dt.datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=ET)
        m = _CREATION.match(s)
        if m:
            day = dt.datetime.strptime(m.group(1), "%m%d%Y")
            return day.replace(hour=int(m.group(2)), minute=int(m.group(3)), tzinfo=ET)
    except ValueError:
        return None
    return None
