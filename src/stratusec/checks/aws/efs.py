"""EFS checks."""

from __future__ import annotations

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource


@resource_check(
    title="EFS file system is encrypted at rest",
    description="The EFS file system was created with encryption at rest (KMS).",
    risk="Unencrypted file-system data is readable from the underlying storage and backups "
    "and is not protected by KMS key policies; encryption cannot be added later.",
    severity="medium",
    service="efs",
    resource_types=["aws_efs_file_system"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Encryption at rest is chosen at creation: create an encrypted file system "
        "and copy the data over (AWS DataSync or a backup restore into the new file system), "
        "then delete the old one.",
        "cli": "aws efs create-file-system --encrypted --kms-key-id KMS_KEY_ARN "
        "--performance-mode generalPurpose --throughput-mode elastic --tags Key=Name,"
        "Value=NAME\n"
        "aws datasync create-task --source-location-arn OLD_EFS_LOCATION_ARN "
        "--destination-location-arn NEW_EFS_LOCATION_ARN",
        "terraform": 'resource "aws_efs_file_system" "this" {\n'
        "  encrypted  = true\n"
        "  kms_key_id = aws_kms_key.efs.arn\n}",
        "console": "EFS > Create file system > Customize > Enable encryption of data at rest; "
        "then migrate the data with DataSync.",
    },
)
def efs_file_system_encrypted(fs: Resource, inv: Inventory) -> Outcome:
    value = None if "encrypted" in fs.unavailable else fs.config.get("encrypted")
    if value is None:
        return unknown(fs, f"The encryption state of file system {fs.name} is not reported.")
    if value:
        return ok(
            fs,
            f"File system {fs.name} is encrypted with {fs.config.get('kms_key_id')}.",
            kms_key_id=fs.config.get("kms_key_id"),
        )
    return fail(fs, f"File system {fs.name} is not encrypted at rest.", encrypted=False)
