"""Citations used by the rules, as constants, so that a paragraph is spelled one way everywhere.

Every rule function cites its paragraph through these names; interpretive sources (SEC FAQ numbers,
releases, no-action letters, the CBOE circular) are constants here too.
"""

from __future__ import annotations

CFR = "17 CFR 242."

# Rule 200: definitions and marking
R200_C = CFR + "200(c)"
R200_G = CFR + "200(g)"
R200_G1 = CFR + "200(g)(1)"
R200_G2 = CFR + "200(g)(2)"

# Rule 201: short sale price test
R201_B1_I = CFR + "201(b)(1)(i)"
R201_B1_II = CFR + "201(b)(1)(ii)"
R201_C = CFR + "201(c)"
R201_D = CFR + "201(d)"

# Rule 203: locate, exceptions, threshold close-out
R203_B1 = CFR + "203(b)(1)"
R203_B1_I = CFR + "203(b)(1)(i)"
R203_B1_II = CFR + "203(b)(1)(ii)"
R203_B2_II = CFR + "203(b)(2)(ii)"
R203_B2_III = CFR + "203(b)(2)(iii)"
R203_B3 = CFR + "203(b)(3)"
R203_B3_I = CFR + "203(b)(3)(i)"
R203_B3_II = CFR + "203(b)(3)(ii)"
R203_B3_III = CFR + "203(b)(3)(iii)"
R203_B3_IV = CFR + "203(b)(3)(iv)"
R203_B3_V = CFR + "203(b)(3)(v)"
R203_B3_VI = CFR + "203(b)(3)(vi)"
R203_B3_VII = CFR + "203(b)(3)(vii)"
R203_C6 = CFR + "203(c)(6)"

# Rule 204: close-out
R204_A = CFR + "204(a)"
R204_A1 = CFR + "204(a)(1)"
R204_A2 = CFR + "204(a)(2)"
R204_A3 = CFR + "204(a)(3)"
R204_B = CFR + "204(b)"
R204_C = CFR + "204(c)"
R204_D = CFR + "204(d)"
R204_E = CFR + "204(e)"
R204_F = CFR + "204(f)"

# Rule 204T (2008-09-18 to 2009-07-30) and the releases that set the close-out regimes
R204T = CFR + "204T"
REL_204T_EMERGENCY = "Release 34-58572 (2008)"
REL_204T_INTERIM = "Release 34-58773 (2008)"
REL_204_FINAL = "Release 34-60388, 74 FR 38266 (2009)"
REL_GRANDFATHER = "Release 34-56212 (2007)"
REL_OPTIONS_MM = "Release 34-58775, 73 FR 61690 (2008)"

# Interpretive sources
FAQ_4_4 = "SEC Reg SHO FAQ 4.4"
FAQ_5_7 = "SEC Reg SHO FAQ 5.7"
ETB_24H = "69 FR 48008 at 48014"
RULE201_ADOPTING = "Release 34-61595, 75 FR 11232 (2010)"
RULE201_FAQ_2_2 = "SEC Rule 201 FAQ 2.2"
FINRA_2023_REPORT = "FINRA 2023 Annual Regulatory Oversight Report, Regulation SHO"
FINRA_2024_REPORT = "FINRA 2024 Annual Regulatory Oversight Report, Regulation SHO"
REG_SHO_ADOPTING = "Release 34-50103, 69 FR 48008 (2004)"
SHORT_EXEMPT_REMOVED = "Release 34-55970 (2007)"
T2_RELEASE = "Release 34-80295 (2017)"
T1_RELEASE = "Release 34-96930 (2023)"
RULE_15C6_1 = "17 CFR 240.15c6-1"
FAQ_5_8 = "SEC Reg SHO FAQ 5.8"
CBOE_OMM = "CBOE Regulatory Circular on Regulation SHO and options market-makers"
CBOE_OMM_Q1 = CBOE_OMM + ", Question 1"
CBOE_OMM_Q4 = CBOE_OMM + ", Question 4"
FINRA_08_50 = "FINRA Regulatory Notice 08-50"
LATOUR_NAL = "SEC staff no-action letter to Latour Trading LLC (2017-04-26)"
CYCLICAL_CONVENTION = "docs/scenarios.md, conventions 12 and 23 (FINRA/Nasdaq, Wedbush Securities and Scout Trading)"


def cite_pre_borrow(rule: str) -> str:
    """The full citation of a pre-borrow provision named relative to 17 CFR 242 (e.g. ``204(b)``).

    A period named ``203(b)(3)`` (the 13-day close-out) is imposed by paragraph 203(b)(3)(iv)."""
    if rule == "203(b)(3)":
        return CFR + "203(b)(3)(iv)"
    return CFR + rule

# -- market-making surveillance (surveillance) --
FINRA_6272 = "FINRA Rule 6272(a)(2)"
NASDAQ_4613 = "Nasdaq Rule 4613(a)(2) (now Nasdaq Equity 2, Section 5(a)(2))"
SEC_STUB_QUOTES = "SEC press release 2010-216; Release 34-63255, 75 FR 69484 (2010)"
CIRCUIT_BREAKER_EXPANSION = "FINRA Regulatory Notice 11-37 (2011)"
MM_QUOTE_BANDS = FINRA_6272 + "; " + NASDAQ_4613

# -- threshold data (marketdata) --
R203_C6_I = CFR + "203(c)(6)(i)"
R203_C6_III = CFR + "203(c)(6)(iii)"
SRO_LIST_TIMING = ("Nasdaq Trader, Reg SHO threshold list (one file per trade date, created about 23:00 ET); "
                   "CHX threshold securities (published by 11:00 p.m. CT of each settlement day); NYSE Arca public "
                   "information (no list on bank holidays)")
FAQ_THRESHOLD_DAY1 = "SEC Reg SHO FAQ 5.1/6.1 (2005): the 13 days count from the first day on the list"
