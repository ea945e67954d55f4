"""The daily report: its tables against a known book (the bundled clearing-firm example), its CSV files, its HTML,
and a PDF whose first page renders to an image that is not blank."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

from regsho.adapters.scenario import load
from regsho.app.daily import ReportError, report_of
from regsho.app.replay import ReplayResult, replay
from regsho.reports.daily import DailyReport, clock

DAY = dt.date(2025, 3, 12)


@pytest.fixture(scope="module")
def report() -> DailyReport:
    result = replay(load(EXAMPLES / "04_clearing_firm_penalty_box.yaml"))
    return report_of(result, DAY, "clearco", generated_at=dt.datetime(2025, 3, 13, 7, 0, tzinfo=dt.UTC))


def rows(r: DailyReport, key: str) -> list[tuple[str, ...]]:
    return list(r.table(key).rows)


def test_decisions_by_outcome_and_reason(report: DailyReport) -> None:
    got = {(a, code): (n, shares, cites) for a, code, _, n, shares, cites in rows(report, "decisions_by_reason")}
    assert got == {
        ("accept", "LOCATE"): ("1", "100", "17 CFR 242.203(b)(1)"),
        ("accept", "PRE_BORROW"): ("1", "300", "17 CFR 242.203(b)(1)(i)"),
        ("reject", "PRE_BORROW_REQUIRED"): ("2", "200", "17 CFR 242.204(b); 17 CFR 242.203(b)(3)(iv)"),
    }
    rej = rows(report, "rejections")
    assert [(r[0], r[1], r[3], r[8]) for r in rej] == [("10:00 a.m. EDT", "O1", "CLEARCO", "PRE_BORROW_REQUIRED"),
                                                       ("10:01 a.m. EDT", "O2", "CORR1", "PRE_BORROW_REQUIRED")]
    assert "period PB1-CORR1" in rej[1][9] and rej[1][10] == "17 CFR 242.204(b)"
    assert [r[1] for r in rows(report, "decisions")] == ["O1", "O2", "O3", "O4"]  # this day's orders only


def test_exceptions_and_locates(report: DailyReport) -> None:
    ex = {r[1]: r for r in rows(report, "exceptions")}
    assert ex["PRE_BORROW"][2:7] == ("1", "300", "1", "PRE_BORROW_REQUIRED", "2")
    assert ex["BONA_FIDE_MARKET_MAKING"][2] == "0"
    assert rows(report, "locates_by_source") == [("(source not recorded)", "3", "3,000", "1", "100", "0",
                                                        "0")]
    acct = {r[0]: r for r in rows(report, "locates_by_account")}
    assert acct["C1"] == ("C1", "CORR2", "1", "1,000", "1", "100", "0", "0", "0")
    assert acct["A1"][4] == "0"  # O4 was covered by the pre-borrow, not by A1's locate


def test_obligations_as_they_stood_at_the_end_of_the_day(report: DailyReport) -> None:
    obs = {r[3]: r for r in rows(report, "obligations")}
    assert obs["FUNDX"][8] == "closed in time" and "by X1 at 8:00 a.m. EDT on Wednesday, March 12, 2025" in obs[
        "FUNDX"][9]
    vant = obs["VANT"]
    assert vant[1] == "204(a)" and vant[6] == "9:30 a.m. EDT on Wednesday, March 12, 2025"
    assert vant[8] == "missed, cured late" and vant[9].startswith("2,000 shares not closed out by the deadline")
    assert "X3 at 10:30 a.m. EDT" in vant[9]
    assert obs["ADRX"][1] == "204(a)(1)" and obs["ADRX"][8] == "open"
    # the day before, the VANT fail is open: it was created that evening and not yet due
    before = report_of(replay(load(EXAMPLES / "04_clearing_firm_penalty_box.yaml")), dt.date(2025, 3, 11), "c")
    assert {r[3]: r[8] for r in before.table("obligations").rows}["VANT"] == "open"


def test_penalty_box_notices_and_findings(report: DailyReport) -> None:
    box = rows(report, "penalty_box")
    assert [(r[0], r[1], r[2], r[5], r[6], r[7]) for r in box] == [
        ("CLEARCO", "VANT", "204(b)", "9:30 a.m. EDT on Wednesday, March 12, 2025",
         "the end of Thursday, March 13, 2025 (midnight EDT)", "in force"),
        ("CORR1", "VANT", "204(b)", "9:30 a.m. EDT on Wednesday, March 12, 2025",
         "the end of Thursday, March 13, 2025 (midnight EDT)", "in force")]
    assert "purchases of 2,000 shares of VANT" in box[0][8]
    notices = rows(report, "notices")
    assert [(n[1], n[3], n[9]) for n in notices] == [("pre borrow imposed", "CORR1", "17 CFR 242.204(c)"),
                                                     ("pre borrow imposed", "CORR2", "17 CFR 242.204(c)")]
    assert [f[1] for f in rows(report, "findings")] == ["NOT_A_CLOSE_OUT", "CLOSE_OUT_MISSED"]
    # the lifting notices go out at the end of Thursday: they belong to that day's report
    thu = report_of(replay(load(EXAMPLES / "04_clearing_firm_penalty_box.yaml")), dt.date(2025, 3, 13), "c")
    assert [(n[1], n[3]) for n in thu.table("notices").rows] == [("pre borrow lifted", "CORR1"),
                                                                 ("pre borrow lifted", "CORR2")]
    assert {r[7] for r in thu.table("penalty_box").rows} == {"ended"}


def test_reference_data_threshold_list_and_price_test() -> None:
    two = replay(load(EXAMPLES / "02_price_test_and_marking.yaml"))
    r = report_of(two, dt.date(2025, 3, 13), "ex2")
    assert r.table("price_test").rows == (
        ("DRPX", "10:12 a.m. EDT on Thursday, March 13, 2025", "the end of Friday, March 14, 2025 (midnight EDT)",
         str(sum("PRICE_TEST_RESTRICTED" in d.reasons for d in two.decisions if d.at.day == 13))),)
    assert report_of(two, dt.date(2025, 3, 17), "ex2").table("price_test").rows == ()  # over by Monday
    exempt = r.table("short_exempt").rows
    assert next((row[1], row[7], row[8]) for row in exempt) == ("SX1", "201(c)", "accept")
    one = report_of(replay(load(EXAMPLES / "01_locate_desk_day.yaml")), dt.date(2025, 3, 10), "ex1")
    assert [row[0] for row in one.table("threshold_securities").rows] == ["TRSH"]
    src = {row[0]: row[1:] for row in one.table("locates_by_source").rows}
    # lender A: LK1 (5,000, KELP) and LB1 (1,000, BRIK); S3 and S4 used LK1, S8 LB1, S7 reused LK1's freed shares
    assert set(src) == {"lender A", "lender B"}
    # (shares used are taken at acceptance: S3's 4,000 count though a cancel gave 2,500 back)
    assert src["lender A"] == ("2", "6,000", "4", "8,500", "2,000", "0")
    assert src["lender B"] == ("1", "2,000", "0", "0", "0", "0")
    assert [(row[1], row[6], row[7]) for row in one.table("locate_reuse").rows] == [
        ("S7", "accept", "LOCATE_REUSED"), ("S9", "reject", "LOCATE_REUSE_NOT_ALLOWED")]


def test_csv_export_of_every_table(report: DailyReport, tmp_path: Path) -> None:
    files = report.write(tmp_path)
    names = {f.name for f in files}
    assert "daily-report-clearco-2025-03-12.pdf" in names and "daily-report-clearco-2025-03-12.html" in names
    for t in report.tables:
        path = tmp_path / report.csv_name(t)
        assert path.name in names
        parsed = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert tuple(parsed[0]) == t.columns
        assert [tuple(r) for r in parsed[1:]] == list(t.rows)


def test_html_names_every_table_and_escapes(report: DailyReport) -> None:
    html = report.html()
    assert html.startswith("<!doctype html>") and "Regulation SHO daily report" in html
    for t in report.tables:
        assert f'id="{t.key}"' in html
    assert "4 rows: see" in html  # every decision is in its CSV file only
    assert "CLEARCO-20250312-N1" in html and "<script" not in html
    assert "9:30 a.m. EDT on Wednesday, March 12, 2025" in html


def test_pdf_first_page_renders_and_is_not_blank(report: DailyReport) -> None:
    import pypdfium2 as pdfium

    data = report.pdf()
    assert data.startswith(b"%PDF")
    doc = pdfium.PdfDocument(data)
    assert len(doc) >= 2
    page = doc[0]
    image = page.render(scale=1).to_pil().convert("L")
    w, h = image.size
    assert w > h  # landscape
    dark = sum(1 for v in image.get_flattened_data() if v < 128)
    assert dark > 0.005 * w * h, f"first page nearly blank: {dark} dark pixels of {w * h}"
    text = page.get_textpage().get_text_range()
    assert "Regulation SHO daily report" in text and "Summary" in text
    everything = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "PRE_BORROW_REQUIRED" in everything and "CLOSE_OUT_MISSED" in everything
    assert "17 CFR 242.204(c)" in everything


def test_a_day_outside_the_book_is_refused() -> None:
    result = replay(load(EXAMPLES / "04_clearing_firm_penalty_box.yaml"))
    with pytest.raises(ReportError, match="has events from 2025-03-11 to 2025-03-14"):
        report_of(result, dt.date(2025, 4, 1), "clearco")


def test_clock_words() -> None:
    t = dt.datetime(2025, 3, 12, 14, 5, 7, tzinfo=dt.UTC)
    assert clock(t) == "10:05:07 a.m. EDT"
    assert clock(None) == ""


RETURNS = """
version: 1
name: the locate desk takes shares back
firm: {id: FIRM}
securities: {XYZ: {}, ABC: {}}
accounts:
  A1: {bd: FIRM, type: customer}
  A2: {bd: FIRM, type: proprietary}
events:
  - {at: "2024-06-04T08:00", type: locate, id: L0, account: A1, symbol: XYZ, qty: 500, source: lender A}
  - {at: "2024-06-04T09:00", type: locate_release, id: L0, reason: not needed, by: desk}
  - {at: "2024-06-05T08:00", type: locate, id: L1, account: A1, symbol: XYZ, qty: 1000, source: lender A}
  - {at: "2024-06-05T08:01", type: locate, id: L2, account: A2, symbol: ABC, qty: 2000, source: lender B}
  - {at: "2024-06-05T09:31", type: order, id: O1, account: A1, symbol: XYZ, side: sell_short, qty: 400, locate: L1}
  - {at: "2024-06-05T09:32", type: fill, order: O1, qty: 400}
  - {at: "2024-06-05T10:00", type: locate_release, id: L1, qty: 300, reason: partly unused, by: desk}
  - {at: "2024-06-05T14:00", type: locate_release, id: L1, reason: the rest, by: desk}
  - {at: "2024-06-05T14:30", type: order, id: O2, account: A1, symbol: XYZ, side: sell_short, qty: 100, locate: L1}
  - {at: "2024-06-05T15:00", type: locate_release, id: L2, reason: client withdrew, by: J. Doe}
"""


@pytest.fixture(scope="module")
def returns_replay(tmp_path_factory: pytest.TempPathFactory) -> ReplayResult:
    path = tmp_path_factory.mktemp("returns") / "returns.yaml"
    path.write_text(RETURNS, encoding="utf-8")
    return replay(load(path))


def test_locates_returned_to_the_desk(returns_replay: ReplayResult) -> None:
    r = report_of(returns_replay, dt.date(2024, 6, 5), "desk")
    # L1: 300 of its 600 unused returned at 10:00, the other 300 ("all unused") at 14:00; L2 returned whole
    assert r.table("locate_returns").rows == (
        ("10:00 a.m. EDT", "L1", "A1", "FIRM", "XYZ", "lender A", "300", "300", "400", "desk", "partly unused"),
        ("2:00 p.m. EDT", "L1", "A1", "FIRM", "XYZ", "lender A", "300", "0", "400", "desk", "the rest"),
        ("3:00 p.m. EDT", "L2", "A2", "FIRM", "ABC", "lender B", "2,000", "0", "0", "J. Doe", "client withdrew"))
    assert r.table("locate_returns").columns[6:9] == ("shares returned", "left to cover", "held by short sales")
    assert rows(r, "locates_by_source") == [("lender A", "1", "1,000", "1", "400", "0", "600"),
                                            ("lender B", "1", "2,000", "0", "0", "0", "2,000")]
    acct = {row[0]: row for row in rows(r, "locates_by_account")}
    assert acct["A1"][7:] == ("1", "600") and acct["A2"][7:] == ("0", "2,000")  # O2 refused; shares returned
    assert dict(rows(r, "summary"))["Locates returned to the locate desk (shares)"] == "2 (2,600)"
    o2 = next(row for row in rows(r, "rejections") if row[1] == "O2")
    assert o2[8] == "LOCATE_EXHAUSTED" and "600 returned to the locate desk" in o2[9]
    # the day before: L0 returned whole, before any use; the next day's locates are not in it
    before = report_of(returns_replay, dt.date(2024, 6, 4), "desk")
    assert [(row[1], row[6], row[7], row[8]) for row in before.table("locate_returns").rows] == [
        ("L0", "500", "0", "0")]
    assert rows(before, "locates_by_source") == [("lender A", "1", "500", "0", "0", "0", "500")]


def test_returns_are_the_engines_whichever_replay_they_come_from(returns_replay: ReplayResult) -> None:
    from regsho.app.daily import ReturnsEngine, replay_for_report
    from regsho.reports.daily import daily_report

    kept = replay_for_report(returns_replay.scenario)
    assert isinstance(kept.engine, ReturnsEngine) and len(kept.engine.returns) == 4
    day = dt.date(2024, 6, 5)
    assert report_of(kept, day, "d").table("locate_returns") == report_of(returns_replay, day, "d").table(
        "locate_returns")
    res = returns_replay
    with pytest.raises(ValueError, match=r"return of locate L1 at 10:00 a\.m\. EDT .* has no account"):
        daily_report(res.book, [se.event for se in res.scenario.events], res.decisions, res.obligations,
                     res.pre_borrow, res.notices, res.findings, day)


def test_returns_in_the_html_the_pdf_and_the_csv(returns_replay: ReplayResult, tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    r = report_of(returns_replay, dt.date(2024, 6, 5), "desk")
    html = r.html()
    assert 'id="locate_returns"' in html and "Locates returned to the locate desk (3)" in html
    assert "client withdrew" in html and "2:00 p.m. EDT" in html
    doc = pdfium.PdfDocument(r.pdf())
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    doc.close()
    assert "Locates returned to the locate desk (3)" in text and "client withdrew" in text
    r.write(tmp_path)
    got = list(csv.reader(io.StringIO((tmp_path / "daily-report-desk-2024-06-05-locate_returns.csv").read_text())))
    assert got[0][:2] == ["time", "locate"] and [row[1] for row in got[1:]] == ["L1", "L1", "L2"]
