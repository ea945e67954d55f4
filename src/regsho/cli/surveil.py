"""``regsho surveil``: the bona fide market-making review over the firm's quotes, the NBBO, its trades and its
customer orders; ``regsho bench surveillance``: its benchmark. Parsing arguments and rendering only."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import polars as pl

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _nbbo(paths: list[Path]) -> pl.DataFrame:
    import polars as pl

    from regsho.adapters.lobster import is_lobster_message, read_lobster_nbbo
    from regsho.adapters.quotes import read_nbbo

    frames = [read_lobster_nbbo(p) if is_lobster_message(p) else read_nbbo(p) for p in paths]
    return pl.concat(frames, how="vertical_relaxed")


def surveil_cmd(
    quotes: Annotated[Path, typer.Option("--quotes", help="The firm's quotes (Parquet or CSV).")],
    nbbo: Annotated[list[Path], typer.Option("--nbbo", help="NBBO file(s): Parquet/CSV, or LOBSTER message files.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for metrics.csv, findings.csv, verdicts.csv, "
                                                         "review.html.")],
    trades: Annotated[Path | None, typer.Option("--trades", help="The firm's trades.")] = None,
    orders: Annotated[Path | None, typer.Option("--orders", help="The firm's resting customer orders.")] = None,
    tiers: Annotated[Path | None, typer.Option("--tiers", help="symbol,tier file (LULD tier 1 or 2; default 1).")
                     ] = None,
    engine: Annotated[str, typer.Option("--engine", help="numba (default), polars, duckdb or spark.")] = "numba",
    accounts: Annotated[list[str] | None, typer.Option(
        "--accounts", help="MM_ID=ACCOUNT: also write the window verdicts as mm_verdict scenario events "
                           "(mm_verdicts.yaml) for the gate.")] = None,
) -> None:
    """Does the market maker really make a market? Metrics, findings and verdicts per day and 30-minute window."""
    # read here, not when the command line starts: Polars and the surveillance engine take a while to import
    import yaml

    from regsho.adapters.quotes import InputError, read_orders, read_quotes, read_tiers, read_trades
    from regsho.adapters.scenario_dump import dump_event
    from regsho.surveillance import findings as fi
    from regsho.surveillance import metrics as me
    from regsho.surveillance.review_page import page
    from regsho.surveillance.verdict_events import verdict_events

    account_map: dict[str, str] = {}
    for a in accounts or []:
        mm, sep, acct = a.partition("=")
        if not sep or not mm.strip() or not acct.strip():
            err.print(f"--accounts: expected MM_ID=ACCOUNT, got {a!r}", highlight=False, markup=False)
            raise typer.Exit(2)
        account_map[mm.strip()] = acct.strip()
    if engine not in me.ENGINES:
        err.print(f"--engine: must be one of {', '.join(me.ENGINES)}, got {engine!r}", highlight=False)
        raise typer.Exit(2)
    try:
        q = read_quotes(quotes)
        n = _nbbo(nbbo)
        t = read_trades(trades) if trades else None
        o = read_orders(orders) if orders else None
        tier_map = read_tiers(tiers) if tiers else {}
        m = me.compute(me.Inputs(q, n, t, o, tier_map), engine)
    except (InputError, me.SurveillanceError) as e:
        err.print(f"bad input: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    rv = fi.review(m)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".surveil-", dir=out_dir))
    try:
        me.table(m).write_csv(tmp / "metrics.csv")
        fi.findings_table(rv).write_csv(tmp / "findings.csv")
        fi.verdicts_table(rv).write_csv(tmp / "verdicts.csv")
        (tmp / "review.html").write_text(page(m, rv, q, n, tier_map), encoding="utf-8")
        names = ["metrics.csv", "findings.csv", "verdicts.csv", "review.html"]
        if account_map:
            events = [dump_event(e) for e in verdict_events(rv, account_map)]
            (tmp / "mm_verdicts.yaml").write_text(yaml.safe_dump({"events": events}, sort_keys=False, width=200),
                                                  encoding="utf-8")
            names.append("mm_verdicts.yaml")
        for name in names:
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    days = [v for v in rv.verdicts if v.scope == "day"]
    bad = [v for v in days if not v.bona_fide]
    out.print(f"{len(days)} market maker-days reviewed, {len(bad)} not bona fide, {len(rv.findings)} findings; "
              f"wrote {out_dir}/metrics.csv, findings.csv, verdicts.csv, review.html", highlight=False)
    for v in bad:
        out.print(f"  {v.date} {v.symbol} {v.mm_id}: {' '.join(v.codes)}", highlight=False, markup=False)


def bench_cmd(
    quotes: Annotated[int, typer.Option("--quotes", help="Number of synthetic quotes.")] = 10_000_000,
    symbols: Annotated[int, typer.Option("--symbols")] = 100,
    makers: Annotated[int, typer.Option("--makers")] = 20,
    repeat: Annotated[int, typer.Option("--repeat", help="Timed runs (the median is reported).")] = 3,
    engine: Annotated[str, typer.Option("--engine", help="numba (default), polars, duckdb or spark.")] = "numba",
) -> None:
    """Quotes/s of the review over one synthetic day, next to the time the same engine takes to scan the files."""
    from regsho.bench.surveillance import run

    for line in run(quotes, symbols, makers, repeat, engine):
        out.print(line, highlight=False, markup=False)
