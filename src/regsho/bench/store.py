"""Benchmark: what verifying the book of records costs (``regsho bench store``).

A temporary SQLite store gets one large book (``events`` position events, imported in one transaction) and a
small one (ten orders). Timed: the import; the full walk of the chain (``store verify``); the check every read
makes from the last verified point (``verify_before_read``); reading the small book with and without a verified
point. The baseline, in the same run over the same records, is SHA-256 of every record's fields in memory — the
least a full verification must do.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from regsho.store import Store
from regsho.store.chain import row_hash


def _bulk(events: int) -> dict[str, Any]:
    start = dt.datetime(2025, 3, 10, 7, 0)
    evs = [{"at": (start + dt.timedelta(milliseconds=i)).isoformat(timespec="milliseconds"), "type": "position",
            "account": f"A{i % 10}", "symbol": f"S{i % 100:02d}", "qty": 100 + i % 1_000} for i in range(events)]
    return {"version": 1, "name": "bulk", "firm": {"id": "BULK"},
            "securities": {f"S{i:02d}": {} for i in range(100)},
            "accounts": {f"A{i}": {"bd": "BULK", "type": "customer"} for i in range(10)}, "events": evs}


def _small() -> dict[str, Any]:
    evs = [{"at": f"2025-03-10T09:{30 + i:02d}", "type": "order", "id": f"O{i}", "account": "A1", "symbol": "XYZ",
            "side": "buy", "qty": 100} for i in range(10)]
    return {"version": 1, "name": "small", "firm": {"id": "SMALL"}, "securities": {"XYZ": {}},
            "accounts": {"A1": {"bd": "SMALL", "type": "customer"}}, "events": evs}


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(events: int = 100_000, console: Console | None = None) -> dict[str, float]:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="regsho-bench-") as tmp:
        st = Store(str(Path(tmp) / "bench.db"))
        try:
            st.migrate()
            t_import, _ = _timed(lambda: st.import_document(_bulk(events), "bulk", by="bench"))
            st.import_document(_small(), "small", by="bench")
            with st.engine.connect() as conn:
                rows = list(conn.execute(sa.text("SELECT * FROM regsho_log ORDER BY seq")))
            t_hash, _ = _timed(lambda: [row_hash(r) for r in rows])
            t_full, res = _timed(st.verify)
            assert res.ok, res.message
            t_incr, _ = _timed(st.verify_before_read)
            t_read, _ = _timed(lambda: st.load_book("SMALL"))
            with st.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM regsho_verified"))
            t_cold, _ = _timed(lambda: st.load_book("SMALL"))
        finally:
            st.close()
    n = len(rows)
    table = Table(title=f"store verification, {n:,} records (SQLite, temporary file)", title_justify="left")
    for col in ("measure", "time", "rate / ratio"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    table.add_row("import (validate, replay, write)", f"{t_import:.2f} s", f"{events / t_import:,.0f} events/s")
    table.add_row("baseline: SHA-256 of every record in memory", f"{t_hash:.3f} s", f"{n / t_hash:,.0f} records/s")
    table.add_row("store verify (full walk)", f"{t_full:.3f} s",
                  f"{n / t_full:,.0f} records/s ({t_full / t_hash:.1f}× baseline)")
    table.add_row("verify before read, from the verified point", f"{t_incr * 1000:.1f} ms",
                  f"{t_incr / t_full:.4f}× full walk")
    table.add_row("load_book of a 10-event book", f"{t_read * 1000:.1f} ms", f"{t_read / t_full:.4f}× full walk")
    table.add_row("the same with no verified point (walks all)", f"{t_cold:.3f} s",
                  f"{t_cold / t_full:.2f}× full walk")
    console.print(table)
    return {"records": n, "import": t_import, "hash": t_hash, "full": t_full, "incremental": t_incr,
            "read": t_read, "cold": t_cold}
