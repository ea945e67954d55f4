"""17 CFR 242.203(b)(3): the threshold-security close-out, its exceptions, phase-outs and pre-borrow.

Pure, dated rule functions over one security's daily CNS fail positions. The options market-maker exception is
read as the CBOE Regulatory Circular on Regulation SHO and options market-makers explains it. The close-out engine
(``regsho.engine.closeout``) keeps the running counts; these functions decide what a day counts as and what an
obligation is. Dated regimes: the grandfather exception (to 2007-10-15, Release 34-56212), the options
market-maker exception (to 2008-10-17, Release 34-58775), the 35-settlement-day periods of (b)(3)(i)-(iii).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from regsho.calendars import Calendars
from regsho.law import params

THIRTEEN_DAY_RULE: Final = "203(b)(3)"
THIRTEEN_DAY_PRE_BORROW: Final = "203(b)(3)"
THIRTY_FIVE_DAY_PRE_BORROW: Final = "203(b)(3)(v)"


class Layer(StrEnum):
    """A part of the fail position with its own 35-consecutive-settlement-day period."""

    GRANDFATHER_PHASE_OUT = "203(b)(3)(i)"
    RULE144 = "203(b)(3)(ii)"
    OPTIONS_PHASE_OUT = "203(b)(3)(iii)"


def threshold_since(list_at: dt.datetime, cal: Calendars) -> dt.date:
    """17 CFR 242.203(c)(6): a threshold list published at ``list_at`` is in effect at the end of that day, so the
    security is a threshold security from the first settlement day on or after the list's date."""
    d = list_at.date()
    return d if cal.is_settlement_day(d) else cal.next_settlement_day(d)


def grandfather_applies(day: dt.date) -> bool:
    """17 CFR 242.203(b)(3) (2005); Release 34-56212: before 2007-10-15 a fail that existed on the settlement day
    before the security became a threshold security is grandfathered (docs/scenarios.md, convention 6)."""
    return params.bool_value("closeout.grandfather_exception", day)


def options_exception_applies(day: dt.date) -> bool:
    """17 CFR 242.203(b)(3) (2005); Release 34-58775: before 2008-10-17 hedges of options created before the
    security became a threshold security are excepted (docs/scenarios.md, conventions 6 and 21)."""
    return params.bool_value("closeout.options_mm_exception", day)


def excepted_quantity(day: dt.date, grandfathered: int, options_hedges: int) -> int:
    """17 CFR 242.203(b)(3) (2005-2008); CBOE Regulatory Circular on Regulation SHO and options market-makers, Question
    1: the quantity of the fail position that the regime in force on ``day`` excepts from the count (docs/scenarios.md,
    conventions 6 and 21)."""
    n = 0
    if grandfather_applies(day):
        n += grandfathered
    if options_exception_applies(day):
        n += options_hedges
    return n


def counted_position(cns_fail: int, excepted: int, layered: int) -> int:
    """17 CFR 242.203(b)(3): the position that counts toward the 13 days: the CNS fail position less excepted
    quantity and less quantity running its own 35-day period, never below zero (docs/scenarios.md, convention 21)."""
    return max(0, cns_fail - excepted - layered)


def day_counts(on_list: bool, counted: int) -> bool:
    """17 CFR 242.203(b)(3), 203(c)(6): a settlement day counts when the security is on the threshold list in
    effect at the end of the day and the counted fail position is above zero (docs/scenarios.md, convention 6)."""
    return on_list and counted > 0


def thirteen_days(day: dt.date) -> int:
    """17 CFR 242.203(b)(3): thirteen consecutive settlement days."""
    return params.int_value("closeout.threshold_days", day)


def layer_days(layer: Layer, day: dt.date) -> int:
    """17 CFR 242.203(b)(3)(i)-(iii): 35 consecutive settlement days."""
    name = "closeout.rule144_days" if layer is Layer.RULE144 else "closeout.phase_out_days"
    return params.int_value(name, day)


def rule144_extended(day: dt.date) -> bool:
    """17 CFR 242.203(b)(3)(ii) (from 2007-10-15): a fail from a Rule 144 sale in a threshold security has 35
    consecutive settlement days rather than 13."""
    return params.bool_value("closeout.rule144_extended", day)


def obligation_quantity(run: Sequence[int]) -> int:
    """17 CFR 242.203(b)(3); SEC Reg SHO FAQ 5.8: reductions go to the most recent increase, so the fail that has
    persisted for the whole run is the smallest counted position over it (docs/scenarios.md, convention 6)."""
    return min(run)


def obligation_deadline(last_day: dt.date, cal: Calendars) -> dt.datetime:
    """17 CFR 242.203(b)(3): "immediately" after the last day of the run: 09:30 on the next settlement day
    (docs/scenarios.md, convention 6)."""
    return cal.open_of(cal.next_settlement_day(last_day))


def pre_borrow_rule(rule: str) -> str:
    """17 CFR 242.203(b)(3)(iv) (13-day fails) and 203(b)(3)(v) (35-day fails): the pre-borrow provision."""
    return THIRTEEN_DAY_PRE_BORROW if rule == THIRTEEN_DAY_RULE else THIRTY_FIVE_DAY_PRE_BORROW


def rest_of_day(purchase_at: dt.datetime, cal: Calendars) -> dt.datetime:
    """17 CFR 242.203(b)(3); SEC Reg SHO FAQ 5.7; CBOE Regulatory Circular on Regulation SHO and options market-makers,
    Question 4: a short sale without a pre-borrow on the day of a 203(b)(3) close-out purchase would undo it, so pre-
    borrow applies for the rest of that day (docs/scenarios.md, convention 6)."""
    return cal.end_of_day(purchase_at.date())


def phase_out_start(layer: Layer) -> dt.date:
    """Releases 34-56212 (2007) and 34-58775 (2008): the effective date from which a phased-out exception's
    35 consecutive settlement days run."""
    if layer is Layer.GRANDFATHER_PHASE_OUT:
        return params.regime_start("regime.grandfather_removed")
    if layer is Layer.OPTIONS_PHASE_OUT:
        return params.regime_start("regime.options_mm_exception_removed")
    raise ValueError(f"{layer} is not a phase-out")
