"""A book imported with no gate settings is served under the service's: the service records a ``gate_settings``
event before the first event it applies, so the book's history replays as judged and new orders fail closed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from regsho.app.access import Role
from regsho.service import create_app
from regsho.store import Store
from regsho.store.keys import add_key

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "regsho" / "examples" / "01_locate_desk_day.yaml"


def test_an_imported_book_is_served_under_the_services_settings(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    st = Store(db)
    st.migrate()
    st.import_file(EXAMPLE, "DESK", by="setup")
    before = [(d.order, d.action) for d in st.replay_book("DESK").decisions]
    key = add_key(st, "ops-1", Role.ADMIN.value, "setup")[1]
    sc = st.load_book("DESK")
    last = sc.events[-1].event.at
    account = next(iter(sc.accounts))
    symbol = next(iter(sc.securities))
    st.close()
    with TestClient(create_app(db, probe_seconds=0.2)) as c:  # the 24 h list limit by default
        assert c.get("/ready").status_code == 200
        r = c.post("/v1/orders/check", headers={"X-API-Key": key, "Idempotency-Key": "o1"},
                   json={"id": "LIVE-1", "account": account, "symbol": symbol, "side": "sell_short", "qty": 100,
                         "at": last.isoformat()})
        assert r.status_code == 200, r.text
        first = r.json()["decision"]
    st = Store(db)
    events = [x for x in st.history("DESK") if x["kind"] == "event"]
    assert [x["type"] for x in events[-2:]] == ["gate_settings", "order"]
    assert events[-2]["body"]["reference_max_age"] == "86400s"
    again = st.replay_book("DESK")  # the whole book replays; history judged as before, the live order as answered
    assert [(d.order, d.action) for d in again.decisions][:-1] == before
    live = again.decision("LIVE-1")
    assert live is not None and (live.action, live.reasons) == (first["action"], tuple(first["reasons"]))
    st.close()
