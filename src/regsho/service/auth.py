"""Who is calling: an API key from the ``X-API-Key`` header, an ``Authorization: Bearer KEY`` header or the
``regsho_key`` cookie (set by the dashboard's login page), looked up by its SHA-256 among the store's keys."""

from __future__ import annotations

import time

import sqlalchemy as sa
from starlette.requests import HTTPConnection

from regsho.app.access import Principal, Role
from regsho.store import Store, StoreError
from regsho.store.keys import find_key, key_hash, list_keys
from regsho.store.live import keys

COOKIE = "regsho_key"


class KeyRing:
    """The store's keys by hash, refreshed every ``refresh`` seconds (so a revoked key stops working within that
    time); an unknown key is looked up in the store at most once every ``refresh`` seconds."""

    def __init__(self, store: Store, refresh: float = 10.0) -> None:
        self.store = store
        self.refresh = refresh
        self._by_hash: dict[str, Principal] = {}
        self._misses: dict[str, float] = {}
        self._loaded = 0.0

    def reload(self) -> None:
        with self.store._reading() as conn:
            rows = conn.execute(sa.select(keys.c.hash, keys.c.name, keys.c.role, keys.c.revoked_at)).all()
        self._by_hash = {r.hash: Principal(r.name, Role(r.role)) for r in rows if r.revoked_at is None}
        self._misses.clear()
        self._loaded = time.monotonic()

    def principal(self, key: str) -> Principal | None:
        h = key_hash(key)
        p = self._by_hash.get(h)
        if p is not None:
            return p
        now = time.monotonic()
        if now - self._misses.get(h, -1e9) < self.refresh or len(key) > 200:
            return None
        self._misses[h] = now
        if len(self._misses) > 10_000:
            self._misses.clear()
        try:
            info = find_key(self.store, key)
        except StoreError:
            return None
        if info is None:
            return None
        p = Principal(info.name, Role(info.role))
        self._by_hash[h] = p
        return p

    def count(self) -> int:
        return len(list_keys(self.store))


def key_of(conn: HTTPConnection) -> str | None:
    h = conn.headers
    k = h.get("x-api-key")
    if k:
        return k
    a = h.get("authorization")
    if a and a[:7].lower() == "bearer ":
        return a[7:].strip() or None
    return conn.cookies.get(COOKIE) or None


def authenticate(request: HTTPConnection) -> Principal | None:
    """The principal whose API key the request carries, or None (no key, an unknown or a revoked key)."""
    key = key_of(request)
    if key is None:
        return None
    ring: KeyRing | None = getattr(request.app.state, "keyring", None)
    if ring is None:
        return None
    return ring.principal(key)
