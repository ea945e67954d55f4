"""A seeded mutation generator for scenario files, and a runner that feeds mutants to the real ``regsho`` command.

    python tests/fuzz/mutate.py --seed 7 --count 2000        # run 2000 mutants in this process, report failures
    python tests/fuzz/mutate.py --seed 7 --only 123 --write x # write mutant 123 of seed 7 to x.* and show it

Mutant ``k`` of seed ``s`` is the same on every run (``random.Random(f"{s}:{k}")``), so any failure is reproduced
from the two numbers. Mutations: fields (deleted, added, set to hostile values), types, event types, order of
events, numbers (hexadecimal, octal, sexagesimal, underscored, 4,300 digits, non-finite), dates and times (year 1,
9999, outside the calendars, spring-forward and fall-back hours, bad formats), nesting (hundreds of levels), YAML
aliases (a billion-laughs bomb, a recursive alias), YAML 1.1 booleans (tickers ON, NO, YES), citations, and bytes
and encodings (bit flips, truncation, NUL, invalid UTF-8, UTF-16, Latin-1, BOM, binary garbage, empty files).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "scenarios"


def corpus() -> list[Path]:
    """The bundled examples, the project's close-out scenarios and, when present, the acceptance scenarios."""
    files = sorted((ROOT / "src" / "regsho" / "examples").glob("*.yaml"))
    files += sorted((ROOT / "tests" / "closeout" / "scenarios").glob("*.yaml"))
    if SHARED.is_dir():
        files += sorted(SHARED.glob("*.yaml"))
    return files


HOSTILE: tuple[Any, ...] = (
    None, True, False, [], {}, [[]], {"a": 1}, 0, -1, -600, 1.5, 1e308, -1e308, 2**63, 2**70, "", " ", "\t",
    "x" * 5000, "0x3e8", "0o17", "010", "1_000", "1:30", "1e3", ".inf", "NaN", "ON", "NO", "YES", "off", "~",
    "2024-03-10T02:30", "2024-11-03T01:30", "0001-01-01", "9999-12-31T23:59", "2031-01-02T10:00",
    "2003-12-31T10:00", "2024-02-30T10:00", "2024-06-03 09:45", "2024-06-03T09:45:00.1234567",
    "2024-06-03T09:45+25:00", "20240603T0945", "2024-W23-1", "\u0000", "\U0001f4a5", "é", "[red]x[/]",
    "line\nbreak", "day", "buy", "sell_short", "17 CFR 242.205(a)", "../../etc/passwd",
)

BOMB = """bomb_a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
bomb_b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
bomb_c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
bomb_d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
bomb_e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
bomb_f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
bomb_g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
bomb_h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
bomb_i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@dataclass(frozen=True)
class Mutant:
    seed: int
    k: int
    source: str
    what: str
    data: bytes
    suffix: str  # ".yaml" or ".json"
    argv_kind: str  # replay | check | explain | demo


def _dump(doc: Any, as_json: bool) -> bytes:
    if not as_json:
        try:
            return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8")
        except RecursionError:  # too deep for the YAML writer: the same document as JSON (also YAML)
            pass
    return json.dumps(doc, ensure_ascii=False, allow_nan=True, default=str).encode("utf-8")


def _events(doc: dict[str, Any]) -> list[Any]:
    evs = doc.get("events")
    return evs if isinstance(evs, list) else []


def _pick_event(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any] | None:
    evs = [e for e in _events(doc) if isinstance(e, dict)]
    return rng.choice(evs) if evs else None


def _nest(v: Any, depth: int, rng: random.Random) -> Any:
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"k": v}
    return v


# -- structured mutations (on the document) ----------------------------------------------------------------


def m_delete_field(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    if e is None or not e:
        doc.pop(rng.choice(list(doc)), None)
        return "delete a top-level field"
    k = rng.choice(list(e))
    del e[k]
    return f"delete event field {k}"


def m_hostile_value(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    if e is None:
        return "no event"
    k = rng.choice(list(e))
    e[k] = copy.deepcopy(rng.choice(HOSTILE))
    return f"event field {k} = {e[k]!r:.40}"


def m_event_type(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    if e is None:
        return "no event"
    e["type"] = rng.choice(["order", "fill", "locate", "cns", "fail", "close_out", "nope", [], 1, None, {"x": 1}])
    return f"type = {e['type']!r}"


def m_unknown_field(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    target = e if e is not None and rng.random() < 0.7 else doc
    target[rng.choice(["colour", "qty2", "<<", "type ", "AT"])] = rng.choice(HOSTILE)
    return "unknown field"


def m_reorder(rng: random.Random, doc: dict[str, Any]) -> str:
    evs = _events(doc)
    if len(evs) < 2:
        return "no reorder"
    if rng.random() < 0.5:
        i, j = rng.sample(range(len(evs)), 2)
        evs[i], evs[j] = evs[j], evs[i]
        return f"swap events {i} and {j}"
    i = rng.randrange(len(evs))
    evs.insert(i, copy.deepcopy(evs[i]))
    return f"duplicate event {i}"


def m_numbers(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    if e is None:
        return "no event"
    k = next((f for f in ("qty", "fail_qty", "price", "nbb") if f in e), "qty")
    e[k] = rng.choice([0, -1, 10**20, 10**4299 if rng.random() < 0.3 else 2**64, 1.0, 1000.0, 10.5, float("inf"),
                       float("nan"), "1000", "0x3e8", True, 1e-300])
    v = e[k]
    return f"number {k} = {v if not isinstance(v, int) or abs(v) < 10**30 else 'a huge integer'}"


def m_dates(rng: random.Random, doc: dict[str, Any]) -> str:
    e = _pick_event(rng, doc)
    if e is None:
        return "no event"
    k = rng.choice([f for f in ("at", "settlement_date", "trade_date", "date", "good_for", "until") if f in e]
                   or ["at"])
    e[k] = rng.choice(["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00+14:00",
                       "2031-01-01", "2003-12-31", "2004-01-01T00:00", "2030-12-31T23:59", "2024-03-10T02:30",
                       "2024-11-03T01:30", "2024-11-03T01:30-04:00", "2024-13-01", "2024-06-31", "24-06-03",
                       "2024-06-03T09:45:00Z", "2024-06-03T09:45:00.5", "2024-06-03t09:45", 20240603,
                       "2024-06-03T24:00"])
    return f"date {k} = {e[k]!r}"


def m_nesting(rng: random.Random, doc: dict[str, Any]) -> str:
    depth = rng.choice([40, 200, 500])
    where = rng.random()
    if where < 0.4:
        doc["expect"] = _nest({"decisions": {}}, depth, rng)
    elif where < 0.7:
        e = _pick_event(rng, doc)
        if e is not None:
            e[rng.choice(list(e))] = _nest(1, depth, rng)
    else:
        doc["securities"] = _nest(doc.get("securities"), depth, rng)
    return f"nest {depth} levels"


def m_top(rng: random.Random, doc: dict[str, Any]) -> str:
    k = rng.choice(["version", "firm", "securities", "accounts", "events", "name", "cite", "expect"])
    doc[k] = rng.choice([None, "1", 2, [], {}, "x", [1, 2], {"id": None}, True])
    return f"top {k} = {doc[k]!r}"


def m_cite(rng: random.Random, doc: dict[str, Any]) -> str:
    doc["cite"] = [rng.choice(["17 CFR 242.205(a)", "17 CFR 242.204(h)", "17 CFR 242.203(b)(3)(viii)",
                               "17 CFR 242.204(a)", "SEC Reg SHO FAQ 4.4", "my own opinion", "", "17 CFR",
                               "17 CFR 242.204T(b)"])]
    return f"cite {doc['cite']!r}"


def m_tickers(rng: random.Random, doc: dict[str, Any]) -> str:
    """A valid mutant: rename a security to a YAML 1.1 boolean word everywhere (it must stay a ticker)."""
    secs = doc.get("securities")
    if not isinstance(secs, dict) or not secs:
        return "no securities"
    old = rng.choice(list(secs))
    new = rng.choice(["ON", "NO", "YES", "OFF", "Y", "N", "TRUE1"])
    if new in secs:
        return "ticker exists"
    secs[new] = secs.pop(old)

    def sub(v: Any) -> Any:
        if isinstance(v, dict):
            return {(new if k == old else k): sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return new if v == old else v

    try:
        doc["events"] = sub(doc.get("events"))
        if isinstance(doc.get("expect"), dict):
            doc["expect"] = sub(doc["expect"])
    except RecursionError:  # nested deeper than this walk goes (m_nesting first): the events keep the old ticker
        return f"ticker {old} -> {new} (declared only: the events are nested too deeply to rewrite)"
    return f"ticker {old} -> {new}"


STRUCTURED: tuple[Callable[[random.Random, dict[str, Any]], str], ...] = (
    m_delete_field, m_hostile_value, m_hostile_value, m_event_type, m_unknown_field, m_reorder, m_numbers,
    m_dates, m_dates, m_nesting, m_top, m_cite, m_tickers,
)


# -- text and byte mutations ------------------------------------------------------------------------------


def t_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    how = rng.random()
    if how < 0.3 and b:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b), "flip bits"
    if how < 0.5 and b:
        return bytes(b[: rng.randrange(len(b))]), "truncate"
    if how < 0.65:
        i = rng.randrange(len(b) + 1)
        return bytes(b[:i]) + rng.choice([b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x1b[31m"]) + bytes(
            b[i:]), "insert bad bytes"
    if how < 0.75:
        return rng.randbytes(rng.choice([0, 1, 100, 5000])), "random bytes"
    if how < 0.85:
        text = data.decode("utf-8", "replace") + "\n# é\n"
        enc = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"])
        return text.encode(enc, "replace"), f"encoding {enc}"
    return b"", "empty file"


def t_yaml_text(rng: random.Random, text: str) -> tuple[str, str]:
    how = rng.random()
    if how < 0.3:
        return BOMB + text, "alias bomb"
    if how < 0.4:
        return "loop: &x [*x]\n" + text, "recursive alias"
    if how < 0.55:
        return text.replace("qty: ", "qty: " + rng.choice(["0x", "0o", "1_", "0", "1:", "-", "+", "~", "!!str ",
                                                           "!!int ", "!!float ", "9" * 4300]), 1), "yaml number forms"
    if how < 0.7:
        d = rng.choice([100, 500, 1200])
        return text + "\nexpect: " + "[" * d + "]" * d + "\n", f"flow nesting {d}"
    if how < 0.8:
        return text.replace("events:", "events: !!python/object:os.system", 1), "unsafe tag"
    if how < 0.9:
        return text.replace("  - {", "  - &e {", 1).replace("\nexpect", "\n  - *e\nexpect", 1), "event alias"
    return "\n".join(" " * (i % 7) + ln for i, ln in enumerate(text.splitlines())), "indentation"


def make(seed: int, k: int, files: list[Path]) -> Mutant:
    rng = random.Random(f"{seed}:{k}")
    src = rng.choice(files)
    raw = src.read_bytes()
    doc = yaml.safe_load(raw)
    as_json = rng.random() < 0.35
    kind = rng.random()
    argv_kind = rng.choices(["replay", "check", "explain", "demo"], [0.75, 0.12, 0.08, 0.05])[0]
    if kind < 0.65:
        what = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            what.append(rng.choice(STRUCTURED)(rng, doc))
        data = _dump(doc, as_json)
        desc = "; ".join(what)
    elif kind < 0.85:
        as_json = False
        text, desc = t_yaml_text(rng, raw.decode("utf-8"))
        data = text.encode("utf-8")
    else:
        data, desc = t_bytes(rng, _dump(doc, as_json) if rng.random() < 0.5 else raw)
    return Mutant(seed, k, src.name, desc, data, ".json" if as_json else ".yaml", argv_kind)


def argv_for(m: Mutant, path: Path) -> list[str]:
    if m.argv_kind == "check":
        return ["replay", "--check", str(path)]
    if m.argv_kind == "explain":
        return ["explain", str(path), "O1"]
    if m.argv_kind == "demo":
        return ["demo", str(path)]
    return ["replay", str(path)]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_in_process(argv: list[str]) -> Outcome:
    """The real entry point (``regsho.cli.main.run``), with standard output and error captured."""
    from regsho.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(argv)
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - t0)


def problems(m: Mutant, path: Path, o: Outcome) -> list[str]:
    """What is wrong with an outcome: only 0, 1 (a valid mutant) and 2 (bad input, one line) are right."""
    bad: list[str] = []
    if o.code not in (0, 1, 2):
        bad.append(f"exit {o.code}")
    if "Traceback" in o.stderr or "Traceback" in o.stdout:
        bad.append("a traceback was printed")
    if o.code == 2:
        lines = o.stderr.splitlines()
        if len(lines) != 1 or not o.stderr.endswith("\n"):
            bad.append(f"{len(lines)} lines on stderr")
        elif str(path) not in lines[0]:
            bad.append("the message does not name the file")
        if m.argv_kind == "replay" and o.stdout:
            bad.append("output printed for bad input")
    return bad


def describe(m: Mutant, path: Path, o: Outcome, bad: list[str]) -> str:
    return (f"seed {m.seed} mutant {m.k} ({m.source}: {m.what}; {m.argv_kind}) -> {', '.join(bad)}: exit "
            f"{o.code}, stderr {o.stderr[:300]!r}; reproduce: python tests/fuzz/mutate.py --seed {m.seed} "
            f"--only {m.k} --write {path.stem}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--only", type=int, default=None)
    ap.add_argument("--write", default="mutant")
    a = ap.parse_args()
    files = corpus()
    if a.only is not None:
        m = make(a.seed, a.only, files)
        path = Path(a.write + m.suffix)
        path.write_bytes(m.data)
        o = run_in_process(argv_for(m, path))
        print(f"{path}: {m.source}: {m.what}; regsho {' '.join(argv_for(m, path))} -> exit {o.code}")
        print(o.stderr, end="")
        return
    import tempfile

    failures = 0
    codes: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.count):
            m = make(a.seed, k, files)
            path = Path(tmp) / f"m{k}{m.suffix}"
            path.write_bytes(m.data)
            o = run_in_process(argv_for(m, path))
            codes[o.code] = codes.get(o.code, 0) + 1
            bad = problems(m, path, o)
            if bad:
                failures += 1
                print(describe(m, path, o, bad))
    print(f"{a.count} mutants, exit codes {dict(sorted(codes.items()))}, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
