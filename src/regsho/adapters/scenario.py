"""Scenario files (docs/scenarios.md, version 1): YAML or JSON, parsed and validated into domain records.

Bad input raises ``ScenarioError`` naming the file, the event's index and type, and the field, with the offending
value quoted and cut short; nothing is returned for a file with any error. Reading goes in three steps:

1. bytes to a document under limits (``regsho.adapters.decode``): strict UTF-8, JSON through msgspec's C parser,
   YAML 1.2 through libyaml's C loader, bounded size, nesting and alias expansion;
2. the document against the schema (``regsho.adapters.schema``, one msgspec Struct per event type): fields,
   types, unknown fields and event types, with the path of the first error. A JSON file is decoded straight into
   these Structs;
3. the records to domain events (``regsho.core.events``), with what a type cannot express: positive quantities,
   documented time formats in America/New_York (a time that does not exist there is refused, one that happens
   twice needs an offset), dates inside the calendars' span, declared symbols, accounts and broker-dealers,
   references to earlier locates and orders, time order, and citations of real provisions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from regsho.adapters import schema as sch
from regsho.adapters.cites import check_cite
from regsho.adapters.decode import (
    check_depth,
    decode_text,
    json_error,
    looks_like_json,
    parse_bytes,
    parse_yaml,
    read_bytes,
    strip_bom,
)
from regsho.adapters.errors import ScenarioError
from regsho.adapters.limits import (
    FIRST_DATE,
    LAST_DATE,
    MAX_ID_LENGTH,
    MAX_PRICE_LENGTH,
    MAX_QUANTITY,
    show,
)
from regsho.calendars import ET
from regsho.core import events as ev
from regsho.core.events import (
    Account,
    FailOrigin,
    Firm,
    Security,
    SecurityKind,
    Side,
)

__all__ = [
    "CLOSE_OUT_TYPES",
    "EVENT_TYPES",
    "Scenario",
    "ScenarioError",
    "ScenarioEvent",
    "load",
    "loads",
    "parse_date",
    "parse_datetime",
    "parse_document",
    "read_document",
]

E = TypeVar("E", bound=StrEnum)

#: Event type names (docs/scenarios.md, "Event types").
EVENT_TYPES = tuple(sch.EVENT_TYPES)

#: Event types of the close-out engine (docs/scenarios.md); the rest drive the pre-trade gate.
CLOSE_OUT_TYPES = frozenset({"fail", "cns", "close_out", "allocate", "certify", "attestation"})

TOP_LEVEL = ("version", "name", "cite", "firm", "securities", "accounts", "events", "expect")


# -- field converters -------------------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:\d\d)?)?", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_UTC = dt.UTC
_DST_MONTHS = frozenset((3, 4, 10, 11))  # New York's clocks change in these months (April/October before 2007)


def _in_span(d: dt.date, v: object) -> None:
    if not FIRST_DATE <= d <= LAST_DATE:
        raise _Bad(f"{show(v)} is outside the dates the calendars cover ({FIRST_DATE.isoformat()} to "
                   f"{LAST_DATE.isoformat()})")


def _check_local(d: dt.datetime, v: object) -> dt.datetime:
    """A wall-clock time in New York: refuse one that does not exist, ask an offset for one that happens twice."""
    a = d.replace(tzinfo=ET, fold=0)
    if d.month in (3, 4, 10, 11) and d.hour < 4:
        b = d.replace(tzinfo=ET, fold=1)
        if a.utcoffset() != b.utcoffset():
            if a.astimezone(_UTC).astimezone(ET).replace(tzinfo=None) != d:
                raise _Bad(f"{show(v)} does not exist in New York (the clocks go forward an hour that night)")
            raise _Bad(f"{show(v)} happens twice in New York (the clocks go back an hour that night): give its "
                       f"UTC offset, -04:00 or -05:00")
    return a


_SUFFIX_RE = re.compile(r":(\d\d)(?:\.(\d{1,6}))?", re.ASCII)


@lru_cache(maxsize=1 << 17)
def _suffix(x: str) -> dt.timedelta | None:
    """``:SS`` or ``:SS.ffffff`` after the minute, as a duration; None for anything else (an offset, a bad form)."""
    m = _SUFFIX_RE.fullmatch(x)
    if m is None or int(m.group(1)) > 59:
        return None
    return dt.timedelta(seconds=int(m.group(1)), microseconds=int((m.group(2) or "0").ljust(6, "0")))


def _stamp(s: str) -> dt.datetime:
    """A time as text (see ``parse_datetime``). Times without an offset are read as their minute (checked once
    per minute: format, span, a New York wall-clock time that exists once) plus the seconds within it, which
    stays inside the minute and so inside any answer about clock changes."""
    n = len(s)
    if n == 16:
        return _stamp_full(s)
    if n > 16 and s[16] == ":":
        td = _suffix(s[16:])
        if td is not None:
            try:
                return _stamp_full(s[:16]) + td
            except _Bad:
                pass  # the message quotes the whole value
    return _stamp_full(s)


@lru_cache(maxsize=1 << 16)
def _stamp_full(s: str) -> dt.datetime:
    if _TIME_RE.fullmatch(s) is None:
        raise _Bad(f"{show(s)} is not a time of the form YYYY-MM-DDTHH:MM[:SS] (optionally with a UTC offset)")
    year = int(s[:4])
    if not FIRST_DATE.year - 1 <= year <= LAST_DATE.year + 1:
        raise _Bad(f"{show(s)} is outside the dates the calendars cover ({FIRST_DATE.isoformat()} to "
                   f"{LAST_DATE.isoformat()})")
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        raise _Bad(f"{show(s)} is not a valid time") from None
    if d.tzinfo is None:
        out = _check_local(d, s) if d.month in _DST_MONTHS and d.hour < 4 else d.replace(tzinfo=ET)
    else:
        out = d.astimezone(ET)
    if not FIRST_DATE <= out.date() <= LAST_DATE:
        _in_span(out.date(), s)
    return out


def parse_datetime(v: object) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` in America/New_York unless a UTC offset (``±HH:MM`` or ``Z``) is given;
    a bare date ``YYYY-MM-DD`` means 00:00. A New York time that does not exist (the spring-forward hour) is
    refused; one that happens twice (the fall-back hour) needs an offset. The date must be in the calendars' span.
    """
    if isinstance(v, str):
        return _stamp(v.strip())
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            out = _check_local(v, v)
        else:
            try:
                out = v.astimezone(ET)
            except (OverflowError, ValueError):
                raise _Bad(f"{show(v)} is outside the dates the calendars cover") from None
        _in_span(out.date(), v)
        return out
    if isinstance(v, dt.date):
        _in_span(v, v)
        return dt.datetime.combine(v, dt.time(0), tzinfo=ET)
    raise _Bad(f"expected a time, got {show(v)}")


def parse_date(v: object) -> dt.date:
    """``YYYY-MM-DD``, inside the calendars' span."""
    if isinstance(v, dt.datetime):
        raise _Bad("expected a date, got a time")
    if isinstance(v, dt.date):
        d = v
    elif isinstance(v, str):
        s = v.strip()
        if _DATE_RE.fullmatch(s) is None:
            raise _Bad(f"{show(v)} is not a date of the form YYYY-MM-DD")
        try:
            d = dt.date.fromisoformat(s)
        except ValueError:
            raise _Bad(f"{show(v)} is not a valid date") from None
    else:
        raise _Bad(f"expected a date, got {show(v)}")
    _in_span(d, v)
    return d


def _str(v: object) -> str:
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise _Bad(f"expected a string, got {show(v)}")
    s = str(v).strip() if isinstance(v, int) else v.strip()
    if not s:
        raise _Bad("must not be empty")
    if len(s) > MAX_ID_LENGTH:
        raise _Bad(f"longer than {MAX_ID_LENGTH} characters: {show(s)}")
    return s


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer() and abs(v) <= MAX_QUANTITY:
            return int(v)
        raise _Bad(f"expected a whole number, got {show(v)}")
    if abs(v) > MAX_QUANTITY:
        raise _Bad(f"larger than {MAX_QUANTITY:.0e}: {show(v)}")
    return v


def _qty(v: object) -> int:
    n = _int(v)
    if n <= 0:
        raise _Bad(f"must be a positive quantity, got {n}")
    return n


def _nonneg(v: object) -> int:
    n = _int(v)
    if n < 0:
        raise _Bad(f"must not be negative, got {n}")
    return n


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise _Bad(f"expected true or false, got {show(v)}")
    return v


def _price(v: object) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise _Bad(f"expected a price, got {show(v)}")
    s = str(v).strip()
    if len(s) > MAX_PRICE_LENGTH:
        raise _Bad(f"expected a price, got {show(v)}")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise _Bad(f"expected a price, got {show(v)}") from None
    if not d.is_finite() or d <= 0:
        raise _Bad(f"a price must be positive, got {show(v)}")
    return d


_price_c = lru_cache(maxsize=1 << 16, typed=True)(_price)


def _enum(cls: type[E]) -> Callable[[object], E]:
    def conv(v: object) -> E:
        if isinstance(v, cls):
            return v
        try:
            if not isinstance(v, str):
                raise ValueError(v)
            return cls(v)
        except ValueError:
            raise _Bad(f"{show(v)} is not one of: {', '.join(m.value for m in cls)}") from None

    return conv


def _symbols(v: object) -> frozenset[str]:
    if not isinstance(v, list):
        raise _Bad("expected a list of symbols")
    return frozenset(_str(x) for x in v)


# -- the scenario ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    index: int
    type: str
    event: ev.Event


@dataclass(frozen=True)
class Scenario:
    path: str
    name: str
    cite: tuple[str, ...]
    firm: Firm
    securities: Mapping[str, Security]
    accounts: Mapping[str, Account]
    events: tuple[ScenarioEvent, ...]
    expect: Mapping[str, Any] | None = None
    bds: frozenset[str] = field(default_factory=frozenset)

    def error(self, index: int, field: str | None, message: str) -> ScenarioError:
        et = self.events[index].type if 0 <= index < len(self.events) else "?"
        return ScenarioError(self.path, f"events[{index}] ({et})", field, message)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (a JSON file is decoded straight into the schema's records)."""
    name = str(path)
    return _from_bytes(read_bytes(path), name)


def loads(text: str | bytes, name: str = "<scenario>") -> Scenario:
    """Validate a scenario given as YAML or JSON text (or its UTF-8 bytes)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _from_bytes(data, name)


def read_document(path: str | Path) -> dict[str, Any]:
    """Read a scenario file's YAML/JSON document without validating its events (the store validates a file
    together with the book it is appended to)."""
    name = str(path)
    doc = parse_bytes(read_bytes(path), name)
    if not isinstance(doc, dict):
        raise ScenarioError(name, "", None, "a scenario is a mapping with version, firm, securities, accounts, "
                                            "events")
    return doc


def parse_document(doc: object, name: str) -> Scenario:
    """Build a scenario from an already-loaded document (a YAML/JSON mapping; used by the store)."""
    if not isinstance(doc, dict):
        raise ScenarioError(name, "", None, "a scenario is a mapping with version, firm, securities, accounts, "
                                            "events")
    for part in ("securities", "accounts"):
        v = doc.get(part)
        if isinstance(v, dict) and not all(isinstance(k, str) for k in v):
            doc = {**doc, part: {str(k): x for k, x in v.items()}}
    try:
        rec = msgspec.convert(doc, sch.Document)
    except msgspec.ValidationError as e:
        raise _schema_error(e, doc, name) from None
    except RecursionError:
        raise ScenarioError(name, "", None, "nested too deeply") from None
    return _build(rec, name)


def _from_bytes(data: bytes, name: str) -> Scenario:
    data = strip_bom(data, name)
    if looks_like_json(data, name):
        try:
            rec = sch.JSON_DECODER.decode(data)
        except msgspec.ValidationError as e:
            raise _schema_error(e, _raw_json(data), name) from None
        except (msgspec.DecodeError, RecursionError) as e:
            if name.lower().endswith(".json"):
                if isinstance(e, msgspec.DecodeError) and "UTF-8" in str(e):
                    decode_text(data, name)
                raise json_error(name, e) from None
        else:
            return _build(rec, name)
    return parse_document(parse_yaml(decode_text(data, name), name), name)


def _raw_json(data: bytes) -> object:
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


# -- schema errors ---------------------------------------------------------------------------------------------

_AT_RE = re.compile(r"(.*?) - at `(?:key` in `)?\$([^`]*)`", re.S)
_SEG_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\.\.\.\]")
_HUMAN = {"str": "text", "str | int": "text", "int | float": "a number", "str | int | float": "a price",
          "bool": "true or false", "array": "a list", "object": "a mapping", "int": "a whole number",
          "float": "a number", "null": "null"}


def _human(t: str) -> str:
    t = t.replace(" | null", "")
    return _HUMAN.get(t, t)


def _lookup(raw: object, segs: list[str | int]) -> tuple[bool, object]:
    v = raw
    for s in segs:
        ok_list = isinstance(s, int) and isinstance(v, list) and 0 <= s < len(v)
        if ok_list or (isinstance(s, str) and isinstance(v, dict) and s in v):
            v = v[s]  # type: ignore[index]
        else:
            return False, None
    return True, v


def _schema_error(e: msgspec.ValidationError, raw: object, name: str) -> ScenarioError:
    msg = str(e)
    key_error = " - at `key` in `" in msg
    m = _AT_RE.fullmatch(msg)
    text, path = (m.group(1), m.group(2)) if m else (msg, "")
    segs: list[str | int] = []
    for sm in _SEG_RE.finditer(path):
        if sm.group(1) is not None:
            segs.append(sm.group(1))
        elif sm.group(2) is not None:
            segs.append(int(sm.group(2)))
        else:
            segs.append("...")
    named = re.search(r"field `([^`]*)`", text)
    etype: str | None = None
    where = ""
    rest = segs
    if len(segs) >= 2 and segs[0] == "events" and isinstance(segs[1], int):
        found, ev_raw = _lookup(raw, segs[:2])
        t = ev_raw.get("type") if found and isinstance(ev_raw, dict) else None
        etype = t if isinstance(t, str) and t in sch.EVENT_TYPES else None
        where = f"events[{segs[1]}] ({etype})" if etype else f"events[{segs[1]}]"
        rest = segs[2:]
        if etype and isinstance(ev_raw, dict) and not (rest and rest[0] == "type"):
            # As for a good event, the time is judged before the other fields.
            if "at" not in ev_raw:
                return ScenarioError(name, where, "at", "missing field")
            if isinstance(ev_raw["at"], str):
                try:
                    _stamp(ev_raw["at"].strip())
                except _Bad as bad:
                    return ScenarioError(name, where, "at", str(bad))
    fld_parts = [s for s in rest if isinstance(s, str) and s != "..."]
    if named and not key_error:
        fld_parts = [*fld_parts, named.group(1)]
    fld = (fld_parts[0] if fld_parts else None) if where else (".".join(fld_parts) or None)
    found, value = _lookup(raw, segs)

    if key_error:
        message = "a field name must be text"
    elif text.startswith("Object missing required field"):
        message = "missing field"
    elif text.startswith("Object contains unknown field"):
        if etype:
            message = f"unknown field for {etype} (known: {', '.join(sorted(sch.fields_of(etype)))})"
        elif where:
            message = "unknown field"
        elif len(fld_parts) == 1:
            message = f"unknown top-level field (known: {', '.join(sorted(TOP_LEVEL))})"
        else:
            message = "unknown field"
    elif text.startswith("Invalid value") and where and fld == "type":
        message = f"unknown event type {show(value)} (known: {', '.join(sorted(sch.EVENT_TYPES))})"
    elif where and fld == "type" and text.startswith("Expected `str`"):
        message = f"the event type must be text, got {show(value) if found else 'another type'}"
    elif text.startswith("Invalid enum value"):
        allowed = sch.ENUM_FIELDS.get(fld.rsplit(".", 1)[-1] if fld else "", ())
        message = f"{show(value)} is not one of: {', '.join(allowed)}"
    elif where and not rest and text.startswith("Expected `object`"):
        fld = None
        message = "an event is a mapping with 'at' and 'type'"
    elif not where and fld == "events" and len(segs) == 1:
        message = "expected a list of events"
    elif not where and fld == "firm" and len(segs) == 1:
        message = "expected a mapping"
    elif "out of range" in text:
        message = f"a number out of range{': ' + show(value) if found else ''}"
    else:
        em = re.match(r"Expected `([^`]*)`(?:, got `([^`]*)`)?", text)
        if em:
            got = show(value) if found else (em.group(2) or "another type")
            message = f"expected {_human(em.group(1))}, got {got}"
        else:
            message = text[:1].lower() + text[1:]
    if not where and fld is None and not segs:
        fld = None
    return ScenarioError(name, where, fld, message)


# -- records to domain events ---------------------------------------------------------------------------------


def _top(name: str, fld: str, message: str) -> ScenarioError:
    return ScenarioError(name, "", fld, message)


def _header(rec: sch.Document, name: str) -> tuple[str, tuple[str, ...], Firm, dict[str, Security],
                                                    dict[str, Account]]:
    if not (type(rec.version) is int and rec.version == 1):
        raise _top(name, "version", f"only version 1 is supported, got {show(rec.version)}")
    title = Path(name).stem if rec.name is None else rec.name
    if not isinstance(title, str):
        raise _top(name, "name", f"expected a string, got {show(title)}")
    cite_raw = [] if rec.cite is None else rec.cite
    if not isinstance(cite_raw, list) or not all(isinstance(x, str) for x in cite_raw):
        raise _top(name, "cite", "expected a list of strings")
    for i, c in enumerate(cite_raw):
        problem = check_cite(c)
        if problem:
            raise _top(name, f"cite[{i}]", problem)
    firm_raw = rec.firm or sch.FirmSpec()
    if firm_raw.id is None:
        raise _top(name, "firm.id", "the firm (the clearing participant) needs an id")
    try:
        firm = Firm(_str(firm_raw.id), tuple(_str(x) for x in (firm_raw.clears_for or [])),
                    firm_raw.name or "", "" if firm_raw.crd is None else _str(firm_raw.crd),
                    firm_raw.contact or "", firm_raw.signatory or "")
    except _Bad as e:
        raise _top(name, "firm", str(e)) from None
    bds = frozenset((firm.id, *firm.clears_for))

    securities: dict[str, Security] = {}
    for sym, spec in (rec.securities or {}).items():
        check_depth(spec, name, "", f"securities.{sym}")
        try:
            s = msgspec.convert({} if spec is None else spec, sch.SecuritySpec)
        except msgspec.ValidationError as e:
            raise _part_error(e, spec, name, f"securities.{sym}") from None
        try:
            tso = _qty(s.shares_outstanding) if s.shares_outstanding is not None else None
            if len(sym) > MAX_ID_LENGTH or not sym.strip():
                raise _Bad(f"a symbol must be 1 to {MAX_ID_LENGTH} characters, got {show(sym)}")
        except _Bad as e:
            raise _top(name, f"securities.{sym}", str(e)) from None
        securities[sym] = Security(sym, s.kind or SecurityKind.STOCK, bool(s.htb), tso, s.name,
                                   None if s.cusip is None else str(s.cusip))

    accounts: dict[str, Account] = {}
    for aid, spec in (rec.accounts or {}).items():
        check_depth(spec, name, "", f"accounts.{aid}")
        try:
            a = msgspec.convert({} if spec is None else spec, sch.AccountSpec)
        except msgspec.ValidationError as e:
            raise _part_error(e, spec, name, f"accounts.{aid}") from None
        if a.bd is None:
            raise _top(name, f"accounts.{aid}.bd", "missing field")
        if a.type is None:
            raise _top(name, f"accounts.{aid}.type", "missing field")
        try:
            bd = _str(a.bd)
        except _Bad as e:
            raise _top(name, f"accounts.{aid}", str(e)) from None
        if bd not in bds:
            raise _top(name, f"accounts.{aid}.bd",
                       f"{show(bd)} is neither the firm {firm.id} nor a broker-dealer it clears for")
        accounts[aid] = Account(aid, bd, a.type)
    return title, tuple(cite_raw), firm, securities, accounts


def _part_error(e: msgspec.ValidationError, raw: object, name: str, prefix: str) -> ScenarioError:
    inner = _schema_error(e, raw, name)
    text = str(inner).split(": ", 1)[-1]
    if inner.field and "unknown" in text:
        known = ("shares_outstanding, kind, htb" if prefix.startswith("securities") else "bd, type")
        return _top(name, f"{prefix}.{inner.field}", f"unknown field (known: {known})")
    message = text.split(": ", 1)[-1] if inner.field else text
    return _top(name, prefix, f"{inner.field}: {message}" if inner.field else message)


class _Ctx:
    __slots__ = (
        "accounts",
        "bds",
        "firm",
        "name",
        "securities",
        "seen_close_outs",
        "seen_locates",
        "seen_orders",
        "seen_pre_borrows",
    )

    def __init__(self, name: str, firm: Firm, securities: Mapping[str, Security], accounts: Mapping[str, Account],
                 bds: frozenset[str]) -> None:
        self.name = name
        self.firm = firm
        self.securities = securities
        self.accounts = accounts
        self.bds = bds
        self.seen_locates: set[str] = set()
        self.seen_orders: set[str] = set()
        self.seen_pre_borrows: set[str] = set()
        self.seen_close_outs: set[str] = set()


class _Err(Exception):
    """A bad field of the event being built (turned into a ``ScenarioError`` with the event's place)."""

    def __init__(self, fld: str, message: str) -> None:
        super().__init__(message)
        self.fld = fld


def _f(fld: str, conv: Callable[[Any], Any], v: object) -> Any:
    try:
        return conv(v)
    except _Bad as e:
        raise _Err(fld, str(e)) from None


def _id(v: object, fld: str) -> str:
    """An identifier: the common case (a clean string) without a call to the converter."""
    if type(v) is str and 0 < len(v) <= MAX_ID_LENGTH and not v[0].isspace() and not v[-1].isspace():
        return v
    return str(_f(fld, _str, v))


def _pos(v: object, fld: str = "qty") -> int:
    if type(v) is int and 0 < v <= MAX_QUANTITY:
        return v
    return int(_f(fld, _qty, v))


def _px(v: object, fld: str) -> Decimal | None:
    if v is None:
        return None
    try:
        return _price_c(v)
    except _Bad as e:
        raise _Err(fld, str(e)) from None
    except TypeError:  # not hashable: not a price either
        raise _Err(fld, f"expected a price, got {show(v)}") from None


def _sym(c: _Ctx, v: object, fld: str = "symbol") -> str:
    s = _f(fld, _str, v)
    if s not in c.securities:
        raise _Err(fld, f"unknown symbol {show(s)} (declare it under securities)")
    return str(s)


def _acct(c: _Ctx, v: object) -> str:
    a = _f("account", _str, v)
    if a not in c.accounts:
        raise _Err("account", f"unknown account {show(a)} (declare it under accounts)")
    return str(a)


def _bd(c: _Ctx, v: object, fld: str = "bd") -> str:
    b = _f(fld, _str, v)
    if b not in c.bds:
        raise _Err(fld, f"unknown broker-dealer {show(b)} (the firm {c.firm.id} or one it clears for)")
    return str(b)


def _list(c: _Ctx, v: list[Any]) -> frozenset[str]:
    syms = _f("symbols", _symbols, v)
    unknown = sorted(syms - c.securities.keys())
    if unknown:
        raise _Err("symbols", f"unknown symbol(s) {show(', '.join(unknown))} (declare them under securities)")
    return frozenset(syms)


def _opt(fld: str, conv: Callable[[Any], Any], v: object) -> Any:
    return None if v is None else _f(fld, conv, v)


def _b_etb(c: _Ctx, s: sch.EtbList, at: dt.datetime, w: str) -> ev.Event:
    return ev.EtbList(at, _list(c, s.symbols), w)


def _b_htb(c: _Ctx, s: sch.HtbList, at: dt.datetime, w: str) -> ev.Event:
    return ev.HtbList(at, _list(c, s.symbols), w)


def _b_threshold(c: _Ctx, s: sch.ThresholdList, at: dt.datetime, w: str) -> ev.Event:
    return ev.ThresholdList(at, _list(c, s.symbols), w)


def _b_ssr(c: _Ctx, s: sch.Ssr, at: dt.datetime, w: str) -> ev.Event:
    return ev.SsrTrigger(at, _sym(c, s.symbol), w)


def _b_locate(c: _Ctx, s: sch.Locate, at: dt.datetime, w: str) -> ev.Event:
    lid = _id(s.id, "id")
    account = s.account if s.account in c.accounts else None
    symbol = s.symbol if s.symbol in c.securities else None
    qty = _pos(s.qty)
    source = None if s.source is None else _id(s.source, "source")
    gf: object = "day"
    if s.good_for is not None and s.good_for != "day":
        gf = _f("good_for", parse_datetime, s.good_for)
    symbol = _sym(c, s.symbol) if symbol is None else symbol
    account = _acct(c, s.account) if account is None else account
    if lid in c.seen_locates:
        raise _Err("id", f"locate id {show(lid)} is already used")
    if isinstance(gf, dt.datetime):
        if gf <= at:
            raise _Err("good_for", "a locate must be good until a time after it is granted")
        until, day = gf, False
    else:
        until, day = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(0), tzinfo=ET), True
    c.seen_locates.add(lid)
    return ev.LocateGrant(at, lid, str(account), str(symbol), qty, until, day, source, w)



def _b_locate_release(c: _Ctx, s: sch.LocateRelease, at: dt.datetime, w: str) -> ev.Event:
    lid = _id(s.id, "id")
    if lid not in c.seen_locates:
        raise _Err("id", f"unknown locate id {show(lid)}")
    qty = None if s.qty is None else _pos(s.qty)
    reason = "" if s.reason is None else _f("reason", _str, s.reason)
    by = "" if s.by is None else _f("by", _str, s.by)
    return ev.LocateRelease(at, lid, qty, str(reason), str(by), w)


def _b_pre_borrow(c: _Ctx, s: sch.PreBorrow, at: dt.datetime, w: str) -> ev.Event:
    pid = _f("id", _str, s.id)
    bd = _f("bd", _str, s.bd)
    symbol = _f("symbol", _str, s.symbol)
    qty = _f("qty", _qty, s.qty)
    _sym(c, symbol)
    _bd(c, bd)
    if pid in c.seen_pre_borrows:
        raise _Err("id", f"pre-borrow id {show(pid)} is already used")
    c.seen_pre_borrows.add(pid)
    return ev.PreBorrow(at, pid, bd, symbol, qty, w)


def _b_position(c: _Ctx, s: sch.Position, at: dt.datetime, w: str) -> ev.Event:
    qty = _f("qty", _int, s.qty)
    symbol = s.symbol if s.symbol in c.securities else _sym(c, s.symbol)
    account = s.account if s.account in c.accounts else _acct(c, s.account)
    return ev.PositionSet(at, str(account), str(symbol), qty, w)



def _b_mm_status(c: _Ctx, s: sch.MmStatus, at: dt.datetime, w: str) -> ev.Event:
    account = _f("account", _str, s.account)
    symbol = _f("symbol", _str, s.symbol)
    _sym(c, symbol)
    _acct(c, account)
    return ev.MmStatus(at, account, symbol, s.bona_fide, w)


def _b_mm_verdict(c: _Ctx, s: sch.MmVerdict, at: dt.datetime, w: str) -> ev.Event:
    account = _f("account", _str, s.account)
    symbol = _f("symbol", _str, s.symbol)
    start = _f("start", parse_datetime, s.start)
    end = _f("end", parse_datetime, s.end)
    findings = tuple(_f("findings", _str, x) for x in (s.findings or ()))
    cites = tuple(_f("cites", _str, x) for x in (s.cites or ()))
    source = "" if s.source is None else _f("source", _str, s.source)
    _sym(c, symbol)
    _acct(c, account)
    if end <= start:
        raise _Err("end", "a verdict window must end after it starts")
    return ev.MmVerdict(at, account, symbol, start, end, s.bona_fide, findings, cites, source, w)


def _b_order(c: _Ctx, s: sch.Order, at: dt.datetime, w: str) -> ev.Event:
    oid = _id(s.id, "id")
    qty = _pos(s.qty)
    price = _px(s.price, "price")
    nbb = _px(s.nbb, "nbb")
    loc = None if s.locate is None else _id(s.locate, "locate")
    exempt = None if s.exempt is None else _id(s.exempt, "exempt")
    symbol = s.symbol if s.symbol in c.securities else _sym(c, s.symbol)
    account = s.account if s.account in c.accounts else _acct(c, s.account)
    if oid in c.seen_orders:
        raise _Err("id", f"order id {show(oid)} is already used")
    c.seen_orders.add(oid)
    if loc is not None and loc not in c.seen_locates:
        raise _Err("locate", f"unknown locate id {show(loc)} (no earlier locate event grants it)")
    side = s.side
    if exempt is not None and side is not Side.SELL_SHORT_EXEMPT:
        raise _Err("exempt", "only a sell_short_exempt order names an exempt provision")
    return ev.Order(at, oid, str(account), str(symbol), side, qty, price, nbb, loc, s.bona_fide_mm is True, exempt,
                    w)



def _b_fill(c: _Ctx, s: sch.Fill, at: dt.datetime, w: str) -> ev.Event:
    order = s.order if s.order in c.seen_orders else None
    qty = _pos(s.qty)
    price = _px(s.price, "price")
    if order is None:
        order = _id(s.order, "order")
        if order not in c.seen_orders:
            raise _Err("order", f"unknown order id {show(order)}")
    return ev.Fill(at, str(order), qty, price, w)



def _b_cancel(c: _Ctx, s: sch.Cancel, at: dt.datetime, w: str) -> ev.Event:
    order = s.order if s.order in c.seen_orders else None
    if order is None:
        order = _id(s.order, "order")
        if order not in c.seen_orders:
            raise _Err("order", f"unknown order id {show(order)}")
    return ev.Cancel(at, str(order), w)



def _b_pre_borrow_required(c: _Ctx, s: sch.PreBorrowRequired, at: dt.datetime, w: str) -> ev.Event:
    bd = _f("bd", _str, s.bd)
    symbol = _f("symbol", _str, s.symbol)
    rule = _opt("rule", _str, s.rule)
    until = _opt("until", parse_datetime, s.until)
    _sym(c, symbol)
    _bd(c, bd)
    if until is not None and until <= at:
        raise _Err("until", "a pre-borrow period must end after it starts")
    return ev.PreBorrowRequired(at, bd, symbol, rule or "204(b)", until, w)


def _b_fail(c: _Ctx, s: sch.Fail, at: dt.datetime, w: str) -> ev.Event:
    symbol = _f("symbol", _str, s.symbol)
    qty = _f("qty", _qty, s.qty)
    settlement = _f("settlement_date", parse_date, s.settlement_date)
    trade = _opt("trade_date", parse_date, s.trade_date)
    bd = _opt("bd", _str, s.bd)
    created = _opt("options_created", parse_date, s.options_created)
    _sym(c, symbol)
    if bd is not None:
        _bd(c, bd)
    origin = s.origin
    if origin is FailOrigin.DEEMED_TO_OWN and trade is None:
        raise _Err("trade_date", "a deemed_to_own fail needs its trade_date")
    if trade is not None and trade > settlement:
        raise _Err("trade_date", "the trade date must not be after the settlement date")
    if created is not None and origin is not FailOrigin.OPTIONS_MM_HEDGE:
        raise _Err("options_created", "only an options_mm_hedge fail names when its options were created")
    return ev.Fail(at, symbol, qty, settlement, origin, trade, bd, created, w)


def _b_cns(c: _Ctx, s: sch.Cns, at: dt.datetime, w: str) -> ev.Event:
    symbol = _f("symbol", _str, s.symbol)
    date = _f("date", parse_date, s.date)
    qty = _f("fail_qty", _nonneg, s.fail_qty)
    _sym(c, symbol)
    return ev.Cns(at, symbol, date, qty, w)


def _b_close_out(c: _Ctx, s: sch.CloseOut, at: dt.datetime, w: str) -> ev.Event:
    cid = _f("id", _str, s.id)
    symbol = _f("symbol", _str, s.symbol)
    qty = _f("qty", _qty, s.qty)
    bd = _opt("bd", _str, s.bd)
    _sym(c, symbol)
    if bd is not None:
        _bd(c, bd)
    if cid in c.seen_close_outs:
        raise _Err("id", f"close-out id {show(cid)} is already used")
    c.seen_close_outs.add(cid)
    return ev.CloseOut(at, cid, symbol, qty, s.method, bd, True if s.irrevocable is None else s.irrevocable,
                       True if s.counterparty_delivers is None else s.counterparty_delivers,
                       bool(s.net_flat_or_long), w)


def _b_allocate(c: _Ctx, s: sch.Allocate, at: dt.datetime, w: str) -> ev.Event:
    symbol = _f("symbol", _str, s.symbol)
    qty = _f("qty", _qty, s.qty)
    to = _f("to", _str, s.to)
    _sym(c, symbol)
    _bd(c, to, "to")
    if to not in c.firm.clears_for:
        raise _Err("to", f"{show(to)} is not a broker-dealer the firm clears for")
    return ev.Allocate(at, symbol, qty, to, w)


def _b_certify(c: _Ctx, s: sch.Certify, at: dt.datetime, w: str) -> ev.Event:
    bd = _f("bd", _str, s.bd)
    symbol = _f("symbol", _str, s.symbol)
    date = _f("date", parse_date, s.date)
    _sym(c, symbol)
    _bd(c, bd)
    return ev.Certify(at, bd, symbol, date, s.basis, w)


def _b_attestation(c: _Ctx, s: sch.Attestation, at: dt.datetime, w: str) -> ev.Event:
    symbol = _f("symbol", _str, s.symbol)
    qty = _f("qty", _qty, s.qty)
    settlement = _f("settlement_date", parse_date, s.settlement_date)
    _sym(c, symbol)
    return ev.Attestation(at, symbol, qty, settlement, w)


_DURATION = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> dt.timedelta:
    """A duration written ``24h``, ``90m``, ``3600s`` or ``2d``."""
    m = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise _Bad(f"expected a duration such as 24h, 90m, 3600s or 2d, got {text!r:.40}")
    return dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _b_gate_settings(c: _Ctx, s: sch.GateSettings, at: dt.datetime, w: str) -> ev.Event:
    age = None if s.reference_max_age is None else _f("reference_max_age", duration, s.reference_max_age)
    return ev.GateSettings(at, age, w)


_BUILDERS: dict[type, tuple[str, Callable[[_Ctx, Any, dt.datetime, str], ev.Event]]] = {
    sch.EtbList: ("etb_list", _b_etb),
    sch.HtbList: ("htb_list", _b_htb),
    sch.ThresholdList: ("threshold_list", _b_threshold),
    sch.Ssr: ("ssr", _b_ssr),
    sch.Locate: ("locate", _b_locate),
    sch.LocateRelease: ("locate_release", _b_locate_release),
    sch.PreBorrow: ("pre_borrow", _b_pre_borrow),
    sch.Position: ("position", _b_position),
    sch.MmStatus: ("mm_status", _b_mm_status),
    sch.MmVerdict: ("mm_verdict", _b_mm_verdict),
    sch.Order: ("order", _b_order),
    sch.Fill: ("fill", _b_fill),
    sch.Cancel: ("cancel", _b_cancel),
    sch.PreBorrowRequired: ("pre_borrow_required", _b_pre_borrow_required),
    sch.Fail: ("fail", _b_fail),
    sch.Cns: ("cns", _b_cns),
    sch.CloseOut: ("close_out", _b_close_out),
    sch.Allocate: ("allocate", _b_allocate),
    sch.Certify: ("certify", _b_certify),
    sch.Attestation: ("attestation", _b_attestation),
    sch.GateSettings: ("gate_settings", _b_gate_settings),
}


def _build(rec: sch.Document, name: str) -> Scenario:
    title, cite, firm, securities, accounts = _header(rec, name)
    bds = frozenset((firm.id, *firm.clears_for))
    if rec.events is None:
        raise _top(name, "events", "expected a list of events")
    expect = rec.expect
    if expect is not None:
        if not isinstance(expect, dict):
            raise _top(name, "expect", "expected a mapping")
        check_depth(expect, name, "", "expect")
    ctx = _Ctx(name, firm, securities, accounts, bds)
    out: list[ScenarioEvent] = []
    append = out.append
    prev_at: dt.datetime | None = None
    builders = _BUILDERS
    stamp = _stamp
    for i, s in enumerate(rec.events):
        etype, build = builders[type(s)]
        where = f"events[{i}] ({etype})"
        try:
            at = stamp(s.at.strip())
        except _Bad as e:
            raise ScenarioError(name, where, "at", str(e)) from None
        if prev_at is not None and at < prev_at:
            raise ScenarioError(name, where, "at",
                                f"events out of time order: {at.isoformat()} is before the previous event's "
                                f"{prev_at.isoformat()}")
        prev_at = at
        try:
            event = build(ctx, s, at, where)
        except _Err as e:
            raise ScenarioError(name, where, e.fld, str(e)) from None
        append(ScenarioEvent(i, etype, event))
    return Scenario(name, title, cite, firm, securities, accounts, tuple(out), expect, bds)



# -- a live book's events, one at a time -----------------------------------------------------------------------

_EVENT_DECODER = msgspec.json.Decoder(sch.AnyEvent)


class EventReader:
    """Read a live book's events one at a time, validated exactly as the events of a file appended to the book
    (the same schema, the same checks, ids already used by the book refused). ``forget`` takes back an event the
    engine then refused, so that its id may be used again."""

    def __init__(self, sc: Scenario) -> None:
        self.name = sc.path
        self.ctx = _Ctx(sc.path, sc.firm, sc.securities, sc.accounts, sc.bds
                        or frozenset((sc.firm.id, *sc.firm.clears_for)))
        self.last: dt.datetime | None = None
        self._prev: dt.datetime | None = None
        self.count = len(sc.events)
        for se in sc.events:
            self._remember(se.event)
            self.last = se.event.at

    def _seen(self, e: ev.Event) -> tuple[set[str], str] | None:
        """The ids already used by events of ``e``'s kind, and ``e``'s own (None for a kind without ids)."""
        c = self.ctx
        if isinstance(e, ev.Order):
            return c.seen_orders, e.id
        if isinstance(e, ev.LocateGrant):
            return c.seen_locates, e.id
        if isinstance(e, ev.PreBorrow):
            return c.seen_pre_borrows, e.id
        if isinstance(e, ev.CloseOut):
            return c.seen_close_outs, e.id
        return None

    def _remember(self, e: ev.Event) -> None:
        seen = self._seen(e)
        if seen is not None:
            seen[0].add(seen[1])

    def forget(self, e: ev.Event) -> None:
        """Take back the event read last (the engine refused it): its id is free again, the time is as before."""
        self.last = self._prev
        self.count -= 1
        seen = self._seen(e)
        if seen is not None:
            seen[0].discard(seen[1])

    def read(self, raw: object, where: str = "") -> ev.Event:
        """One event: JSON bytes or an already-decoded mapping in scenario form. Raises ``ScenarioError``
        naming ``where`` and the field."""
        if isinstance(raw, sch.AnyEvent):
            return self._build(raw, where)
        try:
            s = _EVENT_DECODER.decode(raw) if isinstance(raw, bytes) else msgspec.convert(raw, sch.AnyEvent)
        except msgspec.ValidationError as e:
            text = str(e)
            m = _AT_RE.fullmatch(text)
            fld = m.group(2).lstrip(".") if m and m.group(2) else None
            raise ScenarioError(self.name, where, fld or None, m.group(1) if m else text) from None
        except (msgspec.DecodeError, RecursionError) as e:
            raise ScenarioError(self.name, where, None, f"not a JSON event: {e}") from None
        return self._build(s, where)

    def _build(self, s: Any, where: str) -> ev.Event:
        etype, build = _BUILDERS[type(s)]
        where = where or f"event ({etype})"
        try:
            at = _stamp(s.at.strip())
        except _Bad as e:
            raise ScenarioError(self.name, where, "at", str(e)) from None
        if self.last is not None and at < self.last:
            raise ScenarioError(self.name, where, "at", f"events out of time order: {at.isoformat()} is before "
                                                        f"the book's last event ({self.last.isoformat()})")
        try:
            event = build(self.ctx, s, at, where)
        except _Err as e:
            raise ScenarioError(self.name, where, e.fld, str(e)) from None
        self._prev, self.last = self.last, at
        self.count += 1
        return event
