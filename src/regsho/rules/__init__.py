"""Rules as pure functions, organised by section of 17 CFR 242 and by paragraph.

Each function's docstring starts with its citation. Rules import only ``core``, ``law`` and ``calendars``.
"""
