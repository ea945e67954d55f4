"""Use cases that wire adapters, the engine and the store together (the CLI and services call these)."""
