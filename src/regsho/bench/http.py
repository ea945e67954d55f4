"""Benchmark: ``POST /v1/orders/check`` over HTTP on loopback (``regsho bench http``).

The server is ``regsho serve`` in its own process (one worker, SQLite with full sync, so every answer is
durable); this process is the load: keep-alive HTTP/1.1 connections written and read with asyncio (uvloop)
protocols, each request's bytes built before timing. Two measurements per endpoint, the empty route of the same
server as the baseline in the same run:

- capacity: every connection sends its next request as soon as the previous one is answered (requests/s);
- latency at a fixed arrival rate (open loop): request *i* is due at ``t0 + i / rate`` and its latency is counted
  from when it was due, so a stalled server is charged for the requests it held up (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SYMBOLS = 200
ACCOUNTS = 50


@dataclass
class Stats:
    label: str
    mode: str
    target: float | None
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies: list[float]
    #: the server process's processor time (all its threads) over the run, seconds
    server_cpu: float = float("nan")

    @property
    def cpu_us(self) -> float:
        """Server processor time per answered request, microseconds: on a shared machine, where requests/s move
        with what else runs, the cost of a request to the server itself."""
        return self.server_cpu / self.ok * 1e6 if self.ok else float("nan")

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000.0


class _Conn(asyncio.Protocol):
    def __init__(self, on_response: Callable[[_Conn, int], None]) -> None:
        self.buf = bytearray()
        self.on_response = on_response
        self.transport: asyncio.Transport | None = None
        self.sched = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                return
            head = bytes(buf[:i]).lower()
            j = head.find(b"content-length:")
            cl = int(head[j + 15:head.find(b"\r\n", j) if head.find(b"\r\n", j) > 0 else None]) if j >= 0 else 0
            total = i + 4 + cl
            if len(buf) < total:
                return
            status = int(head[9:12])
            del buf[:total]
            self.on_response(self, status)

    def send(self, data: bytes, sched: float) -> None:
        self.sched = sched
        assert self.transport is not None
        self.transport.write(data)


async def _drive(host: str, port: int, make: Callable[[int], bytes], label: str, seconds: float,
                 connections: int, rate: float | None) -> Stats:
    loop = asyncio.get_running_loop()
    lat: list[float] = []
    counts = {"ok": 0, "err": 0, "sent": 0}
    idle: deque[_Conn] = deque()
    backlog: deque[float] = deque()
    n = 0
    closed_loop = rate is None
    stop_at = [0.0]
    clock = time.perf_counter

    def issue(c: _Conn, sched: float) -> None:
        nonlocal n
        c.send(make(n), sched)
        n += 1
        counts["sent"] += 1

    def on_response(c: _Conn, status: int) -> None:
        now = clock()
        lat.append(now - c.sched)
        if 200 <= status < 300:
            counts["ok"] += 1
        else:
            counts["err"] += 1
        if closed_loop:
            if now < stop_at[0]:
                issue(c, now)
            return
        if backlog:
            issue(c, backlog.popleft())
        else:
            idle.append(c)

    conns = []
    for _ in range(connections):
        _, proto = await loop.create_connection(lambda: _Conn(on_response), host, port)
        sock = proto.transport.get_extra_info("socket") if proto.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append(proto)
    start = clock() + 0.01
    stop_at[0] = start + seconds
    if closed_loop:
        while clock() < start:
            await asyncio.sleep(0)
        for c in conns:
            issue(c, clock())
        await asyncio.sleep(seconds)
    else:
        assert rate is not None
        idle.extend(conns)
        total = int(rate * seconds)
        i = 0
        while i < total:
            now = clock()
            due = min(total, int((now - start) * rate) + 1) if now >= start else 0
            while i < due:
                sched = start + i / rate
                if idle:
                    issue(idle.popleft(), sched)
                else:
                    backlog.append(sched)
                i += 1
            nxt = start + i / rate
            wait = nxt - clock()
            await asyncio.sleep(wait - 0.0005 if wait > 0.001 else 0)
    deadline = clock() + 10.0
    while counts["ok"] + counts["err"] < counts["sent"] and clock() < deadline:
        await asyncio.sleep(0.001)
    elapsed = (max(clock(), stop_at[0]) - start) if closed_loop else (clock() - start)
    if closed_loop:
        elapsed = seconds
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return Stats(label, "capacity" if closed_loop else "fixed rate", rate, counts["sent"], counts["ok"],
                 counts["err"], elapsed, lat)


def _process_cpu(pid: int) -> Callable[[], float]:
    """The processor time (user and system, all threads) process ``pid`` has used so far, in seconds, read from
    ``/proc`` (NaN where there is none)."""
    path = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def read() -> float:
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)

    return read


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, body: Any = None, key: str | None = None, idem: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("X-API-Key", key)
    if idem:
        req.add_header("Idempotency-Key", idem)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _prepare(db: str) -> dict[str, str]:
    """A book of 200 securities and 50 accounts, a trader and a locate desk key."""
    from regsho.store import Store
    from regsho.store.keys import add_key

    st = Store(db)
    st.migrate()
    header = {"version": 1, "name": "bench", "firm": {"id": "BENCH"},
              "securities": {f"S{i:03d}": {"shares_outstanding": 10_000_000} for i in range(SYMBOLS)},
              "accounts": {f"A{i:02d}": {"bd": "BENCH", "type": "customer"} for i in range(ACCOUNTS)}}
    st.import_document({**header, "events": []}, "bench header", "BENCH", by="bench")
    keys = {"trader": add_key(st, "bench-trader", "trader", "bench")[1],
            "desk": add_key(st, "bench-desk", "locate_desk", "bench")[1]}
    st.close()
    return keys


def _start_server(db: str, port: int, profile: Path | None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "regsho.cli.main", "serve", "--db", db, "--port", str(port), "--snapshot-every", "10000000",
            "--snapshot-seconds", "100000"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"the server exited: {err[-500:]}")
        with contextlib.suppress(OSError, ValueError):
            if _http("GET", base + "/ready").get("ready"):
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not get ready")


def run(rate: float, seconds: float, connections: int, console: Console, db: str | None = None,
        profile: Path | None = None, seed: int = 3) -> list[Stats]:
    tmp = tempfile.mkdtemp(prefix="regsho-bench-http-")
    db = db or str(Path(tmp) / "bench.sqlite")
    keys = _prepare(db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start_server(db, port, profile)
    try:
        _wait_ready(base, proc)
        now = dt.datetime.now(dt.UTC).isoformat()
        _http("POST", base + "/v1/lists/threshold", {"symbols": [], "at": now}, keys["desk"], "t")
        _http("POST", base + "/v1/lists/htb", {"symbols": [], "at": now}, keys["desk"], "h")
        for a in range(ACCOUNTS):
            for s in range(0, SYMBOLS, 10):
                _http("POST", base + "/v1/locates", {"id": f"L{a}-{s}", "account": f"A{a:02d}",
                                                     "symbol": f"S{s:03d}", "qty": 1_000_000_000},
                      keys["desk"], f"l{a}-{s}")
        rng = random.Random(seed)
        key = keys["trader"]
        run_id = os.getpid()
        head = (f"POST /v1/orders/check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
                f"Content-Type: application/json\r\n").encode()
        picks = [(rng.randrange(ACCOUNTS), rng.randrange(0, SYMBOLS, 10), rng.random() < 0.7) for _ in range(4096)]
        phase = [0]

        def check(i: int) -> bytes:
            a, s, short = picks[i & 4095]
            body = (f'{{"id":"O{phase[0]}-{i}","account":"A{a:02d}","symbol":"S{s:03d}",'
                    f'"side":"{"sell_short" if short else "buy"}","qty":100,"price":"10.05"}}').encode()
            return (head + b"Idempotency-Key: " + f"{run_id}-{phase[0]}-{i}".encode() + b"\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body)

        empty_req = b"GET /v1/empty HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

        def empty(i: int) -> bytes:
            return empty_req

        results: list[Stats] = []

        loop_cpu = _process_cpu(proc.pid)

        async def go() -> None:
            for label, make, r in (("empty", empty, None), ("check", check, None),
                                   ("empty", empty, rate), ("check", check, rate)):
                phase[0] += 1
                await _drive("127.0.0.1", port, make, label, 1.0, connections, r)  # warm-up
                phase[0] += 1
                c0 = loop_cpu()
                s = await _drive("127.0.0.1", port, make, label, seconds, connections, r)
                s.server_cpu = loop_cpu() - c0
                results.append(s)

        try:
            import uvloop

            uvloop.run(go())
        except ImportError:
            asyncio.run(go())
        info = _http("GET", base + "/ready")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    _render(results, info, rate, console)
    return results


def _render(results: list[Stats], info: dict[str, Any], rate: float, console: Console) -> None:
    t = Table(title="regsho bench http: POST /v1/orders/check next to GET /v1/empty, same server, same run",
              title_justify="left")
    for col in ("endpoint", "load", "requests/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "server cpu us/req"):
        t.add_column(col, justify="right" if col not in ("endpoint", "load") else "left")
    for s in results:
        load = "capacity (closed loop)" if s.target is None else f"fixed {s.target:,.0f}/s (open loop)"
        t.add_row(s.label, load, f"{s.rate:,.0f}", f"{s.pct(0.5):.2f}", f"{s.pct(0.99):.2f}",
                  f"{s.pct(0.999):.2f}", str(s.errors), f"{s.cpu_us:,.0f}")
    console.print(t)
    cap = {s.label: s for s in results if s.target is None}
    fixed = {s.label: s for s in results if s.target is not None}
    ratio = cap["check"].rate / cap["empty"].rate if cap["empty"].rate else float("nan")
    console.print(f"durable checks/s (capacity): {cap['check'].rate:,.0f}  (target >= 20,000)")
    console.print(f"check / empty capacity: {ratio:.0%}  (target >= 60%)")
    cpu_ratio = cap["empty"].cpu_us / cap["check"].cpu_us if cap["check"].cpu_us else float("nan")
    console.print(f"server processor time a request (capacity runs): empty {cap['empty'].cpu_us:,.0f} us, check "
                  f"{cap['check'].cpu_us:,.0f} us: the check costs the server {1 / cpu_ratio:.1f}x the empty "
                  f"route, so a server bound by its own processor serves checks at about {cpu_ratio:.0%} of the "
                  f"empty route's rate")
    console.print(f"check p99 at {rate:,.0f}/s: {fixed['check'].pct(0.99):.2f} ms  (target <= 2 ms at half of "
                  f"20,000/s)")
    books = info.get("books", {})
    for name, b in books.items():
        console.print(f"book {name}: {b.get('events')} events, {b.get('batches')} commits, "
                      f"{b.get('records')} records written by the live writer; processor time applying events "
                      f"{b.get('apply_cpu_seconds')} s (event loop), writing batches {b.get('write_cpu_seconds')} s "
                      f"(store thread)")
        commits, wall = b.get("batches") or 0, b.get("write_seconds")
        if commits and wall is not None:
            console.print(f"book {name}: a commit took {wall / commits * 1000:.2f} ms of wall time on average "
                          f"({b.get('write_cpu_seconds', 0) / commits * 1000:.2f} ms of processor time), "
                          f"{b.get('records', 0) / commits:.1f} records a commit")
    console.print(f"server process: {info.get('process_cpu_seconds')} s of processor time in all")
