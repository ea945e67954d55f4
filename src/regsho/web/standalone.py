"""The dashboard served alone over a store (``regsho dashboard``): the same router the live service mounts, in an
application of its own."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.requests import Request

from regsho.app.access import Principal
from regsho.app.views import BookSource
from regsho.web.router import PREFIX, create_router


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
