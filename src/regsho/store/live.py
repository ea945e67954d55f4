"""Writing a live book: batches of records appended in one transaction (group commit), the first answer to every
idempotency key kept with them, and engine snapshots tied to the chain.

The live writer is one more writer of the same chain: it takes the same lock as every writer (SQLite ``BEGIN
IMMEDIATE``, PostgreSQL ``LOCK TABLE``), checks that the tail is the record it wrote last — or walks and verifies
whatever another writer appended since — and appends. The full check (every record since the verified point, the
record count, the signed checkpoint) runs when a book is loaded; between batches the tail check is enough because
UPDATE, DELETE and inserts anywhere but the tail are refused by the database itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from regsho.store.chain import Point, record_hash, row_hash, walk
from regsho.store.errors import ChainBroken, StoreError
from regsho.store.log import Store
from regsho.store.schema import log

live_metadata = sa.MetaData()

keys = sa.Table(
    "regsho_keys", live_metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("revoked_at", sa.String(40), nullable=True),
)

requests = sa.Table(
    "regsho_requests", live_metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("book", sa.String(200), nullable=False),
    sa.Column("principal", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=True),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("response", sa.Text(), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

snapshots = sa.Table(
    "regsho_snapshots", live_metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("book", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("events", sa.BigInteger(), nullable=False),
    sa.Column("taken_at", sa.String(40), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("state", sa.LargeBinary(), nullable=False),
)


_TAIL = "SELECT seq, hash FROM regsho_log ORDER BY seq DESC LIMIT 1"


def body_json(obj: object) -> str:
    """A record body as stored by the live writer: canonical JSON (sorted keys, no spaces, UTF-8 kept)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Record:
    """A record to append: kind, type, event time, source (who and under which key), body (JSON text)."""

    kind: str
    type: str
    event_time: str
    source: str
    body: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The first answer to an idempotency key, kept with the records it produced."""

    key: str
    principal: str
    fingerprint: str
    seq: int | None
    status: int
    response: str


@dataclass(frozen=True, slots=True)
class Appended:
    point: Point
    #: books that another writer appended to since this writer's last batch
    foreign: frozenset[str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    book: str
    seq: int
    hash: str
    events: int
    version: str
    state: bytes


class ForeignWrite(StoreError):
    """Another writer appended to this book: the live state no longer covers every record; reload the book."""


class LiveLog:
    """The live writer's side of a store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pg = store.engine.dialect.name == "postgresql"
        ph = "%s" if self.pg else "?"
        cols = ("seq", "book", "kind", "type", "event_time", "recorded_at", "source", "body", "prev_hash", "hash")
        self._insert_log = f"INSERT INTO regsho_log ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
        rcols = ("key", "book", "principal", "fingerprint", "seq", "status", "response", "created_at")
        values = ", ".join([ph] * len(rcols))
        self._insert_req = (f"INSERT INTO regsho_requests ({', '.join(rcols)}) VALUES ({values}) ON CONFLICT DO "
                            f"NOTHING" if self.pg else
                            f"INSERT OR IGNORE INTO regsho_requests ({', '.join(rcols)}) VALUES ({values})")
        self._update_verified = (f"UPDATE regsho_verified SET seq = {ph}, hash = {ph}, records = {ph}, verified_at = "
                                 f"{ph} WHERE id = 1")
        #: SQLite: each writer thread's own driver connection, kept open between batches
        self._local = threading.local()

    # -- the tail ---------------------------------------------------------------------------------------------

    def verified_tail(self) -> Point:
        """Verify the whole store from its verified point (and against its checkpoint), and return the tail."""
        self.store.verify_before_read()
        with self.store._reading() as conn:
            return self.store._point(conn)

    @contextmanager
    def _locked(self) -> Iterator[sa.Connection]:
        st = self.store
        with st._guard(), st._writer.begin() as conn:
            if self.pg:
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(st.timeout * 1000)}ms'"))
                conn.execute(sa.text("LOCK TABLE regsho_log IN EXCLUSIVE MODE"))
            yield conn

    def _catch_up(self, conn: sa.Connection, expected: Point) -> tuple[Point, frozenset[str]]:
        row = conn.exec_driver_sql(_TAIL).first()
        if row is None and expected.seq == 0:
            return expected, frozenset()
        if row is not None and row.seq == expected.seq and row.hash == expected.hash:
            return expected, frozenset()
        problems, tail = walk(conn, expected)
        if problems or tail.seq < expected.seq:
            raise ChainBroken(f"{self.store.url} fails verification, nothing was written: "
                              + ("; ".join(map(str, problems[:3])) if problems else
                                 f"the log ends before record {expected.seq}, the last one written")
                              + "; run `regsho store verify` for all")
        books = conn.execute(sa.select(log.c.book).where(log.c.seq > expected.seq).distinct()).scalars().all()
        return tail, frozenset(books)

    def append(self, book: str, expected: Point, records: Sequence[Record],
               answers: Sequence[Answer] | Callable[[int], Sequence[Answer]] = ()) -> Appended:
        """Append ``records`` to ``book`` after ``expected`` (the tail this writer last saw) and keep ``answers``,
        in one transaction. ``Answer.seq`` is an index into ``records`` (or None); it is stored as the record's
        seq. ``answers`` may be a function of the first record's seq (the answers name the records' seqs).
        Raises ``ForeignWrite`` (nothing written) when another writer appended to ``book`` meanwhile."""
        if not self.pg:
            done = self._append_sqlite(book, expected, records, answers)
            if done is not None:
                return done
        recorded_at = now_utc()
        with self._locked() as conn:
            tail, foreign = self._catch_up(conn, expected)
            if book in foreign:
                raise ForeignWrite(f"book {book} was appended to by another writer; nothing was written")
            new, updated = self._write(conn.exec_driver_sql, conn.exec_driver_sql, book, tail, records, answers,
                                       recorded_at)
            if updated == 0:
                self.store._save_point(conn, new)
        return Appended(new, foreign)

    def _write(self, one: Callable[[str, Any], Any], many: Callable[[str, Any], Any], book: str, tail: Point,
               records: Sequence[Record], answers: Sequence[Answer] | Callable[[int], Sequence[Answer]],
               recorded_at: str) -> tuple[Point, int | None]:
        """Insert the records after ``tail`` and the answers, and move the verified point to the new tail, through
        ``one`` (a statement) and ``many`` (a statement over rows); returns the new tail and the number of verified
        points updated (None when there were no records: the point stays)."""
        rows, new = self._rows(book, tail, records, recorded_at)
        if rows:
            many(self._insert_log, rows)
        reqs = self._answer_rows(book, tail, answers, recorded_at)
        if reqs:
            many(self._insert_req, reqs)
        if not rows:
            return new, None
        return new, int(one(self._update_verified, (new.seq, new.hash, new.records, recorded_at)).rowcount)

    @staticmethod
    def _rows(book: str, tail: Point, records: Sequence[Record], recorded_at: str
              ) -> tuple[list[tuple[Any, ...]], Point]:
        prev, seq = tail.hash, tail.seq
        rows = []
        for r in records:
            h = record_hash(prev, book, r.kind, r.type, r.event_time, recorded_at, r.source, r.body)
            seq += 1
            rows.append((seq, book, r.kind, r.type, r.event_time, recorded_at, r.source, r.body, prev, h))
            prev = h
        return rows, Point(seq, prev, tail.records + len(rows))

    @staticmethod
    def _answer_rows(book: str, tail: Point, answers: Sequence[Answer] | Callable[[int], Sequence[Answer]],
                     recorded_at: str) -> list[tuple[Any, ...]]:
        base = tail.seq + 1
        if callable(answers):
            answers = answers(base)
        return [(a.key, book, a.principal, a.fingerprint, None if a.seq is None else base + a.seq, a.status,
                 a.response, recorded_at) for a in answers]

    def _append_sqlite(self, book: str, expected: Point, records: Sequence[Record],
                       answers: Sequence[Answer] | Callable[[int], Sequence[Answer]]) -> Appended | None:
        """The common case on SQLite on the writer thread's own driver connection: the same statements, lock
        (``BEGIN IMMEDIATE``), tail check and commit (with the connection's ``synchronous`` setting) as the
        general path, without the per-statement work of the SQL toolkit, which costs more than the statements
        themselves for a small batch. None (nothing written, the transaction rolled back) when the tail is not
        the one expected or the verified point has no row: the general path then does what it does."""
        conn = self._raw()
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                recorded_at = now_utc()
                row = cur.execute(_TAIL).fetchone()
                if (row is None and expected.seq != 0) or (row is not None and (row[0], row[1]) != (
                        expected.seq, expected.hash)):
                    cur.execute("ROLLBACK")
                    return None
                new, updated = self._write(cur.execute, cur.executemany, book, expected, records, answers,
                                           recorded_at)
                if updated == 0:
                    cur.execute("ROLLBACK")
                    return None
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    if conn.driver_connection.in_transaction:
                        cur.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            self.release()  # a connection that failed is not reused
            wrapped = sa.exc.DBAPIError.instance(None, None, e, sqlite3.Error)
            if isinstance(wrapped, sa.exc.DBAPIError):
                raise self.store._db_error(wrapped) from None
            raise StoreError(f"{self.store.url}: {e}") from None
        finally:
            with contextlib.suppress(sqlite3.Error):
                cur.close()
        return Appended(new, frozenset())

    def _raw(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.store.engine.raw_connection()
        return conn

    def release(self) -> None:
        """Give back this thread's driver connection (the live writer calls it from its thread when it stops)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def probe(self) -> None:
        """Take the writer's lock and let it go: raises ``StoreError`` when the store cannot be written now."""
        with self._locked() as conn:
            conn.execute(sa.select(log.c.seq).order_by(log.c.seq.desc()).limit(1)).first()

    # -- reading a book's later records -------------------------------------------------------------------------

    def rows_after(self, book: str, seq: int) -> list[sa.Row[Any]]:
        """The book's records after ``seq``, each re-hashed as it is read."""
        with self.store._reading() as conn:
            out = list(conn.execute(sa.select(log).where(log.c.book == book).where(log.c.seq > seq)
                                    .order_by(log.c.seq)))
        for r in out:
            if row_hash(r) != r.hash:
                raise ChainBroken(f"{self.store.url}: record {r.seq} of book {book} no longer hashes to its stored "
                                  f"hash; run `regsho store verify`")
        return out

    def book_rows(self, book: str, kinds: Iterable[str]) -> list[sa.Row[Any]]:
        with self.store._reading() as conn:
            return list(conn.execute(sa.select(log.c.seq, log.c.kind, log.c.type, log.c.source, log.c.body)
                                     .where(log.c.book == book).where(log.c.kind.in_(list(kinds)))
                                     .order_by(log.c.seq)))

    # -- answers to idempotency keys ----------------------------------------------------------------------------

    def recent_answers(self, book: str, since: dt.datetime) -> dict[str, tuple[str, int, str, int | None]]:
        """key -> (fingerprint, status, response, seq) of the answers given since ``since``."""
        with self.store._reading() as conn:
            rows = conn.execute(sa.select(requests.c.key, requests.c.fingerprint, requests.c.status,
                                          requests.c.response, requests.c.seq)
                                .where(requests.c.book == book)
                                .where(requests.c.created_at >= since.astimezone(dt.UTC).isoformat()))
            return {r.key: (r.fingerprint, int(r.status), r.response, r.seq) for r in rows}

    # -- snapshots -----------------------------------------------------------------------------------------------

    def save_snapshot(self, book: str, at: Point, events: int, version: str, state: bytes, keep: int = 3) -> None:
        """Keep the engine's state as of record ``at`` (the last record it includes); older snapshots of the book
        beyond the ``keep`` latest are dropped (they are a cache: the chain is the authority)."""
        digest = hashlib.sha256(state).hexdigest()
        st = self.store
        with st._guard(), st.engine.begin() as conn:
            conn.execute(snapshots.insert().values(book=book, seq=at.seq, hash=at.hash, events=events,
                                                   taken_at=now_utc(), sha256=digest, version=version,
                                                   state=state))
            ids = conn.execute(sa.select(snapshots.c.id).where(snapshots.c.book == book)
                               .order_by(snapshots.c.seq.desc(), snapshots.c.id.desc())).scalars().all()
            if len(ids) > keep:
                conn.execute(snapshots.delete().where(snapshots.c.id.in_(ids[keep:])))

    def latest_snapshot(self, book: str, version: str) -> tuple[Snapshot | None, str]:
        """The latest snapshot of ``book`` that holds: its bytes hash to the digest kept with it, it was taken by
        this version of the engine, and the chain still has its record (seq and hash) in this book. Returns the
        snapshot (or None) and why an existing one was not used."""
        why = "no snapshot"
        with self.store._reading() as conn:
            rows = conn.execute(sa.select(snapshots).where(snapshots.c.book == book)
                                .order_by(snapshots.c.seq.desc(), snapshots.c.id.desc())).all()
            for r in rows:
                if hashlib.sha256(r.state).hexdigest() != r.sha256:
                    why = f"snapshot at record {r.seq} does not hash to its digest"
                    continue
                if r.version != version:
                    why = f"snapshot at record {r.seq} was taken by engine version {r.version}, not {version}"
                    continue
                rec = conn.execute(sa.select(log).where(log.c.seq == r.seq)).first()
                if rec is None or rec.hash != r.hash or row_hash(rec) != r.hash or rec.book != book:
                    why = f"snapshot at record {r.seq} is not tied to the chain (record missing or changed)"
                    continue
                return Snapshot(book, int(r.seq), r.hash, int(r.events), r.version, bytes(r.state)), ""
        return None, why
