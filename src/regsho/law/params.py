"""The one table of regulatory parameters, keyed by effective date, each value with its citation.

No regulatory number appears as a literal inside a rule: rules ask this table for the value in force on the
date they are applied to. A date before a parameter's first effective date is an error, never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Final

from regsho.core.records import ParamValue as ParamValue
from regsho.law import citations as c


class RegimeError(ValueError):
    """A date falls before the earliest implemented regime for a parameter."""


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


TABLE: Final[tuple[ParamValue, ...]] = (
    # Regimes
    ParamValue("regime.reg_sho", _d("2005-01-03"), _d("2005-01-03"), c.REG_SHO_ADOPTING,
               "compliance date of Regulation SHO"),
    ParamValue("regime.short_exempt_removed", _d("2007-07-06"), _d("2007-07-06"),
               c.SHORT_EXEMPT_REMOVED, "tick test repealed; 'short exempt' marking removed"),
    ParamValue("regime.grandfather_removed", _d("2007-10-15"), _d("2007-10-15"),
               "Release 34-56212 (2007)", "203(b)(3) grandfather provision eliminated"),
    ParamValue("regime.rule_204t", _d("2008-09-18"), _d("2008-09-18"), "Release 34-58572 (2008)",
               "temporary Rule 204T by emergency order"),
    ParamValue("regime.options_mm_exception_removed", _d("2008-10-17"),
               _d("2008-10-17"), "Release 34-58775, 73 FR 61690 (2008)",
               "options market-maker exception of 203(b)(3) eliminated"),
    ParamValue("regime.rule_204", _d("2009-07-31"), _d("2009-07-31"), "Release 34-60388, 74 FR 38266 (2009)",
               "Rule 204 made permanent"),
    ParamValue("regime.rule_201", _d("2011-02-28"), _d("2011-02-28"), c.RULE201_ADOPTING,
               "Rule 201 compliance date (short exempt marking reinstated)"),
    # Settlement cycle, by trade date (Rule 15c6-1)
    ParamValue("settlement.cycle_days", _d("1995-06-07"), 3, c.RULE_15C6_1, "T+3"),
    ParamValue("settlement.cycle_days", _d("2017-09-05"), 2, c.T2_RELEASE, "T+2 from trade date 2017-09-05"),
    ParamValue("settlement.cycle_days", _d("2024-05-28"), 1, c.T1_RELEASE, "T+1 from trade date 2024-05-28"),
    # Threshold securities, 203(c)(6)
    ParamValue("threshold.min_fail_shares", _d("2005-01-03"), 10_000, c.R203_C6,
               "aggregate fails of 10,000 shares or more"),
    ParamValue("threshold.min_fail_fraction_tso", _d("2005-01-03"), 0.005, c.R203_C6,
               "fails at least 0.5% of total shares outstanding"),
    ParamValue("threshold.consecutive_days", _d("2005-01-03"), 5, c.R203_C6,
               "for five consecutive settlement days"),
    # Threshold close-out, 203(b)(3)
    ParamValue("closeout.threshold_days", _d("2005-01-03"), 13, c.R203_B3,
               "thirteen consecutive settlement days"),
    ParamValue("closeout.phase_out_days", _d("2007-10-15"), 35, c.CFR + "203(b)(3)(i)",
               "35 consecutive settlement days for grandfathered fails (and Rule 144, options MM phase-out)"),
    ParamValue("closeout.rule144_extended", _d("2005-01-03"), False, c.R203_B3,
               "before 2007-10-15 a Rule 144 fail in a threshold security had the 13-day period"),
    ParamValue("closeout.rule144_extended", _d("2007-10-15"), True, c.R203_B3_II,
               "from 2007-10-15 a Rule 144 fail in a threshold security has 35 consecutive settlement days"),
    ParamValue("closeout.rule144_days", _d("2007-10-15"), 35, c.CFR + "203(b)(3)(ii)",
               "35 consecutive settlement days for Rule 144 sales in threshold securities"),
    # Rule 204 / 204T close-out, counted in settlement days after the settlement date
    ParamValue("closeout.short_sale_days", _d("2008-09-18"), 1, c.R204_A, "S+1 (Rule 204T, then 204(a))"),
    ParamValue("closeout.long_sale_days", _d("2008-09-18"), 3, c.CFR + "204(a)(1)", "S+3 for long sales"),
    ParamValue("closeout.market_maker_days", _d("2008-09-18"), 3, c.CFR + "204(a)(3)",
               "S+3 for bona fide market making"),
    ParamValue("closeout.deemed_to_own_calendar_days", _d("2005-01-03"), 35, c.R203_B2_II,
               "35 calendar days after trade date (203(b)(2)(ii); 204(a)(2) from 2008)"),
    ParamValue("closeout.cyclical_fail_days", _d("2005-01-03"), 5, "regsho convention (docs/scenarios.md 12)",
               "a new fail within 5 settlement days of a close-out, with short sales between"),
    # Which close-out regime a fail is under, by its settlement date (docs/scenarios.md, convention 14)
    ParamValue("closeout.rule204_regime", _d("2005-01-03"), "none", c.REG_SHO_ADOPTING,
               "before Rule 204T only 203(b)(3) (threshold securities) and 203(b)(2)(ii) applied"),
    ParamValue("closeout.rule204_regime", _d("2008-09-18"), "204T", c.REL_204T_EMERGENCY,
               "temporary Rule 204T for fails settling from 2008-09-18"),
    ParamValue("closeout.rule204_regime", _d("2009-07-31"), "204", c.REL_204_FINAL,
               "Rule 204 for fails settling from 2009-07-31"),
    # Rule 204T market-maker attestation (FINRA Regulatory Notice 08-50)
    ParamValue("closeout.mm_attestation_required", _d("2008-09-18"), True, c.FINRA_08_50,
               "a market maker's fail gets S+3 only with a written attestation"),
    ParamValue("closeout.mm_attestation_required", _d("2008-10-17"), False, c.REL_204T_INTERIM,
               "interim final Rule 204T no longer requires the written attestation (fn. 84)"),
    ParamValue("closeout.mm_attestation_days", _d("2008-09-18"), 1, c.FINRA_08_50,
               "the attestation is due by the close of business on S+1"),
    ParamValue("closeout.mm_attestation_close_of_business", _d("2008-09-18"), dt.time(17, 0), c.FINRA_08_50,
               "'close of business' in the attestation form, read as 17:00 ET (the engine takes the attestation "
               "while it arrives by the end of S+1, docs/scenarios.md convention 14)"),
    # 203(b)(3) exceptions to the 13-day count (docs/scenarios.md, conventions 6 and 21)
    ParamValue("closeout.grandfather_exception", _d("2005-01-03"), True, c.R203_B3,
               "fails existing before the security became a threshold security are grandfathered"),
    ParamValue("closeout.grandfather_exception", _d("2007-10-15"), False, c.REL_GRANDFATHER,
               "grandfather provision eliminated; 35-settlement-day phase-out, 203(b)(3)(i)"),
    ParamValue("closeout.options_mm_exception", _d("2005-01-03"), True, c.R203_B3,
               "hedges of options created before the security became a threshold security are excepted"),
    ParamValue("closeout.options_mm_exception", _d("2008-10-17"), False, c.REL_OPTIONS_MM,
               "options market-maker exception eliminated; 35-settlement-day phase-out, 203(b)(3)(iii)"),
    # Locates
    ParamValue("locate.etb_max_age", _d("2005-01-03"), dt.timedelta(hours=24), c.ETB_24H,
               "an easy-to-borrow list supports a locate while less than 24 hours old"),
    # Rule 201
    ParamValue("rule201.trigger_decline", _d("2011-02-28"), 0.10, c.R201_B1_I,
               "a decline of 10% or more from the prior day's close"),
    ParamValue("rule201.duration_next_trading_days", _d("2011-02-28"), 1, c.R201_B1_II,
               "the rest of the trigger day and the following day"),
    # -- market-making surveillance (surveillance) --
    # Quotation bands of FINRA Rule 6272(a)(2) and Nasdaq Rule 4613(a)(2): a market maker's bid may be no more
    # than the Designated Percentage below the national best bid (its offer above the national best offer) when
    # entered, and may drift to the Defined Limit before it must be refreshed. Fractions of the reference price.
    ParamValue("mm.band.designated.tier1", _d("2010-12-06"), 0.08, c.SEC_STUB_QUOTES,
               "8% for stocks in the single-stock circuit-breaker pilot (S&P 500, Russell 1000; later LULD Tier 1)"),
    ParamValue("mm.band.defined.tier1", _d("2010-12-06"), 0.095, c.SEC_STUB_QUOTES,
               "Defined Limit 9.5% (the Designated Percentage plus 1.5 points)"),
    ParamValue("mm.band.designated.tier1_edge", _d("2010-12-06"), 0.20, c.SEC_STUB_QUOTES,
               "20% for Tier 1 stocks in the first 15 and the last 25 minutes of regular trading hours"),
    ParamValue("mm.band.defined.tier1_edge", _d("2010-12-06"), 0.215, c.SEC_STUB_QUOTES,
               "Defined Limit 21.5% in the first 15 and the last 25 minutes"),
    ParamValue("mm.band.designated.tier2", _d("2010-12-06"), 0.30, c.SEC_STUB_QUOTES,
               "30% for all other NMS stocks"),
    ParamValue("mm.band.defined.tier2", _d("2010-12-06"), 0.315, c.SEC_STUB_QUOTES, "Defined Limit 31.5%"),
    ParamValue("mm.band.designated.tier2", _d("2011-08-08"), 0.28, c.CIRCUIT_BREAKER_EXPANSION,
               "28% for other NMS stocks priced at $1 or more once the pause pilot covered all NMS stocks"),
    ParamValue("mm.band.defined.tier2", _d("2011-08-08"), 0.295, c.CIRCUIT_BREAKER_EXPANSION,
               "Defined Limit 29.5% for other NMS stocks priced at $1 or more"),
    ParamValue("mm.band.designated.tier2_sub_dollar", _d("2010-12-06"), 0.30, c.MM_QUOTE_BANDS,
               "30% for other NMS stocks priced below $1"),
    ParamValue("mm.band.defined.tier2_sub_dollar", _d("2010-12-06"), 0.315, c.MM_QUOTE_BANDS,
               "Defined Limit 31.5% for other NMS stocks priced below $1"),
    ParamValue("mm.band.sub_dollar_price", _d("2010-12-06"), 1.0, c.MM_QUOTE_BANDS,
               "the $1.00 reference price below which the sub-dollar percentages apply"),
    ParamValue("mm.band.open_edge_minutes", _d("2010-12-06"), 15, c.MM_QUOTE_BANDS,
               "09:30-09:45: the wider Tier 1 band after the open"),
    ParamValue("mm.band.close_edge_minutes", _d("2010-12-06"), 25, c.MM_QUOTE_BANDS,
               "15:35-close: the wider Tier 1 band in the last 25 minutes (before an early close too)"),
    # Supervisory thresholds for the bona fide market-making review (17 CFR 242.203(b)(2)(iii)). The FINRA
    # reports name the patterns and what to measure; the figures are this project's review policy.
    ParamValue("mm.review.window_minutes", _d("2005-01-03"), 30, c.FINRA_2023_REPORT,
               "verdict windows of 30 minutes from the open ('timing of quoting activity')"),
    ParamValue("mm.review.min_two_sided_share", _d("2005-01-03"), 0.90, c.FINRA_2024_REPORT,
               "regular and continuous quotations on both sides: two-sided at least 90% of the time"),
    ParamValue("mm.review.near_inside_band_fraction", _d("2005-01-03"), 0.10, c.FINRA_2023_REPORT,
               "'at or near the inside': within 10% of the Designated Percentage distance from the NBBO"),
    ParamValue("mm.review.band_edge_fraction", _d("2005-01-03"), 0.80, c.FINRA_2023_REPORT,
               "'at the maximum allowable distance': at least 80% of the Designated Percentage distance"),
    ParamValue("mm.review.max_band_edge_share", _d("2005-01-03"), 0.50, c.FINRA_2023_REPORT,
               "a side quoted at the band edge more than half its time is the peg signature"),
    ParamValue("mm.review.one_sided_strong_share", _d("2005-01-03"), 0.50, c.FINRA_2023_REPORT,
               "one side near the inside at least half the time ..."),
    ParamValue("mm.review.one_sided_weak_share", _d("2005-01-03"), 0.10, c.FINRA_2023_REPORT,
               "... while the other side is near the inside at most 10% of the time"),
    ParamValue("mm.review.order_near_gap", _d("2005-01-03"), 0.50, c.FINRA_2023_REPORT,
               "near the inside on both sides at least 50 points more of the time while holding an order"),
    ParamValue("mm.review.min_order_state_seconds", _d("2005-01-03"), 600, c.FINRA_2023_REPORT,
               "the order comparison needs at least 10 minutes both holding and not holding an order"),
    ParamValue("mm.review.min_firm_share", _d("2005-01-03"), 0.95, c.FINRA_2023_REPORT,
               "quotations firm at least 95% of the time quoted"),
    ParamValue("mm.review.min_displayed_share", _d("2005-01-03"), 0.95, c.FINRA_2023_REPORT,
               "quotations displayed in a quotation medium at least 95% of the time quoted"),
    ParamValue("mm.review.min_window_coverage", _d("2005-01-03"), 0.80, c.FINRA_2023_REPORT,
               "two-sided in at least 80% of the day's windows ('throughout the trading day')"),
    ParamValue("mm.review.max_principal_imbalance", _d("2005-01-03"), 0.80, c.FINRA_2023_REPORT,
               "principal buys and sells within 80% of balance (|buy - sell| / (buy + sell))"),
    ParamValue("mm.review.min_principal_shares", _d("2005-01-03"), 1000, c.FINRA_2023_REPORT,
               "the balance test needs at least 1,000 principal shares in the period"),
    # -- threshold data (marketdata) --
    ParamValue("threshold.list_effective_trading_days", _d("2005-01-03"), 1, c.SRO_LIST_TIMING,
               "a list dated D reflects settlement data through D and governs trading from the next trading day"),
    ParamValue("threshold.first_list_day", _d("2005-01-03"), 1, c.FAQ_THRESHOLD_DAY1,
               "the list's own date D is day 1 of the 13 consecutive settlement days of 203(b)(3)"),
)


@cache
def _history(name: str) -> tuple[ParamValue, ...]:
    rows = tuple(sorted((p for p in TABLE if p.name == name), key=lambda p: p.effective))
    if not rows:
        raise KeyError(f"unknown regulatory parameter {name!r}")
    return rows


#: The parameters read while a trace is open (``trace()``), in the order first read.
_trace: dict[ParamValue, None] | None = None


@contextmanager
def trace() -> Iterator[dict[ParamValue, None]]:
    """Record every parameter value looked up inside the block (the OpenFisca tracer's idea): what a decision,
    an obligation or a finding used, with its effective date and citation. Traces nest; the inner one sees only
    its own block."""
    global _trace
    outer = _trace
    used: dict[ParamValue, None] = {}
    _trace = used
    try:
        yield used
    finally:
        if outer is not None:
            outer.update(used)
        _trace = outer


@lru_cache(maxsize=65_536)
def _lookup(name: str, on: dt.date) -> ParamValue:
    rows = _history(name)
    found: ParamValue | None = None
    for row in rows:
        if row.effective <= on:
            found = row
        else:
            break
    if found is None:
        raise RegimeError(
            f"{name} has no value before {rows[0].effective.isoformat()} ({on.isoformat()} requested); "
            "dates before the earliest implemented regime are not supported"
        )
    return found


def lookup(name: str, on: dt.date) -> ParamValue:
    """The value of parameter ``name`` in force on ``on``, with its citation (recorded by an open ``trace``)."""
    row = _lookup(name, on)
    if _trace is not None:
        _trace[row] = None
    return row


def value(name: str, on: dt.date) -> object:
    return lookup(name, on).value


def int_value(name: str, on: dt.date) -> int:
    v = lookup(name, on).value
    if not isinstance(v, int):
        raise TypeError(f"{name} is not an integer parameter")
    return v


def bool_value(name: str, on: dt.date) -> bool:
    v = lookup(name, on).value
    if not isinstance(v, bool):
        raise TypeError(f"{name} is not a yes/no parameter")
    return v


def history(name: str) -> tuple[ParamValue, ...]:
    """Every value of ``name``, oldest first (for vectorised work over many dates)."""
    return _history(name)


def names() -> tuple[str, ...]:
    return tuple(sorted({p.name for p in TABLE}))


def regime_start(name: str) -> dt.date:
    """The date a regime begins: the value of the ``regime.*`` parameter of that name, read from the table."""
    row = _history(name)[0]
    assert isinstance(row.value, dt.date)
    return row.value


def regime_in_force(name: str, on: dt.date) -> bool:
    """Whether the regime named ``name`` is in force on ``on`` (recorded by an open ``trace`` when it is)."""
    row = _history(name)[0]
    if on < row.effective:
        return False
    if _trace is not None:
        _trace[row] = None
    return True


def check_regime(on: dt.date) -> None:
    """Raise RegimeError for dates before Regulation SHO's compliance date (the earliest implemented regime)."""
    if not regime_in_force("regime.reg_sho", on):
        raise RegimeError(
            f"{on.isoformat()} is before {regime_start('regime.reg_sho').isoformat()}, the compliance date of "
            "Regulation SHO; no earlier regime is implemented"
        )
