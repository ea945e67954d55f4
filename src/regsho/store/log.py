"""The append-only, hash-chained record log."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from regsho.store import checkpoint as ckpt
from regsho.store.chain import (
    GENESIS,
    START,
    Point,
    Problem,
    VerifyResult,
    canonical,
    check_point,
    record_hash,
    row_hash,
    walk,
)
from regsho.store.errors import AlreadyImported, ChainBroken, StoreError
from regsho.store.schema import log, verified

__all__ = ["GENESIS", "AmendRefused", "AmendSummary", "ImportSummary", "Store", "StoreError", "VerifyResult",
           "canonical", "database_url", "record_hash"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CHECKPOINT_ENV = "REGSHO_CHECKPOINT"
#: Event types that carry their own id (a second event with the same id is the same event, or a conflict).
_ID_TYPES = ("locate", "pre_borrow", "order", "close_out")


@dataclass(frozen=True, slots=True)
class ImportSummary:
    book: str
    events: int
    decisions: int
    first_seq: int | None
    last_hash: str
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class AmendSummary:
    book: str
    seq: int
    target: int
    action: str


class AmendRefused(StoreError):
    """A correction or cancellation refused before anything was written: ``reason`` is ``unknown`` (no such
    record), ``book`` (a record of another book), ``kind`` (not an event record) or ``voided`` (already cancelled)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


#: Called inside an amend's transaction, after its record is appended: the connection, the replay of the book
#: with the amend, and the new tail. Raising rolls the amend back.
AmendHook = Callable[[sa.Connection, ReplayResult, Point], None]


def database_url(db: str) -> str:
    """A SQLAlchemy URL; a plain path means a SQLite file."""
    if "://" in db:
        if db.startswith("postgresql://"):
            return "postgresql+psycopg://" + db[len("postgresql://"):]
        return db
    return f"sqlite:///{db}"


def default_user() -> str:
    """Who is recorded when ``--by`` is not given: the operating-system user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass(slots=True)
class _Book:
    """A book as read from its records: the header, the events in force (after corrections and cancellations),
    every event body ever recorded, and what happened to each event record."""

    header: dict[str, Any] | None
    events: dict[int, dict[str, Any]]
    hashes: dict[int, str]
    recorded: list[dict[str, Any]]
    changes: dict[int, list[tuple[int, str]]]
    voided: dict[int, int]

    def document(self) -> dict[str, Any]:
        assert self.header is not None
        return {**self.header, "events": list(self.events.values())}


class Store:
    """A book-keeping database. ``db`` is a SQLAlchemy URL or a SQLite file path.

    ``checkpoint`` (default: the file named by ``REGSHO_CHECKPOINT``) is a signed checkpoint that every read and
    write also checks the records against, with the key in ``key`` (default: ``REGSHO_CHECKPOINT_KEY``).
    """

    def __init__(self, db: str, *, checkpoint: str | Path | None = None, key: str | Path | None = None,
                 timeout: float = 60.0) -> None:
        raw = database_url(db)
        try:
            parsed = sa.engine.make_url(raw)
        except (sa.exc.ArgumentError, ValueError):
            masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", db)
            raise StoreError(f"{masked!r} is neither a file path nor a database URL") from None
        self._password = parsed.password
        #: The URL with its password masked: the only form ever shown.
        self.url = parsed.render_as_string(hide_password=True)
        self.timeout = timeout
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(f"{self.url}: unsupported database {parsed.get_backend_name()!r}; use a SQLite file "
                             f"path or postgresql://...")
        cp = checkpoint if checkpoint is not None else os.environ.get(CHECKPOINT_ENV) or None
        self._checkpoint_path = Path(cp) if cp else None
        self._key = key
        self._checkpoint: ckpt.Checkpoint | None = None
        try:
            if parsed.get_backend_name() == "sqlite":
                self.engine = sa.create_engine(parsed, connect_args={"timeout": timeout})
                _sqlite_setup(self.engine)
            else:
                self.engine = sa.create_engine(parsed)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            raise StoreError(f"cannot use {self.url}: {self._scrub(str(e))}") from None
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._quick: sa.Engine | None = None

    def close(self) -> None:
        self.engine.dispose()
        if self._quick is not None:
            self._quick.dispose()

    # -- errors ---------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        text = "; ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
        if self._password and len(str(self._password)) >= 4:
            text = text.replace(str(self._password), "***")
        return text

    def _db_error(self, e: sa.exc.DBAPIError) -> StoreError:
        text = self._scrub(str(e.orig))
        low = text.lower()
        if "database is locked" in low or "lock timeout" in low or "canceling statement due to lock" in low:
            return StoreError(f"{self.url} is busy: another writer held it for {self.timeout:g} s; nothing was "
                              f"written, try again")
        if "file is not a database" in low:
            return StoreError(f"{self.engine.url.database} is not a regsho store (not a SQLite database)")
        if "append-only" in low:
            return StoreError(f"{self.url}: {text}")
        if isinstance(e, sa.exc.OperationalError) and self.engine.dialect.name != "sqlite":
            return StoreError(f"cannot reach the database at {self.url}: {text}")
        return StoreError(f"{self.url}: {text}")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as e:
            raise self._db_error(e) from None

    # -- schema ---------------------------------------------------------------------------------------------

    def _sqlite_path(self) -> Path | None:
        db = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and db and db != ":memory:" and not db.startswith("file:"):
            return Path(db)
        return None

    def migrate(self) -> None:
        """Create or upgrade the schema (Alembic migrations in ``regsho/store/migrations``)."""
        path = self._sqlite_path()
        if path is not None:
            if not path.parent.exists():
                raise StoreError(f"cannot create {path}: the folder {path.parent} does not exist")
            if path.is_dir():
                raise StoreError(f"{path} is a folder, not a database file")
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self._guard(), self._writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _require_schema(self, conn: sa.Connection) -> None:
        insp = sa.inspect(conn)
        if not insp.has_table("regsho_log"):
            raise StoreError(f"{self.url} has no regsho log: run `regsho store init --db ...` first")
        if not insp.has_table("regsho_verified"):
            raise StoreError(f"{self.url} was made by an older regsho: run `regsho store init --db ...` to "
                             f"upgrade it")

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A read transaction (one snapshot on SQLite) on an initialised store."""
        path = self._sqlite_path()
        if path is not None and not path.exists():
            raise StoreError(f"{path} does not exist: run `regsho store init --db {path}` first")
        with self._guard(), self.engine.connect() as conn, conn.begin():
            self._require_schema(conn)
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[tuple[sa.Connection, Point]]:
        """The one writer: an immediate lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``LOCK TABLE``) taken before
        the chain's tail is read, and the chain verified up to its tail before anything is appended to it."""
        path = self._sqlite_path()
        if path is not None and not path.exists():
            raise StoreError(f"{path} does not exist: run `regsho store init --db {path}` first")
        with self._guard(), self._writer.begin() as conn:
            self._require_schema(conn)
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(self.timeout * 1000)}ms'"))
                conn.execute(sa.text("LOCK TABLE regsho_log IN EXCLUSIVE MODE"))
            _, tail = self._check(conn, "nothing was written")
            yield conn, tail

    # -- verification ---------------------------------------------------------------------------------------

    def _point(self, conn: sa.Connection) -> Point:
        row = conn.execute(sa.select(verified).where(verified.c.id == 1)).first()
        return START if row is None else Point(int(row.seq), row.hash, int(row.records))

    def _save_point(self, conn: sa.Connection, new: Point) -> None:
        values = {"seq": new.seq, "hash": new.hash, "records": new.records, "verified_at": _now()}
        if conn.execute(sa.update(verified).where(verified.c.id == 1).values(**values)).rowcount == 0:
            conn.execute(verified.insert().values(id=1, **values))

    def _advance_point(self, old: Point, new: Point) -> None:
        """Move the verified point from ``old`` to ``new`` after a read, unless another writer moved it
        meanwhile. Best effort and brief: a read never waits long on a writer for this (the writer moves the point
        itself), and a read-only copy of a store keeps its point and is checked from there."""
        if new == old:
            return
        try:
            with self._guard(), self._quick_writer().begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
                if self._point(conn) == old:
                    self._save_point(conn, new)
        except StoreError:
            pass

    def _quick_writer(self) -> sa.Engine:
        if self.engine.dialect.name != "sqlite":
            return self.engine
        if self._quick is None:
            self._quick = sa.create_engine(self.engine.url, connect_args={"timeout": 0.2})
            _sqlite_setup(self._quick)
        return self._quick.execution_options(sqlite_begin="IMMEDIATE")

    def _loaded_checkpoint(self) -> ckpt.Checkpoint | None:
        if self._checkpoint_path is None:
            return None
        if self._checkpoint is None:
            self._checkpoint = ckpt.read(self._checkpoint_path, ckpt.load_key(self._key))
        return self._checkpoint

    def _check(self, conn: sa.Connection, consequence: str) -> tuple[Point, Point]:
        """The incremental check: the last verified point still holds (its record, its hash, the number of
        records up to it), every record after it is walked, and the checkpoint, if one is configured, still
        matches. On any problem the whole chain is walked to name every broken record, and ``ChainBroken``.
        Returns the verified point and the tail reached."""
        point = self._point(conn)
        problems = check_point(conn, point, "the last verified record")
        tail = point
        if not problems:
            problems, tail = walk(conn, point)
        cp = self._loaded_checkpoint()
        if cp is not None:
            problems += ckpt.compare(conn, cp)
        if problems:
            full, _ = walk(conn)
            if cp is not None:
                full += ckpt.compare(conn, cp)
            shown = full or problems
            more = f" (and {len(shown) - 3} more)" if len(shown) > 3 else ""
            raise ChainBroken(f"{self.url} fails verification, {consequence}: "
                              + "; ".join(map(str, shown[:3])) + more + "; run `regsho store verify` for all")
        return point, tail

    def verify_before_read(self) -> None:
        """Check the records before anything is read from them (see ``_check``); the verified point then moves up
        to the tail, so the next read starts there."""
        with self._reading() as conn:
            old, tail = self._check(conn, "nothing was read")
        self._advance_point(old, tail)

    def verify(self, checkpoint: Path | None = None, key: Path | str | None = None) -> VerifyResult:
        """Walk the whole chain from the first record and report every record that does not hold; with a signed
        checkpoint (given, or the store's own, ``REGSHO_CHECKPOINT``), also every record at or before it that was
        removed, edited or reordered (tail cut back, a book deleted, every hash recomputed). A forged checkpoint
        raises ``ChainBroken``."""
        checkpoint = checkpoint or self._checkpoint_path
        cp = ckpt.read(checkpoint, ckpt.load_key(key if key is not None else self._key)) if checkpoint else None
        with self._reading() as conn:
            problems, head = walk(conn)
            old = self._point(conn)
            # The last verified point is evidence too: a log cut back below it is caught without a checkpoint.
            problems += check_point(conn, old, "the last verified record")
            if cp is not None:
                problems += ckpt.compare(conn, cp)
        result = VerifyResult(head.records, tuple(problems), head, cp.head if cp else None)
        if result.ok and old.seq <= head.seq:
            self._advance_point(old, head)
        return result

    def checkpoint(self, key: Path | str | None = None) -> dict[str, Any]:
        """The signed head of a verified chain (sequence, hash, every book's head and count), to keep elsewhere."""
        k = ckpt.load_key(key if key is not None else self._key)
        with self._reading() as conn:
            problems, head = walk(conn)
            if problems:
                raise ChainBroken(f"{self.url} fails verification, no checkpoint made: "
                                  + "; ".join(map(str, problems[:3])))
            return ckpt.make(conn, head, k)

    # -- reading --------------------------------------------------------------------------------------------

    def books(self) -> list[str]:
        self.verify_before_read()
        with self._reading() as conn:
            rows = conn.execute(sa.select(log.c.book).where(log.c.kind == "header").distinct()).all()
        return sorted(r[0] for r in rows)

    def rows(self, book: str | None = None) -> Iterator[sa.Row[Any]]:
        self.verify_before_read()
        q = sa.select(log).order_by(log.c.seq)
        if book is not None:
            q = q.where(log.c.book == book)
        with self._reading() as conn:
            for row in conn.execute(q.execution_options(yield_per=5000)):
                if row_hash(row) != row.hash:
                    raise ChainBroken(f"{self.url} fails verification: record {row.seq}: edited: its contents no "
                                      f"longer hash to its stored hash; run `regsho store verify` for all")
                yield row

    def _book(self, conn: sa.Connection, book: str, consequence: str = "nothing was read") -> _Book | None:
        """Read a book's records, re-hashing each as it is read, and apply its corrections and cancellations."""
        b = _Book(None, {}, {}, [], {}, {})
        bad: list[Problem] = []
        q = sa.select(log).where(log.c.book == book).order_by(log.c.seq)
        for row in conn.execute(q.execution_options(yield_per=5000)):
            if row_hash(row) != row.hash:
                bad.append(Problem(row.seq, "edited: its contents no longer hash to its stored hash"))
                continue
            if row.kind == "header":
                b.header = json.loads(row.body)
            elif row.kind == "event":
                body = json.loads(row.body)
                b.events[row.seq] = body
                b.hashes[row.seq] = row.hash
                b.recorded.append(body)
            elif row.kind == "amend":
                body = json.loads(row.body)
                target = body.get("target", {})
                t = target.get("seq")
                if t not in b.hashes or b.hashes[t] != target.get("hash") or t in b.voided:
                    bad.append(Problem(row.seq, f"amends record {t}, which is not an event in force in book "
                                                f"{book}"))
                    continue
                b.changes.setdefault(t, []).append((row.seq, row.type))
                if row.type == "void":
                    b.voided[t] = row.seq
                    b.events.pop(t, None)
                else:
                    b.events[t] = body["event"]
                    b.recorded.append(body["event"])
        if bad:
            raise ChainBroken(f"{self.url}: book {book} fails verification, {consequence}: "
                              + "; ".join(map(str, bad[:3])) + "; run `regsho store verify` for all")
        return None if b.header is None else b

    def _no_book(self, conn: sa.Connection, book: str) -> StoreError:
        rows = conn.execute(sa.select(log.c.book).where(log.c.kind == "header").distinct()).all()
        names = ", ".join(sorted(r[0] for r in rows)) or "none"
        return StoreError(f"no book {book!r} in {self.url} (books: {names})")

    def load_book(self, book: str) -> Scenario:
        """The book as a scenario (validated like a file), to replay or export: corrected events in place of the
        originals, cancelled ones left out. The records are verified first."""
        self.verify_before_read()
        with self._reading() as conn:
            b = self._book(conn, book)
            if b is None:
                raise self._no_book(conn, book)
        return parse_document(b.document(), f"store:{book}")

    def replay_book(self, book: str) -> ReplayResult:
        return replay(self.load_book(book))

    def history(self, book: str) -> list[dict[str, Any]]:
        """Every record of a book in the order written, each with what later happened to it: the originals of
        corrected and cancelled events, every change with who, when and why."""
        self.verify_before_read()
        out: list[dict[str, Any]] = []
        with self._reading() as conn:
            b = self._book(conn, book)
            if b is None:
                raise self._no_book(conn, book)
            for row in conn.execute(sa.select(log).where(log.c.book == book).order_by(log.c.seq)):
                rec: dict[str, Any] = {"seq": row.seq, "hash": row.hash, "prev_hash": row.prev_hash,
                                       "kind": row.kind, "type": row.type, "event_time": row.event_time,
                                       "recorded_at": row.recorded_at, "source": row.source,
                                       "body": json.loads(row.body)}
                if row.kind == "event":
                    changes = b.changes.get(row.seq, [])
                    rec["status"] = ("voided" if row.seq in b.voided else "corrected" if changes else "in force")
                    if changes:
                        rec["changed_by"] = [seq for seq, _ in changes]
                out.append(rec)
        return out

    # -- writing --------------------------------------------------------------------------------------------

    def _append(self, conn: sa.Connection, tail: Point, book: str,
                rows: list[tuple[str, str, str, str, dict[str, Any]]]) -> Point:
        """Chain and insert records after ``tail`` (seq named explicitly: the insert trigger refuses anything
        else) and move the verified point to the new tail, in the caller's transaction."""
        recorded_at = _now()
        prev, seq = tail.hash, tail.seq
        values = []
        for kind, type_, event_time, source, body_obj in rows:
            body = canonical(body_obj)
            h = record_hash(prev, book, kind, type_, event_time, recorded_at, source, body)
            seq += 1
            values.append({"seq": seq, "book": book, "kind": kind, "type": type_, "event_time": event_time,
                           "recorded_at": recorded_at, "source": source, "body": body, "prev_hash": prev,
                           "hash": h})
            prev = h
        if values:  # executed row by row by the driver: the insert trigger checks each against the tail before it
            conn.execute(log.insert(), values)
        new = Point(seq, prev, tail.records + len(values))
        self._save_point(conn, new)
        return new

    def _find_import(self, conn: sa.Connection, sha256: str) -> sa.Row[Any] | None:
        q = (sa.select(log).where(log.c.kind == "import").where(log.c.body.contains(sha256))
             .order_by(log.c.seq))
        for row in conn.execute(q):
            if json.loads(row.body).get("sha256") == sha256:
                return row
        return None

    def import_scenario(self, sc: Scenario, book: str | None = None, *, by: str | None = None) -> ImportSummary:
        """Append an already-validated scenario to a book (see ``import_document``)."""
        doc = dump_header(sc)
        doc["events"] = [dump_event(se.event) for se in sc.events]
        return self.import_document(doc, sc.path, book, by=by)

    def import_file(self, path: str | Path, book: str | None = None, *, by: str | None = None) -> ImportSummary:
        """Append a scenario file to a book (see ``import_document``); the file is recorded by its SHA-256."""
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError as e:
            raise ScenarioError(str(path), "", None, f"cannot read the file: {e.strerror or e}") from None
        return self.import_document(read_document(path), str(path), book, by=by, sha256=digest)

    def import_document(self, doc: dict[str, Any], name: str, book: str | None = None, *, by: str | None = None,
                        sha256: str | None = None) -> ImportSummary:
        """Append a scenario document's events to a book, with the gate's decisions on them, in one transaction.

        The new events are validated and replayed together with the book's stored events (a file may name a
        locate or order recorded earlier); any bad input raises ``ScenarioError`` and nothing is written. New
        events must not be earlier than the book's last event. The book's header (firm, securities, accounts) may
        gain entries but never change one.

        Imports are idempotent: a document already recorded (``sha256``: the file's SHA-256, by default that of
        the document's canonical JSON) raises ``AlreadyImported``; events already in the book (the same content,
        ids included) are skipped, so a file re-exported or overlapping the book records only what is new. Each
        import is recorded (kind ``import``) with the SHA-256, the name, who (``by``, default the OS user) and
        when.
        """
        raw_events = doc.get("events")
        if not isinstance(raw_events, list):
            raise ScenarioError(name, "", "events", "expected a list of events")
        header_only = parse_document({**{k: v for k, v in doc.items() if k not in ("events", "expect")},
                                      "events": []}, name)
        new_header = dump_header(header_only)
        book = book or header_only.firm.id
        digest = sha256 or hashlib.sha256(canonical(doc).encode("utf-8")).hexdigest()
        who = by or default_user()
        with self._writing() as (conn, tail):
            prior = self._find_import(conn, digest)
            if prior is not None:
                p = json.loads(prior.body)
                raise AlreadyImported(f"{name}: already imported (SHA-256 {digest[:16]}…) into book {prior.book} "
                                      f"as record {prior.seq} on {prior.recorded_at} by {p.get('by')}; nothing "
                                      f"written")
            stored = self._book(conn, book, "nothing was written")
            if stored is not None:
                assert stored.header is not None
                header = _merge_header(stored.header, new_header, book)
                header_changed = header != {k: stored.header[k] for k in header}
                old_events = list(stored.events.values())
                fresh = _new_events(header, raw_events, stored)
            else:
                header, header_changed, old_events = new_header, True, []
                fresh = list(range(len(raw_events)))
            n_old = len(old_events)
            picked = [raw_events[i] for i in fresh]
            if not picked and not header_changed:  # everything already in the book: nothing to check or write
                return ImportSummary(book, 0, 0, None, tail.hash, skipped=len(raw_events))
            try:
                combined = parse_document({**header, "events": old_events + picked}, name)
            except ScenarioError as e:
                raise _renumber(e, n_old, fresh) from None
            if n_old and picked:
                last_old = combined.events[n_old - 1].event.at
                first_new = combined.events[n_old].event.at
                if first_new < last_old:
                    raise ScenarioError(name, f"events[{fresh[0]}]", "at",
                                        f"{first_new.isoformat()} is before the last event already in book {book} "
                                        f"({last_old.isoformat()}): the log is append-only")
            try:
                result = replay(combined)
            except ScenarioError as e:
                raise _renumber(e, n_old, fresh) from None
            new_events = [dump_event(se.event) for se in combined.events[n_old:]]
            if not new_events and not header_changed:
                return ImportSummary(book, 0, 0, None, tail.hash, skipped=len(raw_events))
            new_orders = {e["id"] for e in new_events if e["type"] == "order"}
            decisions = [d for d in result.decisions if d.order in new_orders]
            rows: list[tuple[str, str, str, str, dict[str, Any]]] = [
                ("import", "file", "", name, {"sha256": digest, "name": name, "by": who, "events": len(new_events),
                                              "decisions": len(decisions),
                                              "skipped": len(raw_events) - len(new_events)})]
            if header_changed:
                rows.append(("header", "header", "", name, header))
            for i, body in zip(fresh, new_events, strict=True):
                rows.append(("event", body["type"], body["at"], f"{name}#events[{i}]", body))
            for d in decisions:
                rows.append(("decision", d.action, d.at.isoformat(), f"order {d.order}", decision_json(d)))
            new_tail = self._append(conn, tail, book, rows)
        return ImportSummary(book, len(new_events), len(decisions), tail.seq + 1, new_tail.hash,
                             skipped=len(raw_events) - len(new_events))

    def void(self, book: str, seq: int, *, why: str, by: str | None = None, source: str | None = None,
             replayer: Callable[[Scenario], ReplayResult] = replay, then: AmendHook | None = None) -> AmendSummary:
        """Cancel the event recorded as ``seq``: a new record pointing at it (seq and hash), with who and why.
        The event is left out of the book from then on; the original stays in the log. ``source`` is the
        record's source (default ``record SEQ``); ``replayer`` replays the book with the cancellation (it must
        raise ``ScenarioError`` on an invalid book); ``then`` runs in the same transaction after the record is
        appended."""
        return self._amend(book, seq, None, why, by, source, replayer, then)

    def correct(self, book: str, seq: int, event: dict[str, Any], *, why: str, by: str | None = None,
                source: str | None = None, replayer: Callable[[Scenario], ReplayResult] = replay,
                then: AmendHook | None = None) -> AmendSummary:
        """Replace the event recorded as ``seq`` by ``event`` (scenario form): a new record pointing at the
        original (seq and hash), with who and why. The book is validated and replayed with the correction before
        anything is written (``source``, ``replayer``, ``then``: as for ``void``)."""
        if not isinstance(event, dict):
            raise ScenarioError(f"correction of record {seq}", "", None, "the corrected event is a mapping with "
                                                                          "'at' and 'type'")
        return self._amend(book, seq, event, why, by, source, replayer, then)

    def _amend(self, book: str, seq: int, event: dict[str, Any] | None, why: str, by: str | None,
               source: str | None = None, replayer: Callable[[Scenario], ReplayResult] = replay,
               then: AmendHook | None = None) -> AmendSummary:
        if not why.strip():
            raise StoreError("say why (--why): a correction or cancellation is recorded with its reason")
        who = by or default_user()
        action = "void" if event is None else "correct"
        name = f"{'cancellation' if event is None else 'correction'} of record {seq}"
        with self._writing() as (conn, tail):
            b = self._book(conn, book, "nothing was written")
            if b is None:
                raise self._no_book(conn, book)
            target = conn.execute(sa.select(log).where(log.c.seq == seq)).first()
            if target is None or target.book != book or target.kind != "event":
                what = ("no record" if target is None else
                        f"a {target.kind} record of book {target.book}" if target.book != book else
                        f"a {target.kind} record, not an event")
                reason = "unknown" if target is None else "book" if target.book != book else "kind"
                raise AmendRefused(f"record {seq} is {what}: only events of book {book} can be corrected or "
                                   f"cancelled (`regsho store export {book} --with-history` lists them)", reason)
            if seq in b.voided:
                raise AmendRefused(f"record {seq} was already cancelled by record {b.voided[seq]}", "voided")
            order = list(b.events)
            events = dict(b.events)
            if event is None:
                del events[seq]
            else:
                events[seq] = event
            assert b.header is not None
            in_force = list(events)
            try:
                sc = parse_document({**b.header, "events": list(events.values())}, name)
                result = replayer(sc)
            except ScenarioError as e:
                raise _by_record(e, in_force) from None
            body: dict[str, Any] = {"target": {"seq": seq, "hash": target.hash}, "by": who, "why": why}
            event_time = target.event_time
            if event is not None:
                idx = [s for s in order if s in events].index(seq)
                body["event"] = dump_event(sc.events[idx].event)
                event_time = body["event"]["at"]
            new_tail = self._append(conn, tail, book, [("amend", action, event_time, source or f"record {seq}",
                                                        body)])
            if then is not None:
                then(conn, result, new_tail)
        return AmendSummary(book, new_tail.seq, seq, action)


def _sqlite_setup(engine: sa.Engine) -> None:
    """SQLite: WAL, full sync, and transactions begun by us (``BEGIN IMMEDIATE`` for writers, so the write lock
    is held before the chain's tail is read) instead of by the driver on the first write."""

    @sa.event.listens_for(engine, "connect")
    def _connect(conn: Any, _: Any) -> None:
        conn.isolation_level = None
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _new_events(header: dict[str, Any], raw_events: list[Any], stored: _Book) -> list[int]:
    """The indexes of the file's events not already in the book. An event is already in the book when one with
    the same content (in the canonical form the store keeps, ids included) was recorded there; events without
    ids are matched by content alone, each recorded one matching at most one event of the file."""
    have = Counter(canonical(e) for e in stored.recorded)
    defs = {(e["type"], e["id"]): e for e in stored.events.values() if e.get("type") in _ID_TYPES and "id" in e}
    fresh: list[int] = []
    for i, raw in enumerate(raw_events):
        key = _normal_form(header, raw, defs)
        if key is not None and have[key] > 0:
            have[key] -= 1
            continue
        fresh.append(i)
    return fresh


def _normal_form(header: dict[str, Any], raw: object, defs: dict[tuple[str, str], dict[str, Any]]) -> str | None:
    """One event of a file in the canonical form the store keeps (``None`` if it does not parse on its own):
    parsed with just the events it names (the order a fill names, the locate an order or a release names) before it."""
    if not isinstance(raw, dict):
        return None
    context: list[dict[str, Any]] = []

    def need(kind: str, ident: object) -> None:
        d = defs.get((kind, str(ident)))
        if d is None or d in context:
            return
        if kind == "order" and d.get("locate") is not None:
            need("locate", d["locate"])
        context.append(d)

    t = raw.get("type")
    if t in ("fill", "cancel") and raw.get("order") is not None:
        need("order", raw["order"])
    if t == "order" and raw.get("locate") is not None:
        need("locate", raw["locate"])
    if t == "locate_release" and raw.get("id") is not None:
        need("locate", raw["id"])
    try:
        sc = parse_document({**header, "events": [*context, raw]}, "<event>")
    except (ScenarioError, TypeError, ValueError):
        return None
    return canonical(dump_event(sc.events[-1].event))


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


def _by_record(e: ScenarioError, seqs: list[int]) -> ScenarioError:
    """Name the event an error in a book is about by its record's seq, not by its index in the book."""
    m = re.match(r"events\[(\d+)\](.*)", e.where)
    if not m or int(m.group(1)) >= len(seqs):
        return e
    loc = f"{e.file}: {e.where}" if e.where else e.file
    if e.field:
        loc += f": field '{e.field}'"
    text = str(e)
    message = text[len(loc) + 2:] if text.startswith(loc + ": ") else text
    return ScenarioError(e.file, f"record {seqs[int(m.group(1))]}{m.group(2)}", e.field, message)


def _renumber(e: ScenarioError, offset: int, fresh: list[int]) -> ScenarioError:
    """Report an error in an appended file by the file's own event index, not the book's."""
    m = re.match(r"events\[(\d+)\](.*)", e.where)
    if not m or int(m.group(1)) < offset or int(m.group(1)) - offset >= len(fresh):
        return e
    return ScenarioError(e.file, f"events[{fresh[int(m.group(1)) - offset]}]{m.group(2)}", e.field,
                         str(e).split(": ", 3)[-1] if e.field else str(e).split(": ", 2)[-1])

