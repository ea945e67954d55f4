"""API keys for ``regsho dashboard`` on its own: a file of lines ``KEY ROLE NAME`` (``#`` starts a comment), read
once and validated line by line, and the ``authenticate`` that checks a request's key against it.

A request carries its key in the ``regsho_key`` cookie (set by the login form) or as ``Authorization: Bearer KEY``.
Keys are held only as SHA-256 digests once read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from starlette.requests import Request

from regsho.app.access import Principal, Role
from regsho.web.router import COOKIE, KEY_PATTERN

ENV = "REGSHO_DASHBOARD_KEYS"


class KeyFileError(ValueError):
    """A key file that cannot be used, naming the file, the line and the field."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse(text: str, path: str) -> dict[str, Principal]:
    """Digest of each key -> its principal. Raises ``KeyFileError`` naming the file, line and field."""
    out: dict[str, Principal] = {}
    names: set[str] = set()
    roles = ", ".join(r.value for r in Role)
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            field = "role" if len(parts) == 1 else "name"
            raise KeyFileError(f"{path}: line {n}: field '{field}': missing; expected KEY ROLE NAME")
        key, role, name = parts
        if not KEY_PATTERN.fullmatch(key) or len(key) < 16:
            raise KeyFileError(f"{path}: line {n}: field 'key': at least 16 characters of A-Z a-z 0-9 . _ ~ + / = -")
        if role not in {r.value for r in Role}:
            raise KeyFileError(f"{path}: line {n}: field 'role': {role!r} is not a role ({roles})")
        d = _digest(key)
        if d in out:
            raise KeyFileError(f"{path}: line {n}: field 'key': the same key is given twice")
        if name in names:
            raise KeyFileError(f"{path}: line {n}: field 'name': {name!r} is given twice")
        names.add(name)
        out[d] = Principal(name.strip(), Role(role))
    if not out:
        raise KeyFileError(f"{path}: line 1: field 'key': the file names no key")
    return out


def read(path: str | Path) -> dict[str, Principal]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"{path}: line 1: field 'key': cannot read the file: {e}") from None
    return parse(text, str(path))


def request_key(request: Request) -> str | None:
    """The key a request carries: the login cookie, else an ``Authorization: Bearer`` header."""
    key = request.cookies.get(COOKIE)
    if key:
        return key
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticator(keys: Mapping[str, Principal]) -> Callable[[Request], Principal | None]:
    """``authenticate(request)`` over a table of key digests."""
    table = dict(keys)

    def authenticate(request: Request) -> Principal | None:
        key = request_key(request)
        return table.get(_digest(key)) if key else None

    return authenticate
