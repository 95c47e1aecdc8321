"""The harness's failures: each one sentence (the CLI prints it as `Error: ...`)."""

from __future__ import annotations


class HarnessError(Exception):
    """A failure the harness reports in one sentence (the CLI prints it as `Error: ...`, exit 1)."""

    exit_code = 1


class NotFound(HarnessError):
    pass


class NotReady(HarnessError):
    """The target answers, but not yet: a local endpoint still deploying its stack."""


class Refused(HarnessError):
    """What the system would refuse, refused before anything is sent: bad usage (exit code 2)."""

    exit_code = 2
