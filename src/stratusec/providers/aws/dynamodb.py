"""DynamoDB: tables (encryption, point-in-time recovery, deletion protection, streams,
resource policy, tags).

DynamoDB always encrypts at rest. ``server_side_encryption.enabled`` follows Terraform:
False means the AWS-owned key (no ``SSEDescription``), True means a KMS key (AWS-managed
``alias/aws/dynamodb`` or customer-managed: ``kms_key_arn`` says which).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import parse_policy

SERVICE = "dynamodb"
GLOBAL = False

_DESCRIBE_KEYS = [
    "billing_mode",
    "server_side_encryption",
    "deletion_protection_enabled",
    "stream_enabled",
    "stream_view_type",
    "table_class",
    "replica",
]


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    ddb = ctx.client()

    def detail(name: str) -> Resource:
        fallback_arn = ctx.arn("dynamodb", f"table/{name}")
        unavailable: list[str] = []
        raw: dict[str, Any] = {}

        dt = ctx.call(ddb, "describe_table", TableName=name, resource=fallback_arn)
        table: dict[str, Any] = dict(dt.data.get("Table") or {})
        if dt.ok:
            raw["Table"] = table
        else:
            unavailable += _DESCRIBE_KEYS
        arn = str(table.get("TableArn") or fallback_arn)

        cb = ctx.call(ddb, "describe_continuous_backups", TableName=name, resource=arn)
        pitr: dict[str, Any] | None = None
        if cb.ok:
            desc = cb.data.get("ContinuousBackupsDescription") or {}
            raw["ContinuousBackupsDescription"] = desc
            p = desc.get("PointInTimeRecoveryDescription") or {}
            pitr = {
                "enabled": p.get("PointInTimeRecoveryStatus") == "ENABLED",
                "recovery_period_in_days": p.get("RecoveryPeriodInDays"),
                "earliest_restorable_date_time": p.get("EarliestRestorableDateTime"),
                "latest_restorable_date_time": p.get("LatestRestorableDateTime"),
            }
        else:
            unavailable.append("point_in_time_recovery")

        tags: dict[str, str] = {}
        tr = ctx.listing(ddb, "list_tags_of_resource", "Tags", resource=arn, ResourceArn=arn)
        if tr.ok:
            tags = tags_from_list(tr.items)
            raw["Tags"] = tr.items
        else:
            unavailable.append("tags")

        rp = ctx.call(
            ddb,
            "get_resource_policy",
            ResourceArn=arn,
            absent=("PolicyNotFoundException",),
            resource=arn,
        )
        policy = parse_policy(rp.data.get("Policy")) if rp.ok else None
        if rp.ok:
            raw["ResourcePolicy"] = {"Policy": policy, "RevisionId": rp.data.get("RevisionId")}
        elif rp.failed:
            unavailable.append("resource_policy")

        sse_desc = table.get("SSEDescription") or {}
        sse = (
            {
                "enabled": sse_desc.get("Status") in ("ENABLED", "ENABLING", "UPDATING"),
                "sse_type": sse_desc.get("SSEType"),
                "kms_key_arn": sse_desc.get("KMSMasterKeyArn"),
                "status": sse_desc.get("Status"),
                "inaccessible_encryption_date_time": sse_desc.get("InaccessibleEncryptionDateTime"),
            }
            if dt.ok
            else None
        )
        stream = table.get("StreamSpecification") or {}
        throughput = table.get("ProvisionedThroughput") or {}
        keys = {k.get("KeyType"): k.get("AttributeName") for k in table.get("KeySchema") or []}

        res = ctx.resource(
            uid=arn,
            type="aws_dynamodb_table",
            name=name,
            tags=tags,
            config={
                "name": name,
                "arn": arn,
                "table_id": table.get("TableId"),
                "table_status": table.get("TableStatus"),
                "hash_key": keys.get("HASH"),
                "range_key": keys.get("RANGE"),
                "billing_mode": (
                    (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
                    if dt.ok
                    else None
                ),
                "read_capacity": throughput.get("ReadCapacityUnits"),
                "write_capacity": throughput.get("WriteCapacityUnits"),
                "server_side_encryption": sse,
                "point_in_time_recovery": pitr,
                "deletion_protection_enabled": (
                    bool(table.get("DeletionProtectionEnabled")) if dt.ok else None
                ),
                "stream_enabled": bool(stream.get("StreamEnabled")) if dt.ok else None,
                "stream_view_type": stream.get("StreamViewType"),
                "stream_arn": table.get("LatestStreamArn"),
                "stream_label": table.get("LatestStreamLabel"),
                "table_class": (
                    (table.get("TableClassSummary") or {}).get("TableClass") or "STANDARD"
                    if dt.ok
                    else None
                ),
                "replica": [
                    {
                        "region_name": r.get("RegionName"),
                        "kms_key_arn": r.get("KMSMasterKeyId"),
                        "status": r.get("ReplicaStatus"),
                    }
                    for r in table.get("Replicas") or []
                ],
                "global_secondary_index": [
                    g.get("IndexName") for g in table.get("GlobalSecondaryIndexes") or []
                ],
                "local_secondary_index": [
                    g.get("IndexName") for g in table.get("LocalSecondaryIndexes") or []
                ],
                "item_count": table.get("ItemCount"),
                "table_size_bytes": table.get("TableSizeBytes"),
                "creation_date_time": table.get("CreationDateTime"),
                "resource_policy": policy,
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", sse_desc.get("KMSMasterKeyArn"))
        return res

    yield from ctx.map(detail, ctx.pages(ddb, "list_tables", "TableNames"))
