"""The ``regsho`` command."""
