"""``POST /v1/locates/{id}/release`` over SQLite and PostgreSQL: the locate desk takes back unused shares; short
sales the locate no longer covers are rejected with the return in their facts; the usage shows what was returned;
only the locate desk and admin may release; a duplicate key gets the first answer and the store holds the release
once; a restart keeps it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.service.conftest import AT, Api, open_day

from regsho.service import create_app
from regsho.store import Store


def test_a_release_takes_back_unused_shares_and_short_sales_see_it(api: Api, db_url: str) -> None:
    assert api.short("S1", 3000, "09:40", locate="L1")["decision"]["action"] == "accept"
    r = api.post("/v1/locates/L1/release", {"qty": 1000, "reason": "desk re-allocates", "at": AT.format("09:45")},
                 "locate_desk")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "locate_release" and out["submitted_by"] == "locate_desk-1 (locate_desk)"
    assert out["event"] == {"at": AT.format("09:45"), "type": "locate_release", "id": "L1", "qty": 1000,
                            "reason": "desk re-allocates", "by": "locate_desk-1 (locate_desk)"}
    assert {k: out["locate"][k] for k in ("fresh", "consumed", "released", "left", "status")} == {
        "fresh": 1000, "consumed": 3000, "released": 1000, "left": 1000, "status": "in_use"}
    # covered before the release, not after: 1,500 shares were there, 1,000 are left
    d = api.short("S2", 1500, "09:46", locate="L1")["decision"]
    assert d["action"] == "reject" and d["reasons"] == ["LOCATE_EXHAUSTED"]
    assert d["facts"]["locate.released"] == 1000
    assert "1000 returned to the locate desk" in d["details"]["LOCATE_EXHAUSTED"]
    expl = api.get("/v1/decisions/S2", "trader").json()["explanation"]
    assert any("returned to the locate desk" in line for line in expl)
    # all that is unused (admin may release too)
    r = api.post("/v1/locates/L1/release", {"at": AT.format("09:50")})
    assert r.status_code == 200, r.text
    assert (r.json()["locate"]["released"], r.json()["locate"]["left"]) == (2000, 0)
    d = api.short("S3", 100, "09:51")["decision"]
    assert d["action"] == "reject" and d["reasons"] == ["NO_LOCATE"]
    assert d["facts"]["locates.returned"] == [["L1", 2000]]
    # a cancel gives back what the order held, never what was returned
    assert api.post("/v1/orders/S1/cancel", {"at": AT.format("09:55")}, "trader").status_code == 200
    usage = api.get("/v1/locates/L1", "trader").json()
    assert {k: usage[k] for k in ("qty", "fresh", "consumed", "released", "left", "status")} == {
        "qty": 5000, "fresh": 3000, "consumed": 0, "released": 2000, "left": 3000, "status": "in_use"}
    listed = api.get("/v1/locates", "locate_desk", params={"account": "HF1"}).json()["locates"]
    assert [(x["id"], x["released"], x["left"]) for x in listed] == [("L1", 2000, 3000)]
    assert api.short("S4", 3001, "09:56", locate="L1")["decision"]["reasons"] == ["LOCATE_EXHAUSTED"]
    assert api.short("S5", 3000, "09:57", locate="L1")["decision"]["action"] == "accept"
    # durable, and the store's replay agrees
    st = Store(db_url)
    hist = st.history("ACME")
    rel = [h for h in hist if h["kind"] == "event" and h["type"] == "locate_release"]
    assert [(h["body"].get("qty"), h["body"]["by"]) for h in rel] == [(1000, "locate_desk-1 (locate_desk)"),
                                                                     (None, "admin-1 (admin)")]
    assert rel[0]["source"].startswith("api locate_desk-1 (locate_desk) key ")
    replayed = st.replay_book("ACME")
    assert replayed.engine is not None
    loc = replayed.engine.gate.snap.locates["L1"]
    assert (loc.released, loc.consumed, loc.fresh) == (2000, 3000, 0)
    assert [(x.order, x.action) for x in replayed.decisions] == [
        ("S1", "accept"), ("S2", "reject"), ("S3", "reject"), ("S4", "reject"), ("S5", "accept")]
    assert st.verify().ok
    st.close()


def test_only_the_locate_desk_and_admin_may_release(api: Api) -> None:
    for role in ("trader", "operations", "compliance"):
        r = api.post("/v1/locates/L1/release", {"qty": 10}, role)
        assert r.status_code == 403, (role, r.text)
        r = api.post("/v1/events", {"type": "locate_release", "id": "L1", "qty": 10}, role)
        assert r.status_code == 403, (role, r.text)
    assert api.c.post("/v1/locates/L1/release", json={}, headers={"Idempotency-Key": "x"}).status_code == 401
    assert api.get("/v1/locates/L1").json()["released"] == 0
    r = api.post("/v1/events", {"type": "locate_release", "id": "L1", "qty": 10, "at": AT.format("08:30")},
                 "locate_desk")
    assert r.status_code == 200, r.text
    assert r.json()["event"]["by"] == "locate_desk-1 (locate_desk)"
    assert api.get("/v1/locates/L1").json()["released"] == 10


def test_a_duplicate_key_gets_the_first_answer_and_the_store_holds_one_release(api: Api, db_url: str) -> None:
    body = {"qty": 700, "at": AT.format("08:30")}
    a = api.post("/v1/locates/L1/release", body, "locate_desk", key="release-1")
    b = api.post("/v1/locates/L1/release", body, "locate_desk", key="release-1")
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert api.post("/v1/locates/L1/release", {**body, "qty": 1}, "locate_desk", key="release-1").status_code == 409
    assert api.post("/v1/locates/L1/release", body, "locate_desk").status_code == 200  # a new key: a second one
    assert api.c.post("/v1/locates/L1/release", json=body, headers={"X-API-Key": api.keys["locate_desk"]}
                      ).status_code == 400  # no key at all
    usage = api.get("/v1/locates/L1").json()
    assert (usage["released"], usage["left"]) == (1400, 3600)
    st = Store(db_url)
    rel = [h for h in st.history("ACME") if h["kind"] == "event" and h["type"] == "locate_release"]
    st.close()
    assert [h["body"]["qty"] for h in rel] == [700, 700]


def test_bad_releases_are_422_naming_the_field_and_record_nothing(api: Api, db_url: str) -> None:
    assert api.short("S1", 4000, "09:40", locate="L1")["decision"]["action"] == "accept"
    cases = [("L1", {"qty": 1001}, "qty", "exceeds the 1000 unused shares"),
             ("L1", {"qty": 0}, "qty", "positive"),
             ("L404", {}, "id", "unknown locate id"),
             ("L1", {"by": "someone else"}, "by", "recorded as by its submitter"),
             ("L1", {"colour": "red"}, None, "unknown field `colour`")]
    for lid, body, fld, words in cases:  # (an unknown field is named in the message only)
        r = api.post(f"/v1/locates/{lid}/release", {**body, "at": AT.format("09:41")}, "locate_desk")
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == fld and words in r.json()["error"], (body, r.text)
    r = api.post("/v1/locates/L1/release", {"at": AT.format("09:42")}, "locate_desk")
    assert r.status_code == 200 and r.json()["locate"]["status"] == "exhausted"
    r = api.post("/v1/locates/L1/release", {"at": AT.format("09:43")}, "locate_desk")
    assert r.status_code == 422 and "no unused shares" in r.json()["error"]
    st = Store(db_url)
    rel = [h for h in st.history("ACME") if h["kind"] == "event" and h["type"] == "locate_release"]
    st.close()
    assert len(rel) == 1


def test_a_restart_keeps_what_was_returned(db_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(db_url)) as c:
        api = Api(c, keys)
        open_day(api)
        assert api.post("/v1/locates/L1/release", {"qty": 4000, "at": AT.format("08:30")}, "locate_desk",
                        key="r1").status_code == 200
    with TestClient(create_app(db_url)) as c:  # from the shutdown snapshot
        api = Api(c, keys)
        assert c.get("/ready").json()["books"]["ACME"]["loaded"].startswith("snapshot at record")
        usage = api.get("/v1/locates/L1").json()
        assert (usage["released"], usage["left"]) == (4000, 1000)
        again = api.post("/v1/locates/L1/release", {"qty": 4000, "at": AT.format("08:30")}, "locate_desk", key="r1")
        assert again.status_code == 200 and again.json()["locate"]["released"] == 4000  # the first answer
        assert api.short("S1", 1001, "09:40", locate="L1")["decision"]["reasons"] == ["LOCATE_EXHAUSTED"]
        assert api.short("S2", 1000, "09:41", locate="L1")["decision"]["action"] == "accept"
