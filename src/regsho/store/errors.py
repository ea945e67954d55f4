"""What the store refuses, as exceptions the command line turns into one line each."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot do what was asked (not initialised, unreachable, conflicting book...)."""


class ChainBroken(StoreError):
    """The records fail verification: nothing is read from them and nothing is appended to them."""


class AlreadyImported(StoreError):
    """The file (by its SHA-256) is already recorded in the store: importing it again would record nothing."""
