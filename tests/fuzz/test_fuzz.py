"""Mutation fuzzing of scenario input through the real ``regsho`` command (docs/scenarios.md, "Input rules").

Thousands of mutants of the bundled examples and project scenarios (``tests/fuzz/mutate.py``; seed from
``REGSHO_FUZZ_SEED``, time budget from ``REGSHO_FUZZ_SECONDS``) go through ``regsho.cli.main.run`` in this process,
and a sample of the most hostile ones through a subprocess under a memory limit and a timeout. Every outcome must
be exit 0 or 1 (a valid mutant) or exit 2 with exactly one line on standard error naming the file: never a
traceback, an internal error, a hang or a memory blow-up.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.fuzz.mutate import BOMB, Mutant, argv_for, corpus, describe, make, problems, run_in_process

SEED = int(os.environ.get("REGSHO_FUZZ_SEED", "20261201"))
BUDGET_S = float(os.environ.get("REGSHO_FUZZ_SECONDS", "50"))
MAX_MUTANTS = 4000
MIN_MUTANTS = 400
SLOW_S = 10.0
MEMORY_LIMIT = 3 * 1024**3
SUBPROCESS_TIMEOUT_S = 60


def test_mutants_through_the_command_in_process(tmp_path: Path) -> None:
    files = corpus()
    failures: list[str] = []
    codes: Counter[int] = Counter()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    n = 0
    while n < MAX_MUTANTS and (time.perf_counter() - t0 < BUDGET_S or n < MIN_MUTANTS):
        m = make(SEED, n, files)
        path = tmp_path / f"m{n}{m.suffix}"
        path.write_bytes(m.data)
        o = run_in_process(argv_for(m, path))
        codes[o.code] += 1
        bad = problems(m, path, o)
        if o.seconds > SLOW_S:
            bad.append(f"took {o.seconds:.1f} s")
        if bad:
            failures.append(describe(m, path, o, bad))
        path.unlink()
        n += 1
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(f"seed {SEED}: {n} mutants in {time.perf_counter() - t0:.0f} s, exit codes {dict(sorted(codes.items()))}")
    assert not failures, f"{len(failures)} of {n} mutants (seed {SEED}) failed:\n" + "\n".join(failures[:20])
    assert codes[2] > n // 4 and codes[0] + codes[1] > 0, codes  # both bad and valid mutants were exercised
    assert grown_mib < 1024, f"peak memory grew by {grown_mib:.0f} MiB over {n} mutants"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


HOSTILE_FILES: dict[str, bytes] = {
    "alias_bomb.yaml": (BOMB + "version: 1\nfirm: {id: F}\nevents: []\n").encode(),
    "alias_bomb_in_expect.yaml": ("version: 1\nfirm: {id: F}\nevents: []\nexpect:\n" + "".join(
        "  " + line + "\n" for line in BOMB.splitlines())).encode(),
    "deep_flow.yaml": b"version: 1\nfirm: {id: F}\nevents: []\nexpect: " + b"[" * 900 + b"]" * 900 + b"\n",
    "deep.json": b'{"version": 1, "firm": {"id": "F"}, "events": [], "expect": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "digits.yaml": b"version: 1\nfirm: {id: F}\nsecurities: {X: {shares_outstanding: " + b"9" * 4300 + b"}}\n"
                   b"events: []\n",
    "digits.json": b'{"version": 1, "firm": {"id": "F"}, "events": [], "securities": {"X": {"shares_outstanding": '
                   + b"9" * 4300 + b"}}}",
    "utf16.yaml": "version: 1\nfirm: {id: F}\nevents: []\n".encode("utf-16"),
    "binary.yaml": bytes(range(256)) * 64,
    "year_9999.yaml": b'version: 1\nfirm: {id: F}\nevents: [{at: "9999-12-31T23:59:59-12:00", type: ssr, '
                      b"symbol: X}]\n",
}


def _run_subprocesses(jobs: list[tuple[str, list[str], Path, Mutant | None]]) -> list[str]:
    """Run the jobs four at a time, each under the memory limit and the timeout; return what went wrong."""
    failures: list[str] = []
    cmd = [sys.executable, "-c", "from regsho.cli.main import main; main()"]
    pending = list(jobs)
    while pending:
        batch, pending = pending[:4], pending[4:]
        procs = [(label, path, m, subprocess.Popen([*cmd, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     preexec_fn=_limit_memory))
                 for label, argv, path, m in batch]
        for label, path, m, p in procs:
            try:
                out, err = p.communicate(timeout=SUBPROCESS_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                failures.append(f"{label}: no answer within {SUBPROCESS_TIMEOUT_S} s")
                continue
            text = err.decode("utf-8", "replace")
            if p.returncode not in (0, 1, 2) or "Traceback" in text:
                failures.append(f"{label}: exit {p.returncode}, stderr {text[:300]!r}")
            elif p.returncode == 2 and (len(text.splitlines()) != 1 or str(path) not in text):
                failures.append(f"{label}: exit 2 without one line naming the file: {text[:300]!r}")
            elif m is not None and m.argv_kind == "replay" and p.returncode == 2 and out:
                failures.append(f"{label}: output printed for bad input")
    return failures


def test_hostile_files_through_a_subprocess_with_a_memory_limit(tmp_path: Path) -> None:
    jobs: list[tuple[str, list[str], Path, Mutant | None]] = []
    for fname, data in HOSTILE_FILES.items():
        path = tmp_path / fname
        path.write_bytes(data)
        jobs.append((fname, ["replay", str(path)], path, None))
    files = corpus()
    for k in range(6):
        m = make(SEED + 1, k, files)
        path = tmp_path / f"sample{k}{m.suffix}"
        path.write_bytes(m.data)
        jobs.append((f"seed {SEED + 1} mutant {k} ({m.what})", argv_for(m, path), path, m))
    failures = _run_subprocesses(jobs)
    assert not failures, "\n".join(failures)


def test_the_generator_is_reproducible() -> None:
    files = corpus()
    assert [make(SEED, k, files).data for k in range(20)] == [make(SEED, k, files).data for k in range(20)]
    assert len({make(SEED, k, files).data for k in range(20)}) > 15
