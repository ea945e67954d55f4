"""SEC fails-to-deliver files: a test per quirk, the fast and precise paths agreeing, and a fuzz test."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsho.adapters import sec_fails
from regsho.adapters.errors import InputError

HEADER = sec_fails.HEADER
GME = "20210126|36467W109|GME|2099572|GAMESTOP CORP (HLDG CO) CL A|76.79"
ROWS = [
    "20210125|36467W109|GME|275113|GAMESTOP CORP (HLDG CO) CL A|65.01",
    GME,
    "20210126|00162Q452|AMLP|12000|ALERIAN MLP ETF|.",
]


def text(rows: list[str], trailer: bool = False, eol: str = "\n") -> bytes:
    lines = [HEADER, *rows]
    if trailer:
        total = sum(int(r.split("|")[3]) for r in rows)
        lines += [f"Trailer record count {len(rows)}", f"Trailer total quantity of shares {total}"]
    return (eol.join(lines) + eol).encode()


def write(tmp_path: Path, rows: list[str], name: str = "cnsfails202101b.txt", **kw: object) -> Path:
    p = tmp_path / name
    p.write_bytes(text(rows, **kw))  # type: ignore[arg-type]
    return p


def zipped(tmp_path: Path, data: bytes, name: str = "cnsfails202101b") -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{name}.txt", data)
    p = tmp_path / f"{name}.zip"
    p.write_bytes(buf.getvalue())
    return p


def test_plain_file(tmp_path: Path) -> None:
    df = sec_fails.read_file(write(tmp_path, ROWS))
    assert df.schema == sec_fails.SCHEMA
    gme = df.filter(pl.col("settlement_date") == dt.date(2021, 1, 26), pl.col("cusip") == "36467W109").row(0)
    assert gme == (dt.date(2021, 1, 26), "36467W109", "GME", 2099572, "GAMESTOP CORP (HLDG CO) CL A", 76.79)


def test_zipped_file_reads_like_the_text(tmp_path: Path) -> None:
    z = zipped(tmp_path, text(ROWS))
    assert sec_fails.read_file(z).equals(sec_fails.read_file(write(tmp_path, ROWS)))
    assert sec_fails.read_many([z]).height == 3


def test_truncated_zip_is_an_input_error(tmp_path: Path) -> None:
    z = zipped(tmp_path, text(ROWS * 50))
    z.write_bytes(z.read_bytes()[:-60])
    with pytest.raises(InputError, match="zip"):
        sec_fails.read_file(z)


def test_trailer_lines_are_checked_and_dropped(tmp_path: Path) -> None:
    df = sec_fails.read_file(write(tmp_path, ROWS, trailer=True))
    assert df.height == 3
    bad = text(ROWS, trailer=True).replace(b"record count 3", b"record count 4")
    (tmp_path / "cnsfails202101b.txt").write_bytes(bad)
    with pytest.raises(InputError, match="Trailer record count"):
        sec_fails.read_many([tmp_path / "cnsfails202101b.txt"])
    with pytest.raises(InputError, match="trailer counts 4"):
        sec_fails.read_file(tmp_path / "cnsfails202101b.txt")


def test_trailer_total_must_match(tmp_path: Path) -> None:
    p = tmp_path / "cnsfails202101b.txt"
    p.write_bytes(text(ROWS, trailer=True).replace(b"shares 2386685", b"shares 1"))
    with pytest.raises(InputError, match="totals 1 shares"):
        sec_fails.read_many([p])


def test_a_trailer_must_be_at_the_end(tmp_path: Path) -> None:
    p = tmp_path / "cnsfails202101b.txt"
    p.write_text("\n".join([HEADER, ROWS[0], "Trailer record count 2", ROWS[1], ""]))
    with pytest.raises(InputError, match="last lines") as e:
        sec_fails.read_many([p])
    assert e.value.line == 3


def test_dot_price_is_unknown(tmp_path: Path) -> None:
    df = sec_fails.read_file(write(tmp_path, ROWS))
    assert df.filter(pl.col("cusip") == "00162Q452")["price"].to_list() == [None]


def test_crlf_line_endings(tmp_path: Path) -> None:
    p = tmp_path / "cnsfails202101b.txt"
    p.write_bytes(text(ROWS, trailer=True, eol="\r\n"))
    assert sec_fails.read_many([p]).equals(sec_fails.read_file(write(tmp_path / ".." / tmp_path.name, ROWS)))


def test_stray_pipe_in_description_stays_in_it(tmp_path: Path) -> None:
    rows = [*ROWS, "20210126|G0176J109|AGCO|50000|ALLEGRO | CO LTD|1.50"]
    df = sec_fails.read_many([write(tmp_path, rows)])
    row = df.filter(pl.col("cusip") == "G0176J109").row(0, named=True)
    assert row["description"] == "ALLEGRO | CO LTD"
    assert row["price"] == 1.50
    assert row["quantity"] == 50000


def test_symbol_changed_keeps_the_cusip_and_each_days_symbol(tmp_path: Path) -> None:
    rows = ["20210125|98986M103|ZYXI|20000|ZYNEX INC|13.04", "20210126|98986M103|ZYXIN|20000|ZYNEX INC|13.10"]
    df = sec_fails.read_file(write(tmp_path, rows)).sort("settlement_date")
    assert df["cusip"].unique().to_list() == ["98986M103"]
    assert df["symbol"].to_list() == ["ZYXI", "ZYXIN"]


def test_empty_symbol_is_null_and_blank_last_line_ignored(tmp_path: Path) -> None:
    p = tmp_path / "cnsfails202101b.txt"
    p.write_bytes(text(["20210126|12345A109||15000|NO SYMBOL CORP|2.00"]) + b"\n\n")
    assert sec_fails.read_many([p])["symbol"].to_list() == [None]


def test_wrong_header(tmp_path: Path) -> None:
    p = tmp_path / "cnsfails202101b.txt"
    p.write_text("DATE|CUSIP\n" + GME + "\n")
    with pytest.raises(InputError) as e:
        sec_fails.read_many([p])
    assert e.value.line == 1 and "header" in str(e.value)


@pytest.mark.parametrize(("row", "field", "value"), [
    ("20210126|36467W109|GME|20x0|GAMESTOP|76.79", "QUANTITY (FAILS)", "'20x0'"),
    ("20210126|36467W1|GME|2000|GAMESTOP|76.79", "CUSIP", "'36467W1'"),
    ("2021-01-26|36467W109|GME|2000|GAMESTOP|76.79", "SETTLEMENT DATE", "'2021-01-26'"),
    ("20210126|36467W109|GME|2000|GAMESTOP|7x.5", "PRICE", "'7x.5'"),
    ("20210126|36467W109|GME|-5|GAMESTOP|7.5", "QUANTITY (FAILS)", "'-5'"),
])
def test_bad_value_names_line_field_and_value(tmp_path: Path, row: str, field: str, value: str) -> None:
    p = write(tmp_path, [ROWS[0], row])
    for read in (sec_fails.read_file, lambda x: sec_fails.read_many([x])):
        with pytest.raises(InputError) as e:
            read(p)
        assert (e.value.line, e.value.field, e.value.value) == (3, field, value)
        assert str(e.value).startswith(f"{p}: line 3: field {field!r}: ")


def test_a_date_that_is_not_a_settlement_day(tmp_path: Path) -> None:
    # Columbus Day 2020: NYSE open, Federal Reserve closed
    p = write(tmp_path, ["20201012|36467W109|GME|20000|GAMESTOP|10.00"], name="cnsfails202010a.txt")
    with pytest.raises(InputError, match="not a settlement day") as e:
        sec_fails.read_many([p])
    assert (e.value.line, e.value.field) == (2, "SETTLEMENT DATE")


def test_an_impossible_date(tmp_path: Path) -> None:
    p = write(tmp_path, ["20210231|36467W109|GME|20000|GAMESTOP|10.00"], name="cnsfails202102b.txt")
    with pytest.raises(InputError) as e:
        sec_fails.read_many([p])
    assert (e.value.line, e.value.field) == (2, "SETTLEMENT DATE")


def test_a_row_with_too_few_fields(tmp_path: Path) -> None:
    p = write(tmp_path, [ROWS[0], "20210126|36467W109|GME"])
    with pytest.raises(InputError, match="6 '\\|'-separated fields") as e:
        sec_fails.read_many([p])
    assert e.value.line == 3


def test_duplicate_security_and_date(tmp_path: Path) -> None:
    p = write(tmp_path, [GME, GME.replace("2099572", "5")])
    with pytest.raises(InputError, match="twice") as e:
        sec_fails.read_many([p])
    assert e.value.line == 3


def test_a_row_outside_the_files_month(tmp_path: Path) -> None:
    p = write(tmp_path, ["20210226|36467W109|GME|20000|GAMESTOP|10.00"], name="cnsfails202101b.txt")
    with pytest.raises(InputError, match="named for 2021-01"):
        sec_fails.read_many([p])


def test_two_files_with_the_same_day(tmp_path: Path) -> None:
    a = write(tmp_path, ROWS, name="cnsfails202101b.txt")
    b = write(tmp_path, [GME], name="cnsfails202101b_0.txt")
    with pytest.raises(InputError, match="also given"):
        sec_fails.read_many([a, b])


def test_folder_without_fails_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no SEC fails files"):
        sec_fails.read_many(tmp_path)


def test_the_fast_and_the_precise_path_agree(tmp_path: Path) -> None:
    rows = [*ROWS, "20210127|G0176J109|AGCO|50000|ALLEGRO | CO LTD|1.50"]
    p = write(tmp_path, rows, trailer=True)
    fast = sec_fails.read_many([p]).sort("settlement_date", "cusip")
    precise = sec_fails.parse(p.read_bytes(), p).sort("settlement_date", "cusip")
    assert fast.equals(precise)


# -- fuzz ---------------------------------------------------------------------------------------------------------

_field = st.text(alphabet=st.sampled_from(list("0123456789AZ|. -\r\x00é")), max_size=12)
_row = st.one_of(
    st.just(GME),
    st.builds(lambda a, b, c, d, e, f: "|".join([a, b, c, d, e, f]), st.sampled_from(["20210126", "20210125", ""]),
              st.sampled_from(["36467W109", "00162Q452", "X"]), _field, st.sampled_from(["1", "20000", "-1", "x"]),
              _field, st.sampled_from(["1.5", ".", "", "x"])),
    _field,
    st.sampled_from(["Trailer record count 1", "Trailer total quantity of shares 5"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, max_size=6), header=st.sampled_from([HEADER, HEADER.lower(), ""]),
       raw=st.binary(max_size=40), zip_it=st.booleans())
def test_fuzz_only_input_errors(tmp_path: Path, rows: list[str], header: str, raw: bytes, zip_it: bool) -> None:
    data = ("\n".join([header, *rows]) + "\n").encode() + (raw if not rows else b"")
    p = tmp_path / "cnsfails202101b.txt"
    p.write_bytes(data)
    target = zipped(tmp_path, data) if zip_it else p
    for read in (sec_fails.read_file, lambda x: sec_fails.read_many([x])):
        try:
            df = read(target)
        except InputError:
            continue
        assert df.schema == sec_fails.SCHEMA


# -- the fast path accepts exactly what the precise path accepts ---------------------------------------------------

_num = st.text(alphabet=st.sampled_from(list("0123456789.-+ex ")), min_size=0, max_size=16)
_near_row = st.builds(
    lambda d, c, s, q, p: "|".join([d, c, s, q, "DESC", p]),
    st.one_of(st.sampled_from(["20210125", "20210126", "20210127", "20210130", "2021012", "202101260", "0x1343CAE"]),
              _num),
    st.one_of(st.sampled_from(["36467W109", "00162Q452", "G0176J109", "*1234567#", "@BCDEFGH9"]),
              st.text(alphabet=st.sampled_from(list("09AZ*@#a-. ")), min_size=8, max_size=10)),
    st.text(alphabet=st.sampled_from(list("AZ. é")), max_size=22),
    st.one_of(st.sampled_from(["1", "20000", "007", "999999999999999", "1000000000000000", "-0", "0x10"]), _num),
    st.one_of(st.sampled_from([".", "1.50", "5.", ".5", "123456789012.5", "1234567890123", "1e5", "inf", "nan",
                               "1.2.3", "..", " 1.5", "+1"]), _num),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_near_row, min_size=1, max_size=8))
def test_fast_path_accepts_exactly_what_the_precise_path_accepts(tmp_path: Path, rows: list[str]) -> None:
    p = write(tmp_path, rows)
    data = p.read_bytes()
    try:
        precise: pl.DataFrame | None = sec_fails.parse(data, p)
    except InputError:
        precise = None
    _, fast = sec_fails._load_checked(p)
    if fast is None:  # refused, or left to the precise path: only a symbol over 20 bytes but not 20 characters
        assert precise is None or data.decode().count("é") > 0
    else:
        assert precise is not None and fast.equals(precise)


def test_rows_out_of_the_published_order_are_read_and_checked(tmp_path: Path) -> None:
    rows = [ROWS[2], ROWS[0], GME]  # the SEC's order is by date, then CUSIP (letters before digits)
    _, fast = sec_fails._load_checked(write(tmp_path, rows))
    assert fast is not None and fast.height == 3
    _, dup = sec_fails._load_checked(write(tmp_path, [GME, ROWS[0], GME.replace("2099572", "5")]))
    assert dup is None
    with pytest.raises(InputError, match="twice"):
        sec_fails.read_file(tmp_path / "cnsfails202101b.txt")
