"""Small helpers shared by the AWS collectors: policy documents, ARNs of referenced
resources (KMS keys, EC2 network objects) and AWS's string-typed attribute values."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from stratusec.providers.aws.base import CollectorContext


def parse_policy(doc: Any) -> Any:
    """A JSON document (resource policy, redrive policy, ...) as parsed JSON, URL-decoded
    if needed; the input itself when it cannot be parsed.

    ``None`` and already-parsed values (dict, list) pass through; bytes are decoded; a
    blank string is ``None``.
    """
    if doc is None or isinstance(doc, (dict, list)):
        return doc
    text = doc.decode() if isinstance(doc, (bytes, bytearray)) else str(doc)
    if not text.strip():
        return None
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return text


def key_ref_uid(ctx: CollectorContext, ref: str | None, region: str | None = None) -> str | None:
    """The uid of a KMS key named by any of the forms AWS accepts (key ARN, alias ARN,
    key id, ``alias/name``): an ARN as-is, else the key or alias ARN in ``region``
    (default: the region this task calls)."""
    if not ref:
        return None
    if ref.startswith("arn:"):
        return ref
    reg = region or ctx.api_region
    if ref.startswith("alias/"):
        return ctx.arn("kms", ref, region=reg)
    return ctx.arn("kms", f"key/{ref}", region=reg)


def ec2_arn(
    ctx: CollectorContext, kind: str, ident: str | None, region: str | None = None
) -> str | None:
    """``arn:aws:ec2:REGION:ACCOUNT:<kind>/<ident>`` (the uid the EC2 collector gives a
    VPC, subnet, security group, ...); None when ``ident`` is empty."""
    return ctx.arn("ec2", f"{kind}/{ident}", region=region) if ident else None


def as_int(value: Any) -> int | None:
    """``value`` as an int (AWS sends many numbers as strings); None when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_bool(value: Any) -> bool | None:
    """A ``"true"``/``"false"`` attribute as a bool (case-insensitive); None when absent."""
    if value is None:
        return None
    return str(value).lower() == "true"
