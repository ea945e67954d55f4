"""The scenario schema (docs/scenarios.md): one msgspec Struct per event type, tagged by ``type``.

msgspec decodes JSON bytes straight into these records in C and checks, while decoding, every field's presence
and type, unknown fields and the event type, with the error's path (``$.events[3].qty``); the same Structs
validate a YAML document or a stored one through ``msgspec.convert``. What a type cannot say (a quantity is
positive, a symbol is declared, a locate exists, times are in order) the adapter checks next, on these records.

Identifiers are ``str | int`` (YAML reads ``id: 7`` as a number; it means "7"); quantities ``int | float`` (an
integral float such as ``1000.0`` is a quantity); prices ``str | int | float`` (read as decimals); times and dates
are text in the documented formats, parsed by the adapter.
"""

from __future__ import annotations

from typing import Any

import msgspec

from regsho.core.events import AccountType, CertifyBasis, CloseOutMethod, FailOrigin, SecurityKind, Side

Text = str | int
Qty = int | float
Price = str | int | float


class _Event(msgspec.Struct, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    at: str


class EtbList(_Event, tag="etb_list"):
    symbols: list[Text]


class HtbList(_Event, tag="htb_list"):
    symbols: list[Text]


class ThresholdList(_Event, tag="threshold_list"):
    symbols: list[Text]


class GateSettings(_Event, tag="gate_settings"):
    #: a duration such as ``24h``, ``90m``, ``3600s`` or ``2d``; null for no limit
    reference_max_age: str | None = None


class Ssr(_Event, tag="ssr"):
    symbol: Text


class Locate(_Event, tag="locate"):
    id: Text
    account: Text
    symbol: Text
    qty: Qty
    source: Text | None = None
    good_for: str | None = None


class LocateRelease(_Event, tag="locate_release"):
    id: Text
    #: shares handed back; null or left out: all that is unused
    qty: Qty | None = None
    reason: Text | None = None
    by: Text | None = None


class PreBorrow(_Event, tag="pre_borrow"):
    id: Text
    bd: Text
    symbol: Text
    qty: Qty


class Position(_Event, tag="position"):
    account: Text
    symbol: Text
    qty: Qty


class MmStatus(_Event, tag="mm_status"):
    account: Text
    symbol: Text
    bona_fide: bool


class MmVerdict(_Event, tag="mm_verdict"):
    account: Text
    symbol: Text
    start: str
    end: str
    bona_fide: bool
    findings: list[Text] | None = None
    cites: list[str] | None = None
    source: Text | None = None


class Order(_Event, tag="order"):
    id: Text
    account: Text
    symbol: Text
    side: Side
    qty: Qty
    price: Price | None = None
    nbb: Price | None = None
    locate: Text | None = None
    bona_fide_mm: bool | None = None
    exempt: Text | None = None


class Fill(_Event, tag="fill"):
    order: Text
    qty: Qty
    price: Price | None = None


class Cancel(_Event, tag="cancel"):
    order: Text


class PreBorrowRequired(_Event, tag="pre_borrow_required"):
    bd: Text
    symbol: Text
    rule: Text | None = None
    until: str | None = None


class Fail(_Event, tag="fail"):
    symbol: Text
    qty: Qty
    settlement_date: str
    origin: FailOrigin
    trade_date: str | None = None
    bd: Text | None = None
    options_created: str | None = None


class Cns(_Event, tag="cns"):
    symbol: Text
    date: str
    fail_qty: Qty


class CloseOut(_Event, tag="close_out"):
    id: Text
    symbol: Text
    qty: Qty
    method: CloseOutMethod
    bd: Text | None = None
    irrevocable: bool | None = None
    counterparty_delivers: bool | None = None
    net_flat_or_long: bool | None = None


class Allocate(_Event, tag="allocate"):
    symbol: Text
    qty: Qty
    to: Text


class Certify(_Event, tag="certify"):
    bd: Text
    symbol: Text
    date: str
    basis: CertifyBasis


class Attestation(_Event, tag="attestation"):
    symbol: Text
    qty: Qty
    settlement_date: str


AnyEvent = (
    EtbList | HtbList | ThresholdList | Ssr | Locate | PreBorrow | Position | MmStatus | MmVerdict | Order | Fill
    | Cancel | PreBorrowRequired | Fail | Cns | CloseOut | Allocate | Certify | Attestation | GateSettings
    | LocateRelease
)

#: Event type name -> its Struct.
EVENT_TYPES: dict[str, type[_Event]] = {
    c.__struct_config__.tag: c  # type: ignore[misc]
    for c in (EtbList, HtbList, ThresholdList, Ssr, Locate, PreBorrow, Position, MmStatus, MmVerdict, Order, Fill,
              Cancel, PreBorrowRequired, Fail, Cns, CloseOut, Allocate, Certify, Attestation, GateSettings,
              LocateRelease)
}


def fields_of(etype: str) -> tuple[str, ...]:
    """The fields an event type may have, besides ``at`` and ``type``."""
    return tuple(f for f in EVENT_TYPES[etype].__struct_fields__ if f != "at")


class FirmSpec(msgspec.Struct, forbid_unknown_fields=True):
    id: Text | None = None
    clears_for: list[Text] | None = None
    name: str | None = None
    crd: Text | None = None
    contact: str | None = None
    signatory: str | None = None


class SecuritySpec(msgspec.Struct, forbid_unknown_fields=True):
    shares_outstanding: Qty | None = None
    kind: SecurityKind | None = None
    htb: bool | None = None
    name: str | None = None
    cusip: Text | None = None


class AccountSpec(msgspec.Struct, forbid_unknown_fields=True):
    bd: Text | None = None
    type: AccountType | None = None


class Document(msgspec.Struct, forbid_unknown_fields=True):
    """A whole scenario. Securities and accounts are checked one by one (so that an error names the symbol or
    account); ``expect`` is free-form for ``--check`` and only bounded in depth."""

    version: Any = None
    name: Any = None
    cite: Any = None
    firm: FirmSpec | None = None
    securities: dict[str, Any] | None = None
    accounts: dict[str, Any] | None = None
    events: list[AnyEvent] | None = None
    expect: Any = None


#: Enumerations by field name, to list the allowed values in an error.
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "side": tuple(m.value for m in Side),
    "origin": tuple(m.value for m in FailOrigin),
    "method": tuple(m.value for m in CloseOutMethod),
    "basis": tuple(m.value for m in CertifyBasis),
    "kind": tuple(m.value for m in SecurityKind),
    "type": tuple(m.value for m in AccountType),
}

JSON_DECODER = msgspec.json.Decoder(Document)
