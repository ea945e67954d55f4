"""The provisions index: paragraph -> the rule functions that implement it -> the scenario files that exercise it.

Generated from the code (``regsho provisions --out docs/provisions.md``), never written by hand: a rule function
implements the provisions its docstring's first paragraph cites; a scenario exercises the provisions its replay
cites (decisions, obligations, pre-borrow periods, notices, findings and the parameters they used) and those in its
own ``cite`` list.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import regsho.rules
from regsho.adapters.scenario import load
from regsho.app.replay import ReplayResult, replay
from regsho.law import citations as c
from regsho.law import findings, params, reasons

_CFR = re.compile(r"(?:17 CFR )?242\.(\d{3}T?(?:\([a-z0-9]+\))*)")
_BARE = re.compile(r"(?<![\w.])(20[0-4]T?(?:\([a-z0-9]+\))+)")


def cites_in(text: str) -> list[str]:
    """The 17 CFR 242 provisions a text cites, spelled as ``17 CFR 242.204(b)``; ranges such as
    ``203(b)(3)(iv)-(v)`` give both ends."""
    out: list[str] = []
    for m in list(_CFR.finditer(text)) + list(_BARE.finditer(text)):
        para = m.group(1)
        out.append(c.CFR + para)
        tail = text[m.end():m.end() + 8]
        rng = re.match(r"-\(([a-z0-9]+)\)", tail)
        if rng and "(" in para:
            out.append(c.CFR + para.rsplit("(", 1)[0] + f"({rng.group(1)})")
    return list(dict.fromkeys(out))


def _first_paragraph(doc: str) -> str:
    return doc.strip().split("\n\n", 1)[0]


def rule_functions() -> dict[str, list[str]]:
    """Provision -> the rule functions (``module.function``) whose docstrings cite it."""
    out: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(regsho.rules.__path__):
        mod = importlib.import_module(f"regsho.rules.{info.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__ or name.startswith("_") or not fn.__doc__:
                continue
            for cite in cites_in(_first_paragraph(fn.__doc__)):
                out.setdefault(cite, []).append(f"rules.{info.name}.{name}")
    return out


def _result_cites(r: ReplayResult) -> set[str]:
    got: set[str] = set()
    for d in r.decisions:
        got.update(d.cites)
        got.update(p.cite for p in d.params)
    for o in r.obligations:
        got.update(o.cites)
        got.update(p.cite for p in o.params)
    for p in r.pre_borrow:
        got.update(p.cites)
    for n in r.notices:
        got.update(n.cites)
    for f in r.findings:
        got.update(f.cites)
        got.update(p.cite for p in f.params)
    return got


@dataclass
class Index:
    implemented: dict[str, list[str]]
    exercised: dict[str, list[str]] = field(default_factory=dict)

    def exercised_by(self, cite: str) -> list[str]:
        """Scenario files exercising ``cite`` or a paragraph under it (204(a) is exercised by 204(a)(1))."""
        hits = set(self.exercised.get(cite, ()))
        for k, v in self.exercised.items():
            if k.startswith(cite + "("):
                hits.update(v)
        return sorted(hits)


def build(scenario_files: Iterable[Path], root: Path | None = None) -> Index:
    idx = Index(rule_functions())
    for path in sorted(scenario_files):
        sc = load(path)
        name = str(path.relative_to(root)) if root is not None else path.name
        got = _result_cites(replay(sc))
        for cite in sc.cite:
            got.update(cites_in(cite) or [cite])
        for cite in got:
            idx.exercised.setdefault(cite, []).append(name)
    return idx


def provisions() -> list[str]:
    """Every provision of 17 CFR 242 the project names: its citation constants, and those its rules cite."""
    consts = [v for k, v in vars(c).items() if k.isupper() and isinstance(v, str) and v.startswith(c.CFR)
              and v != c.CFR]
    return sorted(set(consts) | set(rule_functions()), key=_sort_key)


def interpretive_sources() -> list[str]:
    """The citation constants that are not paragraphs of Part 242 (releases, FAQs, notices, letters)."""
    return sorted({v for k, v in vars(c).items() if k.isupper() and isinstance(v, str)
                   and not v.startswith(c.CFR)})


def tables_citing() -> dict[str, list[str]]:
    """Provision -> the reason codes, finding codes and parameters that cite it."""
    out: dict[str, list[str]] = {}
    for code, rc in reasons.CODES.items():
        for cite in rc.cites:
            out.setdefault(cite, []).append(f"reason {code}")
    for code, fcode in findings.CODES.items():
        for cite in fcode.cites:
            out.setdefault(cite, []).append(f"finding {code}")
    for row in params.TABLE:
        for cite in {row.cite, *row.cite.split("; ")}:  # a value may rest on several sources
            out.setdefault(cite, []).append(f"parameter {row.name}")
    return {k: sorted(set(v)) for k, v in out.items()}


def _sort_key(cite: str) -> tuple[object, ...]:
    para = cite.removeprefix(c.CFR)
    parts = re.findall(r"\d+|T|[a-z]+", para)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def markdown(idx: Index) -> str:
    tables = tables_citing()
    lines = [
        "# Provisions index",
        "",
        "Generated by `regsho provisions --out docs/provisions.md` from the code and the project's scenario files;",
        "do not edit by hand. For each paragraph of 17 CFR 242 the project names: the rule functions whose",
        "docstrings cite it, the reason codes, finding codes and parameters that cite it, and the scenario files",
        "whose replay (or `cite` list) exercises it.",
        "",
        "| provision | rule functions | codes and parameters | scenarios |",
        "|---|---|---|---|",
    ]
    for cite in provisions():
        fns = ", ".join(f"`{f}`" for f in sorted(set(idx.implemented.get(cite, ())))) or "—"
        tab = ", ".join(tables.get(cite, ())) or "—"
        scen = idx.exercised_by(cite)
        shown = ", ".join(f"`{Path(s).stem}`" for s in scen[:4]) + (f" and {len(scen) - 4} more" if len(scen) > 4
                                                                     else "")
        lines.append(f"| {cite.removeprefix('17 CFR ')} | {fns} | {tab} | {shown or '—'} |")
    lines += ["", "## Interpretive sources", "", "| source | codes and parameters | scenarios |", "|---|---|---|"]
    for src in interpretive_sources():
        scen = idx.exercised_by(src)
        lines.append(f"| {src} | {', '.join(tables.get(src, ())) or '—'} | {len(scen)} |")
    return "\n".join(lines) + "\n"


def project_scenarios(root: Path) -> list[Path]:
    """The project's own scenario files: the tests' and the bundled examples."""
    return sorted([*root.glob("tests/**/scenarios/*.yaml"), *root.glob("src/regsho/examples/*.yaml")])
