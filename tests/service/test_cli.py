"""``regsho keys`` and ``regsho serve``'s refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from regsho.cli.main import run
from regsho.store import Store
from regsho.store.keys import find_key


def test_keys_add_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "k.db")
    assert run(["keys", "add", "--role", "locate_desk", "--name", "Lee Desk", "--db", db]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("rsk_")
    st = Store(db)
    info = find_key(st, key)
    assert info is not None and (info.name, info.role) == ("Lee Desk", "locate_desk")
    assert run(["keys", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "Lee Desk" in listed and key not in listed and "active" in listed
    assert run(["keys", "revoke", info.id, "--db", db]) == 0
    assert find_key(st, key) is None
    st.close()
    assert run(["keys", "add", "--role", "boss", "--name", "X", "--db", db]) == 2
    assert run(["keys", "revoke", "nope", "--db", db]) == 2


def test_serve_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "--db", str(tmp_path / "no" / "such" / "dir.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run(["serve", "--db", str(tmp_path / "x.db"), "--reference-max-age", "soon"]) == 2
