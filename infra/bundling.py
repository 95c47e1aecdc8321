"""The Lambda asset, built without Docker: `lambdas/` plus its requirements for Lambda's platform.

CDK local bundling runs pip on this machine with the target platform's wheels
(manylinux2014 aarch64, CPython 3.13, binary wheels only), so a deployable asset needs no
Docker. Tests, tooling and infrastructure stay out of the asset, and so do bytecode and
console scripts. The local cloud does not
use the asset: it imports the handlers from the source tree.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT_ROOT / "requirements" / "lambda.txt"
PLATFORM = ("manylinux2014_aarch64", "3.13")
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
"""Packages the Python 3.13 Lambda runtime already has: not shipped twice."""


class BundlingFailed(RuntimeError):
    pass


@jsii.implements(cdk.ILocalBundling)
class _PipForLambda:
    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        platform, python = PLATFORM
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", output_dir, "--platform", platform, "--implementation", "cp",
            "--python-version", python, "--only-binary=:all:", "--no-compile", "-r", str(REQUIREMENTS),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BundlingFailed(f"pip could not fetch the Lambda requirements for {platform}:\n{done.stderr[-2000:]}")
        output = Path(output_dir)
        for package in PROVIDED_BY_RUNTIME:
            for path in [*output.glob(f"{package}*"), *output.glob(f"python_{package}*")]:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
        # Not code the function runs: the console scripts pip writes (bin/jp.py of jmespath, whose
        # package the runtime provides), and bytecode, should any be written (pip compiles for the
        # Python running it, 3.11 here, which the 3.13 runtime never reads).
        shutil.rmtree(output / "bin", ignore_errors=True)
        for cache in list(output.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)
        for compiled in output.rglob("*.py[co]"):
            compiled.unlink()
        shutil.copytree(
            PROJECT_ROOT / "lambdas", output / "lambdas", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        return True


def asset_hash() -> str:
    """A digest of exactly what goes into the asset: the handlers' sources, the requirements and
    the platform. Hashing the project folder instead let caches in the working tree (.pytest_cache,
    .hypothesis, ...) change the asset's name, and with it every function, between two synths."""
    digest = hashlib.sha256(repr((PLATFORM, PROVIDED_BY_RUNTIME)).encode())
    for path in [REQUIREMENTS, *sorted((PROJECT_ROOT / "lambdas").rglob("*.py"))]:
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def lambda_code() -> lambda_.Code:
    """The handlers' package and their requirements, for Python 3.13 on arm64."""
    return lambda_.Code.from_asset(
        str(PROJECT_ROOT),
        exclude=[".*", "*", "!lambdas", "!lambdas/**", "!requirements", "!requirements/lambda.txt", "**/__pycache__"],
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=asset_hash(),
        bundling=cdk.BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_13.bundling_image,  # only if local bundling declined; it never does
            # jsii passes the options as one positional struct, not as the keywords its stub declares.
            local=_PipForLambda(),  # type: ignore[arg-type]
        ),
    )
