"""The live book: one writer per book keeps the engine's state in memory and makes every input event and every
decision durable before anyone is answered.

Requests are queued to the book's writer task. The writer takes everything queued, applies each event to the
engine in arrival order, appends all their records (and the answers kept for their idempotency keys) to the store
in one transaction, and only then answers them: group commit. While one batch commits, the next one queues. If the
commit fails, nobody of the batch is told anything was recorded, the book stops taking writes (it fails closed)
and reloads its state from the store — the only state that was ever acknowledged.

A restart loads the latest engine snapshot (kept in the store, tied to the seq and hash of the last record it
includes, checked against the chain and its own digest) and replays only the records after it.

A correction or cancellation of a recorded event (``amend``) is taken by the writer alone: the batch before it
lands, the store validates and replays the book with the amend and appends its record (with the answer kept for
its idempotency key) in one transaction, the book's state becomes that replay, and a snapshot is taken at the
amend record so that the next start does not replay the book again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import logging
import pickle
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from regsho import __version__
from regsho.adapters import results_json as rj
from regsho.adapters import schema as sch
from regsho.adapters.scenario import EventReader, Scenario, ScenarioError
from regsho.adapters.scenario_dump import dump_event, event_type
from regsho.app.access import Principal, Role
from regsho.app.replay import ReplayResult, book_of, replay
from regsho.app.views import BookView
from regsho.calendars import ET, CalendarRangeError
from regsho.core import events as ev
from regsho.core.records import Effects
from regsho.engine.book import BookEngine
from regsho.engine.errors import EngineInputError
from regsho.engine.gate import GateError
from regsho.engine.ledger import Ledger
from regsho.law.params import RegimeError
from regsho.store import Store, StoreError
from regsho.store.chain import Point
from regsho.store.live import Answer, LiveLog, Record, body_json, now_utc, requests
from regsho.store.log import AmendRefused
from regsho.store.schema import log as log_table

log = logging.getLogger("regsho.service")

#: Snapshots are taken by, and only restored into, the same engine (pickled state).
SNAPSHOT_VERSION = f"regsho {__version__} state 4"


class Refused(Exception):
    """A request answered without writing anything: an HTTP status and a JSON body."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = orjson.dumps({"error": error, **extra})


@dataclass
class State:
    """What a book is in memory, and what a snapshot holds."""

    engine: BookEngine
    ledger: Ledger
    reader: EventReader
    #: order id -> who submitted it
    submitted: dict[str, str] = field(default_factory=dict)
    #: order id -> the override record (requested and approved)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: locate request id -> the request
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: int = 0


@dataclass(slots=True)
class Item:
    """One queued write. ``op`` is ``event`` (``payload`` an event struct or mapping in scenario form),
    ``override``, ``approve``, ``request`` or ``amend`` (a mapping: ``seq``, ``event`` or None for a
    cancellation, ``why``)."""

    op: str
    payload: Any
    principal: Principal
    key: str
    fingerprint: str
    future: asyncio.Future[tuple[int, bytes]]
    source: str = ""


def _ledger_copy(led: Ledger) -> Ledger:
    out = Ledger()
    out.decisions = list(led.decisions)
    out._obligations = dict(led._obligations)
    out._periods = dict(led._periods)
    out.notices = list(led.notices)
    out.findings = list(led.findings)
    out._by_order = dict(led._by_order)
    return out


#: who records what the service itself decides (its gate settings)
SERVICE = Principal("regsho serve", Role.ADMIN)


def who(p: Principal) -> str:
    return f"{p.name} ({p.role.value})"


def _source(p: Principal, key: str) -> str:
    return f"api {p.name} ({p.role.value}) key {key}"


def _submitter(source: str) -> str:
    """Who a record's source names (``api NAME (ROLE) key K``), or the source itself for imported records."""
    if source.startswith("api ") and " key " in source:
        return source[4:source.rindex(" key ")]
    return source


def locate_json(x: Any) -> dict[str, Any]:
    """A locate's usage (``engine.snapshot.LocateState``): granted, left (``fresh + freed``), consumed by short
    sales, freed by buys-to-cover, returned to the locate desk (``released``), and its status."""
    return {"id": x.id, "account": x.account, "symbol": x.symbol, "qty": x.qty, "granted_at": x.granted_at.isoformat(),
            "good_until": x.good_until.isoformat(), "day": x.day, "source": x.source, "fresh": x.fresh,
            "freed": x.freed, "consumed": x.consumed, "executed": x.executed, "released": x.released,
            "left": x.fresh + x.freed, "status": x.status.value}


def effects_json(fx: Effects) -> dict[str, Any]:
    return {"obligations": [rj.obligation_json(o) for o in fx.obligations],
            "pre_borrow": [rj.period_json(p) for p in fx.periods],
            "notices": [rj.notice_json(n) for n in fx.notices],
            "findings": [rj.finding_json(f) for f in fx.findings]}


# -- loading a book ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    state: State
    point: Point
    how: str
    replayed: int
    seconds: float
    #: processor time of the load (the process's own work, whatever else the machine is doing)
    cpu_seconds: float = 0.0


def _unpickle(data: bytes) -> Any:
    """Unpickle with the cyclic garbage collector paused: a book's state is hundreds of thousands of small
    objects, and collections triggered while they are made cost more than making them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if enabled:
            gc.enable()


def _pickle(obj: object) -> bytes:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        if enabled:
            gc.enable()


def freeze_heap() -> None:
    """Collect the collector's young generations (their garbage cycles go now) and move every object that
    survived them into its permanent generation, which no collection walks again.

    What a live book keeps (its decisions, locates, the answers to idempotency keys) lives as long as the process.
    Left in the oldest generation, it is walked again by every full collection, which Python starts each time the
    objects that survived since the last one reach a quarter of those that survived it: a cost that grows with the
    book, paid on the event loop. Frozen objects are still freed by reference counting as usual; only a reference
    cycle that becomes garbage after it was frozen would stay."""
    gc.collect(1)
    gc.freeze()


def _apply_row(st: State, r: Any) -> None:
    """Bring ``st`` forward by one stored record (an event, an override, a locate request)."""
    if r.kind == "event":
        body = orjson.loads(r.body)
        e = st.reader.read(body, f"record {r.seq}")
        fx = st.engine.apply(e)
        if fx:
            st.ledger.absorb(fx)
        st.events += 1
        if isinstance(e, ev.Order):
            st.submitted[e.id] = _submitter(r.source)
    elif r.kind == "override":
        body = orjson.loads(r.body)
        _override_row(st, r.type, body)
    elif r.kind == "request":
        body = orjson.loads(r.body)
        st.requests[body["id"]] = body


def _override_row(st: State, type_: str, body: dict[str, Any]) -> None:
    if type_ == "requested":
        st.overrides[body["order"]] = {"order": body["order"], "status": "requested", "reason": body["reason"],
                                       "requested_by": body["by"], "requested_at": body["at"],
                                       "approved_by": None, "approved_at": None}
    elif type_ == "approved":
        o = st.overrides[body["order"]]
        o.update(status="approved", approved_by=body["by"], approved_at=body["at"])


def load_book(store: Store, live: LiveLog, name: str) -> Loaded:
    """The book's state as of the store's tail: the latest snapshot that holds plus the records after it, or a
    replay of the whole book when there is none (or the book was amended since)."""
    t0, c0 = time.perf_counter(), time.process_time()
    tail = live.verified_tail()
    snap, why = live.latest_snapshot(name, SNAPSHOT_VERSION)
    rows: list[Any] = []
    if snap is not None:
        rows = live.rows_after(name, snap.seq)
        if any(r.kind in ("amend", "header") for r in rows):
            snap, why = None, "the book was amended or its header changed after the snapshot"
    if snap is not None:
        state = _unpickle(snap.state)  # the service's own snapshot, digest and chain point checked
        if not isinstance(state, State):
            raise StoreError(f"snapshot of book {name} at record {snap.seq} is not a live book's state")
        for r in rows:
            _apply_row(state, r)
        return Loaded(state, tail, f"snapshot at record {snap.seq}", len(rows), time.perf_counter() - t0,
                      time.process_time() - c0)
    sc = store.load_book(name)
    engine = BookEngine(book_of(sc))  # the settings in force are the book's own gate_settings events
    result = replay(sc, engine=engine, finish=False)
    state = State(engine, result.ledger, EventReader(sc), events=len(sc.events))
    with store._reading() as conn:
        _side_tables(state, conn, name)
    return Loaded(state, tail, f"full replay ({why})", len(sc.events), time.perf_counter() - t0,
                  time.process_time() - c0)


def _side_tables(st: State, conn: sa.Connection, name: str) -> None:
    """Who submitted each order, the overrides and the locate requests, from the book's records (read on
    ``conn``). An order corrected by an amend keeps the submitter of the order it corrects."""
    q = (sa.select(log_table.c.seq, log_table.c.kind, log_table.c.type, log_table.c.source, log_table.c.body)
         .where(log_table.c.book == name).where(log_table.c.kind.in_(("event", "override", "request", "amend")))
         .order_by(log_table.c.seq))
    order_by: dict[int, str] = {}
    for r in conn.execute(q.execution_options(yield_per=5000)):
        if r.kind == "event":
            if r.type == "order":
                sub = _submitter(r.source)
                order_by[r.seq] = sub
                st.submitted[orjson.loads(r.body)["id"]] = sub
        elif r.kind == "amend":
            if r.type == "correct":
                body = orjson.loads(r.body)
                e = body.get("event") or {}
                was = order_by.get(body["target"]["seq"])
                if was is not None and e.get("type") == "order":
                    st.submitted[e["id"]] = was
        elif r.kind == "override":
            _override_row(st, r.type, orjson.loads(r.body))
        elif r.kind == "request":
            body = orjson.loads(r.body)
            st.requests[body["id"]] = body


def _amends_of(conn: sa.Connection, name: str, seq: int) -> list[tuple[int, str, dict[str, Any]]]:
    """The amend records of book ``name`` that target record ``seq``: (seq, void|correct, body), in order."""
    q = (sa.select(log_table.c.seq, log_table.c.type, log_table.c.body).where(log_table.c.book == name)
         .where(log_table.c.kind == "amend").where(log_table.c.body.contains(f'"seq":{seq}'))
         .order_by(log_table.c.seq))
    out = []
    for r in conn.execute(q):
        body = orjson.loads(r.body)
        if body.get("target", {}).get("seq") == seq:
            out.append((int(r.seq), str(r.type), body))
    return out


def record_json(store: Store, name: str, seq: int) -> dict[str, Any] | None:
    """Record ``seq`` of book ``name`` as recorded, and for an event what happened to it since: its status (in
    force, corrected, voided), the amends (seq, who, why) and the event in force now. None if the book has no
    such record."""
    with store._reading() as conn:
        r = conn.execute(sa.select(log_table).where(log_table.c.seq == seq)).first()
        if r is None or r.book != name:
            return None
        out: dict[str, Any] = {"book": name, "seq": int(r.seq), "kind": r.kind, "type": r.type,
                               "event_time": r.event_time, "recorded_at": r.recorded_at, "source": r.source,
                               "hash": r.hash, "body": orjson.loads(r.body)}
        if r.kind != "event":
            return out
        amends = _amends_of(conn, name, seq)
    current: dict[str, Any] | None = out["body"]
    for _, kind, body in amends:
        current = None if kind == "void" else body["event"]
    out["status"] = ("voided" if current is None else "corrected" if amends else "in force")
    out["amends"] = [{"seq": s, "action": k, "by": b.get("by"), "why": b.get("why")} for s, k, b in amends]
    out["in_force"] = current
    return out


def order_records(store: Store, name: str, order: str) -> list[dict[str, Any]]:
    """The event records of book ``name`` about order ``order`` (the order itself, its fills and cancels) with
    their seqs and status: what a correction or cancellation names."""
    with store._reading() as conn:
        q = (sa.select(log_table.c.seq, log_table.c.type, log_table.c.body).where(log_table.c.book == name)
             .where(log_table.c.kind == "event").where(log_table.c.type.in_(("order", "fill", "cancel")))
             .where(log_table.c.body.contains(orjson.dumps(order).decode("utf-8"))).order_by(log_table.c.seq))
        seqs = []
        for r in conn.execute(q):
            body = orjson.loads(r.body)
            if (body.get("id") if r.type == "order" else body.get("order")) == order:
                seqs.append(int(r.seq))
    return [x for x in (record_json(store, name, s) for s in seqs) if x is not None]


def _patched(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The corrected event: the event in force with the fields ``patch`` gives (a null removes one)."""
    out = dict(original)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _replay_live(sc: Scenario) -> ReplayResult:
    """A book replayed as the live writer keeps it: its own engine, the end of the replay not settled."""
    return replay(sc, engine=BookEngine(book_of(sc)), finish=False)


def _keyed(items: Any, key: Callable[[Any], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for x in items:
        out.setdefault(key(x), x)
    return out


def _diff_ids(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    return {"changed": [k for k, v in new.items() if k in old and old[k] != v],
            "added": [k for k in new if k not in old], "removed": [k for k in old if k not in new]}


def _diff_counts(old: list[Any], new: list[Any], dump: Callable[[Any], dict[str, Any]]) -> dict[str, int]:
    a = Counter(orjson.dumps(dump(x), option=orjson.OPT_SORT_KEYS) for x in old)
    b = Counter(orjson.dumps(dump(x), option=orjson.OPT_SORT_KEYS) for x in new)
    return {"added": sum((b - a).values()), "removed": sum((a - b).values())}


def book_changes(old: State, new: State) -> dict[str, Any]:
    """What an amend changed in the book's effects: decisions (by order id) that now differ in any part, were
    added or are gone, and those whose outcome (accept or reject) changed; obligations and pre-borrow periods
    (by id); notices and findings (counts); locates whose usage differs."""
    def order_of(d: Any) -> str:
        return str(d.order)

    def id_of(x: Any) -> str:
        return str(x.id)

    ol, nl = old.ledger, new.ledger
    od, nd = _keyed(ol.decisions, order_of), _keyed(nl.decisions, order_of)
    decisions: dict[str, Any] = _diff_ids(od, nd)
    decisions["outcome_changed"] = [{"order": k, "was": od[k].action, "now": nd[k].action}
                                    for k in decisions["changed"] if od[k].action != nd[k].action]
    obligations = _diff_ids(_keyed(ol.obligations, id_of), _keyed(nl.obligations, id_of))
    periods = _diff_ids(_keyed(ol.periods, id_of), _keyed(nl.periods, id_of))
    ola = {k: locate_json(v) for k, v in old.engine.gate.snap.locates.items()}
    nla = {k: locate_json(v) for k, v in new.engine.gate.snap.locates.items()}
    return {"decisions": decisions, "obligations": obligations, "pre_borrow": periods,
            "notices": _diff_counts(ol.notices, nl.notices, rj.notice_json),
            "findings": _diff_counts(ol.findings, nl.findings, rj.finding_json),
            "locates": _diff_ids(ola, nla)}


# -- the live book -------------------------------------------------------------------------------------------


class LiveBook:
    """One book, its writer task and its state."""

    def __init__(self, name: str, store: Store, live: LiveLog, answers: Answers, *,
                 reference_max_age: dt.timedelta | None, snapshot_every: int = 50_000,
                 snapshot_seconds: float = 300.0, max_pending: int = 20_000, max_batch: int = 2_000,
                 behind_seconds: float = 2.0, freeze_every: int = 5_000) -> None:
        self.name = name
        self.store = store
        self.live = live
        self.answers = answers
        self.reference_max_age = reference_max_age
        self.snapshot_every = snapshot_every
        self.snapshot_seconds = snapshot_seconds
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.behind_seconds = behind_seconds
        #: records committed between two ``freeze_heap`` calls (0: never)
        self.freeze_every = freeze_every
        self._unfrozen = 0
        self.state: State | None = None
        self.point: Point | None = None
        self.updated_at = dt.datetime.now(dt.UTC)
        #: why the book cannot take writes now (None: it can)
        self.failed: str | None = "not loaded"
        self.pending: list[Item] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"regsho-writer-{name}")
        self._commit_started: float | None = None
        #: the tail the store thread reached (the next batch is appended after it); why a batch failed
        self._tail: Point | None = None
        self._poisoned: str | None = None
        self._snapshot_due = False
        self._flights = 0
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()
        self.loaded: Loaded | None = None
        self.batches = 0
        self.committed = 0
        #: processor seconds spent applying events (event loop) and writing batches (store thread)
        self.apply_cpu = 0.0
        self.write_cpu = 0.0
        #: wall seconds the store thread spent writing batches (lock, statements, commit and its sync)
        self.write_wall = 0.0

    # -- lifecycle ----------------------------------------------------------------------------------------

    def load(self) -> Loaded:
        loaded = load_book(self.store, self.live, self.name)
        self.state, self.point, self.loaded = loaded.state, loaded.point, loaded
        self._tail, self._poisoned = loaded.point, None
        self.updated_at = dt.datetime.now(dt.UTC)
        self.failed = None
        if loaded.how.startswith("full replay") and loaded.state.events:
            self._snapshot_sync()
        return loaded

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._writer(), name=f"regsho writer {self.name}")

    async def stop(self) -> None:
        """Answer everything queued, then take a snapshot."""
        if self._task is not None:
            self.pending.append(None)  # type: ignore[arg-type]  # the stop mark
            assert self._wake is not None
            self._wake.set()
            await self._task
            self._task = None
        if self.failed is None and self._since_snapshot:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._snapshot_sync)
        await asyncio.get_running_loop().run_in_executor(self._pool, self.live.release)
        self._pool.shutdown(wait=True)

    # -- reading -----------------------------------------------------------------------------------------

    def view(self) -> BookView:
        """The book as readers see it. The ledger is a copy of its containers (each copy is one step under the
        interpreter lock, so a reader in another thread never sees a container change under it); the engine is
        the live one."""
        st = self._ready_state()
        at = st.engine.last.astimezone(dt.UTC) if st.engine.last is not None else self.updated_at
        return BookView(self.name, st.engine.book, _ledger_copy(st.ledger), at, st.engine, ())

    def _ready_state(self) -> State:
        if self.state is None:
            raise Refused(503, f"book {self.name} is not loaded: {self.failed}")
        return self.state

    @property
    def behind(self) -> str | None:
        """Why the writer is behind, if it is: too much queued, or a commit taking too long."""
        if len(self.pending) >= self.max_pending:
            return f"{len(self.pending)} writes are queued (limit {self.max_pending})"
        started = self._commit_started
        if started is not None and time.monotonic() - started > self.behind_seconds:
            return f"the store has not finished a commit for {time.monotonic() - started:.1f} s"
        return None

    # -- writing -----------------------------------------------------------------------------------------

    def submit(self, op: str, payload: Any, principal: Principal, key: str, fingerprint: str
               ) -> asyncio.Future[tuple[int, bytes]]:
        """Queue one write; the future gets (status, JSON body) once it is durable (or refused)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        prior = self.answers.find(key, fingerprint)
        if prior is not None:
            if isinstance(prior, asyncio.Future):
                return prior
            fut.set_result(prior)
            return fut
        if self.failed is not None:
            raise Refused(503, f"book {self.name} cannot record anything now: {self.failed}; nothing was "
                               f"recorded, retry with the same idempotency key")
        behind = self.behind
        if behind is not None:
            raise Refused(503, f"the writer of book {self.name} is behind ({behind}); nothing was recorded, retry "
                               f"with the same idempotency key")
        self.answers.begin(key, fingerprint, fut)
        self.pending.append(Item(op, payload, principal, key, fingerprint, fut, _source(principal, key)))
        wake = self._wake
        if wake is not None and not wake.is_set():
            wake.set()
        return fut

    async def _writer(self) -> None:
        """Take what is queued, apply it, hand its records to the store thread, and while they commit apply the
        next batch (one batch in flight: the engine works while the disk syncs). A batch is answered only once
        its commit is done; if a commit fails, the batch after it (applied on top of it) fails too."""
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        stopping = False
        inflight: _Flight | None = None
        while True:
            if not self.pending or stopping:
                if inflight is not None:
                    await self._land(inflight)
                    inflight = None
                    self._maybe_snapshot_due()
                    if self._snapshot_due:
                        await loop.run_in_executor(self._pool, self._snapshot_sync)
                    continue
                if stopping:
                    return
                if self.failed is not None and self.state is None:
                    await self._recover(loop)
                await self._wake.wait()
                self._wake.clear()
                continue
            if self.pending[0] is not None and self.pending[0].op == "amend":
                it = self.pending.pop(0)
                if inflight is not None:  # everything before the amend is recorded first
                    await self._land(inflight)
                    inflight = None
                await self._run_amend(loop, it)
                continue
            batch = self.pending[:self.max_batch]
            cut = next((i for i, x in enumerate(batch) if x is not None and x.op == "amend"), None)
            if cut is not None:
                batch = batch[:cut]
            del self.pending[:len(batch)]
            if batch[-1] is None:
                batch.pop()
                stopping = True
            flight = self._launch(loop, batch)
            if inflight is not None:
                await self._land(inflight)
            inflight = flight
            self._maybe_snapshot_due()
            if self._snapshot_due and inflight is not None:  # a snapshot is taken between batches, all landed
                await self._land(inflight)
                inflight = None
                await loop.run_in_executor(self._pool, self._snapshot_sync)

    def _maybe_snapshot_due(self) -> None:
        self._snapshot_due = bool(self._since_snapshot) and (
            self._since_snapshot >= self.snapshot_every
            or time.monotonic() - self._snapshot_at >= self.snapshot_seconds)

    def _launch(self, loop: asyncio.AbstractEventLoop, batch: list[Item]) -> _Flight | None:
        """Apply a batch to the state and queue its commit; None when nothing is to be written (answered now)."""
        st = self.state
        if st is None or self.failed is not None:
            why = self.failed or "not loaded"
            for it in batch:
                self._finish(it, 503, orjson.dumps({"error": f"book {self.name} cannot record anything now: {why}; "
                                                             f"nothing was recorded, retry"}), store=False)
            return None
        records: list[Record] = []
        done: list[tuple[Item, int, Callable[[int], bytes] | bytes, int | None]] = []
        t0 = time.thread_time()
        for n, it in enumerate(batch):
            try:
                done.append(self._apply(st, it, records))
            except Refused as r:
                done.append((it, r.status, r.body, None))
            except Exception as e:  # a fault, not bad input: the state may be half-changed, so it is dropped
                log.exception("book %s: applying a request failed", self.name)
                self.failed = f"an internal error while applying a request ({type(e).__name__}); reloading"
                self.state = None
                self._finish(it, 500, orjson.dumps({"error": f"internal error: {type(e).__name__}: {e}"}),
                             store=False)
                for other in [x[0] for x in done] + batch[n + 1:]:
                    self._finish(other, 503, orjson.dumps({"error": f"not recorded: {self.failed}; retry with the "
                                                                    f"same idempotency key"}), store=False)
                return None
        self.apply_cpu += time.thread_time() - t0
        if not records:
            for it, status, body, _ in done:
                self._finish(it, status, body if isinstance(body, bytes) else body(0), store=False)
            return None
        bodies: dict[int, bytes] = {}

        def answers(base: int) -> list[Answer]:
            out = []
            for i, (it, status, body, idx) in enumerate(done):
                data = body if isinstance(body, bytes) else body(base)
                bodies[i] = data
                if idx is not None:
                    out.append(Answer(it.key, it.principal.name, it.fingerprint, idx, status, data.decode("utf-8")))
            return out

        if self._commit_started is None:
            self._commit_started = time.monotonic()
        self._flights += 1
        cf = loop.run_in_executor(self._pool, self._write, records, answers)
        return _Flight(cf, done, bodies, len(records))

    def _write(self, records: list[Record], answers: Callable[[int], list[Answer]]) -> Point:
        """In the store thread: append after the tail this writer reached, unless an earlier batch failed."""
        if self._poisoned is not None:
            raise StoreError(f"an earlier batch was not recorded ({self._poisoned})")
        assert self._tail is not None
        t0, w0 = time.thread_time(), time.perf_counter()
        try:
            appended = self.live.append(self.name, self._tail, records, answers)
            self.write_cpu += time.thread_time() - t0
            self.write_wall += time.perf_counter() - w0
        except Exception as e:
            self._poisoned = str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"
            raise
        self._tail = appended.point
        return appended.point

    async def _land(self, flight: _Flight | None) -> None:
        """Wait for a batch's commit and answer it."""
        if flight is None:
            return
        try:
            point = await flight.commit
        except Exception as e:
            self._flights -= 1  # the store refused or is unreachable: nothing of the batch is acknowledged
            why = str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"
            if self.failed is None:
                log.error("book %s: commit failed: %s", self.name, why)
                self.failed = f"the store could not record the last batch ({why})"
            self.state = None
            self._commit_started = None
            for it, _, _, _ in flight.done:
                self._finish(it, 503, orjson.dumps({"error": f"not recorded: {self.failed}; retry with the same "
                                                             f"idempotency key"}), store=False)
            return
        self._flights -= 1
        self._commit_started = time.monotonic() if self._flights else None
        self.point = point
        self.batches += 1
        self.committed += flight.records
        self.updated_at = dt.datetime.now(dt.UTC)
        for i, (it, status, _, idx) in enumerate(flight.done):
            self._finish(it, status, flight.bodies[i], store=idx is not None)
        self._unfrozen += flight.records
        if self.freeze_every and self._unfrozen >= self.freeze_every:
            self._unfrozen = 0
            freeze_heap()

    def _finish(self, it: Item, status: int, body: bytes, *, store: bool) -> None:
        if store:
            self.answers.done(it.key, it.fingerprint, status, body)
        else:
            self.answers.drop(it.key)
        if not it.future.done():
            it.future.set_result((status, body))

    def _apply(self, st: State, it: Item, records: list[Record]
               ) -> tuple[Item, int, Callable[[int], bytes] | bytes, int | None]:
        """Apply one write to the state and add its records; returns the answer (or a function of the first
        record's seq giving it) and the index of its first record."""
        if it.op == "event":
            return self._apply_event(st, it, records)
        if it.op in ("override", "approve"):
            return self._apply_override(st, it, records)
        if it.op == "request":
            body = dict(it.payload)
            if body["id"] in st.requests:
                raise Refused(409, f"locate request {body['id']} already exists")
            body.update(by=who(it.principal), at=dt.datetime.now(ET).isoformat(), status="requested")
            idx = len(records)
            records.append(Record("request", "locate", body["at"], it.source, body_json(body)))
            st.requests[body["id"]] = body
            return it, 200, lambda base: orjson.dumps({"book": self.name, "seq": base + idx, "request": body}), idx
        raise Refused(400, f"unknown operation {it.op}")

    def _apply_event(self, st: State, it: Item, records: list[Record]
                     ) -> tuple[Item, int, Callable[[int], bytes] | bytes, int | None]:
        reader = st.reader
        payload = it.payload
        if isinstance(payload, dict):
            if payload.get("at") is None:
                payload = {**payload, "at": self._clock(reader)}
        elif not isinstance(payload, sch.Order):  # a check request
            payload = order_struct(payload, payload.at or self._clock(reader))
        try:
            e = reader.read(payload, "request")
        except ScenarioError as err:
            raise Refused(422, str(err).split(": ", 1)[-1], field=err.field) from None
        last = st.engine.last
        if st.engine.gate.snap.reference_max_age != self.reference_max_age and (last is None or e.at >= last):
            self._record_settings(st, e.at, records)
        try:
            fx = st.engine.apply(e)
        except (EngineInputError, GateError, RegimeError, CalendarRangeError) as err:
            reader.forget(e)
            raise Refused(422, str(err), field=getattr(err, "field", None)) from None
        if fx:
            st.ledger.absorb(fx)
        st.events += 1
        self._since_snapshot += 1
        idx = len(records)
        submitted = who(it.principal)
        etype = event_type(e)
        dumped = dump_event(e)
        records.append(Record("event", etype, dumped["at"], it.source, body_json(dumped)))
        decision = None
        if fx.decisions:
            for d in fx.decisions:
                dj = rj.decision_json(d)
                dj["submitted_by"] = submitted
                records.append(Record("decision", d.action, dj["at"], f"order {d.order}", body_json(dj)))
                if decision is None:
                    decision = dj
        if isinstance(e, ev.Order):
            st.submitted[e.id] = submitted
        has_more = bool(fx.obligations or fx.periods or fx.notices or fx.findings)
        extra = effects_json(fx) if has_more else None
        usage = locate_json(st.engine.gate.snap.locates[e.id]) if isinstance(e, ev.LocateRelease) else None
        name = self.name

        def answer(base: int) -> bytes:
            out: dict[str, Any] = {"book": name, "seq": base + idx, "type": etype, "submitted_by": submitted,
                                   "event": dumped, "decision": decision}
            if extra is not None:
                out["effects"] = extra
            if usage is not None:
                out["locate"] = usage
            return orjson.dumps(out)

        return it, 200, answer, idx

    def _record_settings(self, st: State, at: dt.datetime, records: list[Record]) -> None:
        """The service judges orders under its own settings: when the book's differ, a ``gate_settings`` event is
        applied and recorded just before the first event the service applies (in the same commit), so that a
        replay judges every order under the settings it was judged under, before and after."""
        e = ev.GateSettings(at, self.reference_max_age)
        st.engine.apply(e)
        st.events += 1
        dumped = dump_event(e)
        records.append(Record("event", event_type(e), dumped["at"], _source(SERVICE, "settings"),
                              body_json(dumped)))

    @staticmethod
    def _clock(reader: EventReader) -> str:
        """The service's clock for an event given without a time, never before the book's last event."""
        t = dt.datetime.now(ET)
        last = reader.last
        if last is not None and t < last:
            t = last
        return t.isoformat()

    def _apply_override(self, st: State, it: Item, records: list[Record]
                        ) -> tuple[Item, int, Callable[[int], bytes] | bytes, int | None]:
        order, p = it.payload["order"], it.principal
        d = st.ledger.decision(order)
        if d is None:
            raise Refused(404, f"no order {order} in book {self.name}")
        o = st.overrides.get(order)
        now = dt.datetime.now(ET).isoformat()
        if it.op == "override":
            if d.accepted:
                raise Refused(409, f"order {order} was accepted: only a rejection can be overridden")
            if o is not None:
                raise Refused(409, f"order {order} already has an override ({o['status']} by {o['requested_by']})")
            body = {"order": order, "reason": it.payload["reason"], "by": who(p), "at": now}
            kind = "requested"
        else:
            if o is None:
                raise Refused(409, f"order {order} has no override to approve: compliance requests one first")
            if o["status"] == "approved":
                raise Refused(409, f"the override of order {order} was already approved by {o['approved_by']}")
            if o["requested_by"] == who(p) or o["requested_by"].split(" (")[0] == p.name:
                raise Refused(403, f"the override of order {order} was requested by {p.name}: a second, different "
                                   f"approver must approve it")
            body = {"order": order, "by": who(p), "at": now}
            kind = "approved"
        idx = len(records)
        records.append(Record("override", kind, now, it.source, body_json(body)))
        _override_row(st, kind, body)
        result = dict(st.overrides[order])
        return it, 200, lambda base: orjson.dumps({"book": self.name, "seq": base + idx, "override": result}), idx

    # -- corrections and cancellations ----------------------------------------------------------------------

    async def _run_amend(self, loop: asyncio.AbstractEventLoop, it: Item) -> None:
        """Record a correction or cancellation and rebuild the book's state from the store with it, the writer
        held throughout (no other write of the book interleaves); then snapshot at the amend record."""
        st = self.state
        if st is None or self.failed is not None:
            why = self.failed or "not loaded"
            self._finish(it, 503, orjson.dumps({"error": f"book {self.name} cannot record anything now: {why}; "
                                                         f"nothing was recorded, retry"}), store=False)
            return
        if self._poisoned is not None:
            self._finish(it, 503, orjson.dumps({"error": f"not recorded: {self._poisoned}; retry with the same "
                                                         f"idempotency key"}), store=False)
            return
        self._commit_started = time.monotonic()
        try:
            new, point, body = await loop.run_in_executor(self._pool, self._amend_sync, st, it)
        except Refused as r:
            self._commit_started = None
            self._finish(it, r.status, r.body, store=False)
            return
        except StoreError as e:  # the store failed: whether the amend is recorded is the store's to say
            self._commit_started = None
            why = str(e)
            log.error("book %s: amend failed: %s", self.name, why)
            self.failed = f"the store could not record a correction ({why})"
            self.state = None
            self._finish(it, 503, orjson.dumps({"error": f"not recorded: {self.failed}; retry with the same "
                                                         f"idempotency key"}), store=False)
            return
        except Exception as e:  # a fault inside the amend's transaction: rolled back, the state was not touched
            self._commit_started = None
            log.exception("book %s: an amend failed", self.name)
            self._finish(it, 500, orjson.dumps({"error": f"internal error: {type(e).__name__}: {e}; nothing was "
                                                         f"recorded"}), store=False)
            return
        self._commit_started = None
        self.state, self.point, self._tail = new, point, point
        self.batches += 1
        self.committed += 1
        self.updated_at = dt.datetime.now(dt.UTC)
        self._finish(it, 200, body, store=True)
        self._since_snapshot = 1
        await loop.run_in_executor(self._pool, self._snapshot_sync)

    def _amend_sync(self, old: State, it: Item) -> tuple[State, Point, bytes]:
        """In the store thread: the store's own amend (validated and replayed before anything is written), the
        new state and the answer made inside its transaction, the answer kept with the record."""
        p = it.payload
        seq, event, why = int(p["seq"]), p["event"], str(p["why"])
        made: dict[str, Any] = {}
        name = self.name
        if event is not None:  # a patch of the event in force (when there is one; else the store names why not)
            rec = record_json(self.store, name, seq)
            if rec is not None and rec.get("in_force") is not None:
                event = _patched(rec["in_force"], event)

        def then(conn: sa.Connection, result: ReplayResult, tail: Point) -> None:
            assert result.engine is not None
            sc = result.scenario
            new = State(result.engine, result.ledger, EventReader(sc), events=len(sc.events))
            _side_tables(new, conn, name)
            rec = conn.execute(sa.select(log_table.c.body).where(log_table.c.seq == tail.seq)).scalar_one()
            target = conn.execute(sa.select(log_table.c.type, log_table.c.body).where(log_table.c.seq == seq)).one()
            amend = orjson.loads(rec)
            out: dict[str, Any] = {"book": name, "seq": tail.seq, "action": "void" if event is None else "correct",
                                   "target": {"seq": seq, "hash": amend["target"]["hash"], "type": target.type,
                                              "event": orjson.loads(target.body)},
                                   "event": amend.get("event"), "by": amend["by"], "why": amend["why"],
                                   "changes": book_changes(old, new)}
            data = orjson.dumps(out)
            conn.execute(requests.insert().values(key=it.key, book=name, principal=it.principal.name,
                                                  fingerprint=it.fingerprint, seq=tail.seq, status=200,
                                                  response=data.decode("utf-8"), created_at=now_utc()))
            made.update(state=new, point=tail, body=data)

        try:
            if event is None:
                self.store.void(name, seq, why=why, by=who(it.principal), source=it.source, replayer=_replay_live,
                                then=then)
            else:
                self.store.correct(name, seq, event, why=why, by=who(it.principal), source=it.source,
                                   replayer=_replay_live, then=then)
        except AmendRefused as e:
            status = 404 if e.reason == "unknown" else 409
            text = str(e) if e.reason == "voided" else (str(e).split(": only events")[0] + f": only events of book "
                                                        f"{name} can be corrected or cancelled")
            raise Refused(status, text, field="seq") from None
        except ScenarioError as e:
            raise Refused(422, f"the book with this {'cancellation' if event is None else 'correction'} is "
                               f"invalid, nothing was recorded: {str(e).split(': ', 1)[-1]}", field=e.field) from None
        except (TypeError, ValueError, KeyError) as e:  # a corrected event the scenario reader cannot take
            raise Refused(422, f"the corrected event is not valid, nothing was recorded: {e}", field="event"
                          ) from None
        return made["state"], made["point"], made["body"]

    # -- recovery and snapshots ----------------------------------------------------------------------------

    async def _recover(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reload the book once the store can be written again (until then it stays failed: never healthy while
        it cannot write); the service's probe tries again."""
        try:
            await loop.run_in_executor(self._pool, self.live.probe)
        except Exception as e:
            self.failed = f"the store cannot be written ({e}); nothing is accepted until it can"
            return
        try:
            await loop.run_in_executor(self._pool, self.load)
            log.warning("book %s: reloaded from the store after a failed commit", self.name)
        except Exception as e:
            self.failed = f"reloading from the store failed ({e})"

    async def recover_if_needed(self) -> None:
        if self.state is None and self.failed is not None and not self.pending and self._task is not None:
            await self._recover(asyncio.get_running_loop())

    def _snapshot_sync(self) -> None:
        st, point = self.state, self.point
        if st is None or point is None:
            return
        data = _pickle(st)
        try:
            self.live.save_snapshot(self.name, point, st.events, SNAPSHOT_VERSION, data)
        except StoreError as e:  # a snapshot is a cache: failing to keep one loses nothing
            log.warning("book %s: snapshot not kept: %s", self.name, e)
            return
        self._since_snapshot = 0
        self._snapshot_at = time.monotonic()

    def snapshot_now(self) -> None:
        self._snapshot_sync()


@dataclass(slots=True)
class _Flight:
    """A batch whose records are being committed."""

    commit: asyncio.Future[Point]
    done: list[tuple[Item, int, Callable[[int], bytes] | bytes, int | None]]
    bodies: dict[int, bytes]
    records: int


class Answers:
    """The first answer given to every idempotency key within the window, and the keys being answered now."""

    def __init__(self, window: dt.timedelta) -> None:
        self.window = window
        self._done: dict[str, tuple[str, int, bytes]] = {}
        #: when each key was answered (monotonic seconds), oldest first, to forget keys past the window
        self._when: deque[tuple[float, str]] = deque()
        self._inflight: dict[str, tuple[str, asyncio.Future[tuple[int, bytes]]]] = {}

    def load(self, rows: dict[str, tuple[str, int, str, int | None]]) -> None:
        now = time.monotonic()
        for k, (fp, status, response, _) in rows.items():
            self._done[k] = (fp, status, response.encode("utf-8"))
            self._when.append((now, k))

    def find(self, key: str, fingerprint: str) -> tuple[int, bytes] | asyncio.Future[tuple[int, bytes]] | None:
        d = self._done.get(key)
        if d is not None:
            if d[0] != fingerprint:
                raise Refused(409, f"idempotency key {key} was used for a different request; use a new key")
            return d[1], d[2]
        f = self._inflight.get(key)
        if f is not None:
            if f[0] != fingerprint:
                raise Refused(409, f"idempotency key {key} is in use for a different request; use a new key")
            return f[1]
        return None

    def begin(self, key: str, fingerprint: str, fut: asyncio.Future[tuple[int, bytes]]) -> None:
        self._inflight[key] = (fingerprint, fut)

    def done(self, key: str, fingerprint: str, status: int, body: bytes) -> None:
        self._inflight.pop(key, None)
        self._done[key] = (fingerprint, status, body)
        self._when.append((time.monotonic(), key))

    def prune(self) -> int:
        """Forget the answers older than the window; returns how many were forgotten."""
        cut = time.monotonic() - self.window.total_seconds()
        n = 0
        while self._when and self._when[0][0] < cut:
            _, key = self._when.popleft()
            self._done.pop(key, None)
            n += 1
        return n

    def drop(self, key: str) -> None:
        self._inflight.pop(key, None)


def fingerprint(path: str, body: bytes) -> str:
    return hashlib.sha256(path.encode("utf-8") + b"\x1f" + body).hexdigest()


def order_struct(req: Any, at: str) -> sch.Order:
    """The scenario schema's order from a check request (the event time given, or the service's clock)."""
    return sch.Order(at=at, id=req.id, account=req.account, symbol=req.symbol, side=req.side, qty=req.qty,
                     price=req.price, nbb=req.nbb, locate=req.locate, bona_fide_mm=req.bona_fide_mm,
                     exempt=req.exempt)
