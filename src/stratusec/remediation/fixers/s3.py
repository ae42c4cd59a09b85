"""S3: account and bucket Block Public Access, default encryption, versioning, server
access logging, and a policy statement that denies plain-HTTP requests."""

from __future__ import annotations

import json
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

_PAB = (
    ("block_public_acls", "BlockPublicAcls"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
)
DENY_SID = "DenyInsecureTransport"


def _pab_api(values: dict[str, Any]) -> dict[str, bool]:
    return {api: bool(values.get(tf)) for tf, api in _PAB}


@fixer(
    "s3_account_public_access_block",
    id="s3_account_public_access_block",
    title="Turn on S3 Block Public Access for the whole account",
)
def account_pab(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    account_id = res.config.get("account_id") or res.name
    arn = "*"  # s3:PutAccountPublicAccessBlock has no resource type
    rollback = (
        [
            ApiCall(
                "s3control",
                "put_public_access_block",
                {"AccountId": account_id, "PublicAccessBlockConfiguration": _pab_api(res.config)},
                "restore the previous account-level settings",
                iam_action="s3:PutAccountPublicAccessBlock",
                resource_arn=arn,
            )
        ]
        if res.config.get("configured")
        else [
            ApiCall(
                "s3control",
                "delete_public_access_block",
                {"AccountId": account_id},
                "remove the account-level configuration again",
                iam_action="s3:PutAccountPublicAccessBlock",
                resource_arn=arn,
            )
        ]
    )
    return FixSpec(
        title=f"Block public access for every bucket of account {account_id}",
        calls=[
            ApiCall(
                "s3control",
                "put_public_access_block",
                {
                    "AccountId": account_id,
                    "PublicAccessBlockConfiguration": {api: True for _, api in _PAB},
                },
                "turn on all four account-level Block Public Access settings",
                iam_action="s3:PutAccountPublicAccessBlock",
                resource_arn=arn,
            )
        ],
        rollback=rollback,
        after={tf: True for tf, _ in _PAB} | {"configured": True},
        terraform=(
            'resource "aws_s3_account_public_access_block" "this" {\n'
            "  block_public_acls       = true\n  ignore_public_acls      = true\n"
            "  block_public_policy     = true\n  restrict_public_buckets = true\n}\n"
        ),
        watch=[tf for tf, _ in _PAB] + ["configured"],
        notes=["Buckets that rely on public ACLs or policies stop being public."],
    )


def _bucket(res: Resource) -> tuple[str, str]:
    name = res.config.get("bucket") or res.name
    return name, res.config.get("arn") or f"arn:aws:s3:::{name}"


@fixer(
    "s3_bucket_public_access_block",
    "s3_bucket_not_public",
    id="s3_bucket_public_access_block",
    title="Turn on Block Public Access for the bucket",
)
def bucket_pab(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    name, arn = _bucket(res)
    current = res.config.get("public_access_block")
    rollback = (
        [
            ApiCall(
                "s3",
                "put_public_access_block",
                {"Bucket": name, "PublicAccessBlockConfiguration": _pab_api(current)},
                "restore the previous bucket settings",
                iam_action="s3:PutBucketPublicAccessBlock",
                resource_arn=arn,
            )
        ]
        if current
        else [
            ApiCall(
                "s3",
                "delete_public_access_block",
                {"Bucket": name},
                "remove the bucket configuration again",
                iam_action="s3:PutBucketPublicAccessBlock",
                resource_arn=arn,
            )
        ]
    )
    return FixSpec(
        title=f"Block public access to bucket {name}",
        calls=[
            ApiCall(
                "s3",
                "put_public_access_block",
                {"Bucket": name, "PublicAccessBlockConfiguration": {api: True for _, api in _PAB}},
                "turn on all four Block Public Access settings of the bucket",
                iam_action="s3:PutBucketPublicAccessBlock",
                resource_arn=arn,
            )
        ],
        rollback=rollback,
        after={"public_access_block": {tf: True for tf, _ in _PAB}},
        terraform=(
            f'resource "aws_s3_bucket_public_access_block" "{name}" {{\n'
            f'  bucket                  = "{name}"\n  block_public_acls       = true\n'
            "  ignore_public_acls      = true\n  block_public_policy     = true\n"
            "  restrict_public_buckets = true\n}\n"
        ),
        watch=["public_access_block", "policy", "acl"],
        notes=["Anyone relying on public reads of this bucket loses access."],
    )


@fixer(
    "s3_bucket_default_encryption",
    id="s3_bucket_default_encryption",
    title="Encrypt new objects by default (SSE-S3, or SSE-KMS with a key)",
    options={"kms_key_id": "encrypt with this KMS key (SSE-KMS) instead of SSE-S3"},
)
def bucket_encryption(
    res: Resource, _f: dict[str, Any], o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    name, arn = _bucket(res)
    key = o.get("kms_key_id")
    rule: dict[str, Any] = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key} if key else {"SSEAlgorithm": "AES256"}
    )
    current = res.config.get("server_side_encryption_configuration")
    rollback = [
        ApiCall(
            "s3",
            "delete_bucket_encryption",
            {"Bucket": name},
            "remove the default encryption configuration again",
            iam_action="s3:PutEncryptionConfiguration",
            resource_arn=arn,
        )
    ]
    if current and current.get("rule"):
        raise FixerError("the bucket already has a default encryption configuration")
    tf_rule = (
        f'      sse_algorithm     = "aws:kms"\n      kms_master_key_id = "{key}"\n'
        if key
        else '      sse_algorithm = "AES256"\n'
    )
    return FixSpec(
        title=f"Encrypt new objects in {name} by default ({rule['SSEAlgorithm']})",
        calls=[
            ApiCall(
                "s3",
                "put_bucket_encryption",
                {
                    "Bucket": name,
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]
                    },
                },
                "set the bucket's default encryption",
                iam_action="s3:PutEncryptionConfiguration",
                resource_arn=arn,
            )
        ],
        rollback=rollback,
        after={
            "server_side_encryption_configuration": {
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": {
                            "sse_algorithm": rule["SSEAlgorithm"],
                            "kms_master_key_id": key,
                        },
                        "bucket_key_enabled": False,
                    }
                ]
            }
        },
        terraform=(
            f'resource "aws_s3_bucket_server_side_encryption_configuration" "{name}" {{\n'
            f'  bucket = "{name}"\n  rule {{\n    apply_server_side_encryption_by_default {{\n'
            f"{tf_rule}    }}\n  }}\n}}\n"
        ),
        watch=["server_side_encryption_configuration"],
        notes=["Existing objects keep their encryption; only new writes are affected."],
    )


@fixer(
    "s3_bucket_versioning_enabled",
    id="s3_bucket_versioning",
    title="Turn on bucket versioning",
)
def bucket_versioning(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    name, arn = _bucket(res)
    before = (res.config.get("versioning") or {}).get("status") or "Disabled"
    prev = "Suspended" if before in ("Disabled", "Suspended") else before
    return FixSpec(
        title=f"Enable versioning on {name}",
        calls=[
            ApiCall(
                "s3",
                "put_bucket_versioning",
                {"Bucket": name, "VersioningConfiguration": {"Status": "Enabled"}},
                "keep every version of every object",
                iam_action="s3:PutBucketVersioning",
                resource_arn=arn,
            )
        ],
        # A bucket that had versioning can only be suspended, never returned to "never".
        rollback=[
            ApiCall(
                "s3",
                "put_bucket_versioning",
                {"Bucket": name, "VersioningConfiguration": {"Status": prev}},
                f"set versioning back to {prev}",
                iam_action="s3:PutBucketVersioning",
                resource_arn=arn,
            )
        ],
        after={"versioning": {**(res.config.get("versioning") or {}), "status": "Enabled"}},
        terraform=(
            f'resource "aws_s3_bucket_versioning" "{name}" {{\n  bucket = "{name}"\n'
            '  versioning_configuration {\n    status = "Enabled"\n  }\n}\n'
        ),
        watch=["versioning"],
        notes=["Old versions are kept and billed: add a lifecycle rule to expire them."],
    )


@fixer(
    "s3_bucket_deny_insecure_transport",
    id="s3_bucket_deny_insecure_transport",
    title="Add a bucket policy statement that denies requests over plain HTTP",
)
def deny_http(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    name, arn = _bucket(res)
    current = res.config.get("policy")
    doc = json.loads(current) if isinstance(current, str) else (current or None)
    new = dict(doc) if doc else {"Version": "2012-10-17", "Statement": []}
    stmts = new.get("Statement") or []
    stmts = [stmts] if isinstance(stmts, dict) else list(stmts)
    stmts = [s for s in stmts if s.get("Sid") != DENY_SID]
    stmts.append(
        {
            "Sid": DENY_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    new["Statement"] = stmts
    rollback = (
        [
            ApiCall(
                "s3",
                "put_bucket_policy",
                {"Bucket": name, "Policy": json.dumps(doc)},
                "restore the previous bucket policy",
                resource_arn=arn,
            )
        ]
        if doc
        else [
            ApiCall(
                "s3",
                "delete_bucket_policy",
                {"Bucket": name},
                "remove the bucket policy again",
                resource_arn=arn,
            )
        ]
    )
    return FixSpec(
        title=f"Deny plain-HTTP access to {name}",
        calls=[
            ApiCall(
                "s3",
                "put_bucket_policy",
                {"Bucket": name, "Policy": json.dumps(new)},
                f"keep every existing statement and add {DENY_SID}",
                resource_arn=arn,
            )
        ],
        rollback=rollback,
        after={"policy": new},
        terraform=(
            f'data "aws_iam_policy_document" "{name}_tls" {{\n  statement {{\n'
            f'    sid     = "{DENY_SID}"\n    effect  = "Deny"\n    actions = ["s3:*"]\n'
            f'    resources = ["{arn}", "{arn}/*"]\n'
            '    principals {\n      type        = "*"\n      identifiers = ["*"]\n    }\n'
            '    condition {\n      test     = "Bool"\n      variable = "aws:SecureTransport"\n'
            '      values   = ["false"]\n    }\n  }\n}\n'
            "# merge it into the bucket's aws_s3_bucket_policy\n"
        ),
        watch=["policy"],
        notes=["Clients that still use http:// endpoints will be refused."],
    )


@fixer(
    "cloudtrail_bucket_access_logging",
    id="s3_bucket_access_logging",
    title="Turn on server access logging for the trail's bucket",
    options={"target_bucket": "bucket that receives the logs (default: the bucket itself)"},
)
def access_logging(
    res: Resource, _f: dict[str, Any], o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    bucket = res.config.get("s3_bucket_name")
    if not bucket:
        raise FixerError("the trail has no S3 bucket")
    target = o.get("target_bucket") or bucket
    arn = f"arn:aws:s3:::{bucket}"
    prefix = f"s3-access/{bucket}/"
    return FixSpec(
        title=f"Log every request to {bucket} into {target}/{prefix}",
        calls=[
            ApiCall(
                "s3",
                "put_bucket_logging",
                {
                    "Bucket": bucket,
                    "BucketLoggingStatus": {
                        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix}
                    },
                },
                "turn on server access logging",
                iam_action="s3:PutBucketLogging",
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "s3",
                "put_bucket_logging",
                {"Bucket": bucket, "BucketLoggingStatus": {}},
                "turn server access logging off again",
                iam_action="s3:PutBucketLogging",
                resource_arn=arn,
            )
        ],
        after={},  # the trail itself does not change: its bucket does
        verify_services=["s3"],
        terraform=(
            f'resource "aws_s3_bucket_logging" "{bucket}" {{\n  bucket        = "{bucket}"\n'
            f'  target_bucket = "{target}"\n  target_prefix = "{prefix}"\n}}\n'
        ),
        watch=["s3_bucket_name"],
        notes=["The target bucket must allow the S3 logging service to write to it."],
    )
