"""Input benchmark: ``regsho replay`` of a large JSON scenario end to end, next to the bare JSON parser.

The file (generated from a fixed seed before anything is timed, in docs/scenarios.md format) is one firm's
trading day, 2025-03-12: ``symbols`` securities, 1,500 customer and proprietary accounts, the easy-to-borrow,
hard-to-borrow and threshold lists at 07:00 (refreshed at noon), start-of-day positions, locates granted before
the open and during the day, and from 09:30 to 16:00 in time order, with millisecond times: buys (most filled,
some in parts, some cancelled), long sales within the position, short sales naming a locate or relying on the
easy-to-borrow list, short sales that nothing covers (rejected), fills and cancels. Fills and cancels name only
orders the gate accepts (buys, and short sales against a locate with enough left), so the file is valid input;
an account buys no security it holds a locate in (a buy to cover would free located shares for reuse).

Timed, on the same file in the same run:

- **bare parser**: ``msgspec.json.decode`` of the file's bytes into Python objects (C, no validation): the floor
  for reading the file at all;
- **schema decode**: the same bytes decoded straight into the scenario's msgspec Structs (``regsho.adapters.schema``);
- **end to end**: ``regsho replay FILE > out.json`` as a user runs it, in a subprocess (interpreter start,
  imports, read, validate, replay, write JSON);
- the **stages** in this process: ``load`` (read + validate into domain events), ``replay`` (the engine),
  ``to_json`` and the JSON writer.
"""

from __future__ import annotations

import gc
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import msgspec
from rich.console import Console
from rich.table import Table

DAY: Final = "2025-03-12"
TARGET_EVENTS_PER_S: Final = 100_000.0
ACCOUNTS: Final = 1_500
LOTS: Final = (100, 100, 100, 200, 200, 300, 500, 500, 1000, 1000, 2000)
OPEN_MS: Final = (9 * 3600 + 30 * 60) * 1000
SESSION_MS: Final = 23_400 * 1000


def _t(ms: int) -> str:
    s, milli = divmod(ms, 1000)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{DAY}T{h:02d}:{m:02d}:{sec:02d}.{milli:03d}"


def generate(events: int, symbols: int = 5_000, seed: int = 5) -> tuple[dict[str, Any], Counter[str]]:
    """A valid scenario document of about ``events`` events (see the module docstring)."""
    rng = random.Random(seed)
    syms = [f"S{i:05d}" for i in range(symbols)]
    cum: list[float] = []
    total = 0.0
    for i in range(symbols):
        total += 1.0 / (i + 1) ** 0.8
        cum.append(total)

    def pick() -> str:
        return rng.choices(syms, cum_weights=cum)[0]

    htb = set(rng.sample(syms, symbols // 50))
    threshold = set(rng.sample(syms, symbols // 100))
    etb = [s for s in rng.sample(syms, symbols // 3) if s not in htb]
    accts = [f"A{i:05d}" for i in range(ACCOUNTS)]
    doc: dict[str, Any] = {
        "version": 1,
        "name": f"input benchmark: a trading day of {events:,} events",
        "cite": ["17 CFR 242.203(b)(1)", "17 CFR 242.200(g)"],
        "firm": {"id": "FIRM", "clears_for": ["CORR"]},
        "securities": {s: ({"htb": True} if s in htb else {}) for s in syms},
        "accounts": {a: {"bd": "FIRM" if i % 5 else "CORR", "type": "proprietary" if i % 10 == 0 else "customer"}
                     for i, a in enumerate(accts)},
    }
    ev: list[dict[str, Any]] = []
    mix: Counter[str] = Counter()

    def add(e: dict[str, Any]) -> None:
        ev.append(e)
        mix[e["type"]] += 1

    pre = f"{DAY}T07:00"
    add({"at": pre, "type": "etb_list", "symbols": sorted(etb)})
    add({"at": pre, "type": "htb_list", "symbols": sorted(htb)})
    add({"at": pre, "type": "threshold_list", "symbols": sorted(threshold)})
    position: dict[tuple[str, str], int] = {}
    for _ in range(events // 50):
        a, s = rng.choice(accts), pick()
        q = rng.choice(LOTS) * rng.randint(1, 20)
        position[(a, s)] = q
        add({"at": f"{DAY}T07:30", "type": "position", "account": a, "symbol": s, "qty": q})
    locates: dict[str, list[Any]] = {}  # id -> [account, symbol, left]
    by_account: dict[str, list[str]] = {}
    located: set[tuple[str, str]] = set()  # an unnamed short sale would take these accounts' locates
    bought: set[tuple[str, str]] = set()
    n_loc = 0

    def grant(at: str) -> None:
        nonlocal n_loc
        n_loc += 1
        lid = f"L{n_loc:07d}"
        a, s = rng.choice(accts), pick()
        while (a, s) in bought:
            a, s = rng.choice(accts), pick()
        q = rng.choice((1000, 2000, 5000, 10_000))
        locates[lid] = [a, s, q]
        by_account.setdefault(a, []).append(lid)
        located.add((a, s))
        add({"at": at, "type": "locate", "id": lid, "account": a, "symbol": s, "qty": q, "source": "PB1"})

    for _ in range(events // 25):
        grant(f"{DAY}T08:00")
    open_orders: list[tuple[str, int, str | None]] = []  # accepted, fillable: id, qty left, locate
    n_ord = 0
    ms = OPEN_MS
    step = max(1, SESSION_MS // max(1, events))
    refreshed = False
    while len(ev) < events:
        ms += rng.randint(0, 2 * step)
        ms = min(ms, OPEN_MS + SESSION_MS - 1)
        at = _t(ms)
        if not refreshed and ms >= 12 * 3600 * 1000:
            refreshed = True
            add({"at": at, "type": "etb_list", "symbols": sorted(etb)})
            add({"at": at, "type": "threshold_list", "symbols": sorted(threshold)})
            continue
        r = rng.random()
        if r < 0.02:
            grant(at)
        elif r < 0.30 and open_orders:
            k = rng.randrange(len(open_orders))
            oid, left, lid = open_orders[k]
            if rng.random() < 0.15:
                add({"at": at, "type": "cancel", "order": oid})
                if lid is not None:
                    locates[lid][2] += left
                open_orders[k] = open_orders[-1]
                open_orders.pop()
                continue
            q = left if rng.random() < 0.7 else max(1, left // 2)
            add({"at": at, "type": "fill", "order": oid, "qty": q, "price": f"{rng.uniform(5, 500):.2f}"})
            if q == left:
                open_orders[k] = open_orders[-1]
                open_orders.pop()
            else:
                open_orders[k] = (oid, left - q, lid)
        else:
            n_ord += 1
            oid = f"O{n_ord:07d}"
            a, s = rng.choice(accts), pick()
            q = rng.choice(LOTS)
            price = f"{rng.uniform(5, 500):.2f}"
            kind = rng.random()
            order: dict[str, Any] = {"at": at, "type": "order", "id": oid, "account": a, "symbol": s}
            if kind < 0.50 and (a, s) not in located:  # (a buy to cover would free located shares for reuse)
                order.update(side="buy", qty=q, price=price)
                open_orders.append((oid, q, None))
                bought.add((a, s))
            elif kind < 0.50:
                order.update(side="sell", qty=q, price=price)
            elif kind < 0.65:
                held = position.get((a, s), 0)
                order.update(side="sell", qty=q if held <= 0 else min(q, held), price=price)
            elif kind < 0.85 and by_account.get(a):
                lid = rng.choice(by_account[a])
                la, ls, left = locates[lid]
                order.update(account=la, symbol=ls, side="sell_short", qty=q, price=price, locate=lid)
                if left >= q:
                    locates[lid][2] -= q
                    open_orders.append((oid, q, lid))
            elif kind < 0.95 and (a, e_sym := rng.choice(etb)) not in located:
                order.update(symbol=e_sym, side="sell_short", qty=q, price=price)
            elif (a, s) not in located:
                order.update(side="sell_short", qty=q)
            else:
                order.update(side="sell", qty=q)
            add(order)
    return doc | {"events": ev}, mix


def write_scenario(path: Path, events: int, symbols: int, seed: int) -> Counter[str]:
    doc, mix = generate(events, symbols, seed)
    path.write_bytes(msgspec.json.encode(doc))
    return mix


_CPU: dict[str, float] = {}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(f: Any, label: str, children: bool = False) -> tuple[float, Any]:
    """Wall seconds of ``f()``; its CPU seconds (this process's, or its children's) go to ``_CPU[label]``."""
    gc.collect()
    c0 = _children_cpu() if children else time.process_time()
    t0 = time.perf_counter()
    out = f()
    wall = time.perf_counter() - t0
    _CPU[label] = (_children_cpu() if children else time.process_time()) - c0
    return wall, out


def _parsers(path: Path) -> tuple[float, float]:
    """Seconds for the bare parser and for the schema decode of the file's bytes (read once, not timed)."""
    data = path.read_bytes()
    t_bare, _ = _timed(lambda: msgspec.json.decode(data), "bare")
    from regsho.adapters.schema import JSON_DECODER

    t_schema, _ = _timed(lambda: JSON_DECODER.decode(data), "schema")
    return t_bare, t_schema


def run(events: int, symbols: int, seed: int, console: Console, keep: Path | None = None) -> dict[str, float]:
    from regsho.adapters.output import bulk, write_json
    from regsho.adapters.scenario import load
    from regsho.app.replay import replay

    with tempfile.TemporaryDirectory(prefix="regsho-bench-input-") as tmp:
        path = (keep or Path(tmp)) / "day.json"
        t0 = time.perf_counter()
        mix = write_scenario(path, events, symbols, seed)
        t_gen = time.perf_counter() - t0
        size = path.stat().st_size
        n = sum(mix.values())
        t_bare, t_schema = _parsers(path)

        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-c", "from regsho.cli.main import main; main()", "replay", str(path)]
        with open(out, "wb") as f:
            t_e2e, proc = _timed(lambda: subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, check=False), "e2e",
                                 children=True)
        if proc.returncode != 0:
            raise RuntimeError(f"regsho replay exited {proc.returncode}: {proc.stderr.decode()[:500]}")
        out_size = out.stat().st_size

        with bulk():  # as the command does: no cyclic garbage collection while reading, replaying and writing
            t_load, sc = _timed(lambda: load(path), "load")
            t_replay, result = _timed(lambda: replay(sc), "replay")
            t_tojson, doc = _timed(result.to_json, "to_json")
            with open(os.devnull, "w") as sink:
                t_write, _ = _timed(lambda: write_json(doc, sink), "write")
        decisions = len(result.decisions)
        accepted = sum(1 for d in result.decisions if d.accepted)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    fig = {
        "events": float(n), "file_mb": size / 1e6, "bare_parser_events_per_s": n / t_bare,
        "schema_decode_events_per_s": n / t_schema, "end_to_end_events_per_s": n / t_e2e,
        "end_to_end_seconds": t_e2e, "load_seconds": t_load, "replay_seconds": t_replay,
        "to_json_seconds": t_tojson, "write_seconds": t_write,
    }
    t = Table(title=f"input: regsho replay of a {n:,}-event JSON scenario ({size / 1e6:,.0f} MB), seed {seed}",
              title_justify="left")
    t.add_column("measure")
    t.add_column("wall s", justify="right")
    t.add_column("events/s", justify="right")
    t.add_column("vs bare parser", justify="right")
    t.add_column("CPU s", justify="right")
    t.add_column("events/CPU-s", justify="right")

    def row(label: str, secs: float, key: str) -> None:
        cpu = _CPU[key]
        t.add_row(label, f"{secs:.2f}", f"{n / secs:,.0f}", f"{t_bare / secs:.3f}", f"{cpu:.2f}",
                  f"{n / cpu:,.0f}" if cpu else "-")
        fig[f"{key}_cpu_seconds"] = cpu

    row("bare parser (msgspec.json.decode, no schema)", t_bare, "bare")
    row("schema decode (bytes -> msgspec Structs)", t_schema, "schema")
    row("end to end: regsho replay FILE > out.json", t_e2e, "e2e")
    row("  load: read + validate into domain events", t_load, "load")
    row("  replay (engine)", t_replay, "replay")
    row("  to_json (engine result to JSON-ready dicts)", t_tojson, "to_json")
    row("  write JSON (orjson)", t_write, "write")
    console.print(t)
    console.print("mix: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mix.items())), highlight=False)
    console.print(f"decisions {decisions:,} ({accepted:,} accepted); output {out_size / 1e6:,.0f} MB; generation "
                  f"{t_gen:.1f} s (not timed); peak RSS {rss:,.0f} MiB here, {child_rss:,.0f} MiB in the "
                  f"replay subprocess", highlight=False)
    load_avg = os.getloadavg()[0]
    console.print(f"machine: {os.cpu_count()} cores, load average {load_avg:.1f} at the end (wall figures are "
                  f"stretched when other work shares the cores; CPU seconds much less)", highlight=False)
    ok = fig["end_to_end_events_per_s"] >= TARGET_EVENTS_PER_S
    console.print(f"target >= {TARGET_EVENTS_PER_S:,.0f} events/s end to end: "
                  f"{'met' if ok else 'NOT met'} ({fig['end_to_end_events_per_s']:,.0f})", highlight=False)
    return fig
