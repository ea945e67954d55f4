"""The live writer's append (``LiveLog.append``), on SQLite and PostgreSQL: batches chained after the tail the
writer last saw, the answers kept with them, what another writer appended caught up with (or refused when it is
the same book), a busy store refused with nothing written, and a store that verifies afterwards."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from regsho.store import Store, StoreError
from regsho.store.chain import Point
from regsho.store.live import Answer, ForeignWrite, LiveLog, Record, requests
from regsho.store.schema import log

HEADER = {"version": 1, "name": "t", "firm": {"id": "ACME"}, "securities": {"KELP": {"shares_outstanding": 10}},
          "accounts": {"HF1": {"bd": "ACME", "type": "customer"}}}


def _records(n: int, tag: str) -> list[Record]:
    return [Record("request", "locate", "2025-03-10T09:30:00-04:00", f"api t key {tag}{i}",
                   f'{{"id":"{tag}{i}","note":"é"}}') for i in range(n)]


def _answers(n: int, tag: str) -> list[Answer]:
    return [Answer(f"{tag}-key-{i}", "t", "f" * 64, i, 200, f'{{"n":{i}}}') for i in range(n)]


def _book(store: Store, name: str) -> None:
    store.import_document({**HEADER, "firm": {"id": name}, "accounts": {"HF1": {"bd": name, "type": "customer"}},
                           "events": []}, f"{name} header", name, by="setup")


def test_batches_chain_after_the_tail_and_keep_their_answers(store: Store) -> None:
    _book(store, "ACME")
    live = LiveLog(store)
    point = live.verified_tail()
    for b in range(3):
        got = live.append("ACME", point, _records(5, f"b{b}-"), lambda base, b=b: _answers(5, f"b{b}"))
        assert got.point.seq == point.seq + 5 and got.point.records == point.records + 5 and not got.foreign
        point = got.point
    assert live.append("ACME", point, [], ()).point == point  # nothing to write: the tail stays
    assert store.verify().ok
    with store._reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one() == 15
        seqs = dict(conn.execute(sa.select(requests.c.key, requests.c.seq)).all())
        tail = conn.execute(sa.select(log.c.seq, log.c.hash).order_by(log.c.seq.desc()).limit(1)).one()
    assert (tail.seq, tail.hash) == (point.seq, point.hash)
    assert seqs["b2-key-4"] == point.seq and seqs["b0-key-0"] == point.seq - 14
    assert live.verified_tail() == point
    live.release()


def test_another_writer_of_another_book_is_caught_up(store: Store) -> None:
    _book(store, "ACME")
    live = LiveLog(store)
    point = live.verified_tail()
    point = live.append("ACME", point, _records(2, "a")).point
    _book(store, "OTHER")  # another writer appends after this writer's tail
    got = live.append("ACME", point, _records(2, "c"))
    assert got.foreign == frozenset({"OTHER"}) and got.point.seq > point.seq + 2
    assert store.verify().ok


def test_another_writer_of_the_same_book_refuses_the_batch(store: Store) -> None:
    _book(store, "ACME")
    live, other = LiveLog(store), LiveLog(store)
    point = live.verified_tail()
    other.append("ACME", point, _records(1, "o"))
    with pytest.raises(ForeignWrite):
        live.append("ACME", point, _records(1, "a"))
    assert store.verify().ok


def test_a_stale_tail_that_no_longer_holds_is_refused(store: Store) -> None:
    _book(store, "ACME")
    live = LiveLog(store)
    point = live.verified_tail()
    with pytest.raises(StoreError):  # a tail the log never had: the chain does not hold from it
        live.append("ACME", Point(point.seq + 5, "0" * 64, point.records + 5), _records(1, "x"))
    assert live.verified_tail() == point


def test_a_busy_sqlite_store_writes_nothing_and_the_next_batch_lands(tmp_path: Path) -> None:
    db = str(tmp_path / "busy.db")
    st = Store(db, timeout=0.2)
    st.migrate()
    _book(st, "ACME")
    live = LiveLog(st)
    point = live.verified_tail()
    point = live.append("ACME", point, _records(1, "a")).point  # the writer's connection is open
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="busy"):
            live.append("ACME", point, _records(3, "b"), _answers(3, "b"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert live.verified_tail() == point
    got = live.append("ACME", point, _records(3, "c"), _answers(3, "c"))
    assert got.point.seq == point.seq + 3 and st.verify().ok
    st.close()


def test_each_writer_thread_has_its_own_connection(tmp_path: Path) -> None:
    db = str(tmp_path / "threads.db")
    st = Store(db)
    st.migrate()
    for name in ("A", "B"):
        _book(st, name)
    live = LiveLog(st)
    tails = {"A": live.verified_tail(), "B": live.verified_tail()}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def write(name: str) -> None:
        try:
            for i in range(20):
                with lock:  # one writer at a time per book, as the live books do; the store orders the rest
                    tails[name] = live.append(name, tails[name], _records(2, f"{name}{i}-")).point
                    other = "B" if name == "A" else "A"
                    tails[other] = tails[name]  # both writers continue from the store's tail
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            live.release()

    threads = [threading.Thread(target=write, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert st.verify().ok and st.verify().records == live.verified_tail().records
    st.close()
