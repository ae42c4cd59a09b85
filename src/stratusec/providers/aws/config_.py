"""AWS Config: configuration recorders (with status), delivery channels, and one record per
region (an empty region is a resource too, so that "AWS Config disabled in region X" can
be judged).

``aws_config_region.recording`` is True when a customer-managed recorder (service-linked
recorders, which have a ``service_principal``, do not count) is recording all supported
resource types; None when that could not be read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext

SERVICE = "config"
GLOBAL = False


def _recording_group(group: dict[str, Any]) -> dict[str, Any]:
    strategy = group.get("recordingStrategy") or {}
    exclusion = group.get("exclusionByResourceTypes") or {}
    return {
        "all_supported": bool(group.get("allSupported")),
        "include_global_resource_types": bool(group.get("includeGlobalResourceTypes")),
        "resource_types": list(group.get("resourceTypes") or []),
        "exclusion_by_resource_types": list(exclusion.get("resourceTypes") or []),
        "recording_strategy": strategy.get("useOnly"),
    }


def _recording_mode(mode: dict[str, Any] | None) -> dict[str, Any] | None:
    if not mode:
        return None
    return {
        "recording_frequency": mode.get("recordingFrequency"),
        "recording_mode_override": [
            {
                "description": o.get("description"),
                "resource_types": o.get("resourceTypes"),
                "recording_frequency": o.get("recordingFrequency"),
            }
            for o in mode.get("recordingModeOverrides") or []
        ],
    }


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    cfg = ctx.client()

    rec = ctx.call(cfg, "describe_configuration_recorders")
    recorders: list[dict[str, Any]] = list(rec.data.get("ConfigurationRecorders") or [])
    st = ctx.call(cfg, "describe_configuration_recorder_status")
    status_by_name: dict[str, dict[str, Any]] = {
        str(s.get("name")): s for s in st.data.get("ConfigurationRecordersStatus") or []
    }

    summaries: list[dict[str, Any]] = []
    for r in recorders:
        name = str(r.get("name") or "default")
        group = _recording_group(r.get("recordingGroup") or {})
        s = status_by_name.get(name)
        status: dict[str, Any] | None = None
        if s is not None:
            status = {
                "recording": bool(s.get("recording")),
                "last_status": s.get("lastStatus"),
                "last_error_code": s.get("lastErrorCode"),
                "last_error_message": s.get("lastErrorMessage"),
                "last_start_time": s.get("lastStartTime"),
                "last_stop_time": s.get("lastStopTime"),
                "last_status_change_time": s.get("lastStatusChangeTime"),
            }
        elif st.ok:
            # Listed without a status entry: a recorder that never started.
            status = {"recording": False, "last_status": None}
        summaries.append(
            {
                "name": name,
                "recording": status["recording"] if status is not None else None,
                "all_supported": group["all_supported"],
                "include_global_resource_types": group["include_global_resource_types"],
                "last_status": status.get("last_status") if status else None,
                "service_principal": r.get("servicePrincipal"),
            }
        )
        res = ctx.resource(
            uid=str(r.get("arn") or ctx.arn("config", f"configuration-recorder/{name}")),
            type="aws_config_configuration_recorder",
            name=name,
            config={
                "name": name,
                "role_arn": r.get("roleARN"),
                "recording_group": group,
                "recording_mode": _recording_mode(r.get("recordingMode")),
                "recording_scope": r.get("recordingScope"),
                "service_principal": r.get("servicePrincipal"),
                "status": status,
            },
            raw={"ConfigurationRecorder": r, "ConfigurationRecorderStatus": s},
            unavailable=["status"] if status is None else [],
        )
        res.relate("RUNS_AS", r.get("roleARN"))
        yield res

    dc = ctx.call(cfg, "describe_delivery_channels")
    channels: list[dict[str, Any]] = list(dc.data.get("DeliveryChannels") or [])
    for ch in channels:
        name = str(ch.get("name") or "default")
        bucket = ch.get("s3BucketName")
        props = ch.get("configSnapshotDeliveryProperties") or {}
        res = ctx.resource(
            uid=ctx.arn("config", f"delivery-channel/{name}"),
            type="aws_config_delivery_channel",
            name=name,
            config={
                "name": name,
                "s3_bucket_name": bucket,
                "s3_key_prefix": ch.get("s3KeyPrefix"),
                "s3_kms_key_arn": ch.get("s3KmsKeyArn"),
                "sns_topic_arn": ch.get("snsTopicARN"),
                "snapshot_delivery_properties": (
                    {"delivery_frequency": props.get("deliveryFrequency")} if props else None
                ),
            },
            raw={"DeliveryChannel": ch},
        )
        if bucket:
            res.relate("LOGS_TO", f"arn:{ctx.partition}:s3:::{bucket}")
        res.relate("USES_KEY", ch.get("s3KmsKeyArn"))
        yield res

    # Region verdict: customer-managed recorders recording all supported resource types.
    customer = [x for x in summaries if not x["service_principal"]]
    full = [x["recording"] for x in customer if x["all_supported"]]
    recording: bool | None
    if rec.failed:
        recording = None
    elif any(v is True for v in full):
        recording = True
    elif any(v is None for v in full):
        recording = None
    else:
        recording = False
    unavailable: list[str] = []
    if recording is None:
        unavailable.append("recording")
    if rec.failed:
        unavailable += ["recorder_count", "recorders"]
    if dc.failed:
        unavailable.append("delivery_channels")
    yield ctx.resource(
        uid=ctx.arn("config", "region-settings"),
        type="aws_config_region",
        name=ctx.region,
        config={
            "recorder_count": len(summaries) if rec.ok else None,
            "recording": recording,
            "include_global_resource_types": (
                any(
                    x["recording"] and x["all_supported"] and x["include_global_resource_types"]
                    for x in customer
                )
                if recording is not None
                else None
            ),
            "recorders": summaries if rec.ok else None,
            "delivery_channels": [str(c.get("name")) for c in channels] if dc.ok else None,
            "delivery_channel_count": len(channels) if dc.ok else None,
        },
        unavailable=unavailable,
    )
