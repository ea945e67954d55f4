"""Documents produced from the books: 204(c) notices, Rule 204T attestations, options market-maker records."""

from __future__ import annotations

from pathlib import Path

from regsho.adapters.scenario import Scenario, loads
from regsho.app.replay import replay
from regsho.reports import Document, build_documents, write_documents

OMM = """
version: 1
name: options market maker hedges
firm: {id: FIRM}
securities: {THR: {shares_outstanding: 2000000}}
accounts: {OMM: {bd: FIRM, type: market_maker}}
events:
  - {at: "2006-03-03T20:00", type: threshold_list, symbols: [THR]}
  - {at: "2006-03-06T18:00", type: fail, symbol: THR, qty: 20000, settlement_date: "2006-03-06",
     origin: options_mm_hedge, trade_date: "2006-03-01", options_created: "2006-02-15"}
  - {at: "2006-03-07T18:00", type: fail, symbol: THR, qty: 5000, settlement_date: "2006-03-07",
     origin: options_mm_hedge, trade_date: "2006-03-02", options_created: "2006-03-03"}
  - {at: "2006-03-08T18:00", type: fail, symbol: THR, qty: 3000, settlement_date: "2006-03-08",
     origin: option_exercise, trade_date: "2006-03-03"}
"""

ATTEST = """
version: 1
name: a market maker's attestation under Rule 204T
firm: {id: FIRM}
securities: {ABC: {}}
accounts: {MM: {bd: FIRM, type: market_maker}}
events:
  - {at: "2008-09-22T18:00", type: fail, symbol: ABC, qty: 700, settlement_date: "2008-09-22", origin: bona_fide_mm,
     trade_date: "2008-09-17"}
  - {at: "2008-09-23T10:00", type: close_out, id: C0, symbol: ABC, qty: 200, method: purchase}
  - {at: "2008-09-23T15:00", type: attestation, symbol: ABC, qty: 700, settlement_date: "2008-09-22"}
  - {at: "2008-09-25T09:00", type: close_out, id: C1, symbol: ABC, qty: 500, method: purchase}
"""


def _build(sc: Scenario) -> list[Document]:
    r = replay(sc)
    return build_documents(r.book, [se.event for se in sc.events], r.notices, r.pre_borrow, r.obligations)


def _docs(text: str) -> dict[str, str]:
    sc = loads(text, "books.yaml")
    return {d.name: d.markdown for d in _build(sc)}


def test_options_market_maker_records_decide_each_fail() -> None:
    docs = _docs(OMM)
    recs = {k: v for k, v in docs.items() if k.startswith("omm_record_")}
    assert len(recs) == 3
    first, second, third = (recs[k] for k in sorted(recs, key=lambda k: int(k.rsplit("_", 1)[1])))
    assert "**excepted**" in first and "Question 1" in first and "2006-03-03" in first
    # options created the day the security became a threshold security: not excepted (Question 9)
    assert "**not excepted**" in second and "Question 9" in second
    # exercises and assignments are never excepted (Question 5)
    assert "**not excepted**" in third and "Question 5" in third


def test_rule_204t_attestation_in_the_notice_08_50_form() -> None:
    docs = _docs(ATTEST)
    (name,) = [k for k in docs if k.startswith("204T_attestation_")]
    md = docs[name]
    assert "Attachment A" in md
    assert "Member Name | FIRM" in md
    assert "Trade Date of Relevant Activity | 2008-09-17" in md
    assert "Settlement Date of Relevant Activity | 2008-09-22" in md
    assert "(2008-09-25) | 700" in md  # S+3, the amount to close out by its morning
    # only actions up to the attestation's own date: the purchase of 2008-09-25 is not an action taken yet
    assert "purchase of 200 shares of ABC (record C0)" in md
    assert "record C1" not in md
    assert "5:00 p.m. EDT on Tuesday, September 23, 2008" in md  # close of business, from the parameter table
    assert "was on time" in md


def test_a_late_attestation_is_marked_late() -> None:
    late = ATTEST.replace('at: "2008-09-23T15:00", type: attestation', 'at: "2008-09-24T00:00", type: attestation')
    (md,) = [v for k, v in _docs(late).items() if k.startswith("204T_attestation_")]
    assert "was late" in md


def test_documents_are_written_as_markdown_and_html(tmp_path: Path) -> None:
    sc = loads(OMM, "books.yaml")
    files = write_documents(_build(sc), tmp_path / "docs")
    assert len(files) == 9
    pdf = next(p for p in files if p.suffix == ".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    html = next(p for p in files if p.suffix == ".html").read_text()
    assert html.startswith("<!doctype html>") and "<table>" in html


def test_an_attestation_short_of_the_fail_says_so() -> None:
    short = ATTEST.replace("type: attestation, symbol: ABC, qty: 700", "type: attestation, symbol: ABC, qty: 500")
    (md,) = [v for k, v in _docs(short).items() if k.startswith("204T_attestation_")]
    assert "is 200 shares short of the firm's" in md


NOTICE = """
version: 1
name: a missed close-out and its notices
firm: {id: CLEAR, clears_for: [CORR1, "BRK/B", "/../../X"]}
securities: {"BRK/B": {}}
accounts: {A1: {bd: CLEAR, type: customer}}
events:
  - {at: "2024-06-04T18:00", type: fail, symbol: "BRK/B", qty: 1000, settlement_date: "2024-06-04",
     origin: short_sale, trade_date: "2024-06-03"}
  - {at: "2024-06-05T11:00", type: close_out, id: P1, symbol: "BRK/B", qty: 1000, method: purchase}
"""


def test_notices_are_documents_a_firm_can_send(tmp_path: Path) -> None:
    sc = loads(NOTICE, "books.yaml")
    r = replay(sc)
    book = r.book
    import dataclasses

    from regsho.core.book import BrokerDealer, Security

    book = dataclasses.replace(
        book, firm=dataclasses.replace(book.firm, name="Clearing Co LLC", crd="12345", contact="Reg SHO desk, "
                                       "+1 212 555 0100", signatory="J. Smith, Chief Compliance Officer"),
        securities={"BRK/B": Security("BRK/B", name="Berkshire Hathaway Inc. Class B", cusip="084670702")},
        broker_dealers={"CORR1": BrokerDealer("CORR1", "Correspondent One Inc", "67890")})
    docs = build_documents(book, [se.event for se in sc.events], r.notices, r.pre_borrow, r.obligations)
    imposed = next(d for d in docs if "CORR1" in d.name and "imposed" in d.name)
    md = imposed.markdown
    assert "Berkshire Hathaway Inc. Class B (BRK/B, CUSIP 084670702)" in md
    assert "Clearing Co LLC (CLEAR, CRD 12345)" in md and "Correspondent One Inc (CORR1, CRD 67890)" in md
    assert "Notice number | CLEAR-20240605-N" in md
    assert "9:30 a.m. EDT on Wednesday, June 5, 2024" in md
    assert "OB1" in md and "by P1" in md  # the obligation and the purchase applied to it
    assert "J. Smith, Chief Compliance Officer" in md and "+1 212 555 0100" in md
    assert "books.yaml" not in md and "/" not in md.replace("BRK/B", "")  # no paths
    files = write_documents(docs, tmp_path / "out")
    assert all(p.parent == (tmp_path / "out").resolve() for p in files)  # '/../../X' stays inside
    assert not list(tmp_path.glob("X*")) and any("BRK_B" in p.name for p in files)
