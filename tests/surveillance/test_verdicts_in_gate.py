"""Surveillance verdicts become the market-making status the gate judges a short sale on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from regsho.adapters.scenario import load
from regsho.adapters.scenario_dump import dump_event
from regsho.app.check import check
from regsho.app.replay import replay
from regsho.law import citations as c
from regsho.surveillance import findings as fi
from regsho.surveillance import metrics as me
from regsho.surveillance import synthetic as sy
from regsho.surveillance.verdict_events import verdict_events

SCENARIO = Path(__file__).parent / "scenarios" / "mm_verdict_windows.yaml"


def test_scenario_accepts_in_a_bona_fide_window_and_rejects_citing_the_finding() -> None:
    sc = load(SCENARIO)
    res = replay(sc)
    assert check(res) == []
    by = {d.order: d for d in res.decisions}
    assert dict(by["S1"].facts)["mm_verdict.bona_fide"] is True
    s2 = by["S2"]
    assert dict(s2.facts)["mm_verdict.findings"] == ("MM_BAND_EDGE",)
    assert c.FINRA_2023_REPORT in s2.cites and c.MM_QUOTE_BANDS in s2.cites
    assert "MM_BAND_EDGE" in dict(s2.details)["NOT_BONA_FIDE_MARKET_MAKING"]
    assert "10:00-10:30" in dict(s2.details)["NOT_BONA_FIDE_MARKET_MAKING"]
    assert dict(by["S3"].facts)["mm_verdict.window"][0].hour == 11


def test_surveillance_review_converts_to_verdict_events() -> None:
    nb = sy.synthetic_nbbo(dt.date(2012, 6, 21), 1, 150, seed=2)
    s = sy.generate(nb, (sy.Maker("GOOD", "honest"), sy.Maker("PEG", "pegged")), seed=2)
    rv = fi.review(me.compute(me.Inputs(sy.with_day(s.quotes), nb)))
    evs = verdict_events(rv, {"GOOD": "MM_A", "PEG": "MM_B"})
    assert len(evs) == 26
    good = [e for e in evs if e.account == "MM_A"]
    peg = [e for e in evs if e.account == "MM_B"]
    assert all(e.bona_fide for e in good) and not any(e.bona_fide for e in peg)
    assert "MM_BAND_EDGE" in peg[0].findings and c.MM_QUOTE_BANDS in peg[0].cites
    assert peg[0].at == peg[0].end and peg[0].start.hour == 9
    d = dump_event(peg[0])
    assert d["type"] == "mm_verdict" and d["findings"][0] == "MM_BAND_EDGE"


def test_surveil_writes_verdict_events_a_scenario_can_replay(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from regsho.adapters.scenario import loads
    from regsho.cli.main import app

    nb = sy.synthetic_nbbo(dt.date(2012, 6, 21), 1, 150, seed=5)
    s = sy.generate(nb, (sy.Maker("PEG", "pegged"),), seed=5)
    s.quotes.write_parquet(tmp_path / "q.parquet")
    nb.drop("day").write_parquet(tmp_path / "n.parquet")
    out = tmp_path / "out"
    q, n = str(tmp_path / "q.parquet"), str(tmp_path / "n.parquet")
    r = CliRunner().invoke(app, ["surveil", "--quotes", q, "--nbbo", n, "--out", str(out), "--accounts", "PEG=MM"])
    assert r.exit_code == 0, r.output
    events = yaml.safe_load((out / "mm_verdicts.yaml").read_text())["events"]
    assert len(events) == 13 and events[0]["type"] == "mm_verdict" and events[0]["findings"] == ["MM_BAND_EDGE"]
    sym = events[0]["symbol"]
    doc = {"version": 1, "name": "from surveillance", "firm": {"id": "F"}, "securities": {sym: {}},
           "accounts": {"MM": {"bd": "F", "type": "market_maker"}},
           "events": [events[0], {"at": "2012-06-21T10:05:00-04:00", "type": "order", "id": "S", "account": "MM",
                                  "symbol": sym, "side": "sell_short", "qty": 100, "price": 10.0,
                                  "bona_fide_mm": True}, *events[1:]]}
    res = replay(loads(yaml.safe_dump(doc), "mm.yaml"))
    d = res.decision("S")
    assert d is not None and d.action == "reject"
    assert "MM_BAND_EDGE" in dict(d.details)["NOT_BONA_FIDE_MARKET_MAKING"]
    bad = CliRunner().invoke(app, ["surveil", "--quotes", q, "--nbbo", n, "--out", str(out), "--accounts", "PEG"])
    assert bad.exit_code == 2 and "MM_ID=ACCOUNT" in bad.output
