"""Build the regulator-facing documents from the books: the book, its events and the engine's records."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt

from regsho.calendars import ET, Calendars, default_calendars
from regsho.core import events as ev
from regsho.core.book import Book
from regsho.core.records import Notice, Obligation, PreBorrowPeriod
from regsho.law import params
from regsho.law.citations import cite_pre_borrow

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("regsho.reports", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Markdown output; HTML is rendered from it by markdown-it with HTML disabled
)
_md = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True, slots=True)
class Document:
    name: str  # file stem, e.g. "204c_XYZ_CORR_pre_borrow_imposed_2024-06-05"
    title: str
    markdown: str

    def pdf(self) -> bytes:
        """The document as PDF (fpdf2 from the rendered HTML: pure Python, installs from PyPI with nothing else)."""
        from regsho.reports.pdf import html_to_pdf

        return html_to_pdf(self.title, _md.render(self.markdown))

    def html(self) -> str:
        body = _md.render(self.markdown)
        return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title>"
                "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.45}"
                "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25rem .5rem}</style>"
                f"</head><body>\n{body}</body></html>\n")


def regime_name(d: dt.date) -> str:
    """The close-out regime in force on a settlement date, in words (dates from the parameter table)."""
    def before(name: str) -> bool:
        return not params.regime_in_force(name, d)

    if before("regime.reg_sho"):
        return "before Regulation SHO"
    if before("regime.grandfather_removed"):
        return "Regulation SHO (2005): 203(b)(3) with the grandfather and options market-maker exceptions"
    if before("regime.rule_204t"):
        return "2007 amendments: grandfather removed; options market-maker exception in force"
    if before("regime.options_mm_exception_removed"):
        return "Rule 204T (emergency order of 2008-09-17)"
    if before("regime.rule_204"):
        return "Rule 204T (interim final rule); options market-maker exception removed"
    return "Rule 204"


def _iso(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


# -- 204(c) notices ---------------------------------------------------------------------------------------------


def words(t: dt.datetime | None) -> str:
    """A time in words with its zone, as a notice states it: "9:30 a.m. EDT on Wednesday, June 5, 2024"; the end
    of a day (00:00) is "the end of Thursday, June 6, 2024 (midnight EDT)"."""
    if t is None:
        return ""
    t = t.astimezone(ET)
    if t.time() == dt.time(0):
        prev = t - dt.timedelta(days=1)
        return f"the end of {prev:%A}, {prev:%B} {prev.day}, {prev.year} (midnight {t:%Z})"
    hour = t.hour % 12 or 12
    clock = f"{hour}:{t:%M}" + (f":{t:%S}" if t.second else "")
    return f"{clock} {'a.m.' if t.hour < 12 else 'p.m.'} {t:%Z} on {t:%A}, {t:%B} {t.day}, {t.year}"


def _notice_docs(book: Book, notices: Sequence[Notice], periods: Sequence[PreBorrowPeriod],
                 obligations: Sequence[Obligation]) -> list[Document]:
    firm = book.firm
    by_period = {p.id: p for p in periods}
    by_ob = {o.id: o for o in obligations}
    docs: list[Document] = []
    for n in notices:
        period = by_period.get(n.period)
        bound = period.bd if period is not None else (n.to if n.sender == firm.id else n.sender)
        obs = [by_ob[o] for o in n.obligations if o in by_ob]
        sec = book.securities.get(n.symbol)
        number = f"{firm.id}-{n.at.astimezone(ET):%Y%m%d}-{n.id}"
        md = _env.get_template("notice_204c.md.j2").render(
            **_notice_wording(n.rule), number=number, sender=book.party(n.sender), recipient=book.party(n.to),
            participant=firm, symbol=n.symbol, security_name=(sec.name if sec and sec.name else n.symbol),
            cusip=(sec.cusip if sec else None), kind=n.kind, at_words=words(n.at),
            rule_cite=cite_pre_borrow(n.rule), bound=bound,
            period_from=words(period.start) if period else "the missed deadline",
            period_until=words(period.until) if period and period.until else "(not yet ended)",
            releases=(period.releases if period and period.releases else
                      "the participant closes out the fail to deliver position by purchasing securities of like "
                      "kind and quantity and that purchase has cleared and settled"),
            certified=period is not None and period.bd != n.to and n.sender == firm.id,
            obligations=obs, words=words, contact=firm.contact, signatory=firm.signatory)
        docs.append(Document(f"204c_{n.symbol}_{n.sender}_to_{n.to}_{n.kind}_{number}",
                             f"204(c) notice {number}: {n.kind} {n.symbol} to {n.to}", md))
    return docs


def _notice_wording(rule: str) -> dict[str, str]:
    """What the notice says the participant failed to do, by the provision that imposed the pre-borrow period."""
    if rule.startswith("203(b)(3)(v)"):
        return {"failure": "has persisted for 35 consecutive settlement days in a threshold security without being "
                           "closed out by purchase (17 CFR 242.203(b)(3)(i)-(iii), (v))",
                "allocation_cite": "17 CFR 242.203(b)(3)(vi)", "notice_cite": "17 CFR 242.203(b)(3)(v)"}
    if rule.startswith("203"):
        return {"failure": "has persisted for 13 consecutive settlement days in a threshold security without being "
                           "closed out by purchase (17 CFR 242.203(b)(3))",
                "allocation_cite": "17 CFR 242.203(b)(3)(vi)", "notice_cite": "17 CFR 242.203(b)(3)(iv)"}
    if rule.startswith("204T"):
        return {"failure": "was not closed out as Rule 204T(a) requires (Release 34-58572)",
                "allocation_cite": "Rule 204T(d)", "notice_cite": "Rule 204T(c)"}
    return {"failure": "was not closed out as 17 CFR 242.204(a) requires",
            "allocation_cite": "17 CFR 242.204(d)", "notice_cite": "17 CFR 242.204(c)"}


# -- Rule 204T attestations -------------------------------------------------------------------------------------


def _attestation_docs(book: Book, events: Sequence[ev.Event], cal: Calendars) -> list[Document]:
    fails = [e for e in events if isinstance(e, ev.Fail)]
    closeouts = [e for e in events if isinstance(e, ev.CloseOut)]
    docs: list[Document] = []
    for i, a in enumerate(e for e in events if isinstance(e, ev.Attestation)):
        mm_fails = [f for f in fails if f.symbol == a.symbol and f.settlement_date == a.settlement_date
                    and f.origin is ev.FailOrigin.BONA_FIDE_MM]
        all_fails = [f for f in fails if f.symbol == a.symbol and f.settlement_date == a.settlement_date]
        member = (mm_fails[0].bd if mm_fails and mm_fails[0].bd else book.firm.id)
        trade = next((f.trade_date for f in mm_fails if f.trade_date), None)
        s = a.settlement_date
        s1 = cal.add_settlement_days(s, 1)
        s3 = cal.add_settlement_days(s, 3)
        first_fail_at = min((f.at for f in mm_fails), default=a.at)
        # only actions up to the attestation's own time: it cannot attest to what has not happened yet
        actions = [f"{words(c.at)}: {c.method.value} of {c.qty:,} shares of {c.symbol} (record {c.id})"
                   for c in closeouts if c.symbol == a.symbol and first_fail_at <= c.at <= min(a.at, cal.open_of(s3))
                   and (c.bd or book.firm.id) == member]
        mm_total = sum(f.qty for f in mm_fails)
        cob = params.value("closeout.mm_attestation_close_of_business", s)
        assert isinstance(cob, dt.time)
        close_of_business = cal.at_time(s1, cob)
        md = _env.get_template("attestation_204t.md.j2").render(
            member=member, date=a.at.date().isoformat(), security_name=a.symbol, symbol=a.symbol,
            trade_date=_iso(trade) or "see the fail records", settlement_date=s.isoformat(),
            total_fail=sum(f.qty for f in all_fails), amount=a.qty, s_plus_3=s3.isoformat(),
            reason=("Fail to deliver established in meeting the firm's obligations as a registered market maker to "
                    "maintain a two-sided market (bona fide market making), recorded on the firm's books as "
                    f"{sum(f.qty for f in mm_fails):,} shares of bona fide market-making fails."),
            actions=actions, due=s1.isoformat(), due_words=words(close_of_business), recorded_at=words(a.at),
            timely=a.at < cal.end_of_day(s1), after_close=a.at > close_of_business,
            short_by=max(0, mm_total - a.qty), mm_total=mm_total,
            after_interim=params.regime_in_force("regime.options_mm_exception_removed", s))
        docs.append(Document(f"204T_attestation_{a.symbol}_{s.isoformat()}_{i}",
                             f"Rule 204T attestation {a.symbol} {s.isoformat()}", md))
    return docs


# -- options market maker records (CBOE Q10) --------------------------------------------------------------------


def _omm_docs(book: Book, events: Sequence[ev.Event]) -> list[Document]:
    threshold_since: dict[str, dt.date] = {}
    docs: list[Document] = []
    for index, e in enumerate(events):
        if isinstance(e, ev.ThresholdList):
            for sym in e.symbols:
                threshold_since.setdefault(sym, e.at.date())
        if not isinstance(e, ev.Fail) or e.origin not in (ev.FailOrigin.OPTIONS_MM_HEDGE,
                                                           ev.FailOrigin.OPTION_EXERCISE):
            continue
        since = threshold_since.get(e.symbol)
        basis: list[str] = []
        s = e.settlement_date
        excepted = False
        if e.origin is ev.FailOrigin.OPTION_EXERCISE:
            basis.append("A short position from the exercise of a long put or assignment of a short call is not "
                         "excepted: every fail in a threshold security that persists for 13 consecutive settlement "
                         "days must be closed out (CBOE circular, Question 5).")
        elif params.regime_in_force("regime.options_mm_exception_removed", s):
            basis.append("The options market-maker exception of 17 CFR 242.203(b)(3) was eliminated effective "
                         f"{params.regime_start('regime.options_mm_exception_removed')} (Release 34-58775); "
                         "fails previously excepted had 35 consecutive settlement days to be closed out "
                         "(203(b)(3)(iii)).")
        elif e.options_created is None:
            basis.append("The creation date of the options positions hedged is not recorded, so the exception "
                         "cannot be substantiated (CBOE circular, Key Points).")
        elif since is not None and e.options_created >= since:
            basis.append(f"The options positions were created on {e.options_created}, on or after the day {e.symbol} "
                         f"became a threshold security ({since}): hedges of options written afterwards are not "
                         "excepted (CBOE circular, Question 9).")
        else:
            excepted = True
            basis.append(f"The short sale hedged options positions created on {e.options_created}, before "
                         f"{e.symbol} became a threshold security"
                         + (f" on {since}" if since else "") + ": excepted from the close-out and pre-borrow "
                         "requirements of 17 CFR 242.203(b)(3) (CBOE circular, Key Points and Question 2).")
            basis.append("The exception survives the liquidation or expiration of the options positions (CBOE "
                         "circular, Question 1); it covers no net increase in the fail position (Questions 7-8).")
        md = _env.get_template("omm_record.md.j2").render(
            participant=book.firm.id, bd=e.bd or book.firm.id, symbol=e.symbol, threshold_since=_iso(since),
            qty=e.qty, settlement_date=s.isoformat(), trade_date=_iso(e.trade_date), origin=e.origin.value,
            options_created=_iso(e.options_created), regime=regime_name(s), excepted=excepted, basis=basis,
            source=e.prov or "scenario")
        docs.append(Document(f"omm_record_{e.symbol}_{s.isoformat()}_{index}",
                             f"options market maker record {e.symbol} {s.isoformat()}", md))
    return docs


def build_documents(
    book: Book, events: Sequence[ev.Event], notices: Sequence[Notice], periods: Sequence[PreBorrowPeriod],
    obligations: Sequence[Obligation], calendars: Calendars | None = None,
) -> list[Document]:
    """Every document the books support: 204(c) notices, 204T attestations, options market-maker records, from
    the book, its events and the engine's records."""
    cal = calendars or default_calendars()
    return [*_notice_docs(book, notices, periods, obligations), *_attestation_docs(book, events, cal),
            *_omm_docs(book, events)]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file stem that is one plain component: anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``
    (``BRK/B`` -> ``BRK_B``, ``/../../X`` -> ``X``), no leading dots, at most 150 characters."""
    stem = _UNSAFE.sub("_", name).strip("._")[:150].strip("._")
    return stem or "document"


def write_documents(docs: Iterable[Document], directory: Path,
                    formats: Iterable[str] = ("md", "html", "pdf")) -> list[Path]:
    """Write each document as ``NAME.md``, ``NAME.html`` and ``NAME.pdf``; returns the files written. Names are
    made safe and never leave ``directory``; two documents never overwrite each other."""
    directory.mkdir(parents=True, exist_ok=True)
    root = directory.resolve()
    written: list[Path] = []
    fmts = tuple(formats)
    used: set[str] = set()
    for d in docs:
        stem = safe_name(d.name)
        n = 1
        while stem in used:
            n += 1
            stem = f"{safe_name(d.name)}_{n}"
        used.add(stem)
        for ext in ("md", "html", "pdf"):
            if ext not in fmts:
                continue
            p = root / f"{stem}.{ext}"
            if p.resolve().parent != root:  # pragma: no cover - safe_name makes this impossible
                raise ValueError(f"document name {d.name!r} leaves {root}")
            if ext == "md":
                p.write_text(d.markdown, encoding="utf-8")
            elif ext == "html":
                p.write_text(d.html(), encoding="utf-8")
            else:
                p.write_bytes(d.pdf())
            written.append(p)
    return written
