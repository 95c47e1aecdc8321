"""CloudWatch as CloudFormation creates it: a dashboard named as CloudFormation names it."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import Dashboard

from localcloud.patching import Kind, Patch


def _dashboard_from_cloudformation(
    cls: type[Dashboard], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Dashboard:
    """moto's creation, given the generated name when the template gives none (DashboardName is optional)."""
    properties = {"DashboardName": resource_name, **cloudformation_json["Properties"]}
    named = {**cloudformation_json, "Properties": properties}
    # no-any-return: Patch.original is untyped.
    return _DASHBOARD.original(cls, resource_name, named, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


PATCHES = (
    _DASHBOARD := Patch(
        owner=Dashboard,
        name="create_from_cloudformation_json",
        replacement=_dashboard_from_cloudformation,
        kind=Kind.GAP,
        why="moto names a dashboard the template does not name by a random UUID, not by the name "
        "CloudFormation generates: the DashboardName output changed on every deployment.",
    ),
)
