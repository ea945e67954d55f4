"""The hash chain: how a record is hashed, and the walk that names every record that does not hold."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from regsho.store.schema import log

GENESIS = "0" * 64


def canonical(obj: object) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; the form that is hashed and stored."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, book: str, kind: str, type_: str, event_time: str, recorded_at: str, source: str,
                body: str) -> str:
    """SHA-256 of the fields in this order, each UTF-8 and followed by a unit separator (0x1F)."""
    return hashlib.sha256("\x1f".join((prev_hash, book, kind, type_, event_time, recorded_at, source, body, ""))
                          .encode("utf-8")).hexdigest()


def row_hash(row: Any) -> str:
    """The hash a stored row's own fields give (compare with ``row.hash``)."""
    return record_hash(row.prev_hash, row.book, row.kind, row.type, row.event_time, row.recorded_at, row.source,
                       row.body)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the records: the record it concerns (``None`` for the log as a whole) and what."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return self.what if self.seq is None else f"record {self.seq}: {self.what}"


@dataclass(frozen=True, slots=True)
class Point:
    """A place in the chain: the record at ``seq`` has ``hash`` and there are ``records`` records up to it."""

    seq: int
    hash: str
    records: int


START = Point(0, GENESIS, 0)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    records: int
    problems: tuple[Problem, ...]
    head: Point
    checkpoint: Point | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return next((p.seq for p in self.problems if p.seq is not None), None)

    @property
    def message(self) -> str:
        if self.ok:
            tail = (f"; matches the checkpoint at record {self.checkpoint.seq}" if self.checkpoint is not None
                    else "")
            return f"{self.records} records, chain intact{tail}"
        n = len(self.problems)
        return f"{n} problem{'s' if n > 1 else ''} in {self.records} records: " + "; ".join(map(str, self.problems))


def walk(conn: sa.Connection, after: Point = START) -> tuple[list[Problem], Point]:
    """Check every record after ``after``: each must hash to its stored hash and be chained to the record before
    it. Every broken record is reported, not only the first: after a break the walk goes on from the record as
    stored. Returns the problems and the point reached (the tail)."""
    problems: list[Problem] = []
    expected, prev_seq, n = after.hash, after.seq, after.records
    q = sa.select(log).where(log.c.seq > after.seq).order_by(log.c.seq)
    for row in conn.execute(q.execution_options(yield_per=5000)):
        n += 1
        if row_hash(row) != row.hash:
            problems.append(Problem(row.seq, "edited: its contents no longer hash to its stored hash"))
        if row.prev_hash != expected:
            problems.append(Problem(row.seq, _link_problem(conn, row, prev_seq)))
        expected, prev_seq = row.hash, row.seq
    return problems, Point(prev_seq, expected, n)


def _link_problem(conn: sa.Connection, row: Any, prev_seq: int) -> str:
    if row.prev_hash == GENESIS:
        return f"is chained as the first record but comes after record {prev_seq}: records were reordered"
    target = conn.execute(sa.select(log.c.seq).where(log.c.hash == row.prev_hash)).scalar()
    if target is not None:
        if target > row.seq:
            return f"is chained after record {target}, which comes later: records were reordered"
        return f"is chained after record {target}, not after record {prev_seq}: records were reordered"
    if prev_seq == 0:
        return "is chained to a record that is missing: the records before it were removed"
    return (f"is chained to a record that is missing: a record between {prev_seq} and {row.seq} was removed, or "
            f"record {prev_seq} was rewritten")


def record_at(conn: sa.Connection, seq: int) -> Any:
    return conn.execute(sa.select(log).where(log.c.seq == seq)).first()


def count_upto(conn: sa.Connection, seq: int, book: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(log).where(log.c.seq <= seq)
    if book is not None:
        q = q.where(log.c.book == book)
    return int(conn.execute(q).scalar_one())


def check_point(conn: sa.Connection, point: Point, what: str) -> list[Problem]:
    """The record at a verified point is still there, still hashes to what was verified, and the number of
    records up to it is unchanged: three indexed look-ups instead of a walk from the first record."""
    if point.seq == 0:
        n = count_upto(conn, 0)
        return [Problem(None, f"{n} records were inserted before the first record")] if n else []
    row = record_at(conn, point.seq)
    if row is None:
        return [Problem(point.seq, f"{what} is missing: the log was cut back (records removed at its end)")]
    problems = []
    if row.hash != point.hash or row_hash(row) != point.hash:
        problems.append(Problem(point.seq, f"{what} has changed since (its hash was {point.hash[:16]}…)"))
    n = count_upto(conn, point.seq)
    if n != point.records:
        diff = point.records - n
        problems.append(Problem(None, f"{abs(diff)} record{'s' if abs(diff) > 1 else ''} at or before {what} "
                                      f"(record {point.seq}) {'removed' if diff > 0 else 'inserted'}"))
    return problems
