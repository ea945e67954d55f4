"""LOBSTER message and orderbook files -> the NBBO input of market-making surveillance.

LOBSTER rebuilds the Nasdaq book from TotalView-ITCH. A file pair is named
``TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv`` / ``..._orderbook_LEVEL.csv``; both have no header, and row *i* of
the orderbook is the book after message *i*. Message column 1 is seconds after midnight, New York time, with up to
nine decimals (parsed exactly, as integers); orderbook columns 1-4 are ask price, ask size, bid price, bid size at
level 1, prices in dollars x 10,000. An empty side carries the dummy prices 9999999999 / -9999999999.

This is the Nasdaq best bid and offer, not the consolidated NBBO; surveillance uses it as the stand-in.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import polars as pl

from regsho.adapters.quotes import InputError, ny_day

_NAME: Final = re.compile(r"^(?P<sym>[A-Za-z0-9.]+)_(?P<day>\d{4}-\d\d-\d\d)_\d+_\d+_message_(?P<level>\d+)\.csv$")
_PRICE_SCALE: Final = 10_000
_DUMMY_ASK: Final = 9_999_999_999
_DUMMY_BID: Final = -9_999_999_999
NY: Final = ZoneInfo("America/New_York")


def is_lobster_message(path: str | Path) -> bool:
    return _NAME.match(Path(path).name) is not None


def orderbook_for(message: Path) -> Path:
    return message.with_name(message.name.replace("_message_", "_orderbook_"))


def read_lobster_nbbo(message: str | Path, orderbook: str | Path | None = None) -> pl.DataFrame:
    """The best bid and offer after every LOBSTER event, as the surveillance NBBO input
    (``ts, symbol, bid, ask, day``). Rows that leave the top of book unchanged are dropped."""
    mp = Path(message)
    m = _NAME.match(mp.name)
    if m is None:
        raise InputError(f"{mp}: not a LOBSTER message file name (TICKER_YYYY-MM-DD_START_END_message_N.csv)")
    ob = Path(orderbook) if orderbook is not None else orderbook_for(mp)
    for p in (mp, ob):
        if not p.exists():
            raise InputError(f"{p}: no such file")
    symbol = m.group("sym")
    day = dt.date.fromisoformat(m.group("day"))
    midnight = int(dt.datetime.combine(day, dt.time(0), tzinfo=NY).timestamp()) * 1_000_000_000
    try:
        msg = pl.read_csv(mp, has_header=False, infer_schema=False, columns=[0]).to_series().rename("time")
        book = pl.read_csv(ob, has_header=False, infer_schema=False, columns=[0, 1, 2, 3])
        book.columns = ["ask", "ask_size", "bid", "bid_size"]
    except pl.exceptions.PolarsError as e:
        raise InputError(f"{mp}: cannot be read: {str(e).splitlines()[0]}") from None
    if msg.len() != book.height:
        raise InputError(f"{ob}: {book.height} rows but {mp.name} has {msg.len()}; the files must pair row by row")
    t = msg.str.strip_chars()
    ok = t.str.contains(r"^\d+(\.\d{1,9})?$")
    _first_bad(mp, ~ok, t, "column 1 (time)", "must be seconds after midnight, e.g. 34200.017459617")
    parts = t.str.split_exact(".", 1)
    secs = parts.struct.field("field_0").cast(pl.Int64)
    frac = parts.struct.field("field_1").fill_null("0").str.pad_end(9, "0").cast(pl.Int64)
    ts = secs * 1_000_000_000 + frac + midnight
    _first_bad(mp, ts.diff().fill_null(0) < 0, t, "column 1 (time)", "times must not decrease")
    cols = {}
    for i, name in enumerate(("ask", "ask_size", "bid", "bid_size")):
        raw = book.get_column(name).str.strip_chars()
        v = raw.cast(pl.Int64, strict=False)
        _first_bad(ob, v.is_null(), raw, f"column {i + 1} ({name})", "must be an integer")
        cols[name] = v
    ask = pl.Series("ask", cols["ask"]).set(cols["ask"] >= _DUMMY_ASK, None)
    bid = pl.Series("bid", cols["bid"]).set(cols["bid"] <= _DUMMY_BID, None)
    _first_bad(ob, (ask <= 0).fill_null(False), book.get_column("ask"), "column 1 (ask)", "must be a positive price")
    _first_bad(ob, (bid <= 0).fill_null(False), book.get_column("bid"), "column 3 (bid)", "must be a positive price")
    df = pl.DataFrame({"ts": ts, "bid": bid, "ask": ask}).with_columns(symbol=pl.lit(symbol))
    changed = (pl.col("bid").ne_missing(pl.col("bid").shift(1))) | (pl.col("ask").ne_missing(pl.col("ask").shift(1)))
    df = df.filter(changed | (pl.int_range(pl.len()) == 0))
    return df.select(
        "ts", "symbol",
        (pl.col("bid") / _PRICE_SCALE).alias("bid"),
        (pl.col("ask") / _PRICE_SCALE).alias("ask"),
    ).with_columns(day=ny_day(pl.col("ts")))


def _first_bad(path: Path, bad: pl.Series, raw: pl.Series, column: str, what: str) -> None:
    idx = bad.arg_true()
    if idx.len():
        i = int(idx[0])
        raise InputError(f"{path}: line {i + 1}: {column}: {what}, got {raw[i]!r}")
