"""The append-only, hash-chained log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MESSAGE = "regsho_log is append-only: records are corrected by new records, never changed"


def upgrade() -> None:
    op.create_table(
        "regsho_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("book", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("event_time", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_regsho_log_book_seq", "regsho_log", ["book", "seq"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER regsho_log_no_{what.lower()} BEFORE {what} ON regsho_log "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION regsho_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
        )
        op.execute("CREATE TRIGGER regsho_log_no_change BEFORE UPDATE OR DELETE ON regsho_log "
                   "FOR EACH ROW EXECUTE FUNCTION regsho_log_append_only()")
        op.execute("CREATE TRIGGER regsho_log_no_truncate BEFORE TRUNCATE ON regsho_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION regsho_log_append_only()")
    else:  # pragma: no cover
        raise RuntimeError(f"unsupported database {dialect}: use SQLite or PostgreSQL")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS regsho_log_no_truncate ON regsho_log")
        op.execute("DROP TRIGGER IF EXISTS regsho_log_no_change ON regsho_log")
        op.execute("DROP FUNCTION IF EXISTS regsho_log_append_only()")
    op.drop_index("ix_regsho_log_book_seq", table_name="regsho_log")
    op.drop_table("regsho_log")
