"""Charging a local cloud's CPU to layers: exclusive per thread, only inside the window."""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.client import BaseClient
from moto.core.responses import BaseResponse

from harness.bench import cpu_layers
from harness.inprocess import InProcess
from infra import names
from localcloud.runtime import InProcessRuntime


class FakeClock:
    """A per-thread CPU clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_layer_is_charged_only_while_it_is_the_innermost() -> None:
    clock = FakeClock()
    layers = cpu_layers.LayerClock(clock)
    clock.now = 1.0  # before any layer: nobody's
    layers.enter("handler:a")
    clock.now = 3.0
    layers.enter("request:dynamodb")
    clock.now = 3.5
    layers.enter("emulation:dynamodb")
    clock.now = 4.5
    layers.leave()
    clock.now = 5.0
    layers.leave()
    clock.now = 5.25
    layers.leave()
    clock.now = 9.0  # after the last layer: nobody's
    layers.enter("gc")
    layers.leave()

    assert layers.seconds == {
        "handler:a": 2.0 + 0.25,
        "request:dynamodb": 0.5 + 0.5,
        "emulation:dynamodb": 1.0,
        "gc": 0.0,
    }


def test_only_what_runs_inside_the_window_is_counted() -> None:
    clock = FakeClock()
    layers = cpu_layers.LayerClock(clock)
    layers.enter("handler:before")
    clock.now = 2.0
    layers.leave()
    with layers.window():
        assert not layers.seconds, "what came before the window is forgotten"
        layers.enter("handler:inside")
        clock.now = 3.0
        layers.leave()
    layers.enter("handler:after")
    clock.now = 7.0
    layers.leave()

    assert layers.seconds == {"handler:inside": 1.0}


def test_threads_keep_their_own_layers() -> None:
    layers = cpu_layers.LayerClock(lambda: 0.0)
    entered = threading.Event()
    release = threading.Event()

    def other_thread() -> None:
        layers.enter("handler:other")
        entered.set()
        release.wait(5)
        layers.leave()

    thread = threading.Thread(target=other_thread)
    thread.start()
    entered.wait(5)
    layers.enter("request:events")  # does not interrupt the other thread's layer
    layers.leave()
    release.set()
    thread.join(5)
    assert set(layers.seconds) == {"handler:other", "request:events"}


def _function_named(cloud: InProcess, handler_path: str) -> str:
    functions = cloud.client("lambda").list_functions()["Functions"]
    return next(str(f["FunctionName"]) for f in functions if f["Handler"] == handler_path)


def test_a_local_cloud_call_is_charged_to_its_handler_requests_and_emulation(cloud: InProcess) -> None:
    handler_path = names.handler_path(names.RESUME_SAGA)
    table = cloud.outputs[names.OUTPUT_EVENT_STORE_TABLE]  # one its role may read

    def reads_a_row(event: Any, context: Any) -> dict[str, Any]:
        cloud.client("dynamodb").query(
            TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "saga-o-1"}}
        )
        return {}

    cloud.local.runtime.replacements[handler_path] = reads_a_row
    # attr-defined: botocore's private dispatch, which botocore-stubs leaves out, is what cpu_layers wraps.
    originals = (InProcessRuntime.invoke, BaseClient._make_api_call, BaseResponse.call_action)  # type: ignore[attr-defined]
    layers = cpu_layers.LayerClock()
    with cpu_layers.measured(layers), layers.window():
        cloud.client("lambda").invoke(FunctionName=_function_named(cloud, handler_path), Payload=json.dumps({}))

    assert {
        "handler:resume_saga",
        "request:lambda",
        "emulation:lambda",
        "request:dynamodb",
        "emulation:dynamodb",
    } <= set(layers.seconds)
    assert (InProcessRuntime.invoke, BaseClient._make_api_call, BaseResponse.call_action) == originals, (  # type: ignore[attr-defined]  # as above
        "the wrappers are gone after the block"
    )


def test_the_breakdown_is_per_unit_and_the_rest_is_the_engine() -> None:
    seconds = {
        "handler:create_prescription": 0.2,
        "handler:projector": 0.1,
        "request:dynamodb": 0.5,
        "request:lambda": 0.1,
        "emulation:dynamodb": 0.3,
        "gc": 0.2,
    }
    saga = cpu_layers.breakdown(seconds, total_ms=200.0, units=10)
    assert saga == {
        "total": 200.0,
        "handler_code": 30.0,
        "requests": {"dynamodb": 50.0, "lambda": 10.0},
        "emulation": {"dynamodb": 30.0},
        "gc": 20.0,
        "engine_and_other": 60.0,
    }
    floor = cpu_layers.breakdown({"request:lambda": 0.1}, total_ms=50.0, units=10)

    assert cpu_layers.ratio_if_free(saga, floor, frozenset({"dynamodb"})) == round(50 / (200 - 80), 2)
    # Free of everything, the floor loses its Lambda requests too.
    assert cpu_layers.ratio_if_free(saga, floor, None) == round((50 - 10) / (200 - 90), 2)
