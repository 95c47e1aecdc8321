"""The typed boto3 stubs are for mypy only: no module imports them at run time, and the Lambda asset has none.

requirements/dev.txt installs boto3-stubs so that mypy checks every AWS call; requirements/lambda.txt is
all the asset gets (infra/bundling.py), and the CLI's and the console's own installs need not have them.
A stub imported outside `if TYPE_CHECKING:` would fail there with ModuleNotFoundError.
"""

from __future__ import annotations

import ast
from pathlib import Path

from infra.bundling import REQUIREMENTS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdas", "infra", "localcloud", "harness", "saga_cli", "saga_console", "pharmacy_reference")
STUB_PACKAGES = ("mypy_boto3_", "botocore_stubs", "boto3_stubs")


def _is_stub(module: str) -> bool:
    return module.startswith(STUB_PACKAGES)


def _type_checking_blocks(tree: ast.Module) -> set[int]:
    """The ids of the import nodes inside `if TYPE_CHECKING:` (or `if typing.TYPE_CHECKING:`)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def _stub_imports_at_run_time(path: Path) -> list[int]:
    """The lines of `path` that import a stub outside `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(), str(path))
    checking_only = _type_checking_blocks(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        if id(node) not in checking_only and any(_is_stub(m) for m in modules):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_module_imports_a_typing_stub_at_run_time() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in _stub_imports_at_run_time(path)
    ]
    assert found == []


def test_the_check_sees_a_stub_imported_at_run_time_and_not_one_for_type_checking(tmp_path: Path) -> None:
    # Given a module that imports stubs at the top, in a function, and for type checking only
    module = tmp_path / "probe.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "import mypy_boto3_sqs\n"
        "if TYPE_CHECKING:\n"
        "    from mypy_boto3_dynamodb import DynamoDBClient\n"
        "def f() -> None:\n"
        "    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef\n"
    )
    # Then the two that run are reported, the one for mypy is not
    assert _stub_imports_at_run_time(module) == [2, 6]


def test_the_lambda_asset_requirements_name_no_stubs() -> None:
    requirements = [line.split("#")[0].strip().lower() for line in REQUIREMENTS.read_text().splitlines()]
    assert [r for r in requirements if "stubs" in r or r.startswith("mypy-boto3")] == []
