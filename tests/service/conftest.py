"""The live service over SQLite and over a real PostgreSQL server (``pg_server`` in tests/conftest.py), each test
with a fresh database; keys for every role; a book to trade in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import pg_database

from regsho.app.access import Role
from regsho.service import create_app
from regsho.store import Store
from regsho.store.keys import add_key

__all__ = ["AT", "HEADER", "Api", "make_keys", "open_day", "pg_database"]

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


_ids = itertools.count()
AT = "2025-03-10T{}:00-04:00"


class Api:
    """A client of the service holding a key per role; every write gets a new idempotency key unless given one."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.c = client
        self.keys = keys

    def post(self, path: str, body: Any, role: str = "admin", key: str | None = None, **kw: Any) -> Any:
        headers = {"X-API-Key": self.keys[role], "Idempotency-Key": key or f"k{next(_ids)}"}
        return self.c.post(path, json=body, headers=headers, **kw)

    def get(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.c.get(path, headers={"X-API-Key": self.keys[role]}, **kw)

    def ok(self, path: str, body: Any, role: str = "admin", **kw: Any) -> dict[str, Any]:
        r = self.post(path, body, role, **kw)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def short(self, oid: str, qty: int, time: str, **kw: Any) -> dict[str, Any]:
        """A trader's short sale of HF1 in KELP at 18.50, checked; the whole answer."""
        return self.ok("/v1/orders/check", {"id": oid, "account": "HF1", "symbol": "KELP", "side": "sell_short",
                                            "qty": qty, "price": "18.50", "at": AT.format(time), **kw}, "trader")

    def engine(self, book: str = "ACME") -> Any:
        """The live engine of ``book`` in the running service."""
        st = self.c.app.state.service.books[book].state  # type: ignore[attr-defined]
        assert st is not None
        return st.engine


def open_day(api: Api) -> None:
    """The day's threshold and hard-to-borrow lists (empty) and a 5,000-share locate L1 of HF1 in KELP."""
    for kind in ("threshold", "htb"):
        api.ok(f"/v1/lists/{kind}", {"symbols": [], "at": AT.format("06:30")}, "locate_desk")
    api.ok("/v1/locates", {"id": "L1", "account": "HF1", "symbol": "KELP", "qty": 5000, "at": AT.format("08:00")},
           "locate_desk")


@pytest.fixture
def api(db_url: str, keys: dict[str, str]) -> Iterator[Api]:
    """The service over the test store with the day opened (``open_day``); a module may define its own."""
    with TestClient(create_app(db_url, probe_seconds=0.2)) as c:
        a = Api(c, keys)
        open_day(a)
        yield a
