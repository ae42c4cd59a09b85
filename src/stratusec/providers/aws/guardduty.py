"""GuardDuty: detectors per region (an empty region is a resource too, so that
"GuardDuty disabled in region X" can be judged)."""

from __future__ import annotations

from collections.abc import Iterator

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext

SERVICE = "guardduty"
GLOBAL = False


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    gd = ctx.client()
    listing = ctx.call(gd, "list_detectors")
    detector_ids: list[str] = []
    if listing.ok:
        detector_ids = list(listing.data.get("DetectorIds", []))
    enabled: bool | None = False
    for det_id in detector_ids:
        det = ctx.call(gd, "get_detector", DetectorId=det_id, resource=det_id)
        d = det.data
        if det.failed:
            enabled = enabled or None  # a failed read makes "not enabled" unknown
        elif d.get("Status") == "ENABLED":
            enabled = True
        yield ctx.resource(
            uid=ctx.arn("guardduty", f"detector/{det_id}"),
            type="aws_guardduty_detector",
            name=det_id,
            tags=dict(d.get("Tags") or {}),
            config={
                "id": det_id,
                "enable": d.get("Status") == "ENABLED" if det.ok else None,
                "finding_publishing_frequency": d.get("FindingPublishingFrequency"),
                "datasources": d.get("DataSources"),
                "features": d.get("Features"),
            },
            raw={"Detector": d},
            unavailable=["enable"] if det.failed else [],
        )
    # One record per region says whether GuardDuty is on there at all.
    yield ctx.resource(
        uid=ctx.arn("guardduty", "region-settings"),
        type="aws_guardduty_region",
        name=ctx.region,
        config={
            "detector_ids": detector_ids,
            "enabled": enabled if listing.ok else None,
        },
        unavailable=["enabled"] if listing.failed or enabled is None else [],
    )
