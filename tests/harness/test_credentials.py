"""`make test-aws` refuses clearly, before any test, where the AWS API cannot be reached."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import credentials

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_aws_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_configuration")
def test_without_credentials_the_problem_names_what_to_set() -> None:
    assert credentials.problem() == (
        "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION"
    )


@pytest.mark.usefixtures("no_aws_configuration")
def test_with_credentials_but_no_region_the_problem_is_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert credentials.problem() == "no AWS region: set AWS_REGION (or the profile's region)"


@pytest.mark.usefixtures("no_aws_configuration")
def test_a_profile_that_does_not_exist_is_named_as_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    found = credentials.problem()
    assert found is not None
    assert found.startswith("no usable AWS profile:")
    assert "nobody" in found


@pytest.mark.usefixtures("no_aws_configuration")
def test_make_test_aws_without_credentials_says_so_and_exits_non_zero() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "test-aws", "STACK=OrderFulfillment"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "make test-aws: no AWS credentials" in done.stderr
    assert "passed" not in done.stdout, "no test ran"


def test_make_test_aws_without_a_stack_asks_for_one() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "test-aws"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "make test-aws STACK=<stack name>" in done.stderr
