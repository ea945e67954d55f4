"""SRO threshold lists, the Rule 201 file and the shortable file: a test per quirk and a fuzz test per parser."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regsho.adapters import shortable, shorthalts, sro_lists
from regsho.adapters.errors import InputError
from regsho.adapters.sro_lists import Sro
from regsho.calendars import ET

D = dt.date(2021, 1, 28)
NASDAQ_3210 = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler"
NASDAQ_4320 = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 4320|Filler"
NYSE = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Filler|Filler"
FINRA = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 4320"


def put(tmp_path: Path, name: str, lines: list[str], eol: str = "\n") -> Path:
    p = tmp_path / name
    p.write_bytes((eol.join(lines) + eol).encode())
    return p


# -- Nasdaq -------------------------------------------------------------------------------------------------------

def test_nasdaq_list_keeps_flag_y_only(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", [NASDAQ_3210, "AAPL|Apple Inc.|Q|N|N|", "XXXX|Some Co|S|Y|N|",
                                               "YYYY|Other, Inc.|G|Y|Y|", "20210128230020"])
    f = sro_lists.parse_file(p)
    assert (f.sro, f.date, f.symbols) == (Sro.NASDAQ, D, frozenset({"XXXX", "YYYY"}))
    assert f.created == dt.datetime(2021, 1, 28, 23, 0, 20, tzinfo=ET)
    assert [e.rule4320 for e in f.entries] == [False, True]


def test_nasdaq_rule_4320_header_and_crlf_and_file_creation_time(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", [NASDAQ_4320, "XXXX|Some Co|S|Y|N|",
                                               "File Creation Time: 0128202123:00|||||"], eol="\r\n")
    f = sro_lists.parse_file(p)
    assert f.symbols == {"XXXX"} and f.created == dt.datetime(2021, 1, 28, 23, 0, tzinfo=ET)


def test_nasdaq_name_with_a_pipe(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", [NASDAQ_3210, "XXXX|Some | Co|S|Y|N|", "20210128230020"])
    assert sro_lists.parse_file(p).entries[0].name == "Some | Co"


def test_nasdaq_bad_category_names_line_and_field(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", [NASDAQ_3210, "XXXX|Some Co|S|Y|N|", "ZZZZ|Z|X|Y|N|",
                                               "20210128230020"])
    with pytest.raises(InputError) as e:
        sro_lists.parse_file(p)
    assert (e.value.line, e.value.field, e.value.value) == (3, "Market Category", "'X'")


def test_flag_must_be_y_or_n(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", [NASDAQ_3210, "XXXX|Some Co|S|maybe|N|", "20210128230020"])
    with pytest.raises(InputError, match="Y or N"):
        sro_lists.parse_file(p)


# -- NYSE group ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("market", "sro"), [("NYSE", Sro.NYSE), ("NYSE Arca", Sro.NYSE_ARCA),
                                             ("NYSE American", Sro.NYSE_AMERICAN),
                                             ("NYSE National", Sro.NYSE_NATIONAL),
                                             ("NYSE Chicago", Sro.NYSE_CHICAGO)])
def test_nyse_group_markets(tmp_path: Path, market: str, sro: Sro) -> None:
    p = put(tmp_path, "NYSEth20210128.txt", [NYSE, f"GME|GameStop Corp. Class A|{market}|Y||",
                                             f"BRK.B|Berkshire Hathaway Inc.|{market}|Y||", "20210128210501"])
    f = sro_lists.parse_file(p)
    assert (f.sro, f.symbols) == (sro, frozenset({"GME", "BRK.B"}))


def test_nyse_empty_day_is_header_and_trailer(tmp_path: Path) -> None:
    p = put(tmp_path, "NYSEArcath20210128.txt", [NYSE, "20210128210501"])
    f = sro_lists.parse_file(p)
    assert (f.sro, f.entries) == (Sro.NYSE_ARCA, ())


def test_unpublished_day_is_not_an_empty_list(tmp_path: Path) -> None:
    # the site answers for a day without a list with another day's file: its trailer gives it away
    p = put(tmp_path, "NYSEth20210128.txt", [NYSE, "20210127210501"])
    with pytest.raises(InputError, match=r"not\s+published") as e:
        sro_lists.parse_file(p)
    assert (e.value.line, e.value.field) == (2, "trailer")


def test_missing_trailer_is_refused(tmp_path: Path) -> None:
    p = put(tmp_path, "NYSEth20210128.txt", [NYSE, "GME|GameStop Corp. Class A|NYSE|Y||"])
    with pytest.raises(InputError, match="creation timestamp"):
        sro_lists.parse_file(p)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "NYSEth20210128.txt").write_text("")
    with pytest.raises(InputError, match="unpublished"):
        sro_lists.parse_file(tmp_path / "NYSEth20210128.txt")


def test_a_list_is_dated_by_a_settlement_day(tmp_path: Path) -> None:
    p = put(tmp_path, "NYSEth20201012.txt", [NYSE, "20201012210501"])  # Columbus Day
    with pytest.raises(InputError, match="settlement day"):
        sro_lists.parse_file(p)


def test_one_nyse_file_one_market(tmp_path: Path) -> None:
    p = put(tmp_path, "NYSEth20210128.txt", [NYSE, "GME|G|NYSE|Y||", "AMC|A|NYSE Arca|Y||", "20210128210501"])
    with pytest.raises(InputError, match="one NYSE market"):
        sro_lists.parse_file(p)


def test_symbol_listed_twice(tmp_path: Path) -> None:
    p = put(tmp_path, "NYSEth20210128.txt", [NYSE, "GME|G|NYSE|Y||", "GME|G|NYSE|Y||", "20210128210501"])
    with pytest.raises(InputError, match="twice") as e:
        sro_lists.parse_file(p)
    assert e.value.line == 3


# -- Cboe, FINRA --------------------------------------------------------------------------------------------------

def test_cboe_list_written_the_next_morning(tmp_path: Path) -> None:
    p = put(tmp_path, "cboe_bzx_20210128.txt", ["Symbol|CompanyName",
                                                "AMPU|Defiance Daily Target 2X Long AMPX ETF", "20210129030418"])
    f = sro_lists.parse_file(p)
    assert (f.sro, f.date, f.symbols) == (Sro.CBOE_BZX, D, frozenset({"AMPU"}))


def test_cboe_date_from_the_trailer_alone(tmp_path: Path) -> None:
    p = put(tmp_path, "cboe.txt", ["Symbol|CompanyName", "AMPU|X", "20210129030418"])
    assert sro_lists.parse_file(p).date == D


def test_finra_legacy_text(tmp_path: Path) -> None:
    p = put(tmp_path, "otcth20210128.txt", [FINRA, "DROP|Fuse Science, Inc. Common Stock|u|Y|N",
                                            "OTCB|Some OTCBB Co|U|N|Y"])
    f = sro_lists.parse_file(p)
    assert (f.sro, f.symbols, f.created) == (Sro.FINRA_OTC, frozenset({"DROP"}), None)


def test_finra_legacy_text_without_rows_or_trailer_is_refused(tmp_path: Path) -> None:
    p = put(tmp_path, "otcth20210128.txt", [FINRA])
    with pytest.raises(InputError, match="unpublished"):
        sro_lists.parse_file(p)


def _finra_json(tmp_path: Path, records: object) -> Path:
    p = tmp_path / "finra_threshold_20210128.json"
    p.write_text(json.dumps(records))
    return p


def test_finra_api_json(tmp_path: Path) -> None:
    rec = {"tradeDate": "2021-01-28", "issueSymbolIdentifier": "DROP", "issueName": "Fuse", "marketClassCode": "u",
           "regShoThresholdFlag": "Y", "rule4320Flag": "N"}
    other = {**rec, "issueSymbolIdentifier": "NOPE", "regShoThresholdFlag": "N"}
    f = sro_lists.parse_file(_finra_json(tmp_path, [rec, other]))
    assert (f.sro, f.date, f.symbols) == (Sro.FINRA_OTC, D, frozenset({"DROP"}))


def test_finra_api_json_older_layout(tmp_path: Path) -> None:
    recs = [{"tradeDate": "2021-01-28", "issueSymbolIdentifier": "DROP", "thresholdListFlag": "R"},
            {"tradeDate": "2021-01-28", "issueSymbolIdentifier": "OTHR", "thresholdListFlag": "NR"}]
    assert sro_lists.parse_file(_finra_json(tmp_path, recs)).symbols == {"DROP"}


@pytest.mark.parametrize(("records", "match"), [
    ([], "unpublished"),
    ([{"tradeDate": "2021-01-27", "issueSymbolIdentifier": "DROP", "regShoThresholdFlag": "Y"}], "dated 2021-01-28"),
    ([{"tradeDate": "2021-01-28", "issueSymbolIdentifier": 5, "regShoThresholdFlag": "Y"}], "issueSymbolIdentifier"),
    ({"x": 1}, "list of records"),
])
def test_finra_api_json_refusals(tmp_path: Path, records: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        sro_lists.parse_file(_finra_json(tmp_path, records))


def test_unknown_header(tmp_path: Path) -> None:
    p = put(tmp_path, "nasdaqth20210128.txt", ["A|B|C", "20210128230020"])
    with pytest.raises(InputError, match="unknown header") as e:
        sro_lists.parse_file(p)
    assert e.value.line == 1


# -- Rule 201 file ------------------------------------------------------------------------------------------------

SSR_HEADER = "Symbol,Security Name,Market Category,Trigger Time"


def test_shorthalts_quoted_names_and_times(tmp_path: Path) -> None:
    p = put(tmp_path, "shorthalts20210128.txt", [SSR_HEADER, "MOVE,Move Corp Cmn,R,1/28/2021 9:30:00 AM",
                                                 'DROP,"Drop Holdings, Inc. Cl A",Q,1/28/2021 1:15:30 PM',
                                                 "PREV,Prev Co,G,1/27/2021 3:59:59 PM", "20210128163000"])
    f = shorthalts.parse_file(p)
    assert f.date == D
    assert [(h.symbol, h.name, h.trigger) for h in f.halts] == [
        ("MOVE", "Move Corp Cmn", dt.datetime(2021, 1, 28, 9, 30, tzinfo=ET)),
        ("DROP", "Drop Holdings, Inc. Cl A", dt.datetime(2021, 1, 28, 13, 15, 30, tzinfo=ET)),
        ("PREV", "Prev Co", dt.datetime(2021, 1, 27, 15, 59, 59, tzinfo=ET)),
    ]


def test_shorthalts_12_am_and_pm(tmp_path: Path) -> None:
    assert shorthalts.parse_time("1/28/2021 12:05:00 PM") == dt.datetime(2021, 1, 28, 12, 5, tzinfo=ET)
    assert shorthalts.parse_time("1/28/2021 12:05:00 AM") == dt.datetime(2021, 1, 28, 0, 5, tzinfo=ET)
    assert shorthalts.parse_time("1/28/2021 13:05:00 PM") is None


@pytest.mark.parametrize(("row", "field"), [
    ("MOVE,Move,R,1/28/2021 9:30 AM", "Trigger Time"),
    ("MOVE,Move,R,1/20/2021 9:30:00 AM", "Trigger Time"),
    ("MOVE,Move,RR,1/28/2021 9:30:00 AM", "Market Category"),
    ("move!,Move,R,1/28/2021 9:30:00 AM", "Symbol"),
])
def test_shorthalts_bad_rows(tmp_path: Path, row: str, field: str) -> None:
    p = put(tmp_path, "shorthalts20210128.txt", [SSR_HEADER, row, "20210128163000"])
    with pytest.raises(InputError) as e:
        shorthalts.parse_file(p)
    assert (e.value.line, e.value.field) == (2, field)


def test_shorthalts_unpublished_or_truncated(tmp_path: Path) -> None:
    p = put(tmp_path, "shorthalts20210128.txt", [SSR_HEADER, "20210126163000"])
    with pytest.raises(InputError, match="not published"):
        shorthalts.parse_file(p)
    p = put(tmp_path, "shorthalts20210128.txt", [SSR_HEADER, "MOVE,Move,R,1/28/2021 9:30:00 AM"])
    with pytest.raises(InputError, match="truncated"):
        shorthalts.parse_file(p)


# -- shortable file -----------------------------------------------------------------------------------------------

BOF = "#BOF|2021.01.28|06:45:02"
SHORT_HEADER = "#SYM|CUR|NAME|CON|ISIN|REBATERATE|FEERATE|AVAILABLE|FIGI|"


def test_shortable_file(tmp_path: Path) -> None:
    p = put(tmp_path, "usa.txt", [BOF, SHORT_HEADER, "UVIX|USD|2x Long VIX|123|US00000|-9.2|13.13|30000|BBG1|",
                                  "AAPL|USD|APPLE INC|265598|US0378331005|0.3|0.25|>10000000|BBG2|",
                                  "GME|USD|GAMESTOP | CORP|36285627|US36467W1099|NA||1000|BBG3|", "#EOF"])
    f = shortable.parse_file(p)
    assert f.at == dt.datetime(2021, 1, 28, 6, 45, 2, tzinfo=ET)
    assert [(r.symbol, r.available, r.more_than) for r in f.rows] == [("UVIX", 30000, False),
                                                                       ("AAPL", 10_000_000, True),
                                                                       ("GME", 1000, False)]
    assert f.rows[2].name == "GAMESTOP | CORP" and f.rows[2].rebate is None and f.rows[2].fee is None
    assert f.easy_to_borrow(10_000_001) == {"AAPL"}
    assert f.easy_to_borrow(1000) == {"UVIX", "AAPL", "GME"}


@pytest.mark.parametrize(("lines", "field"), [
    (["#BOF|2021.13.28|06:45:02", SHORT_HEADER, "#EOF"], "#BOF"),
    ([BOF, SHORT_HEADER, "X|USD|N|1|I|0|0|lots|F|", "#EOF"], "AVAILABLE"),
    ([BOF, SHORT_HEADER, "X|USD|N|1|I|0|0|5|F|"], "#EOF"),
    ([BOF, SHORT_HEADER, "X|US|N|1|I|0|0|5|F|", "#EOF"], "CUR"),
    ([BOF, SHORT_HEADER, "X|USD|N|1|I|abc|0|5|F|", "#EOF"], "REBATERATE"),
])
def test_shortable_refusals(tmp_path: Path, lines: list[str], field: str) -> None:
    with pytest.raises(InputError) as e:
        shortable.parse_file(put(tmp_path, "usa.txt", lines))
    assert e.value.field == field


# -- fuzz: every parser raises only the project's input error -----------------------------------------------------

_chars = st.sampled_from([*list('AZ09|,.:/ \r\t"#>-YNQSu'), "NYSE", "20210128230020", "1/28/2021 9:30:00 AM"])
_line = st.lists(_chars, max_size=12).map("".join)
_HEADS = [NASDAQ_3210, NYSE, FINRA, "Symbol|CompanyName", SSR_HEADER, BOF, SHORT_HEADER, "#EOF", "20210128230020"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(_HEADS), lines=st.lists(st.one_of(_line, st.sampled_from(_HEADS)), max_size=6),
       raw=st.binary(max_size=16), name=st.sampled_from(["nasdaqth20210128.txt", "x.txt", "shorthalts20210129.txt"]))
def test_fuzz_text_parsers_raise_only_input_errors(tmp_path: Path, head: str, lines: list[str], raw: bytes,
                                                   name: str) -> None:
    p = tmp_path / name
    p.write_bytes(("\n".join([head, *lines]) + "\n").encode() + raw)
    for parse in (sro_lists.parse_file, shorthalts.parse_file, shortable.parse_file):
        with contextlib.suppress(InputError):
            parse(p)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                                  st.sampled_from(["2021-01-28", "Y", "R", "DROP"])),
                        lambda kids: st.one_of(st.lists(kids, max_size=4),
                                               st.dictionaries(st.sampled_from(
                                                   ["tradeDate", "issueSymbolIdentifier", "regShoThresholdFlag",
                                                    "thresholdListFlag", "rule4320Flag", "data"]), kids, max_size=5)),
                        max_leaves=12))
def test_fuzz_finra_json_raises_only_input_errors(tmp_path: Path, doc: object) -> None:
    p = tmp_path / "finra_threshold_20210128.json"
    p.write_text(json.dumps(doc))
    with contextlib.suppress(InputError):
        sro_lists.parse_file(p)
