"""Scenario files (docs/scenarios.md, version 1): YAML or JSON, parsed and validated into domain records.

Bad input raises ``ScenarioError`` naming the file, the event's index and the field; nothing is returned for a
file with any error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from regsho.calendars import ET
from regsho.core import events as ev
from regsho.core.events import (
    Account,
    AccountType,
    CertifyBasis,
    CloseOutMethod,
    FailOrigin,
    Firm,
    Security,
    SecurityKind,
    Side,
)

E = TypeVar("E", bound=StrEnum)


class ScenarioError(ValueError):
    """Bad input in a scenario file."""

    def __init__(self, file: str, where: str, field: str | None, message: str) -> None:
        self.file = file
        self.where = where
        self.field = field
        loc = f"{file}: {where}" if where else file
        if field:
            loc += f": field '{field}'"
        super().__init__(f"{loc}: {message}")


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: every time is parsed here, in America/New_York."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


# -- field converters -------------------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def parse_datetime(v: object) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` in America/New_York unless an offset is given; a bare date means 00:00."""
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, dt.date):
        d = dt.datetime.combine(v, dt.time(0))
    elif isinstance(v, str):
        try:
            d = dt.datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Bad(f"{v!r} is not a time of the form YYYY-MM-DDTHH:MM[:SS]") from None
    else:
        raise _Bad(f"expected a time, got {type(v).__name__}")
    if d.tzinfo is None:
        return d.replace(tzinfo=ET)
    return d.astimezone(ET)


def parse_date(v: object) -> dt.date:
    if isinstance(v, dt.datetime):
        raise _Bad("expected a date, got a time")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            raise _Bad(f"{v!r} is not a date of the form YYYY-MM-DD") from None
    raise _Bad(f"expected a date, got {type(v).__name__}")


def _str(v: object) -> str:
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise _Bad(f"expected a string, got {type(v).__name__}")
    s = str(v).strip()
    if not s:
        raise _Bad("must not be empty")
    return s


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise _Bad(f"expected a whole number, got {v!r}")
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
        raise _Bad(f"expected true or false, got {v!r}")
    return v


def _price(v: object) -> Decimal:
    if isinstance(v, bool):
        raise _Bad(f"expected a price, got {v!r}")
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise _Bad(f"expected a price, got {v!r}") from None
    if not d.is_finite() or d <= 0:
        raise _Bad(f"a price must be positive, got {v!r}")
    return d


def _enum(cls: type[E]) -> Callable[[object], E]:
    def conv(v: object) -> E:
        try:
            if not isinstance(v, str):
                raise ValueError(v)
            return cls(v)
        except ValueError:
            raise _Bad(f"{v!r} is not one of: {', '.join(m.value for m in cls)}") from None

    return conv


def _symbols(v: object) -> frozenset[str]:
    if not isinstance(v, list):
        raise _Bad("expected a list of symbols")
    return frozenset(_str(x) for x in v)


def _strs(v: object) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _Bad("expected a list of strings")
    return tuple(_str(x) for x in v)


def _good_for(v: object) -> object:
    if v == "day":
        return "day"
    return parse_datetime(v)


Converter = Callable[[object], Any]

# type -> {field: (required, converter)}
SCHEMAS: dict[str, dict[str, tuple[bool, Converter]]] = {
    "etb_list": {"symbols": (True, _symbols)},
    "htb_list": {"symbols": (True, _symbols)},
    "threshold_list": {"symbols": (True, _symbols)},
    "ssr": {"symbol": (True, _str)},
    "locate": {"id": (True, _str), "account": (True, _str), "symbol": (True, _str), "qty": (True, _qty),
               "source": (False, _str), "good_for": (False, _good_for)},
    "pre_borrow": {"id": (True, _str), "bd": (True, _str), "symbol": (True, _str), "qty": (True, _qty)},
    "position": {"account": (True, _str), "symbol": (True, _str), "qty": (True, _int)},
    "mm_status": {"account": (True, _str), "symbol": (True, _str), "bona_fide": (True, _bool)},
    "mm_verdict": {"account": (True, _str), "symbol": (True, _str), "start": (True, parse_datetime),
                   "end": (True, parse_datetime), "bona_fide": (True, _bool), "findings": (False, _strs),
                   "cites": (False, _strs), "source": (False, _str)},
    "order": {"id": (True, _str), "account": (True, _str), "symbol": (True, _str), "side": (True, _enum(Side)),
              "qty": (True, _qty), "price": (False, _price), "nbb": (False, _price), "locate": (False, _str),
              "bona_fide_mm": (False, _bool), "exempt": (False, _str)},
    "fill": {"order": (True, _str), "qty": (True, _qty), "price": (False, _price)},
    "cancel": {"order": (True, _str)},
    "pre_borrow_required": {"bd": (True, _str), "symbol": (True, _str), "rule": (False, _str),
                            "until": (False, parse_datetime)},
    "fail": {"symbol": (True, _str), "qty": (True, _qty), "settlement_date": (True, parse_date),
             "origin": (True, _enum(FailOrigin)), "trade_date": (False, parse_date), "bd": (False, _str),
             "options_created": (False, parse_date)},
    "cns": {"symbol": (True, _str), "date": (True, parse_date), "fail_qty": (True, _nonneg)},
    "close_out": {"id": (True, _str), "symbol": (True, _str), "qty": (True, _qty),
                  "method": (True, _enum(CloseOutMethod)), "bd": (False, _str), "irrevocable": (False, _bool),
                  "counterparty_delivers": (False, _bool), "net_flat_or_long": (False, _bool)},
    "allocate": {"symbol": (True, _str), "qty": (True, _qty), "to": (True, _str)},
    "certify": {"bd": (True, _str), "symbol": (True, _str), "date": (True, parse_date),
                "basis": (True, _enum(CertifyBasis))},
    "attestation": {"symbol": (True, _str), "qty": (True, _qty), "settlement_date": (True, parse_date)},
}

#: Event types of the close-out engine (docs/scenarios.md); the rest drive the pre-trade gate.
CLOSE_OUT_TYPES = frozenset({"fail", "cns", "close_out", "allocate", "certify", "attestation"})


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
    """Read and validate a scenario file."""
    return _parse(read_document(path), str(path))


def loads(text: str, name: str = "<scenario>") -> Scenario:
    """Validate a scenario given as YAML or JSON text."""
    return _parse(_yaml(text, name), name)


def _yaml(text: str, name: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ScenarioError(name, where, None, f"not valid YAML or JSON: {getattr(e, 'problem', e)}") from None


def _top(name: str, fld: str, message: str) -> ScenarioError:
    return ScenarioError(name, "", fld, message)


def _mapping(v: object, name: str, fld: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _top(name, fld, "expected a mapping")
    return v


def _parse(doc: object, name: str) -> Scenario:
    if not isinstance(doc, dict):
        raise ScenarioError(name, "", None, "a scenario is a mapping with version, firm, securities, accounts, "
                                            "events")
    known_top = {"version", "name", "cite", "firm", "securities", "accounts", "events", "expect"}
    for k in doc:
        if k not in known_top:
            raise _top(name, str(k), f"unknown top-level field (known: {', '.join(sorted(known_top))})")
    if doc.get("version") != 1:
        raise _top(name, "version", f"only version 1 is supported, got {doc.get('version')!r}")
    title = doc.get("name", Path(name).stem)
    if not isinstance(title, str):
        raise _top(name, "name", "expected a string")
    cite_raw = doc.get("cite", [])
    if not isinstance(cite_raw, list) or not all(isinstance(x, str) for x in cite_raw):
        raise _top(name, "cite", "expected a list of strings")
    firm_raw = _mapping(doc.get("firm"), name, "firm")
    if "id" not in firm_raw:
        raise _top(name, "firm.id", "the firm (the clearing participant) needs an id")
    clears_for_raw = firm_raw.get("clears_for", [])
    if not isinstance(clears_for_raw, list):
        raise _top(name, "firm.clears_for", "expected a list of broker-dealer ids")
    try:
        firm = Firm(_str(firm_raw["id"]), tuple(_str(x) for x in clears_for_raw))
    except _Bad as e:
        raise _top(name, "firm", str(e)) from None
    for k in firm_raw:
        if k not in ("id", "clears_for"):
            raise _top(name, f"firm.{k}", "unknown field")
    bds = frozenset((firm.id, *firm.clears_for))

    securities: dict[str, Security] = {}
    for sym, spec in _mapping(doc.get("securities"), name, "securities").items():
        s = _mapping(spec, name, f"securities.{sym}")
        for k in s:
            if k not in ("shares_outstanding", "kind", "htb"):
                raise _top(name, f"securities.{sym}.{k}", "unknown field (known: shares_outstanding, kind, htb)")
        try:
            tso = _qty(s["shares_outstanding"]) if "shares_outstanding" in s else None
            kind = _enum(SecurityKind)(s["kind"]) if "kind" in s else SecurityKind.STOCK
            htb = _bool(s["htb"]) if "htb" in s else False
        except _Bad as e:
            raise _top(name, f"securities.{sym}", str(e)) from None
        securities[str(sym)] = Security(str(sym), kind, htb, tso)

    accounts: dict[str, Account] = {}
    for aid, spec in _mapping(doc.get("accounts"), name, "accounts").items():
        a = _mapping(spec, name, f"accounts.{aid}")
        for k in a:
            if k not in ("bd", "type"):
                raise _top(name, f"accounts.{aid}.{k}", "unknown field (known: bd, type)")
        for req in ("bd", "type"):
            if req not in a:
                raise _top(name, f"accounts.{aid}.{req}", "missing field")
        try:
            bd = _str(a["bd"])
            atype = _enum(AccountType)(a["type"])
        except _Bad as e:
            raise _top(name, f"accounts.{aid}", str(e)) from None
        if bd not in bds:
            raise _top(name, f"accounts.{aid}.bd",
                       f"{bd} is neither the firm {firm.id} nor a broker-dealer it clears for")
        accounts[str(aid)] = Account(str(aid), bd, atype)

    raw_events = doc.get("events")
    if not isinstance(raw_events, list):
        raise _top(name, "events", "expected a list of events")
    expect = doc.get("expect")
    if expect is not None and not isinstance(expect, dict):
        raise _top(name, "expect", "expected a mapping")

    out: list[ScenarioEvent] = []
    prev_at: dt.datetime | None = None
    seen_locates: dict[str, str] = {}
    seen_orders: set[str] = set()
    seen_ids: dict[str, set[str]] = {"pre_borrow": set(), "close_out": set()}
    for i, raw in enumerate(raw_events):
        where = f"events[{i}]"
        if not isinstance(raw, dict):
            raise ScenarioError(name, where, None, "an event is a mapping with 'at' and 'type'")
        etype = raw.get("type")
        if etype is None:
            raise ScenarioError(name, where, "type", "missing field")
        if etype not in SCHEMAS:
            raise ScenarioError(name, where, "type",
                                f"unknown event type {etype!r} (known: {', '.join(sorted(SCHEMAS))})")
        where = f"events[{i}] ({etype})"
        if "at" not in raw:
            raise ScenarioError(name, where, "at", "missing field")
        try:
            at = parse_datetime(raw["at"])
        except _Bad as e:
            raise ScenarioError(name, where, "at", str(e)) from None
        if prev_at is not None and at < prev_at:
            raise ScenarioError(name, where, "at",
                                f"events out of time order: {at.isoformat()} is before the previous event's "
                                f"{prev_at.isoformat()}")
        prev_at = at
        schema = SCHEMAS[etype]
        values: dict[str, Any] = {}
        for k in raw:
            if k not in schema and k not in ("at", "type"):
                raise ScenarioError(name, where, str(k),
                                    f"unknown field for {etype} (known: {', '.join(sorted(schema))})")
        for fld, (required, conv) in schema.items():
            if fld not in raw or raw[fld] is None:
                if required:
                    raise ScenarioError(name, where, fld, "missing field")
                continue
            try:
                values[fld] = conv(raw[fld])
            except _Bad as e:
                raise ScenarioError(name, where, fld, str(e)) from None

        def need(fld: str, ok: bool, message: str, where: str = where) -> None:
            if not ok:
                raise ScenarioError(name, where, fld, message)

        for fld in ("symbol",):
            if fld in values:
                need(fld, values[fld] in securities, f"unknown symbol {values[fld]} (declare it under securities)")
        if "symbols" in values:
            unknown = sorted(values["symbols"] - securities.keys())
            need("symbols", not unknown, f"unknown symbol(s) {', '.join(unknown)} (declare them under securities)")
        if "account" in values:
            need("account", values["account"] in accounts,
                 f"unknown account {values['account']} (declare it under accounts)")
        for fld in ("bd", "to"):
            if fld in values:
                need(fld, values[fld] in bds,
                     f"unknown broker-dealer {values[fld]} (the firm {firm.id} or one it clears for)")
        if etype == "allocate":
            need("to", values["to"] in firm.clears_for,
                 f"{values['to']} is not a broker-dealer the firm clears for")
        event: ev.Event
        if etype == "etb_list":
            event = ev.EtbList(at, values["symbols"], where)
        elif etype == "htb_list":
            event = ev.HtbList(at, values["symbols"], where)
        elif etype == "threshold_list":
            event = ev.ThresholdList(at, values["symbols"], where)
        elif etype == "ssr":
            event = ev.SsrTrigger(at, values["symbol"], where)
        elif etype == "locate":
            need("id", values["id"] not in seen_locates, f"locate id {values['id']} is already used")
            gf = values.get("good_for", "day")
            if gf == "day":
                until = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(0), tzinfo=ET)
                day = True
            else:
                assert isinstance(gf, dt.datetime)
                need("good_for", gf > at, "a locate must be good until a time after it is granted")
                until, day = gf, False
            seen_locates[values["id"]] = values["account"]
            event = ev.LocateGrant(at, values["id"], values["account"], values["symbol"], values["qty"], until,
                                   day, values.get("source"), where)
        elif etype == "pre_borrow":
            need("id", values["id"] not in seen_ids["pre_borrow"], f"pre-borrow id {values['id']} is already used")
            seen_ids["pre_borrow"].add(values["id"])
            event = ev.PreBorrow(at, values["id"], values["bd"], values["symbol"], values["qty"], where)
        elif etype == "position":
            event = ev.PositionSet(at, values["account"], values["symbol"], values["qty"], where)
        elif etype == "mm_status":
            event = ev.MmStatus(at, values["account"], values["symbol"], values["bona_fide"], where)
        elif etype == "mm_verdict":
            need("end", values["end"] > values["start"], "a verdict window must end after it starts")
            event = ev.MmVerdict(at, values["account"], values["symbol"], values["start"], values["end"],
                                 values["bona_fide"], values.get("findings", ()), values.get("cites", ()),
                                 values.get("source", ""), where)
        elif etype == "order":
            need("id", values["id"] not in seen_orders, f"order id {values['id']} is already used")
            seen_orders.add(values["id"])
            if "locate" in values:
                need("locate", values["locate"] in seen_locates,
                     f"unknown locate id {values['locate']} (no earlier locate event grants it)")
            side = values["side"]
            if side is not Side.SELL_SHORT_EXEMPT:
                need("exempt", "exempt" not in values, "only a sell_short_exempt order names an exempt provision")
            event = ev.Order(at, values["id"], values["account"], values["symbol"], side, values["qty"],
                             values.get("price"), values.get("nbb"), values.get("locate"),
                             values.get("bona_fide_mm", False), values.get("exempt"), where)
        elif etype == "fill":
            need("order", values["order"] in seen_orders, f"unknown order id {values['order']}")
            event = ev.Fill(at, values["order"], values["qty"], values.get("price"), where)
        elif etype == "cancel":
            need("order", values["order"] in seen_orders, f"unknown order id {values['order']}")
            event = ev.Cancel(at, values["order"], where)
        elif etype == "pre_borrow_required":
            until_v = values.get("until")
            if until_v is not None:
                need("until", until_v > at, "a pre-borrow period must end after it starts")
            event = ev.PreBorrowRequired(at, values["bd"], values["symbol"], values.get("rule", "204(b)"),
                                         until_v, where)
        elif etype == "fail":
            if values["origin"] is FailOrigin.DEEMED_TO_OWN:
                need("trade_date", "trade_date" in values, "a deemed_to_own fail needs its trade_date")
            if "trade_date" in values:
                need("trade_date", values["trade_date"] <= values["settlement_date"],
                     "the trade date must not be after the settlement date")
            if "options_created" in values:
                need("options_created", values["origin"] is FailOrigin.OPTIONS_MM_HEDGE,
                     "only an options_mm_hedge fail names when its options were created")
            event = ev.Fail(at, values["symbol"], values["qty"], values["settlement_date"], values["origin"],
                            values.get("trade_date"), values.get("bd"), values.get("options_created"), where)
        elif etype == "cns":
            event = ev.Cns(at, values["symbol"], values["date"], values["fail_qty"], where)
        elif etype == "close_out":
            need("id", values["id"] not in seen_ids["close_out"], f"close-out id {values['id']} is already used")
            seen_ids["close_out"].add(values["id"])
            event = ev.CloseOut(at, values["id"], values["symbol"], values["qty"], values["method"],
                                values.get("bd"), values.get("irrevocable", True),
                                values.get("counterparty_delivers", True), values.get("net_flat_or_long", False),
                                where)
        elif etype == "allocate":
            event = ev.Allocate(at, values["symbol"], values["qty"], values["to"], where)
        elif etype == "certify":
            event = ev.Certify(at, values["bd"], values["symbol"], values["date"], values["basis"], where)
        elif etype == "attestation":
            event = ev.Attestation(at, values["symbol"], values["qty"], values["settlement_date"], where)
        else:  # pragma: no cover - SCHEMAS and this chain are kept in step
            raise AssertionError(etype)
        out.append(ScenarioEvent(i, etype, event))

    return Scenario(name, title, tuple(cite_raw), firm, securities, accounts, tuple(out), expect, bds)


#: Public name for building a scenario from an already-loaded document (used by the store).
parse_document = _parse


def read_document(path: str | Path) -> dict[str, Any]:
    """Read a scenario file's YAML/JSON document without validating its events (the store validates a file
    together with the book it is appended to)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(name, "", None, f"cannot read the file: {e.strerror or e}") from None
    doc = _yaml(text, name)
    if not isinstance(doc, dict):
        raise ScenarioError(name, "", None, "a scenario is a mapping with version, firm, securities, accounts, "
                                            "events")
    return doc
