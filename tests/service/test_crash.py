"""SIGKILL at random points of a scripted day: after each restart the client retries what it had not been answered
(same idempotency key). At the end the store holds every event once, every decision a client received is in it,
and the books equal those of an uninterrupted run of the same events."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import random
import signal
import threading
import time
from typing import Any

import httpx
from tests.service.conftest import HEADER, make_keys
from tests.service.server import Server

from regsho.adapters.scenario import parse_document
from regsho.adapters.scenario_dump import dump_event
from regsho.app.replay import book_of, replay
from regsho.calendars import ET
from regsho.core import events as ev
from regsho.engine.book import BookEngine
from regsho.engine.errors import EngineInputError
from regsho.store import Store


def scripted_day(seed: int = 5, orders: int = 100) -> list[dict[str, Any]]:
    """Lists, locates, then orders with fills of some accepted ones and two locates returned to the desk, decided
    by an engine as the script is made (so that every fill names an order that was accepted)."""
    rng = random.Random(seed)
    sc = parse_document({**HEADER, "events": []}, "header")
    eng = BookEngine(book_of(sc))
    t = dt.datetime(2025, 3, 10, 6, 30, tzinfo=ET)
    out: list[ev.Event] = [ev.ThresholdList(t, frozenset()), ev.HtbList(t, frozenset({"BRIK"})),
                           ev.EtbList(t, frozenset({"NOVA"}))]
    for i, (acct, sym, qty) in enumerate([("HF1", "KELP", 20_000), ("HF2", "KELP", 8_000), ("HF1", "BRIK", 3_000),
                                          ("HF2", "BRIK", 2_000)]):
        out.append(ev.LocateGrant(t + dt.timedelta(minutes=30 + i), f"L{i}", acct, sym, qty,
                                  dt.datetime(2025, 3, 11, tzinfo=ET), True))
    for e in out:
        eng.apply(e)
    t = dt.datetime(2025, 3, 10, 9, 30, tzinfo=ET)
    for n in range(orders):
        t += dt.timedelta(seconds=rng.randint(1, 90))
        if n in (orders // 3, 2 * orders // 3):  # the desk takes back unused shares of a locate
            rel = ev.LocateRelease(t, "L0" if n == orders // 3 else "L3", 2000 if n == orders // 3 else None,
                                   "re-allocated", "admin-1 (admin)")  # the key the script is sent with
            with contextlib.suppress(EngineInputError):
                eng.apply(rel)
                out.append(rel)
        side = rng.choice([ev.Side.SELL_SHORT] * 3 + [ev.Side.BUY])
        o = ev.Order(t, f"O{n}", rng.choice(["HF1", "HF2"]), rng.choice(["KELP", "BRIK", "NOVA"]), side,
                     rng.randint(1, 40) * 100, decimal.Decimal("12.50"))
        out.append(o)
        d = eng.apply(o).decisions[0]
        if d.accepted and rng.random() < 0.5:
            f = ev.Fill(t, o.id, o.qty, o.price)
            eng.apply(f)
            out.append(f)
    return [dump_event(e) for e in out]


def test_sigkill_at_random_points(db_url: str) -> None:
    """Over SQLite and over PostgreSQL (``db_url``: a fresh database of the session's server)."""
    db = db_url
    keys = make_keys(db)
    script = scripted_day()
    assert sum(e["type"] == "locate_release" for e in script) == 2
    rng = random.Random(11)
    kills = sorted(rng.sample(range(10, len(script) - 5), 2))
    srv = Server(db, None, "--snapshot-every", "40")
    srv.start()
    answers: dict[int, dict[str, Any]] = {}
    restarts = 0
    headers = {"X-API-Key": keys["admin"]}
    i = 0
    client = httpx.Client(timeout=10)
    t0 = time.monotonic()
    while i < len(script):
        if kills and i == kills[0]:
            kills.pop(0)
            # kill while this request is in flight: before, during or after its commit
            delay = rng.uniform(0, 0.02)
            threading.Timer(delay, lambda: srv.proc.send_signal(signal.SIGKILL) if srv.proc else None).start()
        try:
            r = client.post(srv.base + "/v1/events", json=script[i], timeout=10,
                           headers={**headers, "Idempotency-Key": f"crash-{i}"})
        except httpx.HTTPError:
            client.close()
            client = httpx.Client(timeout=10)
            srv.kill()
            print(f"request {i}: killed at {time.monotonic() - t0:.1f} s, ready again in {srv.start():.1f} s")
            restarts += 1
            continue  # retry the same request with the same key
        if r.status_code == 503:
            time.sleep(0.1)
            continue
        assert r.status_code == 200, (i, r.text)
        answers[i] = r.json()
        i += 1
    assert restarts >= 1
    client.close()
    srv.kill()
    # a last restart after a kill: the live book is what an uninterrupted run gives
    srv.start()
    live = httpx.get(srv.base + "/v1/decisions", params={"limit": 10_000}, headers=headers).json()["decisions"]
    locates = httpx.get(srv.base + "/v1/locates", headers=headers).json()["locates"]
    srv.stop()

    expected = replay(parse_document({**HEADER, "events": script}, "uninterrupted"), finish=False)
    want = [{k: v for k, v in d.items()} for d in expected.to_json()["decisions"]]
    got = [{k: v for k, v in d.items() if k not in ("submitted_by", "override")} for d in reversed(live)]
    assert got == want
    assert expected.engine is not None
    assert {x["id"]: (x["consumed"], x["released"]) for x in locates} == {
        k: (s.consumed, s.released) for k, s in expected.engine.gate.snap.locates.items()}

    st = Store(db)
    hist = st.history("ACME")
    events = [h["body"] for h in hist if h["kind"] == "event"]
    # the service's gate settings, recorded once just before the first event it applied, then each event once
    assert events[0] == {"at": script[0]["at"], "type": "gate_settings", "reference_max_age": "86400s"}
    assert events[1:] == script
    stored = {h["body"]["order"]: h["body"] for h in hist if h["kind"] == "decision"}
    for a in answers.values():
        if a["decision"] is not None:
            s = stored[a["decision"]["order"]]
            assert (s["action"], s["reasons"], s["locate"]) == (a["decision"]["action"], a["decision"]["reasons"],
                                                                a["decision"]["locate"])
    assert st.replay_book("ACME").to_json()["decisions"] == replay(
        parse_document({**HEADER, "events": script}, "x")).to_json()["decisions"]
    assert st.verify().ok
    st.close()
