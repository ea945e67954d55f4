"""The live service over SQLite and over a real PostgreSQL server (``pg_server`` in tests/conftest.py), each test
with a fresh database; keys for every role; a book to trade in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import pg_database

from regsho.app.access import Role
from regsho.store import Store
from regsho.store.keys import add_key

__all__ = ["HEADER", "make_keys", "pg_database"]

HEADER: dict[str, Any] = {
    "version": 1,
    "name": "live desk",
    "firm": {"id": "ACME"},
    "securities": {"NOVA": {"shares_outstanding": 80_000_000}, "KELP": {"shares_outstanding": 12_000_000},
                   "BRIK": {"shares_outstanding": 4_000_000}},
    "accounts": {"HF1": {"bd": "ACME", "type": "customer"}, "HF2": {"bd": "ACME", "type": "customer"}},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "live.db")
    return pg_database(request.getfixturevalue("pg_server"), "regsho_svc")


def make_keys(db: str) -> dict[str, str]:
    """A store with the test book and one key per role (and a second compliance officer)."""
    st = Store(db)
    st.migrate()
    st.import_document({**HEADER, "events": []}, "header", "ACME", by="setup")
    keys = {r.value: add_key(st, f"{r.value}-1", r.value, "setup")[1] for r in Role}
    keys["compliance2"] = add_key(st, "compliance-2", Role.COMPLIANCE.value, "setup")[1]
    st.close()
    return keys


@pytest.fixture
def keys(db_url: str) -> dict[str, str]:
    return make_keys(db_url)
