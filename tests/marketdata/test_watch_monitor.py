"""The threshold watch and the market monitor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from tests.marketdata.conftest import days, history, shares_table

from regsho.adapters.cns import read_cns
from regsho.adapters.errors import InputError
from regsho.marketdata import monitor, threshold, watch

A, B, C = "AAAAAAAA1", "BBBBBBBB2", "CCCCCCCC3"
TSO = {A: 2_000_000, B: 2_000_000, C: 2_000_000}


def result() -> threshold.ThresholdResult:
    # A: qualifying from day 0 (listed from day 4); B: qualifying days 7-9 (day 3 of a run on day 9); C: never
    return threshold.compute(history({A: [20_000] * 10, B: [0] * 7 + [20_000] * 3, C: [500] * 10}),
                             shares_table(TSO))


def test_pending_are_days_one_to_four_of_a_run() -> None:
    r = result()
    d = days(10)[9]
    w = watch.watch(r, d)
    assert w.pending.select("cusip", "run_day", "days_to_list").rows() == [(B, 3, 2)]
    assert w.pending["pct_tso"][0] == 1.0


def test_date_must_be_covered() -> None:
    with pytest.raises(ValueError, match="not a settlement day covered"):
        watch.watch(result(), dt.date(2021, 1, 9))


def test_firm_fails_in_threshold_securities_with_days_left(tmp_path: Path) -> None:
    ds = days(10)
    p = tmp_path / "cns.csv"
    lines = ["date,symbol,fail_qty"] + [f"{d.isoformat()},SAAAA,300" for d in ds[3:]] + [f"{ds[9]},SBBBB,100"]
    p.write_text("\n".join(lines) + "\n")
    w = watch.watch(result(), ds[9], read_cns(p))
    # A is on the list from ds[4]; the firm fails ds[4]..ds[9]: 6 days, 7 left; due after the 13th day
    assert w.firm.select("symbol", "cusip", "fail_qty", "days_failing", "days_left").rows() == [
        ("SAAAA", A, 300, 6, 7)]
    from regsho.calendars import default_calendars

    assert w.firm["closeout_due"][0] == default_calendars().add_settlement_days(ds[4], 13)


def test_cns_file_errors_name_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "cns.csv"
    p.write_text("date,symbol,fail_qty\n2021-01-04,GME,100\n2021-01-05,GME,lots\n")
    with pytest.raises(InputError) as e:
        read_cns(p)
    assert (e.value.line, e.value.field, e.value.value) == (3, "fail_qty", "'lots'")


def test_monitor_writes_html_with_charts_and_a_csv_per_table(tmp_path: Path) -> None:
    r = result()
    f = history({A: [20_000] * 10})
    got = monitor.write(r, tmp_path / "out", f)
    page = got.html.read_text()
    assert page.count("<svg") >= 3 and "<script" not in page
    assert "Threshold securities monitor" in page
    names = sorted(p.name for p in got.csvs)
    assert names == ["entries_exits.csv", "persistent.csv", "spells.csv", "unknown.csv"]
    flow = pl.read_csv(tmp_path / "out" / "entries_exits.csv")
    assert flow["entries"].sum() == 1 and flow["on_list"].max() == 1
    spells = pl.read_csv(tmp_path / "out" / "spells.csv")
    assert spells.columns[:4] == ["cusip", "symbol", "start", "end"]
