"""``regsho demo`` end to end at a small size: into a store, its summary, its daily report; run again safely; the
bundled examples still replay with --examples; ``regsho report daily`` over the stored book, and its bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsho.cli.main import app


def invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    d = tmp_path_factory.mktemp("demo")
    db, out = d / "demo.sqlite", d / "reports"
    code, text = invoke("demo", "--small", "--synthetic", "--db", str(db), "--out", str(out))
    assert code == 0, text
    return db, out, text


def test_the_summary_names_what_to_look_at(demo: tuple[Path, Path, str]) -> None:
    _, out, text = demo
    flat = " ".join(text.split())
    assert "Harbor Clearing LLC (HBCL), clearing for NWST, LAKE, MRDN" in flat
    assert "Missed close-out" in flat and "204(a) fail of HBCL" in flat and "not closed out by 9:30 a.m. EST" in flat
    assert "Penalty box (17 CFR 242.204(b))" in flat and "for HBCL, NWST, MRDN" in flat
    assert "Failing market maker MM2 of MRDN" in flat and "MM_BAND_EDGE" in flat
    assert "Rule 201 trigger" in flat and "Locate reuse" in flat
    assert "Locates returned to the locate desk: L-SPARE" in flat and "L-RETURN (PROP-MR" in flat
    assert "15,000 shares" in flat and "order RETURN-2 afterwards reject (LOCATE_EXHAUSTED)" in flat
    assert "http://127.0.0.1:8000/dashboard" in flat and "regsho serve" in flat
    assert "Securities and threshold lists" in flat and "Recording the book in the store" in flat  # progress
    pdfs = sorted(out.glob("daily-report-demo-*.pdf"))
    assert [p.name for p in pdfs] == ["daily-report-demo-2021-01-12.pdf"]
    assert (out / "daily-report-demo-2021-01-12-decisions_by_reason.csv").is_file()
    returns = (out / "daily-report-demo-2021-01-12-locate_returns.csv").read_text().splitlines()
    assert len(returns) == 3 and "L-SPARE" in returns[1] and "L-RETURN" in returns[2] and "15,000" in returns[2]
    rejected = (out / "daily-report-demo-2021-01-12-rejections.csv").read_text()
    assert "RETURN-2" in rejected and "returned to the locate desk" in rejected


def test_running_again_does_not_fail_nor_import_twice(demo: tuple[Path, Path, str]) -> None:
    db, out, _ = demo
    code, text = invoke("demo", "--small", "--synthetic", "--db", str(db), "--out", str(out))
    assert code == 0, text
    assert "book demo already holds this demo: not imported again" in " ".join(text.split())
    code, text = invoke("demo", "--small", "--synthetic", "--seed", "8", "--db", str(db), "--out", str(out))
    assert code == 0, text
    assert "recorded as book demo-2 (book demo holds another demo)" in " ".join(text.split())
    code, text = invoke("store", "books", "--db", str(db))
    assert code == 0 and "demo-2" in text


def test_report_daily_over_the_stored_book(demo: tuple[Path, Path, str], tmp_path: Path) -> None:
    db, _, _ = demo
    code, text = invoke("report", "daily", "--book", "demo", "--date", "2021-01-08", "--db", str(db), "--out",
                        str(tmp_path))
    assert code == 0, text
    assert "Friday, January 8, 2021" in text
    assert (tmp_path / "daily-report-demo-2021-01-08.pdf").read_bytes().startswith(b"%PDF")
    missed = (tmp_path / "daily-report-demo-2021-01-08-obligations.csv").read_text()
    assert "missed, cured late" in missed
    box = (tmp_path / "daily-report-demo-2021-01-08-penalty_box.csv").read_text()
    assert box.count("204(b)") >= 3
    # the last day's returns to the locate desk, counted by the engine as the stored book replays
    code, text = invoke("report", "daily", "--book", "demo", "--date", "2021-01-12", "--db", str(db), "--out",
                        str(tmp_path))
    assert code == 0, text
    returns = (tmp_path / "daily-report-demo-2021-01-12-locate_returns.csv").read_text().splitlines()
    assert [row.split(",")[1] for row in returns[1:]] == ["L-SPARE", "L-RETURN"] and '"15,000"' in returns[2]


@pytest.mark.parametrize(("args", "message"), [
    (("--date", "2021-13-01"), "--date: expected a date YYYY-MM-DD"),
    (("--date", "2020-01-02"), "has events from 2021-01-04 to 2021-01-12"),
    (("--book", "nope"), "no book 'nope'"),
])
def test_report_daily_bad_input_is_one_line_and_status_2(demo: tuple[Path, Path, str], tmp_path: Path,
                                                        args: tuple[str, ...], message: str) -> None:
    db, _, _ = demo
    base = {"--book": "demo", "--date": "2021-01-08"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    code, text = invoke("report", "daily", *flat, "--db", str(db), "--out", str(tmp_path))
    assert code == 2 and message in text and "Traceback" not in text


def test_the_bundled_examples_still_replay() -> None:
    code, text = invoke("demo", "--examples")
    assert code == 0, text
    assert "a clearing firm's week" in text and "Why the first rejection was made" in text


def test_a_report_folder_that_cannot_be_made_is_bad_input(demo: tuple[Path, Path, str], tmp_path: Path) -> None:
    db, _, _ = demo
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, text = invoke("demo", "--small", "--synthetic", "--db", str(db), "--out", str(blocker / "reports"))
    assert code == 2 and "demo: cannot write" in text and "Traceback" not in text
