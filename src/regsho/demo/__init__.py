"""The demo firm: a seeded month of a clearing firm and its correspondents (``build``), run through the engine into
the store with its summary and daily report (``run``)."""

from regsho.demo.firm import FULL, SMALL, Size, Story, build, build_with_story

__all__ = ["FULL", "SMALL", "Size", "Story", "build", "build_with_story"]
