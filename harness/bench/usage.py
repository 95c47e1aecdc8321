"""What one saga asks of the billed services, per path: each path's order runs alone and is metered.

The handlers' DynamoDB requests are charged in request units as DynamoDB charges them (item sizes,
4 KB read blocks, transactions twice), their PutEvents entries and every SQS message are counted,
and the saga's state transitions, Lambda invocations, durations and log bytes are read from the
local cloud. The cost model (cost.py) and the capacity model (capacity.py) divide these counts.
"""

from __future__ import annotations

import math
import threading
from base64 import b64decode
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.sqs.models import SQSBackend

from harness.inprocess import InProcess, deployed
from harness.orders import Kind, of_kind
from infra import names
from localcloud.deploy import CloudAssembly

PATHS: dict[str, Kind] = {
    "happy": Kind.VALID,
    "fails_at_prescription": Kind.UNKNOWN_MED,
    "fails_at_inventory": Kind.NO_STOCK,
    "fails_at_shipment": Kind.UNDELIVERABLE,
    "rejected": Kind.INVALID,
}
"""One order per path the saga can take; each runs alone so its counts are its own."""


def _value_size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (strings in UTF-8, numbers ~1 byte per 2 digits)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(inner.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    return sum(_value_size({kind[0]: v}) for v in inner)  # SS, NS, BS


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _write_units(item: dict[str, Any] | None) -> int:
    return max(1, math.ceil(item_size(item) / 1024)) if item else 1


def _read_units(items: list[dict[str, Any]], consistent: bool) -> float:
    """Request units of one read: 4 KB blocks of what was read, half for eventually consistent."""
    blocks = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
    return blocks * (1.0 if consistent else 0.5)


@dataclass
class Usage:
    """What the handlers asked of the billed services (event source polling counted separately)."""

    dynamodb_write_units: float = 0.0
    dynamodb_read_units: float = 0.0
    dynamodb_requests: Counter[str] = field(default_factory=Counter)
    eventbridge_events: int = 0
    sqs_sends: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def dynamodb_request(self, operation: str, params: dict[str, Any]) -> None:
        """Writes are charged whether or not their condition holds: count them as requested."""
        with self._lock:
            self.dynamodb_requests[operation] += 1
            if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                self.dynamodb_write_units += _write_units(params.get("Item"))
            elif operation == "TransactWriteItems":
                for action in params["TransactItems"]:
                    (body,) = action.values()
                    self.dynamodb_write_units += 2 * _write_units(body.get("Item"))

    def dynamodb_response(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        with self._lock:
            if operation == "GetItem":
                item = parsed.get("Item")
                self.dynamodb_read_units += _read_units([item] if item else [], bool(params.get("ConsistentRead")))
            elif operation == "Query":
                self.dynamodb_read_units += _read_units(parsed.get("Items", []), bool(params.get("ConsistentRead")))
            elif operation == "BatchGetItem":
                for table, request in params["RequestItems"].items():
                    consistent = bool(request.get("ConsistentRead"))
                    items = parsed.get("Responses", {}).get(table, [])
                    unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                    # A key that is not there still costs the minimum read, as on AWS.
                    missing = len(request["Keys"]) - unprocessed - len(items)
                    self.dynamodb_read_units += sum(_read_units([i], consistent) for i in items)
                    self.dynamodb_read_units += missing * _read_units([], consistent)

    def events_put(self, entries: int) -> None:
        with self._lock:
            self.eventbridge_events += entries

    def message_sent(self) -> None:
        with self._lock:
            self.sqs_sends += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "dynamodb_write_units": self.dynamodb_write_units,
                "dynamodb_read_units": self.dynamodb_read_units,
                "dynamodb_requests": dict(self.dynamodb_requests),
                "eventbridge_events": self.eventbridge_events,
                "sqs_sends": self.sqs_sends,
            }


@contextmanager
def metered(cloud: InProcess) -> Iterator[Usage]:
    """Count the handlers' DynamoDB and EventBridge requests, and every SQS message sent."""
    from lambdas.adapters.aws_services import client

    usage = Usage()
    pending: dict[int, dict[str, Any]] = {}

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        pending[id(context)] = params
        usage.dynamodb_request(model.name, params)

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        usage.dynamodb_response(model.name, pending.pop(id(context), {}), parsed)

    def put_events(params: dict[str, Any], **_: Any) -> None:
        usage.events_put(len(params["Entries"]))

    dynamodb, events = client("dynamodb"), client("events")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", before, unique_id="bench-before")
    dynamodb.meta.events.register("after-call.dynamodb", after, unique_id="bench-after")
    events.meta.events.register("before-parameter-build.eventbridge.PutEvents", put_events, unique_id="bench")
    original_send = SQSBackend.send_message

    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        usage.message_sent()
        return original_send(self, *args, **kwargs)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    try:
        yield usage
    finally:
        SQSBackend.send_message = original_send  # type: ignore[method-assign]
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id="bench-before")
        dynamodb.meta.events.unregister("after-call.dynamodb", unique_id="bench-after")
        events.meta.events.unregister("before-parameter-build.eventbridge.PutEvents", unique_id="bench")


def _handler_name(physical_name: str) -> str:
    """`OrderFulfillment-FunctionsCreatePrescriptionD47AB691-XYZ` -> `create_prescription`."""
    logical = physical_name.split("-")[1].removeprefix("Functions").rstrip("0123456789ABCDEF")
    return next(n for n in names.ALL_FUNCTIONS if names.construct_id(n) == logical)


def _function_usage(cloud: InProcess) -> tuple[dict[str, int], dict[str, float], int]:
    durations = {f: list(d) for f, d in cloud.local.runtime.durations.items()}
    invocations = {_handler_name(f): len(d) for f, d in durations.items()}
    seconds = {_handler_name(f): sum(d) for f, d in durations.items()}
    log_bytes = sum(len(line.text.encode()) + 26 for line in cloud.local.logs)  # CloudWatch adds 26 bytes per event
    return invocations, seconds, log_bytes


def _transitions(cloud: InProcess, order_id: str) -> int:
    """State transitions of the saga's execution (each state entered once per attempt), 0 if none ran."""
    sfn = cloud.client("stepfunctions")
    arn = cloud.outputs[names.OUTPUT_STATE_MACHINE].replace(":stateMachine:", ":execution:") + f":{order_id}"
    try:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return 0
    return sum(1 for e in history if e["type"].endswith("StateEntered"))


def per_path_usage(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    """Run one order down each path, alone, and count what it used."""
    found: dict[str, dict[str, Any]] = {}
    with deployed(assembly) as cloud:
        cloud.local.wait_until_idle()
        with metered(cloud) as usage:
            for path, kind in PATHS.items():
                invocations0, seconds0, logs0 = _function_usage(cloud)
                usage0, sqs0 = usage.snapshot(), cloud.local.sqs_poll_requests()
                order_id = f"bench-{path.replace('_', '-')}"
                cloud.put_order(of_kind(kind, order_id))
                state = cloud.wait_for_sagas([order_id])[order_id]
                invocations1, seconds1, logs1 = _function_usage(cloud)
                now = usage.snapshot()
                calls = {f: n - invocations0.get(f, 0) for f, n in invocations1.items() if n > invocations0.get(f, 0)}
                found[path] = {
                    "final_state": state,
                    "state_transitions": _transitions(cloud, order_id),
                    "lambda_invocations": calls,
                    "lambda_seconds": round(sum(seconds1.values()) - sum(seconds0.values()), 4),
                    "dynamodb_write_units": now["dynamodb_write_units"] - usage0["dynamodb_write_units"],
                    "dynamodb_read_units": now["dynamodb_read_units"] - usage0["dynamodb_read_units"],
                    "dynamodb_requests": dict(Counter(now["dynamodb_requests"]) - Counter(usage0["dynamodb_requests"])),
                    # the order event you put on the bus, and the domain events the publisher puts
                    "eventbridge_events": 1 + now["eventbridge_events"] - usage0["eventbridge_events"],
                    "sqs_requests": now["sqs_sends"] - usage0["sqs_sends"] + cloud.local.sqs_poll_requests() - sqs0,
                    "log_bytes": logs1 - logs0,
                }
    return found
