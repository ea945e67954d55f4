"""The daily report: what a firm hands an examiner about one day of its Regulation SHO books.

From the book, its events and the engine's records: decisions by outcome and reason (every rejection with its
reasons and citations), the exceptions relied on (bona fide market making with its surveillance verdicts, short
exempt, easy-to-borrow, pre-borrow), locates (by source and account, reuse under SEC Reg SHO FAQ 4.4, shares
returned to the locate desk), close-out obligations and how each stood at the end of the day, pre-borrow periods
(the penalty box), notices, findings, and the day's threshold securities and Rule 201 restrictions. Rendered as
HTML (Jinja2), PDF (fpdf2) and one CSV file per table.

The day runs from 00:00 to the end of the day (00:00 ET of the next day, docs/scenarios.md convention 16).
Decisions and findings belong to the day they were made in; a notice or a period that ends at the end of the day
belongs to that day. Obligations are shown as they stood at the end of the day, from their cures' times.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from regsho.calendars import ET, Calendars, default_calendars
from regsho.core import events as ev
from regsho.core.book import Book
from regsho.core.records import Decision, Finding, Notice, Obligation, PreBorrowPeriod
from regsho.law import citations as c
from regsho.law import reasons as rc
from regsho.reports.documents import safe_name, words

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("regsho.reports", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=True,
)


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table of the report; ``key`` names its CSV file. A table not ``printed`` (every decision of the day) is
    in its CSV file only; the HTML and PDF name the file."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    cites: tuple[str, ...] = ()
    note: str = ""
    widths: tuple[float, ...] = ()
    printed: bool = True
    #: the columns the HTML and PDF show (indices; all when empty): the CSV file always has every column
    shown: tuple[int, ...] = ()

    @property
    def view_columns(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in self.shown) if self.shown else self.columns

    def view_rows(self) -> Iterable[tuple[str, ...]]:
        if not self.shown:
            return self.rows
        return (tuple(row[i] for i in self.shown) for row in self.rows)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    text: str
    tables: tuple[ReportTable, ...]


@dataclass(frozen=True, slots=True)
class LocateReturn:
    """A ``locate_release`` event as the engine applied it: the locate desk took back ``returned`` shares of locate
    ``id`` (the event may say "all that is unused", which only the engine's ledger of the locate can count);
    ``left`` is what the locate could still cover afterwards and ``consumed`` what short sales held of it then."""

    at: dt.datetime
    id: str
    account: str
    symbol: str
    source: str
    returned: int
    left: int
    consumed: int
    by: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DailyReport:
    book: str
    firm_id: str
    firm_name: str
    day: dt.date
    generated_at: dt.datetime
    #: the last event of the book the report was made from
    data_until: dt.datetime | None
    sections: tuple[Section, ...]
    signatory: str = ""
    contact: str = ""

    @property
    def stem(self) -> str:
        return safe_name(f"daily-report-{self.book}-{self.day.isoformat()}")

    @property
    def title(self) -> str:
        return f"Regulation SHO daily report: {self.firm_name or self.firm_id}, {self.day:%A}, {self.day:%B} " \
               f"{self.day.day}, {self.day.year}"

    @property
    def tables(self) -> tuple[ReportTable, ...]:
        return tuple(t for s in self.sections for t in s.tables)

    def table(self, key: str) -> ReportTable:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def csv_name(self, t: ReportTable) -> str:
        return f"{self.stem}-{t.key}.csv"

    def csv(self, key: str) -> str:
        t = self.table(key)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(t.columns)
        w.writerows(t.rows)
        return buf.getvalue()

    def html(self) -> str:
        return _env.get_template("daily.html.j2").render(r=self, words=words)

    def pdf(self) -> bytes:
        return _pdf(self)

    def write(self, directory: Path) -> list[Path]:
        """Write the HTML, the PDF and a CSV per table into ``directory``; returns the files written."""
        directory.mkdir(parents=True, exist_ok=True)
        out = [directory / f"{self.stem}.html", directory / f"{self.stem}.pdf"]
        pdf = self.pdf()
        out[0].write_text(self.html(), encoding="utf-8")
        out[1].write_bytes(pdf)
        for t in self.tables:
            p = directory / self.csv_name(t)
            p.write_text(self.csv(t.key), encoding="utf-8")
            out.append(p)
        return out


def clock(t: dt.datetime | None) -> str:
    """A time of the report's day in words with its zone: "10:04:31 a.m. EST"."""
    if t is None:
        return ""
    t = t.astimezone(ET)
    hour = t.hour % 12 or 12
    return f"{hour}:{t:%M}" + (f":{t:%S}" if t.second else "") + f" {'a.m.' if t.hour < 12 else 'p.m.'} {t:%Z}"


def _n(x: int) -> str:
    return f"{x:,}"


def _cites(codes: Iterable[str]) -> str:
    out: list[str] = []
    for code in codes:
        r = rc.CODES.get(code)
        for ci in (r.cites if r else ()):
            if ci not in out:
                out.append(ci)
    return "; ".join(out)


@dataclass
class _Day:
    book: Book
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    cal: Calendars
    events: Sequence[ev.Event]
    decisions: list[Decision] = field(default_factory=list)
    #: the day's returns of locates to the locate desk, in time order
    returns: list[LocateReturn] = field(default_factory=list)

    def bd(self, account: str) -> str:
        a = self.book.accounts.get(account)
        return a.bd if a else ""

    def during(self, t: dt.datetime) -> bool:
        return self.start <= t < self.end

    def ending(self, t: dt.datetime) -> bool:
        return self.start < t <= self.end


def daily_report(
    book: Book, events: Sequence[ev.Event], decisions: Sequence[Decision], obligations: Sequence[Obligation],
    periods: Sequence[PreBorrowPeriod], notices: Sequence[Notice], findings: Sequence[Finding], day: dt.date, *,
    name: str = "", generated_at: dt.datetime | None = None, calendars: Calendars | None = None,
    returns: Sequence[LocateReturn] = (),
) -> DailyReport:
    """The report for ``day`` from a book's events and the records the engine made of them (the latest version of
    each obligation and period). ``returns``: the engine's account of each ``locate_release`` event (at least those
    of the day; ``regsho.app.daily`` gives them); a release of the day without one is a ``ValueError``."""
    cal = calendars or default_calendars()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=ET)
    end = cal.end_of_day(day)
    x = _Day(book, day, start, end, cal, events)
    x.decisions = sorted((d for d in decisions if x.during(d.at)), key=lambda d: (d.at, d.order))
    x.returns = sorted((r for r in returns if x.during(r.at)), key=lambda r: (r.at, r.id))
    given = Counter((r.at, r.id) for r in x.returns)
    for e in events:
        if isinstance(e, ev.LocateRelease) and x.during(e.at):
            if given[(e.at, e.id)] <= 0:
                raise ValueError(f"the return of locate {e.id} at {words(e.at)} to the locate desk has no account "
                                 "of the shares it returned (the engine's; see regsho.app.daily)")
            given[(e.at, e.id)] -= 1
    obs = [o for o in obligations if o.created_at < end and (o.closed_at is None or o.closed_at >= start)]
    pers = [p for p in periods if p.start < end and (p.until is None or p.until > start)]
    nts = [n for n in notices if x.ending(n.at)]
    fnd = [f for f in findings if x.during(f.at)]
    sections = (
        _summary(x, obs, pers, nts, fnd),
        _decisions(x),
        _exceptions(x),
        _locates(x),
        Section("Close-out obligations and how each stood at the end of the day",
                "Every obligation alive at some time during the day: created before its end and not closed "
                "before its start. Status and cures as of the end of the day.", (_obligations(x, obs),)),
        Section("Pre-borrow requirement (the penalty box)",
                "Every period in force at some time during the day, the broker-dealer it binds, since when, and "
                "what releases it.", (_periods(x, pers),)),
        Section("Notices", "Notices sent or received during the day (17 CFR 242.204(c); 204(d) after an "
                "allocation).", (_notices(x, nts),)),
        Section("Findings", "What the close-out engine found during the day.", (_findings(fnd),)),
        _reference(x),
    )
    last = max((e.at for e in events), default=None)
    return DailyReport(name or book.name or book.firm.id, book.firm.id, book.firm.name, day,
                       generated_at or dt.datetime.now(dt.UTC), last, sections, book.firm.signatory,
                       book.firm.contact)


# -- sections -------------------------------------------------------------------------------------------------


def _summary(x: _Day, obs: list[Obligation], pers: list[PreBorrowPeriod], nts: list[Notice],
             fnd: list[Finding]) -> Section:
    ds = x.decisions
    shorts = [d for d in ds if str(d.side).startswith("sell_short")]
    grants = [e for e in x.events if isinstance(e, ev.LocateGrant) and x.during(e.at)]
    ended = [_ob_state(x, o) for o in obs]
    rows = (
        ("Orders decided", _n(len(ds))),
        ("Accepted", _n(sum(d.accepted for d in ds))),
        ("Rejected", _n(sum(not d.accepted for d in ds))),
        ("Short sales decided (accepted / rejected)",
         f"{_n(sum(d.accepted for d in shorts))} / {_n(sum(not d.accepted for d in shorts))}"),
        ("Locates granted (shares)", f"{_n(len(grants))} ({_n(sum(g.qty for g in grants))})"),
        ("Locates returned to the locate desk (shares)",
         f"{_n(len({r.id for r in x.returns}))} ({_n(sum(r.returned for r in x.returns))})"),
        ("Close-out obligations alive during the day", _n(len(obs))),
        ("  closed in time", _n(sum(s == "closed in time" for s, _ in ended))),
        ("  missed", _n(sum(s.startswith("missed") for s, _ in ended))),
        ("  open at the end of the day", _n(sum(s == "open" for s, _ in ended))),
        ("Pre-borrow periods in force during the day", _n(len(pers))),
        ("Notices", _n(len(nts))),
        ("Findings", _n(len(fnd))),
    )
    return Section("The day in figures", f"{x.day:%A}, {x.day:%B} {x.day.day}, {x.day.year}, from 12:00 a.m. to "
                   f"{words(x.end)}.",
                   (ReportTable("summary", "Summary", ("measure", "value"), rows, widths=(3, 1)),))


def _decisions(x: _Day) -> Section:
    count: Counter[tuple[str, str]] = Counter()
    shares: Counter[tuple[str, str]] = Counter()
    for d in x.decisions:
        for r in d.reasons:
            count[(d.action, r)] += 1
            shares[(d.action, r)] += d.qty
    rows = tuple((a, r, rc.CODES[r].meaning if r in rc.CODES else "", _n(count[(a, r)]), _n(shares[(a, r)]),
                  _cites([r])) for a, r in sorted(count, key=lambda k: (k[0], -count[k], k[1])))
    by_reason = ReportTable("decisions_by_reason", "Decisions by outcome and reason",
                            ("outcome", "reason", "meaning", "orders", "shares", "citations"), rows,
                            note="An order with several reasons counts under each.", widths=(1.2, 2.6, 5, 1, 1.2, 3))
    rej = tuple((clock(d.at), d.order, d.account, x.bd(d.account), d.symbol, str(d.side), _n(d.qty),
                 "" if d.price is None else str(d.price), ", ".join(d.reasons),
                 " ".join(t for _, t in d.details)[:300], "; ".join(d.cites))
                for d in x.decisions if not d.accepted)
    rejected = ReportTable("rejections", "Every rejected order",
                           ("time", "order", "account", "broker-dealer", "symbol", "side", "qty", "price", "reasons",
                            "why", "citations"), rej,
                           note="The provisions of each reason are in the table above; the CSV file also has each "
                                "order's price and citations.",
                           widths=(1.5, 1.5, 1, 1, 0.8, 1.2, 0.8, 2.4, 6.5), shown=(0, 1, 2, 3, 4, 5, 6, 8, 9))
    everything = ReportTable("decisions", "Every decision of the day",
                             ("time", "order", "account", "broker-dealer", "symbol", "side", "qty", "price",
                              "action", "reasons", "locate", "citations", "why"),
                             tuple((d.at.isoformat(), d.order, d.account, x.bd(d.account), d.symbol, str(d.side),
                                    str(d.qty), "" if d.price is None else str(d.price), d.action,
                                    " ".join(d.reasons), d.locate or "", "; ".join(d.cites),
                                    " ".join(t for _, t in d.details)) for d in x.decisions),
                             printed=False)
    return Section("Decisions by outcome and reason",
                   "Every order the gate decided during the day, by outcome and reason code, with the provisions "
                   "each reason applies; then every rejection with its reasons in words.",
                   (by_reason, rejected, everything))


_EXCEPTIONS = (
    ("bona fide market making (locate exception)", rc.BONA_FIDE_MARKET_MAKING, rc.NOT_BONA_FIDE_MARKET_MAKING),
    ("short exempt while the price test is in force", rc.SHORT_EXEMPT, rc.SHORT_EXEMPT_INVALID),
    ("easy-to-borrow list", rc.EASY_TO_BORROW, None),
    ("pre-borrow", rc.PRE_BORROW, rc.PRE_BORROW_REQUIRED),
    ("reuse of a day locate after a buy-to-cover", rc.LOCATE_REUSED, rc.LOCATE_REUSE_NOT_ALLOWED),
)


def _window(v: object) -> str:
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(t, dt.datetime) for t in v):
        a, b = v
        return f"{a.astimezone(ET):%H:%M}-{b.astimezone(ET):%H:%M}"
    return ""


def _exceptions(x: _Day) -> Section:
    rows = []
    for label, ok, bad in _EXCEPTIONS:
        used = [d for d in x.decisions if d.accepted and ok in d.reasons]
        refused = [d for d in x.decisions if bad is not None and bad in d.reasons]
        rows.append((label, ok, _n(len(used)), _n(sum(d.qty for d in used)),
                     _n(len({d.account for d in used})), bad or "", _n(len(refused)), _cites([ok])))
    summary = ReportTable("exceptions", "Exceptions relied on",
                          ("exception", "reason", "orders accepted", "shares", "accounts", "refused as", "orders "
                           "refused", "citations"), tuple(rows), widths=(4, 3, 1.2, 1.2, 1, 3.2, 1.2, 3))
    mm: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in x.decisions:
        if rc.BONA_FIDE_MARKET_MAKING in d.reasons or rc.NOT_BONA_FIDE_MARKET_MAKING in d.reasons:
            mm[(d.account, d.symbol)].append(d)
    mm_rows = []
    for (acct, sym), ds in sorted(mm.items()):
        taken = [d for d in ds if d.accepted]
        refused = [d for d in ds if not d.accepted]
        windows: list[str] = []
        codes: list[str] = []
        for d in refused:
            f = dict(d.facts)
            w = _window(f.get("mm_verdict.window"))
            if w and w not in windows:
                windows.append(w)
            found = f.get("mm_verdict.findings")
            for code in found if isinstance(found, tuple) else ():
                if str(code) not in codes:
                    codes.append(str(code))
        basis = {("verdict" if "mm_verdict.bona_fide" in dict(d.facts) else "review") for d in ds}
        mm_rows.append((acct, x.bd(acct), sym, _n(len(taken)), _n(sum(d.qty for d in taken)), _n(len(refused)),
                        ", ".join(windows), ", ".join(codes), " and ".join(sorted(basis))))
    mm_table = ReportTable(
        "market_making", "Short sales relying on the market-making exception, by account and security",
        ("account", "broker-dealer", "symbol", "accepted", "shares", "refused", "windows not bona fide",
         "surveillance findings", "judged on"), tuple(mm_rows),
        cites=(c.R203_B2_III, c.FINRA_2023_REPORT, c.FINRA_2024_REPORT),
        note="Each short sale is judged on the surveillance verdict of its 30-minute window, else the latest "
             "complete window before it that day, else the periodic review.",
        widths=(1, 1.1, 0.9, 0.9, 0.9, 0.9, 3.5, 3.5, 1.3))
    ex_rows = tuple((clock(d.at), d.order, d.account, d.symbol, _n(d.qty), "" if d.price is None else str(d.price),
                     str(dict(d.facts).get("nbb") or ""), str(dict(d.facts).get("exempt") or ""), d.action,
                     ", ".join(d.reasons))
                    for d in x.decisions if str(d.side) == "sell_short_exempt")
    exempt = ReportTable("short_exempt", "Short-exempt orders", ("time", "order", "account", "symbol", "qty",
                                                                  "price", "national best bid", "provision",
                                                                  "outcome", "reasons"), ex_rows,
                         cites=(c.R200_G2, c.R201_C, c.R201_D))
    return Section("Exceptions relied on", "Accepted short sales that relied on an exception or an alternative to a "
                   "fresh locate, and the orders refused when they tried to.", (summary, mm_table, exempt))


def _locates(x: _Day) -> Section:
    grants = {e.id: e for e in x.events if isinstance(e, ev.LocateGrant) and e.at < x.end}
    today = [g for g in grants.values() if x.during(g.at)]
    used: Counter[str] = Counter()
    reused: Counter[str] = Counter()
    orders: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    for d in x.decisions:
        if not d.accepted:
            continue
        for part in d.consume:
            if part.kind == "locate":
                used[part.id] += part.qty
                orders[part.id] += 1
            elif part.kind == "reuse":
                reused[part.id] += part.qty
                orders[part.id] += 1
    for r in x.returns:
        returned[r.id] += r.returned

    def src(g: ev.LocateGrant) -> str:
        return g.source or "(source not recorded)"

    by_src: dict[str, list[ev.LocateGrant]] = defaultdict(list)
    involved = {g.id for g in today} | set(used) | set(reused) | set(returned)
    for lid in sorted(involved):
        g = grants.get(lid)
        if g is not None:
            by_src[src(g)].append(g)
    src_rows = tuple((s, _n(sum(x.during(g.at) for g in gs)), _n(sum(g.qty for g in gs if x.during(g.at))),
                      _n(sum(orders[g.id] for g in gs)), _n(sum(used[g.id] for g in gs)),
                      _n(sum(reused[g.id] for g in gs)), _n(sum(returned[g.id] for g in gs)))
                     for s, gs in sorted(by_src.items()))
    by_source = ReportTable("locates_by_source", "Locates by source",
                            ("source", "granted today", "shares granted", "orders covered", "shares used",
                             "shares reused (FAQ 4.4)", "shares returned to the locate desk"), src_rows,
                            cites=(c.R203_B1, c.FAQ_4_4), widths=(4, 1.3, 1.5, 1.5, 1.5, 2, 2))
    locate_refusals = (rc.NO_LOCATE, rc.LOCATE_EXPIRED, rc.LOCATE_EXHAUSTED, rc.LOCATE_REUSE_NOT_ALLOWED)
    refused: Counter[str] = Counter(d.account for d in x.decisions
                                    if not d.accepted and any(r in locate_refusals for r in d.reasons))
    by_acct: dict[str, list[ev.LocateGrant]] = defaultdict(list)
    for lid in involved:
        g = grants.get(lid)
        if g is not None:
            by_acct[g.account].append(g)
    acct_rows = tuple((a, x.bd(a), _n(sum(x.during(g.at) for g in gs)), _n(sum(g.qty for g in gs if x.during(g.at))),
                       _n(sum(orders[g.id] for g in gs)), _n(sum(used[g.id] for g in gs)),
                       _n(sum(reused[g.id] for g in gs)), _n(refused.get(a, 0)),
                       _n(sum(returned[g.id] for g in gs)))
                      for a, gs in sorted(by_acct.items()))
    by_account = ReportTable("locates_by_account", "Locates by account",
                             ("account", "broker-dealer", "granted today", "shares granted", "orders covered",
                              "shares used", "shares reused", "short sales refused for want of a locate",
                              "shares returned to the locate desk"), acct_rows,
                             cites=(c.R203_B1,), widths=(1, 1.2, 1.2, 1.4, 1.4, 1.3, 1.3, 2.5, 1.8))
    reuse_rows = tuple((clock(d.at), d.order, d.account, d.symbol, _n(d.qty), d.locate or "", d.action,
                        ", ".join(d.reasons))
                       for d in x.decisions if rc.LOCATE_REUSED in d.reasons
                       or rc.LOCATE_REUSE_NOT_ALLOWED in d.reasons)
    reuse = ReportTable("locate_reuse", "Reuse of day locates after a buy-to-cover",
                        ("time", "order", "account", "symbol", "qty", "locate", "outcome", "reasons"), reuse_rows,
                        cites=(c.FAQ_4_4,),
                        note="Reuse is allowed only for a day locate and never in a hard-to-borrow or threshold "
                             "security.")
    ret_rows = tuple((clock(r.at), r.id, r.account, x.bd(r.account), r.symbol, r.source or "(source not recorded)",
                      _n(r.returned), _n(r.left), _n(r.consumed), r.by or "(not recorded)",
                      r.reason or "(not recorded)")
                     for r in x.returns)
    returns = ReportTable("locate_returns", "Locates returned to the locate desk",
                          ("time", "locate", "account", "broker-dealer", "symbol", "source", "shares returned",
                           "left to cover", "held by short sales", "by", "why"), ret_rows,
                          cites=(c.R203_B1,),
                          note="Returned shares cover no short sale again; what short sales held of the locate stays "
                               "theirs. A later short sale the locate no longer covers is refused (LOCATE_EXHAUSTED, "
                               "or NO_LOCATE when it named none).",
                          widths=(1.2, 1.2, 0.9, 1, 0.8, 1.6, 1, 0.9, 1, 1.6, 3.6))
    return Section("Locates", "Locates granted during the day, those used by the day's short sales and those the "
                   "locate desk took back, by source and by account; shares used are taken at acceptance (a cancel "
                   "gives back the unfilled rest); then every reuse and every return of the day.",
                   (by_source, by_account, reuse, returns))


def _ob_state(x: _Day, o: Obligation) -> tuple[str, str]:
    cures = [cu for cu in o.cured if cu.at < x.end]
    in_time = sum(cu.qty for cu in cures if cu.at <= o.deadline)
    past = o.deadline < x.end
    missed = past and in_time < o.qty
    closed = o.closed_at is not None and o.closed_at < x.end
    if closed and not missed:
        state = "closed in time"
    elif closed:
        state = "missed, cured late"
    elif missed:
        state = "missed, still owed"
    else:
        state = "open"
    how = "; ".join(f"{_n(cu.qty)} by {cu.by} at {words(cu.at)}" for cu in cures)
    if missed:
        how = (f"{_n(o.qty - in_time)} shares not closed out by the deadline" + (f"; {how}" if how else ""))
    return state, how


def _obligations(x: _Day, obs: list[Obligation]) -> ReportTable:
    rows = []
    for o in sorted(obs, key=lambda o: (o.deadline, o.symbol, o.id)):
        state, how = _ob_state(x, o)
        rows.append((o.id, o.rule, o.bd, o.symbol, _n(o.qty), o.settlement_date.isoformat(), words(o.deadline),
                     o.cure.replace("_", " "), state, how, "; ".join(o.cites)))
    return ReportTable("obligations", "Close-out obligations",
                       ("obligation", "provision", "owed by", "symbol", "qty", "fail settling", "deadline",
                        "cured by", "at the end of the day", "how", "citations"), tuple(rows),
                       widths=(1.4, 1, 0.9, 0.8, 0.8, 1.2, 2.6, 1.3, 1.4, 4, 1.8))


def _periods(x: _Day, pers: list[PreBorrowPeriod]) -> ReportTable:
    rows = []
    for p in sorted(pers, key=lambda p: (p.start, p.symbol, p.bd)):
        state = "in force" if p.until is None or p.until > x.end else "ended"
        rows.append((p.bd, p.symbol, p.rule, p.owner, ", ".join(p.obligations), words(p.start),
                     words(p.until) if p.until else "not yet determined", state, p.releases, "; ".join(p.cites)))
    return ReportTable("penalty_box", "Pre-borrow periods",
                       ("broker-dealer", "symbol", "provision", "on account of", "obligations", "from", "until",
                        "at the end of the day", "what releases it", "citations"), tuple(rows),
                       widths=(1, 0.8, 0.9, 0.9, 1.4, 2.4, 2.4, 1, 3.6, 1.6))


def _notices(x: _Day, nts: list[Notice]) -> ReportTable:
    rows = tuple((f"{x.book.firm.id}-{n.at.astimezone(ET):%Y%m%d}-{n.id}", n.kind.replace("_", " "), n.sender, n.to,
                  n.symbol, words(n.at), n.rule, n.period, ", ".join(n.obligations), "; ".join(n.cites))
                 for n in sorted(nts, key=lambda n: (n.at, n.id)))
    return ReportTable("notices", "Notices", ("notice number", "kind", "from", "to", "symbol", "time", "provision",
                                              "period", "obligations", "citations"), rows,
                       widths=(2, 1.6, 0.8, 0.8, 0.8, 2.6, 0.9, 1.2, 1.4, 1.6))


def _findings(fnd: list[Finding]) -> ReportTable:
    rows = tuple((clock(f.at), f.code, f.symbol, f.bd, f.detail, f.obligation or "", "; ".join(f.cites))
                 for f in sorted(fnd, key=lambda f: (f.at, f.code)))
    return ReportTable("findings", "Findings", ("time", "code", "symbol", "broker-dealer", "detail", "obligation",
                                                "citations"), rows, widths=(1.3, 1.6, 0.8, 1, 5, 1.3, 2.5))


def _reference(x: _Day) -> Section:
    lists = [e for e in x.events if isinstance(e, ev.ThresholdList) and e.at < x.end]
    current = lists[-1].symbols if lists else frozenset()
    since: dict[str, dt.date] = {}
    for e in lists:
        for s in list(since):
            if s not in e.symbols:
                del since[s]
        for s in e.symbols:
            since.setdefault(s, e.at.astimezone(ET).date())
    cns = {e.symbol: e.fail_qty for e in x.events if isinstance(e, ev.Cns) and e.date == x.day}
    rows = []
    for s in sorted(current):
        sec = x.book.securities.get(s)
        rows.append((s, (sec.name or "") if sec else "", (sec.cusip or "") if sec else "",
                     since[s].isoformat() if s in since else "", _n(cns[s]) if s in cns else "not reported"))
    thr = ReportTable("threshold_securities", "Threshold securities on the list in effect",
                      ("symbol", "name", "CUSIP", "on the list since (in this book)", "firm's CNS fail position"),
                      tuple(rows), cites=(c.R203_C6, c.R203_B3), widths=(1, 4, 1.5, 1.5, 2))
    ssr_rows: list[tuple[str, ...]] = []
    for trig in x.events:
        if not isinstance(trig, ev.SsrTrigger) or trig.at >= x.end:
            continue
        until = x.cal.end_of_day(x.cal.next_trading_day(trig.at.astimezone(ET).date()))
        if until <= x.start:
            continue
        restricted = [d for d in x.decisions if d.symbol == trig.symbol and rc.PRICE_TEST_RESTRICTED in d.reasons]
        ssr_rows.append((trig.symbol, words(trig.at), words(until), _n(len(restricted))))
    ssr = ReportTable("price_test", "Rule 201 short sale price test in force",
                      ("symbol", "triggered", "restricted until", "short sales refused at or below the bid"),
                      tuple(ssr_rows), cites=(c.R201_B1_I, c.R201_B1_II), widths=(1, 3, 3, 2))
    return Section("Reference data", "The threshold list in effect at the end of the day with the firm's CNS fail "
                   "position reported for the day, and every Rule 201 restriction in force during the day.",
                   (thr, ssr))


# -- PDF --------------------------------------------------------------------------------------------------------


def _pdf(r: DailyReport) -> bytes:
    """The report as PDF with fpdf2 (pure Python, from PyPI, no system libraries): US Letter landscape, a running
    head and page numbers, each table drawn with fpdf2's table layout (headings repeated on every page)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from regsho.reports.pdf import latin1

    head = latin1(f"{r.firm_name or r.firm_id} - Regulation SHO daily report - {r.day.isoformat()} - book {r.book}")

    class _Doc(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "I", 7)
            self.set_text_color(90)
            self.cell(0, 4, head, align="L")
            self.ln(6)
            self.set_text_color(0)

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("Helvetica", "I", 7)
            self.set_text_color(90)
            self.cell(0, 4, latin1(f"Page {self.page_no()} of {{nb}}"), align="C")
            self.set_text_color(0)

    pdf = _Doc(orientation="landscape", format="letter")
    pdf.set_title(latin1(r.title))
    pdf.set_author(latin1(r.firm_name or r.firm_id))
    pdf.set_creator("regsho")
    pdf.set_creation_date(r.generated_at)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(10, 10, 10)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 7, latin1(r.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8.5)
    intro = (f"Book {r.book} of {r.firm_name or r.firm_id} ({r.firm_id}). Prepared {words(r.generated_at)} from the "
             f"firm's append-only records"
             + (f", whose last event is at {words(r.data_until)}" if r.data_until else "") + ". Every decision, "
             "obligation, period, notice and finding is the engine's record, with the provisions it applies. "
             f"Each table is also in a CSV file named {r.stem}-TABLE.csv.")
    pdf.multi_cell(0, 4.5, latin1(intro), new_x="LMARGIN", new_y="NEXT")
    heading = FontFace(emphasis="BOLD", fill_color=(225, 230, 238))
    for sec in r.sections:
        pdf.ln(3)
        if pdf.will_page_break(30):
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, latin1(sec.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8.5)
        pdf.multi_cell(0, 4.2, latin1(sec.text), new_x="LMARGIN", new_y="NEXT")
        for t in sec.tables:
            pdf.ln(1.5)
            pdf.set_font("Helvetica", "B", 9.5)
            pdf.multi_cell(0, 5, latin1(t.title + (f" ({len(t.rows):,})" if t.rows else "")),
                           new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=7.5)
            lines = []
            if t.cites:
                lines.append("Citations: " + "; ".join(t.cites) + ".")
            if t.note:
                lines.append(t.note)
            if not t.printed:
                lines.append(f"{len(t.rows):,} rows: see {r.csv_name(t)}.")
            elif not t.rows:
                lines.append("None.")
            for line in lines:
                pdf.multi_cell(0, 3.8, latin1(line), new_x="LMARGIN", new_y="NEXT")
            if not t.printed or not t.rows:
                continue
            pdf.set_font("Helvetica", size=6.8)
            narrow = 150 if len(t.columns) <= 2 else None
            with pdf.table(col_widths=t.widths or None, headings_style=heading, line_height=3.4, width=narrow,
                           align="LEFT", text_align="LEFT", padding=0.8, repeat_headings=1) as table:
                row = table.row()
                for col in t.view_columns:
                    row.cell(latin1(col))
                for values in t.view_rows():
                    row = table.row()
                    for v in values:
                        row.cell(latin1(v))
    pdf.ln(4)
    pdf.set_font("Helvetica", size=8.5)
    sign = r.signatory or "________________________ (authorised signatory)"
    pdf.multi_cell(0, 4.5, latin1(f"Contact: {r.contact or 'the Regulation SHO desk'}"), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.multi_cell(0, 4.5, latin1(f"Reviewed and signed: {sign}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
