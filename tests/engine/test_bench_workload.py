"""The close-out benchmark's synthetic firm is stationary: what it owes at the end of the year is what it owed at the
start, so the benchmark's events/s through the year measure the engine and not a backlog the workload builds up."""

from __future__ import annotations

import collections

from regsho.app.replay import book_of
from regsho.bench.closeouts import build
from regsho.engine.book import BookEngine


def test_synthetic_year_does_not_build_up_a_backlog() -> None:
    sc = build(year=2025, fails_per_day=100, orders_per_day=100, securities=500, seed=2)
    engine = BookEngine(book_of(sc))
    missed: collections.Counter[int] = collections.Counter()
    created: collections.Counter[str] = collections.Counter()
    for se in sc.events:
        for o in engine.apply(se.event).obligations:
            if o.change == "created":
                created[o.rule] += 1
            if o.change == "missed":
                missed[(se.event.at.month - 1) // 3] += 1
    # the firm's 203(b)(3) obligations are real and closed out like the rest
    assert any("203(b)(3)" in r for r in created)
    boxes = engine.closeout.box.boxes
    assert boxes, "the firm misses some close-outs, so pre-borrow periods start"
    assert sum(1 for b in boxes if b.until is None) <= len(boxes) // 100
    # misses (the firm is late now and then) stay level through the year instead of compounding
    assert missed[3] <= 1.5 * missed[0], dict(missed)


def test_by_type_pass_times_every_kind_of_event() -> None:
    import io

    from rich.console import Console

    from regsho.bench.closeouts import run

    buf = io.StringIO()
    results = run(year=2025, sizes=(50, 100), seed=3, console=Console(file=buf, width=160), days=3, by_type=True)
    for r in results:
        assert set(r["seconds_by_type"]) == set(r["counts"])
        assert all(v > 0 for v in r["seconds_by_type"].values())
    text = buf.getvalue()
    assert "µs per event, by event type" in text
    assert "at the cost per event type of 50 fails/day; measured / predicted" in text
