"""Sending orders as a pharmacy does: PutEvents of an OrderCreated event on the stack's bus."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from infra import names
from lambdas import contract

if TYPE_CHECKING:
    from harness.target import Target


class OrderNotAccepted(HarnessError):
    """EventBridge refused the entry (PutEvents reports it in FailedEntryCount, not as an error)."""


def put_order(target: Target, detail: dict[str, Any] | str) -> str:
    """One delivery of an order (a dict, or the raw text a client sent): the event's id."""
    body = detail if isinstance(detail, str) else json.dumps(detail)
    response = target.client("events").put_events(
        Entries=[
            {
                "Source": contract.ORDER_SOURCE,
                "DetailType": contract.ORDER_DETAIL_TYPE,
                "Detail": body,
                "EventBusName": target.output(names.OUTPUT_EVENT_BUS),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise OrderNotAccepted(f"PutEvents refused the order: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return str(response["Entries"][0]["EventId"])


def put_order_at_once(target: Target, detail: dict[str, Any] | str, deliveries: int) -> None:
    """The same order delivered `deliveries` times concurrently (a duplicate storm)."""
    failures: list[BaseException] = []

    def send() -> None:
        try:
            put_order(target, detail)
        except BaseException as error:  # raised again below, in the caller's thread
            failures.append(error)

    senders = [threading.Thread(target=send) for _ in range(deliveries)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    if failures:
        raise failures[0]


def deliver(target: Target, detail: dict[str, Any] | str, deliveries: int = 1, *, at_once: bool = False) -> None:
    """`deliveries` deliveries of one order: one after the other, or all at once."""
    if at_once and deliveries > 1:
        put_order_at_once(target, detail, deliveries)
    else:
        for _ in range(deliveries):
            put_order(target, detail)
