"""The store unavailable (another process holds its write lock): nothing is acknowledged, later writes are refused
while the writer is behind, /health and /ready say why, and once the store answers again the book reloads and the
retried request is recorded."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.service.conftest import make_keys

from regsho.service import create_app
from regsho.store import Store


def _until(f: Any, timeout: float = 10.0) -> Any:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = f()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_store_unavailable(tmp_path: Path) -> None:
    db = str(tmp_path / "locked.db")
    keys = make_keys(db)
    order = {"id": "S1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": 100, "price": "10"}
    with TestClient(create_app(db, timeout=1.5, probe_seconds=0.2, behind_seconds=0.3)) as c:
        h = {"X-API-Key": keys["admin"]}
        now = dt.datetime.now(dt.UTC).isoformat()
        assert c.post("/v1/lists/threshold", json={"symbols": [], "at": now},
                      headers={**h, "Idempotency-Key": "t"}).status_code == 200
        assert c.get("/health").status_code == 200
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        first: dict[str, Any] = {}

        def send() -> None:
            first["r"] = c.post("/v1/orders/check", json=order, headers={**h, "Idempotency-Key": "o1"})

        t = threading.Thread(target=send)
        t.start()
        time.sleep(0.8)
        r = c.post("/v1/orders/check", json={**order, "id": "S2"}, headers={**h, "Idempotency-Key": "o2"})
        assert r.status_code == 503 and "behind" in r.json()["error"]
        t.join()
        assert first["r"].status_code == 503 and "not recorded" in first["r"].json()["error"]
        health = _until(lambda: (x := c.get("/health")).status_code == 503 and x)
        assert any("could not record" in p or "cannot be written" in p for p in health.json()["problems"])
        assert c.get("/ready").status_code == 503
        r = c.post("/v1/orders/check", json=order, headers={**h, "Idempotency-Key": "o1"})
        assert r.status_code == 503
        blocker.execute("ROLLBACK")
        blocker.close()
        _until(lambda: c.get("/ready").status_code == 200)
        r = c.post("/v1/orders/check", json=order, headers={**h, "Idempotency-Key": "o1"})
        assert r.status_code == 200 and r.json()["decision"]["action"] == "accept"
    st = Store(db)
    assert [h["body"]["id"] for h in st.history("ACME") if h["kind"] == "event" and h["type"] == "order"] == ["S1"]
    st.close()


def test_a_fault_while_applying_reloads_the_book(tmp_path: Path) -> None:
    db = str(tmp_path / "fault.db")
    keys = make_keys(db)
    with TestClient(create_app(db, probe_seconds=0.1)) as c:
        h = {"X-API-Key": keys["admin"]}
        book = c.app.state.service.books["ACME"]  # type: ignore[attr-defined]
        engine = book.state.engine

        def broken(e: Any) -> Any:
            raise RuntimeError("boom")

        engine.apply = broken
        order = {"id": "B1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": 10, "price": "10"}
        r = c.post("/v1/orders/check", json=order, headers={**h, "Idempotency-Key": "b1"})
        assert r.status_code == 500 and "boom" in r.json()["error"]
        _until(lambda: c.get("/ready").status_code == 200)
        assert book.state.engine is not engine  # reloaded from the store
        r = c.post("/v1/orders/check", json=order, headers={**h, "Idempotency-Key": "b1"})
        assert r.status_code == 200 and r.json()["decision"]["action"] == "accept"
