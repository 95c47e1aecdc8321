"""What one saga asks of the billed services, per path: each path's order runs alone and is metered.

The handlers' DynamoDB requests are charged in request units as DynamoDB charges them (item sizes,
4 KB read blocks, transactions twice; per table too), their PutEvents entries, Secrets Manager reads
and requests to the pharmacy's API (with the time spent waiting on them) and every SQS message are
counted, and the saga's state transitions, Lambda invocations, durations and log bytes are read from
the local cloud. The same measuring runs against the built-in tables (`per_path_usage`) and against
the reference pharmacy over HTTP (`per_path_usage_over_http`). The cost model (cost.py) and the
capacity model (capacity.py) divide these counts.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from base64 import b64decode
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.sqs.models import SQSBackend

from harness.inprocess import InProcess, deployed
from harness.orders import Kind, of_kind
from harness.pharmacy_api import deployed_over_http
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
    dynamodb_write_units_by_table: Counter[str] = field(default_factory=Counter)
    eventbridge_events: int = 0
    sqs_sends: int = 0
    secret_reads: int = 0
    pharmacy_requests: Counter[str] = field(default_factory=Counter)
    """Requests to the pharmacy's API, by the (physical) name of the function that sent them."""
    pharmacy_wait_seconds: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def dynamodb_request(self, operation: str, params: dict[str, Any]) -> None:
        """Writes are charged whether or not their condition holds: count them as requested."""
        with self._lock:
            self.dynamodb_requests[operation] += 1
            if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                self._write(str(params.get("TableName")), _write_units(params.get("Item")))
            elif operation == "TransactWriteItems":
                for action in params["TransactItems"]:
                    (body,) = action.values()
                    self._write(str(body.get("TableName")), 2 * _write_units(body.get("Item")))

    def _write(self, table: str, units: int) -> None:
        self.dynamodb_write_units += units
        self.dynamodb_write_units_by_table[table] += units

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

    def secret_read(self) -> None:
        with self._lock:
            self.secret_reads += 1

    def pharmacy_request(self, function: str, waited: float) -> None:
        with self._lock:
            self.pharmacy_requests[function] += 1
            self.pharmacy_wait_seconds[function] = self.pharmacy_wait_seconds.get(function, 0.0) + waited

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "dynamodb_write_units": self.dynamodb_write_units,
                "dynamodb_read_units": self.dynamodb_read_units,
                "dynamodb_requests": dict(self.dynamodb_requests),
                "dynamodb_write_units_by_table": dict(self.dynamodb_write_units_by_table),
                "eventbridge_events": self.eventbridge_events,
                "sqs_sends": self.sqs_sends,
                "secret_reads": self.secret_reads,
                "pharmacy_requests": dict(self.pharmacy_requests),
                "pharmacy_wait_seconds": dict(self.pharmacy_wait_seconds),
            }


SECRET_READ_EVENT = "before-parameter-build.secrets-manager.GetSecretValue"
"""botocore names a service's events by its hyphenated service id ("Secrets Manager")."""


@contextmanager
def metered(cloud: InProcess) -> Iterator[Usage]:
    """Count the handlers' DynamoDB, EventBridge and Secrets Manager requests, their requests to the
    pharmacy's API and how long each waited, and every SQS message sent."""
    from lambdas.adapters.aws_services import client
    from lambdas.adapters.pharmacy_http_client import PharmacyClient

    usage = Usage()
    pending: dict[int, dict[str, Any]] = {}

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        pending[id(context)] = params
        usage.dynamodb_request(model.name, params)

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        usage.dynamodb_response(model.name, pending.pop(id(context), {}), parsed)

    def put_events(params: dict[str, Any], **_: Any) -> None:
        usage.events_put(len(params["Entries"]))

    def get_secret_value(**_: Any) -> None:
        usage.secret_read()

    # The functions' own cached clients: the ones their adapters call (aws_services.client).
    dynamodb, events, secrets = client("dynamodb"), client("events"), client("secretsmanager")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", before, unique_id="bench-before")
    dynamodb.meta.events.register("after-call.dynamodb", after, unique_id="bench-after")
    events.meta.events.register("before-parameter-build.eventbridge.PutEvents", put_events, unique_id="bench")
    secrets.meta.events.register(SECRET_READ_EVENT, get_secret_value, unique_id="bench")
    original_send, original_request = SQSBackend.send_message, PharmacyClient.send

    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        usage.message_sent()
        return original_send(self, *args, **kwargs)

    def pharmacy_request(self: PharmacyClient, *args: Any, **kwargs: Any) -> Any:
        # The local runtime sets the invoked function's name in its environment, as Lambda does.
        function, began = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "?"), time.perf_counter()
        try:
            return original_request(self, *args, **kwargs)
        finally:
            usage.pharmacy_request(function, time.perf_counter() - began)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]  # metered for the run, restored below
    PharmacyClient.send = pharmacy_request  # type: ignore[method-assign]  # metered for the run, restored below
    try:
        yield usage
    finally:
        PharmacyClient.send = original_request  # type: ignore[method-assign]  # the original, back
        SQSBackend.send_message = original_send  # type: ignore[method-assign]  # the original, back
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id="bench-before")
        dynamodb.meta.events.unregister("after-call.dynamodb", unique_id="bench-after")
        events.meta.events.unregister("before-parameter-build.eventbridge.PutEvents", unique_id="bench")
        secrets.meta.events.unregister(SECRET_READ_EVENT, unique_id="bench")


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


def _table_name(physical_name: str) -> str:
    """`OrderFulfillment-BusinessTablesPrescriptions635B2CB3-XYZ` -> `BusinessTablesPrescriptions`."""
    parts = physical_name.split("-")
    return (parts[1] if len(parts) > 2 else physical_name).rstrip("0123456789ABCDEF")


def _transitions(cloud: InProcess, order_id: str) -> int:
    """State transitions of the saga's execution (each state entered once per attempt), 0 if none ran."""
    sfn = cloud.client("stepfunctions")
    arn = cloud.outputs[names.OUTPUT_STATE_MACHINE].replace(":stateMachine:", ":execution:") + f":{order_id}"
    try:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return 0
    return sum(1 for e in history if e["type"].endswith("StateEntered"))


def _fresh_token_cache() -> None:
    """Each path starts as a new execution environment would: no token read yet (pharmacy_token)."""
    from lambdas.adapters.pharmacy_token import _secrets

    _secrets.cache_clear()


def _grown(now: Mapping[str, float], before: Mapping[str, float], name: Callable[[str], str] = str) -> dict[str, float]:
    """What each key gained since `before` (a count stays an int), renamed by `name`; no key that did not grow."""
    return {name(k): round(v - before.get(k, 0), 4) for k, v in now.items() if v > before.get(k, 0)}


def warm_up(cloud: InProcess) -> None:
    """One unmetered order down each path first: the counts are then those of the millionth order, not
    of the first, whose functions import their code (a cold start that a million orders share)."""
    order_ids = []
    for path, kind in PATHS.items():
        order_id = f"warm-{path.replace('_', '-')}"
        cloud.put_order(of_kind(kind, order_id))
        order_ids.append(order_id)
    cloud.wait_for_sagas(order_ids)
    cloud.local.wait_until_idle()


REPEATS = 3
"""Orders per path: each count is their median, so that one order whose stream records the consumers
happened to take in two batches, or whose functions ran while the shared machine was busy, does not
stand for the millionth."""


def measure(cloud: InProcess, repeats: int = REPEATS) -> dict[str, dict[str, Any]]:
    """Run `repeats` orders down each path on a deployed cloud, each alone and warm, and count what each
    used: per path, the median of each count."""
    warm_up(cloud)
    with metered(cloud) as usage:
        return {
            path: _median([_one(cloud, usage, kind, order_id(path, n)) for n in range(repeats)])
            for path, kind in PATHS.items()
        }


def order_id(path: str, n: int) -> str:
    """The id of a path's n-th metered order."""
    return f"bench-{path.replace('_', '-')}-{n}"


def _one(cloud: InProcess, usage: Usage, kind: Kind, order_id: str) -> dict[str, Any]:
    _fresh_token_cache()
    invocations0, seconds0, logs0 = _function_usage(cloud)
    usage0, sqs0 = usage.snapshot(), cloud.local.sqs_poll_requests()
    cloud.put_order(of_kind(kind, order_id))
    state = cloud.wait_for_sagas([order_id])[order_id]
    invocations1, seconds1, logs1 = _function_usage(cloud)
    now = usage.snapshot()
    return {
        "final_state": state,
        "state_transitions": _transitions(cloud, order_id),
        "lambda_invocations": _grown(invocations1, invocations0),
        "lambda_seconds": round(sum(seconds1.values()) - sum(seconds0.values()), 4),
        "lambda_seconds_by_function": _grown(seconds1, seconds0),
        "dynamodb_write_units": now["dynamodb_write_units"] - usage0["dynamodb_write_units"],
        "dynamodb_read_units": now["dynamodb_read_units"] - usage0["dynamodb_read_units"],
        "dynamodb_requests": dict(Counter(now["dynamodb_requests"]) - Counter(usage0["dynamodb_requests"])),
        "dynamodb_write_units_by_table": _grown(
            now["dynamodb_write_units_by_table"], usage0["dynamodb_write_units_by_table"], _table_name
        ),
        # the order event you put on the bus, and the domain events the publisher puts
        "eventbridge_events": 1 + now["eventbridge_events"] - usage0["eventbridge_events"],
        "sqs_requests": now["sqs_sends"] - usage0["sqs_sends"] + cloud.local.sqs_poll_requests() - sqs0,
        "log_bytes": logs1 - logs0,
        "secret_reads": now["secret_reads"] - usage0["secret_reads"],
        "pharmacy_requests": _grown(now["pharmacy_requests"], usage0["pharmacy_requests"], _handler_name),
        "pharmacy_wait_seconds": _grown(now["pharmacy_wait_seconds"], usage0["pharmacy_wait_seconds"], _handler_name),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each count's median over the runs of one path (per key, for the counts by function or table; a key a
    run lacks counts 0 there, and a key whose median is 0 is left out)."""
    states = {run["final_state"] for run in runs}
    if len(states) != 1:
        raise RuntimeError(f"one path's orders ended differently: {sorted(states)}")
    found: dict[str, Any] = {}
    for name, first in runs[0].items():
        if isinstance(first, dict):
            keys = sorted({key for run in runs for key in run[name]})
            medians = {key: statistics.median(run[name].get(key, 0) for run in runs) for key in keys}
            found[name] = {key: value for key, value in medians.items() if value}
        elif isinstance(first, str):
            found[name] = first
        else:
            found[name] = statistics.median(run[name] for run in runs)
    return found


def per_path_usage(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    """Each path's counts with the built-in tables."""
    with deployed(assembly) as cloud:
        return measure(cloud)


def per_path_usage_over_http() -> dict[str, dict[str, Any]]:
    """Each path's counts with every step calling the reference pharmacy over HTTP."""
    with deployed_over_http(domain_events_queue=False) as (cloud, _served):
        return measure(cloud)
