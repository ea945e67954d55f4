"""Alembic environment: migrations run on the connection the store hands over."""

from __future__ import annotations

from alembic import context

from regsho.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("regsho migrations run through regsho.store.Store.migrate()")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
