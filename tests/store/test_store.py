"""The append-only, hash-chained store on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import EXAMPLES
from tests.store.tamper import DAY1, DAY2

from regsho.adapters.results_json import decision_json
from regsho.adapters.scenario import ScenarioError, load, loads
from regsho.app.replay import replay
from regsho.store import Store, StoreError


def _count(st: Store) -> int:
    with st.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM regsho_log")).scalar_one())


def test_migrate_is_idempotent(store: Store) -> None:
    store.migrate()
    assert store.books() == []
    assert store.verify().ok


def test_import_then_replay_from_store_gives_the_file_decisions(store: Store) -> None:
    path = EXAMPLES / "01_locate_desk_day.yaml"
    sc = load(path)
    summary = store.import_scenario(sc)
    assert summary.book == "ACME"
    assert summary.events == len(sc.events)
    assert summary.decisions == len(replay(sc).decisions)
    from_store = store.replay_book("ACME")
    from_file = replay(sc)
    assert [decision_json(d) for d in from_store.decisions] == [decision_json(d) for d in from_file.decisions]
    res = store.verify()
    assert res.ok and res.records == 2 + summary.events + summary.decisions  # import record and header


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_book_grows_across_imports_and_decisions_see_the_history(store: Store, tmp_path: Path) -> None:
    store.import_file(_write(tmp_path, "day1.yaml", DAY1))
    s2 = store.import_file(_write(tmp_path, "day2.yaml", DAY2))
    assert s2.events == 2 and s2.decisions == 2
    r = store.replay_book("FIRM")
    # L1 was a day locate granted on 06-03: on 06-04 it has expired.
    d = r.decision("O2")
    assert d is not None and d.reasons == ("LOCATE_EXPIRED",)
    assert set(store.load_book("FIRM").securities) == {"XYZ", "ABC"}


def test_records_cannot_be_updated_or_deleted(store: Store) -> None:
    store.import_scenario(loads(DAY1, "day1.yaml"))
    assert _count(store) == 1 + 1 + 3 + 1  # import, header, 3 events, 1 decision
    for stmt in ("UPDATE regsho_log SET body = '{}' WHERE seq = 3", "DELETE FROM regsho_log WHERE seq = 3"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text(stmt))
    assert store.verify().ok


def test_truncate_is_blocked_on_postgresql(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE statement")
    store.import_scenario(loads(DAY1, "day1.yaml"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE regsho_log"))


def test_tampering_behind_the_triggers_is_detected(store: Store) -> None:
    store.import_scenario(loads(DAY1, "day1.yaml"))
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(sa.text("DROP TRIGGER regsho_log_no_update"))
        else:
            conn.execute(sa.text("ALTER TABLE regsho_log DISABLE TRIGGER regsho_log_no_change"))
        conn.execute(sa.text("UPDATE regsho_log SET body = replace(body, '1000', '9000') WHERE seq = 3"))
    res = store.verify()
    assert not res.ok
    assert res.first_bad_seq == 3
    assert "record 3: edited" in res.message


def test_bad_input_writes_nothing(store: Store, tmp_path: Path) -> None:
    store.import_file(_write(tmp_path, "day1.yaml", DAY1))
    before = _count(store)
    # O2 names the expired day locate L1 and is rejected; a fill of it is bad input.
    fill = '  - {at: "2024-06-04T09:45:30", type: fill, order: O2, qty: 100}\n'
    bad = DAY2.replace("locate: L1}\n", "locate: L1}\n" + fill)
    assert bad != DAY2
    with pytest.raises(ScenarioError, match=r"bad.yaml: events\[1\] \(fill\).*rejected and cannot be filled"):
        store.import_file(_write(tmp_path, "bad.yaml", bad))
    assert _count(store) == before
    assert store.verify().ok


def test_events_earlier_than_the_book_are_refused(store: Store, tmp_path: Path) -> None:
    store.import_file(_write(tmp_path, "day1.yaml", DAY1))
    later = DAY2.replace("locate: L1}", "}").replace("2024-06-04", "2024-06-05")
    store.import_file(_write(tmp_path, "day3.yaml", later))
    before = _count(store)
    with pytest.raises(ScenarioError, match="out of time order"):
        store.import_file(_write(tmp_path, "day2.yaml", DAY2))
    assert _count(store) == before


def test_a_changed_account_is_refused(store: Store, tmp_path: Path) -> None:
    store.import_file(_write(tmp_path, "day1.yaml", DAY1))
    changed = DAY2.replace("A1: {bd: FIRM, type: customer}", "A1: {bd: FIRM, type: market_maker}")
    with pytest.raises(StoreError, match="account A1"):
        store.import_file(_write(tmp_path, "changed.yaml", changed))


def test_store_must_be_initialised(tmp_path: Path) -> None:
    st = Store(str(tmp_path / "empty.db"))
    with pytest.raises(StoreError, match="store init"):
        st.books()


def test_unknown_book(store: Store) -> None:
    with pytest.raises(StoreError, match="no book"):
        store.load_book("NOPE")


def test_reading_a_missing_sqlite_store_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(path)).books()
    assert not path.exists()


def test_a_store_made_before_migration_0002_is_upgraded_and_still_verifies(db_url: str, tmp_path: Path) -> None:
    """Records written under revision 0001 (no insert trigger, seq from the database) keep verifying after
    `store init` applies 0002, and the store then grows under the new rules."""
    from alembic import command
    from alembic.config import Config

    from regsho.store.chain import GENESIS, canonical, record_hash
    from regsho.store.log import MIGRATIONS

    st = Store(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with st.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    header = {"version": 1, "name": "old", "cite": [], "firm": {"id": "FIRM"}, "securities": {"XYZ": {}},
              "accounts": {"A1": {"bd": "FIRM", "type": "customer"}}}
    event = {"at": "2024-06-03T08:00:00-04:00", "type": "locate", "id": "L1", "account": "A1", "symbol": "XYZ",
             "qty": 1000, "good_for": "day"}
    prev = GENESIS
    with st.engine.begin() as conn:
        for kind, type_, at, body in (("header", "header", "", header), ("event", "locate", event["at"], event)):
            b = canonical(body)
            h = record_hash(prev, "FIRM", kind, type_, at, "2024-06-03T12:00:00+00:00", "old.yaml", b)
            conn.execute(sa.text("INSERT INTO regsho_log (book, kind, type, event_time, recorded_at, source, body, "
                                 "prev_hash, hash) VALUES ('FIRM', :k, :t, :a, '2024-06-03T12:00:00+00:00', "
                                 "'old.yaml', :b, :p, :h)"), {"k": kind, "t": type_, "a": at, "b": b, "p": prev,
                                                              "h": h})
            prev = h
    with pytest.raises(StoreError, match="older regsho"):
        st.books()
    st.migrate()
    assert st.verify().ok
    day2 = DAY2.replace("locate: L1}", "}")
    assert st.import_file(_write(tmp_path, "day2.yaml", day2)).events == 2
    assert st.verify().ok and len(st.load_book("FIRM").events) == 3
    st.close()
