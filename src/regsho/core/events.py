"""Domain events: the immutable facts a firm's books are made of (DESIGN principles 5 and 9).

Every event carries its event time (``at``) and its provenance (``prov``: where it was read from, e.g.
``scenario.yaml#events[3]``). Adapters at the edge turn vendor and file formats into these records; the core
never sees a vendor schema.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from regsho.core.book import Account as Account
from regsho.core.book import AccountType as AccountType
from regsho.core.book import Firm as Firm
from regsho.core.book import Security as Security
from regsho.core.book import SecurityKind as SecurityKind


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"  # marked long
    SELL_SHORT = "sell_short"
    SELL_SHORT_EXEMPT = "sell_short_exempt"


class FailOrigin(StrEnum):
    SHORT_SALE = "short_sale"
    LONG_SALE = "long_sale"
    BONA_FIDE_MM = "bona_fide_mm"
    DEEMED_TO_OWN = "deemed_to_own"
    RULE144 = "rule144"
    OPTION_EXERCISE = "option_exercise"
    OPTIONS_MM_HEDGE = "options_mm_hedge"


class CloseOutMethod(StrEnum):
    PURCHASE = "purchase"
    BORROW = "borrow"
    ETF_CREATION = "etf_creation"
    ADR_CONVERSION = "adr_conversion"


class CertifyBasis(StrEnum):
    NO_FAIL = "no_fail"
    PRE_FAIL_CREDIT = "pre_fail_credit"


#: Rule 201 short-exempt provisions a sell_short_exempt order may rely on (17 CFR 242.201(c), (d)(1)-(7)).
EXEMPT_PROVISIONS: frozenset[str] = frozenset(
    ["201(c)"] + [f"201(d)({i})" for i in range(1, 8)]
)


# -- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EtbList:
    at: dt.datetime
    symbols: frozenset[str]
    prov: str = ""


@dataclass(frozen=True, slots=True)
class HtbList:
    at: dt.datetime
    symbols: frozenset[str]
    prov: str = ""


@dataclass(frozen=True, slots=True)
class ThresholdList:
    at: dt.datetime
    symbols: frozenset[str]
    prov: str = ""


@dataclass(frozen=True, slots=True)
class SsrTrigger:
    at: dt.datetime
    symbol: str
    prov: str = ""


@dataclass(frozen=True, slots=True)
class LocateGrant:
    """A locate granted to an account: ``good_until`` is the end of the day for a day locate."""

    at: dt.datetime
    id: str
    account: str
    symbol: str
    qty: int
    good_until: dt.datetime
    day: bool
    source: str | None = None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class LocateRelease:
    """The locate desk (or the trader) hands back the unused part of locate ``id``: ``qty`` shares, or all that is
    unused (None). Returned shares never cover a short sale again; what short sales consumed stays attributed to
    them. ``reason`` and ``by`` say why and who."""

    at: dt.datetime
    id: str
    qty: int | None = None
    reason: str = ""
    by: str = ""
    prov: str = ""


@dataclass(frozen=True, slots=True)
class PreBorrow:
    at: dt.datetime
    id: str
    bd: str
    symbol: str
    qty: int
    prov: str = ""


@dataclass(frozen=True, slots=True)
class PositionSet:
    at: dt.datetime
    account: str
    symbol: str
    qty: int
    prov: str = ""


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The gate's settings from ``at`` on: ``reference_max_age`` is how old the threshold and hard-to-borrow lists
    may be before short sales are rejected (``REFERENCE_DATA_STALE``), None for no limit. Recorded in the book so
    that a replay judges every order under the settings it was judged under."""

    at: dt.datetime
    reference_max_age: dt.timedelta | None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class MmStatus:
    at: dt.datetime
    account: str
    symbol: str
    bona_fide: bool
    prov: str = ""


@dataclass(frozen=True, slots=True)
class MmVerdict:
    """A surveillance verdict on one market maker's quoting in a security over ``[start, end)``: bona fide market
    making or not, with the finding codes and their citations, and the review that produced it (``source``)."""

    at: dt.datetime
    account: str
    symbol: str
    start: dt.datetime
    end: dt.datetime
    bona_fide: bool
    findings: tuple[str, ...] = ()
    cites: tuple[str, ...] = ()
    source: str = ""
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    at: dt.datetime
    id: str
    account: str
    symbol: str
    side: Side
    qty: int
    price: Decimal | None = None
    nbb: Decimal | None = None
    locate: str | None = None
    bona_fide_mm: bool = False
    exempt: str | None = None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    at: dt.datetime
    order: str
    qty: int
    price: Decimal | None = None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    at: dt.datetime
    order: str
    prov: str = ""


@dataclass(frozen=True, slots=True)
class PreBorrowRequired:
    """A pre-borrow requirement for a broker-dealer and security from ``at`` until ``until`` (open-ended: None).

    The close-out engine produces these; a correspondent may also record one from its clearing firm's 204(c)
    notice.
    """

    at: dt.datetime
    bd: str
    symbol: str
    rule: str
    until: dt.datetime | None = None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Fail:
    at: dt.datetime
    symbol: str
    qty: int
    settlement_date: dt.date
    origin: FailOrigin
    trade_date: dt.date | None = None
    bd: str | None = None
    options_created: dt.date | None = None
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Cns:
    at: dt.datetime
    symbol: str
    date: dt.date
    fail_qty: int
    prov: str = ""


@dataclass(frozen=True, slots=True)
class CloseOut:
    at: dt.datetime
    id: str
    symbol: str
    qty: int
    method: CloseOutMethod
    bd: str | None = None
    irrevocable: bool = True
    counterparty_delivers: bool = True
    net_flat_or_long: bool = False
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Allocate:
    at: dt.datetime
    symbol: str
    qty: int
    to: str
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Certify:
    at: dt.datetime
    bd: str
    symbol: str
    date: dt.date
    basis: CertifyBasis
    prov: str = ""


@dataclass(frozen=True, slots=True)
class Attestation:
    at: dt.datetime
    symbol: str
    qty: int
    settlement_date: dt.date
    prov: str = ""


Event = (
    EtbList | HtbList | ThresholdList | SsrTrigger | LocateGrant | PreBorrow | PositionSet | MmStatus | Order
    | MmVerdict | Fill | Cancel | PreBorrowRequired | Fail | Cns | CloseOut | Allocate | Certify | Attestation
    | GateSettings | LocateRelease
)
