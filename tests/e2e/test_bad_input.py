"""Bad input loses nothing: an invalid order of any size is REJECTED with its record in bounds, and
a different order under a used order id is recorded where an operator looks, never dropped."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.inprocess import InProcess
from infra import names
from lambdas.domain import events as ev
from tests.e2e.helpers import drain, executions, history, order, published, stock, view

ITEM_MAX_BYTES = 400 * 1024
"""DynamoDB's item size limit (Developer Guide, "Service, account, and table quotas")."""


def _digest(detail: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(detail, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _unknown_fields(count: int, width: int) -> dict[str, str]:
    return {f"unknown_field_{number:05d}": "x" * width for number in range(count)}


def test_an_order_with_thousands_of_unknown_fields_is_rejected_with_its_reasons_capped(cloud: InProcess) -> None:
    # Given a 229 KB order with 5,000 fields the contract does not know (its id is usable)
    detail = order("huge-1", "med-1") | _unknown_fields(5000, 20)
    assert 220_000 < len(json.dumps(detail)) < 240_000
    cloud.put_order(detail)
    # Then it is rejected, not dead-lettered
    assert cloud.wait_for_sagas(["huge-1"]) == {"huge-1": "REJECTED"}
    cloud.local.wait_until_idle()
    assert drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]) == []
    [rejected] = [e.to_domain() for e in history(cloud, "huge-1")]
    assert isinstance(rejected, ev.OrderRejected)
    # with 20 of its 5,000 reasons, each short, and the count of them all
    assert rejected.reasons_total == 5000
    assert len(rejected.reasons) == 20
    assert all(len(reason) <= 200 for reason in rejected.reasons)
    assert rejected.reasons[0] == "<key>: is not a field of the order"  # a key name is input: never repeated
    # and the raw message kept whole: it fits
    assert rejected.raw_message_truncated is False
    assert json.loads(rejected.raw_message)["detail"] == detail
    assert rejected.raw_message_sha256 == hashlib.sha256(rejected.raw_message.encode()).hexdigest()
    # The published rejection carries the reasons and their count, not the message
    [public] = [p for p in published(cloud) if p["detail-type"] == ev.OrderRejected.TYPE_KEY]
    assert public["detail"]["payload"]["reasons_total"] == 5000
    assert not {"raw_message", "raw_message_sha256", "order_sha256"} & set(public["detail"]["payload"])
    assert len(view(cloud, "huge-1").failure_reason or "") < 20 * 202


def test_an_order_too_large_to_keep_whole_is_rejected_and_kept_by_size_digest_and_prefix(cloud: InProcess) -> None:
    # Given an invalid order whose message, stored, would not fit one DynamoDB item
    detail = order("huge-2", "med-1") | _unknown_fields(3000, 200)
    assert len(json.dumps(detail)) > ITEM_MAX_BYTES
    cloud.put_order(detail)
    assert cloud.wait_for_sagas(["huge-2"]) == {"huge-2": "REJECTED"}
    [stored] = history(cloud, "huge-2")
    rejected = stored.to_domain()
    assert isinstance(rejected, ev.OrderRejected)
    # Then it is kept by size, digest and a prefix of at most 16 KB
    assert rejected.raw_message_truncated is True
    assert rejected.raw_message_bytes > len(json.dumps(detail))
    assert 0 < len(rejected.raw_message) <= 16 * 1024
    assert '"order_id": "huge-2"' in rejected.raw_message or '"order_id":"huge-2"' in rejected.raw_message
    assert rejected.order_sha256 == _digest(detail)
    assert len(json.dumps(stored.payload)) < ITEM_MAX_BYTES
    assert drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]) == []


def test_a_different_order_under_a_used_order_id_is_recorded_published_and_counted(cloud: InProcess) -> None:
    before = stock(cloud)
    # Given a saga under way for an order
    cloud.put_order(order("twice", "med-1"))
    assert cloud.wait_for_sagas(["twice"]) == {"twice": "COMPLETED"}
    # When another order arrives under the same id (and, later, again)
    second = order("twice", {"medication_id": "med-2", "quantity": 3})
    cloud.put_order(second)
    cloud.put_order(second)
    cloud.local.wait_until_idle()
    # Then the saga and the stock are those of the first order only
    assert view(cloud, "twice").state.value == "COMPLETED"
    assert stock(cloud)["med-2"] == before["med-2"]
    assert [e["name"] for e in executions(cloud)] == ["twice"]
    # and the second order is on the saga's stream, once, kept whole
    conflicts = [e.to_domain() for e in history(cloud, "twice") if e.type == ev.ConflictingOrderReceived.TYPE_KEY]
    assert len(conflicts) == 1
    [conflict] = conflicts
    assert isinstance(conflict, ev.ConflictingOrderReceived)
    assert conflict.differing_fields == ["medications"]
    assert json.loads(conflict.raw_message)["detail"] == second
    # published as a domain event without the message, and counted on the saga's row
    [public] = [p for p in published(cloud) if p["detail-type"] == ev.ConflictingOrderReceived.TYPE_KEY]
    assert public["detail"]["payload"]["differing_fields"] == ["medications"]
    assert "raw_message" not in public["detail"]["payload"]
    assert view(cloud, "twice").conflicting_orders == 1
    # with a metric the dashboard shows
    emitted = [line for line in cloud.function_logs("projector") if '"ConflictingOrders"' in line]
    assert emitted, "the projector emitted the ConflictingOrders metric"
    dashboard = cloud.client("cloudwatch").get_dashboard(DashboardName=cloud.outputs[names.OUTPUT_DASHBOARD])
    assert '"ConflictingOrders"' in dashboard["DashboardBody"]
    assert drain(cloud, cloud.outputs[names.OUTPUT_DEAD_LETTER_QUEUE]) == []


def test_a_corrected_order_under_a_rejected_orders_id_starts_nothing_and_is_recorded(cloud: InProcess) -> None:
    # The rule: an order id names one order; a rejected one's id is spent, the fix needs a new id
    cloud.put_order(order("fix-me", {"medication_id": "med-1", "quantity": 0}))
    assert cloud.wait_for_sagas(["fix-me"]) == {"fix-me": "REJECTED"}
    cloud.put_order(order("fix-me", "med-1"))
    cloud.local.wait_until_idle()
    assert view(cloud, "fix-me").state.value == "REJECTED"
    assert view(cloud, "fix-me").conflicting_orders == 1
    assert executions(cloud) == []
    types = [e.type for e in history(cloud, "fix-me")]
    assert types == [ev.OrderRejected.TYPE_KEY, ev.ConflictingOrderReceived.TYPE_KEY]
