"""The live service: API keys (hashed), the answers to idempotent requests, engine snapshots.

None of these tables is part of the chain: the chain holds the facts (every event and decision, with who submitted
it and under which idempotency key). Keys are hashed with SHA-256 (high-entropy random keys need no slow hash);
requests keep the first answer given to a key so that a retry gets it again; snapshots are the engine's state
tied to the chain by the seq and hash of the last record they include, and checked against it before use.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regsho_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "regsho_requests",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("book", sa.String(200), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Index("ix_regsho_requests_created", "created_at"),
    )
    op.create_table(
        "regsho_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("book", sa.String(200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Index("ix_regsho_snapshots_book_seq", "book", "seq"),
    )


def downgrade() -> None:
    op.drop_table("regsho_snapshots")
    op.drop_table("regsho_requests")
    op.drop_table("regsho_keys")
