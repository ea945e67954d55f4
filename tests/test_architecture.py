"""The dependency rules of DESIGN.md, kept by a test: inner layers never import outer ones or a file format, the
edge modules import only the core, and no module imports itself back through a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "regsho"

INNER = ("core", "law", "calendars", "rules", "engine")
OUTER = ("adapters", "store", "reports", "cli", "app", "service", "web", "demo", "marketdata", "surveillance",
         "bench")
#: formats and I/O libraries the inner layers must not touch
FORMATS = ("yaml", "json", "csv", "sqlalchemy", "alembic", "jinja2", "markdown_it", "typer", "rich", "msgspec",
           "orjson", "pyarrow", "polars", "duckdb", "pyspark", "httpx", "fastapi", "starlette")
#: the edge packages import only these parts of regsho
EDGE = {"adapters": ("core", "law", "calendars", "adapters"), "reports": ("core", "law", "calendars", "reports"),
        "marketdata": ("core", "law", "calendars", "marketdata"),
        "surveillance": ("core", "law", "calendars", "surveillance")}


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = p
    return out


def _imports(path: Path, module: str) -> list[str]:
    """Every module imported anywhere in the file (functions included: a lazy import is still a dependency)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                names.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.append(node.module)
                names.extend(f"{node.module}.{a.name}" for a in node.names)
    return names


MODULES = _modules()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in INNER))
def test_inner_layers_import_no_outer_layer_and_no_format(module: str) -> None:
    bad = []
    for name in _imports(MODULES[module], module):
        top = name.split(".")[0]
        if top in FORMATS:
            bad.append(name)
        if name.startswith("regsho.") and _layer(name) in OUTER:
            bad.append(name)
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in EDGE))
def test_edge_packages_import_only_the_core(module: str) -> None:
    allowed = EDGE[_layer(module) or ""]
    bad = [n for n in _imports(MODULES[module], module)
           if n.startswith("regsho.") and _layer(n) not in allowed]
    assert bad == [], f"{module} imports {bad}"


def test_no_import_cycles_at_module_level() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps: set[str] = set()
        for node in tree.body:  # module level only: what runs on import
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("regsho"):
                deps.add(node.module if node.module in MODULES else node.module.rsplit(".", 1)[0])
                deps.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in MODULES)
        graph[module] = {d for d in deps if d in MODULES and d != module}
    seen: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        seen[m] = 1
        for d in sorted(graph[m]):
            if d.startswith(m + ".") or (m.startswith(d + ".") and d == "regsho"):
                continue
            if seen.get(d) == 1 and not m.startswith(d + "."):
                pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(d):], d]))
            if d not in seen:
                visit(d, [*stack, d])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])


def test_nothing_registers_itself_on_import() -> None:
    """No module keeps a mutable registry that another fills in at import time (the old close-out hook)."""
    offenders = [m for m, p in MODULES.items() if "global _" in p.read_text(encoding="utf-8")
                 and m != "regsho.law.params"]
    assert offenders == []
