"""Input rules (docs/scenarios.md, "Input rules"): strict decoding, limits, YAML 1.2, times, citations, exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from regsho.adapters.cites import PARAGRAPHS, check_cite
from regsho.adapters.output import write_json
from regsho.adapters.scenario import ScenarioError, load, loads, parse_datetime, parse_document
from regsho.cli.main import run
from regsho.law import citations

HEAD = """version: 1
firm: {id: FIRM}
securities: {XYZ: {}, "ON": {}, NO: {}, YES: {}}
accounts: {A1: {bd: FIRM, type: customer}}
events:
"""
ORDER = '  - {at: "2024-06-03T09:45", type: order, id: O1, account: A1, symbol: XYZ, side: buy, qty: 100}\n'

ROOT = Path(__file__).resolve().parents[1]


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(argv))
    return code, out.getvalue(), err.getvalue()


def _bad(tmp_path: Path, data: bytes | str, name: str = "s.yaml") -> str:
    """Replay a file that must be bad input: exit 2, one line on stderr naming the file, nothing on stdout."""
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    code, out, err = _cli("replay", str(p))
    assert code == 2, (code, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert str(p) in err and out == ""
    return err


def _error(text: str, name: str = "t.yaml") -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        loads(text, name)
    return e.value


# -- decoding ---------------------------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_are_one_clear_line(tmp_path: Path) -> None:
    err = _bad(tmp_path, (HEAD + ORDER).encode().replace(b"XYZ: {}", b"X\xffZ: {}"))
    assert "not UTF-8" in err and "0xff" in err and "line 3" in err


def test_a_utf8_byte_order_mark_is_dropped_and_utf16_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bom.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + (HEAD + ORDER).encode())
    assert len(load(p).events) == 1
    p.with_suffix(".json").write_bytes(b"\xef\xbb\xbf" + json.dumps(yaml.safe_load(HEAD + ORDER)).encode())
    assert len(load(p.with_suffix(".json")).events) == 1
    assert "UTF-16" in _bad(tmp_path, (HEAD + ORDER).encode("utf-16"))


def test_nul_and_binary_files_are_refused(tmp_path: Path) -> None:
    _bad(tmp_path, (HEAD + ORDER).encode() + b"\x00")
    _bad(tmp_path, bytes(range(256)) * 10, "b.json")


@pytest.mark.parametrize("name", ["deep.yaml", "deep.json"])
def test_nesting_500_levels_is_refused(tmp_path: Path, name: str) -> None:
    doc = yaml.safe_load(HEAD + ORDER)
    deep: object = 1
    for _ in range(500):
        deep = [deep]
    doc["expect"] = {"decisions": deep}
    err = _bad(tmp_path, json.dumps(doc), name)
    assert "nested" in err and "expect" in err


def test_a_ten_line_alias_bomb_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    from tests.fuzz.mutate import BOMB

    text = HEAD + ORDER + "expect:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())
    tracemalloc.start()
    t0 = time.perf_counter()
    err = _error(text)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "alias" in str(err) and seconds < 2 and peak < 20 * 1024**2
    assert "recursive" not in _bad(tmp_path, "loop: &x [*x]\n" + HEAD + ORDER)


def test_a_few_aliases_are_fine() -> None:
    text = HEAD.replace("events:", "base: &b {account: A1, symbol: XYZ}\nevents:") + ORDER
    assert "unknown top-level field" in str(_error(text))  # read, then refused by the schema, not by the limits
    sc = loads(HEAD + '  - &o {at: "2024-06-03T09:45", type: position, account: A1, symbol: XYZ, qty: 100}\n'
               "  - *o\n")
    assert len(sc.events) == 2


@pytest.mark.parametrize("digits", ["9" * 19, "9" * 4300])
def test_huge_integers_are_bad_input(tmp_path: Path, digits: str) -> None:
    err = _bad(tmp_path, HEAD + ORDER.replace("qty: 100", f"qty: {digits}"))
    assert "events[0] (order)" in err and "field 'qty'" in err and len(err) < 400
    err = _bad(tmp_path, json.dumps(yaml.safe_load(HEAD + ORDER)).replace('"qty": 100', f'"qty": {digits}'),
               "s.json")
    assert "field 'qty'" in err and len(err) < 400


@pytest.mark.parametrize("at", ["0001-01-01T10:00", "9999-12-31T23:59", "9999-12-31T23:59:59-12:00", "2003-12-31",
                                "2031-01-01T09:30", "0001-01-01T00:00+14:00"])
def test_times_outside_the_calendars_are_bad_input(tmp_path: Path, at: str) -> None:
    err = _bad(tmp_path, HEAD + ORDER.replace("2024-06-03T09:45", at))
    assert "events[0] (order)" in err and "field 'at'" in err and "calendars" in err


def test_an_event_type_that_is_not_text(tmp_path: Path) -> None:
    err = _bad(tmp_path, HEAD + ORDER.replace("type: order", "type: []"))
    assert "events[0]" in err and "field 'type'" in err


# -- YAML 1.2 ---------------------------------------------------------------------------------------------


def test_tickers_on_no_yes_stay_tickers() -> None:
    sc = loads(HEAD + "".join(ORDER.replace("O1", f"O{s}").replace("XYZ", s) for s in ("ON", "NO", "YES")))
    assert {"ON", "NO", "YES"} <= set(sc.securities)
    assert [se.event.symbol for se in sc.events] == ["ON", "NO", "YES"]  # type: ignore[union-attr]


@pytest.mark.parametrize("qty", ["0x3e8", "010", "0o17", "1_000", "1:30", "!!int 0x3e8", "!!float 1_0.5"])
def test_yaml_11_number_forms_are_bad_input(tmp_path: Path, qty: str) -> None:
    err = _bad(tmp_path, HEAD + ORDER.replace("qty: 100", f"qty: {qty}"))
    assert "qty" in err or "decimal" in err


def test_yaml_12_numbers_and_booleans_are_read() -> None:
    sc = loads(HEAD + ORDER.replace("qty: 100", "qty: 1e3").replace("side: buy", "side: buy, bona_fide_mm: true"))
    o = sc.events[0].event
    assert o.qty == 1000 and o.bona_fide_mm is True  # type: ignore[union-attr]
    assert "true or false" in str(_error(HEAD + ORDER.replace("side: buy", "side: buy, bona_fide_mm: yes")))


def test_unsafe_and_timestamp_tags_are_refused() -> None:
    assert "tag" in str(_error(HEAD + ORDER.replace('"2024-06-03T09:45"', "!!timestamp 2024-06-03T09:45")))
    assert "YAML" in str(_error(HEAD.replace("events:", "x: !!python/object:os.system {}\nevents:") + ORDER))


# -- times ------------------------------------------------------------------------------------------------


def test_the_spring_forward_hour_does_not_exist() -> None:
    e = _error(HEAD + ORDER.replace("2024-06-03T09:45", "2024-03-10T02:30"))
    assert e.field == "at" and "does not exist" in str(e)


def test_the_fall_back_hour_needs_an_offset() -> None:
    e = _error(HEAD + ORDER.replace("2024-06-03T09:45", "2024-11-03T01:30"))
    assert e.field == "at" and "offset" in str(e)
    first = loads(HEAD + ORDER.replace("2024-06-03T09:45", "2024-11-03T01:30-04:00")).events[0].event.at
    second = loads(HEAD + ORDER.replace("2024-06-03T09:45", "2024-11-03T01:30-05:00")).events[0].event.at
    assert (first.isoformat(), second.isoformat()) == ("2024-11-03T01:30:00-04:00", "2024-11-03T01:30:00-05:00")
    assert second.timestamp() - first.timestamp() == 3600
    assert parse_datetime("2005-10-30T01:30-05:00").utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]


@pytest.mark.parametrize("at", ["2024-06-03 09:45", "20240603T0945", "2024-W23-1", "2024-06-03T09", "3 June 2024",
                                "2024-06-03T09:45:00.1234567", "2024-06-03T09:45+25:00", "2024-06-03t09:45"])
def test_only_documented_time_formats(at: str) -> None:
    assert _error(HEAD + ORDER.replace("2024-06-03T09:45", at)).field == "at"


@pytest.mark.parametrize(("at", "iso"), [
    ("2024-06-03", "2024-06-03T00:00:00-04:00"),
    ("2024-06-03T09:45:30", "2024-06-03T09:45:30-04:00"),
    ("2024-06-03T09:45:30.250", "2024-06-03T09:45:30.250000-04:00"),
    ("2024-06-03T13:45Z", "2024-06-03T09:45:00-04:00"),
    ("2024-06-03T13:45+00:00", "2024-06-03T09:45:00-04:00"),
])
def test_documented_time_formats(at: str, iso: str) -> None:
    assert loads(HEAD + ORDER.replace("2024-06-03T09:45", at)).events[0].event.at.isoformat() == iso


# -- citations --------------------------------------------------------------------------------------------


def test_every_cfr_constant_of_the_law_module_is_a_real_paragraph() -> None:
    for name in dir(citations):
        v = getattr(citations, name)
        if isinstance(v, str) and v.startswith("17 CFR 242.2"):
            assert check_cite(v) is None, v
    assert {"204(a)(1)", "203(b)(3)(vii)", "201(d)(6)(iii)", "204T(b)", "200(g)(1)(ii)"} <= PARAGRAPHS


def test_every_cite_in_the_project_scenarios_is_accepted() -> None:
    files = [*sorted((ROOT / "src" / "regsho" / "examples").glob("*.yaml")),
             *sorted((ROOT / "tests" / "closeout" / "scenarios").glob("*.yaml"))]
    for f in files:
        for c in yaml.safe_load(f.read_text()).get("cite", []):
            assert check_cite(c) is None, (f, c)


@pytest.mark.parametrize("cite", ["17 CFR 242.205(a)", "17 CFR 242.204(h)", "17 CFR 242.203(c)(7)",
                                  "17 CFR 242.203(b)(3)(viii)", "17 CFR 242.201(d)(8)", "my own opinion", "",
                                  "17 CFR 240.10a-1"])
def test_a_citation_must_name_a_real_provision(tmp_path: Path, cite: str) -> None:
    err = _bad(tmp_path, HEAD.replace("version: 1", f"version: 1\ncite: [{json.dumps(cite)}]") + ORDER)
    assert "field 'cite[0]'" in err


# -- messages and exit codes ------------------------------------------------------------------------------


def test_the_offending_value_is_quoted_and_cut(tmp_path: Path) -> None:
    err = _bad(tmp_path, HEAD + ORDER.replace("side: buy", "side: " + "sell_long" * 100))
    assert "events[0] (order): field 'side': 'sell_long" in err and "…" in err and len(err) < 300


def test_json_errors_name_the_event_and_field(tmp_path: Path) -> None:
    doc = yaml.safe_load(HEAD + ORDER * 4)
    for i, e in enumerate(doc["events"]):
        e["id"] = f"O{i}"
    doc["events"][3]["qty"] = "many"
    err = _bad(tmp_path, json.dumps(doc), "s.json")
    assert "events[3] (order): field 'qty': expected a number, got 'many'" in err


def test_json_and_yaml_of_one_document_load_the_same(tmp_path: Path) -> None:
    for f in sorted((ROOT / "src" / "regsho" / "examples").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        j = tmp_path / f"{f.stem}.json"
        j.write_text(json.dumps(doc))
        a, b = load(f), load(j)
        assert a.events == b.events and a.securities == b.securities and a.expect == b.expect
        assert parse_document(doc, str(f)).events == a.events


def test_replay_output_is_the_standard_library_json_byte_for_byte() -> None:
    from regsho.app.replay import replay

    for f in sorted((ROOT / "src" / "regsho" / "examples").glob("*.yaml")):
        d = replay(load(f)).to_json()
        buf = io.StringIO()
        write_json(d, buf)
        assert buf.getvalue() == json.dumps(d, indent=2) + "\n"
    for v in ({"s": "é\u007f\u2028\U0001f4a5\x01\t"}, [], {"big": 10**30, "f": 1.5, "n": None}):
        buf = io.StringIO()
        write_json(v, buf)
        assert buf.getvalue() == json.dumps(v, indent=2) + "\n"


def test_an_internal_error_exits_3_with_the_traceback_in_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import regsho.cli.main as cli

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("engine fault")

    monkeypatch.setattr(cli, "replay", boom)
    code, _out, err = _cli("replay", str(ROOT / "src" / "regsho" / "examples" / "01_locate_desk_day.yaml"))
    assert code == 3 and err.count("\n") == 1 and "Traceback" not in err and "engine fault" in err
    path = Path(err.split("the traceback is in ", 1)[1].rstrip(")\n"))
    assert "Traceback" in path.read_text() and "engine fault" in path.read_text()
    path.unlink()


def test_version_and_exit_codes() -> None:
    from regsho import __version__

    code, out, _ = _cli("--version")
    assert code == 0 and out.strip() == f"regsho {__version__}"
    ok = str(ROOT / "src" / "regsho" / "examples" / "01_locate_desk_day.yaml")
    assert _cli("replay", ok)[0] == 0
    assert _cli("replay", "--check", ok)[0] == 0
    assert _cli("replay", "/nonexistent/file.yaml")[0] == 2


def test_a_file_larger_than_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    from regsho.adapters.limits import MAX_BYTES

    p = tmp_path / "big.yaml"
    with open(p, "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: nothing is written
    code, _, err = _cli("replay", str(p))
    assert code == 2 and "larger than" in err and err.count("\n") == 1
