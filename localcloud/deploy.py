"""Deploy a synthesized cloud assembly, unchanged, into moto.

Deployment does what `cdk deploy` does: publish the file assets to the bootstrap bucket,
then create the stack from the very template `cdk deploy` would use.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud.patches import SKIPPED_RESOURCE_TYPES, supported_resource_types

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client


class UnsupportedResource(RuntimeError):
    """The template holds a resource type the local cloud cannot create."""


class DeploymentFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class CloudAssembly:
    directory: Path
    stack_name: str

    @property
    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.directory / f"{self.stack_name}.template.json").read_text())
        return loaded

    @property
    def assets(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.directory / f"{self.stack_name}.assets.json").read_text())
        return loaded


AUTHORISED_RULE_TARGETS = frozenset({"AWS::SQS::Queue"})
"""The rule targets whose deliveries the local cloud authorises as EventBridge's (localcloud/deliveries.py)."""


def check_resource_types(template: dict[str, Any]) -> list[tuple[str, str]]:
    """The (logical id, type) pairs knowingly skipped; raises on any other unsupported type, and on a
    rule target the local cloud would deliver to without the permission checks AWS makes."""
    supported = supported_resource_types()
    resources = template.get("Resources", {})
    skipped = []
    for logical_id, resource in resources.items():
        resource_type = resource["Type"]
        if resource_type in SKIPPED_RESOURCE_TYPES:
            skipped.append((logical_id, resource_type))
        elif resource_type not in supported:
            raise UnsupportedResource(f"the local cloud cannot create {logical_id} of type {resource_type}")
        if resource_type == "AWS::Events::Rule":
            for target in resource.get("Properties", {}).get("Targets", []):
                arn = target.get("Arn")
                referenced = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
                if resources.get(referenced, {}).get("Type") not in AUTHORISED_RULE_TARGETS:
                    raise UnsupportedResource(
                        f"{logical_id}: the local cloud authorises EventBridge's deliveries to SQS queues only, "
                        f"not to target {target.get('Id')}"
                    )
    return skipped


@functools.cache
def _zip_directory(directory: Path) -> bytes:
    """The asset directory zipped (once per process: a synthesized asset never changes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(directory).as_posix())
    return buffer.getvalue()


def publish_assets(assembly: CloudAssembly, s3: S3Client, account: str, region: str) -> int:
    """Upload the file assets where the template expects them (the bootstrap bucket). Returns the count."""
    published = 0
    for asset in assembly.assets.get("files", {}).values():
        source = assembly.directory / asset["source"]["path"]
        body = _zip_directory(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            bucket = destination["bucketName"].replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)
            try:
                s3.head_bucket(Bucket=bucket)
            except s3.exceptions.ClientError:
                s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
            published += 1
    return published


class _KnownSkips(logging.Filter):
    """Hides moto's warning for the types we knowingly skip (check_resource_types reports them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(t in record.getMessage() for t in SKIPPED_RESOURCE_TYPES)


def create_stack(assembly: CloudAssembly, cloudformation: CloudFormationClient) -> dict[str, str]:
    """Create the stack from the synthesized template; returns its Outputs."""
    moto_logger = logging.getLogger("moto")
    known_skips = _KnownSkips()
    moto_logger.addFilter(known_skips)
    try:
        with warnings.catch_warnings():
            for resource_type in SKIPPED_RESOURCE_TYPES:
                warnings.filterwarnings("ignore", message=f"Tried to parse {resource_type}")
            cloudformation.create_stack(
                StackName=assembly.stack_name,
                TemplateBody=json.dumps(assembly.template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
    finally:
        moto_logger.removeFilter(known_skips)
    stack = cloudformation.describe_stacks(StackName=assembly.stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise DeploymentFailed(
            f"stack {assembly.stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
