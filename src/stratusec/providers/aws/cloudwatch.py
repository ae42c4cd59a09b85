"""CloudWatch: log groups and their metric filters (CloudWatch Logs), and metric alarms
(CloudWatch), per region; plus one ``aws_cloudwatch_region`` record per region that says
whether each listing was read completely, so that "no metric filter / no alarm" can be
told apart from "could not be listed".

Relationships: metric filter ``ATTACHED_TO`` its log group (a sub-resource configured on
the group, as a Lambda function URL is on its function); log group ``USES_KEY`` its KMS
key; alarm ``NOTIFIES`` every SNS topic among its actions (property ``on``: ALARM, OK or
INSUFFICIENT_DATA).

A log group without ``retention_in_days`` (None) never expires its events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import key_ref_uid

SERVICE = "cloudwatch"
GLOBAL = False


def _ms_to_iso(ms: Any) -> str | None:
    if not isinstance(ms, int | float):
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat()


def log_group_uid(ctx: CollectorContext, group: dict[str, Any]) -> str:
    """The group's ARN without the ``:*`` that ``arn`` carries (CloudTrail's
    ``cloud_watch_logs_group_arn`` is normalised the same way)."""
    arn = group.get("logGroupArn") or group.get("arn")
    if arn:
        arn = str(arn)
        return arn[:-2] if arn.endswith(":*") else arn
    return ctx.arn("logs", f"log-group:{group.get('logGroupName')}")


def _transformations(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "name": t.get("metricName"),
            "namespace": t.get("metricNamespace"),
            "value": t.get("metricValue"),
            "default_value": t.get("defaultValue"),
            "dimensions": dict(t.get("dimensions") or {}),
            "unit": t.get("unit"),
        }
        for t in items or []
    ]


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads: its own, or those of its metric-math queries."""
    out: list[dict[str, Any]] = []
    if alarm.get("MetricName"):
        out.append({"name": alarm.get("MetricName"), "namespace": alarm.get("Namespace")})
    for q in alarm.get("Metrics") or []:
        metric = (q.get("MetricStat") or {}).get("Metric") or {}
        if metric.get("MetricName"):
            out.append({"name": metric.get("MetricName"), "namespace": metric.get("Namespace")})
    return out


def _is_sns(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and parts[0] == "arn" and parts[2] == "sns"


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    logs = ctx.client("logs")
    cw = ctx.client("cloudwatch")

    # -- log groups ------------------------------------------------------------------------
    groups = ctx.listing(logs, "describe_log_groups", "logGroups")
    uid_by_name: dict[str, str] = {}

    def group_record(g: dict[str, Any]) -> Resource:
        name = str(g.get("logGroupName") or "")
        uid = log_group_uid(ctx, g)
        unavailable: list[str] = []
        raw: dict[str, Any] = {"LogGroup": g}
        tags: dict[str, str] = {}
        tr = ctx.call(logs, "list_tags_for_resource", resourceArn=uid, resource=uid)
        if tr.ok:
            tags = {str(k): str(v) for k, v in (tr.data.get("tags") or {}).items()}
            raw["Tags"] = tags
        else:
            unavailable.append("tags")
        res = ctx.resource(
            uid=uid,
            type="aws_cloudwatch_log_group",
            name=name,
            tags=tags,
            config={
                "name": name,
                "arn": uid,
                "creation_time": _ms_to_iso(g.get("creationTime")),
                "retention_in_days": g.get("retentionInDays"),
                "kms_key_id": g.get("kmsKeyId"),
                "log_group_class": g.get("logGroupClass"),
                "metric_filter_count": g.get("metricFilterCount"),
                "stored_bytes": g.get("storedBytes"),
                "data_protection_status": g.get("dataProtectionStatus"),
                "deletion_protection_enabled": g.get("deletionProtectionEnabled"),
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", key_ref_uid(ctx, g.get("kmsKeyId")))
        return res

    for g in groups.items:
        uid_by_name[str(g.get("logGroupName") or "")] = log_group_uid(ctx, g)
    yield from ctx.map(group_record, groups.items)

    # -- metric filters (one listing for the whole region) ----------------------------------
    filters = ctx.listing(logs, "describe_metric_filters", "metricFilters")
    for f in filters.items:
        fname = str(f.get("filterName") or "")
        group = str(f.get("logGroupName") or "")
        group_uid = uid_by_name.get(group) or ctx.arn("logs", f"log-group:{group}")
        res = ctx.resource(
            uid=f"{group_uid}:metric-filter:{fname}",
            type="aws_cloudwatch_log_metric_filter",
            name=fname,
            config={
                "name": fname,
                "log_group_name": group,
                "log_group_arn": group_uid,
                "pattern": f.get("filterPattern"),
                "metric_transformation": _transformations(f.get("metricTransformations")),
                "creation_time": _ms_to_iso(f.get("creationTime")),
                "apply_on_transformed_logs": f.get("applyOnTransformedLogs"),
            },
            raw={"MetricFilter": f},
        )
        res.relate("ATTACHED_TO", group_uid)
        yield res

    # -- metric alarms -----------------------------------------------------------------------
    alarms = ctx.listing(cw, "describe_alarms", "MetricAlarms")
    for a in alarms.items:
        name = str(a.get("AlarmName") or "")
        arn = str(a.get("AlarmArn") or ctx.arn("cloudwatch", f"alarm:{name}"))
        res = ctx.resource(
            uid=arn,
            type="aws_cloudwatch_metric_alarm",
            name=name,
            config={
                "alarm_name": name,
                "arn": arn,
                "alarm_description": a.get("AlarmDescription"),
                "metric_name": a.get("MetricName"),
                "namespace": a.get("Namespace"),
                "metrics": _alarm_metrics(a),
                "statistic": a.get("Statistic"),
                "extended_statistic": a.get("ExtendedStatistic"),
                "dimensions": {
                    str(d.get("Name")): d.get("Value") for d in a.get("Dimensions") or []
                },
                "period": a.get("Period"),
                "evaluation_periods": a.get("EvaluationPeriods"),
                "datapoints_to_alarm": a.get("DatapointsToAlarm"),
                "threshold": a.get("Threshold"),
                "comparison_operator": a.get("ComparisonOperator"),
                "treat_missing_data": a.get("TreatMissingData"),
                "actions_enabled": a.get("ActionsEnabled"),
                "alarm_actions": list(a.get("AlarmActions") or []),
                "ok_actions": list(a.get("OKActions") or []),
                "insufficient_data_actions": list(a.get("InsufficientDataActions") or []),
                "state_value": a.get("StateValue"),
                "state_updated_timestamp": a.get("StateUpdatedTimestamp"),
            },
            raw={"MetricAlarm": a},
        )
        for on, key in (
            ("ALARM", "AlarmActions"),
            ("OK", "OKActions"),
            ("INSUFFICIENT_DATA", "InsufficientDataActions"),
        ):
            for action in a.get(key) or []:
                if _is_sns(str(action)):
                    res.relate("NOTIFIES", str(action), on=on)
        yield res

    unavailable: list[str] = []
    if not groups.ok:
        unavailable.append("log_groups")
    if not filters.ok:
        unavailable.append("metric_filters")
    if not alarms.ok:
        unavailable.append("metric_alarms")
    yield ctx.resource(
        uid=ctx.arn("cloudwatch", "region-settings"),
        type="aws_cloudwatch_region",
        name=ctx.region,
        config={
            "log_group_count": len(groups.items) if groups.ok else None,
            "metric_filter_count": len(filters.items) if filters.ok else None,
            "metric_alarm_count": len(alarms.items) if alarms.ok else None,
        },
        unavailable=unavailable,
    )
