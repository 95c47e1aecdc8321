"""The event Step Functions puts on the default bus when an execution ends, as AWS's (the patch that sends it
is declared in stepfunctions.py, with the service's others)."""

from __future__ import annotations

import json
from typing import Any

from localcloud import aws_metrics

STATUS_CHANGE = "Step Functions Execution Status Change"


def _millis(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def publish(execution: Any) -> None:
    """Put the ended `execution`'s status change on its account's default bus, and count its end."""
    from moto.events.models import events_backends

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
    aws_metrics.ended(execution.state_machine_arn, detail["status"])
