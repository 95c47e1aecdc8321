"""cdk-nag's AwsSolutions and HIPAA packs ran on the synthesized stack: nothing left unacknowledged."""

from __future__ import annotations

import json

from localcloud.deploy import CloudAssembly


def test_every_acknowledged_finding_names_its_resource_and_a_specific_reason(assembly: CloudAssembly) -> None:
    acknowledged = [
        (logical_id, rule)
        for logical_id, resource in assembly.template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledged, "the packs ran and recorded their acknowledgements in the template"
    for logical_id, rule in acknowledged:
        assert len(rule["reason"]) >= 60, (logical_id, rule)
    rules = {rule["id"] for _, rule in acknowledged}
    assert not {r for r in rules if r in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}}, "IAM findings are granular"


def test_the_synthesis_left_no_violation(assembly: CloudAssembly) -> None:
    report = assembly.directory / "validation-report.json"
    if report.exists():
        plugins = json.loads(report.read_text()).get("pluginReports", [])
        assert [v for p in plugins for v in p.get("violations", [])] == []
