"""``regsho threshold compute``, ``threshold watch`` and ``monitor`` end to end, and bad input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from tests.marketdata.conftest import history
from typer.testing import CliRunner

from regsho.cli.main import app

C = "36467W109"


def fixture_dir(tmp_path: Path) -> tuple[Path, Path]:
    f = history({C: [20_000] * 8 + [0] * 6, "00162Q452": [30_000] * 7})
    fails = tmp_path / "fails"
    fails.mkdir()
    header = "SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE"
    lines = [header] + [f"{d:%Y%m%d}|{c}|{s}|{q}|{n}|{p:.2f}" for d, c, s, q, n, p in f.iter_rows()]
    (fails / "cnsfails202101a.txt").write_text("\n".join(lines) + "\n")
    shares = tmp_path / "shares.csv"
    shares.write_text(f"cusip,date,shares_outstanding\n{C},2020-12-31,2000000\nFILLER001,2020-12-31,1000\n")
    return fails, shares


def test_threshold_compute_writes_spells_and_counts_unknown(tmp_path: Path) -> None:
    fails, shares = fixture_dir(tmp_path)
    out = tmp_path / "spells.csv"
    res = CliRunner().invoke(app, ["threshold", "compute", "--fails", str(fails), "--shares", str(shares),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pl.read_csv(out, try_parse_dates=True)
    assert df.columns[:4] == ["cusip", "symbol", "start", "end"]
    assert df["cusip"].to_list() == [C]
    assert "1 securities with no shares-outstanding count" in res.output
    unknown = pl.read_csv(tmp_path / "spells.unknown.csv")
    assert unknown["cusip"].to_list() == ["00162Q452"]


def test_threshold_watch_and_monitor(tmp_path: Path) -> None:
    fails, shares = fixture_dir(tmp_path)
    res = CliRunner().invoke(app, ["threshold", "watch", "--fails", str(fails), "--shares", str(shares),
                                   "--date", "2021-01-06", "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "About to be listed (1)" in res.output
    assert pl.read_csv(tmp_path / "w" / "pending.csv")["run_day"].to_list() == [3]
    res = CliRunner().invoke(app, ["monitor", "--fails", str(fails), "--shares", str(shares), "--out",
                                   str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "index.html").exists()


def test_bad_fails_file_exits_2_with_one_line(tmp_path: Path) -> None:
    fails, shares = fixture_dir(tmp_path)
    p = fails / "cnsfails202101a.txt"
    p.write_text(p.read_text().replace("|20000|", "|2O000|", 1))
    res = CliRunner().invoke(app, ["threshold", "compute", "--fails", str(fails), "--shares", str(shares),
                                   "--out", str(tmp_path / "s.csv")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "field 'QUANTITY (FAILS)'" in lines[0] and "'2O000'" in lines[0]
    assert not (tmp_path / "s.csv").exists()


def test_bad_shares_file_exits_2(tmp_path: Path) -> None:
    fails, shares = fixture_dir(tmp_path)
    shares.write_text("cusip,date,shares_outstanding\n36467W109,2020-12-31,many\n")
    res = CliRunner().invoke(app, ["threshold", "compute", "--fails", str(fails), "--shares", str(shares),
                                   "--out", str(tmp_path / "s.csv")])
    assert res.exit_code == 2 and "line 2: field 'shares_outstanding'" in res.output


def test_watch_on_a_day_outside_the_data_exits_2(tmp_path: Path) -> None:
    fails, shares = fixture_dir(tmp_path)
    res = CliRunner().invoke(app, ["threshold", "watch", "--fails", str(fails), "--shares", str(shares),
                                   "--date", "2021-03-01"])
    assert res.exit_code == 2 and "--date" in res.output
