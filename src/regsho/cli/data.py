"""``regsho data``, ``regsho threshold``, ``regsho monitor``, ``regsho lists`` and ``regsho bench threshold``:
public market data from the command line. Argument parsing and rendering only; the work is in
``regsho.marketdata`` and ``regsho.app``."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from regsho.adapters.errors import InputError

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

data_app = typer.Typer(help="Download public data: SEC fails-to-deliver files and the SROs' daily lists.",
                       no_args_is_help=True)
fetch_app = typer.Typer(help="Fetch files into the local cache (validated, checksummed).", no_args_is_help=True)
data_app.add_typer(fetch_app, name="fetch")
threshold_app = typer.Typer(help="Threshold securities (17 CFR 242.203(c)(6)) from the SEC fails data.",
                            no_args_is_help=True)
lists_app = typer.Typer(help="SRO threshold lists, Rule 201 files and shortable files into a stored book.",
                        no_args_is_help=True)

FailsOpt = Annotated[Path, typer.Option("--fails", help="Folder (or file) of SEC cnsfails files, .txt or .zip.")]
SharesOpt = Annotated[list[Path], typer.Option("--shares", help="Shares outstanding: point-in-time counts "
                                               "(symbol|cusip,date,shares_outstanding) or a screener export "
                                               "(Market Cap / Last Sale). Repeatable; the first file wins.")]
CacheOpt = Annotated[Path | None, typer.Option("--cache", envvar="REGSHO_CACHE",
                                               help="Local cache folder (default: ~/.cache/regsho).")]
MirrorOpt = Annotated[str | None, typer.Option("--mirror", help="Fetch from this base URL instead of the "
                                               "public sites (same paths).")]
AgentOpt = Annotated[str, typer.Option("--user-agent", envvar="REGSHO_USER_AGENT",
                                       help="User-Agent naming you and an e-mail address (the SEC requires one).")]


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "regsho"


def _bad(message: str) -> typer.Exit:
    err.print(f"[bold red]bad input[/]: {escape(message)}", markup=True, highlight=False)
    return typer.Exit(2)


@contextmanager
def _input_errors() -> Iterator[None]:
    from regsho.calendars import CalendarRangeError
    from regsho.law.params import RegimeError

    try:
        yield
    except InputError as e:
        raise _bad(str(e)) from None
    except (CalendarRangeError, RegimeError) as e:
        raise _bad(str(e)) from None


def _date(v: str, what: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise _bad(f"{what}: must be a date YYYY-MM-DD, got {v!r}")


def _compute(fails: Path, shares: list[Path]) -> tuple[Any, Any]:
    from regsho.app.threshold import compute_files

    if not shares:
        raise _bad("--shares: give at least one shares-outstanding file")
    return compute_files(fails, shares)


# -- data fetch ---------------------------------------------------------------------------------------------------


def _run_fetch(sources: list[Any], cache: Path, user_agent: str, retries: int) -> None:
    from regsho.marketdata.download import Downloader, DownloadError

    failed = 0
    table = Table(title=f"cache: {cache}", title_justify="left")
    for col in ("source", "file", "bytes", "sha256", "from"):
        table.add_column(col, overflow="fold")
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def hook(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        with Downloader(cache, user_agent, retries=retries, progress=hook) as dl:
            for src in sources:
                try:
                    got = dl.fetch(src)
                except DownloadError as e:
                    failed += 1
                    err.print(f"{src.name}: {escape(str(e))}", highlight=False)
                    continue
                table.add_row(got.name, got.path.name, f"{got.size:,}", got.sha256[:16],
                              "cache" if got.cached else got.url)
    out.print(table)
    if failed:
        raise typer.Exit(1)


@fetch_app.command("fails")
def fetch_fails_cmd(
    month: Annotated[str, typer.Argument(help="Month YYYY-MM (both half-month files).")],
    cache: CacheOpt = None, mirror: MirrorOpt = None, user_agent: AgentOpt = "",
    retries: Annotated[int, typer.Option(help="Retries per file (exponential back-off).")] = 4,
) -> None:
    """Fetch the SEC's fails-to-deliver files of a month (cnsfailsYYYYMMa.zip, ...b.zip)."""
    from regsho.app.data import fails_sources
    from regsho.marketdata.download import DEFAULT_USER_AGENT

    try:
        sources = fails_sources(month, mirror)
    except ValueError as e:
        raise _bad(str(e)) from None
    _run_fetch(sources, cache or _default_cache(), user_agent or DEFAULT_USER_AGENT, retries)


@fetch_app.command("lists")
def fetch_lists_cmd(
    date: Annotated[str, typer.Argument(help="Settlement date YYYY-MM-DD of the lists.")],
    cache: CacheOpt = None, mirror: MirrorOpt = None, user_agent: AgentOpt = "",
    retries: Annotated[int, typer.Option(help="Retries per file (exponential back-off).")] = 4,
) -> None:
    """Fetch the SRO files dated DATE: Nasdaq's threshold list and Rule 201 file, the NYSE group's five lists."""
    from regsho.app.data import list_sources
    from regsho.marketdata.download import DEFAULT_USER_AGENT

    d = _date(date, "DATE")
    base = cache or _default_cache()
    _run_fetch(list_sources(d, mirror), base / "lists" / d.isoformat(), user_agent or DEFAULT_USER_AGENT, retries)


# -- threshold ----------------------------------------------------------------------------------------------------


def _write_csv(df: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_csv(tmp, date_format="%Y-%m-%d")
    tmp.replace(path)


@threshold_app.command("compute")
def threshold_compute_cmd(
    fails: FailsOpt, shares: SharesOpt, out_path: Annotated[Path, typer.Option("--out", help="spells CSV to write.")],
    engine: Annotated[str, typer.Option(help="polars (default) or spark (local mode).")] = "polars",
) -> None:
    """Threshold spells: one row per spell, cusip,symbol,start,end (then days_on_list, day_13)."""
    if engine not in ("polars", "spark"):
        raise _bad(f"--engine: polars or spark, got {engine!r}")
    with _input_errors():
        result, f = _compute(fails, shares)
        spells = result.spells
        if engine == "spark":
            spells = _spark_spells(f, shares)
    _write_csv(spells, out_path)
    unknown_path = out_path.with_name(out_path.stem + ".unknown.csv")
    _write_csv(result.unknown, unknown_path)
    listed = spells.filter(spells["end"].is_null()).height
    out.print(f"{spells.height} spells ({listed} still listed on {result.days[-1]}) written to {out_path}; "
              f"{result.unknown_count} securities with no shares-outstanding count whose fails reached "
              f"{result.params.min_shares:,} shares for {result.params.days} days: {unknown_path}", highlight=False)


def _spark_spells(fails: Any, shares: list[Path]) -> Any:
    from regsho.app.threshold import compute_spark

    return compute_spark(fails, shares)


@threshold_app.command("watch")
def threshold_watch_cmd(
    fails: FailsOpt, shares: SharesOpt,
    date: Annotated[str, typer.Option("--date", help="Settlement date YYYY-MM-DD (default: the last in the data).")]
    = "",
    cns: Annotated[Path | None, typer.Option("--cns", help="The firm's CNS fail positions "
                                             "(date,symbol|cusip,fail_qty).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write pending.csv and firm.csv here.")] = None,
) -> None:
    """Securities about to be listed (day 1-4 of a qualifying run), and the firm's fails in threshold securities
    with the settlement days left before a 203(b)(3) close-out."""
    from regsho.adapters.cns import read_cns
    from regsho.marketdata import watch as watch_mod

    with _input_errors():
        result, _ = _compute(fails, shares)
        d = _date(date, "--date") if date else result.days[-1]
        positions = read_cns(cns) if cns is not None else None
        try:
            w = watch_mod.watch(result, d, positions)
        except ValueError as e:
            raise _bad(f"--date: {e}") from None
    out.print(f"[bold]Threshold watch[/] for {d} (list dated {d} governs trading from the next trading day)",
              highlight=False)
    _render(f"About to be listed ({w.pending.height})", w.pending, 40)
    if positions is not None:
        _render(f"Firm fails in threshold securities ({w.firm.height})", w.firm, 100)
    if out_dir is not None:
        _write_csv(w.pending, out_dir / "pending.csv")
        _write_csv(w.firm, out_dir / "firm.csv")
        out.print(f"written: {out_dir / 'pending.csv'}, {out_dir / 'firm.csv'}", highlight=False)


def _render(title: str, df: Any, limit: int) -> None:
    if df.height == 0:
        out.print(f"[bold]{escape(title)}[/]: none", highlight=False)
        return
    t = Table(title=title, title_justify="left")
    for c in df.columns:
        t.add_column(c, overflow="fold")
    for row in df.head(limit).iter_rows():
        t.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    out.print(t)
    if df.height > limit:
        out.print(f"... {df.height - limit} more", highlight=False)


def monitor_cmd(
    fails: FailsOpt, shares: SharesOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for index.html and the CSV files.")],
    charts: Annotated[int, typer.Option(help="Securities charted one by one.")] = 6,
) -> None:
    """The market monitor: an HTML report with charts and a CSV per table."""
    from regsho.marketdata import monitor

    with _input_errors():
        result, f = _compute(fails, shares)
    got = monitor.write(result, out_dir, f, charts=charts)
    out.print(f"{got.html} and {len(got.csvs)} CSV files written ({result.spells.height} spells, "
              f"{result.unknown_count} securities with unknown shares outstanding)", highlight=False)


# -- lists --------------------------------------------------------------------------------------------------------


@lists_app.command("load")
def lists_load_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder of SRO lists, Rule 201 files and shortable files.")],
    book: Annotated[str, typer.Option("--book", help="The stored book to append to.")],
    db: Annotated[str, typer.Option("--db", envvar="REGSHO_DB", help="SQLite file path or SQLAlchemy URL.")]
    = "regsho.db",
    etb_min_available: Annotated[int | None, typer.Option(help="Shares a lender must show for a symbol to be "
                                                        "easy to borrow (default: more than 10,000,000).")] = None,
) -> None:
    """Append a folder's threshold lists (union of the SROs), Rule 201 triggers and easy-to-borrow list to a book."""
    from regsho.adapters.scenario import ScenarioError
    from regsho.app import lists as lists_app_mod
    from regsho.store import StoreError

    try:
        kwargs = {} if etb_min_available is None else {"min_available": etb_min_available}
        s = lists_app_mod.load_folder(folder, book, db, **kwargs)
    except InputError as e:
        raise _bad(str(e)) from None
    except ScenarioError as e:
        raise _bad(str(e)) from None
    except StoreError as e:
        err.print(f"store: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"book {s.book}: {s.threshold_lists} threshold lists, {s.ssr_triggers} Rule 201 triggers, "
              f"{s.etb_lists} easy-to-borrow lists appended from {len(s.sources)} files"
              + (f"; new securities: {', '.join(s.new_securities)}" if s.new_securities else "")
              + (f"; ignored: {', '.join(Path(x).name for x in s.ignored)}" if s.ignored else ""), highlight=False)


# -- bench ----------------------------------------------------------------------------------------------------------


def bench_threshold_cmd(
    fails: Annotated[Path | None, typer.Option("--fails", help="SEC files (default: ../shared/data/sec_ftd).")]
    = None,
    years: Annotated[int, typer.Option(help="Years of synthetic history.")] = 20,
    securities: Annotated[int, typer.Option(help="Securities failing on a synthetic day.")] = 5_000,
    scale_years: Annotated[str, typer.Option(help="Years for the memory-growth check, comma-separated.")] = "5,10,20",
    skip_synthetic: Annotated[bool, typer.Option(help="Only the real-files run.")] = False,
) -> None:
    """Load the SEC files and compute spells next to pyarrow reading them alone; then a synthetic 20-year history:
    rows/s and peak memory, next to the read time, and memory against the number of years."""
    from regsho.bench.threshold import run

    with _input_errors():
        run(fails=fails, years=years, securities=securities,
            scale_years=tuple(int(x) for x in scale_years.split(",") if x), synthetic=not skip_synthetic,
            console=out)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add these commands to the ``regsho`` command line."""
    app.add_typer(data_app, name="data")
    app.add_typer(threshold_app, name="threshold")
    app.command("monitor")(monitor_cmd)
    app.add_typer(lists_app, name="lists")
    bench_app.command("threshold")(bench_threshold_cmd)


