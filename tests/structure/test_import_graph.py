"""The top-level packages depend one way: the product at the bottom, the tools on top, no cycle.

The allowed edges are the architecture (docs/architecture.md), written down here once:
the local cloud knows AWS and nothing of the saga; the harness drives the saga on any
target; the CLI and the console are commands and pages on top of the harness; the reference
pharmacy reads only the domain's rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdas", "infra", "localcloud", "harness", "saga_cli", "saga_console", "pharmacy_reference")

ALLOWED: dict[str, set[str]] = {
    "lambdas": set(),
    "infra": {"lambdas"},
    "localcloud": set(),
    # The demo, the chaos run and the bench also run the saga against the reference pharmacy over HTTP.
    "harness": {"lambdas", "infra", "localcloud", "pharmacy_reference"},
    "saga_console": {"harness", "lambdas", "infra"},
    # `saga local up --pharmacy reference` serves the reference pharmacy.
    "saga_cli": {"harness", "localcloud", "saga_console", "lambdas", "infra", "pharmacy_reference"},
    # The reference pharmacy applies the saga's own business rules and order bounds: each written once.
    "pharmacy_reference": {"lambdas"},
}


def _imported_packages(path: Path) -> set[str]:
    """Our top-level packages a module imports, at the top or inside a function alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def import_graph() -> nx.DiGraph:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(PACKAGES)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _imported_packages(path) - {package}:
                graph.add_edge(package, imported, where=graph.get_edge_data(package, imported, {}).get("where", path))
    return graph


def test_no_top_level_package_imports_one_it_may_not() -> None:
    graph = import_graph()
    forbidden = [
        f"{a} -> {b} ({graph.edges[a, b]['where'].relative_to(ROOT)})" for a, b in graph.edges if b not in ALLOWED[a]
    ]
    assert forbidden == []


def test_the_top_level_packages_import_each_other_without_a_cycle() -> None:
    assert list(nx.simple_cycles(import_graph())) == []


def test_the_allowed_edges_themselves_form_no_cycle() -> None:
    allowed: nx.DiGraph = nx.DiGraph([(a, b) for a, bs in ALLOWED.items() for b in bs])
    assert nx.is_directed_acyclic_graph(allowed)


def test_the_graph_reads_imports_inside_functions_too(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from harness.target import Target\n    import localcloud.cloud\n")
    assert _imported_packages(module) == {"harness", "localcloud"}
