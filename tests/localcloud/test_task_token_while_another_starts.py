"""A task token answered while another execution is starting: the answer goes through, as on AWS.

Found by the requests chaos run (harness/chaos/requests.py): a pharmacist's answer passed on while
another saga's execution had just started failed with an AttributeError, its message was redelivered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from localcloud.cloud import LocalCloud
from tests.localcloud.test_task_tokens import _PATIENCE, _ask_by_sqs, _ended, _machine, _queue, _start, _tokens, local

__all__ = ["local"]


def test_a_token_is_answered_while_another_execution_has_not_begun_evaluating(
    local: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution waiting on its task token
    queue = _queue(local)
    machine = _machine(local, {"Ask": _ask_by_sqs(queue, End=True)})
    waiting = _start(local, machine)
    [token] = _tokens(local, queue)
    # and another execution started whose worker has not set up its environment yet (held here:
    # the moment between StartExecution's answer and its thread's first step)
    begin = threading.Event()
    evaluate: Callable[[ExecutionWorker], Any] = ExecutionWorker._execution_logic

    def held(self: ExecutionWorker) -> Any:
        begin.wait(_PATIENCE)
        return evaluate(self)

    monkeypatch.setattr(ExecutionWorker, "_execution_logic", held)
    starting = _start(local, machine)
    try:
        # When the first task's token is answered
        local.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"answered": True}))
    finally:
        begin.set()
    # Then the waiting execution takes the answer (SendTaskSuccess, Step Functions API reference)
    assert json.loads(_ended(local, waiting)["output"]) == {"answered": True}
    [second] = _tokens(local, queue)
    local.client("stepfunctions").send_task_success(taskToken=second, output="{}")
    assert _ended(local, starting)["status"] == "SUCCEEDED"
