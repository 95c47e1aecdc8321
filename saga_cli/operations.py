"""What the operator changes: resume a parked saga, redrive the dead-letter queue (CLI and console alike)."""

from __future__ import annotations

import json
import uuid

from infra import names
from lambdas.domain.states import SagaState
from saga_cli import queries
from saga_cli.target import CliError, Target


def start_resume(target: Target, order_id: str) -> tuple[str, str]:
    """Start the compensation machine for a COMPENSATION_FAILED saga: (execution name, execution ARN)."""
    # The saga's own events decide: the projection can lag them (it is updated from the
    # event store's stream), and would show a finished resume as still parked.
    state = queries.saga_state(target, order_id)
    if state is not SagaState.COMPENSATION_FAILED:
        raise CliError(f"{order_id} is {state.value}: only a COMPENSATION_FAILED saga can be resumed")
    name = f"{order_id[:60]}-resume-{uuid.uuid4().hex[:8]}"  # execution names: 80 characters at most
    started = target.client("stepfunctions").start_execution(
        stateMachineArn=target.output(names.OUTPUT_RESUME_STATE_MACHINE),
        name=name,
        input=json.dumps({"order_id": order_id, "error": {"Error": "ResumedByOperator"}}),
    )
    return name, str(started["executionArn"])


def redrive(target: Target, limit: int) -> int:
    """Move at most `limit` dead-lettered order messages back to the start queue; how many moved."""
    sqs = target.client("sqs")
    dead, start = target.output(names.OUTPUT_DEAD_LETTER_QUEUE), target.output(names.OUTPUT_START_QUEUE)
    moved = 0
    sent: set[str] = set()
    """What this run sent: a message that fails again can come back to the dead-letter queue before the
    run ends (it keeps its id), and is then left there: each message is moved once."""
    while moved < limit:
        batch = sqs.receive_message(
            QueueUrl=dead,
            MaxNumberOfMessages=min(10, limit - moved),
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        received = batch.get("Messages", [])
        for again in [m for m in received if m["MessageId"] in sent]:  # left visible, as it was
            sqs.change_message_visibility(QueueUrl=dead, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
        messages = [m for m in received if m["MessageId"] not in sent]
        if not messages:
            break
        for message in messages:
            extra = {"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}
            answer = sqs.send_message(QueueUrl=start, MessageBody=message["Body"], **extra)  # sent, then deleted
            sqs.delete_message(QueueUrl=dead, ReceiptHandle=message["ReceiptHandle"])
            sent.add(answer["MessageId"])
            moved += 1
    return moved
