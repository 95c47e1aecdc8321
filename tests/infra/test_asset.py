"""The Lambda asset `cdk deploy` ships: built without Docker, for Python 3.13 on arm64, handlers only."""

from __future__ import annotations

from typing import Any

from localcloud.deploy import CloudAssembly


def test_the_asset_holds_the_handlers_and_their_arm64_dependencies_and_nothing_else(assembly: CloudAssembly) -> None:
    [asset] = [a for a in assembly.assets["files"].values() if a["source"].get("packaging") == "zip"]
    root = assembly.directory / asset["source"]["path"]
    top = {p.name for p in root.iterdir()}
    assert {"lambdas", "aws_lambda_powertools", "pydantic", "pydantic_core", "aws_xray_sdk"} <= top
    assert not top & {"tests", "infra", "localcloud", "saga_cli", "app.py", ".venv", "boto3", "botocore"}
    native = list((root / "pydantic_core").glob("*.so"))
    assert native, "pydantic-core's compiled module is in the asset"
    assert all("aarch64" in so.name and "313" in so.name for so in native), [so.name for so in native]
    assert (root / "lambdas" / "handlers" / "create_prescription.py").is_file()


def test_the_asset_carries_no_bytecode_and_no_console_scripts(assembly: CloudAssembly) -> None:
    # pip would compile for the Python running it (3.11), which the 3.13 runtime never reads, and
    # write bin/ scripts (jmespath's jp.py) that nothing runs.
    [asset] = [a for a in assembly.assets["files"].values() if a["source"].get("packaging") == "zip"]
    root = assembly.directory / asset["source"]["path"]
    assert not (root / "bin").exists()
    assert not [p for p in root.rglob("*") if p.suffix in (".pyc", ".pyo") or p.name == "__pycache__"]


def test_the_asset_name_depends_on_the_handlers_and_requirements_only(tmp_path: Any, monkeypatch: Any) -> None:
    from infra import bundling

    project = tmp_path / "project"
    (project / "lambdas").mkdir(parents=True)
    (project / "requirements").mkdir()
    (project / "lambdas" / "handler.py").write_text("x = 1\n")
    (project / "requirements" / "lambda.txt").write_text("pydantic==2\n")
    monkeypatch.setattr(bundling, "PROJECT_ROOT", project)
    monkeypatch.setattr(bundling, "REQUIREMENTS", project / "requirements" / "lambda.txt")
    before = bundling.asset_hash()
    for junk in (".pytest_cache/v", ".hypothesis/x", "cdk.out/t.json", "lambdas/__pycache__/h.pyc"):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("junk")
    assert bundling.asset_hash() == before, "caches and build output leave the asset alone"
    (project / "lambdas" / "handler.py").write_text("x = 2\n")
    assert bundling.asset_hash() != before, "a handler change is a new asset"
