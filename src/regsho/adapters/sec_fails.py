"""SEC fails-to-deliver files (``cnsfailsYYYYMM{a|b}.txt``, zipped as published, or not) into one columnar table.

Format (RULEBOOK §8.1): ``|``-delimited, header ``SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE``;
QUANTITY is the aggregate net balance of fails outstanding on the settlement date across all NSCC members; no row
means zero. Quirks handled here: zipped or plain; optional trailer lines (``Trailer record count N``, ``Trailer total
quantity of shares N``, checked against the rows when present); ``.`` for an unknown price; CRLF or LF; a stray
``|`` inside the description (the one free-text field: the first four and the last field are fixed); a symbol that
changed (rows are keyed by CUSIP, the symbol is kept as read); blank lines at the end.

The file is split by pyarrow's multi-threaded CSV reader (the same reader the benchmark's baseline uses) into text
columns, which are checked on their bytes with NumPy (every field of every line, to the same patterns as the
precise path below) and only then converted; rows the reader cannot split into six fields (trailers, stray pipes)
are handed back to Python, which sees only those few. A file that fails any check is read again on the precise
path (``parse``: regular expressions over the text columns), which finds the first bad line. Any bad line raises
``InputError`` naming the file, line and field, and nothing is returned.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import decode, read_bytes
from regsho.calendars import default_calendars

if TYPE_CHECKING:
    import pyarrow as pa

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


#: CUSIP characters in the order of the SEC's files (EBCDIC: the special characters, letters, then digits), so that
#: a file's rows, sorted by date and CUSIP as published, give increasing keys (the check for a row given twice is
#: then one comparison of each row with the one before).
_CUSIP_CHARS: Final = "*#@ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@lru_cache(maxsize=1)
def _cusip_ranks() -> np.ndarray:
    """A byte's rank in ``_CUSIP_CHARS``; 255 for a byte no CUSIP may hold."""
    lut = np.full(256, 255, dtype=np.uint8)
    lut[np.frombuffer(_CUSIP_CHARS.encode(), dtype=np.uint8)] = np.arange(len(_CUSIP_CHARS), dtype=np.uint8)
    return lut


@lru_cache(maxsize=1)
def _day_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The calendar's settlement days as their eight YYYYMMDD bytes read as one big-endian integer (sorted, as the
    dates are: a date field matches one of them exactly or is not a settlement day), as YYYYMM, and as days since
    1970-01-01, by position among the settlement days."""
    days = _settlement_days().to_numpy().astype("datetime64[D]")
    text = np.frombuffer("".join(str(d).replace("-", "") for d in days).encode(), dtype=">u8")
    return text.astype(np.uint64), text.astype(np.uint64) // (256 ** 2), days.astype(np.int64).astype(np.int32)


def _check_text(data: bytes, name: str | Path) -> None:
    """ASCII (as published) or UTF-8; anything else is refused with its line."""
    if data.isascii():
        return
    decode(data, name)


#: pyarrow splits a file in blocks of this size (a published file is 2-5 MB: one block, one batch to check) and,
#: as files are read two at a time, on one thread each
_BLOCK: Final = 1 << 24
_ARROW_THREADS: Final = False


def _read_arrow(data: bytes | pa.Buffer, odd: list[str]) -> pa.Table:
    """The rows of a file as six text columns (the lines that do not split into six fields go to ``odd``); the
    caller has checked the text (``_check_text``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def handler(row: object) -> str:
        odd.append(str(getattr(row, "text", "")))
        return "skip"

    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=list(_COLS), skip_rows=1, use_threads=_ARROW_THREADS,
                                       block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(delimiter="|", quote_char=False, double_quote=False, escape_char=False,
                                         newlines_in_values=False, ignore_empty_lines=True,
                                         invalid_row_handler=handler),
        # the whole file is checked to be ASCII or UTF-8 first (``_check_text``), so its fields are too
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(_COLS, pa.string()), null_values=[],
                                             strings_can_be_null=False, quoted_strings_can_be_null=False,
                                             check_utf8=False),
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
    """One fails file's bytes (already unzipped) as a table with ``SCHEMA``: the precise path, which reads every
    field as text and checks it against its pattern, so that an error names the first bad line and its field."""
    import pyarrow as pa

    _check_text(data, name)
    _check_header(data, name)
    odd: list[str] = []
    try:
        strings = pl.from_arrow(_read_arrow(data, odd))
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


def _check_header(data: bytes, name: str | Path) -> None:
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
    if first != HEADER.encode():
        raise InputError(name, 1, None, f"not an SEC fails-to-deliver file: the header must be {HEADER!r}", first)


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


def read_many(where: str | Path | Sequence[str | Path]) -> pl.DataFrame:
    """Every fails file of a folder (or list) as one table (in file order, not sorted); a settlement date given by
    two files is an error.

    Each file is read by pyarrow and its fields checked on their bytes with NumPy (two files at a time); a file
    that fails any check is read again on the precise path (``parse``), which names its line and field.
    """
    files = fail_files(where)
    # A zip and its unzipped text side by side are the same file: read the text.
    stems = {f.stem.lower() for f in files if f.suffix.lower() == ".txt"}
    files = [f for f in files if not (f.suffix.lower() == ".zip" and f.stem.lower() in stems)]
    if not files:
        return pl.DataFrame(schema=SCHEMA)
    # pyarrow, NumPy and Polars release the GIL: two files at a time keep both cores busy, checks included
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1, len(files))) as pool:
        loaded = list(pool.map(_load_checked, files))
    parts: list[pl.DataFrame] = []
    spans: list[tuple[int, object, object]] = []
    for i, (f, (data, df)) in enumerate(zip(files, loaded, strict=True)):
        if df is None:  # a check failed, or a row only Python can split (a '|' in a description)
            df = parse(read_bytes(f) if data is None else data, f)  # raises with the line and field, or reads it
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


def _file_buffer(f: Path) -> pa.Buffer:
    """A plain file memory-mapped (no copy: pyarrow reads it in place), or the unzipped bytes of a zip archive."""
    import pyarrow as pa

    try:
        with f.open("rb") as fh:
            zipped = fh.read(4) == b"PK\x03\x04" or f.suffix.lower() == ".zip"
        if not zipped:
            return pa.memory_map(str(f), "r").read_buffer()
    except (OSError, pa.ArrowException):
        pass  # read_bytes names the error
    return pa.py_buffer(read_bytes(f))


def _load_checked(f: Path) -> tuple[bytes | None, pl.DataFrame | None]:
    """A file read on the fast path and checked: its table, or None for the precise path (a check failed, or a row
    only Python can split), with the file's bytes when they were read."""
    import pyarrow as pa

    data = _file_buffer(f)
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size and raw.max() >= 128:  # not ASCII: UTF-8 is checked on the bytes (and refused with its line)
        _check_text(data.to_pybytes(), f)
    end = data.size if (nl := bytes(raw[:512]).find(b"\n")) < 0 else nl
    _check_header(data.slice(0, min(end + 1, data.size)).to_pybytes(), f)
    odd: list[str] = []
    try:
        table = _read_arrow(data, odd)
    except pa.ArrowInvalid:
        return None, None
    trailers = _fast_trailers(odd, data.slice(max(0, data.size - 400)).to_pybytes())
    if trailers is None:
        return None, None
    m = NAME_RE.match(f.name)
    month = int(m.group(1)) * 100 + int(m.group(2)) if m else None
    batches, keys, total = [], [], 0
    for batch in table.to_batches():
        checked = _check_batch(batch, month)
        if checked is None:
            return None, None
        batches.append(checked[0])
        keys.append(checked[1])
        total += checked[2]
    if trailers.get("count", table.num_rows) != table.num_rows or trailers.get("total", total) != total:
        return None, None
    if keys and not _unique(*(np.concatenate([k[i] for k in keys]) for i in range(3))):
        return None, None
    out = pl.from_arrow(pa.Table.from_batches(batches, schema=_arrow_schema()), rechunk=False)
    assert isinstance(out, pl.DataFrame)
    return None, out


def _fast_trailers(odd: list[str], tail: bytes) -> dict[str, int] | None:
    """The trailer lines among the rows pyarrow could not split, or None if there is any other such row, a trailer
    repeated, or a trailer that is not among the last lines (the precise path says which)."""
    trailers: dict[str, int] = {}
    for text in odd:
        t = text.rstrip("\r\n")
        m = _TRAILER_COUNT.match(t) or _TRAILER_TOTAL.match(t)
        key = "count" if "count" in t else "total"
        if m is None or key in trailers:
            return None
        trailers[key] = int(m.group(1))
    if trailers:
        last = [ln for ln in tail.decode("ascii", "replace").splitlines() if ln.strip()][-len(trailers):]
        if any(not ln.startswith("Trailer ") for ln in last):
            return None
    return trailers


@lru_cache(maxsize=1)
def _arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("settlement_date", pa.date32()), ("cusip", pa.string()), ("symbol", pa.string()),
                      ("quantity", pa.int64()), ("description", pa.string()), ("price", pa.float64())])




def _text(col: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A text column's value lengths, its bytes (the values end to end) and the values' start in them."""
    bufs = col.buffers()
    off = np.frombuffer(bufs[1], dtype=np.int32)[col.offset:col.offset + len(col) + 1]
    raw = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    return np.diff(off), raw[off[0]:off[-1]], off[:-1] - off[0]


def _with_nulls(col: pa.Array, null: np.ndarray) -> pa.Array:
    """The text column with the marked values null (the same buffers, a validity bitmap added)."""
    import pyarrow as pa

    if not null.any():
        return col
    valid = np.concatenate([np.ones(col.offset, dtype=bool), ~null])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    bufs = col.buffers()
    return pa.StringArray.from_buffers(len(col), bufs[1], bufs[2], bitmap, int(null.sum()), col.offset)


def _digits(raw: np.ndarray, lowest: int = 48) -> bool:
    """Every byte a digit (or, with ``lowest`` 46, also '.' and '/')."""
    return raw.size == 0 or (int(raw.min()) >= lowest and int(raw.max()) <= 57)


_Key = tuple[np.ndarray, np.ndarray, np.ndarray]


def _check_batch(b: pa.RecordBatch, month: int | None) -> tuple[pa.RecordBatch, _Key, int] | None:
    """One batch of text rows checked field by field to the patterns of ``_CHECKS`` (and the date against the
    settlement calendar and the file's month), then converted: the typed batch, each row's key (the day's position,
    the CUSIP's first eight characters as one integer, its ninth) and the sum of the quantities; None if any value
    fails (the precise path names it).

    Each check is a few passes of NumPy over the column's bytes; dates come in runs of one day, so the calendar is
    consulted once a run."""
    import pyarrow as pa
    import pyarrow.compute as pc

    date_col, cusip_col, symbol_col, qty_col, desc_col, price_col = b.columns
    n = len(b)
    # SETTLEMENT DATE: exactly the eight digits of a settlement day of the calendar, in the file's month
    lens, raw, _ = _text(date_col)
    if n and (lens.min() != 8 or lens.max() != 8):
        return None
    text, yyyymm, epoch = _day_table()
    value = raw.view(">u8").astype(np.uint64)
    first = np.flatnonzero(value[1:] != value[:-1]) + 1 if n else np.zeros(0, dtype=np.int64)
    first = np.concatenate([np.zeros(min(n, 1), dtype=np.int64), first])
    at = np.minimum(np.searchsorted(text, value[first]), len(text) - 1)
    if not (text[at] == value[first]).all() or (month is not None and not (yyyymm[at] == _ascii_month(month)).all()):
        return None
    pos = np.repeat(at.astype(np.int64), np.diff(np.append(first, n)))
    # CUSIP: nine characters of [0-9A-Z*@#]
    lens, raw, _ = _text(cusip_col)
    if n and (lens.min() != 9 or lens.max() != 9):
        return None
    ranks = np.take(_cusip_ranks(), raw)
    if n and ranks.max() == 255:
        return None
    # the ranks of the first eight characters, big-endian, are one integer in the same order
    head = np.ndarray((n,), dtype=">u8", buffer=ranks, strides=(9,)).astype(np.uint64) if n else np.zeros(0, np.uint64)
    # SYMBOL: up to 20 characters (bytes here: a longer non-ASCII symbol goes to the precise path); empty is null
    sym_lens = _text(symbol_col)[0]
    if n and sym_lens.max() > 20:
        return None
    # QUANTITY (FAILS): 1 to 15 digits
    lens, raw, _ = _text(qty_col)
    if n and (lens.min() < 1 or lens.max() > 15 or not _digits(raw)):
        return None
    qty = pc.cast(qty_col, pa.int64())
    # PRICE: '.', or up to 12 digits, then optionally a point and digits, or a point and digits: digits and points
    # only (the cast refuses a second point or a '/'), '.' alone is null, and at most 12 digits before the point
    lens, raw, start = _text(price_col)
    if n and (lens.min() < 1 or not _digits(raw, 46)):
        return None
    long = np.flatnonzero(lens > 12)
    if long.size and any(len(v.partition(".")[0]) > 12 for v in price_col.take(long).to_pylist()):
        return None
    unknown = lens == 1
    unknown[unknown] = raw[start[unknown]] == 46
    try:
        price = pc.cast(_with_nulls(price_col, unknown), pa.float64())
    except pa.ArrowInvalid:
        return None
    days = pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(epoch[pos])])
    out = pa.RecordBatch.from_arrays([days, cusip_col, _with_nulls(symbol_col, sym_lens == 0), qty, desc_col, price],
                                     schema=_arrow_schema())
    return out, (pos, head, ranks[8::9]), int(pc.sum(qty).as_py() or 0)


def _ascii_month(month: int) -> int:
    """YYYYMM as its six ASCII digits read as one big-endian integer (as ``_day_table`` gives it)."""
    return int.from_bytes(f"{month:06d}".encode(), "big")


def _unique(pos: np.ndarray, head: np.ndarray, last: np.ndarray) -> bool:
    """No (day, CUSIP) twice: keys increasing from row to row (the SEC's order), or else none equal once sorted."""
    if pos.size < 2:
        return True
    later = (pos[1:] > pos[:-1]) | ((pos[1:] == pos[:-1]) & (
        (head[1:] > head[:-1]) | ((head[1:] == head[:-1]) & (last[1:] > last[:-1]))))
    if later.all():
        return True
    o = np.lexsort((last, head, pos))
    pos, head, last = pos[o], head[o], last[o]
    return not ((pos[1:] == pos[:-1]) & (head[1:] == head[:-1]) & (last[1:] == last[:-1])).any()


def _overlap(a: pl.DataFrame, b: pl.DataFrame) -> str:
    both = a.select("settlement_date").unique().join(b.select("settlement_date").unique(), on="settlement_date")
    return both["settlement_date"].min().isoformat() if both.height else "?"  # type: ignore[union-attr]


def covered_days(fails: pl.DataFrame) -> pl.Series:
    """The settlement days the data covers: every day with at least one row (a day with no row market-wide
    means a missing file, not a market without fails)."""
    return fails.select(pl.col("settlement_date").unique().sort()).to_series()


__all__ = ["FIELDS", "HEADER", "SCHEMA", "covered_days", "fail_files", "parse", "read_file", "read_many"]
