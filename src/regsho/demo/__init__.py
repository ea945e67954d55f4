"""The demo firm: a seeded month of a clearing firm and its correspondents (``build``: a scenario document, pure
and deterministic), recorded in a store and reported on (``run``)."""

from regsho.demo.firm import FULL, SMALL, Size, Story, build, build_with_story
from regsho.demo.runner import DemoRun, run

__all__ = ["FULL", "SMALL", "DemoRun", "Size", "Story", "build", "build_with_story", "run"]
