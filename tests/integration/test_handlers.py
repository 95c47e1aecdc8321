"""Each handler invoked through the Lambda API on the local cloud: success, refusal, bad input, repeats."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from harness.inprocess import InProcess
from infra import names
from lambdas.adapters.event_codec import to_item
from lambdas.domain import events as ev
from lambdas.domain.order import OrderCreated
from lambdas.logic.faults import FaultInjector
from lambdas.logic.repository import SagaRepository
from tests.e2e.helpers import (
    US_ADDRESS,
    drain,
    event_store,
    executions,
    history,
    order,
    projection,
    records,
    stock,
)


def invoke(cloud: InProcess, handler: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Invoke the function whose handler is `handler`; (response payload, FunctionError)."""
    lambda_ = cloud.client("lambda")
    [name] = [
        f["FunctionName"] for f in lambda_.list_functions()["Functions"] if f["Handler"] == names.handler_path(handler)
    ]
    response = lambda_.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def started(cloud: InProcess, order_id: str, *medications: Any, **extra: Any) -> dict[str, Any]:
    """A saga recorded as started, without running its execution: the steps are driven by hand."""
    repository = SagaRepository(event_store(cloud), source="test")
    saga = repository.load(order_id)
    saga.start(OrderCreated.model_validate(order(order_id, *medications, **extra)))
    repository.save(saga, causation_id="test")
    return {"order_id": order_id, "attempt": 0, "execution_id": "test-execution"}


def count(cloud: InProcess, order_id: str) -> int:
    return len(history(cloud, order_id))


@pytest.mark.parametrize(
    ("handler", "result_key", "expected_id"),
    [("create_prescription", "prescription_id", "rx-h-1")],
)
def test_a_step_twice_gives_the_same_state_as_once(
    cloud: InProcess, handler: str, result_key: str, expected_id: str
) -> None:
    task = started(cloud, "h-1", "med-1")
    first, error = invoke(cloud, handler, task)
    assert error is None
    events_after_first = count(cloud, "h-1")
    second, error = invoke(cloud, handler, task)
    assert error is None
    # The step's result names the system it acted on (here the stack's own tables) and the calls it
    # made to the pharmacy's API: none, since none is configured.
    assert first == second == {result_key: expected_id, "system": "built-in", "calls": []}
    assert count(cloud, "h-1") == events_after_first


def test_each_step_in_turn_then_repeated_changes_nothing(cloud: InProcess) -> None:
    task = started(cloud, "h-2", {"medication_id": "med-3", "quantity": 2}, shipping_address=US_ADDRESS)
    before = stock(cloud)
    for handler in ("create_prescription", "reserve_inventory", "initiate_shipment"):
        once, error = invoke(cloud, handler, task)
        assert error is None, once
        twice, _ = invoke(cloud, handler, task)
        assert twice == once
    assert history(cloud, "h-2")[-1].type == ev.OrderFulfillmentSagaCompleted.TYPE_KEY
    assert stock(cloud)["med-3"] == (before["med-3"][0] - 2, before["med-3"][1] + 2)
    assert len(records(cloud, "Shipments")) == 1


@pytest.mark.parametrize(
    ("handler", "medications", "address", "error_type"),
    [
        ("create_prescription", [{"medication_id": "med-2", "quantity": 9}], None, "PrescriptionFailed"),
        ("reserve_inventory", ["med-scarce"], None, "InventoryReservationFailed"),
        ("initiate_shipment", ["med-1"], {**US_ADDRESS, "country": "ZZ"}, "ShipmentInitiationFailed"),
    ],
)
def test_a_business_refusal_is_raised_by_name_and_recorded_once(
    cloud: InProcess, handler: str, medications: list[Any], address: dict[str, str] | None, error_type: str
) -> None:
    extra = {"shipping_address": address} if address else {}
    task = started(cloud, "h-3", *medications, **extra)
    steps = ["create_prescription", "reserve_inventory", "initiate_shipment"]
    for earlier in steps[: steps.index(handler)]:
        assert invoke(cloud, earlier, task)[1] is None
    for _ in range(2):
        body, error = invoke(cloud, handler, task)
        assert error, "the invocation is flagged as a function error"
        assert body["errorType"] == error_type
    failures = [e for e in history(cloud, "h-3") if e.type.endswith("_failed")]
    assert len(failures) == 1


@pytest.mark.allow_errors("ValidationError", "SagaNotFound")
@pytest.mark.parametrize(
    ("payload", "error_type"),
    [
        ({"order_id": "not a valid id!"}, "ValidationError"),
        ({}, "ValidationError"),
        ({"order_id": "nobody"}, "SagaNotFound"),
    ],
)
@pytest.mark.parametrize("handler", ["create_prescription", "release_inventory", "cancel_order"])
def test_bad_task_input_is_refused_with_a_clear_error(
    cloud: InProcess, handler: str, payload: dict[str, Any], error_type: str
) -> None:
    body, error = invoke(cloud, handler, payload)
    assert error, "the invocation is flagged as a function error"
    assert body["errorType"] == error_type


@pytest.mark.parametrize("handler", ["cancel_prescription", "release_inventory", "cancel_order"])
def test_a_compensation_for_a_step_that_never_happened_is_a_harmless_no_op(cloud: InProcess, handler: str) -> None:
    task = {**started(cloud, "h-4", "med-1"), "error": {"Error": "States.Timeout"}}
    before = stock(cloud)
    first, error = invoke(cloud, handler, task)
    assert error is None, first
    second, _ = invoke(cloud, handler, task)
    assert first["compensation"] == second["compensation"] == handler
    recorded = [e for e in history(cloud, "h-4") if e.type == ev.CompensationRecorded.TYPE_KEY]
    assert [(e.payload["compensation"], e.payload["had_effect"]) for e in recorded] == [
        (handler, handler == "cancel_order")
    ]
    assert stock(cloud) == before


def test_compensations_undo_completed_steps_and_twice_is_once(cloud: InProcess) -> None:
    task = started(cloud, "h-5", {"medication_id": "med-4", "quantity": 3})
    before = stock(cloud)
    invoke(cloud, "create_prescription", task)
    invoke(cloud, "reserve_inventory", task)
    for handler in ("release_inventory", "cancel_prescription", "cancel_order"):
        for _ in range(2):
            assert invoke(cloud, handler, {**task, "error": {"Error": "Lambda.Unknown"}})[1] is None
    assert stock(cloud) == before
    assert [r["status"]["S"] for r in records(cloud, "Prescriptions")] == ["CANCELLED"]
    assert history(cloud, "h-5")[-1].payload["to_state"] == "FAILED"


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m-{n}", "receiptHandle": f"r-{n}", "body": body, "attributes": {}, "messageAttributes": {}}
            | {
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


@pytest.mark.allow_errors("UnusableMessage")
def test_start_saga_starts_once_rejects_invalid_and_reports_unusable_messages(cloud: InProcess) -> None:
    valid = json.dumps({"detail": order("h-6", "med-1")})
    invalid = json.dumps({"detail": {"order_id": "h-7", "medications": "none"}})
    response, error = invoke(cloud, "start_saga", _sqs_event(valid, valid, invalid, "not json"))
    assert error is None
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-3"}]}
    cloud.wait_for_sagas(["h-6", "h-7"])
    assert [e["name"] for e in executions(cloud)] == ["h-6"]
    assert history(cloud, "h-7")[0].type == ev.OrderRejected.TYPE_KEY


def _stream_event(stored: list[ev.StoredEvent]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": str(n),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {"NewImage": to_item(e), "SequenceNumber": str(n), "StreamViewType": "NEW_IMAGE"},
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/s",
            }
            for n, e in enumerate(stored)
        ]
    }


def test_the_projector_applies_each_event_once_whatever_the_repeats(cloud: InProcess) -> None:
    started(cloud, "h-8", "med-1")
    cloud.local.wait_until_idle()
    stored = history(cloud, "h-8")
    before = projection(cloud).get("h-8")
    response, error = invoke(cloud, "projector", _stream_event(stored + stored))
    assert error is None
    assert response == {"batchItemFailures": []}
    assert projection(cloud).get("h-8") == before
    assert before is not None
    assert before.version == len(stored)


def _projection_calls(cloud: InProcess) -> Iterator[list[str]]:
    """The operations the handlers' DynamoDB client sends to the projection table."""
    from lambdas.adapters.aws_services import client

    table = cloud.outputs[names.OUTPUT_SAGA_TABLE]
    calls: list[str] = []

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if params.get("TableName") == table or table in params.get("RequestItems", {}):
            calls.append(model.name)

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", count, unique_id="projection-calls")
    try:
        yield calls
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id="projection-calls")


def test_the_projector_reads_the_batch_rows_together_and_writes_each_saga_once(cloud: InProcess) -> None:
    # Given two sagas' events, interleaved in one stream batch, and no projection rows yet
    for order_id in ("h-10", "h-11"):
        invoke(cloud, "create_prescription", started(cloud, order_id, "med-1"))
    cloud.local.wait_until_idle()
    first, second = history(cloud, "h-10"), history(cloud, "h-11")
    expected = {o: projection(cloud).get(o) for o in ("h-10", "h-11")}
    for order_id in expected:
        cloud.client("dynamodb").delete_item(
            TableName=cloud.outputs[names.OUTPUT_SAGA_TABLE], Key={"order_id": {"S": order_id}}
        )
    batch = [e for pair in zip(first, second, strict=True) for e in pair]
    # When the projector gets the batch
    with contextmanager(_projection_calls)(cloud) as calls:
        response, error = invoke(cloud, "projector", _stream_event(batch))
    # Then both rows are read in one request, each is written once, and ends as event-by-event would
    assert (response, error) == ({"batchItemFailures": []}, None)
    assert sorted(calls) == ["BatchGetItem", "PutItem", "PutItem"]
    assert {o: projection(cloud).get(o) for o in expected} == expected
    assert len(first) == len(second) == 4


def test_a_saga_whose_row_cannot_be_projected_fails_only_its_own_records(cloud: InProcess) -> None:
    for order_id in ("h-12", "h-13"):
        started(cloud, order_id, "med-1")
    cloud.local.wait_until_idle()
    good, bad = history(cloud, "h-12"), history(cloud, "h-13")
    table = cloud.outputs[names.OUTPUT_SAGA_TABLE]
    dynamodb = cloud.client("dynamodb")
    dynamodb.delete_item(TableName=table, Key={"order_id": {"S": "h-12"}})
    dynamodb.put_item(TableName=table, Item={"order_id": {"S": "h-13"}, "state": {"S": "NOT_A_STATE"}})
    response, error = invoke(cloud, "projector", _stream_event([*good, *bad]))
    assert error is None
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [str(n) for n in range(len(good), len(good) + len(bad))]
    view = projection(cloud).get("h-12")
    assert view is not None
    assert view.version == len(good)


@pytest.mark.allow_errors("BatchProcessingError")
def test_when_the_rows_cannot_be_read_the_whole_batch_fails_and_nothing_is_written(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from lambdas.adapters.dynamodb_projection import DynamoDBProjection

    started(cloud, "h-14", "med-1")
    cloud.local.wait_until_idle()
    stored = history(cloud, "h-14")
    table = cloud.outputs[names.OUTPUT_SAGA_TABLE]
    cloud.client("dynamodb").delete_item(TableName=table, Key={"order_id": {"S": "h-14"}})

    def throttled(self: DynamoDBProjection, order_ids: Any) -> Any:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchGetItem")

    monkeypatch.setattr(DynamoDBProjection, "get_each", throttled)
    # Every record failed: the invocation fails, so the stream retries the batch from its start
    _, error = invoke(cloud, "projector", _stream_event(stored))
    assert error is not None
    monkeypatch.undo()
    assert projection(cloud).get("h-14") is None


def test_the_publisher_puts_each_stored_event_on_the_bus_without_patient_data(cloud: InProcess) -> None:
    started(cloud, "h-9", "med-1")
    cloud.local.wait_until_idle()
    drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])
    stored = history(cloud, "h-9")
    response, error = invoke(cloud, "publisher", _stream_event(stored))
    assert error is None
    assert response == {"batchItemFailures": []}
    delivered = [json.loads(b) for b in drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])]
    assert [d["detail"]["event_id"] for d in delivered] == [e.event_id for e in stored]
    assert all(d["source"] == "pharmacy.saga" for d in delivered)
    assert "patient-of-h-9" not in json.dumps(delivered)
    assert "med-1" not in json.dumps(delivered)


def test_the_publisher_puts_a_large_batch_ten_events_per_request_and_loses_none(cloud: InProcess) -> None:
    ids = [f"h-pub-{n}" for n in range(6)]
    for order_id in ids:
        started(cloud, order_id, "med-1")
    cloud.local.wait_until_idle()
    drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])
    stored = [e for order_id in ids for e in history(cloud, order_id)]
    assert len(stored) == 12
    response, error = invoke(cloud, "publisher", _stream_event(stored))
    assert (response, error) == ({"batchItemFailures": []}, None)
    delivered = [
        json.loads(b)["detail"]["event_id"] for b in drain(cloud, cloud.outputs[names.OUTPUT_DOMAIN_EVENTS_QUEUE])
    ]
    assert sorted(delivered) == sorted(e.event_id for e in stored)


def test_a_reservation_is_refused_once_its_saga_moved_on(cloud: InProcess) -> None:
    from lambdas.adapters.business_tables import DynamoDBInventory
    from lambdas.domain.errors import ConcurrencyConflict
    from lambdas.domain.order import OrderLine
    from lambdas.logic.ports import StreamGuard
    from lambdas.logic.repository import stream_id_for

    # Given a saga at version 2 that then moves on (an event appended at version 3)
    started(cloud, "h-guard", "med-1")
    saga = SagaRepository(event_store(cloud), source="test").load("h-guard")
    stale = StreamGuard(stream_id_for("h-guard"), saga.version)
    invoke(cloud, "cancel_order", {"order_id": "h-guard", "error": {"Error": "States.Timeout"}})
    tables = {t.split("-")[1][:-8]: t for t in cloud.client("dynamodb").list_tables()["TableNames"]}
    inventory = DynamoDBInventory(
        cloud.client("dynamodb"),
        cloud.outputs["InventoryTableName"],
        tables["BusinessTablesReservations"],
        cloud.outputs["EventStoreTableName"],
    )
    before = stock(cloud)
    # When a late step tries to reserve on the version it loaded, Then nothing is reserved
    with pytest.raises(ConcurrencyConflict):
        inventory.reserve("res-h-guard", "h-guard", [OrderLine(medication_id="med-1")], stale)
    assert stock(cloud) == before
    assert records(cloud, "Reservations") == []
    # while a reservation on the current version goes through
    current = StreamGuard(stream_id_for("h-guard"), len(history(cloud, "h-guard")))
    inventory.reserve("res-h-guard", "h-guard", [OrderLine(medication_id="med-1")], current)
    assert stock(cloud)["med-1"] == (before["med-1"][0] - 1, before["med-1"][1] + 1)


@pytest.mark.parametrize(
    ("step", "undo", "done_before", "table", "active"),
    [
        ("create_prescription", "cancel_prescription", (), "Prescriptions", "ACTIVE"),
        ("reserve_inventory", "release_inventory", ("create_prescription",), "Reservations", "RESERVED"),
        (
            "initiate_shipment",
            "cancel_shipment",
            ("create_prescription", "reserve_inventory"),
            "Shipments",
            "INITIATED",
        ),
    ],
)
def test_a_step_that_writes_after_its_undo_ran_writes_nothing(
    cloud: InProcess,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    undo: str,
    done_before: tuple[str, ...],
    table: str,
    active: str,
) -> None:
    # Given a step that has loaded its saga and is held before it writes (as a Lambda still
    # running after its task timed out is)
    order_id = f"late-{step}"
    task = started(cloud, order_id, "med-2")
    for earlier in done_before:
        assert invoke(cloud, earlier, task)[1] is None
    before = stock(cloud)
    loaded, undone = threading.Event(), threading.Event()
    original = FaultInjector.before

    def held(self: FaultInjector, target: str, order: str, attempt: int) -> None:
        if (target, order) == (step, order_id):
            loaded.set()
            assert undone.wait(30)
        original(self, target, order, attempt)

    monkeypatch.setattr(FaultInjector, "before", held)
    late: list[tuple[dict[str, Any], str | None]] = []
    writer = threading.Thread(target=lambda: late.append(invoke(cloud, step, task)))
    writer.start()
    assert loaded.wait(30)
    # When its undo runs first (a no-op: nothing was written yet)
    failure = {**task, "error": {"Error": "States.Timeout"}}
    undo_result, undo_error = invoke(cloud, undo, failure)
    assert undo_error is None, undo_result
    undone.set()
    writer.join(30)
    # Then the late step is refused and leaves nothing active behind; no stock is taken
    [(response, error)] = late
    assert error is not None  # (moto reports function errors as "Handled")
    assert response["errorType"] == "ConcurrencyConflict"
    assert [r for r in records(cloud, table) if r["status"]["S"] == active] == []
    assert stock(cloud) == before
    # and undoing again still finds nothing to undo
    assert invoke(cloud, undo, failure)[1] is None
    assert [r for r in records(cloud, table) if r["status"]["S"] == active] == []
