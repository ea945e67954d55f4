"""Threshold status from files: the SEC fails files and shares-outstanding files read by their adapters and handed
to the columnar computation (``regsho.marketdata.threshold``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from regsho.adapters import sec_fails, shares
from regsho.marketdata import threshold


def compute_files(fails: str | Path | Sequence[str | Path], share_files: Sequence[str | Path]
                  ) -> tuple[threshold.ThresholdResult, pl.DataFrame]:
    """The threshold computation over fails files (a folder or a list) with the given shares files; also returns
    the fails table (for charts)."""
    f = sec_fails.read_many(fails)
    return threshold.compute(f, shares.read_many(list(share_files))), f


def compute_spark(fails: pl.DataFrame, share_files: Sequence[str | Path]) -> pl.DataFrame:
    """The same spells computed by Spark in local mode (needs the ``spark`` extra and Java)."""
    from regsho.marketdata import spark as msp

    sp = msp.session()
    try:
        return msp.compute_spells(sp, msp.from_polars(sp, fails), msp.from_polars(sp, shares.read_many(
            list(share_files))))
    finally:
        sp.stop()
