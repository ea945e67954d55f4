"""The scenario adapter (docs/scenarios.md "File", "Event types", "Command line"): bad input exits with status 2 and
one message naming the file, the event's index and the field; YAML and JSON are both accepted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from regsho.adapters.scenario import ScenarioError, load, loads
from regsho.cli.main import app

BASE: dict[str, Any] = {
    "version": 1,
    "name": "adapter test",
    "firm": {"id": "FIRM", "clears_for": ["CORR"]},
    "securities": {"XYZ": {"shares_outstanding": 50_000_000}, "HTB1": {"htb": True}},
    "accounts": {"A1": {"bd": "FIRM", "type": "customer"}, "C1": {"bd": "CORR", "type": "customer"}},
    "events": [
        {"at": "2024-06-03T08:00", "type": "locate", "id": "L1", "account": "A1", "symbol": "XYZ", "qty": 1000},
        {"at": "2024-06-03T09:45", "type": "order", "id": "O1", "account": "A1", "symbol": "XYZ",
         "side": "sell_short", "qty": 600, "locate": "L1"},
        {"at": "2024-06-03T09:46", "type": "fill", "order": "O1", "qty": 600},
        {"at": "2024-06-03T09:50", "type": "order", "id": "O2", "account": "A1", "symbol": "XYZ",
         "side": "sell_short", "qty": 500, "locate": "L1"},
    ],
    "expect": {"decisions": {"O1": "accept", "O2": "reject"}, "reasons": {"O2": ["LOCATE_EXHAUSTED"]}},
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def _write(tmp_path: Path, doc: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return p


def _replay(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["replay", *args])


def _with_event(index: int, *events: dict[str, Any]) -> dict[str, Any]:
    doc = _doc()
    doc["events"][index:index] = copy.deepcopy(list(events))
    return doc


def _with_change(index: int, **fields: Any) -> dict[str, Any]:
    doc = _doc()
    for k, v in fields.items():
        if v is None:
            del doc["events"][index][k]
        else:
            doc["events"][index][k] = v
    return doc


BAD: dict[str, tuple[dict[str, Any], int, str]] = {
    # name: (document, index of the bad event, field named)
    "unknown event type": (_with_event(1, {"at": "2024-06-03T08:30", "type": "short_squeeze", "symbol": "XYZ"}),
                           1, "type"),
    "missing type": (_with_event(1, {"at": "2024-06-03T08:30", "symbol": "XYZ"}), 1, "type"),
    "missing at": (_with_change(1, at=None), 1, "at"),
    "missing qty": (_with_change(1, qty=None), 1, "qty"),
    "missing side": (_with_change(3, side=None), 3, "side"),
    "missing locate id": (_with_change(0, id=None), 0, "id"),
    "unknown symbol": (_with_change(1, symbol="NOPE"), 1, "symbol"),
    "unknown symbol in a list": (_with_event(1, {"at": "2024-06-03T08:30", "type": "etb_list",
                                                 "symbols": ["XYZ", "NOPE"]}), 1, "symbols"),
    "unknown account": (_with_change(3, account="ZZ"), 3, "account"),
    "unknown order": (_with_change(2, order="O9"), 2, "order"),
    "fill before its order": (_with_change(2, order="O2"), 2, "order"),
    "unknown locate": (_with_change(3, locate="L9"), 3, "locate"),
    "unknown broker-dealer": (_with_event(1, {"at": "2024-06-03T08:30", "type": "pre_borrow", "id": "P1",
                                              "bd": "OTHER", "symbol": "XYZ", "qty": 10}), 1, "bd"),
    "out of time order": (_with_change(2, at="2024-06-03T09:44"), 2, "at"),
    "negative quantity": (_with_change(1, qty=-600), 1, "qty"),
    "zero quantity": (_with_change(0, qty=0), 0, "qty"),
    "negative fill": (_with_change(2, qty=-1), 2, "qty"),
    "fractional quantity": (_with_change(1, qty=10.5), 1, "qty"),
    "bad time format": (_with_change(1, at="June 3, 2024 9:45"), 1, "at"),
    "bad time value": (_with_change(1, at="2024-06-03T25:00"), 1, "at"),
    "bad good_for": (_with_change(0, good_for="tomorrow"), 0, "good_for"),
    "unknown field": (_with_change(1, colour="red"), 1, "colour"),
    "unknown side": (_with_change(1, side="sell_long"), 1, "side"),
    "bad price": (_with_change(1, price="cheap"), 1, "price"),
    "negative price": (_with_change(1, price=-1), 1, "price"),
    "bad bool": (_with_change(1, bona_fide_mm="yes please"), 1, "bona_fide_mm"),
    "exempt on a plain short": (_with_change(1, exempt="201(c)"), 1, "exempt"),
    "duplicate order id": (_with_change(3, id="O1"), 3, "id"),
    "duplicate locate id": (_with_event(1, {"at": "2024-06-03T08:00", "type": "locate", "id": "L1",
                                            "account": "A1", "symbol": "XYZ", "qty": 5}), 1, "id"),
    "duplicate pre-borrow id": (_with_event(1, *[{"at": "2024-06-03T08:00", "type": "pre_borrow", "id": "P1",
                                                  "bd": "FIRM", "symbol": "XYZ", "qty": 5}] * 2), 2, "id"),
    "good_for before the grant": (_with_change(0, good_for="2024-06-03T07:00"), 0, "good_for"),
    # Found while replaying (the shell), still reported with index and field.
    "fill of a rejected order": (_with_event(4, {"at": "2024-06-03T09:51", "type": "fill", "order": "O2",
                                                 "qty": 1}), 4, "order"),
    "fill beyond the order": (_with_change(2, qty=601), 2, "qty"),
    "ssr before Rule 201": (_with_event(0, {"at": "2011-02-25T10:00", "type": "ssr", "symbol": "XYZ"}), 0, "at"),
    "ssr on a weekend": (_with_event(0, {"at": "2024-06-01T10:00", "type": "ssr", "symbol": "XYZ"}), 0, "at"),
    "order before Regulation SHO": (
        _doc(events=[{"at": "2004-06-03T09:45", "type": "order", "id": "O1", "account": "A1", "symbol": "XYZ",
                      "side": "buy", "qty": 1}], expect=None), 0, "at"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_event_exits_2_naming_file_event_and_field(tmp_path: Path, case: str) -> None:
    doc, index, fld = BAD[case]
    path = _write(tmp_path, doc)
    result = _replay(str(path))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    msg = result.stderr
    assert str(path) in msg
    assert f"events[{index}]" in msg
    assert f"field '{fld}'" in msg
    assert msg.count("\n") <= 2, msg  # one clear message
    assert result.stdout == ""  # nothing half-replayed is printed
    with pytest.raises(ScenarioError) as e:
        from regsho.app.replay import replay

        replay(load(path))
    assert e.value.field == fld
    assert e.value.where.startswith(f"events[{index}]")
    assert e.value.file == str(path)


def test_the_good_document_is_good(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc())
    result = _replay("--check", str(path))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip().endswith("1 passed, 0 failed")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nevents: [ {at: 2024-06-03T08:00, type: locate\n  - oops: [\n")
    result = _replay(str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert "line" in result.stderr and ("YAML" in result.stderr or "JSON" in result.stderr)
    assert result.stdout == ""


def test_invalid_json(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"version": 1, "events": [}', name="bad.json")
    result = _replay(str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr


@pytest.mark.parametrize(("doc", "fld"), [
    (_doc(version=2), "version"),
    (_doc(firm={}), "firm.id"),
    (_doc(accounts={"A1": {"bd": "FIRM", "type": "hedge_fund"}}), "accounts.A1"),
    (_doc(accounts={"A1": {"bd": "ELSEWHERE", "type": "customer"}}), "accounts.A1.bd"),
    (_doc(accounts={"A1": {"type": "customer"}}), "accounts.A1.bd"),
    (_doc(securities={"XYZ": {"htb": "maybe"}}), "securities.XYZ"),
    (_doc(securities={"XYZ": {"colour": "red"}}), "securities.XYZ.colour"),
    (_doc(events={"not": "a list"}), "events"),
    (_doc(extra=1), "extra"),
])
def test_bad_top_level_fields(tmp_path: Path, doc: dict[str, Any], fld: str) -> None:
    path = _write(tmp_path, doc)
    result = _replay(str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr and f"field '{fld}'" in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = _replay(str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


def test_bad_file_among_good_ones_prints_nothing(tmp_path: Path) -> None:
    good = _write(tmp_path, _doc(), "good.yaml")
    bad = _write(tmp_path, _with_change(1, qty=-5), "bad.yaml")
    result = _replay(str(good), str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "bad.yaml" in result.stderr and "good.yaml" not in result.stderr


def test_json_input(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(_doc()), name="scenario.json")
    result = _replay(str(path))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [(d["order"], d["action"]) for d in out["decisions"]] == [("O1", "accept"), ("O2", "reject")]
    assert out["decisions"][1]["reasons"][0] == "LOCATE_EXHAUSTED"
    check = _replay("--check", str(path))
    assert check.exit_code == 0 and "1 passed, 0 failed" in check.stdout


def test_times_in_new_york_unless_offset_and_bare_dates(tmp_path: Path) -> None:
    doc = _doc(events=[
        {"at": "2024-06-03", "type": "locate", "id": "L1", "account": "A1", "symbol": "XYZ", "qty": 10},
        {"at": "2024-06-03T13:45:00+00:00", "type": "order", "id": "O1", "account": "A1", "symbol": "XYZ",
         "side": "sell_short", "qty": 10, "locate": "L1"},
        {"at": "2024-12-03T09:45:30", "type": "order", "id": "O2", "account": "A1", "symbol": "XYZ",
         "side": "buy", "qty": 10},
    ], expect=None)
    sc = loads(yaml.safe_dump(doc), "mem.yaml")
    assert sc.events[0].event.at.isoformat() == "2024-06-03T00:00:00-04:00"
    assert sc.events[1].event.at.isoformat() == "2024-06-03T09:45:00-04:00"
    assert sc.events[2].event.at.isoformat() == "2024-12-03T09:45:30-05:00"
    # Unquoted YAML timestamps are read the same way (not as YAML timestamps in UTC).
    text = yaml.safe_dump(doc).replace("'2024-12-03T09:45:30'", "2024-12-03T09:45:30")
    assert "at: 2024-12-03T09:45:30\n" in text
    assert loads(text, "mem.yaml").events[2].event.at.isoformat() == "2024-12-03T09:45:30-05:00"


def test_negative_position_is_not_bad_input(tmp_path: Path) -> None:
    doc = _with_event(0, {"at": "2024-06-03T07:00", "type": "position", "account": "A1", "symbol": "XYZ",
                          "qty": -500})
    assert _replay(str(_write(tmp_path, doc))).exit_code == 0


def test_locate_good_for_day_and_time(tmp_path: Path) -> None:
    doc = _doc(events=[
        {"at": "2024-06-03T08:00", "type": "locate", "id": "L1", "account": "A1", "symbol": "XYZ", "qty": 10},
        {"at": "2024-06-03T08:00", "type": "locate", "id": "L2", "account": "A1", "symbol": "XYZ", "qty": 10,
         "good_for": "day", "source": "PB1"},
        {"at": "2024-06-03T08:00", "type": "locate", "id": "L3", "account": "A1", "symbol": "XYZ", "qty": 10,
         "good_for": "2024-06-05T12:00"},
    ], expect=None)
    sc = loads(yaml.safe_dump(doc), "mem.yaml")
    l1, l2, l3 = (se.event for se in sc.events)
    assert (l1.day, l1.good_until.isoformat()) == (True, "2024-06-04T00:00:00-04:00")  # type: ignore[union-attr]
    assert (l2.day, l2.source) == (True, "PB1")  # type: ignore[union-attr]
    assert (l3.day, l3.good_until.isoformat()) == (False, "2024-06-05T12:00:00-04:00")  # type: ignore[union-attr]


def test_error_message_format() -> None:
    doc = _with_change(1, qty=-600)
    with pytest.raises(ScenarioError) as e:
        loads(yaml.safe_dump(doc), "some/file.yaml")
    assert str(e.value).startswith("some/file.yaml: events[1] (order): field 'qty': ")
    assert "positive" in str(e.value)


def test_bad_input_message_is_printed_verbatim(tmp_path: Path) -> None:
    # Text from the file (or its path) that looks like console markup must neither vanish nor crash the command.
    folder = tmp_path / "[red]books"
    folder.mkdir()
    doc = _with_event(1, {"at": "2024-06-03T08:30", "type": "[/bold]"})
    path = _write(folder, doc)
    result = _replay(str(path))
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr
    assert "'[/bold]'" in result.stderr and "events[1]" in result.stderr and "field 'type'" in result.stderr


def test_explain_unknown_order_message_is_printed_verbatim(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc())
    result = CliRunner().invoke(app, ["explain", str(path), "[/x]"])
    assert result.exit_code == 2, result.output
    assert "'[/x]'" in result.stderr and str(path) in result.stderr
