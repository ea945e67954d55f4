"""Signed checkpoints: the chain's head (and every book's) kept outside the database, signed with HMAC-SHA256.

A hash chain alone cannot tell a log cut back at its end, or one rewritten and re-hashed from the first record,
from an honest one: whoever can write the database can also recompute every hash. A checkpoint made earlier and
kept elsewhere can, as long as the key that signs it is not in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from regsho.store.chain import Point, Problem, canonical, count_upto, record_at
from regsho.store.errors import ChainBroken, StoreError
from regsho.store.schema import log

FORMAT = "regsho-checkpoint/1"
KEY_ENV = "REGSHO_CHECKPOINT_KEY"
#: Spot records kept in a checkpoint beside the head: a rewrite of the log is then placed between two of them.
ANCHORS = 256


def keygen(path: Path) -> None:
    """Write a new random 256-bit key to ``path``, readable by its owner only (mode 0600); never overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StoreError(f"{path} already exists: a key is never overwritten (remove it first)") from None
    except OSError as e:
        raise StoreError(f"cannot create {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "w") as f:
        if hasattr(os, "fchmod"):  # whatever the umask
            os.fchmod(f.fileno(), 0o600)
        f.write(secrets.token_hex(32) + "\n")


def key_path(key: Path | str | None) -> Path:
    if key is None:
        env = os.environ.get(KEY_ENV)
        if not env:
            raise StoreError(f"a checkpoint needs its key: give --key FILE or set {KEY_ENV} to the key file "
                             f"(make one with `regsho store keygen FILE`)")
        key = env
    return Path(key)


def load_key(key: Path | str | None) -> bytes:
    """The key in a key file (given, or named by ``REGSHO_CHECKPOINT_KEY``); refused if others can read it."""
    path = key_path(key)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes().strip()
    except OSError as e:
        raise StoreError(f"cannot read the key file {path}: {e.strerror or e}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(f"the key file {path} can be read by others (mode {stat.S_IMODE(mode):04o}): "
                         f"`chmod 600 {path}`")
    if len(data) < 32:
        raise StoreError(f"the key file {path} holds {len(data)} bytes; a key has at least 32 "
                         f"(make one with `regsho store keygen FILE`)")
    return data


@dataclass(frozen=True, slots=True)
class BookHead:
    seq: int
    hash: str
    records: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    head: Point
    books: dict[str, BookHead]
    anchors: tuple[tuple[int, str], ...]
    made_at: str


def _sign(key: bytes, body: dict[str, Any]) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical(body).encode("utf-8"), hashlib.sha256).hexdigest()


def make(conn: sa.Connection, head: Point, key: bytes) -> dict[str, Any]:
    """The signed checkpoint of a verified chain whose tail is ``head``."""
    books: dict[str, Any] = {}
    q = sa.select(log.c.book, sa.func.count(), sa.func.max(log.c.seq)).where(log.c.seq <= head.seq)
    for book, n, last in conn.execute(q.group_by(log.c.book)):
        row = record_at(conn, int(last))
        books[book] = {"seq": int(last), "hash": row.hash, "records": int(n)}
    step = max(1, -(-head.records // ANCHORS))
    anchors = []
    q2 = sa.select(log.c.seq, log.c.hash).where(log.c.seq <= head.seq).order_by(log.c.seq)
    for i, (seq, h) in enumerate(conn.execute(q2.execution_options(yield_per=5000))):
        if i % step == 0 or seq == head.seq:
            anchors.append([int(seq), h])
    body: dict[str, Any] = {
        "format": FORMAT,
        "made_at": dt.datetime.now(dt.UTC).isoformat(),
        "head": {"seq": head.seq, "hash": head.hash, "records": head.records},
        "books": dict(sorted(books.items())),
        "anchors": anchors,
    }
    return {**body, "signature": _sign(key, body)}


def read(path: Path, key: bytes) -> Checkpoint:
    """A checkpoint file, its signature checked: a forged or altered one raises ``ChainBroken``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise StoreError(f"cannot read the checkpoint {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise StoreError(f"{path} is not a regsho checkpoint (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("signature"), str):
        raise StoreError(f"{path} is not a regsho checkpoint (format {FORMAT!r} with a signature)")
    body = {k: v for k, v in doc.items() if k != "signature"}
    if not hmac.compare_digest(_sign(key, body), doc["signature"]):
        raise ChainBroken(f"checkpoint {path}: bad signature: forged, altered, or made with another key")
    try:
        h = doc["head"]
        head = Point(int(h["seq"]), str(h["hash"]), int(h["records"]))
        books = {str(b): BookHead(int(v["seq"]), str(v["hash"]), int(v["records"])) for b, v in doc["books"].items()}
        anchors = tuple((int(s), str(x)) for s, x in doc["anchors"])
        return Checkpoint(head, books, anchors, str(doc["made_at"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StoreError(f"{path} is signed but not a readable checkpoint") from None


def compare(conn: sa.Connection, cp: Checkpoint) -> list[Problem]:
    """Every way the records at or before the checkpoint's head differ from what it recorded."""
    problems: list[Problem] = []
    head = cp.head
    row = record_at(conn, head.seq) if head.seq else None
    head_changed = False
    if head.seq and row is None:
        problems.append(Problem(head.seq, "the checkpoint's head is missing: the log was cut back (records "
                                          "removed at its end)"))
    elif row is not None and row.hash != head.hash:
        head_changed = True
        problems.append(Problem(head.seq, f"the checkpoint's head no longer has the hash it was signed with "
                                          f"({head.hash[:16]}…): records at or before it were changed and "
                                          f"their hashes recomputed"))
    n = count_upto(conn, head.seq)
    if n != head.records:
        diff = head.records - n
        problems.append(Problem(None, f"{abs(diff)} record{'s' if abs(diff) > 1 else ''} at or before the "
                                      f"checkpoint's head (record {head.seq}) "
                                      f"{'removed' if diff > 0 else 'inserted'}"))
    if head_changed or row is None:
        last_good = 0
        for seq, h in cp.anchors:
            r = record_at(conn, seq)
            if r is None or r.hash != h:
                where = (f"after record {last_good} and at or before record {seq}" if last_good
                         else f"at or before record {seq}")
                problems.append(Problem(seq, f"{'missing' if r is None else 'differs from the checkpoint'}: the "
                                             f"first change is {where}"))
                break
            last_good = seq
    for book, bh in cp.books.items():
        got = count_upto(conn, head.seq, book)
        if got == 0:
            problems.append(Problem(None, f"book {book}: all {bh.records} of its records at the checkpoint are "
                                          f"gone: the book was deleted"))
            continue
        if got != bh.records:
            diff = bh.records - got
            problems.append(Problem(None, f"book {book}: {abs(diff)} of its records at the checkpoint "
                                          f"{'removed' if diff > 0 else 'inserted'} (it had {bh.records})"))
        r = record_at(conn, bh.seq)
        if r is None or r.book != book or r.hash != bh.hash:
            state = "missing" if r is None else "changed"
            problems.append(Problem(bh.seq, f"book {book}'s last record at the checkpoint is {state}"))
    return problems
