"""infra/ takes the names it shares with the functions from their contract, never from their code.

Read from the source with `ast`, so an import inside a function, or behind TYPE_CHECKING, counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lambdas.contract

INFRA = Path(__file__).resolve().parents[2] / "infra"
CONTRACT = {"lambdas.contract", "lambdas.domain.errors", "lambdas.domain.states"}
"""What infra/ may import from lambdas/: the contract module, and the domain's two vocabularies."""
CODE = ("lambdas.adapters", "lambdas.logic", "lambdas.handlers")


def _imported(module: str, name: str) -> str:
    """What `from module import name` imports from: module.name when that is a module, else module."""
    package = INFRA.parent.joinpath(*module.split("."))
    if (package / f"{name}.py").is_file() or (package / name / "__init__.py").is_file():
        return f"{module}.{name}"
    return module


def _lambdas_imports() -> dict[str, set[str]]:
    """Each infra module's imports from lambdas/, as full module names (`from lambdas import x` -> lambdas.x)."""
    found: dict[str, set[str]] = {}
    for path in sorted(INFRA.rglob("*.py")):
        modules: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules |= {_imported(node.module, alias.name) for alias in node.names}
        found[path.relative_to(INFRA.parent).as_posix()] = {
            m for m in modules if m == "lambdas" or m.startswith("lambdas.")
        }
    return found


def test_infra_imports_nothing_from_the_adapters_the_use_cases_or_the_handlers() -> None:
    imports = _lambdas_imports()
    assert "infra/monitoring.py" in imports, "the walk found infra's modules"
    offending = {path: sorted(m for m in modules if m.startswith(CODE)) for path, modules in imports.items()}
    assert {path: found for path, found in offending.items() if found} == {}


def test_infra_imports_from_lambdas_only_the_contract_and_the_domain_s_vocabularies() -> None:
    outside = {path: sorted(modules - CONTRACT) for path, modules in _lambdas_imports().items()}
    assert {path: found for path, found in outside.items() if found} == {}


def test_the_contract_module_imports_nothing() -> None:
    tree = ast.parse(Path(lambdas.contract.__file__).read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [ast.unparse(node) for node in imports] == ["from __future__ import annotations"]
