"""Patient data (patient id, medications, address) never appears in a log line, an execution
history or a published event — on any path, including failures, rejections and faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.inprocess import InProcess
from harness.seed import set_stock
from infra import names
from tests.e2e.helpers import drain, executions, published

SECRET_MED = "zz-medq7731"
SECRET_SCARCE = "zz-scarceq4410"
PATIENT = "patient-q88120"
ADDRESS = {"line1": "742 Qevergreen Terrace", "city": "Qspringfield", "postal_code": "90210", "country": "US"}
BAD_ADDRESS = {**ADDRESS, "country": "QZ"}
SECRETS = [SECRET_MED, SECRET_SCARCE, PATIENT, "742 Qevergreen", "Qspringfield"]


@pytest.mark.allow_errors("UnusableMessage", "BatchProcessingError")
def test_no_patient_data_in_logs_histories_or_published_events(cloud: InProcess) -> None:
    dynamodb = cloud.client("dynamodb")
    for medication in (SECRET_MED, SECRET_SCARCE):
        dynamodb.put_item(
            TableName=cloud.outputs[names.OUTPUT_CATALOGUE_TABLE],
            Item={"medication_id": {"S": medication}, "max_per_prescription": {"N": "3"}},
        )
    set_stock(cloud, SECRET_MED, 100)
    set_stock(cloud, SECRET_SCARCE, 0)
    cloud.set_faults({"initiate_shipment": {"transient_attempts": 1}})
    orders: dict[str, dict[str, Any]] = {
        "pd-ok": {"medications": [SECRET_MED], "shipping_address": ADDRESS},
        "pd-unknown": {"medications": [SECRET_MED, "zz-unknownq1"], "shipping_address": ADDRESS},
        "pd-no-stock": {"medications": [SECRET_MED, SECRET_SCARCE]},
        "pd-address": {"medications": [{"medication_id": SECRET_MED, "quantity": 2}], "shipping_address": BAD_ADDRESS},
        "pd-invalid": {"medications": [{"medication_id": SECRET_MED, "quantity": -1}], "shipping_address": ADDRESS},
    }
    for order_id, detail in orders.items():
        cloud.put_order({"order_id": order_id, "patient_id": PATIENT, **detail})
    cloud.put_order({"patient_id": PATIENT, "medications": [SECRET_MED]})  # no order id: to the DLQ
    cloud.wait_for_sagas(orders)
    cloud.local.wait_until_idle()

    # Every line each function printed (as the local runtime captured it)
    lines = [line.text for line in cloud.local.logs]
    assert len(lines) > 50, "the scenario logged; the check below is not vacuous"
    for secret in SECRETS:
        assert not [line for line in lines if secret in line], f"{secret!r} appeared in a log line"
    # Every log group, as CloudWatch Logs holds it
    logs = cloud.client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        for event in logs.filter_log_events(logGroupName=group["logGroupName"])["events"]:
            assert not any(secret in event["message"] for secret in SECRETS), group["logGroupName"]
    # Every execution's history (inputs and outputs of every state)
    sfn = cloud.client("stepfunctions")
    for execution in executions(cloud):
        history = json.dumps(
            sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000), default=str
        )
        assert not any(secret in history for secret in SECRETS), execution["name"]
    # Every event published on the bus
    events = json.dumps(published(cloud))
    assert "pd-ok" in events
    assert not any(secret in events for secret in SECRETS)


@pytest.mark.allow_errors("ClientError", "BatchProcessingError")
def test_a_crash_after_validation_logs_no_value_of_the_rejected_fields(
    cloud: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from lambdas.logic.repository import SagaRepository

    # Given an event store that throttles every write (so saving the rejection crashes)
    def throttled(*args: Any, **kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeded"}},
            "TransactWriteItems",
        )

    monkeypatch.setattr(SagaRepository, "save", throttled)
    # When an order arrives whose invalid fields hold patient data
    cloud.put_order(
        {
            "order_id": "pd-crash",
            "patient_id": PATIENT * 10,  # too long
            "medications": [{"medication_id": SECRET_MED, "quantity": -1}],
            "shipping_address": {**ADDRESS, "country": "Qspringfield"},  # too long
        }
    )
    cloud.local.wait_until_idle()
    # Then the message was tried until the dead-letter queue took it, and logged every time
    [dead] = drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE])
    assert PATIENT in dead, "the client's message is kept whole in the dead-letter queue"
    lines = cloud.function_logs("start_saga")
    assert any("ProvisionedThroughputExceededException" in line for line in lines), "the crash was logged"
    # and no line of any function names a value of the rejected fields
    for secret in SECRETS:
        assert not [line for line in (line.text for line in cloud.local.logs) if secret in line], secret
