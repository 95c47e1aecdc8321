"""AWS's input limits, refused at the local endpoint as AWS refuses them.

moto accepts what AWS refuses, and answers some bad requests with HTTP 500:

- JSON is JSON as RFC 8259 defines it: Python's parser (moto's) also takes `NaN`, `Infinity`
  and `-Infinity`, which then reach a handler as floats or are stored as `null`, and fails with
  a RecursionError (HTTP 500) on a document nested deeper than its stack. Where AWS parses a
  client's text as JSON, it is parsed here strictly (`strict_json`) and refused as AWS refuses
  it: a PutEvents `Detail`, a StartExecution `input`, a SendTaskSuccess `output`
  (`InvalidOutput`), a Lambda Invoke payload (`InvalidRequestContentException`; moto answered
  HTTP 500 for one that is not JSON), a rule's or an archive's event pattern
  (`InvalidEventPatternException`). SQS message bodies are opaque text, as on AWS.
- EventBridge PutEvents: an entry's `Detail` must be a JSON object (AWS: per entry,
  `MalformedDetail`; moto accepted `42` and answered HTTP 500 for a JSON string once a rule
  matched on the bus), and its `Source` may not be an AWS service's (`aws.*`: per entry,
  `NotAuthorizedForSourceException`; only AWS puts those, on the default bus, as the local
  cloud itself does for Step Functions). The entries of one request may total at most 1 MiB, each counted as
  EventBridge counts it: 14 bytes for `Time` if set, then the UTF-8 bytes of `Source`,
  `DetailType`, `Detail` and each of `Resources` (EventBridge user guide, "Calculating
  PutEvents event entry size"; the limit went from 256 KB to 1 MB on 2026-01-29, AWS compute
  blog "serverless services now support payloads up to 1 MB"). Over it, the whole request is
  refused with `ValidationException`.
- SQS: moto holds a message to the queue's MaximumMessageSize (1 MiB by default) in
  characters, and its body only; AWS counts bytes, and the message attributes too. A message,
  or a batch, over the limit so counted is refused here.
- Step Functions StartExecution: the input must be JSON (`InvalidExecutionInput`) of at most
  262,144 UTF-8 bytes (`ValidationException`, the length constraint of the API's `input`),
  and the name 1 to 80 characters without whitespace, wildcards, brackets, `/` or the special
  and control characters AWS lists (`InvalidName`); moto checked none of these (Step
  Functions developer guide, "Step Functions service quotas").
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError
from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPatternParser
from moto.events.responses import EventsHandler
from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue
from moto.sqs.models import SQSBackend
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from localcloud.patching import Kind, Patch

PUT_EVENTS_MAX_BYTES = 1024 * 1024
MESSAGE_BATCH_MAX_BYTES = 1024 * 1024
"""SendMessageBatch: the messages of a batch together, as each is counted (SQS developer guide, message quotas)."""
EXECUTION_INPUT_MAX_BYTES = 262_144
_EXECUTION_NAME = re.compile(r"^[^\s?*<>{}\[\]:;,\\|^~$#%&`\"/\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]{1,80}$")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def strict_json(text: str | bytes) -> Any:
    """`text` parsed as RFC 8259 JSON: ValueError for what is not, `NaN`, `Infinity` and
    `-Infinity` included, and for nesting deeper than Python's parser can follow."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def entry_size(entry: dict[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge counts it."""
    size = 14 if entry.get("Time") else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        size += len(str(value).encode()) if value is not None else 0
    return size + sum(len(str(r).encode()) for r in entry.get("Resources") or [])


def _malformed_detail(entry: dict[str, Any]) -> bool:
    detail = entry.get("Detail")
    if not isinstance(detail, str) or not detail:
        return False  # a missing Detail is moto's InvalidArgument, as AWS's
    try:
        return not isinstance(strict_json(detail), dict)
    except ValueError:
        return True


def _refusal(entry: dict[str, Any]) -> dict[str, str] | None:
    """The per-entry error AWS gives `entry`, if any (the others are moto's own, as AWS's)."""
    if str(entry.get("Source", "")).startswith("aws."):
        return {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
    if _malformed_detail(entry):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


def _put_events(self: EventsHandler) -> str:
    """The PutEvents API, with AWS's checks before moto's: refused entries are answered one by one."""
    entries: list[dict[str, Any]] = self._get_param("Entries") or []
    if sum(entry_size(e) for e in entries) > PUT_EVENTS_MAX_BYTES:
        raise JsonRESTError("ValidationException", "Total size of the entries in the request is over the limit.")
    results = [_refusal(e) for e in entries]
    accepted = [e for e, refused in zip(entries, results, strict=True) if refused is None]
    answered = iter(self.events_backend.put_events(accepted) if accepted else [])
    merged = [refused if refused is not None else next(answered) for refused in results]
    return json.dumps({"FailedEntryCount": sum("ErrorCode" in r for r in merged), "Entries": merged})


def _parse_event_pattern(self: EventPatternParser) -> Any:
    if self.pattern:
        try:
            strict_json(self.pattern)
        except ValueError:
            raise InvalidEventPatternException(reason="Invalid JSON") from None
    return _PARSE_EVENT_PATTERN.original(self)


def _message_size(body: str, attributes: dict[str, Any] | None) -> int:
    """A message's size as SQS counts it: the body and each attribute's name, type and value, in bytes."""
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        value = attribute.get("StringValue") or attribute.get("BinaryValue") or ""
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        size += len(value) if isinstance(value, bytes) else len(str(value).encode())
    return size


def _send_message(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
    limit = int(self.get_queue(queue_name).maximum_message_size)  # type: ignore[attr-defined]  # moto sets it by setattr
    attributes = kwargs.get("message_attributes", args[0] if args else None)
    if _message_size(message_body, attributes) > limit:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    return _SEND_MESSAGE.original(self, queue_name, message_body, *args, **kwargs)


def _send_message_batch(self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
    total = sum(_message_size(e.get("MessageBody", ""), e.get("MessageAttributes")) for e in entries.values())
    if total > MESSAGE_BATCH_MAX_BYTES:
        raise BatchRequestTooLong(total)
    return _SEND_MESSAGE_BATCH.original(self, queue_name, entries)


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: Any = None,
    execution_input: Any = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    if name is not None and not _EXECUTION_NAME.match(str(name)):
        raise JsonRESTError("InvalidName", f"Invalid Name: '{name}'")
    if execution_input is not None:
        if len(str(execution_input).encode()) > EXECUTION_INPUT_MAX_BYTES:
            raise JsonRESTError(
                "ValidationException",
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {EXECUTION_INPUT_MAX_BYTES}",
            )
        try:
            strict_json(execution_input)
        except (TypeError, ValueError) as error:
            raise JsonRESTError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{error}'") from None
    return _START_EXECUTION.original(self, state_machine_arn, name, execution_input, *args, **kwargs)


def _send_task_success(self: StepFunctionsParserBackend, task_token: Any, outcome: Any, *args: Any) -> Any:
    # The output is checked before the token is looked up, as a request's content is.
    try:
        strict_json(outcome)
    except (TypeError, ValueError):
        raise JsonRESTError("InvalidOutput", "The provided JSON output data is not valid.") from None
    return _SEND_TASK_SUCCESS.original(self, task_token, outcome, *args)


def _invoke(self: LambdaFunction, body: Any, *args: Any, **kwargs: Any) -> Any:
    if body:
        try:
            strict_json(body)
        except (TypeError, ValueError) as error:
            # The message names the parse error only: the payload itself may be health data.
            raise JsonRESTError(
                "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            ) from None
    return _INVOKE.original(self, body, *args, **kwargs)


PATCHES = (
    Patch(
        owner=EventsHandler,
        name="put_events",
        replacement=_put_events,
        kind=Kind.GAP,
        why="moto accepts a Detail that is no JSON object or holds NaN or Infinity (stored as null), "
        "answers HTTP 500 for a JSON string once a rule matches and for a Detail nested deeper than "
        "its parser follows, and accepts a Source of AWS's own (aws.*) and requests over 1 MiB; AWS "
        "refuses each entry or the request.",
    ),
    _PARSE_EVENT_PATTERN := Patch(
        owner=EventPatternParser,
        name="parse",
        replacement=_parse_event_pattern,
        kind=Kind.GAP,
        why="moto takes NaN and Infinity in an event pattern (PutRule, CreateArchive, TestEventPattern), "
        "and fails with a RecursionError on one nested too deeply; AWS refuses both as "
        "InvalidEventPatternException.",
    ),
    _SEND_MESSAGE := Patch(
        owner=SQSBackend,
        name="send_message",
        replacement=_send_message,
        kind=Kind.GAP,
        why="moto holds a message to MaximumMessageSize in characters of its body; AWS counts bytes, "
        "the message attributes too.",
    ),
    _SEND_MESSAGE_BATCH := Patch(
        owner=SQSBackend,
        name="send_message_batch",
        replacement=_send_message_batch,
        kind=Kind.GAP,
        why="As SendMessage: moto counts a batch's bodies in characters, AWS the messages in bytes, "
        "attributes included (1 MiB a batch).",
    ),
    _START_EXECUTION := Patch(
        owner=StepFunctionsParserBackend,
        name="start_execution",
        replacement=_start_execution,
        kind=Kind.GAP,
        why="moto checks neither an execution's name (1 to 80 characters, none of those AWS lists) "
        "nor its input's size (256 KiB), and takes NaN and Infinity as JSON; AWS refuses each.",
    ),
    _SEND_TASK_SUCCESS := Patch(
        owner=StepFunctionsParserBackend,
        name="send_task_success",
        replacement=_send_task_success,
        kind=Kind.GAP,
        why="moto takes any text as a task's output; AWS refuses one that is not JSON (InvalidOutput).",
    ),
    _INVOKE := Patch(
        owner=LambdaFunction,
        name="invoke",
        replacement=_invoke,
        kind=Kind.GAP,
        why="moto hands a handler NaN and Infinity as floats, and answers HTTP 500 for a payload that "
        "is not JSON; AWS refuses both (InvalidRequestContentException).",
    ),
)
