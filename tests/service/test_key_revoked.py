"""Keys are held in memory by their hash and re-read from the store: a key revoked while the service runs is
refused from the next refresh on, including on the gate's own route, and an unknown key does not reach the store
on every request."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import AT, make_keys

import regsho.service.auth as auth
from regsho.service import create_app
from regsho.service.auth import KeyRing
from regsho.store import Store
from regsho.store.keys import list_keys, revoke_key


def test_a_revoked_key_is_refused_after_the_next_refresh(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    keys = make_keys(db)
    app = create_app(db, probe_seconds=0.2)
    with TestClient(app) as c:
        order = {"id": "R1", "account": "HF1", "symbol": "KELP", "side": "buy", "qty": 10, "at": AT.format("09:40")}
        ok = c.post("/v1/orders/check", json=order, headers={"X-API-Key": keys["trader"], "Idempotency-Key": "r1"})
        assert ok.status_code != 401
        st = Store(db)
        kid = next(k.id for k in list_keys(st) if k.name == "trader-1")
        revoke_key(st, kid)
        st.close()
        ring: KeyRing = app.state.keyring
        ring.reload()  # what the service's probe does every ``refresh`` seconds
        order["id"] = "R2"
        r = c.post("/v1/orders/check", json=order, headers={"X-API-Key": keys["trader"], "Idempotency-Key": "r2"})
        assert r.status_code == 401
        r = c.get("/v1/decisions", headers={"X-API-Key": keys["trader"]})
        assert r.status_code == 401
        assert c.get("/v1/decisions", headers={"X-API-Key": keys["compliance"]}).status_code == 200


def test_an_unknown_key_is_looked_up_at_most_once_a_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    db = str(tmp_path / "ring.db")
    make_keys(db)
    st = Store(db)
    ring = KeyRing(st, refresh=60.0)
    ring.reload()
    looked: list[str] = []
    real = auth.find_key

    def counting(store: Store, key: str) -> object:
        looked.append(key)
        return real(store, key)

    monkeypatch.setattr(auth, "find_key", counting)
    for _ in range(5):
        assert ring.principal("rsk_nope_" + "x" * 40) is None
    assert len(looked) == 1
    st.close()
