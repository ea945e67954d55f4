"""The ``regsho`` command line: replay, check, explain, demo and benchmarks.

Typer builds the command line from type hints and Rich renders tables and plain-words explanations: both are
maintained, widely used libraries made for exactly this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from regsho.adapters.scenario import Scenario, ScenarioError, load
from regsho.engine.replay import ReplayResult, replay
from regsho.law import reasons as rc
from regsho.law.decision import Decision

app = typer.Typer(
    name="regsho",
    help="An engine for SEC Regulation SHO (17 CFR 242.200-204).",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks (not tests): figures next to a baseline measured in the same run.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _engine() -> None:
    """Load the engine's post-trade half if installed alongside (registers itself with the replay)."""
    import importlib.util

    if importlib.util.find_spec("regsho.engine.closeout") is not None:
        importlib.import_module("regsho.engine.closeout")


def _load_and_replay(files: list[Path]) -> list[tuple[Scenario, ReplayResult]]:
    _engine()
    done: list[tuple[Scenario, ReplayResult]] = []
    for f in files:
        sc = load(f)
        done.append((sc, replay(sc)))
    return done


def _bad_input(e: ScenarioError) -> typer.Exit:
    err.print(f"[bold red]bad input[/]: {e}", markup=True, highlight=False)
    return typer.Exit(2)


@app.command("replay")
def replay_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML or JSON).")],
    check: Annotated[bool, typer.Option("--check", help="Compare each file's expect block with the result.")]
    = False,
) -> None:
    """Replay scenario files through the engine; print JSON, or check expectations with --check."""
    from regsho.engine.check import check as check_result

    try:
        done = _load_and_replay(files)
    except ScenarioError as e:
        raise _bad_input(e) from None
    if not check:
        docs = [r.to_json() for _, r in done]
        json.dump(docs[0] if len(docs) == 1 else docs, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    passed = failed = 0
    for _, r in done:
        mismatches = check_result(r)
        for m in mismatches:
            print(m)
        if mismatches:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def explain_decision(d: Decision, console: Console) -> None:
    """Print one decision in plain words: outcome, each reason with its citation and the facts behind it."""
    verb = "ACCEPTED" if d.accepted else "REJECTED"
    colour = "green" if d.accepted else "red"
    console.print(f"Order [bold]{d.order}[/] at {d.at.isoformat()} was [bold {colour}]{verb}[/].")
    details = dict(d.details)
    for code in d.reasons:
        info = rc.CODES.get(code)
        meaning = info.meaning if info else ""
        console.print(f"  • [bold]{code}[/]: {meaning}.")
        if code in details:
            console.print(f"      {details[code]}.")
        if info:
            console.print(f"      Cites: {'; '.join(info.cites)}")
    extra = [c for c in d.cites if not any(c in rc.CODES[x].cites for x in d.reasons if x in rc.CODES)]
    if extra:
        console.print(f"  Also relies on: {'; '.join(extra)}")
    if d.locate:
        console.print(f"  Locate used: {d.locate}")
    if d.consume:
        console.print("  Consumed: " + ", ".join(f"{c.qty} from {c.kind} {c.id}" for c in d.consume))
    if d.facts:
        console.print("  Facts read:")
        for k, v in d.facts:
            console.print(f"    {k} = {v}", highlight=False)
    if d.params:
        console.print("  Parameters used:")
        for k, v in d.params:
            console.print(f"    {k} = {v}", highlight=False)


@app.command("explain")
def explain_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
) -> None:
    """Explain one order's decision in plain words, with citations and the facts behind it."""
    try:
        ((_, r),) = _load_and_replay([file])
    except ScenarioError as e:
        raise _bad_input(e) from None
    d = r.decision(order_id)
    if d is None:
        known = ", ".join(x.order for x in r.decisions) or "none"
        err.print(f"{file}: no order {order_id!r} (orders: {known})", highlight=False)
        raise typer.Exit(2)
    explain_decision(d, out)


def summary_table(sc: Scenario, r: ReplayResult) -> Table:
    t = Table(title=f"{sc.name}  ({Path(sc.path).name})", title_justify="left", show_lines=False)
    t.add_column("order")
    t.add_column("time")
    t.add_column("action")
    t.add_column("reasons")
    t.add_column("cites")
    for d in r.decisions:
        colour = "green" if d.accepted else "red"
        t.add_row(d.order, d.at.strftime("%Y-%m-%d %H:%M:%S"), f"[{colour}]{d.action}[/]", ", ".join(d.reasons),
                  "; ".join(d.cites))
    return t


@app.command("demo")
def demo_cmd(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenarios (default: the bundled examples).")]
    = None,
) -> None:
    """Replay scenarios (by default the bundled examples) and print every decision with its citations."""
    paths = files or sorted(EXAMPLES.glob("*.yaml"))
    try:
        done = _load_and_replay(paths)
    except ScenarioError as e:
        raise _bad_input(e) from None
    for sc, r in done:
        out.print(summary_table(sc, r))
        for key in ("obligations", "pre_borrow", "notices", "findings"):
            rows = getattr(r, key)
            if rows:
                out.print(f"  [bold]{key}[/]:")
                for row in rows:
                    out.print("    " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None),
                              highlight=False)
        rejected = [d for d in r.decisions if not d.accepted]
        if rejected:
            out.print("  Why the first rejection was made:")
            explain_decision(rejected[0], out)
        out.print()


@bench_app.command("gate")
def bench_gate_cmd(
    orders: Annotated[int, typer.Option(help="Orders in the synthetic day.")] = 1_000_000,
    symbols: Annotated[int, typer.Option(help="Securities.")] = 10_000,
    locates: Annotated[int, typer.Option(help="Locates granted before the open.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Replay a synthetic day through the gate: decisions/s and p50/p99 latency next to a look-up baseline."""
    from regsho.bench.gate import run

    run(orders=orders, symbols=symbols, locates=locates, seed=seed, console=out)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
