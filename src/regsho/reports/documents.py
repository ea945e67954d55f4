"""Build the regulator-facing documents from a scenario (the books) and its replay result."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from regsho.adapters.scenario import Scenario, parse_datetime
from regsho.calendars import Calendars, default_calendars
from regsho.core import events as ev
from regsho.engine.replay import ReplayResult
from regsho.law import params

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

    def html(self) -> str:
        body = _md.render(self.markdown)
        return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title>"
                "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.45}"
                "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25rem .5rem}</style>"
                f"</head><body>\n{body}</body></html>\n")


def regime_name(d: dt.date) -> str:
    """The close-out regime in force on a settlement date, in words (dates from the parameter table)."""
    if d < params.REG_SHO_COMPLIANCE:
        return "before Regulation SHO"
    if d < params.GRANDFATHER_REMOVED:
        return "Regulation SHO (2005): 203(b)(3) with the grandfather and options market-maker exceptions"
    if d < params.RULE_204T:
        return "2007 amendments: grandfather removed; options market-maker exception in force"
    if d < params.OPTIONS_MM_EXCEPTION_REMOVED:
        return "Rule 204T (emergency order of 2008-09-17)"
    if d < params.RULE_204:
        return "Rule 204T (interim final rule); options market-maker exception removed"
    return "Rule 204"


def _iso(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def _at(v: object) -> dt.datetime | None:
    if v is None or v == "":
        return None
    return parse_datetime(v)


# -- 204(c) notices ---------------------------------------------------------------------------------------------


def _notice_docs(sc: Scenario, result: ReplayResult) -> list[Document]:
    firm = sc.firm.id
    docs: list[Document] = []
    for i, n in enumerate(result.notices):
        symbol = str(n.get("symbol", ""))
        kind = str(n.get("kind", ""))
        to = str(n.get("to", ""))
        at = _at(n.get("at"))
        sender = str(n.get("sender") or "")
        if not sender:
            if to == firm:
                cands = [p["bd"] for p in result.pre_borrow if p.get("symbol") == symbol and p.get("bd") != firm]
                sender = cands[0] if cands else "a correspondent"
            else:
                sender = firm
        bound = to if sender == firm else sender
        periods = [p for p in result.pre_borrow if p.get("symbol") == symbol and p.get("bd") == bound]
        period: dict[str, Any] | None = None
        if periods and at is not None:
            if kind == "pre_borrow_lifted":
                ended = [p for p in periods if p.get("until")]
                period = min(ended, key=lambda p: abs((_at(p["until"]) or at) - at)) if ended else periods[-1]
            else:
                started = [p for p in periods if (_at(p.get("from")) or at) <= at] or periods
                period = started[-1]
        rule = str((period or {}).get("rule") or n.get("rule") or "204(b)")
        obligations = [o for o in result.obligations if o.get("symbol") == symbol and o.get("bd") in (firm, bound)]
        md = _env.get_template("notice_204c.md.j2").render(
            **_notice_wording(rule), sender=sender, participant=firm, to=to, symbol=symbol, kind=kind, at=_iso(at),
            rule_cite="17 CFR 242." + rule, bound=bound,
            period_from=_iso((period or {}).get("from")) or "the missed deadline",
            period_until=_iso((period or {}).get("until")) or "(not yet ended)",
            obligations=[_Row(o) for o in obligations], source=sc.path)
        day = at.date().isoformat() if at else str(i)
        docs.append(Document(f"204c_{symbol}_{sender}_to_{to}_{kind}_{day}_{i}",
                             f"204(c) notice {kind} {symbol} to {to}", md))
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


class _Row:
    """Attribute access to an output dict for the templates, with missing keys as None."""

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def __getattr__(self, k: str) -> Any:
        return self._d.get(k)


# -- Rule 204T attestations -------------------------------------------------------------------------------------


def _attestation_docs(sc: Scenario, cal: Calendars) -> list[Document]:
    events = [se.event for se in sc.events]
    fails = [e for e in events if isinstance(e, ev.Fail)]
    closeouts = [e for e in events if isinstance(e, ev.CloseOut)]
    docs: list[Document] = []
    for i, a in enumerate(e for e in events if isinstance(e, ev.Attestation)):
        mm_fails = [f for f in fails if f.symbol == a.symbol and f.settlement_date == a.settlement_date
                    and f.origin is ev.FailOrigin.BONA_FIDE_MM]
        all_fails = [f for f in fails if f.symbol == a.symbol and f.settlement_date == a.settlement_date]
        member = (mm_fails[0].bd if mm_fails and mm_fails[0].bd else sc.firm.id)
        trade = next((f.trade_date for f in mm_fails if f.trade_date), None)
        s = a.settlement_date
        s1 = cal.add_settlement_days(s, 1)
        s3 = cal.add_settlement_days(s, 3)
        first_fail_at = min((f.at for f in mm_fails), default=a.at)
        actions = [f"{c.at.isoformat()}: {c.method.value} of {c.qty:,} shares of {c.symbol} (record {c.id})"
                   for c in closeouts if c.symbol == a.symbol and first_fail_at <= c.at <= cal.open_of(s3)
                   and (c.bd or sc.firm.id) == member]
        md = _env.get_template("attestation_204t.md.j2").render(
            member=member, date=a.at.date().isoformat(), security_name=a.symbol, symbol=a.symbol,
            trade_date=_iso(trade) or "see the fail records", settlement_date=s.isoformat(),
            total_fail=sum(f.qty for f in all_fails), amount=a.qty, s_plus_3=s3.isoformat(),
            reason=("Fail to deliver established in meeting the firm's obligations as a registered market maker to "
                    "maintain a two-sided market (bona fide market making), recorded on the firm's books as "
                    f"{sum(f.qty for f in mm_fails):,} shares of bona fide market-making fails."),
            actions=actions, due=s1.isoformat(), recorded_at=a.at.isoformat(),
            timely=a.at < cal.end_of_day(s1), after_interim=s >= params.OPTIONS_MM_EXCEPTION_REMOVED)
        docs.append(Document(f"204T_attestation_{a.symbol}_{s.isoformat()}_{i}",
                             f"Rule 204T attestation {a.symbol} {s.isoformat()}", md))
    return docs


# -- options market maker records (CBOE Q10) --------------------------------------------------------------------


def _omm_docs(sc: Scenario) -> list[Document]:
    threshold_since: dict[str, dt.date] = {}
    docs: list[Document] = []
    for se in sc.events:
        e = se.event
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
        elif s >= params.OPTIONS_MM_EXCEPTION_REMOVED:
            basis.append("The options market-maker exception of 17 CFR 242.203(b)(3) was eliminated effective "
                         f"{params.OPTIONS_MM_EXCEPTION_REMOVED} (Release 34-58775); fails previously excepted had "
                         "35 consecutive settlement days to be closed out (203(b)(3)(iii)).")
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
            participant=sc.firm.id, bd=e.bd or sc.firm.id, symbol=e.symbol, threshold_since=_iso(since),
            qty=e.qty, settlement_date=s.isoformat(), trade_date=_iso(e.trade_date), origin=e.origin.value,
            options_created=_iso(e.options_created), regime=regime_name(s), excepted=excepted, basis=basis,
            source=e.prov or "scenario")
        docs.append(Document(f"omm_record_{e.symbol}_{s.isoformat()}_{se.index}",
                             f"options market maker record {e.symbol} {s.isoformat()}", md))
    return docs


def build_documents(sc: Scenario, result: ReplayResult, calendars: Calendars | None = None) -> list[Document]:
    """Every document the books support: 204(c) notices, 204T attestations, options market-maker records."""
    cal = calendars or default_calendars()
    return [*_notice_docs(sc, result), *_attestation_docs(sc, cal), *_omm_docs(sc)]


def write_documents(docs: Iterable[Document], directory: Path, formats: Iterable[str] = ("md", "html")) -> list[Path]:
    """Write each document as ``NAME.md`` and/or ``NAME.html``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    fmts = tuple(formats)
    for d in docs:
        if "md" in fmts:
            p = directory / f"{d.name}.md"
            p.write_text(d.markdown, encoding="utf-8")
            written.append(p)
        if "html" in fmts:
            p = directory / f"{d.name}.html"
            p.write_text(d.html(), encoding="utf-8")
            written.append(p)
    return written
