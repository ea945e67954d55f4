"""``regsho dashboard``: the dashboard served alone over a store, for auditors and reviewers; the live service
mounts the same pages. Parsing arguments and starting the server only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

#: the environment variable naming the key file (``regsho.web.keys.ENV``; not imported here so that every other
#: command starts without loading the web stack)
KEYS_ENV = "REGSHO_DASHBOARD_KEYS"


def dashboard_cmd(
    keys: Annotated[Path, typer.Option("--keys", envvar=KEYS_ENV,
                                       help="File of API keys, one per line: KEY ROLE NAME (roles: trader, "
                                            "locate_desk, operations, compliance, admin).")],
    db: Annotated[str | None, typer.Option("--db", envvar="REGSHO_DB", help="SQLite file path or SQLAlchemy URL "
                                           "(postgresql://...); default: the store in the user's data directory.")]
    = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the dashboard over the books of a store at http://HOST:PORT/dashboard (log in with a key)."""
    import uvicorn

    from regsho.app.paths import default_db
    from regsho.store import Store, StoreError
    from regsho.web import keys as keyfile
    from regsho.web.standalone import CachedStoreSource, create_app

    try:
        table = keyfile.read(keys)
    except keyfile.KeyFileError as e:
        sys.stderr.write(f"bad input: {e}\n")
        raise typer.Exit(2) from None
    try:
        store = Store(db or default_db())
        books = store.books()
    except StoreError as e:
        sys.stderr.write(f"store: {' '.join(str(e).splitlines())}\n")
        raise typer.Exit(2) from None
    app = create_app(CachedStoreSource(store), keyfile.authenticator(table))
    shown = f"[{host}]" if ":" in host else host
    print(f"regsho dashboard: {len(books)} book(s) in {store.url}; {len(table)} key(s) from {keys}; "
          f"open http://{shown}:{port}/dashboard", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()
