"""Input validation (file, row and column in every error; exit status 2) and ``regsho surveil`` end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from regsho.adapters.lobster import read_lobster_nbbo
from regsho.adapters.quotes import InputError, read_nbbo, read_orders, read_quotes, read_trades
from regsho.cli.main import app
from regsho.surveillance import synthetic as sy

HEAD = "ts,symbol,mm_id,bid,ask,bid_size,ask_size,venue,displayed,firm\n"
OK = "2012-06-21T09:30:00-04:00,AMZN,MM1,223.10,223.20,100,100,NASDAQ,true,true\n"


def _w(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(("line", "where"), [
    ("2012-06-21T09:30:01,AMZN,MM1,223.10,223.20,100,100,NASDAQ,true,true\n", "row 2 (line 3): column 'ts'"),
    ("2012-06-21T09:30:01-04:00,AMZN,MM1,abc,223.20,100,100,NASDAQ,true,true\n", "row 2 (line 3): column 'bid'"),
    ("2012-06-21T09:30:01-04:00,AMZN,MM1,223.10,223.20,,100,NASDAQ,true,true\n",
     "row 2 (line 3): column 'bid_size'"),
    ("2012-06-21T09:30:01-04:00,AMZN,MM1,223.30,223.20,100,100,NASDAQ,true,true\n", "row 2 (line 3): column 'bid'"),
    ("2012-06-21T09:30:01-04:00,AMZN,MM1,223.10,223.20,100,100,NASDAQ,maybe,true\n",
     "row 2 (line 3): column 'displayed'"),
    ("2012-06-21T09:30:01-04:00,,MM1,223.10,223.20,100,100,NASDAQ,true,true\n", "row 2 (line 3): column 'symbol'"),
    ("2012-06-21T09:30:01-04:00,AMZN,MM1,223.10,223.20,100.5,100,NASDAQ,true,true\n",
     "row 2 (line 3): column 'bid_size'"),
])
def test_bad_quote_names_file_row_and_column(tmp_path: Path, line: str, where: str) -> None:
    p = _w(tmp_path, "q.csv", HEAD + OK + line)
    with pytest.raises(InputError) as e:
        read_quotes(p)
    assert str(e.value).startswith(f"{p}: {where}")


def test_empty_side_is_no_quote(tmp_path: Path) -> None:
    q = read_quotes(_w(tmp_path, "q.csv", HEAD + OK + "2012-06-21T09:31:00-04:00,AMZN,MM1,,223.20,,100,NASDAQ,1,0\n"))
    assert q.get_column("bid").to_list() == [223.10, None]
    assert q.get_column("firm").to_list() == [True, False]
    assert q.get_column("day").to_list() == [dt.date(2012, 6, 21)] * 2


def test_missing_column_and_other_tables(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column 'firm'"):
        read_quotes(_w(tmp_path, "q.csv", HEAD.replace(",firm", "") + "x\n"))
    with pytest.raises(InputError, match=r"row 1 \(line 2\): column 'capacity': must be one of principal, agency"):
        read_trades(_w(tmp_path, "t.csv", "ts,symbol,mm_id,side,qty,price,capacity\n"
                       "2012-06-21T10:00:00-04:00,AMZN,MM1,buy,100,223.1,own\n"))
    with pytest.raises(InputError, match="column 'end_ts': an order cannot end before"):
        read_orders(_w(tmp_path, "o.csv", "ts,end_ts,symbol,mm_id,order_id,side,qty\n"
                       "2012-06-21T10:00:00-04:00,2012-06-21T09:00:00-04:00,AMZN,MM1,o1,buy,100\n"))
    with pytest.raises(InputError, match="row 1: column 'ask': must be a positive price"):
        pl.DataFrame({"ts": [1_340_285_400_000_000_000], "symbol": ["A"], "bid": [1.0], "ask": [-1.0]}).write_parquet(
            tmp_path / "n.parquet")
        read_nbbo(tmp_path / "n.parquet")


def test_lobster_bad_line(tmp_path: Path) -> None:
    m = _w(tmp_path, "X_2012-06-21_34200000_57600000_message_1.csv", "34200.5,1,1,100,2238100,1\nabc,1,1,1,1,1\n")
    _w(tmp_path, "X_2012-06-21_34200000_57600000_orderbook_1.csv", "2239500,100,2231800,100\n2239500,100,2231800,1\n")
    with pytest.raises(InputError, match=r"message_1.csv: line 2: column 1 \(time\)"):
        read_lobster_nbbo(m)


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    q = _w(tmp_path, "q.csv", HEAD + "2012-06-21T09:30:01,AMZN,MM1,1,2,100,100,N,true,true\n")
    n = _w(tmp_path, "n.csv", "ts,symbol,bid,ask\n2012-06-21T09:30:00-04:00,AMZN,1,2\n")
    r = CliRunner().invoke(app, ["surveil", "--quotes", str(q), "--nbbo", str(n), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "row 1 (line 2): column 'ts'" in r.output
    assert "Traceback" not in r.output


def test_cli_end_to_end(tmp_path: Path) -> None:
    nb = sy.synthetic_nbbo(dt.date(2012, 6, 21), 1, 200, seed=3)
    s = sy.generate(nb, (sy.Maker("GOOD", "honest"), sy.Maker("PEG", "pegged")), seed=3)
    s.quotes.write_parquet(tmp_path / "q.parquet")
    nb.drop("day").write_csv(tmp_path / "n.csv")
    s.trades.write_parquet(tmp_path / "t.parquet")
    s.orders.write_parquet(tmp_path / "o.parquet")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["surveil", "--quotes", str(tmp_path / "q.parquet"), "--nbbo", str(tmp_path / "n.csv"),
                                 "--trades", str(tmp_path / "t.parquet"), "--orders", str(tmp_path / "o.parquet"),
                                 "--out", str(out), "--engine", "duckdb"])
    assert r.exit_code == 0, r.output
    v = pl.read_csv(out / "verdicts.csv")
    day = v.filter(pl.col("scope") == "day").sort("mm_id")
    assert day.get_column("bona_fide").to_list() == [True, False]
    assert "MM_BAND_EDGE" in day.get_column("codes")[1]
    f = pl.read_csv(out / "findings.csv")
    assert set(f.get_column("mm_id").to_list()) == {"PEG"}
    m = pl.read_csv(out / "metrics.csv")
    assert m.filter(pl.col("scope") == "window").height == 2 * 13
    page = (out / "review.html").read_text()
    assert page.count("<svg") == 1 and "PEG in S000" in page
