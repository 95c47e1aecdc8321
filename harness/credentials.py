"""`python -m harness.credentials`: whether this shell holds AWS credentials, said in one line.

`make test-aws` asks before it runs anything: without credentials every test would fail on
its first call, each with botocore's own words."""

from __future__ import annotations

import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def problem() -> str | None:
    """Why the AWS API cannot be reached from here, or None when it can (STS GetCallerIdentity answers)."""
    try:
        session = boto3.Session()
    except BotoCoreError as error:  # a profile named in AWS_PROFILE that does not exist, say
        return f"no usable AWS profile: {error}"
    if session.get_credentials() is None:
        return "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION"
    if not session.region_name:
        return "no AWS region: set AWS_REGION (or the profile's region)"
    try:
        session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return f"the AWS credentials were refused: {error}"
    return None


def main() -> int:
    found = problem()
    if found:
        print(f"make test-aws: {found}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
