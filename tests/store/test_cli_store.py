"""`regsho store ...` end to end: one line for every refusal, exit statuses, no secret ever printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.store.tamper import DAY1, DAY2, all_rows, rehash_all, sql, write
from typer.testing import CliRunner

from regsho.cli.main import app
from regsho.store import Store

runner = CliRunner()


def _ok(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


def _fails(code: int, *args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    return res.stderr


def _url(st: Store) -> str:
    return st.engine.url.render_as_string(hide_password=False)


def test_import_twice_is_refused_in_one_line(store: Store, tmp_path: Path) -> None:
    db, f = _url(store), write(tmp_path, "day1.yaml", DAY1)
    assert "3 events and 1 decisions appended to book FIRM" in _ok("store", "import", str(f), "--db", db,
                                                                    "--by", "alice")
    err = _fails(2, "store", "import", str(f), "--db", db)
    assert err.count("\n") == 1 and "already imported" in err and "by alice" in err
    assert "(skipped)" in _ok("store", "import", "--skip-imported", str(f), "--db", db)
    assert "1 records" not in _ok("store", "verify", "--db", db)


def test_verify_names_every_broken_record_and_exits_1(store: Store, tmp_path: Path) -> None:
    db = _url(store)
    _ok("store", "import", str(write(tmp_path, "day1.yaml", DAY1)), "--db", db)
    sql(store, "UPDATE regsho_log SET source = 'x' WHERE seq IN (3, 5)")
    err = _fails(1, "store", "verify", "--db", db)
    assert "2 problems in 6 records:" in err
    assert "record 3: edited" in err and "record 5: edited" in err
    for read in (("store", "replay", "FIRM"), ("store", "export", "FIRM"), ("closeouts", "--book", "FIRM")):
        err = _fails(1 if read[0] == "store" else 2, *read, "--db", db)
        assert err.count("\n") == 1 and "fails verification" in err and "record 3: edited" in err


def test_keygen_checkpoint_and_verify_against_it(store: Store, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db, key, cp = _url(store), tmp_path / "k.key", tmp_path / "cp.json"
    _ok("store", "import", str(write(tmp_path, "day1.yaml", DAY1)), "--db", db)
    assert "mode 0600" in _ok("store", "keygen", str(key))
    assert _fails(2, "store", "keygen", str(key)).count("\n") == 1
    assert "checkpoint of record 6 (6 records, 1 books)" in _ok("store", "checkpoint", "--db", db, "--key",
                                                               str(key), "--out", str(cp))
    printed = json.loads(_ok("store", "checkpoint", "--db", db, "--key", str(key)))
    assert printed["head"] == json.loads(cp.read_text())["head"]
    monkeypatch.setenv("REGSHO_CHECKPOINT_KEY", str(key))
    assert "matches the checkpoint at record 6" in _ok("store", "verify", "--db", db, "--checkpoint", str(cp))
    monkeypatch.delenv("REGSHO_CHECKPOINT_KEY")
    assert "--key FILE" in _fails(2, "store", "checkpoint", "--db", db)
    sql(store, "UPDATE regsho_log SET body = replace(body, '600', '60') WHERE seq = 5")
    rehash_all(store)
    assert "chain intact" in _ok("store", "verify", "--db", db)
    err = _fails(1, "store", "verify", "--db", db, "--checkpoint", str(cp), "--key", str(key))
    assert "record 6: the checkpoint's head no longer has the hash" in err
    assert "the first change is after record 4 and at or before record 5" in err
    forged = json.loads(cp.read_text())
    forged["head"]["hash"] = all_rows(store)[-1].hash
    cp.write_text(json.dumps(forged))
    assert "bad signature" in _fails(1, "store", "verify", "--db", db, "--checkpoint", str(cp), "--key", str(key))


def test_correct_void_and_export_with_history(store: Store, tmp_path: Path) -> None:
    db = _url(store)
    _ok("store", "import", str(write(tmp_path, "day1.yaml", DAY1)), "--db", db)
    _ok("store", "import", str(write(tmp_path, "day2.yaml", DAY2)), "--db", db)
    fill = next(r.seq for r in all_rows(store) if r.type == "fill")
    o3 = next(r.seq for r in all_rows(store) if r.kind == "event" and '"O3"' in r.body)
    event = json.dumps({"at": "2024-06-03T09:46", "type": "fill", "order": "O1", "qty": 550})
    assert f"record {fill} corrected by record" in _ok("store", "correct", "FIRM", str(fill), "--event", event,
                                                       "--why", "partial", "--by", "alice", "--db", db)
    assert f"record {o3} cancelled by record" in _ok("store", "void", "FIRM", str(o3), "--why", "never sent",
                                                     "--db", db)
    plain = json.loads(_ok("store", "export", "FIRM", "--db", db))
    assert [e.get("qty") for e in plain["events"] if e["type"] == "fill"] == [550]
    assert not any(e.get("id") == "O3" for e in plain["events"])
    full = json.loads(_ok("store", "export", "FIRM", "--db", db, "--with-history"))
    assert full["scenario"] == plain
    status = {r["seq"]: r.get("status") for r in full["records"]}
    assert (status[fill], status[o3]) == ("corrected", "voided")
    amends = [r["body"] for r in full["records"] if r["kind"] == "amend"]
    assert [(a["target"]["seq"], a["why"]) for a in amends] == [(fill, "partial"), (o3, "never sent")]
    assert "O3" not in json.dumps(json.loads(_ok("store", "replay", "FIRM", "--db", db))["decisions"])
    assert "not JSON" in _fails(2, "store", "correct", "FIRM", str(fill), "--event", "{", "--why", "x", "--db", db)
    err = _fails(2, "store", "correct", "FIRM", str(fill), "--event", event.replace("550", "-1"), "--why", "x",
                 "--db", db)
    assert err.startswith("bad input:") and "positive quantity" in err
    assert _ok("store", "verify", "--db", db).startswith(f"{len(all_rows(store))} records, chain intact")


def test_no_secret_is_ever_printed(tmp_path: Path) -> None:
    url = "postgresql://regsho:s3cr3t-pw@127.0.0.1:1/books"
    for args in (("store", "init"), ("store", "books"), ("store", "verify"), ("store", "import",
                                                                             str(write(tmp_path, "d.yaml", DAY1)))):
        res = runner.invoke(app, [*args, "--db", url])
        assert res.exit_code == 2, res.output
        assert "s3cr3t" not in res.output
        assert res.stderr.count("\n") == 1
        assert "regsho:***@127.0.0.1:1" in res.stderr
    assert "cannot reach the database" in runner.invoke(app, ["store", "init", "--db", url]).stderr
    for bad in ("postgresql://regsho:s3cr3t-pw@[::1/books", "mysql://regsho:s3cr3t-pw@host/books"):
        res = runner.invoke(app, ["store", "init", "--db", bad])
        assert res.exit_code == 2 and "s3cr3t" not in res.output and res.stderr.count("\n") == 1, res.output


def test_init_against_what_is_not_a_store_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "books.db"
    err = _fails(2, "store", "init", "--db", str(missing))
    assert err.count("\n") == 1 and "does not exist" in err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all, just some bytes" * 100)
    err = _fails(2, "store", "init", "--db", str(junk))
    assert err.count("\n") == 1 and "not a SQLite database" in err
    err = _fails(2, "store", "init", "--db", str(tmp_path))
    assert err.count("\n") == 1 and "is a folder" in err
    assert "does not exist" in _fails(2, "store", "books", "--db", str(tmp_path / "none.db"))
    assert "not a SQLite database" in _fails(2, "store", "books", "--db", str(junk))


def test_a_database_without_the_schema_is_refused_in_one_line(db_url: str, tmp_path: Path) -> None:
    for args in (("store", "import", str(write(tmp_path, "d.yaml", DAY1))), ("store", "books"),
                 ("store", "verify"), ("store", "void", "FIRM", "3", "--why", "x")):
        err = _fails(2, *args, "--db", db_url)
        assert err.count("\n") == 1 and "store init" in err, err


def test_explain_works_on_a_stored_book(tmp_path: Path) -> None:
    from regsho.cli.main import app as main_app

    db = str(tmp_path / "books.db")
    example = Path(__file__).resolve().parents[2] / "src" / "regsho" / "examples" / "01_locate_desk_day.yaml"
    assert runner.invoke(main_app, ["store", "init", "--db", db]).exit_code == 0
    assert runner.invoke(main_app, ["store", "import", str(example), "--db", db]).exit_code == 0
    from regsho.adapters.scenario import load

    sc = load(example)
    book = sc.firm.id
    order = next(se.event.id for se in sc.events if type(se.event).__name__ == "Order")
    res = runner.invoke(main_app, ["store", "explain", book, order, "--db", db])
    assert res.exit_code == 0, res.output
    assert f"Order {order}" in res.output and "Cites:" in res.output
    missing = runner.invoke(main_app, ["store", "explain", book, "NO_SUCH_ORDER", "--db", db])
    assert missing.exit_code == 2
