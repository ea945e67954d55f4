"""SRO threshold-security lists (17 CFR 242.203(c)(6)(ii)) into immutable records.

Formats (RULEBOOK §8.2, §8.3), told apart by their header line:

- Nasdaq ``nasdaqthYYYYMMDD.txt``: ``Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler``
  (``Rule 4320`` in later files), rows ending in ``|``, Market Category Q/G/S, a file-creation timestamp as the last
  line (``YYYYMMDDHHMMSS`` or ``File Creation Time: MMDDYYYYHH:MM``);
- the NYSE group (NYSE, NYSE Arca, NYSE American, NYSE National, NYSE Chicago):
  ``Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Filler|Filler``, the market spelled out, a
  timestamp trailer; an empty day is the header and the trailer only;
- Cboe BZX: ``Symbol|CompanyName``, a timestamp trailer written early the next morning;
- FINRA OTC, legacy text: ``Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 4320`` (Market
  Category ``U`` OTCBB, ``u`` other OTC), and the FINRA Query API's ``thresholdList`` JSON records.

A list is dated D (the settlement date whose fails it reflects: the date in its file name, or given). An
unpublished day must not read as an empty list, so the trailer's date is checked against D: it must be D, or the
next calendar day for a list written after midnight. A file without a trailer is refused (a truncated download
looks the same), except FINRA's legacy text, which has none and must then list at least one security; FINRA's
JSON must carry D as the trade date of every record and at least one record.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from regsho.adapters.errors import InputError
from regsho.adapters.textfile import date_in_name, decode, lines, parse_stamp, read_bytes
from regsho.calendars import default_calendars


class Sro(StrEnum):
    NASDAQ = "nasdaq"
    NYSE = "nyse"
    NYSE_ARCA = "nyse_arca"
    NYSE_AMERICAN = "nyse_american"
    NYSE_NATIONAL = "nyse_national"
    NYSE_CHICAGO = "nyse_chicago"
    CBOE_BZX = "cboe_bzx"
    FINRA_OTC = "finra_otc"


@dataclass(frozen=True, slots=True)
class ThresholdEntry:
    symbol: str
    name: str
    market_category: str
    rule4320: bool | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ThresholdFile:
    """One SRO's threshold list for settlement date ``date`` (the securities flagged ``Y`` only)."""

    path: str
    sro: Sro
    date: dt.date
    created: dt.datetime | None
    entries: tuple[ThresholdEntry, ...]

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(e.symbol for e in self.entries)


NASDAQ_HEADERS: Final = (
    "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler",
    "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 4320|Filler",
)
NYSE_HEADER: Final = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Filler|Filler"
CBOE_HEADER: Final = "Symbol|CompanyName"
FINRA_HEADER: Final = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 4320"

NYSE_MARKETS: Final[dict[str, Sro]] = {
    "NYSE": Sro.NYSE, "NYSE Arca": Sro.NYSE_ARCA, "NYSE American": Sro.NYSE_AMERICAN,
    "NYSE National": Sro.NYSE_NATIONAL, "NYSE Chicago": Sro.NYSE_CHICAGO,
    # earlier names of NYSE American
    "NYSE MKT": Sro.NYSE_AMERICAN, "NYSE Amex": Sro.NYSE_AMERICAN, "AMEX": Sro.NYSE_AMERICAN,
}
#: The market= names of the NYSE download, by SRO.
NYSE_MARKET_PARAM: Final[dict[Sro, str]] = {
    Sro.NYSE: "NYSE", Sro.NYSE_ARCA: "NYSEArca", Sro.NYSE_AMERICAN: "NYSEAmer", Sro.NYSE_NATIONAL: "NYSENational",
    Sro.NYSE_CHICAGO: "NYSEChicago",
}
NASDAQ_CATEGORIES: Final = frozenset("QGS")
FINRA_CATEGORIES: Final = frozenset("Uu")
SYMBOL_RE: Final = re.compile(r"^[A-Z0-9][A-Z0-9.\-/+=^$#]{0,13}$")


def _symbol(name: str | Path, line: int, v: str) -> str:
    s = v.strip()
    if not SYMBOL_RE.match(s):
        raise InputError(name, line, "Symbol", "must be a ticker symbol (A-Z, 0-9, '.', '-', '/', up to 14)", v)
    return s


def _yn(name: str | Path, line: int, fld: str, v: str) -> bool:
    s = v.strip()
    if s not in ("Y", "N"):
        raise InputError(name, line, fld, "must be Y or N", v)
    return s == "Y"


def _list_date(path: str | Path, date: dt.date | None) -> dt.date | None:
    d = date or date_in_name(path)
    if d is not None:
        cal = default_calendars()
        if not (cal.start <= d <= cal.end) or not cal.is_settlement_day(d):
            raise InputError(path, None, None, "a threshold list is dated by a settlement day; this date is not one",
                             d.isoformat())
    return d


def _check_trailer(path: str | Path, line: int, stamp: dt.datetime, d: dt.date | None) -> dt.date:
    """The list's date D: given, or the trailer's (before noon: the settlement day before). The trailer must be
    dated D or the next calendar day, else the list for D was not published."""
    if d is None:
        cal = default_calendars()
        day = stamp.date()
        try:
            d = cal.settlement_day_on_or_before(day if stamp.hour >= 12 else day - dt.timedelta(days=1))
        except ValueError as e:
            raise InputError(path, line, "trailer", f"timestamp outside the calendars: {e}",
                             stamp.strftime("%Y%m%d%H%M%S")) from None
        return d
    if stamp.date() not in (d, d + dt.timedelta(days=1)):
        raise InputError(path, line, "trailer",
                         f"the file was created for another day than {d.isoformat()}: the list for that date was not "
                         "published (an unpublished day is not an empty list)", stamp.strftime("%Y%m%d%H%M%S"))
    return d


def _split(path: str | Path, line: int, text: str, n: int, filler_last: bool) -> list[str]:
    """A row's fields; a name holding ``|`` is rejoined (the name is the only free-text field, second)."""
    parts = text.split("|")
    if filler_last and len(parts) == n - 1:
        parts.append("")  # the empty Filler's trailing "|" dropped by an editor
    if len(parts) < n:
        raise InputError(path, line, None, f"a row needs {n} '|'-separated fields, this one has {len(parts)}", text)
    if len(parts) > n:
        extra = len(parts) - n
        parts = [parts[0], "|".join(parts[1:2 + extra]), *parts[2 + extra:]]
    return parts


def parse_file(path: str | Path, date: dt.date | None = None) -> ThresholdFile:
    """One SRO threshold-list file (text or JSON), told apart by its header."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return _parse_finra_json(p, date)
    numbered = lines(p)
    if not numbered:
        raise InputError(p, None, None, "empty file: not a threshold list (an unpublished day is not an empty list)")
    d = _list_date(p, date)
    first_no, header = numbered[0]
    header = header.strip()
    body = numbered[1:]
    trailer: tuple[int, dt.datetime] | None = None
    if body:
        stamp = parse_stamp(body[-1][1])
        if stamp is not None:
            trailer = (body[-1][0], stamp)
            body = body[:-1]
    if header in NASDAQ_HEADERS:
        kind, n, pipe = "nasdaq", 6, True
    elif header == NYSE_HEADER:
        kind, n, pipe = "nyse", 6, True
    elif header == CBOE_HEADER:
        kind, n, pipe = "cboe", 2, False
    elif header.rstrip("|") == FINRA_HEADER:
        kind, n, pipe = "finra", 5, False
    else:
        raise InputError(p, first_no, None, "not a threshold list: unknown header", header)
    if trailer is None:
        if kind != "finra":
            raise InputError(p, numbered[-1][0], "trailer", "the last line must be the file's creation timestamp "
                             "(YYYYMMDDHHMMSS): without it the file may be truncated or the day unpublished",
                             numbered[-1][1])
        if not body:
            raise InputError(p, first_no, None, "no rows and no trailer: an unpublished day is not an empty list")
        if d is None:
            raise InputError(p, None, None, "the list's date is neither in the file name nor given")
        created = None
    else:
        d = _check_trailer(p, trailer[0], trailer[1], d)
        created = trailer[1]
    entries: list[ThresholdEntry] = []
    sros: set[Sro] = set()
    seen: dict[str, int] = {}
    for no, text in body:
        f = _split(p, no, text, n, pipe)
        sym = _symbol(p, no, f[0])
        if sym in seen:
            raise InputError(p, no, "Symbol", f"listed twice (also line {seen[sym]})", sym)
        seen[sym] = no
        name = f[1].strip()
        if kind == "cboe":
            entries.append(ThresholdEntry(sym, name, "Z", None, no))
            sros.add(Sro.CBOE_BZX)
            continue
        cat = f[2].strip()
        if kind == "nasdaq" and cat not in NASDAQ_CATEGORIES:
            raise InputError(p, no, "Market Category", "must be Q, G or S", f[2])
        if kind == "finra" and cat not in FINRA_CATEGORIES:
            raise InputError(p, no, "Market Category", "must be U (OTCBB) or u (other OTC)", f[2])
        if kind == "nyse":
            if cat not in NYSE_MARKETS:
                raise InputError(p, no, "Market Category", "must be an NYSE group market", f[2])
            sros.add(NYSE_MARKETS[cat])
        flag = _yn(p, no, "Reg SHO Threshold Flag", f[3])
        rule = None
        if kind in ("nasdaq", "finra"):
            rule = _yn(p, no, header.split("|")[4], f[4]) if f[4].strip() else None
        if kind == "nasdaq" and f[5].strip():
            raise InputError(p, no, "Filler", "must be empty", f[5])
        if kind == "nyse" and (f[4].strip() or f[5].strip()):
            raise InputError(p, no, "Filler", "must be empty", f[4] + "|" + f[5])
        if flag:
            entries.append(ThresholdEntry(sym, name, cat, rule, no))
    if kind == "nyse":
        if len(sros) > 1:
            raise InputError(p, None, "Market Category", "one file must hold one NYSE market's list",
                             ",".join(sorted(sros)))
        sro = sros.pop() if sros else _nyse_market_from_name(p)
    else:
        sro = {"nasdaq": Sro.NASDAQ, "cboe": Sro.CBOE_BZX, "finra": Sro.FINRA_OTC}[kind]
    assert d is not None
    return ThresholdFile(str(p), sro, d, created, tuple(entries))


def _nyse_market_from_name(p: Path) -> Sro:
    """An empty NYSE-group list names its market only in the file name (``NYSEArca``, ``nyse_arca``...)."""
    key = re.sub(r"[^a-z]", "", p.stem.lower())
    for sro, param in sorted(NYSE_MARKET_PARAM.items(), key=lambda kv: -len(kv[1])):
        if param.lower() in key or sro.value.replace("_", "") in key:
            return sro
    if "amex" in key or "american" in key:
        return Sro.NYSE_AMERICAN
    raise InputError(p, None, None, "an empty NYSE-group list must name its market in the file name "
                     "(NYSE, NYSEArca, NYSEAmer, NYSENational, NYSEChicago)")


_FINRA_FIELDS: Final = ("tradeDate", "issueSymbolIdentifier")


def _parse_finra_json(p: Path, date: dt.date | None) -> ThresholdFile:
    text = decode(read_bytes(p), p)
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(p, e.lineno, None, f"not JSON: {e.msg}") from None
    if isinstance(doc, dict):
        doc = doc.get("data", doc.get("records"))
    if not isinstance(doc, list):
        raise InputError(p, None, None, "a FINRA thresholdList response must be a list of records")
    if not doc:
        raise InputError(p, None, None, "no records: an unpublished day is not an empty list")
    d = date or date_in_name(p)
    entries: list[ThresholdEntry] = []
    seen: set[str] = set()
    for i, rec in enumerate(doc):
        where = i + 1
        if not isinstance(rec, dict):
            raise InputError(p, where, None, "a record must be an object", rec)
        for fld in _FINRA_FIELDS:
            if not isinstance(rec.get(fld), str):
                raise InputError(p, where, fld, "missing or not text", rec.get(fld))
        try:
            td = dt.date.fromisoformat(rec["tradeDate"][:10])
        except ValueError:
            raise InputError(p, where, "tradeDate", "must be a date YYYY-MM-DD", rec["tradeDate"]) from None
        if d is None:
            d = td
        if td != d:
            raise InputError(p, where, "tradeDate", f"every record must be dated {d.isoformat()} (the list for that "
                             "date was not published?)", rec["tradeDate"])
        sym = _symbol(p, where, rec["issueSymbolIdentifier"])
        if "regShoThresholdFlag" in rec:
            on = _yn(p, where, "regShoThresholdFlag", str(rec["regShoThresholdFlag"]))
        elif "thresholdListFlag" in rec:
            v = str(rec["thresholdListFlag"])
            if v not in ("R", "NR"):
                raise InputError(p, where, "thresholdListFlag", "must be R (Reg SHO) or NR (Rule 4320 only)", v)
            on = v == "R"
        else:
            raise InputError(p, where, "regShoThresholdFlag", "missing (nor thresholdListFlag)")
        rule = (_yn(p, where, "rule4320Flag", str(rec["rule4320Flag"])) if rec.get("rule4320Flag") is not None
                else None)
        if on:
            if sym in seen:
                raise InputError(p, where, "issueSymbolIdentifier", "listed twice", sym)
            seen.add(sym)
            entries.append(ThresholdEntry(sym, str(rec.get("issueName") or ""), str(rec.get("marketClassCode") or ""),
                                          rule, where))
    assert d is not None
    _list_date(p, d)
    return ThresholdFile(str(p), Sro.FINRA_OTC, d, None, tuple(entries))


def sniff(path: str | Path) -> bool:
    """Whether a file looks like a threshold list (by its header), without validating it."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return "threshold" in p.name.lower() or "finra" in p.name.lower()
    try:
        with p.open("rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip().removeprefix("\ufeff")
    except OSError:
        return False
    return first in (*NASDAQ_HEADERS, NYSE_HEADER, CBOE_HEADER) or first.rstrip("|") == FINRA_HEADER
