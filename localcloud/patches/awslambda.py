"""Lambda: handlers run in-process, and a function keeps the logging configuration it is given."""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction

from localcloud.patching import Kind, Patch
from localcloud.runtime import FunctionConfig, InProcessRuntime

_runtime: InProcessRuntime | None = None


def set_runtime(runtime: InProcessRuntime) -> None:
    global _runtime
    _runtime = runtime


def _function_config(function: LambdaFunction) -> FunctionConfig:
    return FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=str(function.handler),
        environment=dict(function.environment_vars or {}),
        timeout_seconds=int(function.timeout or 3),
        memory_mb=int(function.memory_size or 128),
        log_group=function.logs_group_name,
        region=function.region,
        role=str(function.role),
    )


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if _runtime is None:
        raise RuntimeError("the local cloud's Lambda runtime is not installed")
    response, errored = _runtime.invoke(_function_config(self), event if event is not None else {})
    return response, errored, ""


def _keep_logging_config(function: LambdaFunction, config: dict[str, Any] | None) -> None:
    """The function logs to its LoggingConfig's group (else moto's /aws/lambda/<name>), and shows it."""
    config = dict(config or {})
    if config.get("LogGroup"):
        function.logs_group_name = str(config["LogGroup"])
    # attr-defined: ours, on moto's function (read back by get_configuration below).
    function.logging_config = {"LogFormat": config.get("LogFormat", "Text"), "LogGroup": function.logs_group_name}  # type: ignore[attr-defined]


def _function_with_logging_config(
    self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    _INIT.original(self, account_id, spec, *args, **kwargs)
    _keep_logging_config(self, spec.get("LoggingConfig"))


def _configuration_with_logging_config(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
    configuration: dict[str, Any] = _GET_CONFIGURATION.original(self, *args, **kwargs)
    configuration["LoggingConfig"] = dict(self.logging_config)  # type: ignore[attr-defined]  # ours, on moto's function
    return configuration


def _function_from_cloudformation(
    cls: type[LambdaFunction], resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
) -> LambdaFunction:
    function: LambdaFunction = _FROM_CLOUDFORMATION.original(cls, resource_name, cloudformation_json, *args, **kwargs)
    properties = cloudformation_json["Properties"]
    _keep_logging_config(function, properties.get("LoggingConfig"))
    function.tracing_config = properties.get("TracingConfig") or function.tracing_config
    function.architectures = properties.get("Architectures") or function.architectures
    return function


PATCHES = (
    Patch(
        owner=LambdaFunction,
        name="_invoke_lambda",
        replacement=_invoke_in_process,
        kind=Kind.GAP,
        why="moto runs a handler in a Docker container (none locally, and seconds per cold start); "
        "the local cloud's runtime runs it in-process, with its environment, timeout and log group.",
    ),
    _INIT := Patch(
        owner=LambdaFunction,
        name="__init__",
        replacement=_function_with_logging_config,
        kind=Kind.GAP,
        why="moto drops a function's LoggingConfig: its logs went to `/aws/lambda/<name>`, not to the "
        "log group the template gives it (encrypted, retained), which stayed empty.",
    ),
    _GET_CONFIGURATION := Patch(
        owner=LambdaFunction,
        name="get_configuration",
        replacement=_configuration_with_logging_config,
        kind=Kind.GAP,
        why="GetFunction(Configuration) answers the function's LoggingConfig, as AWS does; moto omits it.",
    ),
    _FROM_CLOUDFORMATION := Patch(
        owner=LambdaFunction,
        name="create_from_cloudformation_json",
        replacement=_function_from_cloudformation,
        kind=Kind.GAP,
        why="moto's CloudFormation passes a function only some of its properties: not LoggingConfig, "
        "TracingConfig nor Architectures, which the template sets.",
    ),
)
