"""SQS: queues with their attributes (access policy, encryption, redrive) and tags."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import as_bool, as_int, key_ref_uid, parse_policy

SERVICE = "sqs"
GLOBAL = False

# Attributes read by get_queue_attributes; named here so that a failure marks them all.
_ATTRIBUTE_KEYS = [
    "policy",
    "kms_master_key_id",
    "kms_data_key_reuse_period_seconds",
    "sqs_managed_sse_enabled",
    "visibility_timeout_seconds",
    "message_retention_seconds",
    "max_message_size",
    "delay_seconds",
    "receive_wait_time_seconds",
    "fifo_queue",
    "content_based_deduplication",
    "deduplication_scope",
    "fifo_throughput_limit",
    "redrive_policy",
    "redrive_allow_policy",
]


def _queue_name_account(url: str) -> tuple[str, str | None]:
    parts = [p for p in urllib.parse.urlparse(url).path.split("/") if p]
    name = parts[-1] if parts else url
    account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else None
    return name, account


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    sqs = ctx.client()

    def detail(url: str) -> Resource:
        name, account = _queue_name_account(url)
        fallback_arn = ctx.arn("sqs", name, account=account)
        unavailable: list[str] = []
        raw: dict[str, Any] = {"QueueUrl": url}

        ga = ctx.call(
            sqs,
            "get_queue_attributes",
            QueueUrl=url,
            AttributeNames=["All"],
            resource=fallback_arn,
        )
        attrs: dict[str, Any] = dict(ga.data.get("Attributes") or {})
        if ga.ok:
            raw["Attributes"] = attrs
        else:
            unavailable += _ATTRIBUTE_KEYS
        arn = str(attrs.get("QueueArn") or fallback_arn)

        tags: dict[str, str] = {}
        tr = ctx.call(sqs, "list_queue_tags", QueueUrl=url, resource=arn)
        if tr.ok:
            tags = {str(k): str(v) for k, v in (tr.data.get("Tags") or {}).items()}
            raw["Tags"] = tags
        else:
            unavailable.append("tags")

        policy = parse_policy(attrs.get("Policy"))
        if policy is not None:
            raw["Attributes"]["Policy"] = policy
        redrive = parse_policy(attrs.get("RedrivePolicy"))
        redrive_allow = parse_policy(attrs.get("RedriveAllowPolicy"))
        kms_key = attrs.get("KmsMasterKeyId")
        is_fifo = name.endswith(".fifo")

        def attr(key: str, conv: Any) -> Any:
            return conv(attrs.get(key)) if ga.ok else None

        res = ctx.resource(
            uid=arn,
            type="aws_sqs_queue",
            name=name,
            tags=tags,
            config={
                "name": name,
                "arn": arn,
                "url": url,
                "policy": policy,
                "kms_master_key_id": kms_key,
                "kms_data_key_reuse_period_seconds": attr("KmsDataKeyReusePeriodSeconds", as_int),
                "sqs_managed_sse_enabled": (
                    bool(as_bool(attrs.get("SqsManagedSseEnabled"))) if ga.ok else None
                ),
                "visibility_timeout_seconds": attr("VisibilityTimeout", as_int),
                "message_retention_seconds": attr("MessageRetentionPeriod", as_int),
                "max_message_size": attr("MaximumMessageSize", as_int),
                "delay_seconds": attr("DelaySeconds", as_int),
                "receive_wait_time_seconds": attr("ReceiveMessageWaitTimeSeconds", as_int),
                "fifo_queue": (bool(as_bool(attrs.get("FifoQueue"))) if ga.ok else is_fifo),
                "content_based_deduplication": attr("ContentBasedDeduplication", as_bool),
                "deduplication_scope": attrs.get("DeduplicationScope"),
                "fifo_throughput_limit": attrs.get("FifoThroughputLimit"),
                "redrive_policy": redrive,
                "redrive_allow_policy": redrive_allow,
                "created_timestamp": attr("CreatedTimestamp", as_int),
                "last_modified_timestamp": attr("LastModifiedTimestamp", as_int),
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", key_ref_uid(ctx, kms_key))
        return res

    # Without a page size SQS returns at most 1000 queues and no token: always paginate.
    urls = ctx.pages(sqs, "list_queues", "QueueUrls", PaginationConfig={"PageSize": 1000})
    yield from ctx.map(detail, urls)
