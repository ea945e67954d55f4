"""Benchmark: threshold spells from SEC fails files (``regsho bench threshold``).

1. The real files (``../shared/data/sec_ftd``, 17 half-month files): loading them with the project's adapter
   (every line validated) and computing the spells, next to pyarrow alone reading the same files, in the same run:
   one untimed run of each, then five of each taken in turn (so that a change in the machine's load falls on both),
   the median of each. The calendars are built before timing (once per process).
2. A synthetic history of ``years`` years in the SEC format, one file per half month (about 25 million rows for
   20 years at 5,000 failing securities a day), generated before timing: rows/s of the chunked computation (file by
   file, open clusters carried) next to pyarrow reading the files alone, and its peak memory, measured in a fresh
   process for each history length so that the peaks can be compared across years.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from regsho.calendars import default_calendars

SHARED_FTD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "sec_ftd"
SHARED_LISTINGS = SHARED_FTD.parent / "listings"
START_YEAR = 2005


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _medians(fns: Sequence[Callable[[], object]], n: int = 5) -> list[float]:
    """The median time of each function over ``n`` rounds, the functions taken in turn in each round."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for t, fn in zip(times, fns, strict=True):
            t.append(_timed(fn))
    return [statistics.median(t) for t in times]


def pyarrow_read(files: Sequence[Path]) -> int:
    """pyarrow alone: read each file with its defaults (trailer lines skipped, as it cannot split them)."""
    import pyarrow.csv as pacsv

    rows = 0
    for f in files:
        t = pacsv.read_csv(f, parse_options=pacsv.ParseOptions(delimiter="|", quote_char=False,
                                                               invalid_row_handler=lambda _r: "skip"))
        rows += t.num_rows
    return rows


def _real(files: list[Path], share_files: list[Path], console: Console) -> dict[str, float]:
    from regsho.adapters import sec_fails, shares
    from regsho.marketdata import threshold

    default_calendars()
    sec_fails._settlement_days()
    s = shares.read_many(share_files) if share_files else shares.read_many([])
    spells: list[int] = []

    def ours() -> None:
        r = threshold.compute(sec_fails.read_many(files), s)
        spells.append(r.spells.height)

    rows = pyarrow_read(files)
    ours()
    load0 = os.getloadavg()[0]
    base, mine = _medians([lambda: pyarrow_read(files), ours])
    load1 = os.getloadavg()[0]
    t = Table(title=f"SEC fails files: {len(files)} files, {rows:,} rows", title_justify="left")
    for c in ("run", "seconds", "rows/s", "x pyarrow read"):
        t.add_column(c, justify="right" if c != "run" else "left")
    t.add_row("pyarrow read alone (baseline)", f"{base:.3f}", f"{rows / base:,.0f}", "1.00")
    t.add_row(f"load + validate + spells ({spells[-1]} spells)", f"{mine:.3f}", f"{rows / mine:,.0f}",
              f"{mine / base:.2f}")
    console.print(t)
    console.print(f"load average (1 min): {load0:.2f} before, {load1:.2f} after", highlight=False)
    return {"rows": rows, "baseline_s": base, "ours_s": mine, "ratio": mine / base, "load_before": load0,
            "load_after": load1}


# -- synthetic history ---------------------------------------------------------------------------------------------

HEADER = "SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE"


def generate(folder: Path, years: int, securities: int, seed: int = 3) -> tuple[list[Path], Path]:
    """SEC-format half-month files for ``years`` years from 2005 and a point-in-time shares file; reused when
    already there."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    cal = default_calendars()
    days = cal.settlement_days(dt.date(START_YEAR, 1, 3), dt.date(START_YEAR + years - 1, 12, 31))
    universe = securities * 2  # half of them fail on a given day
    rng = np.random.default_rng(seed)
    cusips = np.array([f"{i:08d}{i % 10}" for i in range(universe)])
    symbols = np.array([f"S{i:05d}" for i in range(universe)])
    tso = rng.integers(5_000_000, 400_000_000, universe)
    shares_path = folder / "shares.csv"
    if not shares_path.exists():
        pacsv.write_csv(pa.table({"cusip": cusips, "date": [dt.date(2000, 1, 1)] * universe,
                                  "shares_outstanding": tso}), shares_path,
                        pacsv.WriteOptions(quoting_style="none"))
    halves: dict[str, list[dt.date]] = {}
    for d in days:
        halves.setdefault(f"cnsfails{d:%Y%m}{'a' if d.day <= 15 else 'b'}.txt", []).append(d)
    files = []
    regime = rng.random(universe) < 0.03
    for name, ds in halves.items():
        path = folder / name
        files.append(path)
        flip = rng.random(universe) < 0.08
        regime = np.where(flip, ~regime, regime)
        if path.exists():
            continue
        n = len(ds)
        pick = np.concatenate([rng.choice(universe, securities, replace=False) for _ in range(n)])
        date_col = np.repeat([int(d.strftime("%Y%m%d")) for d in ds], securities)
        high = regime[pick]
        qty = np.where(high, rng.lognormal(13.0, 1.0, pick.size), rng.lognormal(7.5, 1.5, pick.size))
        qty = np.maximum(1, qty).astype(np.int64)
        table = pa.table({
            "SETTLEMENT DATE": date_col, "CUSIP": cusips[pick], "SYMBOL": symbols[pick], "QUANTITY (FAILS)": qty,
            "DESCRIPTION": np.full(pick.size, "SYNTHETIC ISSUER INC COM"),
            "PRICE": np.round(rng.lognormal(3, 1, pick.size), 2),
        })
        order = np.lexsort((cusips[pick], date_col))
        with path.open("wb") as fh:
            fh.write((HEADER + "\n").encode())
            pacsv.write_csv(table.take(pa.array(order)), fh,
                            pacsv.WriteOptions(delimiter="|", quoting_style="none", include_header=False))
    return files, shares_path


def child(folder: str, years: int) -> None:
    """Run the chunked computation over the first ``years`` years of a generated history; print JSON."""
    from regsho.adapters import sec_fails, shares
    from regsho.marketdata import threshold

    default_calendars()
    sec_fails._settlement_days()
    root = Path(folder)
    files = sorted(f for f in root.glob("cnsfails*.txt") if int(f.name[8:12]) < START_YEAR + years)
    s = shares.read_file(root / "shares.csv")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    comp = threshold.Computation(s, keep_daily=False)
    by_year: dict[str, list[Path]] = {}
    for f in files:
        by_year.setdefault(f.name[8:12], []).append(f)
    for year in sorted(by_year):  # a year at a time: memory holds one year and the open clusters
        comp.add(sec_fails.read_many(by_year[year]))
    r = comp.result()
    secs = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"years": years, "files": len(files), "rows": comp.rows, "seconds": secs,
                      "spells": r.spells.height, "peak_rss_mb": rss / 1024, "start_rss_mb": rss0 / 1024}))


def _child_run(folder: Path, years: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", f"from regsho.bench.threshold import child; child({str(folder)!r}, "
                          f"{years})"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _synthetic(years: int, securities: int, scale: tuple[int, ...], workdir: Path | None,
               console: Console) -> dict[str, object]:
    folder = workdir or Path(tempfile.gettempdir()) / f"regsho-bench-threshold-{years}y-{securities}"
    t = time.perf_counter()
    files, _ = generate(folder, years, securities)
    console.print(f"synthetic history: {len(files)} files in {folder} (generated or reused in "
                  f"{time.perf_counter() - t:.1f} s)", highlight=False)
    t = time.perf_counter()
    rows = pyarrow_read(files)
    base = time.perf_counter() - t
    runs = [_child_run(folder, y) for y in sorted({*scale, years})]
    full = runs[-1]
    table = Table(title=f"Synthetic history: {years} years, {rows:,} rows", title_justify="left")
    for c in ("run", "years", "rows", "seconds", "rows/s", "x pyarrow read", "peak RSS MB"):
        table.add_column(c, justify="left" if c == "run" else "right")
    table.add_row("pyarrow read alone (baseline)", str(years), f"{rows:,}", f"{base:.2f}", f"{rows / base:,.0f}",
                  "1.00", "")
    for r in runs:
        ratio = f"{r['seconds'] / base:.2f}" if r["years"] == years else ""
        table.add_row("load + validate + spells, a year at a time", str(r["years"]), f"{int(r['rows']):,}",
                      f"{r['seconds']:.2f}", f"{r['rows'] / r['seconds']:,.0f}", ratio, f"{r['peak_rss_mb']:.0f}")
    console.print(table)
    return {"baseline_s": base, "rows": rows, "runs": runs, "ratio": full["seconds"] / base}


def run(fails: Path | None = None, years: int = 20, securities: int = 5_000, scale_years: tuple[int, ...] = (5, 10),
        synthetic: bool = True, workdir: Path | None = None, console: Console | None = None) -> dict[str, object]:
    console = console or Console()
    folder = fails or SHARED_FTD
    results: dict[str, object] = {}
    files = sorted(folder.glob("cnsfails*.txt")) if folder.is_dir() else []
    if files:
        listings = [*sorted(SHARED_LISTINGS.glob("nasdaqlist_*.csv")), *sorted(SHARED_LISTINGS.glob("nyselist_*.csv"))]
        results["real"] = _real(files, listings, console)
    else:
        console.print(f"real files: no cnsfails*.txt in {folder}; skipped", highlight=False)
    if synthetic:
        results["synthetic"] = _synthetic(years, securities, scale_years, workdir, console)
    console.print("Machine: 2 cores shared with other work; figures are noisy.", highlight=False)
    return results
