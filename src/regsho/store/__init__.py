"""Append-only storage: the event log is the authority, projections are rebuilt by replay, and the audit trail
is a SHA-256 hash chain that UPDATE, DELETE, REPLACE and upserts cannot touch (database triggers), checked before
every read and write and against signed checkpoints kept outside the database.

SQLite by default; PostgreSQL in production (``postgresql+psycopg://...``). Schema changes are Alembic
migrations, applied by ``Store.migrate``. See docs/store.md.
"""

from regsho.store.chain import Problem, VerifyResult
from regsho.store.errors import AlreadyImported, ChainBroken, StoreError
from regsho.store.log import AmendSummary, ImportSummary, Store

__all__ = ["AlreadyImported", "AmendSummary", "ChainBroken", "ImportSummary", "Problem", "Store", "StoreError",
           "VerifyResult"]
