"""The dashboard served alone over a store (``regsho dashboard``): the same router the live service mounts, in an
application of its own, over the store's books."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.requests import Request

from regsho.app.access import Principal
from regsho.app.views import BookSource, BookView, StoreSource
from regsho.web.router import PREFIX, create_router


class CachedStoreSource:
    """``StoreSource`` that replays a book again only when the book has gained records.

    Every read still verifies the store first (incrementally, from its last verified point); a view is reused while
    the book's last record (seq and hash) is the one it was replayed up to, so reading a page does not replay the
    whole book each time.
    """

    def __init__(self, store: Any) -> None:  # regsho.store.Store
        from regsho.store.schema import log

        self.store = store
        self.inner = StoreSource(store)
        self._log = log
        self._views: dict[str, tuple[tuple[int, str], BookView]] = {}
        self._lock = threading.Lock()

    def books(self) -> list[str]:
        return self.inner.books()

    def _tail(self, name: str) -> tuple[int, str]:
        q = sa.select(self._log.c.seq, self._log.c.hash).where(self._log.c.book == name).order_by(
            self._log.c.seq.desc()).limit(1)
        with self.store.engine.connect() as conn:
            row = conn.execute(q).first()
        return (int(row[0]), str(row[1])) if row is not None else (0, "")

    def view(self, name: str) -> BookView:
        self.store.verify_before_read()
        tail = self._tail(name)
        hit = self._views.get(name)
        if hit is not None and hit[0] == tail:
            return hit[1]
        with self._lock:
            hit = self._views.get(name)
            if hit is not None and hit[0] == tail:
                return hit[1]
            v = self.inner.view(name)
            self._views[name] = (tail, v)
            return v


def create_app(source: BookSource, authenticate: Callable[[Request], Principal | None]) -> FastAPI:
    app = FastAPI(title="regsho dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_router(source, authenticate))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/static/favicon.svg", status_code=301)

    return app
