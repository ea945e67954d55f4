"""One writer at a time: concurrent `regsho store import` processes into one SQLite file and one PostgreSQL
database either both succeed or one is refused with a clear message, and the chain verifies afterwards."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.store.tamper import DAY1, OTHER, all_rows, write

from regsho.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]


def _imports(db: str, *files: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start one `regsho store import` process per file, all at once, and wait for them all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-m", "regsho.cli.main", "store", "import", str(f), "--db", db],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for f in files]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _many_events(firm: str, n: int) -> str:
    lines = [f"version: 1\nname: {firm} busy day\nfirm: {{id: {firm}}}\nsecurities: {{XYZ: {{}}}}\n"
             f"accounts: {{A1: {{bd: {firm}, type: customer}}}}\nevents:"]
    for i in range(n):
        lines.append(f'  - {{at: "2024-06-03T{9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}", type: order, '
                     f"id: O{i}, account: A1, symbol: XYZ, side: buy, qty: 100}}")
    return "\n".join(lines) + "\n"


def test_concurrent_imports_into_two_books_both_succeed(store: Store, tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", _many_events("FIRM", 120))
    b = write(tmp_path, "b.yaml", _many_events("OTHER", 120))
    url = store.engine.url.render_as_string(hide_password=False)
    results = _imports(url, a, b)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    res = store.verify()
    assert res.ok, res.message
    assert store.books() == ["FIRM", "OTHER"]
    assert len(store.load_book("FIRM").events) == len(store.load_book("OTHER").events) == 120
    # Each import wrote its records in one block: the chain did not fork or interleave.
    books = [r.book for r in all_rows(store)]
    assert books in (["FIRM"] * 242 + ["OTHER"] * 242, ["OTHER"] * 242 + ["FIRM"] * 242)


def test_the_same_file_imported_by_three_processes_at_once_is_recorded_once(store: Store, tmp_path: Path) -> None:
    f = write(tmp_path, "day.yaml", _many_events("FIRM", 80))
    url = store.engine.url.render_as_string(hide_password=False)
    results = _imports(url, f, f, f)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2, 2], [r.stderr for r in results]
    for r in results:
        if r.returncode:
            assert r.stderr.count("\n") == 1 and "already imported" in r.stderr
            assert "Traceback" not in r.stderr
    assert store.verify().ok
    assert len(store.load_book("FIRM").events) == 80


def test_a_writer_waits_for_the_lock_then_is_refused_in_one_line(store: Store, tmp_path: Path) -> None:
    """The lock is taken before the tail is read: while another writer holds it, an import waits, then gives up
    with a clear message and writes nothing."""
    store.import_file(write(tmp_path, "day1.yaml", DAY1))
    url = store.engine.url.render_as_string(hide_password=False)
    impatient = Store(url, timeout=0.5)
    before = all_rows(store)
    try:
        if store.engine.dialect.name == "sqlite":
            holder = sqlite3.connect(str(store.engine.url.database), isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            release = holder.rollback
        else:
            conn = store.engine.connect()
            conn.begin()
            conn.execute(sa.text("LOCK TABLE regsho_log IN EXCLUSIVE MODE"))
            release = conn.rollback
        try:
            with pytest.raises(StoreError, match=r"is busy: another writer held it for 0.5 s; nothing was "
                                                 r"written") as e:
                impatient.import_file(write(tmp_path, "other.yaml", OTHER))
            assert "\n" not in str(e.value)
        finally:
            release()
    finally:
        impatient.close()
    assert all_rows(store) == before
    impatient2 = Store(url, timeout=5)
    try:
        impatient2.import_file(write(tmp_path, "other.yaml", OTHER))
    finally:
        impatient2.close()
    assert store.verify().ok
