"""regsho: an engine for SEC Regulation SHO (17 CFR 242.200-204)."""

__version__ = "0.1.0"
