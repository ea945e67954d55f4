"""API keys: random, shown once when made, kept only as their SHA-256 (a 256-bit random key needs no slow hash:
there is nothing to guess), each belonging to one named principal with one role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from regsho.store.errors import StoreError
from regsho.store.live import keys, now_utc
from regsho.store.log import Store

PREFIX = "rsk_"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_key(store: Store, name: str, role: str, by: str) -> tuple[KeyInfo, str]:
    """Make a key for ``name`` with ``role``; returns its record and the key itself (shown once, never kept)."""
    if not name.strip():
        raise StoreError("a key belongs to someone: give --name")
    kid = secrets.token_hex(6)
    key = f"{PREFIX}{kid}_{secrets.token_urlsafe(32)}"
    info = KeyInfo(kid, name.strip(), role, now_utc(), by, None)
    with store._guard(), store.engine.begin() as conn:
        conn.execute(keys.insert().values(id=info.id, name=info.name, role=info.role, hash=key_hash(key),
                                          created_at=info.created_at, created_by=by, revoked_at=None))
    return info, key


def list_keys(store: Store) -> list[KeyInfo]:
    with store._reading() as conn:
        rows = conn.execute(sa.select(keys).order_by(keys.c.created_at)).all()
    return [KeyInfo(r.id, r.name, r.role, r.created_at, r.created_by, r.revoked_at) for r in rows]


def revoke_key(store: Store, kid: str) -> KeyInfo:
    with store._guard(), store.engine.begin() as conn:
        row = conn.execute(sa.select(keys).where(keys.c.id == kid)).first()
        if row is None:
            raise StoreError(f"no key {kid!r} (`regsho keys list` shows them)")
        if row.revoked_at is None:
            conn.execute(sa.update(keys).where(keys.c.id == kid).values(revoked_at=now_utc()))
    return next(k for k in list_keys(store) if k.id == kid)


def find_key(store: Store, key: str) -> KeyInfo | None:
    """The key's record if it exists and is not revoked."""
    with store._reading() as conn:
        r = conn.execute(sa.select(keys).where(keys.c.hash == key_hash(key))).first()
    if r is None or r.revoked_at is not None:
        return None
    return KeyInfo(r.id, r.name, r.role, r.created_at, r.created_by, r.revoked_at)
