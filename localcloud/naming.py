"""Physical names CloudFormation generates, the same on every deployment of a stack rather than moto's random ones.

A resource whose template gives it no name is named by CloudFormation `{stack}-{logicalId}-{RANDOM}`
(CloudFormation user guide, "Name type"), shortened to what its service accepts. moto draws the
random part afresh on every deployment: after each restart of `saga local up` every table, queue,
function and state machine had another name, so a console left running, an `.env` file or a
teammate's command that named one broke. Here the random part is a hash of the stack name and the
logical id: names look as AWS's do, differ between stacks and resources as AWS's do, and are the
same each time the same stack is deployed. A name too long for its service is shortened before
the suffix, which is kept whole (so shortened names stay distinct), as CloudFormation shortens its own.
Installed as a patch of moto's CloudFormation (`localcloud/patches/cloudformation.py`).
"""

from __future__ import annotations

import hashlib
import string

SUFFIX_LENGTH = 12
"""moto's and CloudFormation's: 12 characters of digits and capital letters."""
_ALPHABET = string.digits + string.ascii_uppercase

NAME_LIMITS: dict[str, int] = {
    "AWS::Lambda::Function": 64,  # Lambda API reference, CreateFunction: a function name alone, 64
    "AWS::IAM::Role": 64,  # IAM user guide, "IAM and AWS STS quotas": role names, 64
    "AWS::Events::Rule": 64,  # EventBridge API reference, PutRule: Name, 64
    "AWS::SQS::Queue": 80,  # SQS API reference, CreateQueue: "A queue name can have up to 80 characters"
    "AWS::StepFunctions::StateMachine": 80,  # Step Functions API reference, StateMachineListItem: name, 80
    "AWS::IAM::ManagedPolicy": 128,  # IAM user guide, "IAM and AWS STS quotas": policy names, 128
    "AWS::DynamoDB::Table": 255,  # DynamoDB developer guide, naming rules: table names, 3 to 255
    "AWS::CloudWatch::Alarm": 255,
    "AWS::CloudWatch::Dashboard": 255,
    "AWS::SNS::Topic": 256,
    "AWS::Events::EventBus": 256,
    "AWS::Logs::LogGroup": 512,
}
"""The longest name each service takes, for the types the stack lets CloudFormation name."""


def suffix(stack_name: str, logical_id: str) -> str:
    """The generated name's last part: what moto draws at random, derived here from stack and logical id."""
    number = int.from_bytes(hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest(), "big")
    characters = []
    for _ in range(SUFFIX_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[index])
    return "".join(characters)


def _shortened(prefix: str, end: str, limit: int) -> str:
    """`{prefix}-{end}` in at most `limit` characters: the prefix cut, never ending in a hyphen (no `--`)."""
    kept = prefix[: max(limit - len(end) - 1, 1)].rstrip("-")
    return f"{kept}-{end}"


def generated_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    """The name CloudFormation would generate, in moto's shapes per type, with a stable suffix."""
    end = suffix(stack_name, logical_id)
    if resource_type in ("AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        return _shortened(f"{stack_name}-{logical_id}", end, 32)
    if resource_type == "AWS::S3::Bucket":
        return _shortened(stack_name, f"{logical_id}-{end}", 63).lower()
    if resource_type == "AWS::IAM::Policy":
        return f"{stack_name[:5]}-{logical_id[:4]}-{end}"
    return _shortened(f"{stack_name}-{logical_id}", end, NAME_LIMITS.get(resource_type, 1 << 16))
