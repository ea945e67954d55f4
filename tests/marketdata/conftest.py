"""Small fails histories built in memory, on the settlement calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
import pytest

from regsho.adapters import sec_fails
from regsho.calendars import default_calendars

FTD_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sec_ftd"
LISTINGS = FTD_DIR.parent / "listings"
START = dt.date(2021, 1, 4)


def days(n: int, start: dt.date = START) -> list[dt.date]:
    cal = default_calendars()
    return list(cal.settlement_days(start, start + dt.timedelta(days=3 * n + 10)))[:n]


def history(series: dict[str, Sequence[int]], start: dt.date = START, extra_days: int = 0) -> pl.DataFrame:
    """A fails table: for each CUSIP, the quantity on consecutive settlement days (0: no row). A market-wide
    filler security fails every day so that every day is covered."""
    n = max(len(v) for v in series.values()) + extra_days
    ds = days(n, start)
    rows = []
    for cusip, qs in series.items():
        for d, q in zip(ds, qs, strict=False):
            if q:
                rows.append((d, cusip, f"S{cusip[:4]}", q, "CO", 1.0))
    rows += [(d, "FILLER001", "FILL", 1, "FILLER", 1.0) for d in ds]
    return pl.DataFrame(rows, schema=sec_fails.SCHEMA, orient="row")


def shares_table(counts: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"key_kind": ["cusip"] * len(counts), "key": list(counts), "date": [None] * len(counts),
                         "shares": list(counts.values())},
                        schema={"key_kind": pl.String(), "key": pl.String(), "date": pl.Date(), "shares": pl.Int64()})


@pytest.fixture(scope="session")
def real_fails() -> pl.DataFrame:
    if not FTD_DIR.is_dir():
        pytest.skip(f"SEC FTD data not found at {FTD_DIR} (needs ../shared beside the project, as in CI)")
    return sec_fails.read_many(FTD_DIR)


@pytest.fixture(scope="session")
def real_shares() -> pl.DataFrame:
    from regsho.adapters import shares

    files = sorted(LISTINGS.glob("nasdaqlist_*.csv")) + sorted(LISTINGS.glob("nyselist_*.csv"))
    if not files:
        pytest.skip(f"listing snapshots not found in {LISTINGS}")
    return shares.read_many(files)


Make = Callable[..., pl.DataFrame]
