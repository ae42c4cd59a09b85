"""CloudTrail: trails (status, event selectors, tags) and one coverage record per region.

A trail is emitted once, by its home region (multi-region and organization trails show up
as "shadow trails" in every other region and account). Every region also yields one
``aws_cloudtrail_region`` record listing the trails that cover it (its own trails and the
shadows of multi-region / organization trails) and whether any of them is logging, so that
"CloudTrail is not logging in region X" can be judged from that region's record alone.

``management_events`` and ``s3_object_data_events`` summarise the classic and advanced
event selectors. A trail whose selectors were never customised logs management read and
write events (that is AWS's default).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext

SERVICE = "cloudtrail"
GLOBAL = False

_ALL_BUCKETS = re.compile(r"arn:[a-z-]+:s3(:::)?")

_STATUS_FIELDS = (
    "IsLogging",
    "LatestDeliveryError",
    "LatestDeliveryTime",
    "LatestNotificationError",
    "LatestCloudWatchLogsDeliveryError",
    "LatestCloudWatchLogsDeliveryTime",
    "LatestDigestDeliveryError",
    "LatestDigestDeliveryTime",
    "StartLoggingTime",
    "StopLoggingTime",
)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _log_group_uid(arn: str | None) -> str | None:
    """CloudTrail names the log group as ``...:log-group:NAME:*``; the group's ARN has no
    ``:*``."""
    if not arn:
        return None
    return arn[:-2] if arn.endswith(":*") else arn


def _read_write(rw: str | None) -> tuple[bool, bool]:
    rw = rw or "All"
    return rw in ("All", "ReadOnly"), rw in ("All", "WriteOnly")


def _field(selector: dict[str, Any], name: str) -> dict[str, Any] | None:
    for fs in selector.get("FieldSelectors") or []:
        if fs.get("Field") == name:
            return dict(fs)
    return None


def _adv_read_write(selector: dict[str, Any]) -> tuple[bool, bool]:
    ro = _field(selector, "readOnly")
    if ro is None:
        return True, True
    eq = [str(v).lower() for v in ro.get("Equals") or []]
    ne = [str(v).lower() for v in ro.get("NotEquals") or []]
    read = ("true" in eq or not eq) and "true" not in ne
    write = ("false" in eq or not eq) and "false" not in ne
    return read, write


def summarize_selectors(
    event_selectors: list[dict[str, Any]],
    advanced: list[dict[str, Any]],
    has_custom: bool | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(management_events, s3_object_data_events) from a trail's selectors."""
    mgmt: dict[str, Any] = {"read": False, "write": False, "exclude_event_sources": []}
    s3: dict[str, Any] = {
        "all_buckets_read": False,
        "all_buckets_write": False,
        "selectors": [],
    }
    if not event_selectors and not advanced and not has_custom:
        # Never customised: AWS's default selector (management events, read and write).
        mgmt["read"] = mgmt["write"] = True
        return mgmt, s3

    for sel in event_selectors:
        read, write = _read_write(sel.get("ReadWriteType"))
        if sel.get("IncludeManagementEvents", True):
            mgmt["read"] = mgmt["read"] or read
            mgmt["write"] = mgmt["write"] or write
            mgmt["exclude_event_sources"] += list(sel.get("ExcludeManagementEventSources") or [])
        for dr in sel.get("DataResources") or []:
            if dr.get("Type") != "AWS::S3::Object":
                continue
            values = [str(v) for v in dr.get("Values") or []]
            # "arn:aws:s3" (or "arn:aws:s3:::") selects every bucket, current and future.
            all_buckets = any(_ALL_BUCKETS.fullmatch(v) for v in values)
            s3["selectors"].append(
                {"read": read, "write": write, "all_buckets": all_buckets, "resources": values}
            )

    for sel in advanced:
        cat = _field(sel, "eventCategory") or {}
        cats = [str(v) for v in cat.get("Equals") or []]
        read, write = _adv_read_write(sel)
        if "Management" in cats:
            mgmt["read"] = mgmt["read"] or read
            mgmt["write"] = mgmt["write"] or write
            src = _field(sel, "eventSource") or {}
            mgmt["exclude_event_sources"] += [str(v) for v in src.get("NotEquals") or []]
        elif "Data" in cats:
            rtype = _field(sel, "resources.type") or {}
            if "AWS::S3::Object" not in (rtype.get("Equals") or []):
                continue
            arn_field = _field(sel, "resources.ARN")
            resources: list[str] = []
            if arn_field:
                for op in (
                    "Equals",
                    "StartsWith",
                    "EndsWith",
                    "NotEquals",
                    "NotStartsWith",
                    "NotEndsWith",
                ):
                    resources += [f"{op}:{v}" for v in arn_field.get(op) or []]
            s3["selectors"].append(
                {
                    "read": read,
                    "write": write,
                    "all_buckets": arn_field is None,
                    "resources": resources,
                    "name": sel.get("Name"),
                }
            )

    for entry in s3["selectors"]:
        if entry["all_buckets"]:
            s3["all_buckets_read"] = s3["all_buckets_read"] or entry["read"]
            s3["all_buckets_write"] = s3["all_buckets_write"] or entry["write"]
    return mgmt, s3


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    ct = ctx.client()
    listing = ctx.call(ct, "describe_trails", includeShadowTrails=True)
    trails: list[dict[str, Any]] = list(listing.data.get("trailList") or []) if listing.ok else []

    def home_of(t: dict[str, Any]) -> str | None:
        return t.get("HomeRegion") or _arn_region(str(t.get("TrailARN") or ""))

    def is_own(t: dict[str, Any]) -> bool:
        acct = _arn_account(str(t.get("TrailARN") or ""))
        return home_of(t) == ctx.region and acct in (None, ctx.account_id)

    # arn -> IsLogging (None when the status could not be read)
    logging_by_arn: dict[str, bool | None] = {}

    def status_of(t: dict[str, Any]) -> tuple[str, Any]:
        arn = str(t.get("TrailARN") or ctx.arn("cloudtrail", f"trail/{t.get('Name')}"))
        # A trail's ARN works from every region it covers (shadow trails need the ARN).
        return arn, ctx.call(ct, "get_trail_status", Name=arn, resource=arn)

    def detail(t: dict[str, Any]) -> tuple[str, bool | None, Resource | None]:
        arn, st = status_of(t)
        is_logging: bool | None = bool(st.data.get("IsLogging")) if st.ok else None
        if not is_own(t):
            return arn, is_logging, None

        name = str(t.get("Name") or arn.rsplit("/", 1)[-1])
        unavailable: list[str] = []
        raw: dict[str, Any] = {"Trail": t}
        if st.ok:
            raw["GetTrailStatus"] = st.data
        else:
            unavailable += ["enable_logging", "status"]

        sel = ctx.call(ct, "get_event_selectors", TrailName=arn, resource=arn)
        event_selectors: list[dict[str, Any]] | None = None
        advanced: list[dict[str, Any]] | None = None
        management: dict[str, Any] | None = None
        s3_data: dict[str, Any] | None = None
        if sel.ok:
            raw["GetEventSelectors"] = sel.data
            event_selectors = list(sel.data.get("EventSelectors") or [])
            advanced = list(sel.data.get("AdvancedEventSelectors") or [])
            management, s3_data = summarize_selectors(
                event_selectors, advanced, t.get("HasCustomEventSelectors")
            )
        else:
            unavailable += [
                "event_selectors",
                "advanced_event_selectors",
                "management_events",
                "s3_object_data_events",
            ]

        # One trail ARN -> one ResourceTagList entry (a trail holds at most 50 tags).
        tags: dict[str, str] = {}
        tr = ctx.call(ct, "list_tags", ResourceIdList=[arn], resource=arn)
        if tr.ok:
            tag_items = [
                tag
                for entry in tr.data.get("ResourceTagList") or []
                for tag in entry.get("TagsList") or []
            ]
            tags = tags_from_list(tag_items)
            raw["ListTags"] = tag_items
        else:
            unavailable.append("tags")

        status = {_snake(k): st.data.get(k) for k in _STATUS_FIELDS} if st.ok else None
        bucket = t.get("S3BucketName")
        log_group = t.get("CloudWatchLogsLogGroupArn")
        res = ctx.resource(
            uid=arn,
            type="aws_cloudtrail",
            name=name,
            tags=tags,
            config={
                "name": name,
                "arn": arn,
                "home_region": home_of(t),
                "s3_bucket_name": bucket,
                "s3_key_prefix": t.get("S3KeyPrefix"),
                "sns_topic_name": t.get("SnsTopicName"),
                "sns_topic_arn": t.get("SnsTopicARN"),
                "is_multi_region_trail": t.get("IsMultiRegionTrail"),
                "include_global_service_events": t.get("IncludeGlobalServiceEvents"),
                "enable_log_file_validation": t.get("LogFileValidationEnabled"),
                "kms_key_id": t.get("KmsKeyId"),
                "cloud_watch_logs_group_arn": log_group,
                "cloud_watch_logs_role_arn": t.get("CloudWatchLogsRoleArn"),
                "is_organization_trail": t.get("IsOrganizationTrail"),
                "has_custom_event_selectors": t.get("HasCustomEventSelectors"),
                "has_insight_selectors": t.get("HasInsightSelectors"),
                "enable_logging": is_logging,
                "status": status,
                "event_selectors": event_selectors,
                "advanced_event_selectors": advanced,
                "management_events": management,
                "s3_object_data_events": s3_data,
            },
            raw=raw,
            unavailable=unavailable,
        )
        if bucket:
            res.relate("LOGS_TO", f"arn:{ctx.partition}:s3:::{bucket}", via="s3")
        res.relate("LOGS_TO", _log_group_uid(log_group), via="cloudwatch_logs")
        res.relate("USES_KEY", t.get("KmsKeyId"))
        return arn, is_logging, res

    for arn, is_logging, res in ctx.map(detail, trails):
        logging_by_arn[arn] = is_logging
        if res is not None:
            yield res

    covering: list[dict[str, Any]] = []
    for t in trails:
        arn = str(t.get("TrailARN") or "")
        covering.append(
            {
                "arn": arn,
                "name": t.get("Name"),
                "home_region": home_of(t),
                "is_multi_region_trail": t.get("IsMultiRegionTrail"),
                "is_organization_trail": t.get("IsOrganizationTrail"),
                "is_logging": logging_by_arn.get(arn),
            }
        )
    states = [c["is_logging"] for c in covering]
    multi_states = [c["is_logging"] for c in covering if c["is_multi_region_trail"]]

    def any_true(values: list[bool | None]) -> bool | None:
        if any(v is True for v in values):
            return True
        if any(v is None for v in values):
            return None
        return False

    logging = any_true(states) if listing.ok else None
    multi_logging = any_true(multi_states) if listing.ok else None
    unavailable: list[str] = []
    if logging is None:
        unavailable.append("logging")
    if multi_logging is None:
        unavailable.append("multi_region_trail_logging")
    if listing.failed:
        unavailable.append("trails")
    yield ctx.resource(
        uid=ctx.arn("cloudtrail", "region-settings"),
        type="aws_cloudtrail_region",
        name=ctx.region,
        config={
            "trails": covering if listing.ok else None,
            "trail_arns": [c["arn"] for c in covering] if listing.ok else None,
            "trail_count": len(covering) if listing.ok else None,
            "logging": logging,
            "multi_region_trail_logging": multi_logging,
        },
        unavailable=unavailable,
    )
