"""Shares-outstanding and CNS-position files: layouts, errors naming line and field, and fuzz."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsho.adapters import cns, shares
from regsho.adapters.errors import InputError


def test_point_in_time_counts_by_cusip(tmp_path: Path) -> None:
    p = tmp_path / "tso.csv"
    p.write_text("cusip,date,shares_outstanding\n36467W109,2020-12-31,\"69,746,000\"\n36467W109,20210331,72000000\n")
    df = shares.read_file(p)
    assert df.rows() == [("cusip", "36467W109", dt.date(2020, 12, 31), 69_746_000),
                         ("cusip", "36467W109", dt.date(2021, 3, 31), 72_000_000)]


def test_screener_snapshot(tmp_path: Path) -> None:
    p = tmp_path / "screener.csv"
    p.write_text("Symbol,Name,Last Sale,Market Cap\nGME,GameStop,$200.00,14000000000.00\nNOCAP,No Cap,$1.00,\n")
    assert shares.read_file(p).rows() == [("symbol", "GME", None, 70_000_000)]


@pytest.mark.parametrize(("body", "line", "field"), [
    ("cusip,date,shares_outstanding\n36467W109,2020-12-31,0\n", 2, "shares_outstanding"),
    ("cusip,date,shares_outstanding\n36467W109,2020-12-31,5\n36467W1,2020-12-31,5\n", 3, "cusip"),
    ("symbol,date,shares_outstanding\nGME,31/12/2020,5\n", 2, "date"),
    ("cusip,date,shares_outstanding\n36467W109,2020-12-31,5\n36467W109,2020-12-31,6\n", 3, "date"),
    ("Symbol,Last Sale,Market Cap\nGME,$x,5\n", 2, "Last Sale"),
])
def test_errors_name_line_and_field(tmp_path: Path, body: str, line: int, field: str) -> None:
    p = tmp_path / "s.csv"
    p.write_text(body)
    with pytest.raises(InputError) as e:
        shares.read_file(p)
    assert (e.value.line, e.value.field) == (line, field)


def test_unknown_layout(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="unknown layout"):
        shares.read_file(p)


_cell = st.sampled_from(["", "GME", "36467W109", "2021-01-04", "20210104", "100", "-1", "1,000", "$5", "x", "\"",
                         "é", "\x00"])
_header = st.sampled_from(["cusip,date,shares_outstanding", "symbol,date,shares_outstanding",
                           "Symbol,Last Sale,Market Cap", "date,symbol,fail_qty", "date,cusip,fail_qty", "a"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_header, rows=st.lists(st.lists(_cell, min_size=0, max_size=4).map(",".join), max_size=5),
       raw=st.binary(max_size=12))
def test_fuzz_only_input_errors(tmp_path: Path, header: str, rows: list[str], raw: bytes) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(("\n".join([header, *rows]) + "\n").encode() + raw)
    for read in (shares.read_file, cns.read_cns):
        with contextlib.suppress(InputError):
            read(p)
