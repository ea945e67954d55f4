"""A year of a clearing firm's history in the store (fails, CNS, close-outs, allocations, certifications and
orders, built by the engine): after the first start has taken a snapshot, a restart loads the book in under 5
seconds of the process's own time (processor seconds: the machine running the tests is shared, so wall time
measures the neighbours too; both are printed), from the snapshot and not by replaying the year."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from tests.service.server import Server

from regsho.adapters.results_json import decision_json
from regsho.adapters.scenario import Scenario
from regsho.adapters.scenario_dump import dump_event, dump_header
from regsho.app.replay import replay
from regsho.bench.closeouts import build
from regsho.service import LiveService
from regsho.store import Store
from regsho.store.keys import add_key
from regsho.store.live import LiveLog, Record, body_json


def _write_year(db: str, sc: Scenario) -> int:
    """The year's records as the live writer writes them (events in scenario form, decisions as made)."""
    st = Store(db)
    st.migrate()
    st.import_document({**dump_header(sc), "events": []}, "year header", "CLEAR", by="setup")
    result = replay(sc, finish=False)
    by_order = {d.order: d for d in result.decisions}
    live = LiveLog(st)
    point = live.verified_tail()
    records: list[Record] = []
    for se in sc.events:
        body = dump_event(se.event)
        records.append(Record("event", body["type"], body["at"], "history", body_json(body)))
        if body["type"] == "order":
            d = by_order[body["id"]]
            records.append(Record("decision", d.action, d.at.isoformat(), f"order {d.order}",
                                  body_json(decision_json(d))))
        if len(records) >= 20_000:
            point = live.append("CLEAR", point, records).point
            records = []
    live.append("CLEAR", point, records)
    add_key(st, "ops", "operations", "setup")
    st.close()
    return len(sc.events)


def test_a_year_restarts_in_under_5_seconds(tmp_path: Path) -> None:
    db = str(tmp_path / "year.db")
    sc = build(year=2025, fails_per_day=100, orders_per_day=100, securities=500, seed=2)
    n = _write_year(db, sc)
    assert n > 80_000
    first = LiveService(db)
    first._open()  # the first start replays the whole year and takes a snapshot
    loaded = first.books["CLEAR"].loaded
    assert loaded is not None and loaded.how.startswith("full replay")
    first.store.close()
    srv2 = Server(db)
    t0 = time.monotonic()
    ready = srv2.start()
    info = httpx.get(srv2.base + "/ready").json()["books"]["CLEAR"]
    srv2.stop()
    print(f"\n{n} events; process start to ready {ready:.2f} s (wall {time.monotonic() - t0:.2f} s); the book "
          f"loaded in {info['load_seconds']:.2f} s ({info['load_cpu_seconds']:.2f} s of processor time) from "
          f"{info['loaded']}")
    assert info["loaded"].startswith("snapshot at record")
    assert info["events"] == n
    assert info["load_cpu_seconds"] < 5.0
