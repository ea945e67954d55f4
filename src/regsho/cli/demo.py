"""``regsho demo``: the demo firm's month into the store, with a progress bar, a summary naming what to look at, the
daily report, and how to open the dashboard. Parsing and rendering only; the work is ``regsho.demo.run``."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from regsho.demo import FULL, SMALL, DemoRun, run
from regsho.reports.documents import words

STAGES = {
    "market": "Securities and threshold lists",
    "surveillance": "Market makers' surveillance review",
    "orders": "Orders, fills, fails and close-outs",
    "store": "Recording the book in the store",
    "replay": "Replaying the stored book",
    "report": "Writing the daily report",
}


def firm_demo(console: Console, *, db: str | None, seed: int, small: bool, book: str, out_dir: Path | None,
              synthetic: bool, data: Path | None) -> DemoRun:
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        result = run(db, seed=seed, size=SMALL if small else FULL, book=book, out=out_dir, data=data,
                     synthetic=synthetic, progress=progress)
    render(result, console, db)
    return result


def _n(k: int, what: str) -> str:
    return f"{k:,} {what}" + ("" if k == 1 else "s")


def render(r: DemoRun, console: Console, db: str | None = None) -> None:
    """The summary; ``db`` is the store as the user named it (None: the default store)."""
    p = console.print
    res = r.result
    ds = res.decisions
    accepted = sum(d.accepted for d in ds)
    sc = res.scenario
    st = r.story
    p()
    p(f"[bold]{sc.firm.name}[/] ({sc.firm.id}), clearing for {', '.join(sc.firm.clears_for)}: "
      f"{len(sc.securities)} securities, {len(sc.accounts)} accounts, {st.first_day} to {st.last_day}",
      highlight=False)
    p(f"  securities and threshold lists: {r.market_source}", highlight=False, markup=False)
    p(f"  store {r.db}: {r.store_note}; {r.events:,} events, {len(ds):,} decisions ({accepted:,} accepted, "
      f"{len(ds) - accepted:,} rejected), {len(res.obligations):,} close-out obligations, "
      f"{_n(len(res.pre_borrow), 'pre-borrow period')}, {_n(len(res.notices), 'notice')}, "
      f"{_n(len(res.findings), 'finding')} "
      f"({r.seconds:.0f} s)", highlight=False, markup=False)
    p()
    p("[bold]What to look at[/]")
    m = r.missed
    if m is not None:
        sec = sc.securities.get(m.symbol)
        cured = "; ".join(f"{c.qty:,} by {c.by} at {words(c.at)}" for c in m.cured)
        p(f"  [red]Missed close-out[/] {m.id}: {m.qty:,} shares of {m.symbol} ({sec.name if sec else ''}), "
          f"{m.rule} fail of {m.bd} settling {m.settlement_date}, not closed out by {words(m.deadline)}"
          + (f"; cured late: {cured}" if cured else ""), highlight=False)
    box = r.penalty_box
    if box:
        first = box[0]
        until = words(first.until) if first.until else "not yet determined"
        p(f"  [red]Penalty box[/] (17 CFR 242.204(b)) in {first.symbol} for {', '.join(b.bd for b in box)} from "
          f"{words(first.start)} until {until}; released by {first.releases}; "
          f"{st.certified_bd} certified under the proviso to 204(b) and is not bound; {len(r.box_notices)} 204(c) "
          f"notices to {', '.join(sorted({n.to for n in r.box_notices}))}", highlight=False)
    refused = r.failing_mm_refused
    p(f"  [red]Failing market maker[/] {st.failing_mm} of MRDN, surveillance id {r.failing_mm_profile}: its quoting "
      f"in {', '.join(st.mm_symbols)} is not bona fide market making ({', '.join(r.failing_mm_findings) or '-'}); "
      f"{len(refused):,} short sales relying on the exception of 203(b)(2)(iii) refused "
      f"(NOT_BONA_FIDE_MARKET_MAKING), while {st.honest_mm}'s were accepted", highlight=False)
    p(f"  Rule 201 trigger in {st.ssr_symbol} at {words(st.ssr_at)}: {len(r.ssr_refused)} short sales at or below "
      f"the national best bid refused (PRICE_TEST_RESTRICTED)", highlight=False)
    clock = r.clock_obligation
    if clock is not None:
        p(f"  203(b)(3): {clock.symbol} on the threshold list with a CNS fail for 13 consecutive settlement days: "
          f"{clock.qty:,} shares to purchase by {words(clock.deadline)} ({clock.status})", highlight=False)
    reuse = res.decision(st.reuse_order)
    if reuse is not None:
        p(f"  Locate reuse after a buy-to-cover (FAQ 4.4): order {reuse.order} {reuse.action} "
          f"({', '.join(reuse.reasons)}); order {st.barred_reuse_order} in a hard-to-borrow security "
          f"{(res.decision(st.barred_reuse_order) or reuse).action}", highlight=False)
    returns = r.returns
    if returns:
        after = r.refused_after_return
        p("  Locates returned to the locate desk: " + "; ".join(
            f"{x.id} ({x.account}, {x.symbol}) {x.returned:,} shares at {words(x.at)}" for x in returns)
          + (f"; order {after.order} afterwards {after.action} ({', '.join(after.reasons)})" if after else ""),
          highlight=False)
    p()
    p(f"[bold]Daily report[/] for {st.last_day}:", highlight=False)
    for f in r.report_files[:2]:
        p(f"  {f}", highlight=False, markup=False)
    p(f"  and {len(r.report_files) - 2} CSV files beside them; again with: regsho report daily --book {r.book} "
      f"--date {st.last_day}" + (f" --db {db}" if db else ""), highlight=False, markup=False)
    p()
    opt = f" --db {db}" if db else ""
    p(f"[bold]Dashboard[/]: make yourself a key with [cyan]regsho keys add --role compliance --name YOU{opt}[/], "
      f"start the service with [cyan]regsho serve{opt}[/], open [cyan]http://127.0.0.1:8000/dashboard[/] and sign "
      f"in with the key (book {r.book})", highlight=False)
