"""``regsho replay --check``: compare a scenario's ``expect`` block with the replay's result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from regsho.adapters import results_json as rj
from regsho.adapters.scenario import _Bad, parse_datetime
from regsho.app.replay import ReplayResult

_TIME_FIELDS = frozenset({"deadline", "from", "until", "at", "closed_at"})


@dataclass(frozen=True, slots=True)
class Mismatch:
    file: str
    path: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.file}: expect.{self.path}: expected {self.expected!r}, actual {self.actual!r}"


def _same_instant(expected: object, actual: object) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    try:
        return parse_datetime(expected) == parse_datetime(actual)
    except _Bad:
        return False


def _field_matches(key: str, expected: object, actual: object) -> bool:
    if key in _TIME_FIELDS:
        return _same_instant(expected, actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return str(expected) == str(actual) if expected is not None and actual is not None else expected == actual


def _entry_matches(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    return all(k in actual and _field_matches(k, v, actual[k]) for k, v in expected.items())


def check(result: ReplayResult) -> list[Mismatch]:
    """Every expectation that does not hold, as a Mismatch. An empty list means the scenario passed."""
    sc = result.scenario
    expect = sc.expect or {}
    out: list[Mismatch] = []
    f = sc.path
    for order_id, action in (expect.get("decisions") or {}).items():
        d = result.decision(str(order_id))
        actual = d.action if d else None
        if actual != action:
            out.append(Mismatch(f, f"decisions.{order_id}", action, actual))
    for order_id, codes in (expect.get("reasons") or {}).items():
        d = result.decision(str(order_id))
        got = list(d.reasons) if d else None
        for code in codes or []:
            if got is None or code not in got:
                out.append(Mismatch(f, f"reasons.{order_id}", code, got))
    actual_lists: dict[str, list[dict[str, Any]]] = {
        "obligations": [rj.obligation_json(o) for o in result.obligations],
        "pre_borrow": [rj.period_json(p) for p in result.pre_borrow],
        "notices": [rj.notice_json(n) for n in result.notices],
    }
    for key in ("obligations", "pre_borrow", "notices"):
        actual_list = actual_lists[key]
        for i, entry in enumerate(expect.get(key) or []):
            if not isinstance(entry, Mapping):
                out.append(Mismatch(f, f"{key}[{i}]", entry, "an expectation entry must be a mapping"))
                continue
            if not any(_entry_matches(entry, a) for a in actual_list):
                out.append(Mismatch(f, f"{key}[{i}]", dict(entry), actual_list))
    for code in expect.get("findings") or []:
        codes = [x.code for x in result.findings]
        if code not in codes:
            out.append(Mismatch(f, "findings", code, codes))
    for code in expect.get("no_findings") or []:
        codes = [x.code for x in result.findings]
        if code in codes:
            out.append(Mismatch(f, "no_findings", code, codes))
    absent = expect.get("absent") or {}
    if not isinstance(absent, Mapping):
        out.append(Mismatch(f, "absent", "a mapping of obligations/pre_borrow/notices to entries", absent))
        absent = {}
    for key, entries in absent.items():
        if key not in actual_lists:
            out.append(Mismatch(f, f"absent.{key}", "obligations, pre_borrow or notices", key))
            continue
        for i, entry in enumerate(entries or []):
            if not isinstance(entry, Mapping):
                out.append(Mismatch(f, f"absent.{key}[{i}]", entry, "an expectation entry must be a mapping"))
                continue
            hits = [a for a in actual_lists[key] if _entry_matches(entry, a)]
            if hits:
                out.append(Mismatch(f, f"absent.{key}[{i}]", f"no entry matching {dict(entry)}", hits))
    if expect.get("no_pre_borrow") and result.pre_borrow:
        out.append(Mismatch(f, "no_pre_borrow", [], actual_lists["pre_borrow"]))
    if expect.get("no_obligations") and result.obligations:
        out.append(Mismatch(f, "no_obligations", [], actual_lists["obligations"]))
    known = {"decisions", "reasons", "obligations", "pre_borrow", "notices", "findings", "no_findings",
             "no_pre_borrow", "no_obligations", "absent"}
    for k in expect:
        if k not in known:
            out.append(Mismatch(f, str(k), "a known expectation", "unknown expectation key"))
    return out


