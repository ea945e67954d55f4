"""What each dashboard page shows, computed from one ``BookView``: the engine's records (decisions, obligations,
pre-borrow periods, notices, findings), the engine's state (locates, lists, surveillance verdicts, the 203(b)(3)
count) and the store's history of the book. Read only; nothing here re-decides anything the engine decided.

Every time is shown in America/New_York. A page is "as of" a moment: by default the wall clock when the book's last
event is today (a live book), otherwise the book's last event (a book of past days reads as it stood at its end).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from regsho.app.views import BookView
from regsho.calendars import ET, Calendars, default_calendars
from regsho.core.records import Decision, Finding, Notice, Obligation, ParamValue, PreBorrowPeriod
from regsho.engine.book import BookEngine
from regsho.law import reasons as rc
from regsho.rules import r203_b3

# -- times ---------------------------------------------------------------------------------------------------------


def et(t: dt.datetime) -> dt.datetime:
    return t.astimezone(ET)


def when(t: dt.datetime | dt.date | None, seconds: bool = False) -> str:
    """A time as ``2025-03-12 09:30 ET`` (a date as ``2025-03-12``); empty for None."""
    if t is None:
        return ""
    if isinstance(t, dt.datetime):
        x = et(t)
        return x.strftime("%Y-%m-%d %H:%M:%S ET" if seconds or x.second else "%Y-%m-%d %H:%M ET")
    return t.isoformat()


def span(delta: dt.timedelta) -> str:
    """A duration in words: ``2 h 05 min``, ``3 d 4 h``, ``45 min``."""
    mins = int(delta.total_seconds() // 60)
    d, rem = divmod(mins, 24 * 60)
    h, m = divmod(rem, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min"


def plain(v: object) -> str:
    """A fact's value in words: times in ET, windows as 'from .. until', tuples joined."""
    if isinstance(v, dt.datetime | dt.date):
        return when(v)
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, dt.datetime) for x in v):
        return f"from {when(v[0])} until {when(v[1])}"
    if isinstance(v, tuple | list | frozenset | set):
        return ", ".join(plain(x) for x in v) or "none"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def parse_as_of(text: str) -> dt.datetime:
    """``2025-03-12`` (its end) or ``2025-03-12T10:00`` / ``2025-03-12 10:00`` in ET; raises ValueError."""
    s = text.strip().replace(" ", "T")
    if len(s) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(s), dt.time(23, 59, 59), ET)
    t = dt.datetime.fromisoformat(s)
    return t.replace(tzinfo=ET) if t.tzinfo is None else t.astimezone(ET)


@dataclass(frozen=True, slots=True)
class Moment:
    """The moment a page is read as of, and why that one."""

    at: dt.datetime
    why: str


def as_of(view: BookView, override: dt.datetime | None = None) -> Moment:
    if override is not None:
        return Moment(et(override), "chosen")
    now = et(view.updated_at)
    last = view.engine.last if view.engine is not None else None
    if last is None or et(last).date() == now.date() or et(last) > now:
        return Moment(now, "now")
    return Moment(et(last), "the book's last event")


def calendars(view: BookView) -> Calendars:
    return view.engine.cal if view.engine is not None else default_calendars()


# -- the store's history -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event of the book as it stands (a corrected event in its corrected form), with where it is recorded."""

    seq: int
    type: str
    at: dt.datetime
    body: dict[str, Any]
    source: str
    recorded_at: str
    status: str

    def summary(self) -> str:
        """The event's fields other than its type and time, in one line."""
        parts = []
        for k, v in self.body.items():
            if k in ("type", "at"):
                continue
            if isinstance(v, list):
                v = ", ".join(map(str, v)) if len(v) <= 12 else f"{len(v)} symbols"
            parts.append(f"{k}: {v}")
        return "; ".join(parts)


def _event_time(body: dict[str, Any]) -> dt.datetime:
    t = dt.datetime.fromisoformat(str(body["at"]))
    return t.replace(tzinfo=ET) if t.tzinfo is None else t.astimezone(ET)


#: the events of the last few histories read (a book's view is reused until the book changes, and with it its history)
_SEEN: dict[int, tuple[Sequence[dict[str, Any]], tuple[StoredEvent, ...]]] = {}


def events_in_force(history: Sequence[dict[str, Any]]) -> tuple[StoredEvent, ...]:
    """The book's events in the order recorded: cancelled ones left out, corrected ones in their latest form."""
    hit = _SEEN.get(id(history))
    if hit is not None and hit[0] is history:
        return hit[1]
    out = tuple(_events_in_force(history))
    if len(_SEEN) >= 8:
        _SEEN.clear()
    _SEEN[id(history)] = (history, out)
    return out


def _events_in_force(history: Sequence[dict[str, Any]]) -> list[StoredEvent]:
    corrections: dict[int, dict[str, Any]] = {}
    for rec in history:
        if rec.get("kind") == "amend" and isinstance(rec.get("body"), dict) and rec["body"].get("event"):
            target = rec["body"].get("target", {}).get("seq")
            if isinstance(target, int):
                corrections[target] = rec["body"]["event"]
    out = []
    for rec in history:
        if rec.get("kind") != "event" or rec.get("status") == "voided":
            continue
        body = corrections.get(rec["seq"], rec["body"])
        try:
            at = _event_time(body)
        except (KeyError, ValueError):
            continue
        out.append(StoredEvent(rec["seq"], str(body.get("type", rec.get("type", ""))), at, body,
                               str(rec.get("source", "")), str(rec.get("recorded_at", "")),
                               str(rec.get("status", "in force"))))
    return out


def decision_records(history: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """order id -> the store's record of the gate's decision as made (seq, recorded_at, hash, body)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in history:
        if rec.get("kind") == "decision" and isinstance(rec.get("body"), dict):
            out.setdefault(str(rec["body"].get("order")), rec)
    return out


# -- the overview --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    decisions: int
    accepted: int
    rejected: int
    decisions_today: int
    by_reason: tuple[tuple[str, int, int], ...]  # reason, accepted, rejected
    by_day: tuple[tuple[dt.date, int, int], ...]  # day, accepted, rejected
    open_obligations: int
    due_today: int
    missed: int
    in_box: int
    threshold: int
    locates: int
    findings: int
    day: dt.date


def overview(view: BookView, m: Moment) -> Overview:
    led = view.ledger
    day = m.at.date()
    acc = sum(1 for d in led.decisions if d.accepted)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in led.decisions:
        per[d.reasons[0] if d.reasons else "none"][0 if d.accepted else 1] += 1
    by_reason = tuple(sorted(((k, v[0], v[1]) for k, v in per.items()), key=lambda r: -(r[1] + r[2])))
    daily: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for d in led.decisions:
        daily[et(d.at).date()][0 if d.accepted else 1] += 1
    by_day = tuple((k, v[0], v[1]) for k, v in sorted(daily.items()))
    obs = led.obligations
    snap = view.engine.gate.snap if view.engine is not None else None
    return Overview(
        len(led.decisions), acc, len(led.decisions) - acc, sum(1 for d in led.decisions if et(d.at).date() == day),
        by_reason, by_day, sum(1 for o in obs if status_at(o, m.at) == "open"),
        sum(1 for o in obs if et(o.deadline).date() == day and status_at(o, m.at)),
        sum(1 for o in obs if status_at(o, m.at) == "missed"),
        len(periods_in_force(led.periods, m.at)), len(snap.threshold_symbols) if snap else 0,
        len(snap.locates) if snap else 0, sum(1 for f in led.findings if f.at <= m.at), day)


# -- threshold lists and the threshold watch ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRow:
    symbol: str
    name: str
    since: dt.date | None
    days_on_list: int | None
    new: bool


@dataclass(frozen=True, slots=True)
class WatchRow:
    """A threshold security the firm fails in: the 203(b)(3) run of consecutive counted settlement days."""

    symbol: str
    days: int
    needed: int
    days_left: int
    last_day: dt.date
    qty: int
    thirteenth: dt.date
    deadline: dt.datetime
    #: a settlement day whose CNS position is in but is judged at its end, by the list then in effect
    pending: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ThresholdPage:
    list_at: dt.datetime | None
    previous_at: dt.datetime | None
    rows: tuple[ListRow, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    watch: tuple[WatchRow, ...]
    obligations: tuple[Obligation, ...]
    sizes: tuple[tuple[dt.datetime, int], ...]
    from_history: bool


def _lists(events: Iterable[StoredEvent], kind: str, until: dt.datetime) -> list[tuple[dt.datetime, frozenset[str]]]:
    return [(e.at, frozenset(map(str, e.body.get("symbols", ())))) for e in events
            if e.type == kind and e.at <= until]


def threshold(view: BookView, m: Moment) -> ThresholdPage:
    cal = calendars(view)
    lists = _lists(events_in_force(view.history), "threshold_list", m.at)
    eng = view.engine
    if lists:
        list_at, today = lists[-1]
        prev_day = [x for x in lists if et(x[0]).date() < et(list_at).date()]
        previous_at, prev = prev_day[-1] if prev_day else (None, frozenset[str]())
    elif eng is not None and eng.closeout.lists.as_of is not None and eng.closeout.lists.as_of <= m.at:
        list_at, today, previous_at, prev = eng.closeout.lists.as_of, eng.closeout.lists.current, None, frozenset()
    else:
        list_at, today, previous_at, prev = None, frozenset(), None, frozenset()
    rows = []
    for sym in sorted(today):
        since = _since(view, lists, sym, list_at) if list_at is not None else None
        days = len(cal.settlement_days(since, m.at.date())) if since is not None and since <= m.at.date() else None
        sec = view.book.securities.get(sym)
        rows.append(ListRow(sym, (sec.name or "") if sec else "", since, days, previous_at is not None
                            and sym not in prev))
    return ThresholdPage(list_at, previous_at, tuple(rows), tuple(sorted(today - prev)) if previous_at else (),
                         tuple(sorted(prev - today)), watch(view), tuple(
                             o for o in view.ledger.obligations if o.rule.startswith(r203_b3.THIRTEEN_DAY_RULE)),
                         tuple((at, len(s)) for at, s in lists), bool(lists))


def _since(view: BookView, lists: list[tuple[dt.datetime, frozenset[str]]], sym: str,
           list_at: dt.datetime) -> dt.date | None:
    """The first settlement day of the listing in force: the engine's own answer when it has the book."""
    if view.engine is not None:
        got = view.engine.closeout.lists.since(sym, list_at, strict=False)
        if got is not None:
            return got
    start = None
    for at, syms in lists:
        if at > list_at:
            break
        start = (start or at) if sym in syms else None
    return r203_b3.threshold_since(start, calendars(view)) if start is not None else None


def watch(view: BookView) -> tuple[WatchRow, ...]:
    """Each security whose 203(b)(3) run is under way: days counted, days left and when a close-out would be due."""
    eng: BookEngine | None = view.engine
    if eng is None:
        return ()
    cal = eng.cal
    out = []
    for sym, st in eng.closeout.count.symbols.items():
        if not st.run:
            continue
        last = st.run[-1][0]
        needed = r203_b3.thirteen_days(last)
        left = max(0, needed - len(st.run))
        thirteenth = cal.add_settlement_days(last, left) if left else last
        out.append(WatchRow(sym, len(st.run), needed, left, last, min(q for _, q in st.run), thirteenth,
                            r203_b3.obligation_deadline(thirteenth, cal), st.pending[0] if st.pending else None))
    return tuple(sorted(out, key=lambda w: (w.days_left, w.symbol)))


# -- the penalty box -----------------------------------------------------------------------------------------------


def periods_in_force(periods: Iterable[PreBorrowPeriod], at: dt.datetime) -> list[PreBorrowPeriod]:
    return [p for p in periods if p.start <= at and (p.until is None or at < p.until)]


@dataclass(frozen=True, slots=True)
class BoxRow:
    period: PreBorrowPeriod
    party: str
    in_force: bool
    obligations: tuple[Obligation, ...]
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class Received:
    """A pre-borrow requirement imposed from outside the book: a 204(c) notice received from a clearing firm."""

    bd: str
    symbol: str
    rule: str
    start: dt.datetime
    until: dt.datetime | None
    in_force: bool
    source: str


@dataclass(frozen=True, slots=True)
class PenaltyBox:
    rows: tuple[BoxRow, ...]
    received: tuple[Received, ...]
    sent: tuple[Notice, ...]
    missed: tuple[Obligation, ...]
    findings: tuple[Finding, ...]


def penalty_box(view: BookView, m: Moment) -> PenaltyBox:
    led = view.ledger
    rows = []
    for p in sorted(led.periods, key=lambda p: (p.start, p.symbol, p.bd)):
        if p.start > m.at:
            continue
        obs = tuple(o for o in (led.obligation(i) for i in p.obligations) if o is not None)
        ns = tuple(n for n in led.notices if n.period == p.id and n.at <= m.at)
        rows.append(BoxRow(p, view.book.party(p.bd).name or p.bd,
                           p.start <= m.at and (p.until is None or m.at < p.until), obs, ns))
    rows.sort(key=lambda r: (not r.in_force, r.period.start))
    received = []
    for e in events_in_force(view.history):
        if e.type == "pre_borrow_required" and e.at <= m.at:
            until = _event_time({"at": e.body["until"]}) if e.body.get("until") else None
            received.append(Received(str(e.body.get("bd")), str(e.body.get("symbol")),
                                     str(e.body.get("rule", "204(b)")), e.at, until,
                                     until is None or m.at < until, e.source))
    if not view.history and view.engine is not None:  # no store: the gate's record of periods from outside
        for (bd, sym), ps in view.engine.gate.snap.pre_borrow_periods.items():
            for rule, start, until2, pid, _ in ps:
                if not pid and start <= m.at:
                    received.append(Received(bd, sym, rule, start, until2, until2 is None or m.at < until2, ""))
    sent = tuple(n for n in led.notices if n.sender == view.book.participant and n.at <= m.at)
    missed = tuple(o for o in led.obligations if status_at(o, m.at) == "missed")
    return PenaltyBox(tuple(rows), tuple(received), sent, missed,
                      tuple(f for f in led.findings if f.code == "CLOSE_OUT_MISSED" and f.at <= m.at))


# -- close-outs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueRow:
    ob: Obligation
    left: str  # time left to the deadline, or what happened
    urgent: bool


@dataclass(frozen=True, slots=True)
class CloseOuts:
    due_today: tuple[DueRow, ...]
    later: tuple[Obligation, ...]
    missed: tuple[Obligation, ...]
    closed: tuple[Obligation, ...]
    findings: tuple[Finding, ...]
    open_time: dt.datetime


def status_at(o: Obligation, at: dt.datetime) -> str:
    """What an obligation's latest version says it was at ``at``: "open", "closed" or "missed" (None-like "" when
    it did not exist yet). A missed obligation was open until its deadline; a closed one until it was closed."""
    if o.created_at > at:
        return ""
    if o.status == "missed":
        return "missed" if o.deadline <= at else "open"
    if o.status == "closed" and o.closed_at is not None and o.closed_at > at:
        return "open"
    return o.status


def closeouts(view: BookView, m: Moment) -> CloseOuts:
    """What the daily close-out run shows (``regsho closeouts``): due today with the time left, later, missed."""
    cal = calendars(view)
    today = m.at.date()
    obs = [(o, status_at(o, m.at)) for o in sorted(view.ledger.obligations, key=lambda o: o.deadline)]
    obs = [(o, st) for o, st in obs if st]
    due = []
    for o, st in obs:
        if et(o.deadline).date() != today:
            continue
        if st == "open" and o.deadline > m.at:
            left = o.deadline - m.at
            due.append(DueRow(o, f"{span(left)} left", left <= dt.timedelta(hours=2)))
        elif st == "open":
            due.append(DueRow(o, "deadline passed", True))
        elif st == "missed":
            due.append(DueRow(o, "missed", True))
        else:
            due.append(DueRow(o, f"closed {when(o.closed_at)}", False))
    open_time = cal.open_of(today) if cal.is_settlement_day(today) else cal.open_of(cal.next_settlement_day(today))
    if open_time < m.at:
        open_time = cal.open_of(cal.next_settlement_day(today))
    return CloseOuts(tuple(due), tuple(o for o, st in obs if st == "open" and et(o.deadline).date() > today),
                     tuple(o for o, st in obs if st == "missed"), tuple(o for o, st in obs if st == "closed"),
                     tuple(f for f in view.ledger.findings if f.at <= m.at), open_time)


# -- locates -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocateRow:
    id: str
    account: str
    bd: str
    symbol: str
    source: str
    qty: int
    taken: int  # by accepted orders, in total
    reused: int  # of which quantity freed by a buy-to-cover (FAQ 4.4)
    consumed: int  # attributed to short sales now
    left: int
    released: int  # returned to the locate desk (locate_release): it covers nothing again
    granted_at: dt.datetime
    good_until: dt.datetime
    day: bool
    status: str
    expired: bool
    exhausted: bool
    orders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Usage:
    key: str
    locates: int
    qty: int
    taken: int
    reused: int
    consumed: int
    left: int
    released: int


@dataclass(frozen=True, slots=True)
class Returned:
    """A locate returned to the locate desk: a stored ``locate_release`` event (``seq``, ``at``; ``qty`` None when
    it returned all that was unused and the engine's count cannot tell how many that was), or, for a book without
    stored events, the engine's count of what the locate returned in all (no ``seq`` nor ``at``)."""

    id: str
    account: str
    symbol: str
    source: str
    qty: int | None
    by: str
    reason: str
    at: dt.datetime | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Locates:
    rows: tuple[LocateRow, ...]
    by_source: tuple[Usage, ...]
    by_account: tuple[Usage, ...]
    reuse: tuple[Decision, ...]  # FAQ 4.4: reused, or reuse refused
    refused: tuple[Decision, ...]  # rejected for want of a good locate
    returned: tuple[Returned, ...]  # returns to the locate desk, as recorded


_REUSE = (rc.LOCATE_REUSED, rc.LOCATE_REUSE_NOT_ALLOWED)
_NO_LOCATE = (rc.NO_LOCATE, rc.LOCATE_EXPIRED, rc.LOCATE_EXHAUSTED)


def locates(view: BookView, m: Moment) -> Locates:
    taken: Counter[str] = Counter()
    reused: Counter[str] = Counter()
    orders: dict[str, list[str]] = defaultdict(list)
    for d in view.ledger.decisions:
        for c in d.consume:
            if c.kind in ("locate", "reuse"):
                taken[c.id] += c.qty
                if c.kind == "reuse":
                    reused[c.id] += c.qty
                if d.order not in orders[c.id]:
                    orders[c.id].append(d.order)
    rows = []
    if view.engine is not None:
        for st in view.engine.gate.snap.locates.values():
            acct = view.book.accounts.get(st.account)
            left = st.fresh + st.freed
            rows.append(LocateRow(st.id, st.account, acct.bd if acct else "", st.symbol, st.source or "(none given)",
                                  st.qty, taken[st.id], reused[st.id], st.consumed, left, st.released, st.granted_at,
                                  st.good_until, st.day, str(st.status), st.good_until <= m.at and left > 0,
                                  left == 0, tuple(orders[st.id])))

    def usage(key: str) -> tuple[Usage, ...]:
        groups: dict[str, list[LocateRow]] = defaultdict(list)
        for r in rows:
            groups[getattr(r, key)].append(r)
        return tuple(Usage(k, len(g), sum(r.qty for r in g), sum(r.taken for r in g), sum(r.reused for r in g),
                           sum(r.consumed for r in g), sum(r.left for r in g if not r.expired),
                           sum(r.released for r in g))
                     for k, g in sorted(groups.items()))

    decs = view.ledger.decisions
    return Locates(tuple(sorted(rows, key=lambda r: r.granted_at)), usage("source"), usage("account"),
                   tuple(d for d in decs if any(r in d.reasons for r in _REUSE)),
                   tuple(d for d in decs if not d.accepted and any(r in d.reasons for r in _NO_LOCATE)),
                   returned(view, m))


def returned(view: BookView, m: Moment) -> tuple[Returned, ...]:
    """The returns of locates to the locate desk up to the moment shown: the stored ``locate_release`` events, each
    with its locate's account, symbol and source. A release of "all that is unused" is counted from the engine's
    total for the locate when it is the locate's only such release; a book without stored events shows the
    engine's total per locate."""
    locs = view.engine.gate.snap.locates if view.engine is not None else {}
    evs = [e for e in events_in_force(view.history) if e.type == "locate_release"]
    if not evs:
        return tuple(Returned(st.id, st.account, st.symbol, st.source or "(none given)", st.released, "", "")
                     for st in sorted(locs.values(), key=lambda st: st.granted_at) if st.released)
    given: Counter[str] = Counter()
    unsized: Counter[str] = Counter()
    for e in evs:
        q = e.body.get("qty")
        lid = str(e.body.get("id", ""))
        if isinstance(q, int):
            given[lid] += q
        else:
            unsized[lid] += 1
    out = []
    for e in evs:
        if e.at > m.at:
            continue
        lid = str(e.body.get("id", ""))
        st = locs.get(lid)
        q = e.body.get("qty")
        qty = q if isinstance(q, int) else (st.released - given[lid] if st is not None and unsized[lid] == 1
                                            else None)
        out.append(Returned(lid, st.account if st else "", st.symbol if st else "",
                            (st.source or "(none given)") if st else "", qty, str(e.body.get("by") or ""),
                            str(e.body.get("reason") or ""), e.at, e.seq))
    return tuple(out)


# -- the market-making exception and surveillance -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MmSale:
    d: Decision
    window: tuple[dt.datetime, dt.datetime] | None
    bona_fide: bool | None
    findings: tuple[str, ...]
    source: str
    basis: str  # "surveillance verdict" | "latest review" | ""
    detail: str


_MM = (rc.BONA_FIDE_MARKET_MAKING, rc.NOT_BONA_FIDE_MARKET_MAKING)


@dataclass(frozen=True, slots=True)
class MmTally:
    """Per market-maker account: its short sales relying on the exception, and how they were judged."""

    account: str
    sales: int
    accepted: int
    rejected: int
    not_bona_fide: int  # judged on a verdict (or review) that was not bona fide


def mm_tally(sales: Sequence[MmSale]) -> tuple[MmTally, ...]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for x in sales:
        t = per[x.d.account]
        t[0] += 1
        t[1 if x.d.accepted else 2] += 1
        t[3] += x.bona_fide is False
    return tuple(MmTally(a, *v) for a, v in sorted(per.items()))


def mm_sales(view: BookView) -> tuple[MmSale, ...]:
    """Short sales that relied on the market-making exception, with what the gate read of the surveillance
    verdict of their window (the decision's own facts: nothing is looked up again)."""
    out = []
    for d in view.ledger.decisions:
        facts = dict(d.facts)
        if not any(r in d.reasons for r in _MM) and "account.market_maker" not in facts:
            continue
        w = facts.get("mm_verdict.window")
        window = w if isinstance(w, tuple) and len(w) == 2 else None
        if "mm_verdict.bona_fide" in facts:
            bf, basis = facts.get("mm_verdict.bona_fide"), "surveillance verdict"
        elif "mm_review.bona_fide" in facts:
            bf, basis = facts.get("mm_review.bona_fide"), "latest review"
        else:
            bf, basis = None, ""
        fs = facts.get("mm_verdict.findings", ())
        det = dict(d.details)
        out.append(MmSale(d, window, bf if isinstance(bf, bool) else None,
                          tuple(map(str, fs)) if isinstance(fs, tuple | list) else (),
                          str(facts.get("mm_verdict.source", "") or ""), basis,
                          "; ".join(det[r] for r in d.reasons if r in det)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class VerdictRow:
    account: str
    symbol: str
    start: dt.datetime
    end: dt.datetime
    bona_fide: bool
    findings: tuple[tuple[str, str], ...]  # code, meaning
    cites: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Surveillance:
    verdicts: tuple[VerdictRow, ...]
    reviews: tuple[tuple[str, str, bool], ...]  # account, symbol, bona fide (the latest mm_status review)
    sales: tuple[MmSale, ...]


def surveillance(view: BookView) -> Surveillance:
    from regsho.surveillance.findings import PATTERNS

    rows: list[VerdictRow] = []
    reviews: list[tuple[str, str, bool]] = []
    if view.engine is not None:
        snap = view.engine.gate.snap
        for (acct, sym), vs in sorted(snap.mm_verdicts.items()):
            for v in sorted(vs, key=lambda v: v.start):
                rows.append(VerdictRow(acct, sym, v.start, v.end, v.bona_fide,
                                       tuple((c, PATTERNS[c].meaning if c in PATTERNS else "") for c in v.findings),
                                       v.cites, v.source))
        reviews = [(a, s, b) for (a, s), b in sorted(snap.mm_review.items())]
    return Surveillance(tuple(rows), tuple(reviews), mm_sales(view))


# -- the market monitor --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecurityRow:
    symbol: str
    name: str
    kind: str
    threshold: bool
    etb: bool
    htb: bool
    ssr: tuple[dt.datetime, dt.datetime] | None
    ssr_in_force: bool
    shares_outstanding: int | None


@dataclass(frozen=True, slots=True)
class Monitor:
    securities: tuple[SecurityRow, ...]
    lists: tuple[tuple[str, dt.datetime | None, int, str], ...]  # list, as of, symbols, age
    triggers: tuple[StoredEvent, ...]
    sizes: dict[str, tuple[tuple[dt.datetime, int], ...]]


def monitor(view: BookView, m: Moment) -> Monitor:
    """The lists in force at the moment shown (from the stored events; from the engine's state when there are none),
    Rule 201 triggers and windows, and every security's status."""
    snap = view.engine.gate.snap if view.engine is not None else None
    evs = events_in_force(view.history)
    kinds = (("threshold", "threshold_list"), ("easy to borrow", "etb_list"), ("hard to borrow", "htb_list"))
    in_force: dict[str, tuple[dt.datetime | None, frozenset[str]]] = {}
    for _, kind in kinds:
        got = _lists(evs, kind, m.at)
        if got:
            in_force[kind] = got[-1]
        elif evs or snap is None:
            htb = frozenset(s for s, sec in view.book.securities.items() if sec.htb) if kind == "htb_list" else None
            in_force[kind] = (None, htb or frozenset())
        else:
            state = {"threshold_list": (snap.threshold_as_of, snap.threshold_symbols),
                     "etb_list": (snap.etb_as_of, snap.etb_symbols), "htb_list": (snap.htb_as_of, snap.htb_symbols)}
            in_force[kind] = state[kind]
    lists = tuple((label, in_force[k][0], len(in_force[k][1]),
                   span(m.at - t) if (t := in_force[k][0]) is not None and t <= m.at else "") for label, k in kinds)
    rows = []
    for sym, sec in sorted(view.book.securities.items()):
        w = snap.ssr.get(sym) if snap else None
        rows.append(SecurityRow(sym, sec.name or "", str(sec.kind), sym in in_force["threshold_list"][1],
                                sym in in_force["etb_list"][1], sym in in_force["htb_list"][1],
                                w, w is not None and w[0] <= m.at < w[1], sec.shares_outstanding))
    sizes = {k: tuple((at, len(s)) for at, s in _lists(evs, k, m.at)) for _, k in kinds}
    return Monitor(tuple(rows), lists, tuple(e for e in evs if e.type == "ssr" and e.at <= m.at),
                   {k: v for k, v in sizes.items() if v})


# -- decisions -----------------------------------------------------------------------------------------------------


def search(view: BookView, q: str, outcome: str = "", reason: str = "") -> list[Decision]:
    """Decisions matching every word of ``q``: an order id, an account, a symbol, or a time prefix in ET
    (``2025-03-12``, ``2025-03-12T10``, ``2025-03-12 10:05``); optionally one outcome or one reason code."""
    q = re.sub(r"(\d{4}-\d{2}-\d{2})[ T](\d)", r"\1T\2", q)  # a date and a time given apart are one word
    words = q.replace(",", " ").split()
    times = words
    out = []
    for d in view.ledger.decisions:
        if outcome and d.action != outcome:
            continue
        if reason and reason not in d.reasons:
            continue
        stamp = et(d.at).strftime("%Y-%m-%dT%H:%M:%S")
        keys = {d.order.lower(), d.account.lower(), d.symbol.lower()}
        if all(w.lower() in keys or (t[:1].isdigit() and stamp.startswith(t)) for w, t in zip(words, times,
                                                                                               strict=True)):
            out.append(d)
    return out


@dataclass(frozen=True, slots=True)
class ReasonLine:
    code: str
    meaning: str
    detail: str
    cites: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Explained:
    d: Decision
    bd: str
    reasons: tuple[ReasonLine, ...]
    facts: tuple[tuple[str, str], ...]
    params: tuple[ParamValue, ...]
    record: dict[str, Any] | None
    led_to: tuple[StoredEvent, ...]
    after: tuple[StoredEvent, ...]


_LIST_TYPES = ("threshold_list", "etb_list", "htb_list")


def explain(view: BookView, order_id: str) -> Explained | None:
    """One decision in plain words (as ``regsho explain`` prints it) and the stored events that led to it."""
    d = view.ledger.decision(order_id)
    if d is None:
        return None
    details = dict(d.details)
    lines = []
    for code in d.reasons:
        info = rc.CODES.get(code)
        lines.append(ReasonLine(code, info.meaning if info else "", details.get(code, ""),
                                info.cites if info else ()))
    acct = view.book.accounts.get(d.account)
    bd = acct.bd if acct else ""
    evs = events_in_force(view.history)
    related, later = [], []
    last_list: dict[str, StoredEvent] = {}
    # the locates the order named or took from, and the account's locates in the symbol as they are granted: a return
    # of one of them to the locate desk before the order is among what led to it, of one it used among what followed
    used = {c.id for c in d.consume if c.kind in ("locate", "reuse")} | ({d.locate} if d.locate else set())
    mine_locates = set(used)
    for e in evs:
        b = e.body
        if e.type == "locate_release":
            if e.at <= d.at and b.get("id") in mine_locates:
                related.append(e)
            elif e.at > d.at and b.get("id") in used:
                later.append(e)
            continue
        if e.type in _LIST_TYPES:
            if e.at <= d.at and d.symbol in b.get("symbols", ()):
                last_list[e.type] = e
            elif e.at <= d.at and e.type in last_list:
                del last_list[e.type]  # a later list without the symbol replaced it
            continue
        mine = (b.get("id") == d.order or b.get("order") == d.order
                or (b.get("symbol") == d.symbol and (b.get("account") == d.account
                                                     or (bd and b.get("bd") == bd)
                                                     or e.type in ("ssr", "fail", "close_out", "cns", "certify"))))
        if not mine:
            continue
        if e.type == "locate" and b.get("symbol") == d.symbol and b.get("account") == d.account:
            mine_locates.add(str(b.get("id")))
        if e.at <= d.at and not (e.type in ("fill", "cancel") and b.get("order") == d.order):
            related.append(e)
        elif b.get("order") == d.order:
            later.append(e)
    led_to = sorted([*related, *last_list.values()], key=lambda e: (e.at, e.seq))[-40:]
    return Explained(d, bd, tuple(lines), tuple((k, plain(v)) for k, v in d.facts), d.params,
                     decision_records(view.history).get(d.order), tuple(led_to), tuple(later))
