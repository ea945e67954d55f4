"""Append-only storage: the event log is the authority, projections are rebuilt by replay, and the audit trail
is a SHA-256 hash chain that UPDATE and DELETE cannot touch (database triggers).

SQLite by default; PostgreSQL in production (``postgresql+psycopg://...``). Schema changes are Alembic
migrations, applied by ``Store.migrate``.
"""

from regsho.store.log import Store, StoreError, VerifyResult

__all__ = ["Store", "StoreError", "VerifyResult"]
