"""The inverse of the scenario adapter: domain records back to scenario-format dictionaries.

The store keeps events in this canonical form, so that what is read back goes through the same validation as a
file does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from regsho.adapters.scenario import Scenario
from regsho.core import events as ev

_TYPE_OF: dict[type, str] = {
    ev.EtbList: "etb_list",
    ev.HtbList: "htb_list",
    ev.ThresholdList: "threshold_list",
    ev.SsrTrigger: "ssr",
    ev.LocateGrant: "locate",
    ev.LocateRelease: "locate_release",
    ev.PreBorrow: "pre_borrow",
    ev.PositionSet: "position",
    ev.MmStatus: "mm_status",
    ev.MmVerdict: "mm_verdict",
    ev.Order: "order",
    ev.Fill: "fill",
    ev.Cancel: "cancel",
    ev.PreBorrowRequired: "pre_borrow_required",
    ev.Fail: "fail",
    ev.Cns: "cns",
    ev.CloseOut: "close_out",
    ev.Allocate: "allocate",
    ev.Certify: "certify",
    ev.Attestation: "attestation",
    ev.GateSettings: "gate_settings",
}

# Fields whose default makes them optional in the file; a value equal to the default is left out.
_DEFAULTS: dict[str, object] = {
    "bona_fide_mm": False,
    "irrevocable": True,
    "counterparty_delivers": True,
    "net_flat_or_long": False,
    "findings": (),
    "cites": (),
    "source": "",
    "reason": "",
    "by": "",
}


def _value(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, StrEnum):
        return v.value
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, frozenset):
        return sorted(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def event_type(e: ev.Event) -> str:
    return _TYPE_OF[type(e)]


def dump_event(e: ev.Event) -> dict[str, Any]:
    """A scenario-format dictionary for one event (``at`` and ``type`` first)."""
    out: dict[str, Any] = {"at": e.at.isoformat(), "type": event_type(e)}
    if isinstance(e, ev.GateSettings):
        age = e.reference_max_age
        out["reference_max_age"] = None if age is None else f"{int(age.total_seconds())}s"
        return out
    if isinstance(e, ev.LocateGrant):
        out.update(id=e.id, account=e.account, symbol=e.symbol, qty=e.qty)
        if e.source is not None:
            out["source"] = e.source
        out["good_for"] = "day" if e.day else e.good_until.isoformat()
        return out
    for name in e.__dataclass_fields__:
        if name in ("at", "prov"):
            continue
        v = getattr(e, name)
        if v is None or (name in _DEFAULTS and v == _DEFAULTS[name]):
            continue
        out[name] = _value(v)
    return out


def dump_header(sc: Scenario) -> dict[str, Any]:
    """Everything of a scenario but its events and expectations."""
    firm: dict[str, Any] = {"id": sc.firm.id}
    if sc.firm.clears_for:
        firm["clears_for"] = list(sc.firm.clears_for)
    for key in ("name", "crd", "contact", "signatory"):
        if getattr(sc.firm, key):
            firm[key] = getattr(sc.firm, key)
    securities: dict[str, Any] = {}
    for sym, s in sc.securities.items():
        spec: dict[str, Any] = {}
        if s.shares_outstanding is not None:
            spec["shares_outstanding"] = s.shares_outstanding
        if s.kind.value != "stock":
            spec["kind"] = s.kind.value
        if s.htb:
            spec["htb"] = True
        if s.name:
            spec["name"] = s.name
        if s.cusip:
            spec["cusip"] = s.cusip
        securities[sym] = spec
    accounts = {a.id: {"bd": a.bd, "type": a.type.value} for a in sc.accounts.values()}
    return {"version": 1, "name": sc.name, "cite": list(sc.cite), "firm": firm, "securities": securities,
            "accounts": accounts}


def dump_scenario(sc: Scenario) -> dict[str, Any]:
    doc = dump_header(sc)
    doc["events"] = [dump_event(se.event) for se in sc.events]
    if sc.expect:
        doc["expect"] = dict(sc.expect)
    return doc
