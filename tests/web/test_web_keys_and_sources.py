"""The standalone command's key file and its errors, and the pages over a book held in memory (as the live service
holds its books: no store history)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import HERE, PENALTY_BOOK, scenario_files

from regsho.adapters.scenario import load
from regsho.app.access import Principal, Role
from regsho.app.replay import replay
from regsho.app.views import BookView, view_of
from regsho.cli.main import run
from regsho.web import PAGES, keys
from regsho.web.standalone import create_app


@pytest.mark.parametrize(("text", "where"), [
    ("short compliance Carol\n", "line 1: field 'key'"),
    ("# header\n\nabcdefghijklmnop0001 auditor Ann\n", "line 3: field 'role': 'auditor' is not a role"),
    ("abcdefghijklmnop0001 trader\n", "line 1: field 'name': missing"),
    ("abcdefghijklmnop0001 trader Tom\nabcdefghijklmnop0001 admin Ann\n", "line 2: field 'key': the same key"),
    ("abcdefghijklmnop0001 trader Tom\nabcdefghijklmnop0002 admin Tom\n", "line 2: field 'name'"),
    ("# nothing\n", "names no key"),
])
def test_a_bad_key_file_names_the_line_and_field(text: str, where: str) -> None:
    with pytest.raises(keys.KeyFileError, match=where):
        keys.parse(text, "keys.txt")


def test_a_key_file_gives_principals_by_digest() -> None:
    table = keys.parse("abcdefghijklmnop0001 trader Tom Trader  # the desk\nqrstuvwxyz0123456789 compliance Carol\n",
                       "k")
    assert sorted(table.values(), key=lambda p: p.name) == [Principal("Carol", Role.COMPLIANCE),
                                                             Principal("Tom Trader", Role.TRADER)]
    assert "abcdefghijklmnop0001" not in table  # only digests are kept


def test_the_command_refuses_a_bad_key_file_or_store_in_one_line(tmp_path: Path, store_db: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "keys.txt"
    bad.write_text("abcdefghijklmnop0001 boss Ann\n")
    assert run(["dashboard", "--db", store_db, "--keys", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: line 1: field 'role'" in err
    good = tmp_path / "good.txt"
    good.write_text("abcdefghijklmnop0001 admin Ann\n")
    assert run(["dashboard", "--db", str(tmp_path / "none.db"), "--keys", str(good)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("store: ") and err.count("\n") == 1
    assert run(["dashboard", "--db", store_db, "--keys", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


class MemorySource:
    """Books replayed in memory, with no store behind them (the live service's case)."""

    def __init__(self, files: list[Path]) -> None:
        self._views = {f.stem: view_of(f.stem, replay(load(f))) for f in files}

    def books(self) -> list[str]:
        return sorted(self._views)

    def view(self, name: str) -> BookView:
        return self._views[name]


def test_every_page_works_over_books_held_in_memory() -> None:
    src = MemorySource(scenario_files())
    app = create_app(src, lambda request: Principal("Ann", Role.ADMIN) if request.cookies.get("regsho_key") else None)
    c = TestClient(app, follow_redirects=False)
    c.cookies.set("regsho_key", "x")
    for book in src.books():
        for p in PAGES:
            r = c.get(f"/dashboard{'/' + p.slug if p.slug else ''}?book={book}")
            assert r.status_code == 200, (book, p.slug)
    d = c.get(f"/dashboard/decisions/{PENALTY_BOOK}/O1")
    assert d.status_code == 200 and "not yet recorded" in d.text and "17 CFR 242.204(b)" in d.text
    # the threshold list from the engine itself when there is no stored history
    assert "THRX" in c.get("/dashboard/threshold?book=desk_fortnight").text
    # a 204(c) notice received, from the gate's own record of the period
    assert "MMFIRM" in c.get("/dashboard/penalty-box?book=03_market_maker_and_penalty_box").text
    # a locate's returns to the locate desk as the engine counts them
    lo = " ".join(re.sub(r"<[^>]+>", " ", c.get("/dashboard/locates?book=desk_fortnight").text).split())
    assert "why in all LX1 HF1 QRTZ lender A 100 This book did not come from the store" in lo
    assert "each locate's returns are shown as the engine counts them, in all" in lo
    assert (HERE / "desk_fortnight.yaml").exists()


def test_a_source_that_cannot_be_read_is_a_page_not_a_traceback() -> None:
    class Broken:
        def books(self) -> list[str]:
            raise RuntimeError("regsho_log fails verification: record 7 edited")

        def view(self, name: str) -> BookView:
            raise AssertionError

    c = TestClient(create_app(Broken(), lambda request: Principal("Ann", Role.ADMIN)), follow_redirects=False)
    r = c.get("/dashboard")
    assert r.status_code == 503 and "record 7 edited" in r.text


def test_the_standalone_source_replays_a_book_again_only_when_it_has_new_records(tmp_path: Path) -> None:
    from regsho.store import Store
    from regsho.web.standalone import CachedStoreSource

    store = Store(str(tmp_path / "c.db"))
    try:
        store.migrate()
        store.import_file(scenario_files()[0], "one")
        src = CachedStoreSource(store)
        first = src.view("one")
        assert src.view("one") is first
        doc = {"version": 1, "firm": {"id": "ACME"}, "securities": {"NOVA": {"shares_outstanding": 80000000}},
               "accounts": {}, "events": [{"at": "2025-03-12T06:30", "type": "etb_list", "symbols": ["NOVA"]}]}
        store.import_document(doc, "more", "one")
        again = src.view("one")
        assert again is not first and len(again.history) > len(first.history)
        assert src.books() == ["one"]
    finally:
        store.close()
