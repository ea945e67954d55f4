"""The engine's records as JSON-ready dictionaries: the one place where results become JSON (docs/scenarios.md,
"Output"; the project adds keys, never changes the meaning of the contract's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from regsho.core.records import Decision, Finding, Notice, Obligation, ParamValue, PreBorrowPeriod


def _iso(t: dt.datetime | dt.date | None) -> str | None:
    return t.isoformat() if t is not None else None


def _timedelta(v: dt.timedelta) -> str:
    secs = int(v.total_seconds())
    return f"{secs // 3600}h" if secs % 3600 == 0 else str(v)


def _sequence(v: tuple[object, ...] | list[object]) -> list[object]:
    return [jsonable(x) for x in v]


def _enum(v: Enum) -> object:
    return v.value


def _kind(v: object) -> Callable[[Any], object] | None:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _isoformat
    if isinstance(v, dt.timedelta):
        return _timedelta
    if isinstance(v, tuple | list):
        return _sequence
    if isinstance(v, Enum):
        # each member's value read once (an enum's ``.value`` is a slow descriptor, met in every decision)
        values: dict[Enum, object] = {m: m.value for m in type(v)}
        return lambda m: values[m] if m in values else _enum(m)
    if isinstance(v, Decimal):
        return str
    return None


def _isoformat(v: dt.datetime | dt.date | dt.time) -> str:
    return v.isoformat()


_PLAIN: frozenset[type] = frozenset((str, int, bool, float, type(None)))
#: the conversion per exact type, filled as types are met (facts hold a handful of types, read millions of times)
_BY_TYPE: dict[type, Callable[[Any], object]] = {}


def jsonable(v: object) -> object:
    t = type(v)
    if t in _PLAIN:
        return v
    conv = _BY_TYPE.get(t)
    if conv is None:
        kind = _kind(v)
        if kind is None:  # a subclass of a plain type stays itself; anything else is written as text
            return v if isinstance(v, bool | int | float | str) else str(v)
        conv = _BY_TYPE[t] = kind
    return conv(v)


def params_json(ps: tuple[ParamValue, ...]) -> dict[str, Any]:
    return {p.name: {"value": jsonable(p.value), "effective": p.effective.isoformat(), "cite": p.cite}
            for p in ps}


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "order": d.order,
        "at": d.at.isoformat(),
        "action": d.action,
        "reasons": list(d.reasons),
        "cites": list(d.cites),
        "locate": d.locate,
        # plain values (most facts) are taken as they are without a call
        "facts": {k: v if type(v) in _PLAIN else jsonable(v) for k, v in d.facts},
        "params": params_json(d.params) if d.params else {},
        "details": dict(d.details) if d.details else {},
    }


def obligation_json(o: Obligation) -> dict[str, Any]:
    return {
        "id": o.id, "symbol": o.symbol, "bd": o.bd, "qty": o.qty, "rule": o.rule,
        "deadline": o.deadline.isoformat(), "cure": str(o.cure), "status": str(o.status),
        "closed_at": _iso(o.closed_at), "settlement_date": o.settlement_date.isoformat(),
        "trade_date": _iso(o.trade_date), "origin": o.origin,
        "cured": [{"at": c.at.isoformat(), "qty": c.qty, "by": c.by} for c in o.cured],
        "missed_qty": o.missed_qty, "allocated_from": o.allocated_from, "credit": o.credit,
        "cites": list(o.cites), "params": params_json(o.params),
    }


def period_json(p: PreBorrowPeriod) -> dict[str, Any]:
    return {"id": p.id, "symbol": p.symbol, "bd": p.bd, "rule": p.rule, "from": p.start.isoformat(),
            "until": _iso(p.until), "owner": p.owner, "obligations": list(p.obligations), "releases": p.releases,
            "cites": list(p.cites)}


def notice_json(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "to": n.to, "sender": n.sender, "symbol": n.symbol, "kind": n.kind, "at": n.at.isoformat(),
            "rule": n.rule, "period": n.period, "obligations": list(n.obligations), "cites": list(n.cites)}


def finding_json(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "at": f.at.isoformat(), "symbol": f.symbol, "bd": f.bd, "detail": f.detail,
            "cites": list(f.cites), "obligation": f.obligation, "facts": {k: jsonable(v) for k, v in f.facts},
            "params": params_json(f.params)}
