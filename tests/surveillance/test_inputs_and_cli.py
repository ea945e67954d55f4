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


def _quotes_parquet(tmp: Path, n: int, **cols: list[object]) -> Path:
    base: dict[str, list[object]] = {
        "ts": [1_340_285_400_000_000_000 + i for i in range(n)], "symbol": ["AMZN"] * n, "mm_id": ["MM1"] * n,
        "bid": [223.1] * n, "ask": [223.2] * n, "bid_size": [100] * n, "ask_size": [100] * n,
        "venue": ["NASDAQ"] * n, "displayed": [True] * n, "firm": [True] * n}
    base.update(cols)
    p = tmp / "q.parquet"
    pl.DataFrame(base).write_parquet(p)
    return p


def test_text_columns_stripped_and_checked_whether_few_or_many_distinct_values(tmp_path: Path) -> None:
    n = 10
    # few distinct values (checked on the distinct values) and one value per row (checked row by row)
    for venues in (["NASDAQ"] * (n - 1) + [" NASDAQ\t"], [f" V{i} " for i in range(n)]):
        q = read_quotes(_quotes_parquet(tmp_path, n, venue=venues))
        assert all(v == v.strip() for v in q.get_column("venue").to_list())
    clean = read_quotes(_quotes_parquet(tmp_path, n))
    assert clean.get_column("venue").to_list() == ["NASDAQ"] * n
    for blank in ("", "  "):
        with pytest.raises(InputError, match=r"row 4: column 'mm_id': a value is required"):
            read_quotes(_quotes_parquet(tmp_path, n, mm_id=["MM1"] * 3 + [blank] + ["MM1"] * (n - 4)))


def test_integer_sizes_checked_for_sign_and_presence(tmp_path: Path) -> None:
    n = 5
    with pytest.raises(InputError, match=r"row 3: column 'ask_size': must be a positive whole number of shares"):
        read_quotes(_quotes_parquet(tmp_path, n, ask_size=[100, 100, 0, 100, 100]))
    with pytest.raises(InputError, match=r"row 2: column 'bid_size': a size is required when bid is quoted"):
        read_quotes(_quotes_parquet(tmp_path, n, bid_size=[100, None, 100, 100, 100]))
    q = read_quotes(_quotes_parquet(tmp_path, n, bid=[223.1, None, 223.1, 223.1, 223.1],
                                    bid_size=[100, None, 100, 100, 100]))
    assert q.get_column("bid_size").to_list() == [100, None, 100, 100, 100]
    assert q.get_column("bid_size").dtype == pl.Int64


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
