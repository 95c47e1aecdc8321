"""One place for each fact, and names that do not mislead: what the tree must not grow again.

Each check reads the tree itself (its classes, constants and calls), so the expectation comes
from the rule, never from a list kept beside the code.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType

from lambdas.domain import errors, events

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("lambdas", "infra", "harness", "saga_cli", "saga_console")


def _modules(*packages: str) -> dict[Path, ast.Module]:
    return {
        path: ast.parse(path.read_text(), str(path))
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _classes(module: ModuleType, base: type) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, base) and value.__module__ == module.__name__
    }


def test_no_event_shares_its_name_with_an_exception() -> None:
    # Given the saga's error vocabulary and its domain events
    exceptions = set(_classes(errors, BaseException))
    domain_events = set(_classes(events, events.DomainEvent))
    # Then no name means both "this was raised" and "this was recorded"
    assert exceptions & domain_events == set()


def test_every_error_of_the_vocabulary_is_used_outside_it() -> None:
    # Given every name the product code uses, outside the module that defines the errors
    used = {
        node.id if isinstance(node, ast.Name) else node.attr
        for path, tree in _modules("lambdas", "infra").items()
        if path != ROOT / "lambdas/domain/errors.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute)
    }
    # Then every error class is raised, caught or matched somewhere (or named in the module's
    # own name lists the state machine reads)
    listed = {
        node.id
        for node in ast.walk(ast.parse(Path(errors.__file__).read_text()))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    unused = {name for name in _classes(errors, BaseException) if name not in used and name not in listed}
    assert unused == set()


def _constants(packages: tuple[str, ...]) -> dict[str, list[Path]]:
    """Module-level UPPER_CASE names each module assigns itself (not imports), by name."""
    defined: dict[str, list[Path]] = {}
    for path, tree in _modules(*packages).items():
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper() and not target.id.startswith("_"):
                    defined.setdefault(target.id, []).append(path.relative_to(ROOT))
    return defined


def test_no_constant_of_the_stack_is_defined_twice() -> None:
    # Given every public constant infra/ and lambdas/ define (one name, one meaning: a
    # TASK_TIMEOUT of 30 s beside one of a minute reads as one fact with two values)
    defined = _constants(("infra", "lambdas"))
    # Then each is defined by one module only
    assert {name: paths for name, paths in defined.items() if len(paths) > 1} == {}


def test_no_product_module_imports_another_packages_private_module() -> None:
    # Given every import of the product code, and the product's own packages
    # (the local cloud is left out: patching moto's internals is what it is for)
    own = {*PRODUCT, "localcloud", "tests"}
    imported = {
        (str(path.relative_to(ROOT)), name)
        for path, tree in _modules(*PRODUCT).items()
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    # Then none reaches into a third party's private module (typer._click: typer may change it at will)
    private = {
        (path, name)
        for path, name in imported
        if name.split(".")[0] not in own and any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert private == set()


def test_no_two_exceptions_of_the_product_share_a_name() -> None:
    # Given every exception class the product defines (a class deriving from one, however far)
    bases: dict[str, set[str]] = {}
    where: dict[str, list[str]] = {}
    for path, tree in _modules(*PRODUCT, "localcloud").items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = {
                    b.id if isinstance(b, ast.Name) else b.attr
                    for b in node.bases
                    if isinstance(b, ast.Name | ast.Attribute)
                }
                bases.setdefault(node.name, set()).update(names)
                where.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    exceptions = {"Exception", "ValueError", "RuntimeError", "LookupError", "KeyError"}
    while grown := {name for name, of in bases.items() if of & exceptions and name not in exceptions}:
        exceptions |= grown
    # Then each name is one exception (two `Refused` meant the CLI and the harness each had their own)
    assert {name: paths for name, paths in where.items() if name in exceptions and len(paths) > 1} == {}


def test_every_protocol_of_the_lambdas_is_declared_in_the_ports_module() -> None:
    # Given every public class of lambdas/ that derives from Protocol (a module's private one, such as
    # aws_services._Clients typing its own `client` function, is no interface the logic needs)
    protocols = {
        (str(path.relative_to(ROOT)), node.name)
        for path, tree in _modules("lambdas").items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and any(isinstance(base, ast.Name) and base.id == "Protocol" for base in node.bases)
    }
    # Then the ports module holds them all: one place to read what the logic needs from outside
    assert {path for path, _ in protocols} == {"lambdas/logic/ports.py"}


def _strings(path: Path) -> dict[str, str]:
    """The module-level constants a module assigns a string literal, by name."""
    return {
        target.id: node.value.value
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


SAME_WORDS_OTHER_FACT = {"DEFAULT_STACK_NAME": "the stack's default name; METRICS_NAMESPACE may change alone"}


def test_the_stack_s_names_spell_no_string_the_contract_spells() -> None:
    # Given what lambdas/contract.py spells (the names functions and infrastructure share)
    contract = _strings(ROOT / "lambdas/contract.py")
    # Then infra/names.py spells none of them again: it imports them
    again = {
        name: value
        for name, value in _strings(ROOT / "infra/names.py").items()
        if value in contract.values() and name not in SAME_WORDS_OTHER_FACT
    }
    assert again == {}


def _calls(packages: tuple[str, ...], name: str) -> set[str]:
    """The modules that call `name` (as a function or a method)."""
    return {
        str(path.relative_to(ROOT))
        for path, tree in _modules(*packages).items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)) == name
    }


def test_every_execution_name_start_execution_gets_comes_from_the_one_function() -> None:
    # Given the product's code (the bench's floor measurement starts a machine of its own, not the saga's)
    packages = ("lambdas", "harness", "saga_cli", "saga_console")
    starting = {path for path in _calls(packages, "start_execution") if not path.startswith("harness/bench/")}
    # Then one adapter calls StartExecution, and it takes only names execution_name built
    assert starting == {"lambdas/adapters/step_functions.py"}
    adapter = ast.parse((ROOT / "lambdas/adapters/step_functions.py").read_text())
    start = next(
        node
        for node in ast.walk(adapter)
        if isinstance(node, ast.FunctionDef)
        and node.name == "start"
        and any(call for call in ast.walk(node) if isinstance(call, ast.Attribute) and call.attr == "start_execution")
    )
    name = next(arg for arg in start.args.args if arg.arg == "name")
    assert isinstance(name.annotation, ast.Name)
    assert name.annotation.id == "ExecutionName"
    assert _calls(packages, "ExecutionName") == {"lambdas/domain/executions.py"}


def _mentions(packages: tuple[str, ...], word: str) -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path, tree in _modules(*packages).items()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Constant) and node.value == word)
        or (isinstance(node, ast.Attribute) and node.attr == word)
    }


def test_the_cli_and_the_console_read_sagas_through_one_module() -> None:
    # Given the operator's tools: the harness, the CLI and the console
    tools = ("harness", "saga_cli", "saga_console")
    # Then one module asks the saga table's state index for sagas (the list and the console's page alike)
    assert _calls(tools, "by_state") == {"harness/queries.py"}


def test_the_tools_find_no_resource_by_its_cdk_logical_id() -> None:
    # Given the operator's tools, which must work on the local cloud and on a deployed stack alike
    tools = ("harness", "saga_cli", "saga_console")
    # Then none reads CloudFormation's logical ids (CDK's, changed by a refactoring): the outputs name what they use
    assert _mentions(tools, "LogicalResourceId") == set()


def test_only_the_event_store_s_own_modules_know_its_key_layout() -> None:
    # Given the functions' code (the event table's key is `pk`, its stream, and `sk`, the version)
    spelling = {
        str(path.relative_to(ROOT))
        for path, tree in _modules("lambdas").items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in {"pk", "sk"}
    }
    # Then only the codec spells it; the inventory's guard asks the codec for an event's key
    assert spelling == {"lambdas/adapters/event_codec.py"}


def test_a_function_that_always_raises_is_typed_so() -> None:
    # Given every function of the product typed `-> None` whose body ends in a raise and never returns
    # (an abstract method's `raise NotImplementedError` is a placeholder, not a refusal)
    wrongly_typed = {
        f"{path.relative_to(ROOT)}:{node.name}"
        for path, tree in _modules(*PRODUCT).items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and isinstance(node.returns, ast.Constant)
        and node.returns.value is None
        and isinstance(node.body[-1], ast.Raise)
        and "NotImplementedError" not in ast.unparse(node.body[-1])
        and not any(isinstance(inner, ast.Return) for inner in ast.walk(node))
    }
    # Then there is none: `-> NoReturn` tells mypy and the reader that the caller stops there
    assert wrongly_typed == set()
