"""Records that hold: every kind of tampering named by record, checkpoints, verify before read, REPLACE and upserts
refused. Tampering is done as an attacker with database access would: triggers dropped, raw SQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.store.tamper import DAY1, DAY2, OTHER, all_rows, rehash_all, sql, swap, write

from regsho.store import ChainBroken, Store, StoreError
from regsho.store.checkpoint import keygen


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    """FIRM day one, then OTHER, then FIRM day two: two books interleaved in one chain."""
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    store.import_file(write(tmp_path, "other.yaml", OTHER))
    store.import_file(write(tmp_path, "day2.yaml", DAY2))
    return store


@pytest.fixture
def key(tmp_path: Path) -> Path:
    k = tmp_path / "checkpoint.key"
    keygen(k)
    return k


def _checkpoint(st: Store, key: Path, tmp_path: Path) -> Path:
    cp = tmp_path / "cp.json"
    cp.write_text(json.dumps(st.checkpoint(key)))
    return cp


def _seqs(st: Store, book: str, kind: str | None = None) -> list[int]:
    return [r.seq for r in all_rows(st) if r.book == book and (kind is None or r.kind == kind)]


def _last(st: Store) -> int:
    return all_rows(st)[-1].seq


def test_an_untouched_store_verifies_with_and_without_its_checkpoint(filled: Store, key: Path,
                                                                     tmp_path: Path) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    assert filled.verify().ok
    res = filled.verify(cp, key)
    assert res.ok, res.message
    assert "matches the checkpoint" in res.message


def test_an_edit_is_named(filled: Store) -> None:
    target = _seqs(filled, "FIRM", "event")[0]
    sql(filled, "UPDATE regsho_log SET body = replace(body, '1000', '9000') WHERE seq = :s", s=target)
    res = filled.verify()
    assert [str(p) for p in res.problems] == [f"record {target}: edited: its contents no longer hash to its "
                                              f"stored hash"]


def test_every_broken_record_is_reported_not_only_the_first(filled: Store) -> None:
    a, b = _seqs(filled, "FIRM", "event")[0], _seqs(filled, "OTHER", "event")[1]
    sql(filled, "UPDATE regsho_log SET source = 'x' WHERE seq = :a", "UPDATE regsho_log SET source = 'y' "
        "WHERE seq = :b", a=a, b=b)
    res = filled.verify()
    assert [p.seq for p in res.problems] == [a, b]


def test_a_deletion_in_the_middle_is_named(filled: Store) -> None:
    gone = _seqs(filled, "OTHER", "event")[0]
    sql(filled, "DELETE FROM regsho_log WHERE seq = :s", s=gone)
    res = filled.verify()
    assert not res.ok
    p, counted = res.problems
    assert str(counted) == "1 record at or before the last verified record (record 17) removed"
    assert p.seq == gone + 1
    assert f"a record between {gone - 1} and {gone + 1} was removed" in p.what


def test_a_reordering_is_named(filled: Store) -> None:
    a = _seqs(filled, "FIRM", "event")[0]
    swap(filled, a, a + 1)
    res = filled.verify()
    named = {p.seq for p in res.problems}
    assert {a, a + 1} <= named
    assert any("reordered" in p.what for p in res.problems)


def test_a_cut_tail_needs_the_checkpoint_and_is_named_by_it(filled: Store, key: Path, tmp_path: Path) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    last = _last(filled)
    sql(filled, "DELETE FROM regsho_log WHERE seq > :s", "DELETE FROM regsho_verified", s=last - 2)
    assert filled.verify().ok  # the chain alone cannot tell
    res = filled.verify(cp, key)
    assert not res.ok
    assert res.problems[0].seq == last
    assert "cut back" in res.problems[0].what
    assert any("2 records at or before the checkpoint's head" in str(p) for p in res.problems)


def test_a_book_deleted_at_the_tail_is_named_by_the_checkpoint(store: Store, key: Path, tmp_path: Path) -> None:
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    store.import_file(write(tmp_path, "other.yaml", OTHER))
    cp = _checkpoint(store, key, tmp_path)
    n_other = len(_seqs(store, "OTHER"))
    sql(store, "DELETE FROM regsho_log WHERE book = 'OTHER'", "DELETE FROM regsho_verified")
    assert store.verify().ok  # the chain alone cannot tell
    res = store.verify(cp, key)
    assert f"book OTHER: all {n_other} of its records at the checkpoint are gone: the book was deleted" in [
        str(p) for p in res.problems]


def test_a_book_deleted_in_the_middle_breaks_the_chain(filled: Store) -> None:
    other = _seqs(filled, "OTHER")
    sql(filled, "DELETE FROM regsho_log WHERE book = 'OTHER'")
    res = filled.verify()
    assert [p.seq for p in res.problems] == [other[-1] + 1, None]  # the link broken, the verified count short


def test_every_hash_recomputed_is_caught_by_the_checkpoint_with_the_record_named(
        filled: Store, key: Path, tmp_path: Path) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    edited = _seqs(filled, "FIRM", "event")[1]
    sql(filled, "UPDATE regsho_log SET body = replace(body, '600', '60') WHERE seq = :s", s=edited)
    rehash_all(filled)
    assert filled.verify().ok  # the chain alone cannot tell
    res = filled.verify(cp, key)
    assert not res.ok
    assert res.problems[0].seq == _last(filled)
    # The checkpoint's spot records place the first change exactly (a small log keeps every record's hash).
    assert any(p.seq == edited and f"after record {edited - 1} and at or before record {edited}" in p.what
               for p in res.problems)


def test_a_forged_checkpoint_is_refused(filled: Store, key: Path, tmp_path: Path) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    doc = json.loads(cp.read_text())
    doc["head"]["records"] -= 1
    cp.write_text(json.dumps(doc))
    with pytest.raises(ChainBroken, match="bad signature"):
        filled.verify(cp, key)
    other = tmp_path / "other.key"
    keygen(other)
    doc = json.loads(_checkpoint(filled, key, tmp_path).read_text())
    with pytest.raises(ChainBroken, match="bad signature"):
        filled.verify(cp, other)
    assert doc["signature"].startswith("hmac-sha256:")


def test_reads_verify_first(filled: Store) -> None:
    filled.load_book("FIRM")
    target = _seqs(filled, "FIRM", "event")[-1]
    sql(filled, "UPDATE regsho_log SET body = replace(body, '100', '900') WHERE seq = :s", s=target)
    for read in (lambda: filled.load_book("FIRM"), lambda: filled.replay_book("FIRM"),
                 lambda: filled.history("FIRM"), lambda: list(filled.rows("FIRM"))):
        with pytest.raises(ChainBroken, match=f"record {target}: edited"):
            read()


def test_reads_catch_an_edit_before_the_verified_point(filled: Store) -> None:
    filled.load_book("FIRM")  # the verified point is now the tail
    target = _seqs(filled, "FIRM", "event")[0]
    sql(filled, "UPDATE regsho_log SET body = replace(body, '1000', '9000') WHERE seq = :s", s=target)
    with pytest.raises(ChainBroken, match=f"record {target}: edited"):
        filled.load_book("FIRM")


def test_reads_and_verify_catch_a_cut_tail_after_a_verified_read(filled: Store) -> None:
    filled.books()
    last = _last(filled)
    sql(filled, "DELETE FROM regsho_log WHERE seq = :s", s=last)
    with pytest.raises(ChainBroken, match="the last verified record is missing"):
        filled.load_book("OTHER")
    assert str(filled.verify().problems[0]) == (
        f"record {last}: the last verified record is missing: the log was cut back (records removed at its end)")


def test_reads_and_writes_check_a_configured_checkpoint(filled: Store, key: Path, tmp_path: Path) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    edited = _seqs(filled, "OTHER", "event")[0]
    sql(filled, "UPDATE regsho_log SET body = replace(body, '500', '50') WHERE seq = :s", s=edited)
    rehash_all(filled)  # the verified point is forged too
    watched = Store(str(filled.engine.url.render_as_string(hide_password=False)), checkpoint=cp, key=key)
    try:
        with pytest.raises(ChainBroken, match="checkpoint's head no longer has the hash"):
            watched.load_book("FIRM")
        with pytest.raises(ChainBroken, match="nothing was written"):
            watched.import_file(write(tmp_path, "late.yaml", DAY2.replace("2024-06-04", "2024-06-05")
                                      .replace("O2", "O4").replace("O3", "O5")))
    finally:
        watched.close()


def test_the_checkpoint_can_come_from_the_environment(filled: Store, key: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cp = _checkpoint(filled, key, tmp_path)
    monkeypatch.setenv("REGSHO_CHECKPOINT", str(cp))
    monkeypatch.setenv("REGSHO_CHECKPOINT_KEY", str(key))
    url = filled.engine.url.render_as_string(hide_password=False)
    sql(filled, "DELETE FROM regsho_log WHERE seq = :s", "DELETE FROM regsho_verified", s=_last(filled))
    watched = Store(url)
    try:
        with pytest.raises(ChainBroken, match="cut back"):
            watched.books()
        assert "cut back" in str(watched.verify().problems[0])
    finally:
        watched.close()


def test_appending_to_a_broken_chain_is_refused(filled: Store, tmp_path: Path) -> None:
    sql(filled, "UPDATE regsho_log SET source = 'x' WHERE seq = 2")
    with pytest.raises(ChainBroken, match="nothing was written"):
        filled.import_file(write(tmp_path, "again.yaml", DAY1.replace("day one", "again")))


@pytest.mark.parametrize("stmt", [
    "REPLACE INTO regsho_log (seq, book, kind, type, event_time, recorded_at, source, body, prev_hash, hash) "
    "SELECT seq, book, kind, type, event_time, recorded_at, source, '{}', prev_hash, hash FROM regsho_log "
    "WHERE seq = 3",
    "INSERT OR REPLACE INTO regsho_log (seq, book, kind, type, event_time, recorded_at, source, body, prev_hash, "
    "hash) SELECT seq, book, kind, type, event_time, recorded_at, source, '{}', prev_hash, 'f' FROM regsho_log "
    "WHERE seq = 3",
])
def test_replace_is_refused_on_sqlite(filled: Store, stmt: str) -> None:
    if filled.engine.dialect.name != "sqlite":
        pytest.skip("REPLACE INTO is SQLite's")
    before = all_rows(filled)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), filled.engine.begin() as conn:
        conn.execute(sa.text(stmt))
    assert all_rows(filled) == before
    assert filled.verify().ok


def test_upserts_are_refused(filled: Store) -> None:
    before = all_rows(filled)
    stmt = ("INSERT INTO regsho_log (seq, book, kind, type, event_time, recorded_at, source, body, prev_hash, hash) "
            "SELECT seq, book, kind, type, event_time, recorded_at, source, body, prev_hash, hash FROM regsho_log "
            "WHERE seq = 3 ON CONFLICT (seq) DO UPDATE SET body = '{}'")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), filled.engine.begin() as conn:
        conn.execute(sa.text(stmt + (" WHERE true" if filled.engine.dialect.name == "sqlite" else "")))
    assert all_rows(filled) == before


def test_an_insert_not_chained_to_the_tail_is_refused(filled: Store) -> None:
    last = all_rows(filled)[-1]
    for seq, prev in ((last.seq + 1, "f" * 64), (last.seq + 1, None), (None, None)):
        cols = "book, kind, type, event_time, recorded_at, source, body, prev_hash, hash"
        vals = (f"'FIRM', 'event', 'fill', '', '', '', '{{}}', '{prev or last.hash}', '{'a' * 64}'")
        if seq is not None and prev is None:
            vals = vals.replace(f"'{'a' * 64}'", f"'{last.hash}'")  # a hash already recorded
        stmt = (f"INSERT INTO regsho_log ({'seq, ' if seq else ''}{cols}) VALUES "
                f"({f'{seq}, ' if seq else ''}{vals})")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), filled.engine.begin() as conn:
            conn.execute(sa.text(stmt))
    assert filled.verify().ok


def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    k = tmp_path / "k"
    keygen(k)
    assert (k.stat().st_mode & 0o777) == 0o600
    with pytest.raises(StoreError, match="never overwritten"):
        keygen(k)
    if os.name == "posix":
        from regsho.store.checkpoint import load_key

        k.chmod(0o644)
        with pytest.raises(StoreError, match="can be read by others"):
            load_key(k)
