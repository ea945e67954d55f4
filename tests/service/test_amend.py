"""Corrections and cancellations of recorded events through the service, over SQLite and PostgreSQL:
``POST /v1/records/{seq}/correct`` and ``/void``. The store validates and replays the book with the amend before
anything is written; the live book becomes that replay (positions, locate usage, later decisions, obligations
follow) and the answer says what changed; a correction that makes the book invalid is refused naming the field and
records nothing; only operations, compliance and admin may amend; a duplicate key gets the first answer; a restart
after an amend starts from the snapshot taken at it and equals a replay of the store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.service.conftest import AT, Api, open_day

from regsho.adapters import results_json as rj
from regsho.app.replay import replay
from regsho.service import create_app
from regsho.service.live import locate_json
from regsho.store import Store


def _records(db_url: str, kind: str | None = None) -> list[dict[str, Any]]:
    st = Store(db_url)
    try:
        return [h for h in st.history("ACME") if kind is None or h["kind"] == kind]
    finally:
        st.close()


def _live_replay(db_url: str) -> Any:
    """The store's own reading of the book, replayed as the live writer keeps it."""
    st = Store(db_url)
    try:
        return replay(st.load_book("ACME"), finish=False)
    finally:
        st.close()


def test_a_corrected_fill_moves_the_position_and_the_locate_usage(api: Api, db_url: str) -> None:
    assert api.short("S1", 3000, "09:40", locate="L1")["decision"]["action"] == "accept"
    fill = api.ok("/v1/orders/S1/fill", {"qty": 3000, "price": "18.5", "at": AT.format("09:42")}, "trader")
    assert api.engine().gate.snap.positions[("HF1", "KELP")] == -3000
    assert api.get("/v1/locates/L1").json()["executed"] == 3000
    # the seq a write answered with names the record; the order's records list it too
    listed = api.get("/v1/orders/S1/records", "operations").json()["records"]
    assert [(x["type"], x["status"]) for x in listed] == [("order", "in force"), ("fill", "in force")]
    assert listed[1]["seq"] == fill["seq"]
    r = api.post(f"/v1/records/{fill['seq']}/correct", {"event": {"qty": 2000}, "why": "street-side busted 1,000"},
                 "operations")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["action"] == "correct" and out["target"]["seq"] == fill["seq"]
    assert out["target"]["event"]["qty"] == 3000 and out["event"]["qty"] == 2000
    assert out["event"]["price"] == "18.5" and out["event"]["at"] == AT.format("09:42")  # the rest as recorded
    assert out["by"] == "operations-1 (operations)" and out["why"] == "street-side busted 1,000"
    assert out["changes"]["locates"]["changed"] == ["L1"]
    # the live book follows at once
    assert api.engine().gate.snap.positions[("HF1", "KELP")] == -2000
    usage = api.get("/v1/locates/L1", "trader").json()
    assert (usage["executed"], usage["consumed"], usage["left"]) == (2000, 3000, 2000)
    rec = api.get(f"/v1/records/{fill['seq']}", "compliance").json()
    assert rec["status"] == "corrected" and rec["body"]["qty"] == 3000 and rec["in_force"]["qty"] == 2000
    assert rec["amends"] == [{"seq": out["seq"], "action": "correct", "by": "operations-1 (operations)",
                              "why": "street-side busted 1,000"}]
    # the 1,000 shares the fill no longer has stay open on the order: a second fill of 1,000 is now possible
    api.ok("/v1/orders/S1/fill", {"qty": 1000, "price": "18.5", "at": AT.format("09:50")}, "trader")
    assert api.engine().gate.snap.positions[("HF1", "KELP")] == -3000
    # durable: the amend record says who and why and points at the original; the store's replay agrees
    amends = _records(db_url, "amend")
    assert len(amends) == 1 and amends[0]["seq"] == out["seq"]
    assert amends[0]["body"]["target"] == {"seq": fill["seq"], "hash": out["target"]["hash"]}
    assert amends[0]["source"].startswith("api operations-1 (operations) key ")
    rr = _live_replay(db_url)
    assert rr.engine.gate.snap.positions[("HF1", "KELP")] == -3000
    assert locate_json(rr.engine.gate.snap.locates["L1"]) == api.get("/v1/locates/L1").json()
    st = Store(db_url)
    assert st.verify().ok
    st.close()


def test_voiding_an_order_frees_its_locate_and_changes_a_later_decision(api: Api, db_url: str) -> None:
    s1 = api.short("S1", 3000, "09:40", locate="L1")
    assert s1["decision"]["action"] == "accept"
    s2 = api.short("S2", 2500, "09:41", locate="L1")["decision"]
    assert s2["action"] == "reject" and s2["reasons"] == ["LOCATE_EXHAUSTED"]
    r = api.post(f"/v1/records/{s1['seq']}/void", {"why": "entered on the wrong book"}, "compliance")
    assert r.status_code == 200, r.text
    ch = r.json()["changes"]
    assert ch["decisions"]["removed"] == ["S1"] and ch["decisions"]["changed"] == ["S2"]
    assert ch["decisions"]["outcome_changed"] == [{"order": "S2", "was": "reject", "now": "accept"}]
    assert api.get("/v1/decisions/S1").status_code == 404
    assert api.get("/v1/decisions/S2").json()["action"] == "accept"
    assert api.get("/v1/decisions/S2").json()["submitted_by"] == "trader-1 (trader)"
    usage = api.get("/v1/locates/L1").json()
    assert (usage["consumed"], usage["left"]) == (2500, 2500)
    assert api.get(f"/v1/records/{s1['seq']}").json()["status"] == "voided"
    # a fill of the voided order is refused; the book goes on
    r = api.post("/v1/orders/S1/fill", {"qty": 100, "price": "18.5", "at": AT.format("09:45")}, "trader")
    assert r.status_code == 422, r.text
    assert api.short("S3", 2500, "09:46", locate="L1")["decision"]["action"] == "accept"
    rr = _live_replay(db_url)
    assert [(d.order, d.action) for d in rr.decisions] == [("S2", "accept"), ("S3", "accept")]


def test_a_corrected_fail_changes_its_obligation_and_a_void_removes_it(api: Api) -> None:
    fail = api.ok("/v1/fails", {"symbol": "KELP", "qty": 1000, "settlement_date": "2025-03-10",
                                "origin": "short_sale", "trade_date": "2025-03-07", "at": AT.format("18:00")},
                  "operations")
    obs = api.get("/v1/obligations", "operations").json()["obligations"]
    assert [o["qty"] for o in obs] == [1000]
    out = api.ok(f"/v1/records/{fail['seq']}/correct", {"event": {"qty": 600}, "why": "CNS figure corrected"},
                 "operations")
    assert out["changes"]["obligations"]["changed"] == [obs[0]["id"]]
    assert [o["qty"] for o in api.get("/v1/obligations", "operations").json()["obligations"]] == [600]
    out = api.ok(f"/v1/records/{fail['seq']}/void", {"why": "not a fail after all"}, "admin")
    assert out["changes"]["obligations"]["removed"] == [obs[0]["id"]]
    assert api.get("/v1/obligations", "operations").json()["obligations"] == []
    again = api.post(f"/v1/records/{fail['seq']}/void", {"why": "twice"})
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]
    again = api.post(f"/v1/records/{fail['seq']}/correct", {"event": {"qty": 5}, "why": "after the void"})
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]


def test_a_correction_that_makes_the_book_invalid_records_nothing(api: Api, db_url: str) -> None:
    s1 = api.short("S1", 3000, "09:40", locate="L1")
    fill = api.ok("/v1/orders/S1/fill", {"qty": 3000, "price": "18.5", "at": AT.format("09:42")}, "trader")
    before = _records(db_url)
    cases = [(f"/v1/records/{fill['seq']}/correct", {"event": {"qty": 4000}, "why": "x"}, "qty", "exceeds"),
             (f"/v1/records/{fill['seq']}/correct", {"event": {"order": "S9"}, "why": "x"}, "order", "S9"),
             (f"/v1/records/{fill['seq']}/correct", {"event": {"at": AT.format("09:30")}, "why": "x"}, "at", ""),
             (f"/v1/records/{s1['seq']}/void", {"why": "the fill names it"}, "order", "S1")]
    for path, body, fld, words in cases:
        r = api.post(path, body, "operations")
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == fld and words in r.json()["error"], (body, r.text)
        assert "nothing was recorded" in r.json()["error"]
    assert _records(db_url) == before
    assert api.engine().gate.snap.positions[("HF1", "KELP")] == -3000
    assert api.c.get("/ready").status_code == 200
    assert api.short("S2", 2000, "09:50", locate="L1")["decision"]["action"] == "accept"


def test_refusals_name_what_is_wrong(api: Api, db_url: str) -> None:
    s1 = api.short("S1", 100, "09:40", locate="L1")
    r = api.post("/v1/records/99999/void", {"why": "x"})
    assert r.status_code == 404 and "no record" in r.json()["error"]
    r = api.post(f"/v1/records/{s1['seq'] + 1}/void", {"why": "x"})  # the decision record after the order
    assert r.status_code == 409 and "a decision record, not an event" in r.json()["error"]
    for body, fld in [({}, "why"), ({"why": "  "}, "why"), ({"why": "x", "colour": "red"}, "colour")]:
        r = api.post(f"/v1/records/{s1['seq']}/void", body)
        assert r.status_code == 422 and r.json()["field"] == fld, r.text
    for body, fld in [({"event": {"qty": 5}}, "why"), ({"why": "x"}, "event"), ({"why": "x", "event": {}}, "event"),
                      ({"why": "x", "event": [1]}, "event")]:
        r = api.post(f"/v1/records/{s1['seq']}/correct", body)
        assert r.status_code == 422 and r.json()["field"] == fld, r.text
    assert api.c.post(f"/v1/records/{s1['seq']}/void", json={"why": "x"},
                      headers={"X-API-Key": api.keys["admin"]}).status_code == 400  # no idempotency key
    # a record of another book
    assert api.ok("/v1/books", {"firm": {"id": "BETA"}, "securities": {"NOVA": {"shares_outstanding": 1000}},
                                "accounts": {"B1": {"bd": "BETA", "type": "customer"}}})["book"] == "BETA"
    other = api.ok("/v1/lists/threshold?book=BETA", {"symbols": [], "at": AT.format("06:30")}, "locate_desk")
    r = api.post(f"/v1/records/{other['seq']}/void?book=ACME", {"why": "x"})
    assert r.status_code == 409 and "of book BETA" in r.json()["error"]
    assert api.get(f"/v1/records/{other['seq']}?book=ACME").status_code == 404
    assert _records(db_url, "amend") == []


def test_only_operations_compliance_and_admin_may_amend(api: Api, db_url: str) -> None:
    s1 = api.short("S1", 100, "09:40", locate="L1")
    for role in ("trader", "locate_desk"):
        r = api.post(f"/v1/records/{s1['seq']}/void", {"why": "x"}, role)
        assert r.status_code == 403, (role, r.text)
        r = api.post(f"/v1/records/{s1['seq']}/correct", {"event": {"qty": 50}, "why": "x"}, role)
        assert r.status_code == 403, (role, r.text)
        assert api.get(f"/v1/records/{s1['seq']}", role).status_code == 403
    assert api.c.post(f"/v1/records/{s1['seq']}/void", json={"why": "x"},
                      headers={"Idempotency-Key": "x"}).status_code == 401
    assert _records(db_url, "amend") == []
    for n, role in enumerate(("operations", "compliance", "admin")):
        out = api.ok(f"/v1/records/{s1['seq']}/correct", {"event": {"qty": 90 - n}, "why": f"by {role}"}, role)
        assert out["by"] == f"{role}-1 ({role})"
    assert [(a["body"]["by"], a["body"]["event"]["qty"]) for a in _records(db_url, "amend")] == [
        ("operations-1 (operations)", 90), ("compliance-1 (compliance)", 89), ("admin-1 (admin)", 88)]
    order = api.get("/v1/orders/S1/records", "operations").json()["records"][0]
    assert order["status"] == "corrected" and order["in_force"]["qty"] == 88 and len(order["amends"]) == 3
    assert api.get("/v1/locates/L1").json()["consumed"] == 88


def test_a_duplicate_key_gets_the_first_answer_and_the_store_holds_one_amend(db_url: str,
                                                                            keys: dict[str, str]) -> None:
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        open_day(api)
        fill_order = api.short("S1", 3000, "09:40", locate="L1")
        fill = api.ok("/v1/orders/S1/fill", {"qty": 3000, "price": "18.5", "at": AT.format("09:42")}, "trader")
        body = {"event": {"qty": 2500}, "why": "busted"}
        a = api.post(f"/v1/records/{fill['seq']}/correct", body, "operations", key="fix-1")
        b = api.post(f"/v1/records/{fill['seq']}/correct", body, "operations", key="fix-1")
        assert a.status_code == b.status_code == 200 and a.content == b.content
        r = api.post(f"/v1/records/{fill['seq']}/correct", {**body, "why": "other"}, "operations", key="fix-1")
        assert r.status_code == 409
        assert fill_order["decision"]["action"] == "accept"
    with TestClient(create_app(db_url)) as c:  # the answer was kept with the record: a retry after a restart
        api = Api(c, keys)
        again = api.post(f"/v1/records/{fill['seq']}/correct", body, "operations", key="fix-1")
        assert again.status_code == 200 and again.content == a.content
    amends = _records(db_url, "amend")
    assert len(amends) == 1 and amends[0]["body"]["event"]["qty"] == 2500


def test_a_restart_after_an_amend_starts_from_its_snapshot_and_equals_a_replay(db_url: str,
                                                                              keys: dict[str, str]) -> None:
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        open_day(api)
        api.short("S1", 3000, "09:40", locate="L1")
        api.short("S2", 2500, "09:41", locate="L1")
        fill = api.ok("/v1/orders/S1/fill", {"qty": 1000, "price": "18.5", "at": AT.format("09:42")}, "trader")
        amend = api.ok(f"/v1/records/{fill['seq']}/correct", {"event": {"qty": 1200}, "why": "late print"},
                       "operations")
        api.short("S3", 400, "09:50", locate="L1")
        live_before = {d["order"]: d for d in api.get("/v1/decisions").json()["decisions"]}
        usage_before = api.get("/v1/locates/L1").json()
    # the snapshot taken at the amend (and on shutdown) is used: no full replay
    st = Store(db_url)
    with st.engine.connect() as conn:
        snaps = [int(x) for x in conn.execute(sa.text("SELECT seq FROM regsho_snapshots ORDER BY seq")).scalars()]
    st.close()
    assert amend["seq"] in snaps
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        ready = c.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["books"]["ACME"]["loaded"].startswith("snapshot at record")
        rr = _live_replay(db_url)
        assert [rj.decision_json(d) for d in rr.decisions] == [
            {k: v for k, v in d.items() if k not in ("submitted_by", "override")}
            for d in sorted(api.get("/v1/decisions").json()["decisions"], key=lambda d: d["at"])]
        assert {d["order"]: d for d in api.get("/v1/decisions").json()["decisions"]} == live_before
        assert api.get("/v1/locates/L1").json() == usage_before == locate_json(rr.engine.gate.snap.locates["L1"])
        assert api.engine().gate.snap.positions == rr.engine.gate.snap.positions == {("HF1", "KELP"): -1200}
        assert api.get("/v1/decisions/S1").json()["submitted_by"] == "trader-1 (trader)"
        api.short("S4", 100, "09:55", locate="L1")  # and it takes writes after the amend
    # a restart without any snapshot replays the whole book (with the amend) to the same state
    st = Store(db_url)
    with st.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM regsho_snapshots"))
    st.close()
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        assert c.get("/ready").json()["books"]["ACME"]["loaded"].startswith("full replay")
        assert api.engine().gate.snap.positions == {("HF1", "KELP"): -1200}
        assert api.get("/v1/decisions/S1").json()["submitted_by"] == "trader-1 (trader)"
        assert [d["order"] for d in api.get("/v1/decisions").json()["decisions"]] == ["S4", "S3", "S2", "S1"]


def test_writes_racing_an_amend_never_interleave_with_it(api: Api, db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s1 = api.short("S1", 3000, "09:40", locate="L1")

    def check(n: int) -> int:
        r = api.post("/v1/orders/check", {"id": f"R{n}", "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                          "qty": 300, "price": "18.50", "locate": "L1", "at": AT.format("09:45")},
                     "trader")
        return int(r.status_code)

    def void() -> int:
        return int(api.post(f"/v1/records/{s1['seq']}/void", {"why": "wrong account"}, "operations").status_code)

    with ThreadPoolExecutor(8) as pool:
        futs = [pool.submit(check, n) for n in range(10)] + [pool.submit(void)]
        futs += [pool.submit(check, n) for n in range(10, 20)]
        assert [f.result() for f in futs] == [200] * 21
    rr = _live_replay(db_url)
    live = {d["order"]: d["action"] for d in api.get("/v1/decisions", params={"limit": 100}).json()["decisions"]}
    assert {d.order: d.action for d in rr.decisions} == live and "S1" not in live
    accepted = sum(a == "accept" for a in live.values())
    assert 6 <= accepted <= 16 and api.get("/v1/locates/L1").json()["consumed"] == 300 * accepted
    assert locate_json(rr.engine.gate.snap.locates["L1"]) == api.get("/v1/locates/L1").json()
    st = Store(db_url)
    assert st.verify().ok
    st.close()
