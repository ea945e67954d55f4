"""The demo firm: deterministic by seed; its book holds the missed close-out and its penalty box, the failing market
maker's verdicts and refusals, the Rule 201 trigger, locate reuse and the 13-day clock; real threshold securities
when the SEC data is at hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SHARED

from regsho.adapters.scenario import parse_document
from regsho.app.replay import ReplayResult, replay
from regsho.calendars import default_calendars
from regsho.demo import SMALL, Size, Story, build, build_with_story
from regsho.demo.firm import FIRM, trading_days
from regsho.demo.market import available, real

MEDIUM = Size(securities=40, days=16, orders_per_day=50, customers=12, threshold=4, mm_securities=2)


@pytest.fixture(scope="module")
def small() -> tuple[dict[str, Any], Story, ReplayResult]:
    doc, story = build_with_story(7, SMALL)
    return doc, story, replay(parse_document(doc, "demo"))


def test_the_same_seed_builds_the_same_document_and_another_seed_another(
        small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    doc, _, _ = small
    again = build(7, SMALL)
    assert json.dumps(again, sort_keys=True) == json.dumps(doc, sort_keys=True)
    other = build(8, SMALL)
    assert other["events"] != doc["events"]


def test_the_document_does_not_depend_on_the_process(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    """Another interpreter, with another string-hash seed, builds byte for byte the same document."""
    import hashlib
    import os
    import subprocess
    import sys

    doc, _, _ = small
    mine = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    code = ("import json, hashlib; from regsho.demo import build, SMALL; "
            "print(hashlib.sha256(json.dumps(build(7, SMALL), sort_keys=True).encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert out.stdout.strip() == mine


def test_the_firm_its_correspondents_and_accounts(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    doc, _, _ = small
    assert doc["firm"]["id"] == FIRM.id and set(doc["firm"]["clears_for"]) == {"NWST", "LAKE", "MRDN"}
    types = {a["type"] for a in doc["accounts"].values()}
    assert types == {"customer", "proprietary", "market_maker"}
    assert len(doc["securities"]) == SMALL.securities
    kinds = {e["type"] for e in doc["events"]}
    assert {"threshold_list", "etb_list", "locate", "order", "fill", "cancel", "fail", "close_out", "certify",
            "pre_borrow", "ssr", "mm_status", "mm_verdict", "position", "locate_release"} <= kinds


def test_the_missed_close_out_its_penalty_box_and_notices(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    _, story, r = small
    missed = [o for o in r.obligations if o.status == "missed"]
    assert [(o.symbol, o.rule, o.bd, o.deadline) for o in missed] == [
        (story.missed_symbol, "204(a)", FIRM.id, story.missed_deadline)]
    ob = missed[0]
    assert [c.by for c in ob.cured] == ["X-LATE-BORROW"]  # a late borrow cures, it does not release
    assert [f.code for f in r.findings if f.obligation == ob.id] == ["CLOSE_OUT_MISSED"]
    box = [p for p in r.pre_borrow if ob.id in p.obligations]
    assert sorted(p.bd for p in box) == ["HBCL", "MRDN", "NWST"]  # LAKE certified under the proviso
    assert all(p.rule == "204(b)" and p.start == story.missed_deadline and p.until is not None for p in box)
    sent = {(n.to, n.kind) for n in r.notices if n.symbol == story.missed_symbol}
    assert sent == {(bd, k) for bd in ("NWST", "LAKE", "MRDN") for k in ("pre_borrow_imposed", "pre_borrow_lifted")}
    outcome = {o: (d.action, d.reasons[0]) for o in ("BOX-1", "BOX-2", "BOX-3", "BOX-4")
               if (d := r.decision(o)) is not None}
    assert outcome == {"BOX-1": ("reject", "PRE_BORROW_REQUIRED"), "BOX-2": ("accept", "LOCATE"),
                       "BOX-3": ("reject", "PRE_BORROW_REQUIRED"), "BOX-4": ("accept", "PRE_BORROW")}


def test_the_failing_market_maker(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    doc, story, r = small
    verdicts = [e for e in doc["events"] if e["type"] == "mm_verdict"]
    bad = [v for v in verdicts if v["account"] == story.failing_mm]
    good = [v for v in verdicts if v["account"] == story.honest_mm]
    assert bad and not any(v["bona_fide"] for v in bad) and all("MM_BAND_EDGE" in v["findings"] for v in bad)
    assert good and all(v["bona_fide"] for v in good)
    refused = [d for d in r.decisions if d.account == story.failing_mm and d.reasons == (
        "NOT_BONA_FIDE_MARKET_MAKING",)]
    assert refused and all(dict(d.facts)["mm_verdict.bona_fide"] is False for d in refused)
    honest = [d for d in r.decisions if d.account == story.honest_mm and "BONA_FIDE_MARKET_MAKING" in d.reasons]
    assert honest and all(d.accepted for d in honest)


def test_rule_201_trigger_and_locates(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    doc, story, r = small
    assert [e["symbol"] for e in doc["events"] if e["type"] == "ssr"] == [story.ssr_symbol]
    got = {o: (d.action, d.reasons) for o in ("SSR-1", "SSR-2", "SSR-3", "SSR-4", "SSR-5")
           if (d := r.decision(o)) is not None}
    assert got["SSR-1"] == ("reject", ("PRICE_TEST_RESTRICTED",))
    assert got["SSR-2"][0] == "accept" and "SHORT_EXEMPT" in got["SSR-3"][1]
    assert got["SSR-4"] == ("reject", ("PRICE_TEST_RESTRICTED",)) and got["SSR-5"][1] == ("SHORT_EXEMPT_INVALID",)
    reuse, barred = r.decision(story.reuse_order), r.decision(story.barred_reuse_order)
    assert reuse is not None and reuse.reasons == ("LOCATE_REUSED",)
    assert barred is not None and barred.reasons == ("LOCATE_REUSE_NOT_ALLOWED",)
    assert {d.reasons[0] for d in r.decisions} >= {"LOCATE", "EASY_TO_BORROW", "NO_LOCATE", "LOCATE_EXPIRED",
                                                   "LOCATE_EXHAUSTED", "LONG_SALE", "BUY"}
    sources = {e.get("source") for e in doc["events"] if e["type"] == "locate"}
    assert "locate desk" in sources and any(s and s.startswith("stock loan") for s in sources)


def test_locates_returned_to_the_locate_desk(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    """On the last day the locate desk takes back the unused rest of a 20,000-share locate after a 5,000-share short
    sale against it, so a later short sale against it is refused, and a locate is handed back whole before use."""
    from regsho.app.daily import locate_returns

    doc, story, r = small
    releases = [e for e in doc["events"] if e["type"] == "locate_release"]
    assert [(e["id"], e["at"][:10]) for e in releases] == [(story.spare_locate, story.last_day.isoformat()),
                                                           (story.returned_locate, story.last_day.isoformat())]
    assert all(e["by"] and e["reason"] and "qty" not in e for e in releases)  # all that is unused, said by whom
    got = [(x.id, x.account, x.returned, x.left, x.consumed) for x in locate_returns(r)]
    assert got == [(story.spare_locate, story.return_account, 3_000, 0, 0),
                   (story.returned_locate, story.return_account, 15_000, 0, 5_000)]
    refused = r.decision(story.refused_after_return)
    assert refused is not None and refused.reasons == ("LOCATE_EXHAUSTED",)
    assert "15000 returned to the locate desk" in dict(refused.details)["LOCATE_EXHAUSTED"]
    assert dict(refused.facts)["locate.released"] == 15_000
    assert r.engine is not None
    snap = r.engine.gate.snap.locates
    assert str(snap[story.spare_locate].status) == "returned" and str(snap[story.returned_locate].status) == \
        "exhausted"


def test_every_other_obligation_is_closed_out_in_time(small: tuple[dict[str, Any], Story, ReplayResult]) -> None:
    _, story, r = small
    others = [o for o in r.obligations if o.symbol != story.missed_symbol]
    assert others and all(o.status in ("closed", "open") for o in others)
    assert all(o.deadline.date() > story.last_day for o in others if o.status == "open")  # open = due after


def test_the_13_day_clock_of_203b3() -> None:
    doc, story = build_with_story(3, MEDIUM)
    r = replay(parse_document(doc, "demo"))
    assert story.clock_symbol is not None
    clock = [o for o in r.obligations if o.rule.startswith("203(b)(3)")]
    assert [(o.symbol, o.status) for o in clock] == [(story.clock_symbol, "closed")]
    assert any(p.rule.startswith("203(b)(3)") for p in r.pre_borrow)  # the close-out day's pre-borrow


def test_real_threshold_securities_from_the_sec_data() -> None:
    data = SHARED / "data"
    if not available(data):
        pytest.skip(f"{data} does not hold the SEC fails files and listings (a fresh clone has no ../shared)")
    cal = default_calendars()
    days = trading_days(cal, 19)
    m = real(data, 7, 60, days, 10, cal)
    assert "GME" in m.threshold_symbols  # GameStop was a threshold security all January 2021
    gme = next(s for s in m.securities if s.symbol == "GME")
    assert gme.cusip == "36467W109" and gme.name.startswith("Gamestop")
    assert all("GME" in m.on_list(d) for d in days)
    assert len(m.securities) == 60 and len({s.symbol for s in m.securities}) == 60
    doc = build(7, SMALL, real(data, 7, SMALL.securities, trading_days(cal, SMALL.days), SMALL.threshold, cal))
    assert doc["securities"]["GME"]["cusip"] == "36467W109" and "SEC fails-to-deliver" in doc["name"]


def test_run_into_a_store_for_other_tests(tmp_path: Path) -> None:
    """What the dashboard's tests load: the small synthetic demo into a store, without a report."""
    from regsho.demo import run
    from regsho.store import Store

    db = str(tmp_path / "d.sqlite")
    r = run(db, size=SMALL, synthetic=True, write_report=False)
    assert r.report_files == () and r.imported and r.book == "demo"
    assert r.missed is not None and len(r.penalty_box) == 3 and r.failing_mm_refused
    from regsho.app.daily import ReturnsEngine

    assert isinstance(r.result.engine, ReturnsEngine)  # the returns are kept by the replay's engine as it goes
    assert [x.returned for x in r.returns] == [3_000, 15_000]
    assert r.refused_after_return is not None and not r.refused_after_return.accepted
    assert Store(db).books() == ["demo"]
