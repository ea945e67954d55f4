"""The pre-trade short-sale gate: ``decide(order, snapshot) -> Decision``.

Pure: no I/O, no clock, no logging, no mutation. It reads the snapshot and returns the decision together with the
consumption the shell must apply if it accepts. Checks run in the order of docs/scenarios.md, convention 25:
marking (200(g)), Rule 201, the pre-borrow requirement (204(b), 203(b)(3)), then locate coverage (203(b)(1)) or
the market-making exception (203(b)(2)(iii)); every failing check is listed, and an accepted order's first
reason is what covered it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal

from regsho.calendars import ET
from regsho.core.events import AccountType, Order, Side
from regsho.core.records import ParamValue, new_record
from regsho.engine.snapshot import LocateState, Snapshot
from regsho.law import citations as c
from regsho.law import params
from regsho.law import reasons as r
from regsho.law.decision import ACCEPT, REJECT, Consumption, Decision
from regsho.rules import r200, r201, r203_b1, r203_b2, r204_b

_CODES = r.CODES
_REG_SHO = params.regime_start("regime.reg_sho")  # read once: the gate runs every few microseconds
#: the first moment of Regulation SHO's compliance date in New York: an aware comparison costs less than ``date()``
_REG_SHO_AT = dt.datetime.combine(_REG_SHO, dt.time(0), tzinfo=ET)
_MM = AccountType.MARKET_MAKER
# enum members read once: a member looked up on its class costs about 0.2 µs a time on Python 3.11
_BUY = Side.BUY
_SELL = Side.SELL
_SELL_SHORT_EXEMPT = Side.SELL_SHORT_EXEMPT
_EMPTY: tuple[Consumption, ...] = ()


class GateError(ValueError):
    """An order the gate cannot judge at all (a date before the earliest implemented regime)."""


_CITES_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...], str | None], tuple[str, ...]] = {}


def _cites(codes: tuple[str, ...], extra: tuple[str, ...] = (), pre_borrow: str | None = None) -> tuple[str, ...]:
    """The citations of the reason codes (then the extra ones), in order, without repeats; cached per combination.

    ``pre_borrow`` is the provision of the pre-borrow period that binds: a ``PRE_BORROW_REQUIRED`` rejection cites
    it alone rather than every provision that can impose one."""
    key = (codes, extra, pre_borrow)
    hit = _CITES_CACHE.get(key)
    if hit is not None:
        return hit
    out: list[str] = []
    for code in codes:
        own = (pre_borrow,) if code == r.PRE_BORROW_REQUIRED and pre_borrow else _CODES[code].cites
        for cite in own:
            if cite not in out:
                out.append(cite)
    for cite in extra:
        if cite not in out:
            out.append(cite)
    result = tuple(out)
    _CITES_CACHE[key] = result
    return result


_BUY_REASONS: tuple[str, ...] = (r.BUY,)
_BUY_CITES = _CODES[r.BUY].cites
_BUY_FACTS: tuple[tuple[str, object], ...] = (("side", Side.BUY),)
_LONG_REASONS: tuple[str, ...] = (r.LONG_SALE,)
_NOT_LONG_REASONS: tuple[str, ...] = (r.NOT_NET_LONG,)
_LONG_CITES = _CODES[r.LONG_SALE].cites
_ACCEPT_CODES = frozenset((r.LOCATE, r.LOCATE_REUSED, r.EASY_TO_BORROW, r.PRE_BORROW))
_AGE_LABELS: dict[dt.timedelta, str] = {}


def _age_label(age: dt.timedelta) -> str:
    label = _AGE_LABELS.get(age)
    if label is None:
        secs = int(age.total_seconds())
        label = f"{secs // 3600}h" if secs % 3600 == 0 else str(age)
        _AGE_LABELS[age] = label
    return label


def decide(order: Order, snap: Snapshot) -> Decision:
    """Decide one order against the snapshot (17 CFR 242.200(g), 201, 203(b), 204(b))."""
    at = order.at
    if at < _REG_SHO_AT:
        raise GateError(
            f"order {order.id} at {at.isoformat()} is before Regulation SHO's compliance date "
            f"{_REG_SHO}; no earlier regime is implemented"
        )
    symbol = order.symbol
    side = order.side
    qty = order.qty
    price = order.price
    nbb = order.nbb
    # the common case passes these plain checks; _invalid says what is wrong otherwise
    if (type(qty) is not int or qty <= 0 or side not in _SIDES
            or (price is not None and not (type(price) is Decimal and price.is_finite() and price > _ZERO))
            or (nbb is not None and not (type(nbb) is Decimal and nbb.is_finite() and nbb > _ZERO))):
        problem = _invalid(order)
        if problem is not None:
            return Decision(order.id, at, REJECT, _INVALID_REASONS, _CODES[r.INVALID_ORDER].cites,
                            (("qty", qty), ("side", side), ("price", price), ("nbb", nbb)),
                            (), ((r.INVALID_ORDER, problem),), None, _EMPTY, order.account, symbol, side, qty,
                            price)
    sec = snap.securities.get(symbol)
    acct = snap.accounts.get(order.account)
    if sec is None or acct is None:
        code = r.UNKNOWN_SECURITY if sec is None else r.UNKNOWN_ACCOUNT
        return Decision(order.id, at, REJECT, (code,), _CODES[code].cites,
                        (("security.known", sec is not None), ("account.known", acct is not None)),
                        (), (), None, _EMPTY, order.account, symbol, side, qty, price)
    key = (order.account, symbol)
    if side is _BUY:
        return new_record(Decision, (order.id, at, ACCEPT, _BUY_REASONS, _BUY_CITES, _BUY_FACTS, (), (), None, _EMPTY,
                               order.account, symbol, side, qty, price))
    position = snap.positions.get(key, 0)
    open_sells = snap.open_sells.get(key, 0)
    if side is _SELL:
        facts = (("side", side), ("position", position), ("open_sells", open_sells), ("qty", qty))
        if r200.may_mark_long(position, open_sells, qty):
            return new_record(Decision, (order.id, at, ACCEPT, _LONG_REASONS, _LONG_CITES, facts, (), (), None, _EMPTY,
                                   order.account, symbol, side, qty, price))
        avail = r200.net_long_available(position, open_sells)
        return Decision(order.id, at, REJECT, _NOT_LONG_REASONS, _LONG_CITES, facts, (),
                        ((r.NOT_NET_LONG,
                          f"net long available {avail} (position {position} less open sells "
                          f"{open_sells}) is less than the {qty} shares marked long"),), None, _EMPTY,
                        order.account, symbol, side, qty, price)
    return _decide_short(order, snap, acct.bd, acct.type is _MM, position, open_sells)


_SIDES = frozenset(Side)
_ZERO = Decimal(0)
_INVALID_REASONS: tuple[str, ...] = (r.INVALID_ORDER,)


def _invalid(order: Order) -> str | None:
    """An order no check can judge: refused whatever entry point it came from (never applied to a locate)."""
    qty = order.qty
    if type(qty) is not int or qty <= 0:
        return f"quantity {qty!r} is not a positive whole number of shares"
    if order.side not in _SIDES:
        return f"side {order.side!r} is not one of buy, sell, sell_short, sell_short_exempt"
    for name, v in (("price", order.price), ("nbb", order.nbb)):
        if v is not None and not _price_ok(v):
            return f"{name} {v!r} is not a finite, positive price"
    return None


def _price_ok(v: object) -> bool:
    if isinstance(v, Decimal):
        return v.is_finite() and v > 0
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _decide_short(
    order: Order, snap: Snapshot, bd: str, is_mm: bool, position: int, open_sells: int
) -> Decision:
    at = order.at
    symbol = order.symbol
    qty = order.qty
    failing: list[str] = []
    passed: list[str] = []
    details: list[tuple[str, str]] = []
    extra_cites: list[str] = []
    used_params: list[ParamValue] = []
    threshold = symbol in snap.threshold_symbols
    htb = symbol in snap.htb_symbols
    window = snap.ssr.get(symbol)
    restricted = r201.in_force(window, at)
    facts: list[tuple[str, object]] = [
        ("side", order.side), ("qty", qty), ("position", position), ("open_sells", open_sells),
        ("threshold", threshold), ("htb", htb), ("rule201.restricted", restricted),
    ]
    if window is not None:
        facts.append(("rule201.window", window))
        if restricted:
            used_params.extend(snap.ssr_params.get(symbol, ()))

    # 1. Marking, 200(g)(2), and Rule 201
    if order.side is _SELL_SHORT_EXEMPT:
        facts.append(("exempt", order.exempt))
        with params.trace() as marking:
            problem = r200.short_exempt_problem(order.exempt, restricted, at.date(), order.price, order.nbb)
        used_params.extend(marking)
        if problem is not None:
            failing.append(r.SHORT_EXEMPT_INVALID)
            details.append((r.SHORT_EXEMPT_INVALID, problem))
        else:
            assert order.exempt is not None
            passed.append(r.SHORT_EXEMPT)
            extra_cites.append(r201.exempt_cite(order.exempt))
            facts.append(("price", order.price))
            facts.append(("nbb", order.nbb))
    elif restricted:
        facts.append(("price", order.price))
        facts.append(("nbb", order.nbb))
        if not r201.price_permitted(order.price, order.nbb):
            failing.append(r.PRICE_TEST_RESTRICTED)
            if order.price is None:
                why = "a market order cannot be priced above the national best bid"
            elif order.nbb is None:
                why = "no national best bid is known for the order"
            else:
                why = f"limit {order.price} is at or below the national best bid {order.nbb}"
            details.append((r.PRICE_TEST_RESTRICTED, why))

    # 2. The pre-borrow requirement, 204(b) and 203(b)(3)
    consume: tuple[Consumption, ...] = _EMPTY
    locate_used: str | None = None
    pb_cite: str | None = None
    pb_key = (bd, symbol)
    periods = snap.pre_borrow_periods.get(pb_key)
    binding = r204_b.period_in_force(periods, at) if periods else None
    pb_rule = binding[0] if binding is not None else None
    if binding is not None and pb_rule is not None:
        facts.append(("pre_borrow.required", pb_rule))
        facts.append(("pre_borrow.since", binding[1]))
        if binding[3]:
            facts.append(("pre_borrow.period", binding[3]))
        if binding[4]:
            facts.append(("pre_borrow.obligations", binding[4]))
        avail, takes = _pre_borrow_take(snap, pb_key, at, qty)
        facts.append(("pre_borrow.available", avail))
        if takes is not None:
            passed.insert(0, r.PRE_BORROW)
            consume = takes
        else:
            failing.append(r.PRE_BORROW_REQUIRED)
            pb_cite = c.cite_pre_borrow(pb_rule)
            why = (f" (period {binding[3]}" + (f", obligation {', '.join(binding[4])}" if binding[4] else "") + ")"
                   if binding[3] else "")
            details.append((r.PRE_BORROW_REQUIRED,
                            f"{bd} is subject to the {pb_rule} pre-borrow requirement in {symbol} since "
                            f"{binding[1].isoformat()}{why}; {avail} shares pre-borrowed today, {qty} needed"))
    elif order.bona_fide_mm:
        # 3a. The market-making exception, 203(b)(2)(iii)
        verdicts = snap.mm_verdicts.get((order.account, symbol))
        verdict = r203_b2.mm_verdict_in_force(verdicts, at) if verdicts else None
        review = verdict.bona_fide if verdict is not None else snap.mm_review.get((order.account, symbol))
        facts.append(("account.market_maker", is_mm))
        if verdict is not None:
            facts.extend((("mm_verdict.window", (verdict.start, verdict.end)), ("mm_verdict.bona_fide", review),
                          ("mm_verdict.findings", verdict.findings), ("mm_verdict.source", verdict.source)))
            extra_cites.extend(x for x in verdict.cites if x not in extra_cites)
        else:
            facts.append(("mm_review.bona_fide", review))
        vtxt = "" if verdict is None else (
            f" for {verdict.start.astimezone(ET):%Y-%m-%d %H:%M}-{verdict.end.astimezone(ET):%H:%M} ET"
            + (f" ({verdict.source})" if verdict.source else ""))
        if r203_b2.bona_fide_mm_exception(is_mm, review):
            passed.insert(0, r.BONA_FIDE_MARKET_MAKING)
            if verdict is not None:
                details.append((r.BONA_FIDE_MARKET_MAKING, f"surveillance verdict{vtxt}: bona fide market making"))
        else:
            failing.append(r.NOT_BONA_FIDE_MARKET_MAKING)
            details.append((r.NOT_BONA_FIDE_MARKET_MAKING,
                            "the account is not a market maker" if not is_mm else
                            ("no bona fide market-making review exists for the security" if review is None
                             else f"surveillance verdict{vtxt}: not bona fide market making; findings: "
                                  + (", ".join(verdict.findings) or "none named") if verdict is not None
                             else "the latest review for the security did not find bona fide market making")))
    else:
        # 3b. Locate coverage, 203(b)(1)
        code, consume, locate_used, detail = _locate_coverage(
            order, snap, bd, r203_b1.reuse_barred(htb, threshold), threshold, facts, used_params)
        if code in _ACCEPT_CODES:
            passed.insert(0, code)
        else:
            failing.append(code)
            if detail:
                details.append((code, detail))

    # Fail closed on stale reference data when the gate is configured with a freshness limit.
    max_age = snap.reference_max_age
    if max_age is not None:
        stale = [name for name, as_of in (("threshold list", snap.threshold_as_of), ("hard-to-borrow list",
                                                                                     snap.htb_as_of))
                 if as_of is None or dt.timedelta(seconds=at.timestamp() - as_of.timestamp()) >= max_age]
        if stale:
            failing.append(r.REFERENCE_DATA_STALE)
            details.append((r.REFERENCE_DATA_STALE, ", ".join(stale) + f" missing or older than {max_age}"))
            facts.append(("reference_max_age", _age_label(max_age)))

    if failing:
        codes = tuple(failing)
        return Decision(order.id, at, REJECT, codes, _cites(codes, tuple(extra_cites), pb_cite),
                        tuple(facts), tuple(used_params), tuple(details), None, _EMPTY,
                        order.account, symbol, order.side, qty, order.price)
    codes = tuple(passed)
    return new_record(Decision, (order.id, at, ACCEPT, codes, _cites(codes, tuple(extra_cites)), tuple(facts),
                           tuple(used_params), tuple(details), locate_used, consume,
                           order.account, symbol, order.side, qty, order.price))


def _pre_borrow_take(
    snap: Snapshot, key: tuple[str, str], at: dt.datetime, qty: int
) -> tuple[int, tuple[Consumption, ...] | None]:
    """Pre-borrows of the broker-dealer valid at ``at`` cover up to their summed remaining quantity
    (SEC Reg SHO FAQ 5.4: short sales "up to the amount pre-borrowed"), oldest first."""
    lots = snap.pre_borrows.get(key)
    if not lots:
        return 0, None
    avail = 0
    for lot in lots:
        if lot.at <= at < lot.good_until:
            avail += lot.remaining
    if avail < qty:
        return avail, None
    takes: list[Consumption] = []
    need = qty
    for lot in lots:
        if need == 0:
            break
        if lot.remaining and lot.at <= at < lot.good_until:
            n = min(need, lot.remaining)
            takes.append(Consumption("pre_borrow", lot.id, n))
            need -= n
    return avail, tuple(takes)


def _locate_take(loc: LocateState, qty: int) -> tuple[Consumption, ...]:
    if loc.fresh >= qty:
        return (Consumption("locate", loc.id, qty),)
    out: list[Consumption] = []
    if loc.fresh:
        out.append(Consumption("locate", loc.id, loc.fresh))
    out.append(Consumption("reuse", loc.id, qty - loc.fresh))
    return tuple(out)


def _locate_coverage(
    order: Order,
    snap: Snapshot,
    bd: str,
    barred: bool,
    threshold: bool,
    facts: list[tuple[str, object]],
    used_params: list[ParamValue],
) -> tuple[str, tuple[Consumption, ...], str | None, str | None]:
    """docs/scenarios.md, convention 8. Returns (code, consumption, locate id, detail)."""
    at = order.at
    qty = order.qty
    if order.locate is not None:
        loc = snap.locates.get(order.locate)
        if loc is None:
            facts.append(("locate", order.locate))
            return r.NO_LOCATE, _EMPTY, None, f"locate {order.locate} is unknown"
        facts.append(("locate", loc.id))
        facts.append(("locate.good_until", loc.good_until))
        facts.append(("locate.fresh", loc.fresh))
        facts.append(("locate.freed", loc.freed))
        if loc.released:
            facts.append(("locate.released", loc.released))
        facts.append(("locate.day", loc.day))
        code = r203_b1.named_locate_code(order.account, order.symbol, qty, at, loc.account, loc.symbol,
                                      loc.granted_at, loc.good_until, loc.fresh, loc.freed, loc.day, barred)
        if code in (r.LOCATE, r.LOCATE_REUSED):
            return code, _locate_take(loc, qty), loc.id, None
        if code == r.NO_LOCATE and at < loc.granted_at:
            detail = f"locate {loc.id} was granted at {loc.granted_at.isoformat()}, after the order"
        elif code == r.NO_LOCATE:
            detail = f"locate {loc.id} was granted to {loc.account} in {loc.symbol}"
        elif code == r.LOCATE_EXPIRED:
            detail = f"locate {loc.id} was good until {loc.good_until.isoformat()}"
        elif code == r.LOCATE_EXHAUSTED:
            detail = f"locate {loc.id} has {loc.fresh + loc.freed} of {loc.qty} shares left" + (
                f"; {loc.released} returned to the locate desk" if loc.released else "")
        else:
            detail = (f"locate {loc.id} has {loc.fresh} unused shares; the {loc.freed} freed by a buy-to-cover may "
                      "not be reused " + ("in a hard-to-borrow or threshold security" if barred else
                                          "because the locate was not good for the day"))
        return code, _EMPTY, None, detail

    barred_reuse_possible = False
    candidates = snap.account_locates.get((order.account, order.symbol))
    if candidates:
        # Valid locates with enough quantity left, oldest first (convention 8); freed quantity counts only where
        # reuse is allowed.
        for loc in candidates:
            if at >= loc.good_until or at < loc.granted_at:
                continue
            if loc.fresh >= qty:
                facts.append(("locate", loc.id))
                facts.append(("locate.fresh", loc.fresh))
                if loc.released:
                    facts.append(("locate.released", loc.released))
                return r.LOCATE, (Consumption("locate", loc.id, qty),), loc.id, None
            if loc.fresh + loc.freed >= qty:
                if loc.day and not barred:
                    facts.append(("locate", loc.id))
                    facts.append(("locate.fresh", loc.fresh))
                    facts.append(("locate.freed", loc.freed))
                    if loc.released:
                        facts.append(("locate.released", loc.released))
                    return r.LOCATE_REUSED, _locate_take(loc, qty), loc.id, None
                barred_reuse_possible = True
    etb_max_age = snap.etb_max_age
    listed = order.symbol in snap.etb_symbols
    facts.append(("etb.listed", listed))
    if listed:
        facts.append(("etb.as_of", snap.etb_as_of))
        if snap.etb_max_age_param is not None:
            used_params.append(snap.etb_max_age_param)
    if r203_b1.etb_covers(listed, snap.etb_as_of, at, etb_max_age, threshold):
        return r.EASY_TO_BORROW, _EMPTY, None, None
    avail, takes = _pre_borrow_take(snap, (bd, order.symbol), at, qty)
    if takes is not None:
        facts.append(("pre_borrow.available", avail))
        return r.PRE_BORROW, takes, None, None
    if barred_reuse_possible:
        return (r.LOCATE_REUSE_NOT_ALLOWED, _EMPTY, None,
                "only quantity freed by a buy-to-cover could cover the order, and its reuse is barred")
    why = "no valid locate of the account, easy-to-borrow coverage or pre-borrow covers the quantity"
    if listed and threshold:
        why = "the easy-to-borrow list never supports a locate in a threshold security"
    elif listed:
        why = "the easy-to-borrow list is 24 hours old or older"
    considered = _considered(candidates or (), order, barred)
    if considered:
        facts.append(("locates.considered", considered))
        returned = tuple((x.id, x.released) for x in candidates or () if x.released)
        if returned:
            facts.append(("locates.returned", returned))
        why += "; locates considered: " + "; ".join(f"{lid} ({text})" for lid, text in considered)
    return r.NO_LOCATE, _EMPTY, None, why


def _considered(candidates: Iterable[LocateState], order: Order, barred: bool) -> tuple[tuple[str, str], ...]:
    """Each locate of the account in the security, with its balance and why it did not cover the order (built
    only for a rejection: the accept path never pays for it)."""
    at, qty = order.at, order.qty
    out: list[tuple[str, str]] = []
    for loc in candidates:
        if at < loc.granted_at:
            why = f"granted later, at {loc.granted_at.isoformat()}"
        elif at >= loc.good_until:
            why = f"expired at {loc.good_until.isoformat()}"
        elif loc.fresh + loc.freed < qty:
            why = f"{loc.fresh + loc.freed} of {loc.qty} shares left, {qty} needed"
        elif not loc.day:
            why = f"{loc.fresh} unused; {loc.freed} freed by a buy-to-cover, not reusable on a timed locate"
        elif barred:
            why = f"{loc.fresh} unused; {loc.freed} freed by a buy-to-cover, not reusable in this security"
        else:
            why = "covers"
        out.append((loc.id, why))
    return tuple(out)
