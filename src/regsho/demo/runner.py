"""``regsho demo``: build the demo firm's month, record it in the store (one book), replay the stored book, and
write the daily report of its last day. Returns what happened, for the command line's summary and for tests."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regsho.app.daily import ReturnsEngine, locate_returns, report_of
from regsho.app.replay import ReplayResult, book_of, replay
from regsho.calendars import default_calendars
from regsho.core.records import Decision, Notice, Obligation, PreBorrowPeriod
from regsho.demo import market as mkt
from regsho.demo.firm import FULL, MAKERS, Size, Story, build_with_story, trading_days
from regsho.law import reasons as rc
from regsho.reports.daily import LocateReturn

#: the project root when run from a checkout (``src/regsho/demo/run.py``): the shared data sits next to it
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BOOK = "demo"

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stages ``market``, ``surveillance``, ``orders``, ``store``, ``replay``,
``report``."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    db: str
    book: str
    imported: bool
    #: why the book was (not) imported, or under which name, in words
    store_note: str
    events: int
    market_source: str
    story: Story
    result: ReplayResult
    report_files: tuple[Path, ...]
    seconds: float

    # -- what the summary names ---------------------------------------------------------------------------

    @property
    def decisions(self) -> list[Decision]:
        return self.result.decisions

    @property
    def missed(self) -> Obligation | None:
        return next((o for o in self.result.obligations if o.symbol == self.story.missed_symbol
                     and o.settlement_date == self.story.missed_fail_settles), None)

    @property
    def penalty_box(self) -> tuple[PreBorrowPeriod, ...]:
        m = self.missed
        return tuple(p for p in self.result.pre_borrow if m is not None and m.id in p.obligations)

    @property
    def box_notices(self) -> tuple[Notice, ...]:
        ids = {p.id for p in self.penalty_box}
        return tuple(n for n in self.result.notices if n.period in ids)

    def refused(self, account: str, code: str) -> list[Decision]:
        return [d for d in self.decisions if d.account == account and code in d.reasons]

    @property
    def failing_mm_refused(self) -> list[Decision]:
        return self.refused(self.story.failing_mm, rc.NOT_BONA_FIDE_MARKET_MAKING)

    @property
    def failing_mm_findings(self) -> tuple[str, ...]:
        codes: list[str] = []
        for d in self.failing_mm_refused:
            found = dict(d.facts).get("mm_verdict.findings")
            for code in found if isinstance(found, tuple) else ():
                if str(code) not in codes:
                    codes.append(str(code))
        return tuple(codes)

    @property
    def failing_mm_profile(self) -> str:
        return next((f"{mm} ({profile})" for mm, (acct, profile) in MAKERS.items()
                     if acct == self.story.failing_mm), self.story.failing_mm)

    @property
    def ssr_refused(self) -> list[Decision]:
        return [d for d in self.decisions if d.symbol == self.story.ssr_symbol
                and rc.PRICE_TEST_RESTRICTED in d.reasons]

    @property
    def returns(self) -> list[LocateReturn]:
        """The locates returned to the locate desk, as the engine applied each return."""
        return locate_returns(self.result)

    @property
    def refused_after_return(self) -> Decision | None:
        return self.result.decision(self.story.refused_after_return)

    @property
    def clock_obligation(self) -> Obligation | None:
        return next((o for o in self.result.obligations if o.rule.startswith("203(b)(3)")), None)

    @property
    def report_pdf(self) -> Path | None:
        return next((p for p in self.report_files if p.suffix == ".pdf"), None)


def market_for(seed: int, size: Size, data: Path | None) -> mkt.Market:
    """The real market when ``data`` holds the SEC files, else the synthetic one."""
    cal = default_calendars()
    days = trading_days(cal, size.days)
    if data is not None and mkt.available(data):
        return mkt.real(data, seed, size.securities, days, size.threshold, cal)
    return mkt.synthetic(seed, size.securities, days, size.threshold)


def default_data() -> Path | None:
    """``<project>/../shared/data`` when it holds the SEC files, else None."""
    d = mkt.shared_data(ROOT)
    return d if mkt.available(d) else None


def _stored_name(store: Any, book: str) -> str | None:
    """The scenario name recorded in a stored book's header (None when the book does not exist)."""
    if book not in store.books():
        return None
    rows = store.rows(book)
    try:
        for row in rows:
            if row.kind == "header":
                return str(json.loads(row.body).get("name"))
    finally:
        rows.close()
    return None


def run(db: str | None = None, *, seed: int = 7, size: Size = FULL, book: str = DEFAULT_BOOK,
        out: Path | None = None, data: Path | None = None, synthetic: bool = False,
        progress: Progress | None = None, by: str = "regsho demo", write_report: bool = True) -> DemoRun:
    """Build the demo (real threshold data from ``data``, default ``<project>/../shared/data`` when present, unless
    ``synthetic``), record it in the store ``db`` (default: the user's store) as book ``book``, replay the stored
    book and write the daily report of its last day into ``out`` (default: ``reports`` in the data directory).

    Running again is safe: a book that already holds the same demo is not imported twice; a book of that name
    holding something else is left alone and the demo goes into the first free name ``book-2``, ``book-3``, ...
    ``write_report=False`` skips the report (a test that only needs the stored book)."""
    from regsho.app import paths
    from regsho.store import Store

    t0 = time.perf_counter()

    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    step("market", 0, 1)
    source = None if synthetic else (data if data is not None else default_data())
    market = market_for(seed, size, source)
    step("market", 1, 1)
    doc, story = build_with_story(seed, size, market, step)
    store = Store(db or paths.default_db())
    step("store", 0, 1)
    try:
        store.migrate()
        name, imported, note = book, True, ""
        k = 1
        while True:
            stored = _stored_name(store, name)
            if stored is None:
                break
            if stored == doc["name"]:
                imported, note = False, f"book {name} already holds this demo: not imported again"
                break
            k += 1
            name = f"{book}-{k}"
        if imported:
            store.import_document(doc, f"regsho demo (seed {seed})", name, by=by)
            note = f"recorded as book {name}" + (f" (book {book} holds another demo)" if name != book else "")
        step("store", 1, 1)
        n = len(doc["events"])
        step("replay", 0, n)
        sc = store.load_book(name)
        n = len(sc.events)
        result = replay(sc, progress=lambda i: step("replay", i, n), engine=ReturnsEngine(book_of(sc)))
        files: list[Path] = []
        if write_report:
            step("report", 0, 1)
            report = report_of(result, story.last_day, name, generated_at=dt.datetime.now(dt.UTC))
            files = report.write(out or (paths.data_dir() / "reports"))
            step("report", 1, 1)
        return DemoRun(store.url, name, imported, note, n, market.source, story, result, tuple(files),
                       time.perf_counter() - t0)
    finally:
        store.close()
