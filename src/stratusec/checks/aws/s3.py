"""S3 checks."""

from __future__ import annotations

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource


@resource_check(
    title="S3 bucket has default encryption",
    description="The bucket has a default server-side encryption configuration (SSE-S3, "
    "SSE-KMS or DSSE-KMS), so every new object is encrypted at rest.",
    risk="Objects written without encryption are readable from the underlying storage and "
    "from backups; encryption with KMS also adds a second authorization check on reads.",
    severity="medium",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["encryption"],
    remediation={
        "summary": "Turn on default encryption (SSE-KMS with a customer managed key where "
        "the data is sensitive).",
        "cli": "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-"
        'configuration \'{"Rules":[{"ApplyServerSideEncryptionByDefault":'
        '{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}\'',
        "terraform": 'resource "aws_s3_bucket_server_side_encryption_configuration" "this" {\n'
        "  bucket = aws_s3_bucket.this.id\n"
        '  rule {\n    apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" }\n'
        "    bucket_key_enabled = true\n  }\n}",
        "console": "S3 > bucket > Properties > Default encryption > Edit.",
    },
)
def s3_bucket_default_encryption(bucket: Resource, inv: Inventory) -> Outcome:
    if "server_side_encryption_configuration" in bucket.unavailable:
        return unknown(bucket, f"Encryption settings of bucket {bucket.name} could not be read.")
    sse = bucket.config.get("server_side_encryption_configuration")
    rules = (sse or {}).get("rule") or []
    algos = [
        (r.get("apply_server_side_encryption_by_default") or {}).get("sse_algorithm") for r in rules
    ]
    algos = [a for a in algos if a]
    if not algos:
        return fail(bucket, f"Bucket {bucket.name} has no default encryption.", sse=None)
    return ok(
        bucket,
        f"Bucket {bucket.name} encrypts by default with {', '.join(algos)}.",
        sse_algorithms=algos,
    )
