"""The ``regsho`` command line: replay, check, explain, demo and benchmarks.

Typer builds the command line from type hints and Rich renders tables and plain-words explanations: both are
maintained, widely used libraries made for exactly this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from regsho.adapters.scenario import Scenario, ScenarioError, load
from regsho.cli.data import register as register_data_commands
from regsho.engine.replay import ReplayResult, replay
from regsho.law import reasons as rc
from regsho.law.decision import Decision

if TYPE_CHECKING:
    from regsho.store import Store as StoreT

app = typer.Typer(
    name="regsho",
    help="An engine for SEC Regulation SHO (17 CFR 242.200-204).",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks (not tests): figures next to a baseline measured in the same run.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")
store_app = typer.Typer(help="The append-only, hash-chained book of records (SQLite file or PostgreSQL URL).",
                        no_args_is_help=True)
app.add_typer(store_app, name="store")
register_data_commands(app, bench_app)

DbOption = Annotated[str, typer.Option("--db", envvar="REGSHO_DB",
                                       help="SQLite file path or SQLAlchemy URL (postgresql://...).")]

# Piped or redirected output (a report kept on file) gets a wide page instead of Rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load_and_replay(files: list[Path]) -> list[tuple[Scenario, ReplayResult]]:
    done: list[tuple[Scenario, ReplayResult]] = []
    for f in files:
        sc = load(f)
        done.append((sc, replay(sc)))
    return done


def _store_error(e: Exception) -> typer.Exit:
    err.print(f"store: {escape(str(e))}", highlight=False)
    return typer.Exit(2)


def _bad_input(e: ScenarioError) -> typer.Exit:
    err.print(f"[bold red]bad input[/]: {escape(str(e))}", markup=True, highlight=False)
    return typer.Exit(2)


@app.command("replay")
def replay_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML or JSON).")],
    check: Annotated[bool, typer.Option("--check", help="Compare each file's expect block with the result.")]
    = False,
) -> None:
    """Replay scenario files through the engine; print JSON, or check expectations with --check."""
    from regsho.engine.check import check as check_result

    try:
        done = _load_and_replay(files)
    except ScenarioError as e:
        raise _bad_input(e) from None
    if not check:
        docs = [r.to_json() for _, r in done]
        json.dump(docs[0] if len(docs) == 1 else docs, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    passed = failed = 0
    for _, r in done:
        mismatches = check_result(r)
        for m in mismatches:
            print(m)
        if mismatches:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _plain(v: object) -> str:
    """A fact's value in words: times in ISO 8601, windows as 'from .. until'."""
    import datetime as dt

    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, dt.datetime) for x in v):
        return f"from {v[0].isoformat()} until {v[1].isoformat()}"
    if isinstance(v, str):
        return str(v)
    return repr(v) if v is None or isinstance(v, bool) else str(v)


def explain_decision(d: Decision, console: Console) -> None:
    """Print one decision in plain words: outcome, each reason with its citation and the facts behind it."""
    verb = "ACCEPTED" if d.accepted else "REJECTED"
    colour = "green" if d.accepted else "red"
    console.print(f"Order [bold]{escape(d.order)}[/] at {d.at.isoformat()} was [bold {colour}]{verb}[/].")
    details = dict(d.details)
    for code in d.reasons:
        info = rc.CODES.get(code)
        meaning = info.meaning if info else ""
        console.print(f"  • [bold]{code}[/]: {meaning}.")
        if code in details:
            console.print(f"      {escape(details[code])}.")
    console.print(f"  Cites: {'; '.join(d.cites)}", highlight=False)
    if d.locate:
        console.print(f"  Locate used: {escape(d.locate)}")
    if d.consume:
        console.print("  Consumed: " + escape(", ".join(f"{c.qty} from {c.kind} {c.id}" for c in d.consume)))
    if d.facts:
        console.print("  Facts read:")
        for k, v in d.facts:
            console.print(f"    {escape(k)} = {escape(_plain(v))}", highlight=False)
    if d.params:
        console.print("  Parameters used:")
        for k, v in d.params:
            console.print(f"    {k} = {v}", highlight=False)


@app.command("explain")
def explain_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
) -> None:
    """Explain one order's decision in plain words, with citations and the facts behind it."""
    try:
        ((_, r),) = _load_and_replay([file])
    except ScenarioError as e:
        raise _bad_input(e) from None
    d = r.decision(order_id)
    if d is None:
        known = ", ".join(x.order for x in r.decisions) or "none"
        err.print(f"{file}: no order {order_id!r} (orders: {known})", markup=False, highlight=False)
        raise typer.Exit(2)
    explain_decision(d, out)


def summary_table(sc: Scenario, r: ReplayResult) -> Table:
    t = Table(title=f"{sc.name}  ({Path(sc.path).name})", title_justify="left", show_lines=False)
    for col in ("order", "time", "action", "reasons", "cites"):
        t.add_column(col, overflow="fold")
    for d in r.decisions:
        colour = "green" if d.accepted else "red"
        t.add_row(d.order, d.at.strftime("%Y-%m-%d %H:%M:%S"), f"[{colour}]{d.action}[/]", ", ".join(d.reasons),
                  "; ".join(d.cites))
    return t


@app.command("demo")
def demo_cmd(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenarios (default: the bundled examples).")]
    = None,
) -> None:
    """Replay scenarios (by default the bundled examples) and print every decision with its citations."""
    paths = files or sorted(EXAMPLES.glob("*.yaml"))
    try:
        done = _load_and_replay(paths)
    except ScenarioError as e:
        raise _bad_input(e) from None
    from regsho.cli.closeouts import render, status

    for sc, r in done:
        out.print(summary_table(sc, r))
        if (r.obligations or r.pre_borrow or r.notices or r.findings) and sc.events:
            render(sc, status(r, sc.events[-1].event.at), out)
        rejected = [d for d in r.decisions if not d.accepted]
        if rejected:
            out.print("  Why the first rejection was made:")
            explain_decision(rejected[0], out)
        out.print()


@app.command("closeouts")
def closeouts_cmd(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenario files (or use --book with --db).")] = None,
    book: Annotated[str | None, typer.Option(help="A stored book to run over instead of files.")] = None,
    db: DbOption = "regsho.db",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Run as of this time (default: the last event).")]
    = None,
    documents: Annotated[Path | None, typer.Option(help="Also write the 204(c) notices, 204T attestations and "
                                                        "options market-maker records to this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """The daily close-out run: what is due, what was missed, who is in the penalty box and since when."""
    from regsho.adapters.scenario import _Bad, parse_datetime
    from regsho.cli.closeouts import cut, render, run_with_progress, status
    from regsho.reports import build_documents, write_documents
    from regsho.store import StoreError

    try:
        moment = parse_datetime(as_of) if as_of else None
    except _Bad as e:
        err.print(f"--as-of: {e}", highlight=False)
        raise typer.Exit(2) from None
    try:
        if book is not None:
            scenarios = [_store(db).load_book(book)]
        elif files:
            scenarios = [load(f) for f in files]
        else:
            err.print("give scenario files, or --book NAME with --db")
            raise typer.Exit(2)
        docs_out: list[dict[str, object]] = []
        for sc in scenarios:
            sc = cut(sc, moment)
            result = run_with_progress(sc, out)
            when = moment or (sc.events[-1].event.at if sc.events else None)
            if when is None:
                err.print(f"{sc.path}: no events", highlight=False)
                raise typer.Exit(2)
            st = status(result, when)
            if documents is not None:
                written = write_documents(build_documents(sc, result), documents)
                st["documents"] = [str(p) for p in written]
            if as_json:
                docs_out.append({"scenario": sc.name, "file": sc.path, **st})
            else:
                render(sc, st, out)
                if documents is not None:
                    out.print(f"{len(st['documents'])} document files written to {documents}", highlight=False)
    except ScenarioError as e:
        raise _bad_input(e) from None
    except StoreError as e:
        raise _store_error(e) from None
    if as_json:
        json.dump(docs_out[0] if len(docs_out) == 1 else docs_out, sys.stdout, indent=2)
        sys.stdout.write("\n")


@bench_app.command("gate")
def bench_gate_cmd(
    orders: Annotated[int, typer.Option(help="Orders in the synthetic day.")] = 1_000_000,
    symbols: Annotated[int, typer.Option(help="Securities.")] = 10_000,
    locates: Annotated[int, typer.Option(help="Locates granted before the open.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Replay a synthetic day through the gate: decisions/s and p50/p99 latency next to a look-up baseline."""
    from regsho.bench.gate import run

    run(orders=orders, symbols=symbols, locates=locates, seed=seed, console=out)


@bench_app.command("closeouts")
def bench_closeouts_cmd(
    year: Annotated[int, typer.Option(help="Calendar year to simulate.")] = 2025,
    fails_per_day: Annotated[int, typer.Option(help="Fails per settlement day.")] = 5_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 11,
) -> None:
    """Replay a synthetic year of a clearing firm's fails (3,000 securities, 20 correspondents): events/s."""
    from regsho.bench.closeouts import run

    run(year=year, fails_per_day=fails_per_day, seed=seed, console=out)


def _store(db: str) -> StoreT:
    from regsho.store import Store

    return Store(db)


@store_app.command("init")
def store_init_cmd(db: DbOption = "regsho.db") -> None:
    """Create or upgrade the store's schema."""
    st = _store(db)
    st.migrate()
    out.print(f"store ready: {st.url}", highlight=False)


@store_app.command("import")
def store_import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to append, in order.")],
    db: DbOption = "regsho.db",
    book: Annotated[str | None, typer.Option(help="Book name (default: the firm id).")] = None,
) -> None:
    """Append scenario files to a book: validated and replayed first, then written in one transaction each."""
    from regsho.store import StoreError

    st = _store(db)
    try:
        for f in files:
            s = st.import_file(f, book)
            out.print(f"{f}: {s.events} events and {s.decisions} decisions appended to book {s.book}",
                      highlight=False)
    except ScenarioError as e:
        raise _bad_input(e) from None
    except StoreError as e:
        raise _store_error(e) from None


@store_app.command("verify")
def store_verify_cmd(db: DbOption = "regsho.db") -> None:
    """Check the hash chain of every record; exit 1 if any record was altered."""
    from regsho.store import StoreError

    try:
        res = _store(db).verify()
    except StoreError as e:
        raise _store_error(e) from None
    (out if res.ok else err).print(res.message, highlight=False)
    if not res.ok:
        raise typer.Exit(1)


@store_app.command("books")
def store_books_cmd(db: DbOption = "regsho.db") -> None:
    """List the books in the store."""
    from regsho.store import StoreError

    try:
        for b in _store(db).books():
            print(b)
    except StoreError as e:
        raise _store_error(e) from None


@store_app.command("replay")
def store_replay_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    db: DbOption = "regsho.db",
) -> None:
    """Replay a stored book from its first event and print the result as JSON."""
    from regsho.store import StoreError

    try:
        r = _store(db).replay_book(book)
    except StoreError as e:
        raise _store_error(e) from None
    except ScenarioError as e:
        raise _bad_input(e) from None
    json.dump(r.to_json(), sys.stdout, indent=2)
    sys.stdout.write("\n")


@store_app.command("export")
def store_export_cmd(
    book: Annotated[str, typer.Argument(help="Book name.")],
    db: DbOption = "regsho.db",
) -> None:
    """Print a stored book as a scenario file (JSON), to hand to an auditor or replay elsewhere."""
    from regsho.adapters.scenario_dump import dump_scenario
    from regsho.store import StoreError

    try:
        sc = _store(db).load_book(book)
    except StoreError as e:
        raise _store_error(e) from None
    json.dump(dump_scenario(sc), sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
