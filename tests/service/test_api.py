"""The API end to end (in process, over SQLite and PostgreSQL): durable answers, idempotency, roles, overrides,
fail-closed reference data, and a live book that the store's own commands read like an imported one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from tests.service.conftest import Api

from regsho.service import authenticate, create_app
from regsho.store import Store


@pytest.fixture
def api(db_url: str, keys: dict[str, str]) -> Iterator[Api]:
    with TestClient(create_app(db_url, probe_seconds=0.2)) as c:
        yield Api(c, keys)


def _lists(api: Api, at: str = "2025-03-10T06:30:00-04:00") -> None:
    assert api.post("/v1/lists/threshold", {"symbols": [], "at": at}, "locate_desk").status_code == 200
    assert api.post("/v1/lists/htb", {"symbols": ["BRIK"], "at": at}, "locate_desk").status_code == 200


def test_a_day_through_the_api(api: Api, db_url: str) -> None:
    assert api.c.get("/ready").status_code == 200
    _lists(api)
    r = api.post("/v1/locates", {"id": "L1", "account": "HF1", "symbol": "KELP", "qty": 5000,
                                 "at": "2025-03-10T08:00:00-04:00"}, "locate_desk")
    assert r.status_code == 200, r.text
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                      "qty": 3000, "price": "18.50", "at": "2025-03-10T09:40:00-04:00"}, "trader")
    assert r.status_code == 200, r.text
    d = r.json()["decision"]
    assert d["action"] == "accept" and d["locate"] == "L1" and d["submitted_by"] == "trader-1 (trader)"
    r = api.post("/v1/orders/check", {"id": "S2", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                      "qty": 3000, "price": "18.50", "at": "2025-03-10T09:41:00-04:00"}, "trader")
    assert r.json()["decision"]["action"] == "reject"
    assert api.post("/v1/orders/S1/fill", {"qty": 3000, "price": "18.5", "at": "2025-03-10T09:42:00-04:00"},
                    "trader").status_code == 200
    loc = api.get("/v1/locates/L1").json()
    assert (loc["consumed"], loc["left"]) == (3000, 2000)
    # the explanation, and who submitted it
    e = api.get("/v1/decisions/S2").json()
    assert e["submitted_by"] == "trader-1 (trader)" and "NO_LOCATE" in " ".join(e["explanation"])
    # the store's own replay of the live book gives the same decisions
    st = Store(db_url)
    replayed = st.replay_book("ACME")
    assert [(x.order, x.action) for x in replayed.decisions] == [("S1", "accept"), ("S2", "reject")]
    assert st.verify().ok
    hist = st.history("ACME")
    ev = [h for h in hist if h["kind"] == "event" and h["type"] == "order"]
    assert ev[0]["source"].startswith("api trader-1 (trader) key ")
    st.close()
    assert api.get("/v1/audit/verify", "compliance").json()["ok"] is True


def test_idempotency_key_returns_the_first_answer_and_records_once(api: Api, db_url: str) -> None:
    _lists(api)
    body = {"id": "B1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": 100, "price": "10"}
    a = api.post("/v1/orders/check", body, "trader", key="same")
    b = api.post("/v1/orders/check", body, "trader", key="same")
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert api.post("/v1/orders/check", {**body, "qty": 200}, "trader", key="same").status_code == 409
    st = Store(db_url)
    orders = [h for h in st.history("ACME") if h["kind"] == "event" and h["type"] == "order"]
    st.close()
    assert len(orders) == 1
    r = api.c.post("/v1/orders/check", json=body, headers={"X-API-Key": api.keys["trader"]})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]


def test_roles(api: Api) -> None:
    loc = {"id": "L9", "account": "HF1", "symbol": "KELP", "qty": 100}
    assert api.post("/v1/locates", loc, "trader").status_code == 403
    assert api.post("/v1/lists/etb", {"symbols": ["NOVA"]}, "trader").status_code == 403
    assert api.c.post("/v1/locates", json=loc, headers={"Idempotency-Key": "x"}).status_code == 401
    assert api.c.post("/v1/locates", json=loc, headers={"Idempotency-Key": "x", "X-API-Key": "rsk_nope"}
                      ).status_code == 401
    # the three ways to give the key
    assert api.c.get("/v1/locates", headers={"Authorization": f"Bearer {api.keys['trader']}"}).status_code == 200
    api.c.cookies.set("regsho_key", api.keys["trader"])
    assert api.c.get("/v1/locates").status_code == 200
    api.c.cookies.clear()
    assert api.get("/v1/audit/verify", "trader").status_code == 403


def test_override_needs_compliance_and_a_second_approver(api: Api) -> None:
    _lists(api)
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                      "qty": 100, "price": "18"}, "trader")
    assert r.json()["decision"]["action"] == "reject"
    assert api.post("/v1/orders/S1/override", {"reason": "x"}, "trader").status_code == 403
    assert api.post("/v1/orders/S1/override", {"reason": "x"}, "admin").status_code == 403
    assert api.post("/v1/orders/S1/override/approve", {}, "compliance").status_code == 409
    r = api.post("/v1/orders/S1/override", {"reason": "borrow confirmed by phone"}, "compliance")
    assert r.status_code == 200, r.text
    assert api.post("/v1/orders/S1/override/approve", {}, "compliance").status_code == 403
    r = api.post("/v1/orders/S1/override/approve", {}, "compliance2")
    assert r.status_code == 200, r.text
    e = api.get("/v1/decisions/S1").json()
    assert e["override"]["requested_by"] == "compliance-1 (compliance)"
    assert e["override"]["approved_by"] == "compliance-2 (compliance)"
    assert any("approved by compliance-2" in line and "borrow confirmed by phone" in line
               for line in e["explanation"])


def test_fail_closed_without_todays_lists(api: Api) -> None:
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "NOVA", "side": "sell_short",
                                      "qty": 100, "price": "18", "at": "2025-03-10T09:00:00-04:00"}, "trader")
    d = r.json()["decision"]
    assert d["action"] == "reject" and "REFERENCE_DATA_STALE" in d["reasons"]
    _lists(api, "2025-03-10T09:30:00-04:00")
    api.post("/v1/lists/etb", {"symbols": ["NOVA"], "at": "2025-03-10T09:30:00-04:00"}, "locate_desk")
    r = api.post("/v1/orders/check", {"id": "S2", "account": "HF1", "symbol": "NOVA", "side": "sell_short",
                                      "qty": 100, "price": "18", "at": "2025-03-10T10:00:00-04:00"}, "trader")
    assert r.json()["decision"]["action"] == "accept"
    # two days later the lists are stale: rejected again, with the reason
    r = api.post("/v1/orders/check", {"id": "S3", "account": "HF1", "symbol": "NOVA", "side": "sell_short",
                                      "qty": 100, "price": "18", "at": "2025-03-12T10:00:00-04:00"}, "trader")
    d = r.json()["decision"]
    assert d["action"] == "reject" and "REFERENCE_DATA_STALE" in d["reasons"]
    assert "older than" in d["details"]["REFERENCE_DATA_STALE"]


def test_bad_input_is_422_and_records_nothing(api: Api, db_url: str) -> None:
    r = api.post("/v1/orders/check", {"id": "S1", "account": "NOPE", "symbol": "NOVA", "side": "buy", "qty": 1},
                 "trader")
    assert r.status_code == 422 and "account" in r.text
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": -5},
                 "trader")
    assert r.status_code == 422
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": 5},
                 "trader")
    assert r.status_code == 200  # the id refused earlier is free
    r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "NOVA", "side": "buy", "qty": 5},
                 "trader")
    assert r.status_code == 422 and "already used" in r.text


def test_restart_from_snapshot(db_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        _lists(api, dt.datetime.now(dt.UTC).isoformat())
        api.post("/v1/locates", {"id": "L1", "account": "HF1", "symbol": "KELP", "qty": 500}, "locate_desk")
        api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                      "qty": 300, "price": "18"}, "trader", key="first")
    with TestClient(create_app(db_url)) as c:  # the shutdown snapshot
        api = Api(c, keys)
        ready = c.get("/ready").json()
        assert ready["books"]["ACME"]["loaded"].startswith("snapshot at record")
        r = api.post("/v1/orders/check", {"id": "S1", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                          "qty": 300, "price": "18"}, "trader", key="first")
        assert r.status_code == 200 and r.json()["decision"]["action"] == "accept"  # the first answer, again
        r = api.post("/v1/orders/check", {"id": "S2", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                          "qty": 300, "price": "18"}, "trader")
        assert r.json()["decision"]["reasons"] == ["NO_LOCATE"]
        assert api.get("/v1/locates/L1").json()["consumed"] == 300


def test_lists_as_files_settlement_reads_export_and_the_dashboard_hook(db_url: str, keys: dict[str, str]) -> None:
    extra = APIRouter()

    @extra.get("/dashboard/whoami")
    async def whoami(request: Request) -> dict[str, str | None]:
        p = authenticate(request)
        return {"name": p.name if p else None}

    with TestClient(create_app(db_url, routers=[extra])) as c:
        api = Api(c, keys)
        h = {"X-API-Key": keys["locate_desk"], "Idempotency-Key": "f1"}
        r = c.post("/v1/lists/htb/file", headers=h, files={"file": ("htb.txt", b"# hard to borrow\nBRIK\n")},
                   data={"at": "2025-03-10T06:30:00-04:00"})
        assert r.status_code == 200, r.text
        assert r.json()["event"]["symbols"] == ["BRIK"]
        r = c.post("/v1/lists/threshold/file", headers={**h, "Idempotency-Key": "f2"},
                   files={"file": ("t.txt", b"Symbol|Security Name\nZZZZ|unknown\n")})
        assert r.status_code == 422 and "ZZZZ" in r.text
        r = api.post("/v1/fails", {"symbol": "KELP", "qty": 500, "settlement_date": "2025-03-10",
                                   "origin": "short_sale", "at": "2025-03-11T06:00:00-04:00"}, "operations")
        assert r.status_code == 200, r.text
        assert r.json()["effects"]["obligations"][0]["symbol"] == "KELP"
        assert api.post("/v1/fails", {"symbol": "KELP", "qty": 5, "settlement_date": "2025-03-10",
                                      "origin": "short_sale"}, "trader").status_code == 403
        obs = api.get("/v1/obligations", "compliance", params={"status": "open",
                                                               "due_before": "2025-03-13"}).json()["obligations"]
        assert [o["qty"] for o in obs] == [500]
        r = api.post("/v1/events", {"type": "position", "account": "HF1", "symbol": "NOVA", "qty": 1000},
                     "operations")
        assert r.status_code == 200, r.text
        assert api.post("/v1/events", {"type": "position", "account": "HF1", "symbol": "NOVA", "qty": 1},
                        "trader").status_code == 403
        export = api.get("/v1/audit/export", "compliance").json()["records"]
        assert [x["type"] for x in export if x["kind"] == "event"] == ["gate_settings", "htb_list", "fail", "position"]
        assert c.get("/dashboard/whoami", headers={"X-API-Key": keys["trader"]}).json() == {"name": "trader-1"}
        view = c.app.state.source.view("ACME")  # type: ignore[attr-defined]
        assert view.engine is not None and len(view.ledger.obligations) == 1
        assert c.app.state.source.books() == ["ACME"]  # type: ignore[attr-defined]
