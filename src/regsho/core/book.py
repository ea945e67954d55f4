"""The book: whose records these are — the clearing participant, the broker-dealers it clears for, the
securities and the accounts (the reference data every other record points into).

A ``Book`` is immutable; a book that gains a security or an account is a new ``Book`` (``with_security``,
``with_account``). Events never carry these records: they name them by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class AccountType(StrEnum):
    MARKET_MAKER = "market_maker"
    PROPRIETARY = "proprietary"
    CUSTOMER = "customer"


class SecurityKind(StrEnum):
    STOCK = "stock"
    ETF = "etf"
    ADR = "adr"


@dataclass(frozen=True, slots=True)
class Security:
    symbol: str
    kind: SecurityKind = SecurityKind.STOCK
    #: the security is on the firm's hard-to-borrow list from the start of the book (docs/scenarios.md: a later
    #: ``htb_list`` replaces it like any other list)
    htb: bool = False
    shares_outstanding: int | None = None
    name: str | None = None
    cusip: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    bd: str
    type: AccountType


@dataclass(frozen=True, slots=True)
class Firm:
    """The clearing participant whose books these are, and the broker-dealers it clears for; ``name``, ``crd`` (its
    CRD or other identifier), ``contact`` and ``signatory`` go on the documents it sends."""

    id: str
    clears_for: tuple[str, ...] = ()
    name: str = ""
    crd: str = ""
    contact: str = ""
    signatory: str = ""


@dataclass(frozen=True, slots=True)
class BrokerDealer:
    """A broker-dealer the participant clears for, as its documents name it."""

    id: str
    name: str = ""
    crd: str = ""


@dataclass(frozen=True, slots=True)
class Book:
    firm: Firm
    securities: Mapping[str, Security] = field(default_factory=dict)
    accounts: Mapping[str, Account] = field(default_factory=dict)
    name: str = ""
    broker_dealers: Mapping[str, BrokerDealer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "securities", MappingProxyType(dict(self.securities)))
        object.__setattr__(self, "accounts", MappingProxyType(dict(self.accounts)))
        object.__setattr__(self, "broker_dealers", MappingProxyType(dict(self.broker_dealers)))

    @classmethod
    def of(cls, firm: Firm, securities: Iterable[Security] = (), accounts: Iterable[Account] = (),
           name: str = "") -> Book:
        return cls(firm, {s.symbol: s for s in securities}, {a.id: a for a in accounts}, name or firm.id)

    @property
    def participant(self) -> str:
        return self.firm.id

    @property
    def bds(self) -> frozenset[str]:
        """The participant and every broker-dealer it clears for."""
        return frozenset((self.firm.id, *self.firm.clears_for))

    def party(self, bd: str) -> BrokerDealer:
        """How documents name a broker-dealer of the book (the participant from its firm record)."""
        if bd == self.firm.id:
            return BrokerDealer(bd, self.firm.name, self.firm.crd)
        return self.broker_dealers.get(bd) or BrokerDealer(bd)

    def with_security(self, s: Security) -> Book:
        return Book(self.firm, {**self.securities, s.symbol: s}, self.accounts, self.name, self.broker_dealers)

    def with_account(self, a: Account) -> Book:
        return Book(self.firm, self.securities, {**self.accounts, a.id: a}, self.name, self.broker_dealers)

    def __reduce__(self) -> tuple[object, ...]:
        return (Book, (self.firm, dict(self.securities), dict(self.accounts), self.name,
                       dict(self.broker_dealers)))
