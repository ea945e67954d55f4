"""The dashboard: server-rendered pages over a ``BookSource`` (``create_router``), served by the live service or
alone by ``regsho dashboard``."""

from regsho.web.router import COOKIE, PAGES, create_router

__all__ = ["COOKIE", "PAGES", "create_router"]
