"""Step Functions' engine doing each thing once: a definition parsed once, one boto3 client per service,
a JSONPath expression parsed once. Speed only: each execution still runs what moto's engine runs. The
patches that install these are declared in stepfunctions.py, with the service's others."""

from __future__ import annotations

import functools
import threading
from typing import Any

import jsonpath_ng
from jsonpath_ng import ext as jsonpath_ext
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker


@functools.lru_cache(maxsize=64)
def syntax_tree(definition: str) -> Any:
    return AmazonStateLanguageParser.parse(definition)[1]


def evaluation_entrypoint(self: ExecutionWorker) -> EvalComponent:
    """The syntax tree depends on the definition alone: each definition is parsed once; the
    evaluation components are still built from the tree for each execution, as moto builds them,
    so no two executions share a component object."""
    program: EvalComponent = Preprocessor().visit(
        syntax_tree(self._evaluation_details.state_machine_details.definition)
    )
    return program


_engine_clients: dict[tuple[str, str, bool], Any] = {}
_engine_clients_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any, original: Any) -> Any:
    """One client per region and service (`original` makes it): boto3 clients are thread-safe."""
    from moto.core.models import botocore_stubber

    key = (region, service, bool(botocore_stubber.enabled))
    with _engine_clients_lock:
        if key not in _engine_clients:
            _engine_clients[key] = original(region, service, state_credentials)
        return _engine_clients[key]


def clear_engine_clients() -> None:
    with _engine_clients_lock:
        _engine_clients.clear()


# Parsed JSONPath expressions are immutable: cached (moto builds a ply/yacc parser per expression).
# attr-defined: jsonpath_ng re-exports parse without __all__, which strict mypy does not follow.
cached_ext_parse = functools.lru_cache(maxsize=1024)(jsonpath_ext.parse)  # type: ignore[attr-defined]
cached_parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.parse)  # type: ignore[attr-defined]
