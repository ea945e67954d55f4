"""The README's Python example runs and prints what the README says it does."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_readme_python_example() -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        *code, last = [line for line in block.splitlines() if line.strip()]
        expr, _, expected = last.partition("#")
        scope: dict[str, object] = {}
        exec("\n".join(code), scope)
        assert repr(eval(expr, scope)) == expected.strip()
