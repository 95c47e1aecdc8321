"""The state machine as synthesized: routing of every failure, retries, console names."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import lambdas
from lambdas.domain import errors
from lambdas.domain.states import Compensation, Step
from localcloud.deploy import CloudAssembly
from tests.infra.template import function_id, resources, role_permissions, role_policies, state_machine_definition


@pytest.fixture(scope="module")
def template(assembly: CloudAssembly) -> dict[str, Any]:
    return assembly.template


@pytest.fixture(scope="module")
def states(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = state_machine_definition(template)["States"]
    return found


def _catch(state: dict[str, Any], error: str) -> str:
    for clause in state["Catch"]:
        if error in clause["ErrorEquals"]:
            return str(clause["Next"])
    raise AssertionError(f"no Catch for {error}")


def test_the_console_shows_the_business_names_and_nothing_decorative(states: dict[str, Any]) -> None:
    assert set(states) == {
        "Create Prescription",
        "Reserve Inventory",
        "Initiate Shipment",
        "Cancel Shipment",
        "Release Inventory",
        "Cancel Prescription",
        "Cancel Order",
        "Record Compensation Failure",
        "Saga Failed",
        "Compensation Failed",
    }
    assert {s["Type"] for s in states.values()} == {"Task", "Fail"}


def test_the_happy_path_is_three_tasks(template: dict[str, Any], states: dict[str, Any]) -> None:
    definition = state_machine_definition(template)
    assert definition["StartAt"] == "Create Prescription"
    assert states["Create Prescription"]["Next"] == "Reserve Inventory"
    assert states["Reserve Inventory"]["Next"] == "Initiate Shipment"
    assert states["Initiate Shipment"]["End"] is True


@pytest.mark.parametrize(
    ("step", "refused_to", "crashed_to"),
    [
        ("Create Prescription", "Cancel Order", "Cancel Prescription"),
        ("Reserve Inventory", "Cancel Prescription", "Release Inventory"),
        ("Initiate Shipment", "Release Inventory", "Cancel Shipment"),
    ],
)
def test_each_step_failure_enters_the_compensations_of_exactly_the_completed_steps(
    states: dict[str, Any], step: str, refused_to: str, crashed_to: str
) -> None:
    business_error = {
        "Create Prescription": errors.PrescriptionFailed.__name__,
        "Reserve Inventory": errors.InventoryReservationFailed.__name__,
        "Initiate Shipment": errors.ShipmentInitiationFailed.__name__,
    }[step]
    state = states[step]
    # the business refusal is caught by its own exception's class name, first
    assert state["Catch"][0]["ErrorEquals"] == [business_error]
    assert _catch(state, business_error) == refused_to
    # anything else (after retries) also undoes the step itself
    assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert _catch(state, "States.ALL") == crashed_to
    assert all(c["ResultPath"] == "$.error" for c in state["Catch"])


def test_compensations_run_in_reverse_order_and_end_failed(states: dict[str, Any]) -> None:
    assert states["Cancel Shipment"]["Next"] == "Release Inventory"
    assert states["Release Inventory"]["Next"] == "Cancel Prescription"
    assert states["Cancel Prescription"]["Next"] == "Cancel Order"
    assert states["Cancel Order"]["Next"] == "Saga Failed"
    assert states["Saga Failed"]["Type"] == "Fail"


LAMBDA_SERVICE_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
"""The transient errors of invoking a Lambda function that a Task should retry (Step Functions developer
guide, "Handle Lambda service exceptions": the four 500s, and TooManyRequests at the concurrency limit)."""


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def _raised_by_the_lambdas(base: type[BaseException]) -> set[str]:
    """The class names of `base` and of every subclass the Lambda package defines, found by importing
    each of its modules: what a function can raise, not the list the infrastructure was given."""
    for module in pkgutil.walk_packages(lambdas.__path__, "lambdas."):
        importlib.import_module(module.name)
    return {base.__name__} | {c.__name__ for c in _subclasses(base) if c.__module__.startswith("lambdas.")}


def test_steps_retry_transient_errors_only_with_jittered_backoff_and_the_pharmacy_longer(
    states: dict[str, Any],
) -> None:
    transient = _raised_by_the_lambdas(errors.TransientError) | LAMBDA_SERVICE_ERRORS
    never_retried = _raised_by_the_lambdas(errors.BusinessFailure)
    for step in Step:
        retry, pharmacy = states[step.console_name]["Retry"]
        # Every transient error a function raises, and Lambda's own, is retried, and only those
        assert set(retry["ErrorEquals"]) | set(pharmacy["ErrorEquals"]) == transient
        assert not (set(retry["ErrorEquals"]) | set(pharmacy["ErrorEquals"])) & never_retried
        assert not set(retry["ErrorEquals"]) & set(pharmacy["ErrorEquals"])
        assert pharmacy["ErrorEquals"] == [errors.PharmacyUnavailable.__name__]
        for retrier in (retry, pharmacy):
            assert "States.ALL" not in retrier["ErrorEquals"]
            assert retrier["BackoffRate"] == 2
            assert retrier["JitterStrategy"] == "FULL"
        assert retry["MaxAttempts"] == 3
        # An outage or a rate limit at the pharmacy outlasts a table's conflict: waited out longer, capped
        assert pharmacy["MaxAttempts"] > retry["MaxAttempts"]
        assert pharmacy["MaxDelaySeconds"] <= 30


def test_compensations_retry_harder_then_park_the_saga(states: dict[str, Any]) -> None:
    for compensation in Compensation:
        state = states[compensation.console_name]
        [retry] = state["Retry"]
        assert retry["ErrorEquals"] == ["States.ALL"]
        assert retry["MaxAttempts"] == 6, "README: a compensation still failing after 6 retries parks the saga"
        assert retry["JitterStrategy"] == "FULL"
        assert _catch(state, "States.ALL") == "Record Compensation Failure"
        assert state["ResultPath"] is None, "a compensation keeps its input, $.error included"
    park = states["Record Compensation Failure"]
    assert park["Next"] == "Compensation Failed"
    assert _catch(park, "States.ALL") == "Compensation Failed"
    assert states["Compensation Failed"]["Type"] == "Fail"


def test_each_task_invokes_its_own_function_with_ids_only(template: dict[str, Any], states: dict[str, Any]) -> None:
    for name in [*(s.value for s in Step), *(c.value for c in Compensation), "record_compensation_failure"]:
        console = name.replace("_", " ").title()
        state = states[console]
        assert state["Resource"] == "${" + function_id(template, name) + "}"
        parameters = state["Parameters"]
        assert parameters["order_id.$"] == "$.order_id"
        assert parameters["attempt.$"] == "$$.State.RetryCount"
        assert not {"patient_id", "medications", "shipping_address"} & set(parameters)
        assert state["TimeoutSeconds"] == 60


def test_the_resume_machine_records_the_resumption_then_enters_the_same_chain(template: dict[str, Any]) -> None:
    resume = state_machine_definition(template, "SagaResumeStateMachine")
    states = resume["States"]
    assert resume["StartAt"] == "Resume Saga"
    assert states["Resume Saga"]["Next"] == "Next Compensation"
    choice = states["Next Compensation"]
    assert {c["StringEquals"]: c["Next"] for c in choice["Choices"]} == {
        "cancel_shipment": "Cancel Shipment",
        "release_inventory": "Release Inventory",
        "cancel_prescription": "Cancel Prescription",
    }
    assert choice["Default"] == "Cancel Order"
    assert states["Release Inventory"]["Next"] == "Cancel Prescription"
    assert states["Cancel Prescription"]["Next"] == "Cancel Order"
    assert _catch(states["Cancel Order"], "States.ALL") == "Record Compensation Failure"


@pytest.mark.parametrize("machine", ["SagaStateMachine", "SagaResumeStateMachine"])
def test_each_state_machine_may_invoke_exactly_its_task_functions(template: dict[str, Any], machine: str) -> None:
    [(_, resource)] = [
        (k, r) for k, r in resources(template, "AWS::StepFunctions::StateMachine").items() if k.startswith(machine)
    ]
    tasks = {
        s["Resource"].removeprefix("${").removesuffix("}")
        for s in state_machine_definition(template, machine)["States"].values()
        if s["Type"] == "Task"
    }
    role = resource["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invocable = {t for a, t in role_permissions(template, role) if a == "lambda:InvokeFunction"}
    assert invocable == tasks | {"${" + t + "}:*" for t in tasks}
    assert set(role_policies(template, role)) <= set(resource["DependsOn"]), "the policy exists before the machine"


def _worst_case_seconds(state: dict[str, Any]) -> float:
    """The longest a Task can take under the Amazon States Language's rules: every attempt runs to its
    TimeoutSeconds, every backoff is its longest (IntervalSeconds x BackoffRate^n, capped at
    MaxDelaySeconds; the ASL defaults are 1 s, 3 retries, rate 2)."""
    timeout = float(state["TimeoutSeconds"])
    retries = max((r.get("MaxAttempts", 3) for r in state.get("Retry", [])), default=0)
    [retrier] = state.get("Retry", [{}])[:1] or [{}]
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return float((retries + 1) * timeout + sum(min(cap, interval * rate**n) for n in range(retries)))


def _longest_path_seconds(states: dict[str, Any], name: str) -> float:
    state = states[name]
    here = _worst_case_seconds(state) if state["Type"] == "Task" else 0.0
    following = [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", []))]
    following += [c["Next"] for c in state.get("Catch", [])]
    return here + max((_longest_path_seconds(states, n) for n in following if n), default=0.0)


def test_the_resume_machine_runs_longer_than_its_longest_path_and_parks_what_it_cannot_resume(
    template: dict[str, Any],
) -> None:
    resume = state_machine_definition(template, "SagaResumeStateMachine")
    states = resume["States"]
    # A resumption that fails after its retries parks the saga again, with an alert; one of a saga
    # that ended already has nothing to do; and a resumption that undid everything succeeds
    catches = [(c["ErrorEquals"], c["Next"]) for c in states["Resume Saga"]["Catch"]]
    assert catches == [
        (["IllegalTransition", "SagaNotFound"], "Nothing To Resume"),
        (["States.ALL"], "Record Compensation Failure"),
    ], "the named errors first: States.ALL must come last"
    assert states["Cancel Order"]["Next"] == "Saga Undone"
    assert states["Saga Undone"]["Type"] == states["Nothing To Resume"]["Type"] == "Succeed"
    # and the execution never times out before every compensation had all its attempts
    longest = _longest_path_seconds(states, resume["StartAt"])
    assert longest > 15 * 60, "the case the old 15-minute timeout cut short"
    assert resume["TimeoutSeconds"] >= longest


def test_state_machine_logs_are_vended_logs_as_aws_advises(template: dict[str, Any]) -> None:
    # Step Functions guide, "Using CloudWatch Logs": /aws/vendedlogs/ keeps the account's log resource policy small.
    machines = resources(template, "AWS::StepFunctions::StateMachine").values()
    groups = {
        m["Properties"]["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"][
            "Fn::GetAtt"
        ][0]
        for m in machines
    }
    assert len(groups) == 2
    for group in groups:
        assert template["Resources"][group]["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")
