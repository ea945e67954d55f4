"""Inserts only at the tail (REPLACE and upserts refused), the verified point, an index on record kinds.

A record may only be inserted after the last one: its seq above every seq, chained to the last record's hash,
its hash new. On SQLite ``REPLACE INTO`` (``INSERT OR REPLACE``) deletes the row it replaces without firing DELETE
triggers (unless ``recursive_triggers`` is on), so the BEFORE INSERT trigger is what refuses it; on PostgreSQL
``INSERT ... ON CONFLICT DO UPDATE`` is refused by the same check (and would fire the UPDATE trigger besides).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MESSAGE = "regsho_log is append-only: a record may only be added after the last one (seq, chain and hash)"
_GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "regsho_verified",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("verified_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_regsho_log_kind", "regsho_log", ["kind", "type"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # An insert that does not name its seq sees NEW.seq = -1 here: refused too (the store always names it).
        op.execute(
            "CREATE TRIGGER regsho_log_insert_at_tail BEFORE INSERT ON regsho_log "
            "WHEN NEW.seq IS NULL OR NEW.seq < 1 "
            "OR NEW.seq <= coalesce((SELECT max(seq) FROM regsho_log), 0) "
            f"OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM regsho_log ORDER BY seq DESC LIMIT 1), '{_GENESIS}') "
            "OR EXISTS (SELECT 1 FROM regsho_log WHERE hash = NEW.hash) "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION regsho_log_insert_at_tail() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "DECLARE tail_seq bigint; tail_hash text; "
            "BEGIN "
            "SELECT seq, hash INTO tail_seq, tail_hash FROM regsho_log ORDER BY seq DESC LIMIT 1; "
            "IF NEW.seq IS NULL OR NEW.seq < 1 OR NEW.seq <= coalesce(tail_seq, 0) "
            f"OR NEW.prev_hash IS DISTINCT FROM coalesce(tail_hash, '{_GENESIS}') "
            "OR EXISTS (SELECT 1 FROM regsho_log WHERE hash = NEW.hash) THEN "
            f"RAISE EXCEPTION '{_MESSAGE}'; "
            "END IF; "
            "RETURN NEW; "
            "END $$"
        )
        op.execute("CREATE TRIGGER regsho_log_insert_at_tail BEFORE INSERT ON regsho_log "
                   "FOR EACH ROW EXECUTE FUNCTION regsho_log_insert_at_tail()")
    else:  # pragma: no cover
        raise RuntimeError(f"unsupported database {dialect}: use SQLite or PostgreSQL")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS regsho_log_insert_at_tail")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS regsho_log_insert_at_tail ON regsho_log")
        op.execute("DROP FUNCTION IF EXISTS regsho_log_insert_at_tail()")
    op.drop_index("ix_regsho_log_kind", table_name="regsho_log")
    op.drop_table("regsho_verified")
