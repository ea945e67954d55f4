"""The store's tables (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row per record, in the order written. ``kind`` is ``header`` (a book's firm, securities and accounts),
#: ``event`` (an input event in scenario form) or ``decision`` (a gate decision as made when the event was
#: recorded). ``hash`` chains every row to the one before it.
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
)
