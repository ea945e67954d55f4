"""The ``regsho`` command line: replay, check, explain, demo and benchmarks.

Typer builds the command line from type hints and Rich renders tables and plain-words explanations: both are
maintained, widely used libraries made for exactly this.

Exit codes (README, docs/scenarios.md): 0 success; 1 a check or a verification failed; 2 bad input (one line on
standard error naming the file, the event and the field); 3 an internal error (one line naming a file that holds
the traceback). ``run`` is the top-level handler every command goes through.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from regsho.adapters.output import bulk, write_json
from regsho.adapters.scenario import Scenario, ScenarioError, load
from regsho.app.replay import ReplayResult, replay
from regsho.cli import surveil as surveil_cli
from regsho.cli.dashboard import dashboard_cmd
from regsho.cli.data import register as register_data_commands
from regsho.cli.explain import explain_decision
from regsho.cli.keys import keys_app
from regsho.cli.report import report_app
from regsho.cli.serve import bench_http_cmd, serve_cmd
from regsho.cli.store import bench_store_cmd, store_app

if TYPE_CHECKING:
    from regsho.store import Store as StoreT

app = typer.Typer(
    name="regsho",
    help="An engine for SEC Regulation SHO (17 CFR 242.200-204).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks (not tests): figures next to a baseline measured in the same run.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")
bench_app.command("store")(bench_store_cmd)
app.add_typer(store_app, name="store")
app.command("surveil")(surveil_cli.surveil_cmd)
bench_app.command("surveillance")(surveil_cli.bench_cmd)
register_data_commands(app, bench_app)
app.add_typer(report_app, name="report")
app.command("dashboard")(dashboard_cmd)
app.command("serve")(serve_cmd)
app.add_typer(keys_app, name="keys")
bench_app.command("http")(bench_http_cmd)

DbOption = Annotated[str, typer.Option("--db", envvar="REGSHO_DB",
                                       help="SQLite file path or SQLAlchemy URL (postgresql://...).")]

# Piped or redirected output (a report kept on file) gets a wide page instead of Rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _leave(ctx: typer.Context, *objs: object) -> None:
    """Leave ``objs`` for the end of the process when ``main`` runs the command (``run(left=...)`` passes the list
    in the command line's context): freeing a replay's millions of objects one by one takes seconds that a process
    about to end need not spend, so ``main`` then ends the process with ``os._exit`` once its output is flushed.
    Called in a process that goes on (``run`` without ``left``), this does nothing and the objects are freed."""
    left = ctx.find_root().obj
    if isinstance(left, list):
        left.extend(objs)


def _load_and_replay(files: list[Path]) -> list[tuple[Scenario, ReplayResult]]:
    done: list[tuple[Scenario, ReplayResult]] = []
    with bulk():
        for f in files:
            sc = load(f)
            done.append((sc, replay(sc)))
    return done


def _store_error(e: Exception) -> typer.Exit:
    err.print(f"store: {escape(str(e))}", highlight=False)
    return typer.Exit(2)


def _bad_input(e: ScenarioError) -> typer.Exit:
    print_bad_input(e)
    return typer.Exit(2)


def print_bad_input(e: Exception) -> None:
    """One line on standard error: ``bad input: FILE: events[3] (order): field 'qty': ...``."""
    line = " ".join(str(e).splitlines())
    sys.stderr.write(f"bad input: {line}\n")
    sys.stderr.flush()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from regsho import __version__

        try:
            v = version("regsho")
        except PackageNotFoundError:
            v = __version__
        print(f"regsho {v}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """An engine for SEC Regulation SHO (17 CFR 242.200-204).

    Exit codes: 0 success, 1 a check or verification failed, 2 bad input, 3 internal error.
    """


def run(argv: list[str] | None = None, *, left: list[object] | None = None) -> int:
    """Run the command line and return its exit code: every command goes through here.

    Bad input (``ScenarioError``, or a store's refusal) is one line and 2; any other exception is an internal
    error: its traceback goes to a file whose path is printed, and the code is 3. Nothing is printed as a
    traceback on the terminal. ``left``: the process ends after this (``main``), so a command may leave its
    results in this list, unfreed (``_leave``)."""
    try:
        app(args=argv, prog_name="regsho", obj=left)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        sys.stderr.write(f"{code}\n")
        return 1
    except ScenarioError as e:
        print_bad_input(e)
        return 2
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # the reader went away: no complaint at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BaseException as e:  # the top-level handler: reported, never a traceback
        return _internal_error(e)
    return 0


def _internal_error(e: BaseException) -> int:
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    what = " ".join(f"{type(e).__name__}: {e}".splitlines())[:200]
    try:
        fd, path = tempfile.mkstemp(prefix=f"regsho-error-{dt.datetime.now():%Y%m%d-%H%M%S}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"regsho {' '.join(sys.argv[1:])}\n\n{text}")
        where = f"the traceback is in {path}"
    except OSError:
        where = "the traceback could not be written to a file"
    sys.stderr.write(f"internal error: {what} ({where})\n")
    return 3


@app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML or JSON).")],
    check: Annotated[bool, typer.Option("--check", help="Compare each file's expect block with the result.")]
    = False,
) -> None:
    """Replay scenario files through the engine; print JSON, or check expectations with --check."""
    from regsho.app.check import check as check_result

    try:
        done = _load_and_replay(files)
    except ScenarioError as e:
        raise _bad_input(e) from None
    if not check:
        with bulk():
            # one file is written as it is made (its records are converted chunk by chunk); several as one list
            docs = [done[0][1].lazy_json()] if len(done) == 1 else [r.to_json() for _, r in done]
            write_json(docs[0] if len(docs) == 1 else docs)
        _leave(ctx, done, docs)
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
    _leave(ctx, done)
    if failed:
        raise typer.Exit(1)


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
    files: Annotated[list[Path] | None, typer.Argument(help="Scenarios to replay and explain instead.")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="Replay the bundled example scenarios instead.")]
    = False,
    db: Annotated[str | None, typer.Option("--db", envvar="REGSHO_DB", help="The store to record the demo in "
                                           "(default: the user's store, which regsho serve reads).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the demo firm.")] = 7,
    small: Annotated[bool, typer.Option("--small", help="A small firm and a week (a quick look).")] = False,
    book: Annotated[str, typer.Option(help="Book name in the store.")] = "demo",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the daily report (default: reports in "
                                                               "the data directory).")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Synthetic threshold securities even when the "
                                                                "SEC data is at hand.")] = False,
) -> None:
    """A demo firm's month (seeded) through the engine into the store, its summary, its daily report, and how to
    open the dashboard; with FILES or --examples, replay scenarios and explain every decision instead."""
    if not files and not examples:
        from regsho.cli.demo import firm_demo
        from regsho.store import StoreError

        try:
            firm_demo(out, db=db, seed=seed, small=small, book=book, out_dir=out_dir, synthetic=synthetic,
                      data=None)
        except StoreError as e:
            raise _store_error(e) from None
        except OSError as e:
            err.print(f"demo: cannot write {escape(str(e.filename or out_dir or ''))}: {escape(e.strerror or str(e))}",
                      highlight=False)
            raise typer.Exit(2) from None
        return
    paths = files or sorted(EXAMPLES.glob("*.yaml"))
    try:
        done = _load_and_replay(paths)
    except ScenarioError as e:
        raise _bad_input(e) from None
    from regsho.app.closeouts import status
    from regsho.cli.closeouts import render

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
    from regsho.app.closeouts import cut, status
    from regsho.cli.closeouts import render, run_with_progress
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
                written = write_documents(build_documents(
                    result.book, [se.event for se in sc.events], result.notices, result.pre_borrow,
                    result.obligations), documents)
                st = dataclasses.replace(st, documents=tuple(str(p) for p in written))
            if as_json:
                docs_out.append({"scenario": sc.name, "file": sc.path, **st.to_json()})
            else:
                render(sc, st, out)
                if documents is not None:
                    out.print(f"{len(st.documents)} document files written to {documents}", highlight=False)
    except ScenarioError as e:
        raise _bad_input(e) from None
    except StoreError as e:
        raise _store_error(e) from None
    if as_json:
        json.dump(docs_out[0] if len(docs_out) == 1 else docs_out, sys.stdout, indent=2)
        sys.stdout.write("\n")


@app.command("provisions")
def provisions_cmd(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the index here (default: print it).")] = None,
    root: Annotated[Path, typer.Option(help="The project root whose scenario files are replayed.")] = Path("."),
) -> None:
    """The provisions index: paragraph -> rule functions -> scenario files (docs/provisions.md)."""
    from regsho.app import provisions as pv

    try:
        text = pv.markdown(pv.build(pv.project_scenarios(root.resolve()), root.resolve()))
    except ScenarioError as e:
        raise _bad_input(e) from None
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"{out_file}: {text.count(chr(10))} lines", highlight=False)


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


@bench_app.command("input")
def bench_input_cmd(
    events: Annotated[int, typer.Option(help="Events in the generated JSON scenario.")] = 1_000_000,
    symbols: Annotated[int, typer.Option(help="Securities.")] = 5_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 5,
) -> None:
    """regsho replay of a generated JSON day end to end (read, validate, replay, write) next to the bare parser."""
    from regsho.bench.input import run as run_input

    run_input(events=events, symbols=symbols, seed=seed, console=out)


@bench_app.command("closeouts")
def bench_closeouts_cmd(
    year: Annotated[int, typer.Option(help="Calendar year to simulate.")] = 2025,
    fails_per_day: Annotated[str, typer.Option(help="Fails per settlement day, one run each (comma-separated).")]
    = "100,5000",
    days: Annotated[int | None, typer.Option(help="Only the first N settlement days (a quick run).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 11,
    by_type: Annotated[bool, typer.Option("--by-type", help="Also time each event and report µs per event type, "
                                                            "and the largest size at the smallest's costs.")]
    = False,
) -> None:
    """A synthetic year of a clearing firm's fails (3,000 securities, 20 correspondents) through the book engine:
    events/s next to a dispatch-only baseline, at each size."""
    from regsho.bench.closeouts import run

    try:
        sizes = tuple(int(x) for x in fails_per_day.split(","))
    except ValueError:
        err.print(f"--fails-per-day: expected comma-separated whole numbers, got {fails_per_day!r}")
        raise typer.Exit(2) from None
    run(year=year, sizes=sizes, seed=seed, console=out, days=days, by_type=by_type)


def _store(db: str) -> StoreT:
    from regsho.store import Store

    return Store(db)


def main() -> None:
    left: list[object] = []
    code = run(left=left)
    if left:
        # the output is complete: flush it and end without freeing what the command left (as mypy does)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
