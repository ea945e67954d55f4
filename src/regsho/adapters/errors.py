"""The one error every input adapter raises: bad input, naming the file, where in it, and the field."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Bad input in a scenario file: ``file: where: field 'name': message`` on one line."""

    def __init__(self, file: str, where: str, field: str | None, message: str) -> None:
        self.file = file
        self.where = where
        self.field = field
        loc = f"{file}: {where}" if where else file
        if field:
            loc += f": field '{field}'"
        super().__init__(" ".join(f"{loc}: {message}".splitlines()))
