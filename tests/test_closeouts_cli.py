"""`regsho closeouts`: the daily close-out run over files and stored books, with the documents it writes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from regsho.cli.main import app

SCEN = Path(__file__).resolve().parent / "closeout" / "scenarios"
LATE = SCEN / "204a_cure_at_0930_01_is_late.yaml"
THRESHOLD = SCEN / "203b3_day13_purchase_at_open_rest_of_day.yaml"
runner = CliRunner()


def _run(*args: str) -> dict[str, object]:
    res = runner.invoke(app, ["closeouts", *args, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc, dict)
    return doc


def test_before_the_deadline_the_obligation_is_due_today() -> None:
    doc = _run(str(LATE), "--as-of", "2024-06-05T08:00")
    due = doc["due_today"]
    assert isinstance(due, list) and len(due) == 1
    assert due[0]["rule"] == "204(a)" and due[0]["deadline"] == "2024-06-05T09:30:00-04:00"
    assert doc["missed"] == [] and doc["penalty_box"] == []


def test_after_a_late_purchase_the_box_lasts_until_it_settles() -> None:
    doc = _run(str(LATE), "--as-of", "2024-06-06T15:00")
    assert doc["due_today"] == []
    missed = doc["missed"]
    assert isinstance(missed, list) and [o["closed_at"] for o in missed] == ["2024-06-05T09:30:01-04:00"]
    box = doc["penalty_box"]
    assert isinstance(box, list)
    assert {(p["bd"], p["rule"], p["from"]) for p in box} == {
        ("FIRM", "204(b)", "2024-06-05T09:30:00-04:00"), ("CORR", "204(b)", "2024-06-05T09:30:00-04:00")}
    # The purchase of 06-05 settles 06-06 (T+1): from 06-07 nobody is in the box.
    assert _run(str(LATE), "--as-of", "2024-06-07T09:00")["penalty_box"] == []


def test_notices_are_written_as_documents(tmp_path: Path) -> None:
    doc = _run(str(LATE), "--documents", str(tmp_path))
    files = sorted(Path(p).name for p in doc["documents"])  # type: ignore[union-attr]
    assert any(f.startswith("204c_XYZ_FIRM_to_CORR_pre_borrow_imposed") and f.endswith(".md") for f in files)
    assert any(f.startswith("204c_XYZ_FIRM_to_CORR_pre_borrow_lifted") and f.endswith(".html") for f in files)
    imposed = next(tmp_path.glob("204c_XYZ_FIRM_to_CORR_pre_borrow_imposed*.md")).read_text()
    assert "not closed out as 17 CFR 242.204(a) requires" in imposed
    assert "From **9:30 a.m. EDT on Wednesday, June 5, 2024**, CORR may not accept a short sale" in imposed
    lifted = next(tmp_path.glob("204c_XYZ_FIRM_to_CORR_pre_borrow_lifted*.md")).read_text()
    assert "has cleared and settled" in lifted
    assert "ended at the end of Thursday, June 6, 2024 (midnight EDT)" in lifted


def test_a_threshold_notice_names_the_13_day_rule(tmp_path: Path) -> None:
    _run(str(THRESHOLD), "--documents", str(tmp_path))
    imposed = next(tmp_path.glob("204c_THR_FIRM_to_CORR_pre_borrow_imposed*.md")).read_text()
    assert "13 consecutive settlement days" in imposed and "17 CFR 242.203(b)(3)(iv)" in imposed
    assert "204(a) requires" not in imposed


def test_over_a_stored_book(tmp_path: Path) -> None:
    db = str(tmp_path / "books.db")
    assert runner.invoke(app, ["store", "init", "--db", db]).exit_code == 0
    res = runner.invoke(app, ["store", "import", str(LATE), "--db", db])
    assert res.exit_code == 0, res.output
    doc = _run("--book", "FIRM", "--db", db, "--as-of", "2024-06-06T15:00")
    assert len(doc["penalty_box"]) == 2  # type: ignore[arg-type]
    assert runner.invoke(app, ["store", "verify", "--db", db]).exit_code == 0


def test_human_readable_run() -> None:
    res = runner.invoke(app, ["closeouts", str(LATE), "--as-of", "2024-06-06T15:00"])
    assert res.exit_code == 0, res.output
    assert "Pre-borrow requirement in force (penalty box)" in res.stdout
    assert "CLOSE_OUT_MISSED" in res.stdout


def test_bad_as_of_and_missing_input_exit_2() -> None:
    assert runner.invoke(app, ["closeouts", str(LATE), "--as-of", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["closeouts"]).exit_code == 2
    assert runner.invoke(app, ["closeouts", "--book", "NOPE", "--db", "/nonexistent/x.db"]).exit_code == 2
