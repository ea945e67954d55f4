"""A book holding a ``locate_release`` event: imported again (the book exported), the release is recorded once,
and the store's replay applies it (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adapters.test_locate_release_event import DOC

from regsho.adapters.scenario_dump import dump_scenario
from regsho.store import Store


def test_the_store_records_a_release_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "day.json"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    store.import_file(path, by="desk")
    # the same events in another file (the book exported): nothing new, the release included
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(dump_scenario(store.load_book("FIRM"))), encoding="utf-8")
    s = store.import_file(exported)
    assert (s.events, s.skipped) == (0, 4)
    releases = [x for x in store.history("FIRM") if x["kind"] == "event" and x["type"] == "locate_release"]
    assert [x["body"]["qty"] for x in releases] == [300]
    res = store.replay_book("FIRM")
    assert res.engine is not None and res.engine.gate.snap.locates["L1"].released == 300
    assert store.verify().ok
