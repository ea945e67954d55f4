"""The threshold computation on Spark (local mode, small data) gives the same spells as Polars."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.marketdata.conftest import history, shares_table

from regsho.adapters.errors import InputError
from regsho.marketdata import threshold

if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or newer) on PATH; `java` was not found", allow_module_level=True)
pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install -e '.[spark]')")

from regsho.adapters.sec_fails_spark import read_fails
from regsho.marketdata import spark as msp

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

SERIES = {
    "AAAAAAAA1": [20_000] * 6 + [0] * 4 + [20_000] * 3 + [0] * 7 + [20_000] * 9,
    "BBBBBBBB2": [0] * 3 + [50_000] * 12 + [0] * 5 + [50_000] * 5,
    "CCCCCCCC3": [20_000] * 4 + [0] + [20_000] * 4,
    "DDDDDDDD4": [20_000] * 30,
}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    s = msp.session("regsho-tests", cores=1)
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def test_spark_spells_identical_to_polars(spark: Any) -> None:
    f = history(SERIES)
    counts = {k: 2_000_000 for k in SERIES}
    counts["BBBBBBBB2"] = 10_000_000
    s = shares_table(counts)
    want = threshold.compute(f, s).spells
    got = msp.compute_spells(spark, msp.from_polars(spark, f), msp.from_polars(spark, s))
    assert want.height >= 4
    assert got.equals(want)


def test_spark_reads_sec_files_like_the_adapter(spark: Any, tmp_path: Path) -> None:
    from regsho.adapters import sec_fails

    p = tmp_path / "cnsfails202101b.txt"
    p.write_bytes(b"SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE\r\n"
                  b"20210126|36467W109|GME|2099572|GAMESTOP | CORP |76.79\r\n"
                  b"20210126|00162Q452||12000|ALERIAN MLP ETF|.\r\n"
                  b"Trailer record count 2\r\nTrailer total quantity of shares 2111572\r\n")
    got = pl.from_arrow(read_fails(spark, [p]).toArrow())
    assert isinstance(got, pl.DataFrame)
    want = sec_fails.read_file(p)
    assert got.sort("cusip").equals(want.sort("cusip"))
    for old, new, field in (("2099572", "20x", "QUANTITY"), ("20210126|3", "20210231|3", "SETTLEMENT DATE"),
                            ("|GAMESTOP | CORP |76.79", "", "6 '\\|'-separated")):
        bad = tmp_path / f"bad{len(field)}" / "cnsfails202101b.txt"
        bad.parent.mkdir()
        bad.write_text(p.read_text().replace(old, new))
        with pytest.raises(InputError, match=field):
            read_fails(spark, [bad])
