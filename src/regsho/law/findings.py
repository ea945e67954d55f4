"""Finding codes (docs/scenarios.md fixes the first four), each with its citations and a plain-words meaning,
beside the decision reason codes of ``regsho.law.reasons``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from regsho.law import citations as c


@dataclass(frozen=True, slots=True)
class FindingCode:
    code: str
    cites: tuple[str, ...]
    meaning: str


CLOSE_OUT_MISSED: Final = "CLOSE_OUT_MISSED"
SHAM_CLOSE_OUT: Final = "SHAM_CLOSE_OUT"
NOT_A_CLOSE_OUT: Final = "NOT_A_CLOSE_OUT"
CYCLICAL_FAIL: Final = "CYCLICAL_FAIL"

CODES: Final[dict[str, FindingCode]] = {
    f.code: f
    for f in (
        FindingCode(CLOSE_OUT_MISSED, (c.R204_A, c.R203_B3, c.R203_B2_II),
                    "a close-out obligation was not met by its deadline"),
        FindingCode(SHAM_CLOSE_OUT, (c.R204_F, c.R203_B3_VII),
                    "a purchase or borrow from a counterparty the firm knows or has reason to know will not "
                    "deliver: it does not close out the fail"),
        FindingCode(NOT_A_CLOSE_OUT, (c.R204_A, c.R203_B3, c.LATOUR_NAL, c.FINRA_2024_REPORT),
                    "a method that cannot close out a fail (an ADR conversion, a revocable order, a borrow where "
                    "only a purchase cures, a creation of a security that is not an ETF)"),
        FindingCode(CYCLICAL_FAIL, (c.CYCLICAL_CONVENTION, c.FAQ_5_7),
                    "the same security fails again soon after a close-out, with new short sales in between"),
    )
}
