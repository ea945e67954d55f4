"""17 CFR 242.204 (and temporary Rule 204T, 2008-09-18 to 2009-07-30): the close-out requirement.

Pure, dated rule functions: which provision a fail falls under, its deadline, what cures it, pre-fail credit,
certification, the pre-borrow ("penalty box") provision and its end, and cyclical fails. The close-out engine
(``regsho.engine.closeout``) keeps the state; these functions only compute. Every regulatory number comes from
``regsho.law.params`` by the date the rule is applied to.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from regsho.calendars import Calendars
from regsho.core.events import CloseOutMethod, FailOrigin, SecurityKind
from regsho.law import citations as c
from regsho.law import params
from regsho.rules import r203_b2


class Regime(StrEnum):
    """Which close-out rule binds a fail, by its settlement date (docs/scenarios.md, convention 14)."""

    NONE = "none"  # 2005-01-03 .. 2008-09-17: no Rule 204; only 203(b)(3) and 203(b)(2)(ii)
    R204T = "204T"  # 2008-09-18 .. 2009-07-30
    R204 = "204"  # from 2009-07-31


class Cure(StrEnum):
    PURCHASE_OR_BORROW = "purchase_or_borrow"
    PURCHASE = "purchase"


#: What a close-out event counts as, once judged.
PURCHASE: Final = "purchase"
BORROW: Final = "borrow"

# Rule names relative to 17 CFR 242 (docs/scenarios.md "Output").
A: Final = "(a)"
A1: Final = "(a)(1)"
A2: Final = "(a)(2)"
A3: Final = "(a)(3)"
R203_B2_II: Final = "203(b)(2)(ii)"

_ORIGIN_PARAGRAPH: Final[dict[FailOrigin, str]] = {
    # docs/scenarios.md, convention 17
    FailOrigin.SHORT_SALE: A,
    FailOrigin.OPTION_EXERCISE: A,  # CBOE circular Question 5: no exception for exercises and assignments
    FailOrigin.LONG_SALE: A1,
    FailOrigin.BONA_FIDE_MM: A3,
    FailOrigin.OPTIONS_MM_HEDGE: A3,
    FailOrigin.DEEMED_TO_OWN: A2,
    FailOrigin.RULE144: A2,
}


def regime(settlement_date: dt.date) -> Regime:
    """17 CFR 242.204; 242.204T; Releases 34-58572 (2008) and 34-60388 (2009): the close-out regime of a fail
    settling on ``settlement_date``. Raises ``RegimeError`` before Regulation SHO's compliance date."""
    params.check_regime(settlement_date)
    return Regime(str(params.value("closeout.rule204_regime", settlement_date)))


def rule_name(reg: Regime, paragraph: str) -> str:
    """17 CFR 242.204 / 204T: the provision's name relative to 17 CFR 242, e.g. ``204(a)(1)`` or ``204T(a)``."""
    return ("204T" if reg is Regime.R204T else "204") + paragraph


def cite(rule: str) -> str:
    """17 CFR 242: the full citation of a provision named relative to Part 242."""
    return c.CFR + rule


def attestation_required(origin: FailOrigin, settlement_date: dt.date) -> bool:
    """17 CFR 242.204T(a)(3); FINRA Regulatory Notice 08-50; Release 34-58773 fn. 84: a market maker's fail settling
    before 2008-10-17 gets the S+3 extension only with a written attestation (docs/scenarios.md, convention 14)."""
    if origin not in (FailOrigin.BONA_FIDE_MM, FailOrigin.OPTIONS_MM_HEDGE):
        return False
    if regime(settlement_date) is Regime.NONE:
        return False
    return params.bool_value("closeout.mm_attestation_required", settlement_date)


def attestation_due(settlement_date: dt.date, cal: Calendars) -> dt.datetime:
    """FINRA Regulatory Notice 08-50: the attestation is due by the close of business on S+1; the engine takes the
    end of that day (docs/scenarios.md, conventions 14 and 16)."""
    n = params.int_value("closeout.mm_attestation_days", settlement_date)
    return cal.end_of_day(cal.add_settlement_days(settlement_date, n))


def options_hedge_excepted(
    origin: FailOrigin, on: dt.date, options_created: dt.date | None, threshold_since: dt.date | None
) -> bool:
    """17 CFR 242.203(b)(3) (2005-2008); CBOE Regulatory Circular on Regulation SHO and options market-makers, Question
    1: a fail from a hedge of options created before the security became a threshold security is excepted, while the
    exception lasts (until 2008-10-17, Release 34-58775); the exception survives the options' expiry."""
    if origin is not FailOrigin.OPTIONS_MM_HEDGE or options_created is None or threshold_since is None:
        return False
    return params.bool_value("closeout.options_mm_exception", on) and options_created < threshold_since


def obligation_rule(
    origin: FailOrigin, settlement_date: dt.date, *, attested: bool | None, hedge_excepted: bool
) -> str | None:
    """17 CFR 242.204(a), (a)(1)-(a)(3); 242.204T; 242.203(b)(2)(ii): the provision a fail's close-out obligation
    falls under (docs/scenarios.md, conventions 14 and 17), or None when the fail owes no close-out of its own.

    - Before Rule 204T only a deemed-to-own (or Rule 144) sale owes one, under 203(b)(2)(ii) (35 days after T).
    - ``attested`` matters for a market maker's fail while the 204T attestation is required: True gives
      ``204T(a)(3)``, False gives ``204T(a)``; None means not yet known (the caller decides at the end of S+1).
    - ``hedge_excepted``: an options market maker's hedge still under its exception owes no close-out.
    """
    reg = regime(settlement_date)
    paragraph = _ORIGIN_PARAGRAPH[origin]
    if reg is Regime.NONE:
        return R203_B2_II if paragraph == A2 else None
    if hedge_excepted:
        return None
    if attestation_required(origin, settlement_date) and attested is False:
        return rule_name(reg, A)
    return rule_name(reg, paragraph)


def cure_for(rule: str) -> Cure:
    """17 CFR 242.204(a) (purchase or borrow), 204(a)(2) and 203(b)(3) (purchase only), 203(b)(2)(ii) (borrow or
    purchase): what may cure an obligation of ``rule`` (docs/scenarios.md, convention 4)."""
    if rule.startswith("203(b)(3)") or rule.endswith(A2):
        return Cure.PURCHASE
    return Cure.PURCHASE_OR_BORROW


def deadline(
    rule: str, settlement_date: dt.date, trade_date: dt.date | None, cal: Calendars
) -> dt.datetime:
    """17 CFR 242.204(a), (a)(1)-(a)(3); 242.203(b)(2)(ii): the close-out deadline, at the beginning of regular
    trading hours (docs/scenarios.md, convention 2).

    - ``(a)``: S+1; ``(a)(1)`` and ``(a)(3)``: S+3 (settlement days after the settlement date);
    - ``(a)(2)`` and ``203(b)(2)(ii)``: the 35th calendar day after the trade date, or the last trading day before
      it when that day has no regular trading hours.
    """
    if rule.endswith(A2) or rule == R203_B2_II:
        if trade_date is None:
            raise ValueError("a deemed-to-own deadline needs the trade date")
        return r203_b2.deemed_to_own_deadline(trade_date, cal)
    if rule.endswith(A1):
        n = params.int_value("closeout.long_sale_days", settlement_date)
    elif rule.endswith(A3):
        n = params.int_value("closeout.market_maker_days", settlement_date)
    else:
        n = params.int_value("closeout.short_sale_days", settlement_date)
    return cal.open_of(cal.add_settlement_days(settlement_date, n))


def judge_close_out(
    method: CloseOutMethod, kind: SecurityKind, irrevocable: bool, counterparty_delivers: bool
) -> tuple[str | None, str | None, str]:
    """17 CFR 242.204(a), 204(f), 203(b)(3)(vii); Latour Trading no-action letter (2017); FINRA 2024 report; the
    UBS case: what a close-out event counts as (docs/scenarios.md, convention 4). 204(f) and 203(b)(3)(vii): a
    purchase *or borrow* from a counterparty the firm knows or has reason to know will not deliver is a sham.

    Returns ``(counts_as, finding, detail)``: ``counts_as`` is ``purchase``, ``borrow`` or None; ``finding`` is
    ``NOT_A_CLOSE_OUT`` or ``SHAM_CLOSE_OUT`` when it cures nothing.
    """
    if not counterparty_delivers:
        return None, "SHAM_CLOSE_OUT", (
            f"a {'borrow from a lender' if method is CloseOutMethod.BORROW else 'purchase from a counterparty'} "
            "known not to deliver does not close out a fail")
    if not irrevocable:
        return None, "NOT_A_CLOSE_OUT", "a revocable order does not close out a fail"
    if method is CloseOutMethod.ADR_CONVERSION:
        return None, "NOT_A_CLOSE_OUT", "an ADR conversion is neither a purchase nor a borrow"
    if method is CloseOutMethod.ETF_CREATION:
        if kind is SecurityKind.ETF:
            return PURCHASE, None, "an irrevocable ETF creation counts as a purchase"
        return None, "NOT_A_CLOSE_OUT", "a creation can close out only a fail in an ETF"
    if method is CloseOutMethod.PURCHASE:
        return PURCHASE, None, "purchase"
    return BORROW, None, "borrow"


def cures(counts_as: str, cure: Cure) -> bool:
    """17 CFR 242.204(a) and 203(b)(3): a purchase cures every obligation; a borrow only one curable by borrowing."""
    return counts_as == PURCHASE or cure is Cure.PURCHASE_OR_BORROW


def pre_fail_credit_window(
    trade_date: dt.date, settlement_date: dt.date, cal: Calendars
) -> tuple[dt.datetime, dt.datetime]:
    """17 CFR 242.204(e)(1): a purchase or borrow executed after the trade date and no later than the end of
    regular trading hours on the settlement date (13:00 ET on an early close). Returns ``(after, until)``: credit
    counts when ``after <= at <= until`` (docs/scenarios.md, convention 15)."""
    return cal.end_of_day(trade_date), cal.close_of(settlement_date)


def pre_fail_credit_applies(
    credit_at: dt.datetime,
    credit_qty: int,
    net_flat_or_long: bool,
    fail_at: dt.datetime,
    fail_qty: int,
    window: tuple[dt.datetime, dt.datetime],
) -> bool:
    """17 CFR 242.204(e): a participant that purchased or borrowed, bona fide, after the trade date and by the end
    of regular trading hours on the settlement date, for the entire fail, and that can show a net flat or net long
    position, is not deemed to have violated 204(a). The credit must precede the fail (docs/scenarios.md 15)."""
    return (net_flat_or_long and credit_qty >= fail_qty and credit_at < fail_at
            and window[0] <= credit_at <= window[1])


def implied_trade_date(settlement_date: dt.date, cal: Calendars) -> dt.date:
    """17 CFR 240.15c6-1: when a fail does not name its trade date, the latest trade date whose regular-way
    settlement date is ``settlement_date`` (the narrowest 204(e) window, the conservative reading)."""
    day = settlement_date
    lowest = settlement_date - dt.timedelta(days=14)
    while day >= lowest:
        if params.regime_in_force("regime.reg_sho", day) and cal.settlement_date(day) == settlement_date:
            return day
        day -= dt.timedelta(days=1)
    return cal.previous_settlement_day(settlement_date)


def cyclical(
    close_out_at: dt.datetime, fail_settlement_date: dt.date, short_sale_between: bool, cal: Calendars
) -> bool:
    """docs/scenarios.md, conventions 12 and 23 (FINRA/Nasdaq, Wedbush Securities and Scout Trading; SEC Reg SHO FAQ
    5.7): a new fail settling within 5 settlement days after a close-out of an earlier fail in the security, owed
    by the same broker-dealer, with a short sale of that broker-dealer in between, is a cyclical fail."""
    day = close_out_at.date()
    if fail_settlement_date < day or not short_sale_between:
        return False
    n = params.int_value("closeout.cyclical_fail_days", day)
    return cal.settlement_days_between(day, fail_settlement_date) <= n
