"""What a scenario's ``cite`` entries may name: a real paragraph of 17 CFR 242.200-204 (or 204T, or the
settlement-cycle rule 17 CFR 240.15c6-1), or one of the interpretive sources the project cites.

The paragraphs are those of the rules' text (RULEBOOK sections 1-4: Rule 200 (a)-(g), Rule 201 (a)-(f), Rule 202T
of the 2004-2007 pilot, Rule 203 (a)-(d), Rule 204 (a)-(g) and temporary Rule 204T), each with the levels of
subparagraphs the text has. A provision may carry the year of the text meant, as in ``17 CFR 242.203(b)(3)
(2005)``. Every citation constant of ``regsho.law.citations`` is in the list.
"""

from __future__ import annotations

import re
from typing import Final

from regsho.adapters.limits import show
from regsho.law import citations as C


def _roman(n: int) -> str:
    return ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")[n - 1]


def _tree() -> frozenset[str]:
    """Every paragraph, as written after ``17 CFR 242.``."""
    out: set[str] = set()

    def add(rule: str, *paths: str) -> None:
        out.add(rule)
        for p in paths:
            parts = re.findall(r"\([^)]+\)", p)
            for k in range(1, len(parts) + 1):
                out.add(rule + "".join(parts[:k]))

    def nums(prefix: str, n: int) -> list[str]:
        return [f"{prefix}({i})" for i in range(1, n + 1)]

    def romans(prefix: str, n: int) -> list[str]:
        return [f"{prefix}({_roman(i)})" for i in range(1, n + 1)]

    # Rule 200: definition of short sale, deemed to own, aggregation units, marking.
    add("200", "(a)", *nums("(b)", 6), "(c)", *nums("(d)", 2), *nums("(e)", 3), *nums("(f)", 4),
        *romans("(g)(1)", 2), "(g)(2)")
    # Rule 201: the price test circuit breaker.
    add("201", *nums("(a)", 9), *romans("(b)(1)", 2), "(b)(1)(iii)(A)", "(b)(1)(iii)(B)", "(b)(2)", "(b)(3)",
        "(c)", *nums("(d)", 4), *romans("(d)(5)", 2), *romans("(d)(6)", 3), "(d)(7)", "(e)", "(f)")
    # Rule 202T: the 2004-2007 pilot suspending the price tests.
    add("202T", "(a)", "(b)", "(c)")
    # Rule 203: long sales, the locate and its exceptions, the threshold close-out, definitions.
    add("203", *romans("(a)(2)", 3), "(a)(1)", *romans("(b)(1)", 3), *romans("(b)(2)", 4), *romans("(b)(3)", 7),
        *nums("(c)", 6), *romans("(c)(6)", 3), "(d)")
    # Rule 204 and temporary Rule 204T (2008-09-18 to 2009-07-31).
    for rule in ("204", "204T"):
        add(rule, *nums("(a)", 3), "(b)", *nums("(c)", 2), "(d)", *nums("(e)", 4), "(f)", *nums("(g)", 2))
    return frozenset(out)


#: Paragraphs of 17 CFR 242.200-204 and 204T, as written after ``17 CFR 242.``.
PARAGRAPHS: Final = _tree()

#: Provisions outside Part 242 the project cites.
OTHER_PROVISIONS: Final = frozenset({C.RULE_15C6_1, C.RULE_15C6_1 + "(a)", C.RULE_15C6_1 + "(a)(1)"})

_CFR_RE = re.compile(r"17 CFR 242\.(20[0-4]T?(?:\([0-9A-Za-z]+\))*)(?: \((?:(?:19|20)\d\d|proviso)\))?")

#: Interpretive sources (families of the constants in ``regsho.law.citations``): SEC staff FAQs, releases,
#: Federal Register pages, FINRA and CBOE notices, reports and enforcement actions, SEC staff letters, the
#: uniform-practice notices, and this project's numbered conventions.
SOURCES: Final = (
    re.compile(r"SEC Reg SHO FAQ \d+\.\d+"),
    re.compile(r"SEC Rule 201 FAQ \d+\.\d+"),
    re.compile(r"Release 34-\d{5}\b.*"),
    re.compile(r"\d{2,3} FR \d+(?: at \d+)?(?: \(\d{4}\))?"),
    re.compile(r"(?:FINRA|NASD|FINRA/Nasdaq|NASD/FINRA|Nasdaq|NYSE)\b.+"),
    re.compile(r"CBOE\b.+"),
    re.compile(r"SEC staff no-action letter\b.+"),
    re.compile(r"docs/(?:scenarios|closeouts)\.md, conventions? \d+(?:(?:, | and )\d+)*(?: \(.+\))?"),
)


def check_cite(c: str) -> str | None:
    """None if ``c`` names a real provision or a known interpretive source, else why not."""
    s = c.strip()
    m = _CFR_RE.fullmatch(s)
    if m:
        return None if m.group(1) in PARAGRAPHS else f"{show(c)} is not a paragraph of 17 CFR 242.200-204"
    if s.startswith("17 CFR"):
        if s in OTHER_PROVISIONS:
            return None
        return f"{show(c)} is not a provision of 17 CFR 242.200-204 (or 17 CFR 240.15c6-1)"
    if any(p.fullmatch(s) for p in SOURCES):
        return None
    return (f"{show(c)} is neither a provision (17 CFR 242.200-204, as '17 CFR 242.204(a)') nor a known "
            f"interpretive source (SEC FAQ, release, Federal Register, FINRA, CBOE, SEC staff letter)")
