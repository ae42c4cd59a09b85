"""Security Hub: one ``aws_securityhub_region`` record per region (a region where Security
Hub is off is a resource too, so that "Security Hub disabled in region X" can be judged).

``enabled`` is True when the region has a hub, False when DescribeHub answers that the
account is not subscribed (``InvalidAccessException``; that is not an error), and None
when it could not be read (then ``enabled`` is in ``unavailable``). ``standards`` lists the
enabled standards (None when they could not be read, or when the hub is off).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext

SERVICE = "securityhub"
GLOBAL = False

# DescribeHub's answer for "Security Hub is not enabled in this account and region".
NOT_SUBSCRIBED = ("InvalidAccessException",)


def _standard(sub: dict[str, Any]) -> dict[str, Any]:
    reason = sub.get("StandardsStatusReason") or {}
    return {
        "standards_arn": sub.get("StandardsArn"),
        "subscription_arn": sub.get("StandardsSubscriptionArn"),
        "status": sub.get("StandardsStatus"),
        "status_reason": reason.get("StatusReasonCode"),
    }


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    sh = ctx.client()
    hub = ctx.call(sh, "describe_hub", absent=NOT_SUBSCRIBED)
    enabled: bool | None = True if hub.ok else (False if hub.absent else None)
    raw: dict[str, Any] = {}
    unavailable: list[str] = []
    if hub.ok:
        raw["DescribeHub"] = {k: v for k, v in hub.data.items() if k != "ResponseMetadata"}
    elif hub.failed:
        unavailable += ["enabled", "hub_arn", "standards"]

    standards: list[dict[str, Any]] | None = None
    if enabled:
        listed = ctx.listing(sh, "get_enabled_standards", "StandardsSubscriptions")
        if listed.ok:
            standards = [_standard(s) for s in listed.items]
            raw["GetEnabledStandards"] = listed.items
        else:
            unavailable.append("standards")

    yield ctx.resource(
        uid=ctx.arn("securityhub", "region-settings"),
        type="aws_securityhub_region",
        name=ctx.region,
        tags={str(k): str(v) for k, v in (hub.data.get("Tags") or {}).items()},
        config={
            "enabled": enabled,
            "hub_arn": hub.data.get("HubArn"),
            "subscribed_at": hub.data.get("SubscribedAt"),
            "auto_enable_controls": hub.data.get("AutoEnableControls"),
            "control_finding_generator": hub.data.get("ControlFindingGenerator"),
            "standards": standards,
            "enabled_standards_arns": (
                [s["standards_arn"] for s in standards if s["status"] == "READY"]
                if standards is not None
                else None
            ),
        },
        raw=raw,
        unavailable=unavailable,
    )
