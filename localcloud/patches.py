"""The known gaps of moto (pinned in requirements/lock.txt) that the local cloud patches.

Each patch is small, named for the gap it closes, and pinned by a test in
tests/localcloud/test_patches.py that fails loudly if a moto upgrade changes the
behaviour patched (so the patch can be dropped or adjusted, never silently kept).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import string
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import jsonpath_ng
import moto
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth, get_current_datetime
from botocore.exceptions import NoCredentialsError
from jsonpath_ng import ext as jsonpath_ext
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing as cfn_parsing
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.core.common_models import BaseModel
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.core.request import Request as MotoRequest
from moto.core.utils import unix_time_millis
from moto.events.models import Archive, EventBus
from moto.moto_api._internal.moto_random import HEX_CHARS, MotoRandom
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Queue, SQSBackend
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.asl.component.common.path import result_path as sfn_result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
from moto.stepfunctions.parser.asl.utils import json_path as sfn_json_path
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from localcloud import alarms, deliveries, limits, moto_dynamodb, sqs_move_tasks, transport
from localcloud.access import enforcement, resource_policies
from localcloud.runtime import FunctionConfig, InProcessRuntime

MOTO_VERSION = "5.2.5"

_lock = threading.Lock()
_applied = False
_runtime: InProcessRuntime | None = None
_time_scale = 1.0


class UnexpectedMotoVersion(RuntimeError):
    """The patches were written against another moto version; re-check each one."""


# --- Lambda: run handlers in-process instead of in Docker ---------------------------------


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


def _function_with_logging_config(
    self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    # moto drops a function's LoggingConfig: its logs would go to /aws/lambda/<name>, not to the
    # log group the template gives it (encrypted, retained), which would then stay empty.
    ORIGINALS["LambdaFunction.__init__"](self, account_id, spec, *args, **kwargs)
    _keep_logging_config(self, spec.get("LoggingConfig"))


def _keep_logging_config(function: LambdaFunction, config: dict[str, Any] | None) -> None:
    """The function logs to its LoggingConfig's group (else moto's /aws/lambda/<name>), and shows it."""
    config = dict(config or {})
    if config.get("LogGroup"):
        function.logs_group_name = str(config["LogGroup"])
    function.logging_config = {"LogFormat": config.get("LogFormat", "Text"), "LogGroup": function.logs_group_name}  # type: ignore[attr-defined]


def _function_from_cloudformation(
    cls: type[LambdaFunction], resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
) -> LambdaFunction:
    # moto's CloudFormation passes only some properties on to the function: not LoggingConfig,
    # TracingConfig nor Architectures, which the template sets.
    function: LambdaFunction = ORIGINALS["LambdaFunction.create_from_cloudformation_json"].__func__(
        cls, resource_name, cloudformation_json, *args, **kwargs
    )
    properties = cloudformation_json["Properties"]
    _keep_logging_config(function, properties.get("LoggingConfig"))
    function.tracing_config = properties.get("TracingConfig") or function.tracing_config
    function.architectures = properties.get("Architectures") or function.architectures
    return function


def _configuration_with_logging_config(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
    configuration: dict[str, Any] = ORIGINALS["LambdaFunction.get_configuration"](self, *args, **kwargs)
    configuration["LoggingConfig"] = dict(self.logging_config)  # type: ignore[attr-defined]
    return configuration


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if _runtime is None:
        raise RuntimeError("the local cloud's Lambda runtime is not installed")
    response, errored = _runtime.invoke(_function_config(self), event if event is not None else {})
    return response, errored, ""


# --- CloudFormation gaps ------------------------------------------------------------------

_endpoint_url: str | None = None


def set_endpoint(url: str | None) -> None:
    """The local endpoint clients reach (`saga local up`), or None for an in-process cloud."""
    global _endpoint_url
    _endpoint_url = url.rstrip("/") if url else None


def _queue_url(self: Queue) -> str:
    # A queue's Ref (the stack outputs' queue URLs) names sqs.<region>.amazonaws.com; behind a
    # local endpoint it names that endpoint, as moto's own GetQueueUrl answers over HTTP.
    if _endpoint_url is None:
        return str(ORIGINALS["Queue.physical_resource_id"].fget(self))
    return f"{_endpoint_url}/{self.account_id}/{self.name}"


def _event_bus_physical_id(self: EventBus) -> str:
    # moto's Ref of AWS::Events::EventBus returns the model object; CloudFormation returns the name.
    return str(self.name)


_original_archive_create = Archive.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _archive_from_cloudformation(
    cls: type[Archive], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Archive:
    properties = cloudformation_json["Properties"]
    # CloudFormation passes EventPattern as an object; moto's archive expects the JSON text.
    if isinstance(properties.get("EventPattern"), dict):
        properties["EventPattern"] = json.dumps(properties["EventPattern"])
    # CloudFormation-generated archive names may pass the 48-character limit; shorten as AWS does.
    name = resource_name if len(resource_name) <= 48 else resource_name[:35] + "-" + resource_name[-12:]
    result: Archive = _original_archive_create(cls, name, cloudformation_json, account_id, region_name, **kwargs)
    return result


def _state_machine_from_cloudformation(
    cls: type[StateMachine],
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    # CloudFormation-created state machines land in the backend that cannot execute them.
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString", "")
    if isinstance(definition, dict):
        definition = json.dumps(definition)
    backend = stepfunctions_parser_backends[account_id][region_name]
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=definition,
        roleArn=properties.get("RoleArn", ""),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        loggingConfiguration=properties.get("LoggingConfiguration"),
        tracingConfiguration=properties.get("TracingConfiguration"),
    )


# --- moto core: no global lock on the hot path --------------------------------------------


def _account_backend_fast_path(self: BackendDict[Any], account_id: str) -> None:
    # moto takes a process-wide lock on every request just to check that the account's
    # backend exists; with dozens of execution threads that is a lock convoy. Once it exists
    # (created and registered together, under that lock; a reset empties the dict) skip it.
    if dict.__contains__(self, account_id):
        return
    ORIGINALS["BackendDict._create_account_specific_backend"](self, account_id)


# --- costs that grow with the data: fine for a unit test, quadratic over a long run ------


def _retention_check(self: SQSBackend, queue_name: str, message: Any) -> bool:
    # moto computes every queue attribute (walking all messages) to read one number, per message.
    retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention + message.sent_timestamp / 1000 > time.time())


def _visible_messages(self: Queue) -> list[Any]:
    # moto reads the clock twice per message (visible, delayed) on every ReceiveMessage: a
    # queue a thousand orders deep made each receive a few thousand datetime calls. Read it once.
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _delete_message(self: Queue, receipt_handle: str) -> None:
    # As moto's Queue.delete_message (an unknown handle is refused, a deleted one is a no-op),
    # in one pass instead of two, and under the lock SendMessage appends with: moto rebuilds
    # the list unlocked, so a message sent during a delete could be lost.
    if receipt_handle in self.deleted_messages:
        return
    with self._messages_lock:
        for index, message in enumerate(self._messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
                del self._messages[index]
                return
    raise ReceiptHandleIsInvalid()


def _untracked_model(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
    # moto appends every model instance it ever makes (each DynamoDB item version and attribute
    # value, stream record, log stream and event, message, state machine copy per execution) to
    # its class's `instances_tracked`, for its server's dashboard (/moto-api/data.json), and lets
    # one go only when the mock stops. Behind `saga local up` the mock never stops: that list
    # kept everything any store had forgotten. The local cloud does not track them.
    instance: BaseModel = super(BaseModel, cls).__new__(cls)
    return instance


_COUNTS = {
    "ApproximateNumberOfMessages": "approximate_number_of_messages",
    "ApproximateNumberOfMessagesDelayed": "approximate_number_of_messages_delayed",
    "ApproximateNumberOfMessagesNotVisible": "approximate_number_of_messages_not_visible",
}


class _LazyQueueAttributes(dict):  # type: ignore[type-arg]
    """Queue attributes whose message counts (a walk over every message) are computed when read.

    moto rebuilds every attribute on each SendMessage and per name in GetQueueAttributes,
    which makes a queue nobody drains (the domain-events tap) quadratic over a run.
    """

    def __init__(self, queue: Queue) -> None:
        super().__init__()
        self._queue = queue
        self._complete = False
        # As moto's Queue.attributes builds them, but for the counts.
        names = [n for n in Queue.BASE_ATTRIBUTES if n not in _COUNTS]
        if queue.fifo_queue:
            names += Queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]
            names += Queue.KMS_ATTRIBUTES
        for name in names:
            dict.__setitem__(self, name, getattr(queue, _snake(name)))
        if queue.policy:  # type: ignore[attr-defined]
            dict.__setitem__(self, "Policy", queue.policy)  # type: ignore[attr-defined]
        if queue.redrive_policy:
            dict.__setitem__(self, "RedrivePolicy", json.dumps(queue.redrive_policy))
        for key, value in list(dict.items(self)):
            if isinstance(value, bool):
                dict.__setitem__(self, key, str(value).lower())

    def _ensure(self) -> None:
        if not self._complete:
            for name, attr in _COUNTS.items():
                dict.__setitem__(self, name, getattr(self._queue, attr))
            self._complete = True

    def __getitem__(self, key: str) -> Any:
        if key in _COUNTS:
            self._ensure()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in _COUNTS:
            self._ensure()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return key in _COUNTS or dict.__contains__(self, key)

    def __iter__(self) -> Any:
        self._ensure()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._ensure()
        return dict.keys(self)

    def items(self) -> Any:
        self._ensure()
        return dict.items(self)

    def values(self) -> Any:
        self._ensure()
        return dict.values(self)

    def __len__(self) -> int:
        self._ensure()
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self._ensure()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]


@functools.cache
def _snake(name: str) -> str:
    from moto.core.utils import camelcase_to_underscores

    return str(camelcase_to_underscores(name))


_cached_ext_parse = functools.lru_cache(maxsize=1024)(jsonpath_ext.parse)  # type: ignore[attr-defined]
_cached_parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.parse)  # type: ignore[attr-defined]
"""moto builds a new JSONPath parser (a ply/yacc table) for every expression it evaluates:
per delivered EventBridge event and per state. Parsed expressions are immutable; cache them."""


# --- Every request: what moto never reads -----------------------------------------------


@functools.cache
def _method_names(response_class: type) -> list[str]:
    """moto lists a response class's methods (inspect.getmembers) on every request, to find
    the action's method: ~8 % of a DynamoDB GetItem locally. A class's methods are fixed once
    it is defined, so list them once per class."""
    return list(ORIGINALS["method_names_from_class"](response_class))


def _sigv4_scope_only(self: SigV4Auth, request: Any) -> None:
    """botocore signs every request with SigV4 (canonical request, hashes, HMACs: ~15 % of a
    local call) and moto never checks a signature; it reads the access key and the region from
    the credential scope. Inside the mock, plain SigV4 requests get the same headers and scope
    but no signature is computed. S3's and presigned variants, and any request made outside
    the mock (to real AWS from the same process), are signed as botocore signs them."""
    from moto.core.models import botocore_stubber

    if type(self) is not SigV4Auth or not botocore_stubber.enabled:
        ORIGINALS["SigV4Auth.add_auth"](self, request)
        return
    if self.credentials is None:
        raise NoCredentialsError()
    request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
    self._modify_request_before_signing(request)
    request.headers["Authorization"] = transport.scope_only_authorization(self.scope(request))


def _request_from_primitives(
    cls: type[MotoRequest], method: str, url: str, headers: Any, body: Any = None
) -> MotoRequest:
    """moto turns each botocore request into a werkzeug Request through werkzeug's test-client
    EnvironBuilder (~15 % of a local DynamoDB call). For the plain case every JSON-protocol
    call is (POST to "/" over https, a bytes body, no query string, no S3 metadata headers)
    build the same WSGI environ directly; anything else goes the way moto takes it."""
    parsed = urlparse(url)
    if (
        method != "POST"
        or parsed.scheme != "https"
        or parsed.path != "/"
        or parsed.query
        or parsed.port is not None
        or not isinstance(body, bytes)
        or any(should_preserve_original_header_name(key) for key in headers)
    ):
        return ORIGINALS["Request.from_primitives"].__func__(cls, method, url, headers, body)  # type: ignore[no-any-return]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "REQUEST_URI": "/",
        "RAW_URI": "/",
        "SERVER_NAME": parsed.hostname,
        "SERVER_PORT": "443",
        "HTTP_HOST": parsed.netloc,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for key, value in headers.items():
        name = environ_key_for_header(key)
        if name in ("CONTENT_LENGTH", "HTTP_HOST", "HTTP_TRANSFER_ENCODING"):
            continue  # as EnvironBuilder: the length is the body's, the host the URL's
        environ[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}
    return cls(environ)


def _random_string(self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """moto draws its random strings a character per call (52 for every request id): one call."""
    pool = string.ascii_letters + (string.digits if include_digits else "")
    text = "".join(self.choices(pool, k=length))
    return text.lower() if lower_case else text


_HEX_ALPHABET = "".join(map(str, HEX_CHARS))


def _random_hex(self: MotoRandom, length: int = 8) -> str:
    return "".join(self.choices(_HEX_ALPHABET, k=length))


# --- Step Functions: one parse per definition ---------------------------------------------


@functools.lru_cache(maxsize=64)
def _syntax_tree(definition: str) -> Any:
    return AmazonStateLanguageParser.parse(definition)[1]


def _evaluation_entrypoint(self: ExecutionWorker) -> EvalComponent:
    """moto parses the whole ASL definition with ANTLR for every execution (~10 % of a busy
    local cloud's CPU). The syntax tree depends on the definition alone: parse each definition
    once; the evaluation components are still built from the tree for each execution, as moto
    builds them, so no two executions share a component object."""
    program: EvalComponent = Preprocessor().visit(
        _syntax_tree(self._evaluation_details.state_machine_details.definition)
    )
    return program


# --- Step Functions: execution status change events ---------------------------------------

STATUS_CHANGE = "Step Functions Execution Status Change"


def _millis(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _terminated_with_event(self: BaseExecutionWorkerCommunication) -> None:
    # AWS puts an `aws.states` status change event on the default bus when an execution
    # ends; moto does not, so rules reacting to FAILED/TIMED_OUT/ABORTED never fire.
    ORIGINALS["BaseExecutionWorkerCommunication.terminated"](self)
    from moto.events.models import events_backends

    execution = self.execution
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.exec_status.value if execution.exec_status else None,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "error": execution.error,
        "cause": execution.cause,
        # As AWS's event: the execution's input and output, as JSON text (the saga's hold ids only).
        "input": json.dumps(execution.input_data),
        "output": execution.output
        if isinstance(execution.output, str) or execution.output is None
        else json.dumps(execution.output),
    }
    entry = {
        "Source": "aws.states",
        "DetailType": STATUS_CHANGE,
        "Detail": json.dumps(detail),
        "Resources": [execution.exec_arn],
        "EventBusName": "default",
    }
    events_backends[execution.account_id][execution.region_name].put_events([entry])


# --- Step Functions: one client per service, not one per task -----------------------------

_engine_clients: dict[tuple[str, str, bool], Any] = {}
_engine_clients_lock = threading.Lock()


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # moto's engine builds a new boto3 client for every Task it runs; clients are thread-safe.
    from moto.core.models import botocore_stubber

    key = (region, service, bool(botocore_stubber.enabled))
    with _engine_clients_lock:
        if key not in _engine_clients:
            _engine_clients[key] = ORIGINALS["boto_client_for"](region, service, state_credentials)
        return _engine_clients[key]


def clear_engine_clients() -> None:
    with _engine_clients_lock:
        _engine_clients.clear()


# --- Step Functions: a time scale for Retry backoff ---------------------------------------


class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: backoff waits are scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds * _time_scale)


def set_time_scale(scale: float) -> None:
    global _time_scale
    _time_scale = scale


def set_runtime(runtime: InProcessRuntime) -> None:
    global _runtime
    _runtime = runtime


class _HandledFailures(logging.Filter):
    """moto logs every failure event at ERROR, even one a Catch handles (a saga's normal path);
    those are in the execution history. Unhandled exceptions still get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Exception=FailureEventException")


ORIGINALS: dict[str, Any] = {
    "LambdaFunction._invoke_lambda": LambdaFunction._invoke_lambda,
    "LambdaFunction.__init__": LambdaFunction.__init__,
    "LambdaFunction.get_configuration": LambdaFunction.get_configuration,
    "LambdaFunction.create_from_cloudformation_json": LambdaFunction.create_from_cloudformation_json,
    "Archive.create_from_cloudformation_json": Archive.create_from_cloudformation_json,
    "StateMachine.create_from_cloudformation_json": StateMachine.create_from_cloudformation_json,
    "retrier_decl.time": retrier_decl.time,  # type: ignore[attr-defined]
    "EventBus.physical_resource_id": vars(EventBus).get("physical_resource_id"),
    "boto_client_for": sfn_boto_client.boto_client_for,
    "BackendDict._create_account_specific_backend": BackendDict._create_account_specific_backend,
    "BaseExecutionWorkerCommunication.terminated": BaseExecutionWorkerCommunication.terminated,
    "ExecutionWorker._get_evaluation_entrypoint": ExecutionWorker._get_evaluation_entrypoint,
    "SQSBackend.is_message_valid_based_on_retention_period": SQSBackend.is_message_valid_based_on_retention_period,
    "Queue.attributes": Queue.attributes,
    "Queue.messages": Queue.messages,
    "Queue.delete_message": Queue.delete_message,
    "BaseModel.__new__": BaseModel.__new__,
    "Queue.physical_resource_id": vars(Queue)["physical_resource_id"],
    "jsonpath_ng.ext.parse": jsonpath_ext.parse,  # type: ignore[attr-defined]
    "jsonpath_ng.parse": jsonpath_ng.parse,  # type: ignore[attr-defined]
    "method_names_from_class": moto_responses.method_names_from_class,  # type: ignore[attr-defined]
    "SigV4Auth.add_auth": SigV4Auth.add_auth,
    "Request.from_primitives": vars(MotoRequest)["from_primitives"],
    "MotoRandom.get_random_string": MotoRandom.get_random_string,
    "MotoRandom.get_random_hex": MotoRandom.get_random_hex,
}
"""moto's own behaviour, kept so tests can check each gap is still there (tests/localcloud)."""


def apply_patches() -> None:
    """Apply every patch once per process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        if moto.__version__ != MOTO_VERSION:
            raise UnexpectedMotoVersion(f"patches target moto {MOTO_VERSION}, found {moto.__version__}")
        LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]
        LambdaFunction.__init__ = _function_with_logging_config  # type: ignore[method-assign]
        LambdaFunction.get_configuration = _configuration_with_logging_config  # type: ignore[method-assign]
        LambdaFunction.create_from_cloudformation_json = classmethod(_function_from_cloudformation)  # type: ignore[assignment,arg-type]
        EventBus.physical_resource_id = property(_event_bus_physical_id)  # type: ignore[attr-defined]
        Archive.create_from_cloudformation_json = classmethod(_archive_from_cloudformation)  # type: ignore[assignment,arg-type]
        StateMachine.create_from_cloudformation_json = classmethod(_state_machine_from_cloudformation)  # type: ignore[assignment,arg-type]
        retrier_decl.time = _ScaledTime()  # type: ignore[attr-defined,assignment]
        lambda_eval_utils.boto_client_for = _cached_boto_client_for  # type: ignore[attr-defined]
        BackendDict._create_account_specific_backend = _account_backend_fast_path  # type: ignore[method-assign]
        moto_dynamodb.apply()
        ExecutionWorker._get_evaluation_entrypoint = _evaluation_entrypoint  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = _terminated_with_event  # type: ignore[method-assign]
        SQSBackend.is_message_valid_based_on_retention_period = _retention_check  # type: ignore[method-assign]
        Queue.attributes = property(_LazyQueueAttributes)  # type: ignore[assignment,method-assign]
        Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
        Queue.delete_message = _delete_message  # type: ignore[method-assign]
        BaseModel.__new__ = _untracked_model  # type: ignore[method-assign,assignment]
        Queue.physical_resource_id = property(_queue_url)  # type: ignore[assignment,method-assign]
        sqs_move_tasks.apply()
        jsonpath_ext.parse = _cached_ext_parse  # type: ignore[attr-defined]
        sfn_json_path.parse = _cached_ext_parse  # type: ignore[attr-defined]
        sfn_result_path.parse = _cached_parse  # type: ignore[attr-defined]
        moto_responses.method_names_from_class = _method_names  # type: ignore[attr-defined]
        SigV4Auth.add_auth = _sigv4_scope_only  # type: ignore[method-assign]
        MotoRequest.from_primitives = classmethod(_request_from_primitives)  # type: ignore[assignment,arg-type]
        MotoRandom.get_random_string = _random_string  # type: ignore[method-assign]
        MotoRandom.get_random_hex = _random_hex  # type: ignore[method-assign]
        transport.apply()
        enforcement.apply()
        resource_policies.register()
        alarms.apply()
        deliveries.apply()
        limits.apply()
        logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(_HandledFailures())
        _applied = True


SKIPPED_RESOURCE_TYPES: dict[str, str] = {}
"""Types the local cloud knowingly does not create, with why; any other unsupported type is refused.
None today: the policy resources and alarms moto skips are created (`access.resource_policies`, `alarms`)."""


def supported_resource_types() -> set[str]:
    return set(cfn_parsing.get_model_map())


Patch = Callable[[], None]
