"""Validated readers for market-making surveillance inputs: the firm's quotes, the NBBO, the firm's trades and its
resting customer orders, from Parquet or CSV (DESIGN principle 9).

Every file is read whole and checked column by column before anything is returned: the first bad value stops the
read with an ``InputError`` naming the file, the row (1-based data row; in a CSV the line is the row plus one for
the header) and the column. Nothing is half-loaded.

Timestamps are ISO 8601 strings with a UTC offset (``2012-06-21T09:30:00.017459617-04:00``), timezone-aware
Parquet datetimes, or integer nanoseconds since the Unix epoch. Naive times are refused. Each frame returned has
``ts`` as Int64 nanoseconds since the epoch (UTC) and ``day``, the New York trading date.

Text columns of a Parquet file are usually dictionary-encoded: there the distinct values are checked (for blanks and
empties) once each instead of row by row, and the quotes also get ``symbol_code`` and ``mm_id_code`` (``CODES``):
integers equal exactly when the text is equal (within one read, in the text's byte order; two reads of a
process are given different codes), so that the review finds each pair's quotes with integer comparisons. A
frame whose text is edited after the read must drop them; without them the review compares the text itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from regsho.core.columns import QUOTE_CODES

NY: Final = "America/New_York"
_OFFSET_RE: Final = r"(Z|z|[+-]\d\d:?\d\d)$"


class InputError(ValueError):
    """Bad input: the message names the file, the row and the column."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # ts | str | price | qty | bool | enum
    required: bool = True  # the column must exist
    nullable: bool = False  # an empty value is allowed
    choices: tuple[str, ...] = ()


QUOTE_COLUMNS: Final = (
    Column("ts", "ts"), Column("symbol", "str"), Column("mm_id", "str"),
    Column("bid", "price", nullable=True), Column("ask", "price", nullable=True),
    Column("bid_size", "qty", nullable=True), Column("ask_size", "qty", nullable=True),
    Column("venue", "str"), Column("displayed", "bool"), Column("firm", "bool"),
)
NBBO_COLUMNS: Final = (
    Column("ts", "ts"), Column("symbol", "str"),
    Column("bid", "price", nullable=True), Column("ask", "price", nullable=True),
)
TRADE_COLUMNS: Final = (
    Column("ts", "ts"), Column("symbol", "str"), Column("mm_id", "str"),
    Column("side", "enum", choices=("buy", "sell")), Column("qty", "qty"), Column("price", "price"),
    Column("capacity", "enum", choices=("principal", "agency")),
    Column("customer", "str", required=False, nullable=True),
)
ORDER_COLUMNS: Final = (
    Column("ts", "ts"), Column("end_ts", "ts", nullable=True), Column("symbol", "str"), Column("mm_id", "str"),
    Column("order_id", "str"), Column("side", "enum", choices=("buy", "sell")), Column("qty", "qty"),
    Column("price", "price", required=False, nullable=True),
)

#: The code column read_quotes adds beside each of these text columns (see the module's docstring).
CODES: Final = QUOTE_CODES


class _Bases:
    """The first code of each read: reads take consecutive ranges, so no two reads share a code."""

    def __init__(self) -> None:
        self._next = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> int:
        with self._lock:
            base = self._next
            if base + n >= 2**31:
                base = 0  # after two billion distinct values: start again (codes of reads that long ago may meet)
            self._next = base + n
            return base


_BASES: Final = _Bases()

_TRUE: Final = ("true", "1", "yes", "y", "t")
_FALSE: Final = ("false", "0", "no", "n", "f")


def _read(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise InputError(f"{path}: cannot be read: {str(e).splitlines()[0]}") from None
    raise InputError(f"{path}: unsupported file type {suffix!r} (use .parquet or .csv)")


def _fail(path: Path, bad: pl.Series, original: pl.Series, column: str, what: str, csv: bool) -> None:
    if not bad.any():
        return
    i = int(bad.arg_true()[0])
    line = f"row {i + 1} (line {i + 2})" if csv else f"row {i + 1}"
    got = original[i]
    raise InputError(f"{path}: {line}: column {column!r}: {what}, got {got!r}")


def _is_empty(s: pl.Series) -> pl.Series:
    if s.dtype == pl.String:
        return s.is_null() | (s.str.strip_chars() == "")
    return s.is_null()


def _stripped(s: pl.Series) -> pl.Series:
    """Text without surrounding blanks: the column itself (no copy) when no value has any, the common case. A
    column of few distinct values (symbols, market makers, venues) is checked on its distinct values only."""
    u = s.unique()
    if u.len() <= s.len() // 2:
        ut = u.str.strip_chars()
        if ut.equals(u, null_equal=True):
            return s
    txt = s.str.strip_chars()
    return s if txt.equals(s, null_equal=True) else txt


@dataclass(frozen=True, slots=True)
class _Coded:
    """A text column of a Parquet file as dictionary codes: row i of ``chunks`` (concatenated) is an index into
    ``values``; ``rows`` in all."""

    chunks: tuple[pa.Array, ...]
    values: pl.Series
    rows: int

    @property
    def clean(self) -> bool:
        """Whether no distinct value is empty or has surrounding blanks (then neither has any row)."""
        v = self.values
        return not (v.str.len_bytes() == 0).any() and v.str.strip_chars().equals(v)

    def ids(self) -> npt.NDArray[np.int32]:
        """Each row's code: the value's rank among the distinct values in byte order (the order Polars sorts text
        in), from a range of codes no other read in this process was given."""
        n = self.values.len()
        base = _BASES.take(n)
        idx = np.concatenate([c.to_numpy(zero_copy_only=False) for c in self.chunks]).astype(np.int32, copy=False)
        if self.values.is_sorted():  # values met in order (sorted rows): the index is the rank
            return idx + np.int32(base) if base else idx
        rank = np.empty(n, dtype=np.int32)
        rank[self.values.arg_sort().to_numpy()] = np.arange(base, base + n, dtype=np.int32)
        return rank[idx]


def _coded(path: Path, names: Sequence[str]) -> dict[str, _Coded]:
    """The text columns ``names`` of a Parquet file read again as dictionary codes (without decoding a value): the
    ones without nulls whose values are text. A column that cannot be read so is simply left out."""
    if not names:
        return {}
    try:
        table = pq.read_table(path, columns=list(names), read_dictionary=list(names))
    except (pa.ArrowException, OSError):
        return {}
    out: dict[str, _Coded] = {}
    for name in names:
        col = table.column(name)
        if (col.num_chunks == 0 or col.null_count or not pa.types.is_dictionary(col.type)
                or not pa.types.is_string(col.type.value_type)):
            continue
        col = col.unify_dictionaries()
        values = pl.Series(name, col.chunk(0).dictionary.to_pylist(), dtype=pl.String)
        out[name] = _Coded(tuple(c.indices for c in col.chunks), values, len(col))
    return out


def _parse(path: Path, s: pl.Series, col: Column, csv: bool, coded: _Coded | None = None) -> pl.Series:
    if (col.kind == "str" and s.dtype == pl.String and coded is not None and not s.null_count()
            and coded.rows == s.len() and coded.clean):
        return s.alias(col.name)  # every distinct value is clean, so is every row
    if col.kind == "str" and s.dtype == pl.String:  # the common case: one pass to strip, one to find empties
        txt = _stripped(s)
        empty = txt.is_null() | (txt.str.len_bytes() == 0)
        if not col.nullable:
            _fail(path, empty, s, col.name, "a value is required", csv)
            return txt.alias(col.name)
        return txt.set(empty, None).alias(col.name) if empty.any() else txt.alias(col.name)
    if col.kind == "qty" and s.dtype.is_integer():  # whole numbers already: only the sign to check
        empty = s.is_null()
        if not col.nullable:
            _fail(path, empty, s, col.name, "a value is required", csv)
        _fail(path, ~empty & ~(s > 0).fill_null(False), s, col.name, "must be a positive whole number of shares",
              csv)
        return s.cast(pl.Int64).alias(col.name)
    empty = _is_empty(s)
    if not col.nullable:
        _fail(path, empty, s, col.name, "a value is required", csv)
    out: pl.Series
    if col.kind == "ts":
        if s.dtype == pl.String:
            txt = s.str.strip_chars()
            what = "must be an ISO 8601 time with a UTC offset (or integer nanoseconds since the epoch)"
            digits = txt.str.contains(r"^\d+$").fill_null(False)
            if digits.all():
                out = txt.cast(pl.Int64, strict=False)
                _fail(path, out.is_null() & ~empty, s, col.name, what, csv)
            else:
                naive = ~empty & ~txt.str.contains(_OFFSET_RE)
                _fail(path, naive, s, col.name, what, csv)
                parsed = txt.str.to_datetime(time_zone="UTC", time_unit="ns", strict=False)
                _fail(path, ~empty & parsed.is_null(), s, col.name, what, csv)
                out = parsed.dt.epoch("ns")
        elif isinstance(s.dtype, pl.Datetime):
            if s.dtype.time_zone is None:
                raise InputError(f"{path}: column {col.name!r}: naive datetimes are refused; store a time zone")
            out = s.dt.convert_time_zone("UTC").dt.epoch("ns")
        elif s.dtype.is_integer():
            out = s.cast(pl.Int64)
        else:
            raise InputError(f"{path}: column {col.name!r}: a time column cannot be of type {s.dtype}")
    elif col.kind == "price":
        out = s.cast(pl.Float64, strict=False) if s.dtype != pl.String else s.str.strip_chars().cast(
            pl.Float64, strict=False)
        _fail(path, ~empty & out.is_null(), s, col.name, "must be a number", csv)
        _fail(path, ~empty & ~(out > 0).fill_null(False), s, col.name, "must be a positive price", csv)
        _fail(path, ~empty & out.is_infinite().fill_null(False), s, col.name, "must be finite", csv)
    elif col.kind == "qty":
        f = s.cast(pl.Float64, strict=False) if s.dtype != pl.String else s.str.strip_chars().cast(
            pl.Float64, strict=False)
        bad = ~empty & (f.is_null() | (f != f.round(0)) | ~(f > 0)).fill_null(True)
        _fail(path, bad, s, col.name, "must be a positive whole number of shares", csv)
        out = f.cast(pl.Int64, strict=False)
    elif col.kind == "bool":
        if s.dtype == pl.Boolean:
            out = s
        else:
            low = s.cast(pl.String).str.strip_chars().str.to_lowercase()
            ok = low.is_in(_TRUE + _FALSE).fill_null(False)
            _fail(path, ~empty & ~ok, s, col.name, "must be true or false", csv)
            out = low.is_in(_TRUE)
    elif col.kind == "enum":
        low = s.cast(pl.String).str.strip_chars().str.to_lowercase()
        _fail(path, ~empty & ~low.is_in(col.choices).fill_null(False), s, col.name,
              "must be one of " + ", ".join(col.choices), csv)
        out = low
    else:
        out = s.cast(pl.String).str.strip_chars()
    if col.nullable and s.dtype == pl.String:  # a blank text is empty: null it (other types' empties are nulls)
        return pl.Series(col.name, out).set(empty, None)
    return pl.Series(col.name, out)


def read_table(path: str | Path, columns: Sequence[Column],
               check: Callable[[Path, pl.DataFrame, bool], None] | None = None,
               coded_as: Sequence[str] = ()) -> pl.DataFrame:
    """Read and validate one input file; returns its columns parsed, plus ``day`` (New York date), plus the code
    column (``CODES``) of each column of ``coded_as`` when the file is Parquet with each dictionary-encoded."""
    p = Path(path)
    raw = _read(p)
    csv = p.suffix.lower() != ".parquet"
    coded = {} if csv else _coded(p, [col.name for col in columns if col.kind == "str" and col.name in raw.columns
                                      and raw.schema[col.name] == pl.String])
    missing = [col.name for col in columns if col.required and col.name not in raw.columns]
    if missing:
        raise InputError(f"{p}: missing column {missing[0]!r} (columns: {', '.join(raw.columns)})")
    parsed: list[pl.Series] = []
    for col in columns:
        if col.name not in raw.columns:
            if col.required:
                raise InputError(f"{p}: missing column {col.name!r} (columns: {', '.join(raw.columns)})")
            parsed.append(pl.Series(col.name, [None] * raw.height, dtype=pl.String))
            continue
        parsed.append(_parse(p, raw.get_column(col.name), col, csv, coded.get(col.name)))
    df = pl.DataFrame(parsed)
    if check is not None:
        check(p, df, csv)
    ids = [pl.Series(CODES[name], coded[name].ids()) for name in coded_as if name in coded]
    if len(ids) != len(coded_as):
        ids = []  # all or none
    return df.with_columns(ny_days(df.get_column("ts")).alias("day"), *ids)


def ny_day(ts: pl.Expr) -> pl.Expr:
    """The New York calendar date of nanosecond epoch times, converted row by row (see ``ny_days``)."""
    return pl.from_epoch(ts, time_unit="ns").dt.replace_time_zone("UTC").dt.convert_time_zone(NY).dt.date()


_HOUR: Final = 3_600_000_000_000
#: Hours spanned up to which the dates are looked up per hour (about 228 years); beyond, converted row by row.
_MAX_HOURS: Final = 2_000_000


def _dates_by_row(ts: pl.Series) -> pl.Series:
    return pl.select(ny_day(pl.lit(ts))).to_series()


def ny_days(ts: pl.Series) -> pl.Series:
    """The New York calendar date of nanosecond epoch times (``day``), as ``ny_day`` gives it, at the cost of two
    integer passes: since 1970 every offset of America/New_York is a whole number of hours and every change of
    offset falls on a whole UTC hour, so all times of one UTC hour share one New York date. The date of each hour
    spanned is converted once and looked up; times before 1970, nulls or a span of more than ``_MAX_HOURS`` hours
    are converted row by row."""
    name = ts.name or "day"
    if ts.len() == 0 or ts.null_count():
        return _dates_by_row(ts).alias(name)
    lo, hi = ts.min(), ts.max()
    assert isinstance(lo, int) and isinstance(hi, int)
    if lo < 0 or hi // _HOUR - lo // _HOUR >= _MAX_HOURS:
        return _dates_by_row(ts).alias(name)
    first = lo // _HOUR
    table = _dates_by_row(pl.int_range(first, hi // _HOUR + 1, eager=True, dtype=pl.Int64) * _HOUR)
    if table.first() == table.last():  # one date throughout (dates only increase)
        return pl.repeat(table.first(), ts.len(), dtype=pl.Date, eager=True).alias(name)
    return table.gather(ts // _HOUR - first).alias(name)


def _check_quotes(p: Path, df: pl.DataFrame, csv: bool) -> None:
    for side in ("bid", "ask"):
        size = df.get_column(f"{side}_size")
        price = df.get_column(side)
        _fail(p, price.is_not_null() & size.is_null(), size, f"{side}_size",
              f"a size is required when {side} is quoted", csv)
        _fail(p, price.is_null() & size.is_not_null(), df.get_column(side), side,
              f"a {side} price is required when {side}_size is given", csv)
    crossed = (df.get_column("bid") >= df.get_column("ask")).fill_null(False)
    _fail(p, crossed, df.get_column("bid"), "bid", "a market maker's bid must be below its own ask", csv)


def _check_orders(p: Path, df: pl.DataFrame, csv: bool) -> None:
    bad = (df.get_column("end_ts") < df.get_column("ts")).fill_null(False)
    _fail(p, bad, df.get_column("end_ts"), "end_ts", "an order cannot end before it was received", csv)


def read_quotes(path: str | Path) -> pl.DataFrame:
    """The firm's quotes: a quote replaces the previous one of its mm_id and symbol; an empty side is no quote."""
    return read_table(path, QUOTE_COLUMNS, _check_quotes, coded_as=tuple(CODES))


def read_nbbo(path: str | Path) -> pl.DataFrame:
    """The national best bid and offer (an empty side means none)."""
    return read_table(path, NBBO_COLUMNS)


def read_trades(path: str | Path) -> pl.DataFrame:
    """The firm's trades; capacity principal (its own account) or agency (a customer's fill)."""
    return read_table(path, TRADE_COLUMNS)


def read_orders(path: str | Path) -> pl.DataFrame:
    """The firm's resting customer orders, held from ``ts`` until ``end_ts`` (empty: until the close)."""
    return read_table(path, ORDER_COLUMNS, _check_orders)


def read_tiers(path: str | Path) -> dict[str, int]:
    """A ``symbol,tier`` file (tier 1 or 2 of the LULD Plan, which sets the quotation band)."""
    p = Path(path)
    raw = _read(p)
    csv = p.suffix.lower() != ".parquet"
    for name in ("symbol", "tier"):
        if name not in raw.columns:
            raise InputError(f"{p}: missing column {name!r}")
    sym = _parse(p, raw.get_column("symbol"), Column("symbol", "str"), csv)
    tier = _parse(p, raw.get_column("tier").cast(pl.String), Column("tier", "enum", choices=("1", "2")), csv)
    return {str(s): int(t) for s, t in zip(sym.to_list(), tier.to_list(), strict=True)}
