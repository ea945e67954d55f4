"""32 clients hammer one locate of 10,000 shares through the HTTP API of a real server on PostgreSQL: the accepted
total never exceeds the locate and equals its recorded usage, live and after a replay of the store."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from typing import Any

import httpx
from tests.service.conftest import make_keys, pg_database
from tests.service.server import serving

from regsho.store import Store

CLIENTS = 32
PER_CLIENT = 12


def test_32_clients_one_locate(pg_server: Any) -> None:
    db = pg_database(pg_server)
    keys = make_keys(db)
    with serving(db) as srv:
        c = httpx.Client(base_url=srv.base, timeout=30)
        now = dt.datetime.now(dt.UTC).isoformat()
        for path, body in (("/v1/lists/threshold", {"symbols": [], "at": now}),
                           ("/v1/lists/htb", {"symbols": [], "at": now}),
                           ("/v1/locates", {"id": "L1", "account": "HF1", "symbol": "KELP", "qty": 10_000})):
            r = c.post(path, json=body, headers={"X-API-Key": keys["locate_desk"], "Idempotency-Key": path})
            assert r.status_code == 200, r.text
        accepted: list[int] = []
        rejected: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(CLIENTS)

        def client(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=srv.base, timeout=30) as cl:
                start.wait()
                for i in range(PER_CLIENT):
                    qty = rng.randint(1, 1_000)
                    r = cl.post("/v1/orders/check", json={"id": f"C{n}-{i}", "account": "HF1", "symbol": "KELP",
                                                          "side": "sell_short", "qty": qty, "price": "18.25",
                                                          "locate": "L1"},
                                headers={"X-API-Key": keys["trader"], "Idempotency-Key": str(uuid.uuid4())})
                    with lock:
                        if r.status_code != 200:
                            errors.append(r.text)
                        elif r.json()["decision"]["action"] == "accept":
                            accepted.append(qty)
                        else:
                            rejected.append(r.json()["decision"]["reasons"][0])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(accepted) + len(rejected) == CLIENTS * PER_CLIENT
        assert sum(accepted) <= 10_000
        assert set(rejected) <= {"LOCATE_EXHAUSTED"} and rejected
        usage = c.get("/v1/locates/L1", headers={"X-API-Key": keys["locate_desk"]}).json()
        assert usage["consumed"] == sum(accepted) and usage["left"] == 10_000 - sum(accepted)
        c.close()
    st = Store(db)
    replayed = st.replay_book("ACME")
    assert replayed.engine is not None
    assert replayed.engine.gate.snap.locates["L1"].consumed == sum(accepted)
    assert sum(d.qty for d in replayed.decisions if d.accepted) == sum(accepted)
    assert st.verify().ok
    st.close()
