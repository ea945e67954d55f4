"""``regsho serve`` in its own process on 127.0.0.1, for the tests that need a real server (concurrency, crashes,
restarts)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: str, port: int | None = None, *extra: str) -> None:
        self.db = db
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        """Start the server; returns the seconds until it was ready."""
        t0 = time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "regsho.cli.main", "serve", "--db", self.db, "--port",
                                      str(self.port), *self.extra], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"regsho serve exited with {self.proc.returncode}: {err[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/ready", timeout=2).status_code == 200:
                    return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError("regsho serve did not get ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no snapshot, nothing flushed but what was committed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def serving(db: str, *extra: str) -> Iterator[Server]:
    s = Server(db, None, *extra)
    s.start()
    try:
        yield s
    finally:
        s.stop()
