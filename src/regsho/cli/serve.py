"""``regsho serve``: the live service on 127.0.0.1 (uvicorn, one worker: one writer per book)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer


def _duration(text: str) -> dt.timedelta | None:
    """The same durations as a book's ``gate_settings`` event, or 'off'."""
    from regsho.adapters.scenario import duration

    if text in ("none", "off"):
        return None
    try:
        return duration(text)
    except ValueError as e:
        raise typer.BadParameter(f"{e}, or 'off'") from None


def serve_cmd(
    db: Annotated[str | None, typer.Option("--db", envvar="REGSHO_DB",
                                           help="SQLite file path or postgresql://... (default: regsho.sqlite in "
                                                "the user's data directory, created on first run)")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    book: Annotated[list[str] | None, typer.Option("--book", help="Serve only these books (default: all).")]
    = None,
    reference_max_age: Annotated[str, typer.Option(
        "--reference-max-age", help="Short sales are rejected while the threshold or hard-to-borrow list is "
                                    "missing or older than this ('off' to not enforce).")] = "24h",
    snapshot_every: Annotated[int, typer.Option(help="Take an engine snapshot after this many events.")] = 50_000,
    snapshot_seconds: Annotated[float, typer.Option(help="... or after this many seconds.")] = 300.0,
) -> None:
    """Start the live service: the HTTP API under /v1, health at /health and /ready."""
    import uvicorn

    from regsho.app.paths import default_db
    from regsho.service import LiveService, LiveSource, authenticate, create_app
    from regsho.service.app import HotPath
    from regsho.store import Store, StoreError
    from regsho.web import create_router

    try:
        max_age = _duration(reference_max_age)
    except typer.BadParameter as e:
        sys.stderr.write(f"--reference-max-age: {e}\n")
        raise typer.Exit(2) from None
    target = db or default_db()
    try:
        store = Store(target, timeout=5.0)
        store.migrate()
        store.verify_before_read()  # a broken chain is refused here, in one line, before anything is served
        missing = sorted(set(book or ()) - set(store.books()))
    except StoreError as e:
        sys.stderr.write(f"store: {e}\n")
        raise typer.Exit(2) from None
    if missing:
        sys.stderr.write(f"--book: no book {', '.join(missing)} in {store.url} (create one with `regsho store "
                         f"import HEADER.yaml` or POST /v1/books)\n")
        raise typer.Exit(2)
    print(f"regsho serve: store {store.url}", flush=True)
    service = LiveService(store, books=book or None, reference_max_age=max_age, snapshot_every=snapshot_every,
                          snapshot_seconds=snapshot_seconds)
    app = create_app(service, routers=[create_router(LiveSource(service), authenticate)])
    print(f"regsho serve: http://{host}:{port}/v1 (OpenAPI at /docs, the dashboard at /dashboard)", flush=True)
    loop = "uvloop" if sys.platform != "win32" else "asyncio"
    # The gate's route in front of the whole framework (not only inside its middleware stack), and no proxy-header
    # rewriting: the service listens on loopback, with no proxy in front of it.
    uvicorn.run(HotPath(app, service), host=host, port=port, loop=loop, http="httptools", log_level="warning",
                access_log=False, proxy_headers=False, timeout_graceful_shutdown=10)


def bench_http_cmd(
    rate: Annotated[float, typer.Option(help="Fixed arrival rate for the latency runs (requests/s).")] = 10_000,
    seconds: Annotated[float, typer.Option(help="Length of each measured run.")] = 5.0,
    connections: Annotated[int, typer.Option(help="Keep-alive connections.")] = 64,
    db: Annotated[str | None, typer.Option("--db", help="Store to serve (default: a new SQLite file).")] = None,
    profile: Annotated[Path | None, typer.Option(help="Run the server under cProfile, write the profile here.")]
    = None,
) -> None:
    """POST /v1/orders/check over loopback from this process against `regsho serve` in another: requests/s and
    p50/p99/p99.9 next to the same server's empty endpoint."""
    from rich.console import Console

    from regsho.bench.http import run

    run(rate=rate, seconds=seconds, connections=connections, console=Console(), db=db, profile=profile)
