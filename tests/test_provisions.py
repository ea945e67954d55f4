"""Every citation the project names is implemented by a rule and exercised by a scenario; docs/provisions.md is
the generated index, kept in step with the code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import regsho.engine
import regsho.rules
from regsho.app import provisions as pv
from regsho.law import citations as c

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index() -> pv.Index:
    return pv.build(pv.project_scenarios(ROOT), ROOT)


def _docstrings() -> str:
    out = []
    for pkg in (regsho.rules, regsho.engine):
        for info in pkgutil.iter_modules(pkg.__path__):
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            out.append(mod.__doc__ or "")
            for _, obj in inspect.getmembers(mod):
                if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == mod.__name__:
                    out.append(obj.__doc__ or "")
                    if inspect.isclass(obj):
                        out.extend(f.__doc__ or "" for _, f in inspect.getmembers(obj, inspect.isfunction))
    return " ".join(" ".join(out).split())  # whitespace folded: a citation may wrap across lines


def _analytics_cites() -> set[str]:
    """Citation constants that the columnar analytics (marketdata, surveillance) put on their own records."""
    names = set()
    for pkg in ("marketdata", "surveillance"):
        for p in (ROOT / "src" / "regsho" / pkg).rglob("*.py"):
            names.update(re.findall(r"\bc\.([A-Z0-9_]+)\b", p.read_text(encoding="utf-8")))
    return {getattr(c, n) for n in names if isinstance(getattr(c, n, None), str)}


_ANALYTICS_CITES = _analytics_cites()

CONSTANTS = sorted({v for k, v in vars(c).items() if k.isupper() and isinstance(v, str) and v != c.CFR})


@pytest.mark.parametrize("cite", CONSTANTS)
def test_every_citation_is_implemented_and_exercised(cite: str, index: pv.Index) -> None:
    docs = _docstrings()
    tables = pv.tables_citing()
    if cite.startswith(c.CFR):
        implemented = bool(index.implemented.get(cite)) or cite in tables
    else:
        implemented = cite in docs or cite in tables
    assert implemented, f"no rule function or code table cites {cite}"
    # A source cited only by the review thresholds of the columnar analytics (quote surveillance, threshold status
    # from the public data) is exercised by those analytics' own tests on real and synthetic data, not by a replay.
    analytics = [t for t in tables.get(cite, ()) if t.startswith(("parameter mm.", "parameter threshold."))]
    if analytics and len(analytics) == len(tables.get(cite, ())) and not index.exercised_by(cite):
        return
    if cite in _ANALYTICS_CITES and not index.exercised_by(cite):
        return
    assert index.exercised_by(cite), f"no scenario exercises {cite}"


def test_docs_provisions_md_is_generated_from_the_code(index: pv.Index) -> None:
    assert (ROOT / "docs" / "provisions.md").read_text(encoding="utf-8") == pv.markdown(index), (
        "docs/provisions.md is out of date: run `regsho provisions --out docs/provisions.md`")


def test_cites_in_reads_ranges_and_bare_paragraphs() -> None:
    assert pv.cites_in("17 CFR 242.204(b); 242.203(b)(3)(iv)-(v): who") == [
        "17 CFR 242.204(b)", "17 CFR 242.203(b)(3)(iv)", "17 CFR 242.203(b)(3)(v)"]
    assert pv.cites_in("see 204(a)(1) and 204T(b)") == ["17 CFR 242.204(a)(1)", "17 CFR 242.204T(b)"]
