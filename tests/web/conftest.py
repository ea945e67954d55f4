"""Fixtures for the dashboard: a store holding the bundled examples (one book each), a desk's fortnight (threshold
lists, a run of fails, surveillance windows) and, where the demo generator is installed, the small demo firm (book
``demo``); a key file with one key per role, and the app over them."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from regsho.app.views import StoreSource
from regsho.store import Store
from regsho.web import keys
from regsho.web.standalone import create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "src" / "regsho" / "examples"
HERE = Path(__file__).resolve().parent

KEYS = {
    "compliance": "compliance-key-0000000001",
    "trader": "trader-key-00000000000001",
    "operations": "operations-key-000000001",
    "locate_desk": "locate-desk-key-00000001",
    "admin": "admin-key-0000000000000001",
}
PENALTY_BOOK = "04_clearing_firm_penalty_box"
DESK_BOOK = "desk_fortnight"
DEMO_BOOK = "demo"
HAS_DEMO = importlib.util.find_spec("regsho.demo") is not None


def scenario_files() -> list[Path]:
    return [*sorted(EXAMPLES.glob("*.yaml")), HERE / "desk_fortnight.yaml"]


def _demo(db: str) -> Any:
    """The small demo firm (synthetic market: the same on every machine) recorded as book ``demo``; its story."""
    from regsho import demo

    return demo.run(db, size=demo.SMALL, synthetic=True, book=DEMO_BOOK, write_report=False, by="tests").story


@pytest.fixture(scope="session")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    """A SQLite store with every bundled example imported as a book of its own name, the desk's fortnight and the
    demo when it is installed; and the demo's story (None without it)."""
    db = str(tmp_path_factory.mktemp("dashboard") / "books.db")
    store = Store(db)
    try:
        store.migrate()
        for f in scenario_files():
            store.import_file(f, f.stem, by="tests")
    finally:
        store.close()
    return db, _demo(db) if HAS_DEMO else None


@pytest.fixture(scope="session")
def store_db(stored: tuple[str, Any]) -> str:
    return stored[0]


@pytest.fixture(scope="session")
def demo_story(stored: tuple[str, Any]) -> Any:
    if stored[1] is None:
        pytest.skip("regsho.demo (the demo firm's generator) is not installed in this tree")
    return stored[1]


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("keys") / "keys.txt"
    p.write_text("# key role name\n" + "".join(f"{k} {role} {role.replace('_', ' ').title()} User\n"
                                                for role, k in KEYS.items()), encoding="utf-8")
    os.chmod(p, 0o600)
    return p


@pytest.fixture(scope="session")
def store(store_db: str) -> Iterator[Store]:
    s = Store(store_db)
    yield s
    s.close()


@pytest.fixture(scope="session")
def app_client(store: Store, key_file: Path) -> TestClient:
    return TestClient(create_app(StoreSource(store), keys.authenticator(keys.read(key_file))),
                      follow_redirects=False)


@pytest.fixture()
def as_role(app_client: TestClient) -> Iterator[Callable[[str | None], TestClient]]:
    """``as_role("trader")`` sets that role's key in the client's cookie jar (cleared after the test)."""

    def use(role: str | None) -> TestClient:
        app_client.cookies.clear()
        if role is not None:
            app_client.cookies.set("regsho_key", KEYS[role])
        return app_client

    yield use
    app_client.cookies.clear()
