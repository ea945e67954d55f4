"""The store's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row per record, in the order written. ``kind`` is ``header`` (a book's firm, securities and accounts),
#: ``event`` (an input event in scenario form), ``decision`` (a gate decision as made when the event was
#: recorded), ``import`` (one per imported file: its SHA-256, name, who and when) or ``amend`` (a correction or a
#: cancellation of an earlier event, pointing at it by seq and hash, with who and why).
#: ``hash`` chains every row to the one before it.
log = sa.Table(
    "regsho_log",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("book", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("event_time", sa.String(40), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Index("ix_regsho_log_book_seq", "book", "seq"),
    sa.Index("ix_regsho_log_kind", "kind", "type"),
)

#: The last point up to which the whole chain was verified (one row, ``id = 1``): reads and writes check the chain
#: from there on instead of from the first record. Not part of the chain and not append-only: it is a cache of a
#: verification, and every use re-checks it against the chain (see docs/store.md).
verified = sa.Table(
    "regsho_verified",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("records", sa.BigInteger(), nullable=False),
    sa.Column("verified_at", sa.String(40), nullable=False),
)
