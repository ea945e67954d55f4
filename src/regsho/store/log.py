"""The append-only, hash-chained record log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from regsho.adapters.results_json import decision_json
from regsho.adapters.scenario import Scenario, ScenarioError, parse_document, read_document
from regsho.adapters.scenario_dump import dump_event, dump_header
from regsho.app.replay import ReplayResult, replay
from regsho.store.schema import log

GENESIS = "0" * 64
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot do what was asked (not initialised, conflicting book, broken chain...)."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class ImportSummary:
    book: str
    events: int
    decisions: int
    first_seq: int | None
    last_hash: str


def canonical(obj: object) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; the form that is hashed and stored."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(prev_hash: str, book: str, kind: str, type_: str, event_time: str, recorded_at: str, source: str,
                body: str) -> str:
    h = hashlib.sha256()
    for part in (prev_hash, book, kind, type_, event_time, recorded_at, source, body):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def database_url(db: str) -> str:
    """A SQLAlchemy URL; a plain path means a SQLite file."""
    if "://" in db:
        if db.startswith("postgresql://"):
            return "postgresql+psycopg://" + db[len("postgresql://"):]
        return db
    return f"sqlite:///{db}"


class Store:
    """A book-keeping database. ``db`` is a SQLAlchemy URL or a SQLite file path."""

    def __init__(self, db: str) -> None:
        self.url = database_url(db)
        self.engine = sa.create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(conn: Any, _: Any) -> None:
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema (Alembic migrations in ``regsho/store/migrations``)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _require_schema(self) -> None:
        db = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and db and db != ":memory:" and not Path(db).exists():
            raise StoreError(f"{db} does not exist: run `regsho store init --db {db}` first")
        try:
            present = sa.inspect(self.engine).has_table("regsho_log")
        except sa.exc.OperationalError as e:
            raise StoreError(f"cannot open {self.url}: {e.orig}") from None
        if not present:
            raise StoreError(f"{self.url} has no regsho log: run `regsho store init --db ...` first")

    # -- reading --------------------------------------------------------------------------------------------

    def books(self) -> list[str]:
        self._require_schema()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(log.c.book).where(log.c.kind == "header").distinct()).all()
        return sorted(r[0] for r in rows)

    def rows(self, book: str | None = None) -> Iterator[sa.Row[Any]]:
        self._require_schema()
        q = sa.select(log).order_by(log.c.seq)
        if book is not None:
            q = q.where(log.c.book == book)
        with self.engine.connect() as conn:
            yield from conn.execute(q)

    def _document(self, conn: sa.Connection, book: str) -> dict[str, Any] | None:
        header: dict[str, Any] | None = None
        events: list[dict[str, Any]] = []
        q = (sa.select(log.c.kind, log.c.body).where(log.c.book == book)
             .where(log.c.kind.in_(("header", "event"))).order_by(log.c.seq))
        for kind, body in conn.execute(q):
            if kind == "header":
                header = json.loads(body)
            else:
                events.append(json.loads(body))
        if header is None:
            return None
        return {**header, "events": events}

    def load_book(self, book: str) -> Scenario:
        """The book as a scenario (validated like a file), to replay or export."""
        self._require_schema()
        with self.engine.connect() as conn:
            doc = self._document(conn, book)
        if doc is None:
            raise StoreError(f"no book {book!r} in {self.url} (books: {', '.join(self.books()) or 'none'})")
        return parse_document(doc, f"store:{book}")

    # -- writing --------------------------------------------------------------------------------------------

    def _lock(self, conn: sa.Connection) -> None:
        """One writer at a time: the chain needs each record's predecessor."""
        if self.engine.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE regsho_log IN EXCLUSIVE MODE"))

    def _tail(self, conn: sa.Connection) -> str:
        last = conn.execute(sa.select(log.c.hash).order_by(log.c.seq.desc()).limit(1)).scalar()
        return last or GENESIS

    def import_scenario(self, sc: Scenario, book: str | None = None) -> ImportSummary:
        """Append an already-validated scenario to a book (see ``import_document``)."""
        doc = dump_header(sc)
        doc["events"] = [dump_event(se.event) for se in sc.events]
        return self.import_document(doc, sc.path, book)

    def import_file(self, path: str | Path, book: str | None = None) -> ImportSummary:
        """Append a scenario file to a book (see ``import_document``)."""
        return self.import_document(read_document(path), str(path), book)

    def import_document(self, doc: dict[str, Any], name: str, book: str | None = None) -> ImportSummary:
        """Append a scenario document's events to a book, with the gate's decisions on them, in one transaction.

        The new events are validated and replayed together with the book's stored events (a file may name a
        locate or order recorded earlier); any bad input raises ``ScenarioError`` and nothing is written. New
        events must not be earlier than the book's last event. The book's header (firm, securities, accounts) may
        gain entries but never change one.
        """
        self._require_schema()
        raw_events = doc.get("events")
        if not isinstance(raw_events, list):
            raise ScenarioError(name, "", "events", "expected a list of events")
        header_only = parse_document({**{k: v for k, v in doc.items() if k not in ("events", "expect")},
                                      "events": []}, name)
        new_header = dump_header(header_only)
        book = book or header_only.firm.id
        recorded_at = dt.datetime.now(dt.UTC).isoformat()
        with self.engine.begin() as conn:
            self._lock(conn)
            stored = self._document(conn, book)
            if stored is not None:
                header = _merge_header(stored, new_header, book)
                header_changed = header != {k: stored[k] for k in header}
                old_events: list[dict[str, Any]] = stored["events"]
            else:
                header, header_changed, old_events = new_header, True, []
            n_old = len(old_events)
            try:
                combined = parse_document({**header, "events": old_events + raw_events}, name)
            except ScenarioError as e:
                raise _renumber(e, n_old) from None
            if n_old and raw_events:
                last_old = combined.events[n_old - 1].event.at
                first_new = combined.events[n_old].event.at
                if first_new < last_old:
                    raise ScenarioError(name, "events[0]", "at",
                                        f"{first_new.isoformat()} is before the last event already in book {book} "
                                        f"({last_old.isoformat()}): the log is append-only")
            try:
                result = replay(combined)
            except ScenarioError as e:
                raise _renumber(e, n_old) from None
            new_events = [dump_event(se.event) for se in combined.events[n_old:]]
            prev = self._tail(conn)
            first_seq: int | None = None
            rows: list[tuple[str, str, str, str, dict[str, Any]]] = []
            if header_changed:
                rows.append(("header", "header", "", name, header))
            for i, body in enumerate(new_events):
                rows.append(("event", body["type"], body["at"], f"{name}#events[{i}]", body))
            new_orders = {e["id"] for e in new_events if e["type"] == "order"}
            decisions = [d for d in result.decisions if d.order in new_orders]
            for d in decisions:
                rows.append(("decision", d.action, d.at.isoformat(), f"order {d.order}", decision_json(d)))
            for kind, type_, event_time, source, body_obj in rows:
                body_s = canonical(body_obj)
                h = record_hash(prev, book, kind, type_, event_time, recorded_at, source, body_s)
                res = conn.execute(log.insert().values(book=book, kind=kind, type=type_, event_time=event_time,
                                                       recorded_at=recorded_at, source=source, body=body_s,
                                                       prev_hash=prev, hash=h))
                if first_seq is None and res.inserted_primary_key:
                    first_seq = int(res.inserted_primary_key[0])
                prev = h
        return ImportSummary(book, len(new_events), len(decisions), first_seq, prev)

    def replay_book(self, book: str) -> ReplayResult:
        return replay(self.load_book(book))

    # -- audit ----------------------------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the chain from the first record: every record must hash to its stored hash and point at its
        predecessor's."""
        prev = GENESIS
        n = 0
        for row in self.rows():
            n += 1
            if row.prev_hash != prev:
                return VerifyResult(False, n, row.seq, f"record {row.seq} does not point at its predecessor")
            h = record_hash(row.prev_hash, row.book, row.kind, row.type, row.event_time, row.recorded_at,
                            row.source, row.body)
            if h != row.hash:
                return VerifyResult(False, n, row.seq, f"record {row.seq} has been altered (hash mismatch)")
            prev = row.hash
        return VerifyResult(True, n, None, f"{n} records, chain intact")


def _merge_header(stored: dict[str, Any], new: dict[str, Any], book: str) -> dict[str, Any]:
    """A book's header may gain securities and accounts; what it already has may not change."""
    if stored["firm"] != new["firm"]:
        raise StoreError(f"book {book} belongs to firm {stored['firm']}, not {new['firm']}")
    merged = {k: stored[k] for k in ("version", "name", "cite", "firm", "securities", "accounts")}
    for part in ("securities", "accounts"):
        combined = dict(stored[part])
        for key, spec in new[part].items():
            if key in combined and combined[key] != spec:
                raise StoreError(f"book {book}: {part[:-1] if part != 'securities' else 'security'} {key} is "
                                 f"recorded as {combined[key]}, the file says {spec}")
            combined[key] = spec
        merged[part] = combined
    return merged


def _renumber(e: ScenarioError, offset: int) -> ScenarioError:
    """Report an error in an appended file by the file's own event index, not the book's."""
    import re

    m = re.match(r"events\[(\d+)\](.*)", e.where)
    if not m or int(m.group(1)) < offset:
        return e
    return ScenarioError(e.file, f"events[{int(m.group(1)) - offset}]{m.group(2)}", e.field,
                         str(e).split(": ", 3)[-1] if e.field else str(e).split(": ", 2)[-1])
