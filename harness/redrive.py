"""`saga redrive`: move the dead-letter queue's messages back to the start queue, each one once.

A message that fails again can be dead-lettered again while the run is still going. SQS
keeps a dead-lettered message's enqueue timestamp (SQS developer guide, "Setting-up
dead-letter queue retention") but does not promise to keep its id, so the run does not
rely on ids alone: it moves at most as many messages as the queue held when it started,
and never one it has already moved or sent (moto keeps the id; a copy with a new id is
still stopped by the bound).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def receivable_now(sqs: SQSClient, queue_url: str) -> int:
    """The messages a receive can get now (not those in flight): what one redrive run may move. The
    console's dead_letter_depth counts those in flight too: every message the queue holds."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def move_dead_letters(sqs: SQSClient, *, dead: str, start: str, limit: int) -> int:
    """Send each message of `dead` to `start`, then delete it; how many were moved."""
    budget = min(limit, receivable_now(sqs, dead))
    moved = 0
    seen: set[str] = set()
    """The ids this run received from the dead-letter queue or sent to the start queue."""
    while moved < budget:
        received = sqs.receive_message(
            QueueUrl=dead,
            MaxNumberOfMessages=min(10, budget - moved),
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in received if m["MessageId"] not in seen]
        for again in [m for m in received if m["MessageId"] in seen]:  # left visible, as it was
            sqs.change_message_visibility(QueueUrl=dead, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            # sent, then deleted
            if attributes := message.get("MessageAttributes"):
                answer = sqs.send_message(QueueUrl=start, MessageBody=message["Body"], MessageAttributes=attributes)
            else:
                answer = sqs.send_message(QueueUrl=start, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead, ReceiptHandle=message["ReceiptHandle"])
            seen.add(answer["MessageId"])
            moved += 1
    return moved
