"""Immutable domain records and events: no I/O and no law."""
