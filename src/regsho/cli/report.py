"""``regsho report daily``: the daily report of a stored book (HTML, PDF, a CSV per table). Parsing and rendering
only; the work is ``regsho.app.daily``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

report_app = typer.Typer(help="Reports a firm hands an examiner.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@report_app.command("daily")
def daily_cmd(
    book: Annotated[str, typer.Option("--book", help="The stored book to report on.")],
    date: Annotated[str | None, typer.Option("--date", help="The day, YYYY-MM-DD (default: the book's last "
                                                            "day).")] = None,
    db: Annotated[str | None, typer.Option("--db", envvar="REGSHO_DB",
                                           help="SQLite file path or SQLAlchemy URL (default: the user's store).")]
    = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = Path("."),
) -> None:
    """The daily Regulation SHO report of a stored book: decisions by outcome and reason, exceptions relied on,
    locates, close-out obligations, the penalty box, notices and findings, with a CSV file per table."""
    from regsho.app import paths
    from regsho.app.daily import ReportError, report_from_store
    from regsho.store import Store, StoreError

    day = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date.strip())
        except ValueError:
            err.print(f"--date: expected a date YYYY-MM-DD, got {date[:40]!r}", highlight=False, markup=False)
            raise typer.Exit(2) from None
    try:
        store = Store(db or paths.default_db())
        try:
            report = report_from_store(store, book, day)
        finally:
            store.close()
        files = report.write(out_dir)
    except (StoreError, ReportError) as e:
        err.print(f"report: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as e:
        err.print(f"report: cannot write to {out_dir}: {escape(e.strerror or str(e))}", highlight=False)
        raise typer.Exit(2) from None
    summary = report.table("summary")
    figures = ", ".join(f"{k.strip()} {v}" for k, v in summary.rows[:3])
    out.print(f"{report.title}: {figures}", highlight=False, markup=False)
    for f in files[:2]:
        out.print(f"  {f}", highlight=False, markup=False)
    out.print(f"  and {len(files) - 2} CSV files (one per table) in {out_dir}", highlight=False, markup=False)
