"""``regsho store``: the append-only, hash-chained book of records (parsing arguments and rendering only).

Exit status: 0 success; 1 the records fail verification (or a checkpoint's signature is bad); 2 bad input or a
refusal (not initialised, unreachable, already imported, a record that cannot be amended).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from regsho.adapters.scenario import ScenarioError

store_app = typer.Typer(help="The append-only, hash-chained book of records (SQLite file or PostgreSQL URL).",
                        no_args_is_help=True)

DbOption = Annotated[str, typer.Option("--db", envvar="REGSHO_DB",
                                       help="SQLite file path or SQLAlchemy URL (postgresql://...).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who does this (default: the operating-system user).")]
KeyOption = Annotated[Path | None, typer.Option("--key", help="The checkpoint key file (default: the file named "
                                                             "by REGSHO_CHECKPOINT_KEY).")]

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

T = TypeVar("T")


def _run(action: Callable[[], T]) -> T:
    """Run a store action; every refusal is one line on stderr and an exit status, never a traceback."""
    from regsho.store import ChainBroken, StoreError

    try:
        return action()
    except ChainBroken as e:
        err.print(f"store: {escape(str(e))}", highlight=False)
        raise typer.Exit(1) from None
    except StoreError as e:
        err.print(f"store: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    except ScenarioError as e:
        err.print(f"[bold red]bad input[/]: {escape(str(e))}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def _open(db: str) -> Any:
    from regsho.store import Store

    return _run(lambda: Store(db))


def _dump(doc: object) -> None:
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@store_app.command("init")
def store_init_cmd(db: DbOption = "regsho.db") -> None:
    """Create or upgrade the store's schema (Alembic migrations)."""
    st = _open(db)
    _run(st.migrate)
    out.print(f"store ready: {st.url}", highlight=False)


@store_app.command("import")
def store_import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to append, in order.")],
    db: DbOption = "regsho.db",
    book: Annotated[str | None, typer.Option(help="Book name (default: the firm id).")] = None,
    by: ByOption = None,
    skip_imported: Annotated[bool, typer.Option("--skip-imported", help="A file already imported is noted and "
                                                                        "skipped instead of refused.")] = False,
) -> None:
    """Append scenario files to a book, once: validated and replayed first, one transaction each.

    A file already imported (same SHA-256) is refused; events already in the book are skipped."""
    from regsho.store import AlreadyImported

    st = _open(db)
    for f in files:
        def one(f: Path = f) -> Any:
            try:
                return st.import_file(f, book, by=by)
            except AlreadyImported as e:
                if not skip_imported:
                    raise
                out.print(f"{escape(str(e))} (skipped)", highlight=False)
                return None

        s = _run(one)
        if s is None:
            continue
        skipped = f" ({s.skipped} already in the book, skipped)" if s.skipped else ""
        if s.first_seq is None:
            out.print(f"{f}: nothing new for book {s.book}{skipped}", highlight=False)
        else:
            out.print(f"{f}: {s.events} events and {s.decisions} decisions appended to book {s.book}{skipped}",
                      highlight=False)


@store_app.command("verify")
def store_verify_cmd(
    db: DbOption = "regsho.db",
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A signed checkpoint (`regsho store "
                                                                         "checkpoint`) to check the records "
                                                                         "against.")] = None,
    key: KeyOption = None,
) -> None:
    """Walk the whole chain and name every broken record; exit 1 if anything is wrong.

    With --checkpoint, also every record at or before it removed, edited or reordered."""
    st = _open(db)
    res = _run(lambda: st.verify(checkpoint, key))
    if res.ok:
        out.print(res.message, highlight=False)
        return
    n = len(res.problems)
    err.print(f"{n} problem{'s' if n > 1 else ''} in {res.records} records:", highlight=False)
    for p in res.problems:
        err.print(f"  {escape(str(p))}", highlight=False)
    raise typer.Exit(1)


@store_app.command("checkpoint")
def store_checkpoint_cmd(
    db: DbOption = "regsho.db",
    key: KeyOption = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write the checkpoint to this file (default: "
                                                              "print it).")] = None,
) -> None:
    """Verify the chain, then print (or write) its head, signed with a key kept outside the database.

    The head is the last record's sequence and hash, every book's head and count, and spot records; the signature
    is HMAC-SHA256. Keep it elsewhere; `verify --checkpoint` uses it."""
    st = _open(db)
    doc = _run(lambda: st.checkpoint(key))
    if output is None:
        _dump(doc)
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        tmp.replace(output)
    except OSError as e:
        err.print(f"store: cannot write {escape(str(output))}: {escape(e.strerror or str(e))}", highlight=False)
        raise typer.Exit(2) from None
    head = doc["head"]
    out.print(f"checkpoint of record {head['seq']} ({head['records']} records, {len(doc['books'])} books) "
              f"written to {output}", highlight=False)


@store_app.command("keygen")
def store_keygen_cmd(
    file: Annotated[Path, typer.Argument(help="The key file to create (mode 0600; never overwritten).")],
) -> None:
    """Make a random key for signing checkpoints. Keep it outside the database and away from its writers."""
    from regsho.store.checkpoint import keygen

    _run(lambda: keygen(file))
    out.print(f"key written to {file} (mode 0600)", highlight=False)


@store_app.command("books")
def store_books_cmd(db: DbOption = "regsho.db") -> None:
    """List the books in the store."""
    st = _open(db)
    for b in _run(st.books):
        print(b)


@store_app.command("replay")
def store_replay_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    db: DbOption = "regsho.db",
) -> None:
    """Verify, then replay a stored book from its first event and print the result as JSON."""
    st = _open(db)
    r = _run(lambda: st.replay_book(book))
    _dump(r.to_json())


@store_app.command("explain")
def store_explain_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
    db: DbOption = "regsho.db",
) -> None:
    """Verify, then explain one order's decision in a stored book, in plain words with its citations and facts."""
    from regsho.cli.explain import explain_decision

    st = _open(db)
    r = _run(lambda: st.replay_book(book))
    d = r.decision(order_id)
    if d is None:
        known = ", ".join(x.order for x in r.decisions[:20]) or "none"
        Console(stderr=True).print(f"book {book}: no order {order_id!r} (orders: {known})", markup=False,
                                   highlight=False)
        raise typer.Exit(2)
    explain_decision(d, Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160))


@store_app.command("export")
def store_export_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    db: DbOption = "regsho.db",
    with_history: Annotated[bool, typer.Option("--with-history", help="Also every record of the book as "
                                                                      "written: originals, corrections and "
                                                                      "cancellations with who, when and why, "
                                                                      "imports, decisions.")] = False,
) -> None:
    """Verify, then print a stored book as a scenario file (JSON), to hand to an auditor or replay elsewhere."""
    from regsho.adapters.scenario_dump import dump_scenario

    st = _open(db)
    sc = _run(lambda: st.load_book(book))
    if not with_history:
        _dump(dump_scenario(sc))
        return
    records = _run(lambda: st.history(book))
    _dump({"book": book, "scenario": dump_scenario(sc), "records": records})


@store_app.command("void")
def store_void_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    seq: Annotated[int, typer.Argument(help="The event's record number (seq).")],
    why: Annotated[str, typer.Option("--why", help="Why it is cancelled (recorded).")],
    db: DbOption = "regsho.db",
    by: ByOption = None,
) -> None:
    """Cancel an event: a new record pointing at it, with who and why; the original stays in the log."""
    st = _open(db)
    s = _run(lambda: st.void(book, seq, why=why, by=by))
    out.print(f"record {s.target} cancelled by record {s.seq} in book {s.book}", highlight=False)


@store_app.command("correct")
def store_correct_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    seq: Annotated[int, typer.Argument(help="The event's record number (seq).")],
    event: Annotated[str, typer.Option("--event", help="The corrected event as JSON, e.g. "
                                                       "'{\"at\": \"2024-06-03T09:45\", \"type\": \"fill\", "
                                                       "\"order\": \"O1\", \"qty\": 500}'.")],
    why: Annotated[str, typer.Option("--why", help="Why it is corrected (recorded).")],
    db: DbOption = "regsho.db",
    by: ByOption = None,
) -> None:
    """Correct an event: a new record pointing at the original, with who and why.

    The book is validated and replayed with the correction first. The original stays in the log (`export
    --with-history`)."""
    name = f"--event (correction of record {seq})"
    try:
        body = json.loads(event)
    except json.JSONDecodeError as e:
        err.print(f"[bold red]bad input[/]: {escape(name)}: not JSON: {escape(e.msg)} at column {e.colno}",
                  markup=True, highlight=False)
        raise typer.Exit(2) from None
    if not isinstance(body, dict):
        err.print(f"[bold red]bad input[/]: {escape(name)}: an event is a JSON object with 'at' and 'type'",
                  markup=True, highlight=False)
        raise typer.Exit(2)
    st = _open(db)
    s = _run(lambda: st.correct(book, seq, body, why=why, by=by))
    out.print(f"record {s.target} corrected by record {s.seq} in book {s.book}", highlight=False)


def bench_store_cmd(
    events: Annotated[int, typer.Option(help="Events in the large book.")] = 100_000,
) -> None:
    """What verifying the book of records costs: full walk, the check before every read, next to bare SHA-256."""
    from regsho.bench.store import run

    run(events=events, console=out)
