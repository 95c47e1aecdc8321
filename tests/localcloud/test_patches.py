"""Each moto gap the local cloud patches: still a gap in the pinned moto, and closed by the patch.

If one of the "still a gap" tests fails after a moto upgrade, moto changed: drop or adjust
that patch in localcloud/patches.py rather than keep patching blindly.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.events.models import EventBus
from moto.sqs.models import Queue
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localcloud import patches
from localcloud.deploy import UnsupportedResource, check_resource_types


@pytest.fixture
def aws() -> Iterator[None]:
    patches.apply_patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_the_patches_target_the_pinned_moto() -> None:
    assert moto.__version__ == patches.MOTO_VERSION


def test_moto_still_runs_lambda_in_docker_and_the_runtime_replaces_it() -> None:
    original = inspect.getsource(patches.ORIGINALS["LambdaFunction._invoke_lambda"])
    assert "docker" in original
    patches.apply_patches()
    assert LambdaFunction._invoke_lambda is patches._invoke_in_process


def test_moto_event_bus_still_lacks_a_physical_id_and_the_patch_gives_its_name() -> None:
    assert patches.ORIGINALS["EventBus.physical_resource_id"] is None
    patches.apply_patches()
    bus = EventBus.__new__(EventBus)
    bus.name = "my-bus"
    assert bus.physical_resource_id == "my-bus"  # type: ignore[attr-defined]


def _stack(resource: dict[str, object]) -> str:
    return json.dumps({"Resources": {"Thing": resource}})


def test_moto_archive_still_wants_a_string_pattern_and_the_patch_accepts_cloudformation_objects(aws: None) -> None:
    events = boto3.client("events", region_name="us-east-1")
    bus_arn = events.create_event_bus(Name="b")["EventBusArn"]
    properties = {"SourceArn": bus_arn, "EventPattern": {"source": ["x"]}}
    with pytest.raises(Exception):  # noqa: B017, PT011 - moto fails in its own way on an object pattern
        patches.ORIGINALS["Archive.create_from_cloudformation_json"](
            "plain-archive", {"Properties": dict(properties)}, "123456789012", "us-east-1"
        )
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    long_name_stack = "S" * 40
    cloudformation.create_stack(
        StackName=long_name_stack, TemplateBody=_stack({"Type": "AWS::Events::Archive", "Properties": properties})
    )
    [archive] = events.list_archives()["Archives"]
    assert len(archive["ArchiveName"]) <= 48


def test_moto_still_creates_state_machines_where_they_cannot_run_and_the_patch_moves_them(aws: None) -> None:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    resource = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"DefinitionString": json.dumps(definition), "RoleArn": "arn:aws:iam::123456789012:role/r"},
    }
    original = patches.ORIGINALS["StateMachine.create_from_cloudformation_json"]
    original("m1", resource, "123456789012", "us-east-1")
    assert [m.name for m in stepfunctions_backends["123456789012"]["us-east-1"].state_machines] == ["m1"]
    boto3.client("cloudformation", region_name="us-east-1").create_stack(StackName="s", TemplateBody=_stack(resource))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [machine] = sfn.list_state_machines()["stateMachines"]
    assert machine["stateMachineArn"] in {
        m.arn for m in stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
    }
    run = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] in {"RUNNING", "SUCCEEDED"}


def test_moto_retries_still_sleep_for_real_and_the_patch_scales_them() -> None:
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl.RetrierDecl._eval_body)
    assert patches.ORIGINALS["retrier_decl.time"].__name__ == "time"
    patches.apply_patches()
    assert isinstance(retrier_decl.time, patches._ScaledTime)  # type: ignore[attr-defined]


def test_moto_still_delivers_sqs_to_lambda_inline_so_the_local_cloud_polls_instead() -> None:
    # Inline delivery inside SendMessage ignores partial batch responses; pollers replace it.
    assert "send_sqs_batch" in inspect.getsource(Queue.add_message)


def test_an_unsupported_resource_type_stops_the_deployment_by_name() -> None:
    template = {"Resources": {"Global": {"Type": "AWS::DynamoDB::GlobalTable"}}}
    with pytest.raises(UnsupportedResource, match=r"Global of type AWS::DynamoDB::GlobalTable"):
        check_resource_types(template)


def test_knowingly_skipped_types_are_reported_not_refused() -> None:
    template = {"Resources": {"Policy": {"Type": "AWS::SQS::QueuePolicy"}, "Alarm": {"Type": "AWS::CloudWatch::Alarm"}}}
    assert check_resource_types(template) == [("Policy", "AWS::SQS::QueuePolicy"), ("Alarm", "AWS::CloudWatch::Alarm")]
