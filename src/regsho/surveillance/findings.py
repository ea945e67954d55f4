"""Findings per FINRA pattern and bona fide verdicts per day and per window (17 CFR 242.203(b)(2)(iii)).

The patterns are those the FINRA 2023 and 2024 Annual Regulatory Oversight Reports name as not bona fide market
making; every threshold comes from the dated parameter table (``mm.review.*``), and every finding carries its
evidence: the figures measured, the threshold, the window. A window's verdict is not bona fide when a finding
falls in it or when the day as a whole shows a pattern (a pattern over the day taints each of its windows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any, Final

import polars as pl

from regsho.law import citations as c
from regsho.law import params
from regsho.surveillance.metrics import Metrics, iso

_R: Final = c.R203_B2_III


@dataclass(frozen=True, slots=True)
class Pattern:
    code: str
    cites: tuple[str, ...]
    meaning: str


PATTERNS: Final = {
    p.code: p for p in (
        Pattern("MM_NOT_TWO_SIDED", (_R, c.FINRA_2024_REPORT),
                "not regularly and continuously quoting on both the bid and the ask side"),
        Pattern("MM_ONE_SIDED_INSIDE", (_R, c.FINRA_2023_REPORT),
                "at or near the inside on one side of the market but not the other"),
        Pattern("MM_BAND_EDGE", (_R, c.FINRA_2023_REPORT, c.MM_QUOTE_BANDS),
                "quoting only at the maximum allowable distance from the inside (the peg signature)"),
        Pattern("MM_NEAR_INSIDE_ONLY_WITH_ORDER", (_R, c.FINRA_2023_REPORT),
                "near the inside only while holding a customer order"),
        Pattern("MM_NOT_FIRM", (_R, c.FINRA_2023_REPORT), "quotations that are not firm"),
        Pattern("MM_NOT_DISPLAYED", (_R, c.FINRA_2023_REPORT),
                "quotations not displayed in a quotation medium (reach only a few subscribers)"),
        Pattern("MM_PART_OF_DAY", (_R, c.FINRA_2023_REPORT),
                "quoting only part of the trading day (e.g. mornings), not throughout it"),
        Pattern("MM_DIRECTIONAL_PRINCIPAL", (_R, c.FINRA_2023_REPORT),
                "principal trading in one direction rather than on both sides"),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    date: dt.date
    symbol: str
    mm_id: str
    scope: str  # "day" or "window"
    start: int  # ns since the epoch
    end: int
    code: str
    evidence: str

    @property
    def cites(self) -> tuple[str, ...]:
        return PATTERNS[self.code].cites


@dataclass(frozen=True, slots=True)
class Verdict:
    date: dt.date
    symbol: str
    mm_id: str
    scope: str
    start: int
    end: int
    bona_fide: bool
    codes: tuple[str, ...]
    reasons: str

    @property
    def cites(self) -> tuple[str, ...]:
        out: list[str] = [_R]
        for code in self.codes:
            out.extend(x for x in PATTERNS[code].cites if x not in out)
        return tuple(out)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


@lru_cache(maxsize=256)
def _p(name: str, on: dt.date) -> float:
    v = params.value(name, on)
    assert isinstance(v, int | float)
    return float(v)


Check = Callable[[dict[str, Any], dt.date, str], tuple[str, str] | None]


def _two_sided(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2024 report: a bona fide market maker regularly and continuously quotes both sides."""
    lim = _p("mm.review.min_two_sided_share", d)
    s = r["two_sided_share"] or 0.0
    if s < lim:
        return "MM_NOT_TWO_SIDED", (f"two-sided {_pct(s)} of regular hours (minimum {_pct(lim)}); bid quoted "
                                    f"{_pct(r['bid_quoted_share'])}, ask quoted {_pct(r['ask_quoted_share'])}")
    return None


def _one_sided(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 report: quotes at or near the inside ask but not at or near the inside bid (or the reverse)."""
    strong = _p("mm.review.one_sided_strong_share", d)
    weak = _p("mm.review.one_sided_weak_share", d)
    b, a = r["bid_near_inside_share"] or 0.0, r["ask_near_inside_share"] or 0.0
    hi, lo, hs, ls = (b, a, "bid", "ask") if b >= a else (a, b, "ask", "bid")
    if hi >= strong and lo <= weak:
        return "MM_ONE_SIDED_INSIDE", (f"{hs} near the inside {_pct(hi)} of the time (at least {_pct(strong)}) "
                                       f"but {ls} only {_pct(lo)} (at most {_pct(weak)}); mean {ls} distance "
                                       f"{r[ls + '_distance_bp'] or 0:.0f} bp")
    return None


def _edge(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 report: quoting only at the maximum allowable distance from the inside (e.g. peg orders)."""
    lim = _p("mm.review.max_band_edge_share", d)
    frac = _p("mm.review.band_edge_fraction", d)
    sides = [(s, r[f"{s}_band_edge_share"]) for s in ("bid", "ask")]
    hit = [(s, v) for s, v in sides if v is not None and v > lim]
    if hit:
        txt = "; ".join(f"{s} at {100 * frac:.0f}% or more of the band {_pct(v)} of its quoted time, mean "
                        f"{r[s + '_band_fraction']:.2f} of the Designated Percentage" for s, v in hit)
        return "MM_BAND_EDGE", f"{txt} (maximum {_pct(lim)})"
    return None


def _order(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 report: only posting bid and offer quotes near the inside when in possession of an order."""
    need = _p("mm.review.min_order_state_seconds", d)
    gap = _p("mm.review.order_near_gap", d)
    if r["holding_seconds"] < need or r["not_holding_seconds"] < need:
        return None
    h, n = r["near_inside_holding_share"] or 0.0, r["near_inside_not_holding_share"] or 0.0
    if h - n >= gap:
        return "MM_NEAR_INSIDE_ONLY_WITH_ORDER", (
            f"both sides near the inside {_pct(h)} of {r['holding_seconds'] / 60:.0f} min holding a customer order "
            f"against {_pct(n)} of {r['not_holding_seconds'] / 60:.0f} min without (gap at least {_pct(gap)})")
    return None


def _firm(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 report: displaying quotations that are not firm."""
    lim = _p("mm.review.min_firm_share", d)
    s = r["firm_share"]
    if s is not None and s < lim:
        return "MM_NOT_FIRM", f"firm {_pct(s)} of the time quoted (minimum {_pct(lim)})"
    return None


def _displayed(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 report: quotations only accessible to a small set of subscribers; 2023 effective practices:
    where quotes are placed and how (visible or non-visible)."""
    lim = _p("mm.review.min_displayed_share", d)
    s = r["displayed_share"]
    if s is not None and s < lim:
        return "MM_NOT_DISPLAYED", f"displayed {_pct(s)} of the time quoted (minimum {_pct(lim)})"
    return None


def _part_of_day(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 effective practices: the frequency or timing of quoting (morning or evening vs throughout)."""
    if scope != "day":
        return None
    lim = _p("mm.review.min_window_coverage", d)
    cov = r["window_coverage"] or 0.0
    if cov < lim:
        return "MM_PART_OF_DAY", (f"two-sided in {r['windows_two_sided']} of {r['windows']} half-hour windows "
                                  f"({_pct(cov)}, minimum {_pct(lim)}): {r['covered_windows'] or 'none'}")
    return None


def _principal(r: dict[str, Any], d: dt.date, scope: str) -> tuple[str, str] | None:
    """FINRA 2023 effective practices: the level of proprietary trades compared to customer transactions."""
    if scope != "day":
        return None
    lim = _p("mm.review.max_principal_imbalance", d)
    need = _p("mm.review.min_principal_shares", d)
    q, imb = r["principal_qty"] or 0.0, r["principal_imbalance"]
    if q >= need and imb is not None and abs(imb) > lim:
        return "MM_DIRECTIONAL_PRINCIPAL", (
            f"principal buys {r['principal_buy_qty']:.0f} and sells {r['principal_sell_qty']:.0f} shares "
            f"(imbalance {imb:+.2f}, at most ±{lim:.2f}) against {r['customer_fill_qty']:.0f} customer shares filled")
    return None


CHECKS: Final[tuple[Check, ...]] = (_two_sided, _one_sided, _edge, _order, _firm, _displayed, _part_of_day,
                                    _principal)


def _hm(ns: int) -> str:
    return iso(ns)[11:16]


@dataclass(frozen=True, slots=True)
class Review:
    findings: tuple[Finding, ...]
    verdicts: tuple[Verdict, ...]


_USED_W: Final = (
    "date", "symbol", "mm_id", "window_start", "window_end", "two_sided_share", "bid_quoted_share",
    "ask_quoted_share", "bid_near_inside_share", "ask_near_inside_share", "bid_distance_bp", "ask_distance_bp",
    "bid_band_edge_share", "ask_band_edge_share", "bid_band_fraction", "ask_band_fraction", "holding_seconds",
    "not_holding_seconds", "near_inside_holding_share", "near_inside_not_holding_share", "firm_share",
    "displayed_share", "principal_qty", "principal_imbalance", "principal_buy_qty", "principal_sell_qty",
    "customer_fill_qty",
)
_USED: Final = (*_USED_W, "window_coverage", "windows_two_sided", "windows")


def _flags(df: pl.DataFrame, scope: str) -> pl.Series:
    """Whether any check (``CHECKS``) can fire on each row: the same comparisons as the checks, over whole columns,
    so that only the rows they flag are examined one by one for their evidence."""
    c = pl.col
    dates = df.get_column("date").unique().to_list()
    lims = pl.DataFrame({"date": dates, **{k: [_p(n, d) for d in dates] for k, n in (
        ("two", "mm.review.min_two_sided_share"), ("strong", "mm.review.one_sided_strong_share"),
        ("weak", "mm.review.one_sided_weak_share"), ("edge", "mm.review.max_band_edge_share"),
        ("need", "mm.review.min_order_state_seconds"), ("gap", "mm.review.order_near_gap"),
        ("firm", "mm.review.min_firm_share"), ("disp", "mm.review.min_displayed_share"),
        ("cov", "mm.review.min_window_coverage"), ("imb", "mm.review.max_principal_imbalance"),
        ("qty", "mm.review.min_principal_shares"))}}, schema_overrides={"date": pl.Date})
    b, a = c("bid_near_inside_share").fill_null(0.0), c("ask_near_inside_share").fill_null(0.0)
    conds = [
        c("two_sided_share").fill_null(0.0) < c("two"),
        (pl.max_horizontal(b, a) >= c("strong")) & (pl.min_horizontal(b, a) <= c("weak")),
        (c("bid_band_edge_share") > c("edge")).fill_null(False) | (c("ask_band_edge_share") > c("edge")).fill_null(
            False),
        (c("holding_seconds") >= c("need")) & (c("not_holding_seconds") >= c("need")) & (
            c("near_inside_holding_share").fill_null(0.0) - c("near_inside_not_holding_share").fill_null(0.0)
            >= c("gap")),
        (c("firm_share") < c("firm")).fill_null(False),
        (c("displayed_share") < c("disp")).fill_null(False),
    ]
    if scope == "day":
        conds += [
            c("window_coverage").fill_null(0.0) < c("cov"),
            (c("principal_qty").fill_null(0.0) >= c("qty")) & (c("principal_imbalance").abs() > c("imb")).fill_null(
                False),
        ]
    # a row the columns cannot decide (a null the checks read as something else) is examined one by one
    return df.join(lims, on="date", how="left", maintain_order="left").select(
        pl.any_horizontal(conds).fill_null(True)).to_series()


def _hm_col(ns: str) -> pl.Expr:
    """``_hm`` over a column: the New York HH:MM of nanosecond epoch times."""
    from regsho.calendars import ET

    return pl.from_epoch(pl.col(ns) // 1_000_000_000 * 1_000_000_000, time_unit="ns").dt.replace_time_zone(
        "UTC").dt.convert_time_zone(str(ET)).dt.strftime("%H:%M")


_GOOD_FIGURES: Final = ("two_sided_share", "bid_near_inside_share", "ask_near_inside_share", "bid_band_edge_share",
                         "ask_band_edge_share", "firm_share", "displayed_share")


#: How close to half a tenth of a percent a figure must be for ``_pct_col`` to format it as ``_pct`` does.
_NEAR_TIE: Final = 1e-6


def _pct_col(s: pl.Series) -> pl.Series:
    """``_pct`` over a column, word for word. Percentages are rounded to a tenth in integers: ``floor(1000 x +
    0.5)``, which is the exact rounding ``_pct`` makes except within a rounding error of a tie (``1000 x`` within
    ``_NEAR_TIE`` of a half; below a million percent that error is under 1e-9); those figures, and any that are
    negative, negative zero, not finite or a million percent or more, are formatted by ``_pct`` itself."""
    y = pl.col("x") * 100.0
    r = y * 10.0
    k = (r + 0.5).floor()
    out = pl.DataFrame({"x": s.cast(pl.Float64)}).select(
        txt=pl.format("{}.{}%", (k // 10).cast(pl.Int64, strict=False),
                      (k % 10).cast(pl.Int64, strict=False)).fill_null("n/a"),
        slow=pl.col("x").is_not_null() & (~y.is_finite() | (y < 0) | (y >= 1e6) | ((y == 0) & (1.0 / y < 0))
                                          | ((r - r.floor() - 0.5).abs() < _NEAR_TIE)))
    txt = out.get_column("txt")
    idx = out.get_column("slow").arg_true()
    if idx.len():
        txt = txt.scatter(idx, [_pct(v) for v in s.gather(idx).to_list()])
    return txt


def _bona_fide_reasons(df: pl.DataFrame) -> list[str]:
    """The reasons of a bona fide verdict for each row of ``df`` (its figures as ``_pct`` writes them)."""
    p = {c: _pct_col(df.get_column(c)) for c in _GOOD_FIGURES}
    return pl.select(pl.format(
        "bona fide: two-sided {}, near the inside bid {} / ask {}, at the band edge bid {} / ask {}, firm {}, "
        "displayed {}; no FINRA pattern found", *(pl.lit(p[c]) for c in _GOOD_FIGURES))).to_series().to_list()


def review(m: Metrics) -> Review:
    """17 CFR 242.203(b)(2)(iii); FINRA 2023 and 2024 reports: findings and verdicts from the metrics.

    Which rows can show a pattern is decided over whole columns (``_flags``); only those rows run the checks one
    by one for their evidence, and the verdicts are built column by column."""
    if m.days.height == 0:
        return Review((), ())
    keys = ["date", "symbol", "mm_id"]
    lim = pl.DataFrame({"date": [f.day for f in m.frames],
                        "lim": [_p("mm.review.min_two_sided_share", f.day) for f in m.frames]})
    cov = m.windows.select(*keys, "two_sided_share", "window_start", "window_end").join(
        lim, on="date", how="left", maintain_order="left").filter(
        pl.col("two_sided_share").fill_null(0.0) >= pl.col("lim")).select(
        *keys, pl.concat_str(_hm_col("window_start"), pl.lit("-"), _hm_col("window_end")).alias("txt")).group_by(
        keys, maintain_order=True).agg(covered_windows=pl.col("txt").str.join(", "))
    days = m.days.select(_USED).join(cov, on=keys, how="left", maintain_order="left").with_columns(
        pl.col("covered_windows").fill_null(""))
    wins = m.windows.select(_USED_W)
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    day_codes: dict[tuple[dt.date, str, str], list[Finding]] = {}
    flagged = days.filter(_flags(days, "day"))
    for r in flagged.iter_rows(named=True):
        key = (r["date"], r["symbol"], r["mm_id"])
        got = _run(r, "day")
        if got:
            day_codes[key] = [Finding(*key, "day", r["window_start"], r["window_end"], code, ev) for code, ev in got]
    win_codes: dict[int, list[Finding]] = {}
    wflag = _flags(wins, "window")
    for i, r in zip(wflag.arg_true().to_list(), wins.filter(wflag).iter_rows(named=True), strict=True):
        key = (r["date"], r["symbol"], r["mm_id"])
        got = _run(r, "window")
        if got:
            win_codes[i] = [Finding(*key, "window", r["window_start"], r["window_end"], code, ev) for code, ev in got]
    for scope, df, own_of in (("day", days, None), ("window", wins, win_codes)):
        cols = [df.get_column(x).to_list() for x in ("date", "symbol", "mm_id", "window_start", "window_end")]
        n = df.height
        # every row bona fide first; then the rows with a finding of their own or of their day are judged again
        out = list(map(Verdict, cols[0], cols[1], cols[2], repeat(scope, n), cols[3], cols[4], repeat(True, n),
                       repeat((), n), _bona_fide_reasons(df)))
        tainted = set() if own_of is None else set(own_of)
        if day_codes:
            hit = df.select(keys).join(
                pl.DataFrame(list(day_codes), schema={"date": pl.Date, "symbol": pl.String, "mm_id": pl.String},
                             orient="row").with_columns(t=pl.lit(True)),
                on=keys, how="left", maintain_order="left").get_column("t").fill_null(False)
            tainted.update(hit.arg_true().to_list())
        for i in sorted(tainted):
            v = out[i]
            key = (v.date, v.symbol, v.mm_id)
            if own_of is None:
                own = day_codes.get(key, [])
                day: list[Finding] = []
            else:
                own = own_of.get(i, [])
                day = day_codes.get(key, [])
            findings.extend(own)
            if not own and not day:
                continue
            codes = tuple(dict.fromkeys([f.code for f in own] + [f.code for f in day]))
            parts = [f"{f.code}: {PATTERNS[f.code].meaning}: {f.evidence}" for f in own]
            parts += [f"{f.code} (the day as a whole): {PATTERNS[f.code].meaning}: {f.evidence}" for f in day]
            out[i] = Verdict(v.date, v.symbol, v.mm_id, scope, v.start, v.end, False, codes,
                             "not bona fide: " + "; ".join(parts))
        verdicts.extend(out)
    return Review(tuple(findings), tuple(verdicts))


def _run(r: dict[str, Any], scope: str) -> list[tuple[str, str]]:
    out = []
    for chk in CHECKS:
        got = chk(r, r["date"], scope)
        if got is not None:
            out.append(got)
    return out


def findings_table(rv: Review) -> pl.DataFrame:
    return pl.DataFrame({
        "date": [f.date for f in rv.findings], "symbol": [f.symbol for f in rv.findings],
        "mm_id": [f.mm_id for f in rv.findings], "scope": [f.scope for f in rv.findings],
        "window_start": [iso(f.start) for f in rv.findings], "window_end": [iso(f.end) for f in rv.findings],
        "code": [f.code for f in rv.findings], "pattern": [PATTERNS[f.code].meaning for f in rv.findings],
        "evidence": [f.evidence for f in rv.findings], "cites": ["; ".join(f.cites) for f in rv.findings],
    }, schema={"date": pl.Date, "symbol": pl.String, "mm_id": pl.String, "scope": pl.String,
               "window_start": pl.String, "window_end": pl.String, "code": pl.String, "pattern": pl.String,
               "evidence": pl.String, "cites": pl.String})


def verdicts_table(rv: Review) -> pl.DataFrame:
    v = rv.verdicts
    return pl.DataFrame({
        "date": [x.date for x in v], "symbol": [x.symbol for x in v], "mm_id": [x.mm_id for x in v],
        "scope": [x.scope for x in v], "window_start": [iso(x.start) for x in v],
        "window_end": [iso(x.end) for x in v], "bona_fide": [x.bona_fide for x in v],
        "codes": [" ".join(x.codes) for x in v], "reasons": [x.reasons for x in v],
        "cites": ["; ".join(x.cites) for x in v],
    }, schema={"date": pl.Date, "symbol": pl.String, "mm_id": pl.String, "scope": pl.String,
               "window_start": pl.String, "window_end": pl.String, "bona_fide": pl.Boolean, "codes": pl.String,
               "reasons": pl.String, "cites": pl.String}).sort("date", "symbol", "mm_id", "scope", "window_start")
