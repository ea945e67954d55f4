"""The one table of regulatory parameters, keyed by effective date, each value with its citation.

No regulatory number appears as a literal inside a rule: rules ask this table for the value in force on the
date they are applied to. A date before a parameter's first effective date is an error, never a guess.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Final

from regsho.law import citations as c


class RegimeError(ValueError):
    """A date falls before the earliest implemented regime for a parameter."""


@dataclass(frozen=True, slots=True)
class ParamValue:
    """One value of a parameter, in force from ``effective`` until the next value's date."""

    name: str
    effective: dt.date
    value: object
    cite: str
    note: str = ""


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


# Regime dates (DESIGN principle 2). Each is a parameter whose value is the date itself.
REG_SHO_COMPLIANCE: Final = _d("2005-01-03")
SHORT_EXEMPT_REMOVED: Final = _d("2007-07-06")
GRANDFATHER_REMOVED: Final = _d("2007-10-15")
RULE_204T: Final = _d("2008-09-18")
OPTIONS_MM_EXCEPTION_REMOVED: Final = _d("2008-10-17")
RULE_204: Final = _d("2009-07-31")
RULE_201: Final = _d("2011-02-28")
T2_CYCLE: Final = _d("2017-09-05")
T1_CYCLE: Final = _d("2024-05-28")

TABLE: Final[tuple[ParamValue, ...]] = (
    # Regimes
    ParamValue("regime.reg_sho", REG_SHO_COMPLIANCE, REG_SHO_COMPLIANCE, c.REG_SHO_ADOPTING,
               "compliance date of Regulation SHO"),
    ParamValue("regime.short_exempt_removed", SHORT_EXEMPT_REMOVED, SHORT_EXEMPT_REMOVED,
               c.SHORT_EXEMPT_REMOVED, "tick test repealed; 'short exempt' marking removed"),
    ParamValue("regime.grandfather_removed", GRANDFATHER_REMOVED, GRANDFATHER_REMOVED,
               "Release 34-56212 (2007)", "203(b)(3) grandfather provision eliminated"),
    ParamValue("regime.rule_204t", RULE_204T, RULE_204T, "Release 34-58572 (2008)",
               "temporary Rule 204T by emergency order"),
    ParamValue("regime.options_mm_exception_removed", OPTIONS_MM_EXCEPTION_REMOVED,
               OPTIONS_MM_EXCEPTION_REMOVED, "Release 34-58775, 73 FR 61690 (2008)",
               "options market-maker exception of 203(b)(3) eliminated"),
    ParamValue("regime.rule_204", RULE_204, RULE_204, "Release 34-60388, 74 FR 38266 (2009)",
               "Rule 204 made permanent"),
    ParamValue("regime.rule_201", RULE_201, RULE_201, c.RULE201_ADOPTING,
               "Rule 201 compliance date (short exempt marking reinstated)"),
    # Settlement cycle, by trade date (Rule 15c6-1)
    ParamValue("settlement.cycle_days", _d("1995-06-07"), 3, c.RULE_15C6_1, "T+3"),
    ParamValue("settlement.cycle_days", T2_CYCLE, 2, c.T2_RELEASE, "T+2 from trade date 2017-09-05"),
    ParamValue("settlement.cycle_days", T1_CYCLE, 1, c.T1_RELEASE, "T+1 from trade date 2024-05-28"),
    # Threshold securities, 203(c)(6)
    ParamValue("threshold.min_fail_shares", REG_SHO_COMPLIANCE, 10_000, c.R203_C6,
               "aggregate fails of 10,000 shares or more"),
    ParamValue("threshold.min_fail_fraction_tso", REG_SHO_COMPLIANCE, 0.005, c.R203_C6,
               "fails at least 0.5% of total shares outstanding"),
    ParamValue("threshold.consecutive_days", REG_SHO_COMPLIANCE, 5, c.R203_C6,
               "for five consecutive settlement days"),
    # Threshold close-out, 203(b)(3)
    ParamValue("closeout.threshold_days", REG_SHO_COMPLIANCE, 13, c.R203_B3,
               "thirteen consecutive settlement days"),
    ParamValue("closeout.phase_out_days", GRANDFATHER_REMOVED, 35, c.CFR + "203(b)(3)(i)",
               "35 consecutive settlement days for grandfathered fails (and Rule 144, options MM phase-out)"),
    ParamValue("closeout.rule144_extended", REG_SHO_COMPLIANCE, False, c.R203_B3,
               "before 2007-10-15 a Rule 144 fail in a threshold security had the 13-day period"),
    ParamValue("closeout.rule144_extended", GRANDFATHER_REMOVED, True, c.R203_B3_II,
               "from 2007-10-15 a Rule 144 fail in a threshold security has 35 consecutive settlement days"),
    ParamValue("closeout.rule144_days", GRANDFATHER_REMOVED, 35, c.CFR + "203(b)(3)(ii)",
               "35 consecutive settlement days for Rule 144 sales in threshold securities"),
    # Rule 204 / 204T close-out, counted in settlement days after the settlement date
    ParamValue("closeout.short_sale_days", RULE_204T, 1, c.R204_A, "S+1 (Rule 204T, then 204(a))"),
    ParamValue("closeout.long_sale_days", RULE_204T, 3, c.CFR + "204(a)(1)", "S+3 for long sales"),
    ParamValue("closeout.market_maker_days", RULE_204T, 3, c.CFR + "204(a)(3)",
               "S+3 for bona fide market making"),
    ParamValue("closeout.deemed_to_own_calendar_days", REG_SHO_COMPLIANCE, 35, c.R203_B2_II,
               "35 calendar days after trade date (203(b)(2)(ii); 204(a)(2) from 2008)"),
    ParamValue("closeout.cyclical_fail_days", REG_SHO_COMPLIANCE, 5, "regsho convention (docs/scenarios.md 12)",
               "a new fail within 5 settlement days of a close-out, with short sales between"),
    # Which close-out regime a fail is under, by its settlement date (docs/scenarios.md, convention 14)
    ParamValue("closeout.rule204_regime", REG_SHO_COMPLIANCE, "none", c.REG_SHO_ADOPTING,
               "before Rule 204T only 203(b)(3) (threshold securities) and 203(b)(2)(ii) applied"),
    ParamValue("closeout.rule204_regime", RULE_204T, "204T", c.REL_204T_EMERGENCY,
               "temporary Rule 204T for fails settling from 2008-09-18"),
    ParamValue("closeout.rule204_regime", RULE_204, "204", c.REL_204_FINAL,
               "Rule 204 for fails settling from 2009-07-31"),
    # Rule 204T market-maker attestation (FINRA Regulatory Notice 08-50)
    ParamValue("closeout.mm_attestation_required", RULE_204T, True, c.FINRA_08_50,
               "a market maker's fail gets S+3 only with a written attestation"),
    ParamValue("closeout.mm_attestation_required", OPTIONS_MM_EXCEPTION_REMOVED, False, c.REL_204T_INTERIM,
               "interim final Rule 204T no longer requires the written attestation (fn. 84)"),
    ParamValue("closeout.mm_attestation_days", RULE_204T, 1, c.FINRA_08_50,
               "the attestation is due by the close of business on S+1"),
    # 203(b)(3) exceptions to the 13-day count (docs/scenarios.md, conventions 6 and 21)
    ParamValue("closeout.grandfather_exception", REG_SHO_COMPLIANCE, True, c.R203_B3,
               "fails existing before the security became a threshold security are grandfathered"),
    ParamValue("closeout.grandfather_exception", GRANDFATHER_REMOVED, False, c.REL_GRANDFATHER,
               "grandfather provision eliminated; 35-settlement-day phase-out, 203(b)(3)(i)"),
    ParamValue("closeout.options_mm_exception", REG_SHO_COMPLIANCE, True, c.R203_B3,
               "hedges of options created before the security became a threshold security are excepted"),
    ParamValue("closeout.options_mm_exception", OPTIONS_MM_EXCEPTION_REMOVED, False, c.REL_OPTIONS_MM,
               "options market-maker exception eliminated; 35-settlement-day phase-out, 203(b)(3)(iii)"),
    # Regular trading hours, Reg NMS Rule 600(b)
    ParamValue("rth.open", REG_SHO_COMPLIANCE, dt.time(9, 30), "17 CFR 242.600(b)",
               "beginning of regular trading hours, 09:30 ET"),
    ParamValue("rth.close", REG_SHO_COMPLIANCE, dt.time(16, 0), "17 CFR 242.600(b)",
               "end of regular trading hours, 16:00 ET"),
    # Locates
    ParamValue("locate.etb_max_age", REG_SHO_COMPLIANCE, dt.timedelta(hours=24), c.ETB_24H,
               "an easy-to-borrow list supports a locate while less than 24 hours old"),
    # Rule 201
    ParamValue("rule201.trigger_decline", RULE_201, 0.10, c.R201_B1_I,
               "a decline of 10% or more from the prior day's close"),
    ParamValue("rule201.duration_next_trading_days", RULE_201, 1, c.R201_B1_II,
               "the rest of the trigger day and the following day"),
    # -- threshold data (marketdata) --
    ParamValue("threshold.list_effective_trading_days", REG_SHO_COMPLIANCE, 1, c.SRO_LIST_TIMING,
               "a list dated D reflects settlement data through D and governs trading from the next trading day"),
    ParamValue("threshold.first_list_day", REG_SHO_COMPLIANCE, 1, c.FAQ_THRESHOLD_DAY1,
               "the list's own date D is day 1 of the 13 consecutive settlement days of 203(b)(3)"),
)


@cache
def _history(name: str) -> tuple[ParamValue, ...]:
    rows = tuple(sorted((p for p in TABLE if p.name == name), key=lambda p: p.effective))
    if not rows:
        raise KeyError(f"unknown regulatory parameter {name!r}")
    return rows


def lookup(name: str, on: dt.date) -> ParamValue:
    """The value of parameter ``name`` in force on ``on``, with its citation."""
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


def names() -> tuple[str, ...]:
    return tuple(sorted({p.name for p in TABLE}))


def check_regime(on: dt.date) -> None:
    """Raise RegimeError for dates before Regulation SHO's compliance date (the earliest implemented regime)."""
    if on < REG_SHO_COMPLIANCE:
        raise RegimeError(
            f"{on.isoformat()} is before {REG_SHO_COMPLIANCE.isoformat()}, the compliance date of "
            "Regulation SHO; no earlier regime is implemented"
        )
