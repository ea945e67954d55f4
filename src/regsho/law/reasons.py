"""Decision reason codes (docs/scenarios.md), each with its citations and a plain-words meaning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from regsho.law import citations as c


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    action: str  # "accept" or "reject"
    cites: tuple[str, ...]
    meaning: str


BUY: Final = "BUY"
LONG_SALE: Final = "LONG_SALE"
LOCATE: Final = "LOCATE"
LOCATE_REUSED: Final = "LOCATE_REUSED"
EASY_TO_BORROW: Final = "EASY_TO_BORROW"
PRE_BORROW: Final = "PRE_BORROW"
BONA_FIDE_MARKET_MAKING: Final = "BONA_FIDE_MARKET_MAKING"
SHORT_EXEMPT: Final = "SHORT_EXEMPT"
NOT_NET_LONG: Final = "NOT_NET_LONG"
NO_LOCATE: Final = "NO_LOCATE"
LOCATE_EXPIRED: Final = "LOCATE_EXPIRED"
LOCATE_EXHAUSTED: Final = "LOCATE_EXHAUSTED"
LOCATE_REUSE_NOT_ALLOWED: Final = "LOCATE_REUSE_NOT_ALLOWED"
PRE_BORROW_REQUIRED: Final = "PRE_BORROW_REQUIRED"
PRICE_TEST_RESTRICTED: Final = "PRICE_TEST_RESTRICTED"
SHORT_EXEMPT_INVALID: Final = "SHORT_EXEMPT_INVALID"
NOT_BONA_FIDE_MARKET_MAKING: Final = "NOT_BONA_FIDE_MARKET_MAKING"
# Fail-closed codes added by this project (docs/scenarios.md allows more codes after the table's own).
UNKNOWN_SECURITY: Final = "UNKNOWN_SECURITY"
UNKNOWN_ACCOUNT: Final = "UNKNOWN_ACCOUNT"
REFERENCE_DATA_STALE: Final = "REFERENCE_DATA_STALE"
INVALID_ORDER: Final = "INVALID_ORDER"

CODES: Final[dict[str, ReasonCode]] = {
    r.code: r
    for r in (
        ReasonCode(BUY, "accept", (c.R200_G,), "a buy order; marking applies to sell orders only"),
        ReasonCode(LONG_SALE, "accept", (c.R200_C, c.R200_G1),
                   "a sale marked long by an account that is net long the quantity, open sell orders counted"),
        ReasonCode(LOCATE, "accept", (c.R203_B1,), "a short sale covered by a valid locate, consumed"),
        ReasonCode(LOCATE_REUSED, "accept", (c.R203_B1, c.FAQ_4_4),
                   "covered by a day locate freed by an intraday buy-to-cover"),
        ReasonCode(EASY_TO_BORROW, "accept", (c.R203_B1_II, c.ETB_24H),
                   "covered by an easy-to-borrow list less than 24 hours old"),
        ReasonCode(PRE_BORROW, "accept", (c.R203_B1_I,),
                   "covered by shares borrowed, or under a bona fide arrangement to borrow, consumed"),
        ReasonCode(BONA_FIDE_MARKET_MAKING, "accept", (c.R203_B2_III,),
                   "a market maker's short sale in connection with bona fide market making: the locate "
                   "exception applies"),
        ReasonCode(SHORT_EXEMPT, "accept", (c.R200_G2,),
                   "a short-exempt order under a Rule 201 provision, while the price test is in force"),
        ReasonCode(NOT_NET_LONG, "reject", (c.R200_C, c.R200_G1),
                   "marked long, but the account is not net long the quantity"),
        ReasonCode(NO_LOCATE, "reject", (c.R203_B1,),
                   "no locate, easy-to-borrow coverage, pre-borrow or exception covers the quantity"),
        ReasonCode(LOCATE_EXPIRED, "reject", (c.R203_B1,), "the locate named is no longer valid"),
        ReasonCode(LOCATE_EXHAUSTED, "reject", (c.R203_B1,), "the locate named has too little quantity left"),
        ReasonCode(LOCATE_REUSE_NOT_ALLOWED, "reject", (c.R203_B1, c.FAQ_4_4, c.FINRA_2023_REPORT),
                   "only a reuse after a buy-to-cover could cover it, and the security is hard to borrow or a "
                   "threshold security, or the locate was not good for the day"),
        ReasonCode(PRE_BORROW_REQUIRED, "reject", (c.R204_B, c.R203_B3_IV),
                   "the broker-dealer must pre-borrow this security and has too little pre-borrowed"),
        ReasonCode(PRICE_TEST_RESTRICTED, "reject", (c.R201_B1_I, c.R201_B1_II, c.RULE201_FAQ_2_2),
                   "Rule 201 is in force and the order is priced at or below the national best bid, or is a "
                   "market order, or no national best bid is known"),
        ReasonCode(SHORT_EXEMPT_INVALID, "reject", (c.R200_G2, c.R201_C, c.R201_D),
                   "marked short exempt when no Rule 201 restriction is in force, without a provision, or when "
                   "the provision's condition is not met"),
        ReasonCode(NOT_BONA_FIDE_MARKET_MAKING, "reject", (c.R203_B2_III, c.FINRA_2024_REPORT),
                   "relies on the market-making exception, but the account is not a market maker or its latest "
                   "review for the security is not bona fide"),
        ReasonCode(UNKNOWN_SECURITY, "reject", (c.R203_B1,),
                   "the security is not in the gate's reference data: fail closed"),
        ReasonCode(UNKNOWN_ACCOUNT, "reject", (c.R200_G, c.R203_B1),
                   "the account is not in the gate's reference data: fail closed"),
        ReasonCode(INVALID_ORDER, "reject", (c.R200_G, c.R203_B1),
                   "the order itself is not a valid order (a quantity that is not a positive whole number, a price "
                   "that is not finite and positive, an unknown side): it is refused and applied to nothing"),
        ReasonCode(REFERENCE_DATA_STALE, "reject", (c.R203_B1,),
                   "the threshold or hard-to-borrow list is older than the gate's freshness limit: fail closed"),
    )
}
