"""SEC fails-to-deliver files (``cnsfailsYYYYMM{a|b}.txt``, zipped as published, or not) into one columnar table.

Format (RULEBOOK §8.1): ``|``-delimited, header ``SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE``;
QUANTITY is the aggregate net balance of fails outstanding on the settlement date across all NSCC members; no row
means zero. Quirks handled here: zipped or plain; optional trailer lines (``Trailer record count N``, ``Trailer total
quantity of shares N``, checked against the rows when present); ``.`` for an unknown price; CRLF or LF; a stray
``|`` inside the description (the one free-text field: the first four and the last field are fixed); a symbol that
changed (rows are keyed by CUSIP, the symbol is kept as read); blank lines at the end.

The file is read by pyarrow's multi-threaded CSV reader (the same reader the benchmark's baseline uses) and
validated with vectorised Polars expressions; rows the reader cannot split into six fields (trailers, stray pipes)
are handed back to Python, which sees only those few. Any bad line raises ``InputError`` naming the file, line and
field, and nothing is returned.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Final

import polars as pl

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import decode, read_bytes
from regsho.calendars import default_calendars

HEADER: Final = "SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE"
FIELDS: Final = tuple(HEADER.split("|"))
_COLS: Final = ("settlement_date", "cusip", "symbol", "quantity", "description", "price")

#: The table every reader returns (rows in file order).
SCHEMA: Final = pl.Schema({
    "settlement_date": pl.Date(), "cusip": pl.String(), "symbol": pl.String(), "quantity": pl.Int64(),
    "description": pl.String(), "price": pl.Float64(),
})

NAME_RE: Final = re.compile(r"^cnsfails(\d{4})(\d{2})([ab])(?:_\d+)?\.(?:txt|zip)$", re.IGNORECASE)
_TRAILER_COUNT = re.compile(r"^Trailer record count (\d+)$")
_TRAILER_TOTAL = re.compile(r"^Trailer total quantity of shares (\d+)$")

_CHECKS: Final = (
    # (field index, column, pattern the raw text must match, message)
    (0, "settlement_date", r"^\d{8}$", "must be a date YYYYMMDD"),
    (1, "cusip", r"^[0-9A-Z*@#]{9}$", "must be a 9-character CUSIP"),
    (2, "symbol", r"^.{0,20}$", "must be up to 20 characters"),
    (3, "quantity", r"^\d{1,15}$", "must be a whole number of shares"),
    (5, "price", r"^(\.|\d{1,12}(\.\d*)?|\.\d+)$", "must be a price or '.'"),
)


@lru_cache(maxsize=1)
def _settlement_days() -> pl.Series:
    cal = default_calendars()
    return pl.Series("d", cal.settlement_days(cal.start, cal.end), dtype=pl.Date())


@lru_cache(maxsize=1)
def _day_lookup() -> tuple[pl.Series, pl.Series]:
    """Settlement days as YYYYMMDD integers and as dates: a date column is read as integers and mapped through
    this table, which also refuses any day that is not a settlement day (it maps to null)."""
    days = _settlement_days()
    keys = days.dt.year().cast(pl.Int32()) * 10000 + days.dt.month().cast(pl.Int32()) * 100 \
        + days.dt.day().cast(pl.Int32())
    return keys, days


def _to_dates(col: str = "settlement_date") -> pl.Expr:
    keys, days = _day_lookup()
    return pl.col(col).replace_strict(keys, days, default=None, return_dtype=pl.Date())


def _check_text(data: bytes, name: str | Path) -> None:
    """ASCII (as published) or UTF-8; anything else is refused with its line."""
    if data.isascii():
        return
    decode(data, name)


def _read_arrow(data: bytes, typed: bool, odd: list[str]) -> object:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def handler(row: object) -> str:
        odd.append(str(getattr(row, "text", "")))
        return "skip"

    types = ({"settlement_date": pa.int32(), "cusip": pa.string(), "symbol": pa.string(),
              "quantity": pa.int64(), "description": pa.string(), "price": pa.float64()} if typed
             else {c: pa.string() for c in _COLS})
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=list(_COLS), skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter="|", quote_char=False, double_quote=False, escape_char=False,
                                         newlines_in_values=False, ignore_empty_lines=True,
                                         invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=["."] if typed else [],
                                             strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )


def _convert(raw: pl.DataFrame) -> pl.DataFrame:
    """Validated string columns to ``SCHEMA``."""
    return raw.select(
        pl.col("settlement_date").str.strptime(pl.Date(), "%Y%m%d", strict=False),
        pl.col("cusip"),
        pl.col("symbol"),
        pl.col("quantity").cast(pl.Int64()),
        pl.col("description"),
        pl.when(pl.col("price") == ".").then(None).otherwise(pl.col("price")).cast(pl.Float64()).alias("price"),
    )


def parse(data: bytes, name: str | Path) -> pl.DataFrame:
    """One fails file's bytes (already unzipped) as a table with ``SCHEMA``.

    The fast path lets pyarrow type the columns; if it refuses a value, the file is read again as text and
    checked field by field, so that the error names the line and field.
    """
    import pyarrow as pa

    _check_text(data, name)
    first = data.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
    if first != HEADER.encode():
        raise InputError(name, 1, None, f"not an SEC fails-to-deliver file: the header must be {HEADER!r}", first)
    odd: list[str] = []
    try:
        table = _read_arrow(data, True, odd)
        df = pl.from_arrow(table)
        assert isinstance(df, pl.DataFrame)
        out = df.with_columns(_to_dates())
        bad = out.select(pl.any_horizontal(
            pl.col("settlement_date").is_null(), pl.col("quantity").is_null(), pl.col("quantity") < 0,
            ~pl.col("cusip").str.contains(_CHECKS[1][2]), pl.col("symbol").str.len_chars() > 20,
            pl.col("price") < 0, ~pl.col("price").is_finite())).to_series().any()
    except pa.ArrowInvalid:
        bad = True
    if bad:
        odd = []
        try:
            strings = pl.from_arrow(_read_arrow(data, False, odd))
        except pa.ArrowException as e:
            raise InputError(name, None, None, f"unreadable: {e}") from None
        assert isinstance(strings, pl.DataFrame)
        _validate(strings, data, name)
        out = _convert(strings)
        _check_dates(out, strings, data, name)
    extra, trailers = _odd_rows(odd, data, name)
    if extra:
        more = pl.DataFrame(extra, schema=dict.fromkeys(_COLS, pl.String()), orient="row")
        _validate(more, data, name)
        conv = _convert(more)
        _check_dates(conv, more, data, name)
        out = pl.concat([out, conv])
    out = out.with_columns(pl.when(pl.col("symbol") == "").then(None).otherwise(pl.col("symbol")).alias("symbol"))
    _check_unique(out, data, name)
    _check_name(out, name)
    if trailers:
        _check_trailers(out, trailers, name)
    return out


def _check_dates(out: pl.DataFrame, raw: pl.DataFrame, data: bytes, name: str | Path) -> None:
    """Every date a calendar date and a settlement day (``out`` converted from the text rows ``raw``)."""
    null = out["settlement_date"].is_null()
    if null.any():
        _fail(raw, int(null.arg_max() or 0), 0, data, name, "is not a calendar date")
    not_settle = ~out["settlement_date"].is_in(_settlement_days().implode())
    if not_settle.any():
        _fail(raw, int(not_settle.arg_max() or 0), 0, data, name,
              "is not a settlement day (NYSE session and Federal Reserve business day)")


def _check_unique(out: pl.DataFrame, data: bytes, name: str | Path) -> None:
    """One row per CUSIP and settlement date (hashes first; the exact check only when two hashes collide)."""
    key = out.select(pl.col("cusip").hash(7) ^ pl.col("settlement_date").cast(pl.UInt64())).to_series()
    if key.n_unique() == out.height:
        return
    dup = out.select(~pl.struct("settlement_date", "cusip").is_first_distinct()).to_series()
    if dup.any():
        _fail_at(out, int(dup.arg_max() or 0), 1, data, name, "appears twice for the same settlement date", nth=2)


def _fail_at(out: pl.DataFrame, i: int, field: int, data: bytes, name: str | Path, message: str,
             nth: int = 1) -> None:
    """Raise for row ``i`` of a converted table: the raw line is the ``nth`` with its date and CUSIP."""
    row = out.row(i, named=True)
    d = row["settlement_date"]
    prefix = f"{d:%Y%m%d}|{row['cusip']}|" if d is not None else None
    line = None
    if prefix is not None:
        for n, ln in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if ln.startswith(prefix):
                nth -= 1
                if nth:
                    continue
                line = n
                if field == 0:
                    break
                field_value = ln.split("|")[field]
                raise InputError(name, line, FIELDS[field], message, field_value)
    value = d.strftime("%Y%m%d") if field == 0 and d is not None else row[_COLS[field]]
    raise InputError(name, line, FIELDS[field], message, value)


def _odd_rows(odd: list[str], data: bytes, name: str | Path) -> tuple[list[list[str]], dict[str, int]]:
    """Rows with other than six fields: a description holding ``|`` (kept), trailer lines, or an error."""
    extra: list[list[str]] = []
    trailers: dict[str, int] = {}
    for text in odd:
        t = text.rstrip("\r\n")
        m = _TRAILER_COUNT.match(t) or _TRAILER_TOTAL.match(t)
        if m:
            key = "count" if "count" in t else "total"
            if key in trailers:
                raise InputError(name, _line_of(data, t), None, "trailer line repeated", t)
            trailers[key] = int(m.group(1))
            continue
        parts = t.split("|")
        if len(parts) < 6:
            raise InputError(name, _line_of(data, t), FIELDS[len(parts)] if parts else None,
                             f"a row needs 6 '|'-separated fields, this one has {len(parts)}", t)
        extra.append([*parts[:4], "|".join(parts[4:-1]), parts[-1]])
    if trailers:
        tail = [ln for ln in data[-400:].decode("ascii", "replace").splitlines() if ln.strip()][-len(trailers):]
        if any(not ln.startswith("Trailer ") for ln in tail):
            first = next(t for t in odd if t.startswith("Trailer "))
            raise InputError(name, _line_of(data, first), None, "trailer lines must be the last lines of the file",
                             first)
    return extra, trailers


def _validate(raw: pl.DataFrame, data: bytes, name: str | Path) -> None:
    if raw.height == 0:
        return
    checks = [(~pl.col(col).str.contains(pat)).alias(col) for _, col, pat, _ in _CHECKS]
    bad = raw.select(checks)
    any_bad = bad.select(pl.any_horizontal(pl.all())).to_series()
    if not any_bad.any():
        return
    i = int(any_bad.arg_max() or 0)
    row = bad.row(i)
    for (idx, _, _, msg), flag in zip(_CHECKS, row, strict=True):
        if flag:
            _fail(raw, i, idx, data, name, msg)


def _fail(raw: pl.DataFrame, i: int, field: int, data: bytes, name: str | Path, message: str) -> None:
    vals = raw.row(i)
    text = "|".join(str(v) for v in vals)
    raise InputError(name, _line_of(data, text), FIELDS[field], message, vals[field])


def _line_of(data: bytes, text: str) -> int | None:
    """The 1-based number of the line reading ``text`` (only on the error path: a scan of the file)."""
    want = text.rstrip("\r")
    for n, ln in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if ln.rstrip("\r") == want:
            return n
    return None


def _check_name(out: pl.DataFrame, name: str | Path) -> None:
    m = NAME_RE.match(Path(name).name)
    if m is None or out.height == 0:
        return
    year, month = int(m.group(1)), int(m.group(2))
    stray = out.filter((pl.col("settlement_date").dt.year() != year) | (pl.col("settlement_date").dt.month() != month))
    if stray.height:
        d = stray["settlement_date"][0]
        raise InputError(name, None, FIELDS[0], f"the file is named for {year:04d}-{month:02d} but has a row dated",
                         d.isoformat())


def _check_trailers(out: pl.DataFrame, trailers: dict[str, int], name: str | Path) -> None:
    if "count" in trailers and trailers["count"] != out.height:
        raise InputError(name, None, "Trailer record count",
                         f"the trailer counts {trailers['count']} records but the file has {out.height} (truncated?)")
    total = int(out["quantity"].sum())
    if "total" in trailers and trailers["total"] != total:
        raise InputError(name, None, "Trailer total quantity of shares",
                         f"the trailer totals {trailers['total']} shares but the rows add up to {total}")


def read_file(path: str | Path) -> pl.DataFrame:
    """One SEC fails file, plain text or zipped (the fast path of ``read_many``; ``parse`` when it refuses)."""
    return read_many([Path(path)])


def fail_files(where: str | Path | Iterable[str | Path]) -> list[Path]:
    """The fails files of a folder (``cnsfails*.txt`` / ``.zip``), or the given files, in name order."""
    if isinstance(where, str | Path):
        p = Path(where)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and NAME_RE.match(f.name))
            if not files:
                raise InputError(p, None, None, "no SEC fails files (cnsfailsYYYYMM{a|b}.txt or .zip) in this folder")
            return files
        return [p]
    return [Path(x) for x in where]


def _fast(data: bytes, name: str | Path) -> tuple[pl.DataFrame | None, dict[str, int]]:
    """The typed table of a file, unvalidated, or None when pyarrow refuses a value or a row needs Python."""
    import pyarrow as pa

    _check_text(data, name)
    first = data.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
    if first != HEADER.encode():
        raise InputError(name, 1, None, f"not an SEC fails-to-deliver file: the header must be {HEADER!r}", first)
    odd: list[str] = []
    try:
        df = pl.from_arrow(_read_arrow(data, True, odd))
    except pa.ArrowInvalid:
        return None, {}
    assert isinstance(df, pl.DataFrame)
    trailers: dict[str, int] = {}
    for text in odd:
        t = text.rstrip("\r\n")
        m = _TRAILER_COUNT.match(t) or _TRAILER_TOTAL.match(t)
        if m is None:
            return None, {}
        trailers["count" if "count" in t else "total"] = int(m.group(1))
    if len(trailers) != len(odd) or (odd and not data[-400:].rstrip().splitlines()[-1].startswith(b"Trailer ")):
        return None, {}
    return df, trailers


def read_many(where: str | Path | Sequence[str | Path]) -> pl.DataFrame:
    """Every fails file of a folder (or list) as one table (in file order, not sorted); a settlement date given by
    two files is an error.

    Each file is read by pyarrow and checked in one pass of vectorised expressions (two files at a time); a file
    that fails any check is read again on the precise path (``parse``), which names its line and field.
    """
    files = fail_files(where)
    # A zip and its unzipped text side by side are the same file: read the text.
    stems = {f.stem.lower() for f in files if f.suffix.lower() == ".txt"}
    files = [f for f in files if not (f.suffix.lower() == ".zip" and f.stem.lower() in stems)]
    if not files:
        return pl.DataFrame(schema=SCHEMA)
    # pyarrow and Polars release the GIL: two files at a time keep both cores busy, checks included
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1, len(files))) as pool:
        loaded = list(pool.map(_load_checked, files))
    parts: list[pl.DataFrame] = []
    spans: list[tuple[int, object, object]] = []
    for i, (f, (data, df)) in enumerate(zip(files, loaded, strict=True)):
        if df is None:  # a check failed, or a row only Python can split (a '|' in a description)
            df = parse(data, f)  # raises with the line and field, or reads it
        if df.height:
            spans.append((i, df["settlement_date"].min(), df["settlement_date"].max()))
        parts.append(df)
    # rows are unique within each file; across files no settlement date may appear twice
    spans.sort(key=lambda t: (t[1], t[0]))
    for (j, _, prev_end), (i, start, _) in itertools.pairwise(spans):
        if start <= prev_end:  # type: ignore[operator]
            clash = _overlap(parts[i], parts[j])
            raise InputError(files[i], None, FIELDS[0], f"settlement date also given by {files[j].name}", clash)
    return pl.concat(parts, how="vertical_relaxed")


_BAD_ROW: Final = pl.any_horizontal(
    pl.col("settlement_date").is_null(), pl.col("quantity").is_null(), pl.col("quantity") < 0,
    ~pl.col("cusip").str.contains(_CHECKS[1][2]), pl.col("symbol").str.len_chars() > 20,
    pl.col("price") < 0, ~pl.col("price").is_finite())


def _load_checked(f: Path) -> tuple[bytes, pl.DataFrame | None]:
    """A file read on the fast path and checked in one pass: its table, or None for the precise path."""
    data = read_bytes(f)
    df, trailers = _fast(data, f)
    if df is None:
        return data, None
    df = df.with_columns(_to_dates())
    st = df.select(_BAD_ROW.any().alias("bad"), pl.len().alias("n"), pl.col("quantity").sum().alias("q"),
                   pl.col("settlement_date").min().alias("d0"), pl.col("settlement_date").max().alias("d1"),
                   (pl.col("cusip").hash(7) ^ pl.col("settlement_date").cast(pl.UInt64())).n_unique().alias("k")
                   ).row(0, named=True)
    m = NAME_RE.match(f.name)
    wrong_month = m is not None and st["n"] and any(
        (d.year, d.month) != (int(m.group(1)), int(m.group(2))) for d in (st["d0"], st["d1"]) if d is not None)
    if (st["bad"] or st["k"] != st["n"] or wrong_month or trailers.get("count", st["n"]) != st["n"]
            or trailers.get("total", st["q"] or 0) != (st["q"] or 0)):
        return data, None
    return data, df.with_columns(pl.when(pl.col("symbol") == "").then(None).otherwise(pl.col("symbol"))
                                 .alias("symbol"))


def _overlap(a: pl.DataFrame, b: pl.DataFrame) -> str:
    both = a.select("settlement_date").unique().join(b.select("settlement_date").unique(), on="settlement_date")
    return both["settlement_date"].min().isoformat() if both.height else "?"  # type: ignore[union-attr]


def covered_days(fails: pl.DataFrame) -> pl.Series:
    """The settlement days the data covers: every day with at least one row (a day with no row market-wide
    means a missing file, not a market without fails)."""
    return fails.select(pl.col("settlement_date").unique().sort()).to_series()


__all__ = ["FIELDS", "HEADER", "SCHEMA", "covered_days", "fail_files", "parse", "read_file", "read_many"]
