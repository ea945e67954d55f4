"""``regsho keys`` and ``regsho serve``'s refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.service.server import free_port

from regsho.cli.main import run
from regsho.store import Store
from regsho.store.keys import add_key, find_key


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
    assert run(["serve", "--db", str(tmp_path / "x.db"), "--book", "NOPE"]) == 2
    assert "no book NOPE" in capsys.readouterr().err


def test_serve_uses_and_prints_the_default_store(tmp_path: Path) -> None:


    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REGSHO_DB"}
    env.update(REGSHO_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "regsho.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        assert str(tmp_path / "home" / "regsho.sqlite") in first
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline().decode()
        for _ in range(400):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()["ready"] is True
        db = tmp_path / "home" / "regsho.sqlite"
        assert db.exists()
        # the dashboard is mounted on the same app, behind the same keys (the login page's cookie)
        assert httpx.get(f"http://127.0.0.1:{port}/dashboard/login", timeout=5).status_code == 200
        st = Store(str(db))
        key = add_key(st, "Casey", "compliance", "test")[1]
        st.close()
        page = httpx.get(f"http://127.0.0.1:{port}/dashboard", cookies={"regsho_key": key}, timeout=30)
        assert page.status_code == 200 and "Casey" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
