"""SNS: topics (access policy, encryption, delivery policy, tags) and their subscriptions.

A subscription endpoint is kept (it is where data goes), but credentials embedded in an
HTTP(S) endpoint URL (``https://user:pass@host/...``) are stripped, in config and in raw;
``endpoint_had_credentials`` says that they were there.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import as_bool, as_int, key_ref_uid, parse_policy

SERVICE = "sns"
GLOBAL = False

_ATTRIBUTE_KEYS = [
    "policy",
    "kms_master_key_id",
    "delivery_policy",
    "display_name",
    "owner",
    "fifo_topic",
    "content_based_deduplication",
    "signature_version",
    "tracing_config",
    "archive_policy",
    "subscriptions_confirmed",
    "subscriptions_pending",
]


def strip_url_credentials(endpoint: str | None) -> tuple[str | None, bool]:
    """``endpoint`` without any ``user:password@`` part; and whether there was one."""
    if not endpoint or "@" not in endpoint:
        return endpoint, False
    try:
        parts = urllib.parse.urlsplit(endpoint)
    except ValueError:
        return endpoint, False
    if parts.scheme.lower() not in ("http", "https") or "@" not in parts.netloc:
        return endpoint, False
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), True


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    sns = ctx.client()

    def subscription(topic_arn: str, sub: dict[str, Any]) -> Resource:
        protocol = str(sub.get("Protocol") or "")
        endpoint, had_creds = strip_url_credentials(sub.get("Endpoint"))
        sub_arn = str(sub.get("SubscriptionArn") or "")
        pending = not sub_arn.startswith("arn:")
        if pending:
            # "PendingConfirmation" / "Deleted": no ARN yet; a stable id from what it is.
            digest = hashlib.sha256(f"{protocol}|{endpoint}".encode()).hexdigest()[:16]
            uid = f"{topic_arn}:{sub_arn or 'pending'}/{digest}"
        else:
            uid = sub_arn
        res = ctx.resource(
            uid=uid,
            type="aws_sns_topic_subscription",
            name=sub_arn.rsplit(":", 1)[-1] if not pending else f"{protocol}:{sub_arn}",
            config={
                "arn": None if pending else sub_arn,
                "topic_arn": topic_arn,
                "protocol": protocol,
                "endpoint": endpoint,
                "endpoint_had_credentials": had_creds,
                "owner_id": sub.get("Owner"),
                "pending_confirmation": pending,
                "status": sub_arn if pending else "Confirmed",
            },
            raw={"Subscription": {**sub, "Endpoint": endpoint}},
        )
        res.relate("SUBSCRIBED_TO", topic_arn)
        if endpoint and endpoint.startswith("arn:"):
            res.relate("DELIVERS_TO", endpoint, protocol=protocol)
        return res

    def detail(topic: dict[str, Any]) -> list[Resource]:
        arn = str(topic["TopicArn"])
        name = arn.rsplit(":", 1)[-1]
        unavailable: list[str] = []
        raw: dict[str, Any] = {}

        ga = ctx.call(sns, "get_topic_attributes", TopicArn=arn, resource=arn)
        attrs: dict[str, Any] = dict(ga.data.get("Attributes") or {})
        if ga.ok:
            raw["Attributes"] = attrs
        else:
            unavailable += _ATTRIBUTE_KEYS
        policy = parse_policy(attrs.get("Policy"))
        if policy is not None:
            attrs["Policy"] = policy

        tags: dict[str, str] = {}
        tr = ctx.call(sns, "list_tags_for_resource", ResourceArn=arn, resource=arn)
        if tr.ok:
            tags = tags_from_list(tr.data.get("Tags"))
            raw["Tags"] = tr.data.get("Tags") or []
        else:
            unavailable.append("tags")

        # Subscriptions (a failed page makes the list unknown).
        listed = ctx.listing(
            sns, "list_subscriptions_by_topic", "Subscriptions", resource=arn, TopicArn=arn
        )
        subs = [subscription(arn, s) for s in listed.items]
        subs_ok = listed.ok
        if not subs_ok:
            unavailable.append("subscriptions")

        def attr(key: str, conv: Any) -> Any:
            return conv(attrs.get(key)) if ga.ok else None

        kms_key = attrs.get("KmsMasterKeyId")
        res = ctx.resource(
            uid=arn,
            type="aws_sns_topic",
            name=name,
            tags=tags,
            config={
                "name": name,
                "arn": arn,
                "policy": policy,
                "kms_master_key_id": kms_key,
                "delivery_policy": parse_policy(attrs.get("DeliveryPolicy")),
                "display_name": attrs.get("DisplayName"),
                "owner": attrs.get("Owner"),
                "fifo_topic": bool(as_bool(attrs.get("FifoTopic")))
                if ga.ok
                else name.endswith(".fifo"),
                "content_based_deduplication": attr("ContentBasedDeduplication", as_bool),
                "signature_version": attr("SignatureVersion", as_int),
                "tracing_config": attrs.get("TracingConfig"),
                "archive_policy": parse_policy(attrs.get("ArchivePolicy")),
                "subscriptions_confirmed": attr("SubscriptionsConfirmed", as_int),
                "subscriptions_pending": attr("SubscriptionsPending", as_int),
                "subscriptions_deleted": attr("SubscriptionsDeleted", as_int),
                "subscription_count": len(subs) if subs_ok else None,
                "subscription_protocols": (
                    sorted({str(s.config["protocol"]) for s in subs}) if subs_ok else None
                ),
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", key_ref_uid(ctx, kms_key))
        return [res, *subs]

    for records in ctx.map(detail, ctx.pages(sns, "list_topics", "Topics")):
        yield from records
