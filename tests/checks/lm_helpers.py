"""Builders for the logging / monitoring check tests: records shaped exactly as the
cloudtrail, cloudwatch, sns, config and securityhub collectors emit them."""

from __future__ import annotations

from typing import Any

from stratusec.inventory.models import Resource
from tests.checks.fixtures import ACCOUNT, res

SUMMARY_UID = f"arn:aws:iam::{ACCOUNT}:account-summary"


def summary() -> Resource:
    return res(
        "aws_iam_account_summary",
        "account-summary",
        region="global",
        service="iam",
        uid=SUMMARY_UID,
        config={"account_mfa_enabled": 1},
    )


def group_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"


def trail(
    name: str = "main",
    *,
    region: str = "us-east-1",
    multi: bool | None = True,
    logging: bool | None = True,
    read: bool = True,
    write: bool = True,
    validation: bool | None = True,
    kms: str | None = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/trail-key",
    log_group: str | None = "/aws/cloudtrail/main",
    bucket: str | None = "trail-bucket",
    s3_selectors: list[dict[str, Any]] | None = None,
    status: dict[str, Any] | None = None,
    unavailable: list[str] | None = None,
) -> Resource:
    selectors = s3_selectors or []
    s3 = {
        "all_buckets_read": any(s["all_buckets"] and s["read"] for s in selectors),
        "all_buckets_write": any(s["all_buckets"] and s["write"] for s in selectors),
        "selectors": selectors,
    }
    unavailable = unavailable or []
    group = f"{group_arn(log_group, region)}:*" if log_group else None
    r = res(
        "aws_cloudtrail",
        name,
        region=region,
        uid=f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}",
        unavailable=unavailable,
        config={
            "name": name,
            "home_region": region,
            "s3_bucket_name": bucket,
            "is_multi_region_trail": multi,
            "enable_log_file_validation": validation,
            "kms_key_id": kms,
            "cloud_watch_logs_group_arn": group,
            "enable_logging": None if "enable_logging" in unavailable else logging,
            "status": status,
            "management_events": None
            if "management_events" in unavailable
            else {"read": read, "write": write, "exclude_event_sources": []},
            "s3_object_data_events": None if "s3_object_data_events" in unavailable else s3,
        },
    )
    if bucket:
        r.relate("LOGS_TO", f"arn:aws:s3:::{bucket}")
    if group:
        r.relate("LOGS_TO", group[:-2])
    return r


def ct_region(region: str, trails: list[dict[str, Any]] | None) -> Resource:
    """A CloudTrail region record; ``trails=None`` = the trail listing failed."""
    if trails is None:
        cfg: dict[str, Any] = {"trails": None, "logging": None}
        unavailable = ["trails", "logging", "multi_region_trail_logging"]
    else:
        states = [t.get("is_logging") for t in trails]
        multi = [t.get("is_logging") for t in trails if t.get("is_multi_region_trail")]
        cfg = {
            "trails": trails,
            "trail_arns": [t["arn"] for t in trails],
            "trail_count": len(trails),
            "logging": any(s is True for s in states),
            "multi_region_trail_logging": any(s is True for s in multi),
        }
        unavailable = []
    return res(
        "aws_cloudtrail_region",
        region,
        region=region,
        service="cloudtrail",
        uid=f"arn:aws:cloudtrail:{region}:{ACCOUNT}:region-settings",
        config=cfg,
        unavailable=unavailable,
    )


def covering(t: Resource) -> dict[str, Any]:
    """``t`` as an entry of an ``aws_cloudtrail_region.trails`` list."""
    return {
        "arn": t.uid,
        "name": t.name,
        "home_region": t.config["home_region"],
        "is_multi_region_trail": t.config["is_multi_region_trail"],
        "is_organization_trail": False,
        "is_logging": t.config["enable_logging"],
    }


def bucket(name: str, *, region: str = "us-east-1", **config: Any) -> Resource:
    return res(
        "aws_s3_bucket",
        name,
        region=region,
        service="s3",
        uid=f"arn:aws:s3:::{name}",
        config={"bucket": name, "arn": f"arn:aws:s3:::{name}", **config},
    )


def cw_region(region: str = "us-east-1", *, unavailable: list[str] | None = None) -> Resource:
    return res(
        "aws_cloudwatch_region",
        region,
        region=region,
        service="cloudwatch",
        uid=f"arn:aws:cloudwatch:{region}:{ACCOUNT}:region-settings",
        config={"log_group_count": 1, "metric_filter_count": 1, "metric_alarm_count": 1},
        unavailable=unavailable or [],
    )


def log_group(
    name: str = "/aws/cloudtrail/main",
    *,
    region: str = "us-east-1",
    retention: int | None = 365,
    kms: str | None = None,
    unavailable: list[str] | None = None,
) -> Resource:
    return res(
        "aws_cloudwatch_log_group",
        name,
        region=region,
        service="cloudwatch",
        uid=group_arn(name, region),
        config={"name": name, "retention_in_days": retention, "kms_key_id": kms},
        unavailable=unavailable or [],
    )


def metric_filter(
    name: str,
    pattern: str,
    *,
    metric: str | None = None,
    namespace: str = "CISBenchmark",
    group: str = "/aws/cloudtrail/main",
    region: str = "us-east-1",
) -> Resource:
    uid = f"{group_arn(group, region)}:metric-filter:{name}"
    return res(
        "aws_cloudwatch_log_metric_filter",
        name,
        region=region,
        service="cloudwatch",
        uid=uid,
        config={
            "name": name,
            "log_group_name": group,
            "log_group_arn": group_arn(group, region),
            "pattern": pattern,
            "metric_transformation": [
                {"name": metric or name, "namespace": namespace, "value": "1"}
            ],
        },
        relationships=[("ATTACHED_TO", group_arn(group, region))],
    )


def alarm(
    name: str,
    *,
    metric: str | None = None,
    namespace: str = "CISBenchmark",
    actions: list[str] | None = None,
    enabled: bool = True,
    region: str = "us-east-1",
) -> Resource:
    actions = [] if actions is None else actions
    return res(
        "aws_cloudwatch_metric_alarm",
        name,
        region=region,
        service="cloudwatch",
        uid=f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}",
        config={
            "alarm_name": name,
            "metric_name": metric or name,
            "namespace": namespace,
            "metrics": [{"name": metric or name, "namespace": namespace}],
            "actions_enabled": enabled,
            "alarm_actions": actions,
        },
        relationships=[("NOTIFIES", a) for a in actions if ":sns:" in a],
    )


def topic_arn(name: str = "security-alerts", region: str = "us-east-1") -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:{name}"


def topic(
    name: str = "security-alerts",
    *,
    region: str = "us-east-1",
    unavailable: list[str] | None = None,
) -> Resource:
    return res(
        "aws_sns_topic",
        name,
        region=region,
        service="sns",
        uid=topic_arn(name, region),
        config={"name": name, "subscriptions_confirmed": None if unavailable else 0},
        unavailable=unavailable or [],
    )


def subscription(topic_name: str = "security-alerts", *, pending: bool = False) -> Resource:
    t = topic_arn(topic_name)
    return res(
        "aws_sns_topic_subscription",
        f"sub-{topic_name}-{'pending' if pending else 'ok'}",
        service="sns",
        uid=f"{t}:{'pending' if pending else 'abcd'}",
        config={"topic_arn": t, "protocol": "email", "pending_confirmation": pending},
        relationships=[("SUBSCRIBED_TO", t)],
    )


def region_flag(
    type_: str, service: str, region: str, key: str, value: Any, **config: Any
) -> Resource:
    return res(
        type_,
        region,
        region=region,
        service=service,
        uid=f"arn:aws:{service}:{region}:{ACCOUNT}:region-settings",
        config={key: value, **config},
        unavailable=[key] if value is None else [],
    )
