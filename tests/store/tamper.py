"""What an attacker with write access to the database does: drop the triggers, then change rows with raw SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from regsho.store import Store
from regsho.store.chain import GENESIS, record_hash

FIELDS = ("book", "kind", "type", "event_time", "recorded_at", "source", "body", "prev_hash", "hash")

DAY1 = """
version: 1
name: day one
firm: {id: FIRM}
securities: {XYZ: {}}
accounts: {A1: {bd: FIRM, type: customer}}
events:
  - {at: "2024-06-03T08:00", type: locate, id: L1, account: A1, symbol: XYZ, qty: 1000}
  - {at: "2024-06-03T09:45", type: order, id: O1, account: A1, symbol: XYZ, side: sell_short, qty: 600, locate: L1}
  - {at: "2024-06-03T09:46", type: fill, order: O1, qty: 600}
"""

DAY2 = """
version: 1
name: day two
firm: {id: FIRM}
securities: {XYZ: {}, ABC: {}}
accounts: {A1: {bd: FIRM, type: customer}}
events:
  - {at: "2024-06-04T09:45", type: order, id: O2, account: A1, symbol: XYZ, side: sell_short, qty: 100, locate: L1}
  - {at: "2024-06-04T09:46", type: order, id: O3, account: A1, symbol: ABC, side: buy, qty: 100}
"""

OTHER = """
version: 1
name: other firm
firm: {id: OTHER}
securities: {XYZ: {}}
accounts: {B1: {bd: OTHER, type: customer}}
events:
  - {at: "2024-06-03T08:00", type: locate, id: L9, account: B1, symbol: XYZ, qty: 500}
  - {at: "2024-06-03T09:45", type: order, id: P1, account: B1, symbol: XYZ, side: sell_short, qty: 500, locate: L9}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def drop_triggers(st: Store) -> None:
    with st.engine.begin() as conn:
        if st.engine.dialect.name == "sqlite":
            for t in ("regsho_log_no_update", "regsho_log_no_delete", "regsho_log_insert_at_tail"):
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {t}"))
        else:
            conn.execute(sa.text("ALTER TABLE regsho_log DISABLE TRIGGER USER"))


def sql(st: Store, *statements: str, **params: Any) -> None:
    drop_triggers(st)
    with st.engine.begin() as conn:
        for s in statements:
            conn.execute(sa.text(s), params)


def all_rows(st: Store) -> list[Any]:
    with st.engine.connect() as conn:
        return list(conn.execute(sa.text(f"SELECT seq, {', '.join(FIELDS)} FROM regsho_log ORDER BY seq")))


def rehash_all(st: Store) -> None:
    """Recompute every record's chain and hash from the first, as a forger would after editing."""
    drop_triggers(st)
    prev = GENESIS
    with st.engine.begin() as conn:
        for r in all_rows(st):
            h = record_hash(prev, r.book, r.kind, r.type, r.event_time, r.recorded_at, r.source, r.body)
            conn.execute(sa.text("UPDATE regsho_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": h, "s": r.seq})
            prev = h
        conn.execute(sa.text("UPDATE regsho_verified SET seq = :s, hash = :h"), {"s": r.seq, "h": prev})


def swap(st: Store, a: int, b: int) -> None:
    """Exchange two records' contents (hashes included), keeping their seq: a reordering."""
    rows = {r.seq: r for r in all_rows(st)}
    drop_triggers(st)
    with st.engine.begin() as conn:
        conn.execute(sa.text("UPDATE regsho_log SET hash = 'swap-' || seq WHERE seq IN (:a, :b)"), {"a": a, "b": b})
        for dst, src in ((a, rows[b]), (b, rows[a])):
            conn.execute(sa.text(f"UPDATE regsho_log SET {', '.join(f'{f} = :{f}' for f in FIELDS)} "
                                 f"WHERE seq = :seq"), {**{f: getattr(src, f) for f in FIELDS}, "seq": dst})
