"""``regsho keys``: API keys of the live service (shown once when made, kept only hashed)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from regsho.app.access import Role

keys_app = typer.Typer(help="API keys of the live service: each belongs to one named principal with one role.",
                       no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", envvar="REGSHO_DB",
                                              help="SQLite file path or postgresql://... (default: the user's "
                                                   "regsho.sqlite)")]


def _store(db: str | None):  # type: ignore[no-untyped-def]
    from regsho.app.paths import default_db
    from regsho.store import Store, StoreError

    try:
        st = Store(db or default_db())
        st.migrate()
    except StoreError as e:
        sys.stderr.write(f"store: {e}\n")
        raise typer.Exit(2) from None
    return st


@keys_app.command("add")
def add_cmd(
    role: Annotated[Role, typer.Option("--role", help="trader, locate_desk, operations, compliance or admin")],
    name: Annotated[str, typer.Option("--name", help="Who holds the key (recorded on everything it submits).")],
    db: DbOption = None,
) -> None:
    """Make a key; it is printed once and kept only as its SHA-256."""
    from regsho.store import StoreError
    from regsho.store.keys import add_key
    from regsho.store.log import default_user

    st = _store(db)
    try:
        info, key = add_key(st, name, role.value, default_user())
    except StoreError as e:
        sys.stderr.write(f"keys: {e}\n")
        raise typer.Exit(2) from None
    finally:
        st.close()
    sys.stderr.write(f"key {info.id} for {info.name} ({info.role}) in {st.url}; it is shown only now:\n")
    print(key)


@keys_app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """Every key: id, holder, role, when made and by whom, revoked or not (never the key itself)."""
    from regsho.store.keys import list_keys

    st = _store(db)
    try:
        for k in list_keys(st):
            state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
            print(f"{k.id}  {k.name}  {k.role}  made {k.created_at} by {k.created_by}  {state}")
    finally:
        st.close()


@keys_app.command("revoke")
def revoke_cmd(key_id: Annotated[str, typer.Argument(help="The key's id (from `regsho keys list`).")],
               db: DbOption = None) -> None:
    """Revoke a key (the service stops accepting it within seconds)."""
    from regsho.store import StoreError
    from regsho.store.keys import revoke_key

    st = _store(db)
    try:
        k = revoke_key(st, key_id)
    except StoreError as e:
        sys.stderr.write(f"keys: {e}\n")
        raise typer.Exit(2) from None
    finally:
        st.close()
    print(f"{k.id} ({k.name}, {k.role}) revoked {k.revoked_at}")
