"""``lists load``: a day's SRO files into a stored book, the events the gate uses, and the gate failing closed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsho.adapters import lists
from regsho.adapters.errors import InputError
from regsho.app.lists import load_folder
from regsho.calendars import ET, default_calendars
from regsho.cli.main import app
from regsho.core.events import (
    Account,
    AccountType,
    EtbList,
    HtbList,
    LocateGrant,
    Order,
    Security,
    Side,
    SsrTrigger,
    ThresholdList,
)
from regsho.engine.shell import GateShell
from regsho.law import reasons as r
from regsho.store import Store

D = "20210128"
NASDAQ = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler"
NYSE = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Filler|Filler"


def folder(tmp_path: Path) -> Path:
    f = tmp_path / "lists" / "2021-01-28"
    f.mkdir(parents=True)
    (f / f"nasdaqth{D}.txt").write_text(f"{NASDAQ}\nXXXX|Some Co|S|Y|N|\nAAPL|Apple|Q|N|N|\n{D}230020\n")
    (f / f"NYSEth{D}.txt").write_text(f"{NYSE}\nGME|GameStop Corp. Class A|NYSE|Y||\n{D}210501\n")
    (f / f"NYSEArcath{D}.txt").write_text(f"{NYSE}\n{D}210501\n")
    (f / f"shorthalts{D}.txt").write_text("Symbol,Security Name,Market Category,Trigger Time\n"
                                          "GME,GameStop,N,1/28/2021 10:15:30 AM\n20210128163000\n")
    (f / "usa.txt").write_text("#BOF|2021.01.29|06:30:00\n#SYM|CUR|NAME|CON|ISIN|REBATERATE|FEERATE|AVAILABLE|FIGI|\n"
                               "AAPL|USD|APPLE|1|US1|0.3|0.25|>10000000|B1|\nGME|USD|GAMESTOP|2|US2|-30|40|500|B2|\n"
                               "#EOF\n")
    (f / "README").write_text("not a list\n")
    return f


def test_union_of_the_sros_effective_from_the_next_trading_day(tmp_path: Path) -> None:
    day = lists.read_folder(folder(tmp_path))
    evs = lists.events(day, min_available=10_000_001)
    thr = [e for e in evs if isinstance(e, ThresholdList)]
    assert len(thr) == 1
    assert thr[0].symbols == {"XXXX", "GME"}
    assert thr[0].at == dt.datetime(2021, 1, 29, 0, 0, tzinfo=ET)  # governs trading from the next trading day
    assert "nasdaqth20210128.txt(nasdaq)" in thr[0].prov and "NYSEArcath20210128.txt(nyse_arca)" in thr[0].prov
    ssr = [e for e in evs if isinstance(e, SsrTrigger)]
    assert [(e.symbol, e.at) for e in ssr] == [("GME", dt.datetime(2021, 1, 28, 10, 15, 30, tzinfo=ET))]
    etb = [e for e in evs if isinstance(e, EtbList)]
    assert [e.symbols for e in etb] == [frozenset({"AAPL"})]
    assert [Path(x).name for x in day.ignored] == ["README"]


def test_friday_list_governs_monday() -> None:
    cal = default_calendars()
    assert lists.effective_time(dt.date(2021, 1, 29), [dt.datetime(2021, 1, 29, 23, 0, tzinfo=ET)], cal) == \
        dt.datetime(2021, 2, 1, 0, 0, tzinfo=ET)
    # a list written after midnight governs from when it was written
    late = dt.datetime(2021, 2, 1, 3, 4, tzinfo=ET)
    assert lists.effective_time(dt.date(2021, 1, 29), [late], cal) == late


def test_two_lists_of_one_sro_for_a_date_are_refused(tmp_path: Path) -> None:
    f = folder(tmp_path)
    (f / "nasdaqth20210128_copy.txt").write_text((f / f"nasdaqth{D}.txt").read_text())
    with pytest.raises(InputError, match="a second nasdaq list"):
        lists.read_folder(f)


def _book(tmp_path: Path) -> str:
    db = str(tmp_path / "book.db")
    st = Store(db)
    st.migrate()
    doc = {"version": 1, "firm": {"id": "ACME"}, "securities": {"GME": {"shares_outstanding": 70_000_000}},
           "accounts": {"HF1": {"bd": "ACME", "type": "customer"}},
           "events": [{"at": "2021-01-28T08:00", "type": "htb_list", "symbols": []}]}
    st.import_document(doc, "setup.yaml", "ACME")
    st.close()
    return db


def test_lists_load_appends_to_the_book(tmp_path: Path) -> None:
    db = _book(tmp_path)
    s = load_folder(folder(tmp_path), "ACME", db)
    assert (s.threshold_lists, s.ssr_triggers, s.etb_lists) == (1, 1, 1)
    assert s.new_securities == ("AAPL", "XXXX")
    sc = Store(db).load_book("ACME")
    assert set(sc.securities) == {"GME", "AAPL", "XXXX"}
    types = [type(se.event).__name__ for se in sc.events]
    assert types == ["HtbList", "SsrTrigger", "ThresholdList", "EtbList"]


def test_missing_or_stale_list_makes_the_gate_fail_closed(tmp_path: Path) -> None:
    db = _book(tmp_path)
    load_folder(folder(tmp_path), "ACME", db)
    sc = Store(db).load_book("ACME")
    gate = GateShell(default_calendars(), list(sc.securities.values()), list(sc.accounts.values()),
                     reference_max_age=dt.timedelta(hours=24))
    for se in sc.events:
        e = se.event
        if isinstance(e, ThresholdList):
            gate.threshold_list(e)
        elif isinstance(e, EtbList):
            gate.etb_list(e)
        elif isinstance(e, SsrTrigger):
            gate.ssr(e)
    thr = next(se.event for se in sc.events if isinstance(se.event, ThresholdList))

    def short(at: dt.datetime, oid: str) -> tuple[str, tuple[str, ...]]:
        gate.htb_list(HtbList(at - dt.timedelta(minutes=5), frozenset()))
        gate.locate(LocateGrant(at - dt.timedelta(minutes=1), f"L{oid}", "HF1", "AAPL", 100,
                                dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(0), tzinfo=ET), True))
        d = gate.order(Order(at, oid, "HF1", "AAPL", Side.SELL_SHORT, 100))
        return d.action, d.reasons

    # the list dated 2021-01-28, loaded, governs 2021-01-29: accepted
    assert short(dt.datetime(2021, 1, 29, 10, 0, tzinfo=ET), "O1") == ("accept", (r.LOCATE,))
    # no list loaded for 2021-01-29: on Monday the loaded one is more than 24 hours old
    assert thr.at + dt.timedelta(hours=24) < dt.datetime(2021, 2, 1, 10, 0, tzinfo=ET)
    assert short(dt.datetime(2021, 2, 1, 10, 0, tzinfo=ET), "O2") == ("reject", (r.REFERENCE_DATA_STALE,))
    # a gate that never saw a threshold list refuses as well
    empty = GateShell(default_calendars(), [Security("AAPL")], [Account("HF1", "ACME", AccountType.CUSTOMER)],
                      reference_max_age=dt.timedelta(hours=24))
    at = dt.datetime(2021, 1, 29, 10, 0, tzinfo=ET)
    empty.htb_list(HtbList(at, frozenset()))
    assert empty.order(Order(at, "O3", "HF1", "AAPL", Side.SELL_SHORT, 100)).reasons[-1] == r.REFERENCE_DATA_STALE


def test_cli_lists_load(tmp_path: Path) -> None:
    db = _book(tmp_path)
    res = CliRunner().invoke(app, ["lists", "load", str(folder(tmp_path)), "--book", "ACME", "--db", db])
    assert res.exit_code == 0, res.output
    assert "1 threshold lists, 1 Rule 201 triggers, 1 easy-to-borrow lists" in res.output


def test_cli_lists_load_bad_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = _book(tmp_path)
    f = folder(tmp_path)
    (f / f"NYSEth{D}.txt").write_text(f"{NYSE}\nGME|GameStop|NYSE|Y||\n20210127210501\n")
    res = CliRunner().invoke(app, ["lists", "load", str(f), "--book", "ACME", "--db", db])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "NYSEth20210128.txt: line 3: field 'trailer'" in lines[0]
    assert "Traceback" not in res.output


def test_cli_lists_load_unknown_book(tmp_path: Path) -> None:
    db = _book(tmp_path)
    res = CliRunner().invoke(app, ["lists", "load", str(folder(tmp_path)), "--book", "NOPE", "--db", db])
    assert res.exit_code == 2 and "no book 'NOPE'" in res.output
