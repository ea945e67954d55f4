"""The chain's record hash is SHA-256 over the fields in order, each UTF-8 and followed by 0x1F: the digest every
stored record was chained with, whatever text the fields hold (separators, non-ASCII)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from regsho.store.chain import GENESIS, record_hash


def _by_parts(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), min_size=8, max_size=8))
def test_record_hash_is_the_fields_each_followed_by_a_separator(parts: list[str]) -> None:
    assert record_hash(*parts) == _by_parts(*parts)


def test_record_hash_of_a_known_record() -> None:
    parts = (GENESIS, "ACME", "event", "order", "2025-03-10T09:40:00-04:00", "2025-03-10T13:40:00.000001+00:00",
             "api trader-1 (trader) key k1", '{"id":"S1","qty":3000,"note":"é\x1f"}')
    assert record_hash(*parts) == _by_parts(*parts)
    assert record_hash(*parts) != record_hash(*parts[:7], parts[7] + "\x1f")
