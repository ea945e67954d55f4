"""The ``locate_release`` event in the scenario format (docs/scenarios.md, the event table and convention 33): read
and validated like every event (bad input exits 2 naming file, event and field), written back by the dump in the
same form (the store's test: tests/store/test_locate_release_store.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from regsho.adapters.scenario import parse_document
from regsho.adapters.scenario_dump import dump_event, dump_scenario
from regsho.app.replay import replay
from regsho.cli.main import app
from regsho.core import events as ev

DOC: dict[str, Any] = {
    "version": 1,
    "name": "returned locate",
    "firm": {"id": "FIRM"},
    "securities": {"XYZ": {}},
    "accounts": {"A1": {"bd": "FIRM", "type": "customer"}},
    "events": [
        {"at": "2024-06-03T08:00", "type": "locate", "id": "L1", "account": "A1", "symbol": "XYZ", "qty": 1000},
        {"at": "2024-06-03T09:45", "type": "order", "id": "O1", "account": "A1", "symbol": "XYZ",
         "side": "sell_short", "qty": 600, "locate": "L1"},
        {"at": "2024-06-03T09:50", "type": "locate_release", "id": "L1", "qty": 300, "reason": "not needed",
         "by": "desk-1"},
        {"at": "2024-06-03T09:55", "type": "order", "id": "O2", "account": "A1", "symbol": "XYZ",
         "side": "sell_short", "qty": 200, "locate": "L1"},
    ],
}


def _doc(**release: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    for k, v in release.items():
        if v is None:
            del doc["events"][2][k]
        else:
            doc["events"][2][k] = v
    return doc


def test_read_replayed_and_dumped_back() -> None:
    sc = parse_document(_doc(), "doc.yaml")
    e = sc.events[2].event
    assert e == ev.LocateRelease(e.at, "L1", 300, "not needed", "desk-1", "events[2] (locate_release)")
    assert dump_event(e) == {"at": "2024-06-03T09:50:00-04:00", "type": "locate_release", "id": "L1", "qty": 300,
                             "reason": "not needed", "by": "desk-1"}
    again = parse_document(json.loads(json.dumps(dump_scenario(sc))), "again.json")
    assert [x.event.at for x in again.events] == [x.event.at for x in sc.events]
    assert dump_scenario(again)["events"] == dump_scenario(sc)["events"]
    assert [(d.order, d.action) for d in replay(sc).decisions] == [("O1", "accept"), ("O2", "reject")]
    bare = parse_document(_doc(qty=None, reason=None, by=None), "bare.yaml").events[2].event
    assert bare == ev.LocateRelease(bare.at, "L1", None, "", "", bare.prov)
    assert dump_event(bare) == {"at": "2024-06-03T09:50:00-04:00", "type": "locate_release", "id": "L1"}
    # all that is unused: the 400 left, so the second order is rejected too
    assert [d.action for d in replay(parse_document(_doc(qty=None), "x")).decisions] == ["accept", "reject"]


@pytest.mark.parametrize(("change", "fld", "words"), [
    ({"id": "L9"}, "id", "unknown locate id"),
    ({"qty": 0}, "qty", "positive"),
    ({"qty": 2.5}, "qty", "whole number"),
    ({"qty": 401}, "qty", "exceeds the 400 unused shares"),
    ({"reason": ""}, "reason", "empty"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_bad_release_exits_2_naming_file_event_and_field(tmp_path: Path, change: dict[str, Any], fld: str,
                                                         words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_doc(**change), sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", str(path)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    msg = result.stderr
    assert str(path) in msg and "events[2]" in msg and f"field '{fld}'" in msg and words in msg.lower(), msg
    assert msg.count("\n") <= 2 and result.stdout == ""
