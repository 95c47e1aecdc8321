"""Who is calling: the principal each request is authorised as.

In-process code has no credentials of its own to tell callers apart, so the caller is
carried in a context variable: the runtime sets a function's execution role around its
handler, the Step Functions engine its state machine's role around an execution, and the
local deliveries (a rule's target, an alarm's action) the AWS service principal that makes
them on AWS. A request with none of these comes from the user's own credentials: the
account's administrator, whom identity policies allow everything and resource policies
can still deny. Credentials from an STS AssumeRole are that role, as on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """An IAM role (with the session that assumed it), an AWS service, or the account itself."""

    arn: str
    """The role's ARN, `arn:aws:iam::ACCOUNT:root` for the account, or the service's name."""
    account: str | None
    session: str | None = None
    service: bool = False

    @classmethod
    def role(cls, role_arn: str, session: str) -> Principal:
        return cls(arn=role_arn, account=role_arn.split(":")[4], session=session)

    @classmethod
    def function_role(cls, role_arn: str, function_name: str) -> Principal:
        """A Lambda function's execution role, in the session Lambda names after the function."""
        return cls.role(role_arn, session=function_name)

    @classmethod
    def aws_service(cls, name: str) -> Principal:
        """`events.amazonaws.com`, `cloudwatch.amazonaws.com`, ..."""
        return cls(arn=name, account=None, service=True)

    @classmethod
    def account_root(cls, account: str, partition: str = "aws") -> Principal:
        return cls(arn=f"arn:{partition}:iam::{account}:root", account=account)

    @property
    def is_role(self) -> bool:
        return not self.service and ":role/" in self.arn

    @property
    def is_root(self) -> bool:
        return not self.service and self.arn.endswith(":root")

    def describe(self) -> str:
        """The caller as AWS names it in an AccessDenied message."""
        if self.is_role:
            partition, account = self.arn.split(":")[1], self.arn.split(":")[4]
            role_name = self.arn.rsplit("/", 1)[1]
            return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{self.session or role_name}"
        return self.arn


_caller: ContextVar[Principal | None] = ContextVar("aws_caller", default=None)


def current() -> Principal | None:
    """The principal set for this context, or None for the user's own credentials."""
    return _caller.get()


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Make every AWS call in this context (thread) as `principal` (None: the user's own credentials)."""
    token = _caller.set(principal)
    try:
        yield
    finally:
        _caller.reset(token)
