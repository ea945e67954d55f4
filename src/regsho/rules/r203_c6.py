"""17 CFR 242.203(c)(6): the definition of a threshold security."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from regsho.law import params


def fail_level_met(aggregate_fails: int, shares_outstanding: int, on: dt.date) -> bool:
    """17 CFR 242.203(c)(6)(i): an aggregate fail to deliver position at a registered clearing agency of 10,000
    shares or more that is equal to at least 0.5% of the issue's total shares outstanding."""
    shares = params.int_value("threshold.min_fail_shares", on)
    fraction = params.value("threshold.min_fail_fraction_tso", on)
    assert isinstance(fraction, float)
    return aggregate_fails >= shares and aggregate_fails >= fraction * shares_outstanding


def qualifies(levels_met: Sequence[bool], on: dt.date) -> bool:
    """17 CFR 242.203(c)(6)(i): the level is met for five consecutive settlement days (the last ``levels_met``
    entries, one per settlement day, oldest first). (c)(6)(ii): the security must also be on an SRO's list."""
    n = params.int_value("threshold.consecutive_days", on)
    return len(levels_met) >= n and all(levels_met[-n:])


def ceases(levels_met: Sequence[bool], on: dt.date) -> bool:
    """17 CFR 242.203(c)(6)(iii): a security ceases to be a threshold security once the aggregate fail position
    does not exceed the level of (c)(6)(i) for five consecutive settlement days."""
    n = params.int_value("threshold.consecutive_days", on)
    return len(levels_met) >= n and not any(levels_met[-n:])
