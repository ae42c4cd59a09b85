"""EFS: file systems with encryption, performance and throughput modes, the file-system
(resource) policy and the automatic backup policy, per region.

``file_system_policy`` is the parsed policy, None when the file system has none (the
default policy, which AWS reports as ``PolicyNotFound``). ``backup_policy`` is
``{"status": "ENABLED" | "ENABLING" | "DISABLED" | "DISABLING"}``, None when the file
system has no backup policy (automatic backups off). Either is also None, and named in
``unavailable``, when it could not be read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import key_ref_uid, parse_policy

SERVICE = "efs"
GLOBAL = False

_ABSENT = ("PolicyNotFound",)


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    efs = ctx.client()

    def detail(fs: dict[str, Any]) -> Resource:
        fs_id = str(fs.get("FileSystemId"))
        arn = fs.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{fs_id}")
        unavailable: list[str] = []
        raw: dict[str, Any] = {"FileSystem": fs}

        pol = ctx.call(
            efs, "describe_file_system_policy", absent=_ABSENT, resource=arn, FileSystemId=fs_id
        )
        policy = parse_policy(pol.data.get("Policy")) if pol.ok else None
        if pol.ok:
            raw["FileSystemPolicy"] = policy
        elif pol.failed:
            unavailable.append("file_system_policy")

        bp = ctx.call(
            efs, "describe_backup_policy", absent=_ABSENT, resource=arn, FileSystemId=fs_id
        )
        backup: dict[str, Any] | None = None
        if bp.ok:
            raw["BackupPolicy"] = bp.data.get("BackupPolicy")
            backup = {"status": (bp.data.get("BackupPolicy") or {}).get("Status")}
        elif bp.failed:
            unavailable.append("backup_policy")

        tags = tags_from_list(fs.get("Tags"))
        kms_key = fs.get("KmsKeyId")
        size = fs.get("SizeInBytes") or {}
        protection = fs.get("FileSystemProtection") or {}
        res = ctx.resource(
            uid=arn,
            type="aws_efs_file_system",
            name=fs.get("Name") or tags.get("Name") or fs_id,
            tags=tags,
            config={
                "id": fs_id,
                "arn": arn,
                "creation_token": fs.get("CreationToken"),
                "creation_time": fs.get("CreationTime"),
                "owner_id": fs.get("OwnerId"),
                "life_cycle_state": fs.get("LifeCycleState"),
                "encrypted": fs.get("Encrypted"),
                "kms_key_id": kms_key,
                "performance_mode": fs.get("PerformanceMode"),
                "throughput_mode": fs.get("ThroughputMode"),
                "provisioned_throughput_in_mibps": fs.get("ProvisionedThroughputInMibps"),
                "availability_zone_name": fs.get("AvailabilityZoneName"),
                "number_of_mount_targets": fs.get("NumberOfMountTargets"),
                "size_in_bytes": size.get("Value"),
                "replication_overwrite_protection": protection.get(
                    "ReplicationOverwriteProtection"
                ),
                "file_system_policy": policy,
                "backup_policy": backup,
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("USES_KEY", key_ref_uid(ctx, kms_key))
        return res

    yield from ctx.map(detail, ctx.pages(efs, "describe_file_systems", "FileSystems"))
