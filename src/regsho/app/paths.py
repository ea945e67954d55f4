"""Where regsho keeps its files by default: the store in the user's data directory (``REGSHO_DB`` overrides)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DB_ENV = "REGSHO_DB"


def data_dir() -> Path:
    """The user's regsho data directory (created on first use)."""
    d = Path(os.environ.get("REGSHO_HOME") or platformdirs.user_data_dir("regsho"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_db() -> str:
    """The store used when no ``--db`` is given: ``REGSHO_DB`` if set, else ``regsho.sqlite`` in the data
    directory."""
    return os.environ.get(DB_ENV) or str(data_dir() / "regsho.sqlite")
