"""Small helpers shared by the AWS collectors: policy documents, ARNs of referenced
resources (KMS keys, EC2 network objects) and AWS's string-typed attribute values."""

from __future__ import annotations

import json
import re
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


# Environment variables whose value names a resource (kept: an identifier, not a secret).
# A variable qualifies by its value's shape (an ARN, an s3:// URI, an SQS queue URL) or by
# its name (``*_BUCKET``, ``*_TABLE_NAME``, ``QUEUE_URL``, ...); never when its name
# suggests a secret, and never a value with whitespace, user info ("@") or over 512 chars.
_REF_NAME = re.compile(
    r"(?:^|_)(?:BUCKET|TABLE|QUEUE|TOPIC|STREAM)(?:_(?:NAME|NAMES|URL|ARN|ID))?$"
)
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE|AUTH|API_?KEY|ACCESS_?KEY")
_REF_VALUE = re.compile(
    r"^(?:arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:\S+"
    r"|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/\S*)?"
    r"|https://sqs\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/\d{12}/[\w-]+(?:\.fifo)?)$"
)
_PLAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")


def resource_reference(name: str, value: Any) -> str | None:
    """``value`` when the environment variable ``name`` names a resource (see above);
    else None (the value is a secret, or is not known to be an identifier)."""
    if not isinstance(value, str) or not value or len(value) > 512:
        return None
    upper = name.upper()
    if _SECRET_NAME.search(upper) or "@" in value or any(c.isspace() for c in value):
        return None
    if _REF_VALUE.match(value):
        return value
    if _REF_NAME.search(upper) and _PLAIN_ID.match(value):
        return value
    return None


def environment_references(variables: Any) -> list[dict[str, str]]:
    """``[{"name", "value"}]`` for the variables that name a resource, from a mapping
    (Lambda) or a list of ``{"name", "value"}`` (ECS)."""
    items = (
        list(variables.items())
        if isinstance(variables, dict)
        else [(e.get("name"), e.get("value")) for e in variables or [] if isinstance(e, dict)]
    )
    out = []
    for n, v in items:
        if not n:
            continue
        ref = resource_reference(str(n), v)
        if ref is not None:
            out.append({"name": str(n), "value": ref})
    return sorted(out, key=lambda e: e["name"])
