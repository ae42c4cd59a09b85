"""Secrets Manager: secret metadata, rotation and resource policy, per region.

Secret values are never read (no GetSecretValue).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import key_ref_uid, parse_policy

SERVICE = "secretsmanager"
GLOBAL = False

_DESCRIBE_ATTRS = (
    "description",
    "kms_key_id",
    "rotation_enabled",
    "rotation_lambda_arn",
    "rotation_rules",
    "last_rotated_date",
    "last_accessed_date",
    "last_changed_date",
    "replica",
)


def _rotation_rules(rules: dict[str, Any] | None) -> dict[str, Any] | None:
    if not rules:
        return None
    return {
        "automatically_after_days": rules.get("AutomaticallyAfterDays"),
        "duration": rules.get("Duration"),
        "schedule_expression": rules.get("ScheduleExpression"),
    }


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    sm = ctx.client()

    def detail(item: dict[str, Any]) -> Resource:
        arn = item["ARN"]
        unavailable: list[str] = []
        raw: dict[str, Any] = {"list_secrets": item}

        desc = ctx.call(sm, "describe_secret", SecretId=arn, resource=arn)
        if desc.ok:
            raw["describe_secret"] = desc.data
            d = desc.data
        else:
            # The listing carries the same fields; use it, but say the details are unread.
            d = item
            unavailable += list(_DESCRIBE_ATTRS)

        pol = ctx.call(
            sm,
            "get_resource_policy",
            SecretId=arn,
            absent=("ResourceNotFoundException",),
            resource=arn,
        )
        policy = parse_policy(pol.data.get("ResourcePolicy")) if pol.ok else None
        if pol.ok:
            raw["get_resource_policy"] = {"ResourcePolicy": policy}
        elif pol.failed:
            unavailable.append("policy")

        kms_key_id = d.get("KmsKeyId")
        res = ctx.resource(
            uid=arn,
            type="aws_secretsmanager_secret",
            name=d.get("Name") or item.get("Name") or arn,
            tags=tags_from_list(d.get("Tags")),
            config={
                "name": d.get("Name") or item.get("Name"),
                "arn": arn,
                "description": d.get("Description"),
                "kms_key_id": kms_key_id,
                "rotation_enabled": bool(d.get("RotationEnabled")) if desc.ok else None,
                "rotation_lambda_arn": d.get("RotationLambdaARN") or None,
                "rotation_rules": _rotation_rules(d.get("RotationRules")),
                "last_rotated_date": d.get("LastRotatedDate"),
                "next_rotation_date": d.get("NextRotationDate"),
                "last_accessed_date": d.get("LastAccessedDate"),
                "last_changed_date": d.get("LastChangedDate"),
                "created_date": d.get("CreatedDate"),
                "deleted_date": d.get("DeletedDate"),
                "owning_service": d.get("OwningService"),
                "primary_region": d.get("PrimaryRegion"),
                "replica": [
                    {
                        "region": r.get("Region"),
                        "kms_key_id": r.get("KmsKeyId"),
                        "status": r.get("Status"),
                        "last_accessed_date": r.get("LastAccessedDate"),
                    }
                    for r in d.get("ReplicationStatus") or []
                ],
                "policy": policy,
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", key_ref_uid(ctx, kms_key_id))
        return res

    yield from ctx.map(detail, ctx.pages(sm, "list_secrets", "SecretList"))
