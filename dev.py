#!/usr/bin/env python3
"""Set up and run regsho on a fresh machine with only Python (>= 3.11) and access to PyPI.

    python3 dev.py demo     # create .venv, install, run the demo firm into the store (regsho demo)
    python3 dev.py test     # create .venv, install, run ruff, mypy, pytest and the acceptance scenarios

Anything after the command is passed on (to ``regsho demo`` or to pytest).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".regsho-install"
SHARED = ROOT.parent / "shared"
CHROMIUM = Path("/usr/bin/chromium")


def run(*cmd: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and rc != 0:
        sys.exit(rc)
    return rc


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"regsho needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev,spark]")
    STAMP.write_text(want)


def ensure_browser() -> None:
    """The dashboard's browser tests drive Debian's chromium: install it (apt-get) when it is missing. Without it
    (no apt-get, no root or sudo, or the install fails) those tests skip and say why."""
    if CHROMIUM.exists():
        return
    apt = shutil.which("apt-get")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    sudo = [] if root else ["sudo", "-n"] if shutil.which("sudo") else None
    if apt is None or sudo is None:
        print(f"browser tests: {CHROMIUM} is missing and cannot be installed here (needs apt-get as root); skipped")
        return
    os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
    if run(*sudo, apt, "install", "-y", "chromium", check=False) != 0:
        run(*sudo, apt, "update", check=False)
        run(*sudo, apt, "install", "-y", "chromium", check=False)
    if not CHROMIUM.exists():
        print(f"browser tests: installing chromium did not give {CHROMIUM}; skipped")


def demo(args: list[str]) -> None:
    run(BIN / "regsho", "demo", *args)


def test(args: list[str]) -> None:
    ensure_browser()
    run(BIN / "ruff", "check", "src", "tests")
    run(BIN / "mypy")
    workers = [] if any(a.startswith("-n") for a in args) else ["-n", "2"]
    run(PY, "-m", "pytest", *workers, *args)
    scenarios = sorted((SHARED / "scenarios").glob("*.yaml"))
    if scenarios:
        run(BIN / "regsho", "replay", "--check", *scenarios)
    else:
        print(f"acceptance scenarios: {SHARED / 'scenarios'} not present, skipped")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        sys.exit(__doc__)
    ensure_env()
    {"demo": demo, "test": test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
