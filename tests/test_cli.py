"""The command line: ``regsho replay``, ``replay --check`` and ``explain`` (docs/scenarios.md "Command line")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regsho.adapters.scenario import load
from regsho.app.replay import replay
from regsho.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
SHARED_SCENARIOS = ROOT / ".." / "shared" / "scenarios"
ACCEPTANCE = sorted(SHARED_SCENARIOS.glob("0[1-6]*.yaml")) if SHARED_SCENARIOS.is_dir() else []

HEAD = """version: 1
name: {name}
firm: {{id: FIRM}}
securities:
  XYZ: {{}}
accounts:
  A1: {{bd: FIRM, type: customer}}
"""

LOCATES = HEAD + """events:
  - {{at: "2024-06-03T08:00", type: locate, id: L1, account: A1, symbol: XYZ, qty: 1000}}
  - {{at: "2024-06-03T09:45", type: order, id: O1, account: A1, symbol: XYZ, side: sell_short, qty: 600, locate: L1}}
  - {{at: "2024-06-03T09:46", type: order, id: O2, account: A1, symbol: XYZ, side: sell_short, qty: 500, locate: L1}}
"""


def _scenario(tmp_path: Path, name: str, expect: str = "", body: str = LOCATES) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(body.format(name=name) + expect, encoding="utf-8")
    return p


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


PASSING = """expect:
  decisions: {O1: accept, O2: reject}
  reasons: {O1: [LOCATE], O2: [LOCATE_EXHAUSTED]}
"""
FAILING = """expect:
  decisions: {O1: accept, O2: accept}
  reasons: {O2: [LOCATE]}
"""


def test_replay_prints_one_json_document(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "one")
    result = _run("replay", str(path))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    assert doc["scenario"] == "one"
    for key in ("decisions", "obligations", "pre_borrow", "notices", "findings"):
        assert isinstance(doc[key], list), key
    o1, o2 = doc["decisions"]
    assert (o1["order"], o1["action"], o1["reasons"], o1["locate"]) == ("O1", "accept", ["LOCATE"], "L1")
    assert o1["cites"] == ["17 CFR 242.203(b)(1)"]
    assert o1["at"] == "2024-06-03T09:45:00-04:00"
    assert (o2["order"], o2["action"], o2["reasons"]) == ("O2", "reject", ["LOCATE_EXHAUSTED"])
    assert o2["locate"] is None


def test_replay_prints_an_array_for_several_files(tmp_path: Path) -> None:
    a, b = _scenario(tmp_path, "first"), _scenario(tmp_path, "second")
    result = _run("replay", str(a), str(b))
    assert result.exit_code == 0, result.stderr
    docs = json.loads(result.stdout)
    assert isinstance(docs, list)
    assert [d["scenario"] for d in docs] == ["first", "second"]


def test_check_all_passing(tmp_path: Path) -> None:
    a = _scenario(tmp_path, "a", PASSING)
    b = _scenario(tmp_path, "b", PASSING)
    result = _run("replay", "--check", str(a), str(b))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip().splitlines() == ["2 passed, 0 failed"]


def test_check_failing_prints_mismatches_and_exits_1(tmp_path: Path) -> None:
    good = _scenario(tmp_path, "good", PASSING)
    bad = _scenario(tmp_path, "bad", FAILING)
    result = _run("replay", "--check", str(good), str(bad))
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    mismatches = lines[:-1]
    assert len(mismatches) == 2
    decision = next(m for m in mismatches if "decisions.O2" in m)
    assert str(bad) in decision and "'accept'" in decision and "'reject'" in decision
    reason = next(m for m in mismatches if "reasons.O2" in m)
    assert str(bad) in reason and "'LOCATE'" in reason and "LOCATE_EXHAUSTED" in reason
    assert str(good) not in result.stdout


def test_check_without_expectations_passes(tmp_path: Path) -> None:
    result = _run("replay", "--check", str(_scenario(tmp_path, "bare")))
    assert result.exit_code == 0
    assert result.stdout.strip() == "1 passed, 0 failed"


def test_check_flags_unknown_order_and_unknown_expectation_keys(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "odd", "expect:\n  decisions: {O9: accept}\n  decisionz: {O1: accept}\n")
    result = _run("replay", "--check", str(path))
    assert result.exit_code == 1
    assert "decisions.O9" in result.stdout and "decisionz" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_check_bad_input_exits_2(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "broken", PASSING.replace("expect:", "  - {at: x, type: order}\nexpect:"))
    result = _run("replay", "--check", str(path))
    assert result.exit_code == 2
    assert "events[3]" in result.stderr and "field 'at'" in result.stderr


def test_explain(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "explain")
    result = _run("explain", str(path), "O2")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "O2" in text and "REJECTED" in text
    assert "LOCATE_EXHAUSTED" in text
    assert "17 CFR 242.203(b)(1)" in text
    assert "400 of 1000" in text  # the detail
    assert "Facts read" in text and "locate.fresh = 400" in text and "qty = 500" in text
    accepted = _run("explain", str(path), "O1")
    assert accepted.exit_code == 0
    assert "ACCEPTED" in accepted.stdout and "LOCATE" in accepted.stdout and "Locate used: L1" in accepted.stdout
    assert "Consumed: 600 from locate L1" in accepted.stdout


def test_explain_unknown_order_exits_2(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "explain")
    result = _run("explain", str(path), "O9")
    assert result.exit_code == 2
    assert "O9" in result.stderr and "O1" in result.stderr and "O2" in result.stderr
    assert result.stdout == ""


def test_explain_bad_input_exits_2(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "bad", body=LOCATES.replace("qty: 600", "qty: -600"))
    result = _run("explain", str(path), "O1")
    assert result.exit_code == 2
    assert "events[1]" in result.stderr and "field 'qty'" in result.stderr


def test_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "regsho"
    if not exe.exists():
        pytest.skip(f"console script not installed at {exe}")
    good = _scenario(tmp_path, "good", PASSING)
    bad = _scenario(tmp_path, "bad", FAILING)
    ok = subprocess.run([str(exe), "replay", "--check", str(good)], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout.strip()) == (0, "1 passed, 0 failed")
    fail = subprocess.run([str(exe), "replay", "--check", str(bad)], capture_output=True, text=True, timeout=60)
    assert fail.returncode == 1 and fail.stdout.strip().endswith("0 passed, 1 failed")
    # without --check the result is written as it is made and the process ends without freeing it: the output
    # is still the whole document, exactly as the standard library would write it
    out = subprocess.run([str(exe), "replay", str(good)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout == json.dumps(replay(load(good)).to_json(), indent=2) + "\n"


@pytest.mark.skipif(not ACCEPTANCE, reason=f"acceptance scenarios not found in {SHARED_SCENARIOS} (needs ../shared "
                                           "beside the project, as in CI)")
def test_acceptance_scenarios_01_to_06_pass() -> None:
    assert len(ACCEPTANCE) == 6
    result = _run("replay", "--check", *map(str, ACCEPTANCE))
    assert result.stdout.strip().splitlines()[-1] == "6 passed, 0 failed", result.stdout
    assert result.exit_code == 0


def test_replay_leaves_its_result_for_the_end_of_the_process_only_when_asked(tmp_path: Path) -> None:
    import contextlib
    import io

    from regsho.cli.main import run

    good = _scenario(tmp_path, "good", PASSING)
    left: list[object] = []
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert run(["replay", str(good)], left=left) == 0
    assert left and json.loads(out.getvalue())["decisions"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert run(["--version"], left=(kept := [])) == 0
    assert kept == []
