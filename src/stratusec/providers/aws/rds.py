"""RDS: DB instances, DB subnet groups, Aurora/Multi-AZ DB clusters, and DB / cluster
snapshots (with their sharing attributes), per region.

Network placement comes from each instance's DB subnet group (subnets, VPC) and VPC
security groups. Snapshot sharing comes from the snapshot's ``restore`` attribute:
``all`` means public, any account id means shared with that account. Automated
snapshots cannot be shared (AWS refuses it), so no attribute call is made for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn, key_ref_uid

SERVICE = "rds"
GLOBAL = False

# Snapshot types for which AWS never allows sharing (no attribute call needed).
_UNSHAREABLE_SNAPSHOT_TYPES = frozenset({"automated", "awsbackup"})


def _subnet_group(group: dict[str, Any] | None) -> dict[str, Any] | None:
    if not group:
        return None
    return {
        "name": group.get("DBSubnetGroupName"),
        "arn": group.get("DBSubnetGroupArn"),
        "vpc_id": group.get("VpcId"),
        "subnet_ids": [
            s["SubnetIdentifier"] for s in group.get("Subnets") or [] if s.get("SubnetIdentifier")
        ],
        "availability_zones": sorted(
            {
                (s.get("SubnetAvailabilityZone") or {}).get("Name")
                for s in group.get("Subnets") or []
                if (s.get("SubnetAvailabilityZone") or {}).get("Name")
            }
        ),
    }


def _place(
    ctx: CollectorContext, res: Resource, group: dict[str, Any] | None, sg_ids: list[str]
) -> None:
    """IN_SUBNET / IN_VPC from a normalized subnet group, HAS_SECURITY_GROUP per group id."""
    for sg in sg_ids:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
    if group:
        for sn in group.get("subnet_ids") or []:
            res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", sn))
        res.relate("IN_VPC", ec2_arn(ctx, "vpc", group.get("vpc_id")))


def _master_secret(item: dict[str, Any]) -> dict[str, Any] | None:
    sec = item.get("MasterUserSecret")
    if not sec:
        return None
    return {
        "secret_arn": sec.get("SecretArn"),
        "secret_status": sec.get("SecretStatus"),
        "kms_key_id": sec.get("KmsKeyId"),
    }


def _iam_roles(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "role_arn": r.get("RoleArn"),
            "feature_name": r.get("FeatureName"),
            "status": r.get("Status"),
        }
        for r in item.get("AssociatedRoles") or []
    ]


def _sharing(attrs: list[dict[str, Any]]) -> tuple[bool, list[str]]:
    """(public, shared_accounts) from a snapshot's attribute list."""
    values: list[str] = []
    for a in attrs:
        if a.get("AttributeName") == "restore":
            values.extend(str(v) for v in a.get("AttributeValues") or [])
    return "all" in values, sorted(v for v in values if v != "all")


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    rds = ctx.client()

    # -- DB subnet groups (also resolve cluster placement, which names the group only) ---
    subnet_groups: dict[str, dict[str, Any]] = {}
    groups = ctx.listing(rds, "describe_db_subnet_groups", "DBSubnetGroups")
    for g in groups.items:
        norm = _subnet_group(g) or {}
        name = norm.get("name") or ""
        subnet_groups[name] = norm
        res = ctx.resource(
            uid=g.get("DBSubnetGroupArn") or ctx.arn("rds", f"subgrp:{name}"),
            type="aws_db_subnet_group",
            name=name,
            config={
                "name": name,
                "arn": g.get("DBSubnetGroupArn"),
                "description": g.get("DBSubnetGroupDescription"),
                "vpc_id": norm.get("vpc_id"),
                "subnet_ids": norm.get("subnet_ids"),
                "status": g.get("SubnetGroupStatus"),
                "supported_network_types": g.get("SupportedNetworkTypes"),
            },
            raw={"DBSubnetGroup": g},
        )
        _place(ctx, res, norm, [])
        yield res
    groups_listed = groups.ok
    del groups

    # -- DB instances ------------------------------------------------------------------
    # cluster id -> [(instance id, publicly accessible)], to judge cluster exposure.
    cluster_members: dict[str, list[tuple[str, bool | None]]] = defaultdict(list)

    def tags_of(arn: str) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
        tr = ctx.call(rds, "list_tags_for_resource", ResourceName=arn, resource=arn)
        if not tr.ok:
            return None, []
        return tags_from_list(tr.data.get("TagList")), tr.data.get("TagList") or []

    instances = ctx.listing(rds, "describe_db_instances", "DBInstances")
    for db in instances.items:
        ident = db.get("DBInstanceIdentifier") or ""
        arn = db.get("DBInstanceArn") or ctx.arn("rds", f"db:{ident}")
        unavailable: list[str] = []
        raw: dict[str, Any] = {"DBInstance": db}
        if "TagList" in db:
            tags: dict[str, str] | None = tags_from_list(db.get("TagList"))
        else:  # older API shapes: tags need their own call
            tags, tag_list = tags_of(arn)
            if tags is None:
                unavailable.append("tags")
            else:
                raw["ListTagsForResource"] = tag_list
        group = _subnet_group(db.get("DBSubnetGroup"))
        sg_ids = [
            g["VpcSecurityGroupId"]
            for g in db.get("VpcSecurityGroups") or []
            if g.get("VpcSecurityGroupId")
        ]
        endpoint = db.get("Endpoint") or {}
        cluster_id = db.get("DBClusterIdentifier")
        if cluster_id:
            cluster_members[cluster_id].append((ident, db.get("PubliclyAccessible")))
        pi_key = db.get("PerformanceInsightsKMSKeyId")
        res = ctx.resource(
            uid=arn,
            type="aws_db_instance",
            name=ident,
            tags=tags or {},
            config={
                "identifier": ident,
                "arn": arn,
                "resource_id": db.get("DbiResourceId"),
                "engine": db.get("Engine"),
                "engine_version": db.get("EngineVersion"),
                "instance_class": db.get("DBInstanceClass"),
                "status": db.get("DBInstanceStatus"),
                "cluster_identifier": cluster_id,
                "replicate_source_db": db.get("ReadReplicaSourceDBInstanceIdentifier"),
                "publicly_accessible": db.get("PubliclyAccessible"),
                "storage_encrypted": db.get("StorageEncrypted"),
                "kms_key_id": db.get("KmsKeyId"),
                "storage_type": db.get("StorageType"),
                "allocated_storage": db.get("AllocatedStorage"),
                "max_allocated_storage": db.get("MaxAllocatedStorage"),
                "iops": db.get("Iops"),
                "multi_az": db.get("MultiAZ"),
                "availability_zone": db.get("AvailabilityZone"),
                "backup_retention_period": db.get("BackupRetentionPeriod"),
                "backup_window": db.get("PreferredBackupWindow"),
                "maintenance_window": db.get("PreferredMaintenanceWindow"),
                "deletion_protection": db.get("DeletionProtection"),
                "auto_minor_version_upgrade": db.get("AutoMinorVersionUpgrade"),
                "iam_database_authentication_enabled": db.get("IAMDatabaseAuthenticationEnabled"),
                "username": db.get("MasterUsername"),
                "manage_master_user_password": bool(db.get("MasterUserSecret")),
                "master_user_secret": _master_secret(db),
                "endpoint": {"address": endpoint.get("Address"), "port": endpoint.get("Port")}
                if endpoint
                else None,
                "port": endpoint.get("Port") or db.get("DbInstancePort"),
                "db_subnet_group_name": (group or {}).get("name"),
                "db_subnet_group": group,
                "vpc_security_group_ids": sg_ids,
                "network_type": db.get("NetworkType"),
                "ca_cert_identifier": db.get("CACertificateIdentifier"),
                "certificate_valid_till": (db.get("CertificateDetails") or {}).get("ValidTill"),
                "copy_tags_to_snapshot": db.get("CopyTagsToSnapshot"),
                "parameter_group_name": [
                    p.get("DBParameterGroupName") for p in db.get("DBParameterGroups") or []
                ],
                "option_group_name": [
                    o.get("OptionGroupName") for o in db.get("OptionGroupMemberships") or []
                ],
                "enabled_cloudwatch_logs_exports": db.get("EnabledCloudwatchLogsExports") or [],
                "monitoring_interval": db.get("MonitoringInterval"),
                "monitoring_role_arn": db.get("MonitoringRoleArn"),
                "performance_insights_enabled": db.get("PerformanceInsightsEnabled"),
                "performance_insights_kms_key_id": pi_key,
                "iam_roles": _iam_roles(db),
                "db_security_groups": [
                    g.get("DBSecurityGroupName") for g in db.get("DBSecurityGroups") or []
                ],
                "domain": [d.get("Domain") for d in db.get("DomainMemberships") or []],
                "instance_create_time": db.get("InstanceCreateTime"),
            },
            raw=raw,
            unavailable=unavailable,
        )
        _place(ctx, res, group, sg_ids)
        if db.get("StorageEncrypted"):
            res.relate("USES_KEY", key_ref_uid(ctx, db.get("KmsKeyId")), purpose="storage")
        res.relate("USES_KEY", key_ref_uid(ctx, pi_key), purpose="performance_insights")
        if cluster_id:
            res.relate("IN_CLUSTER", ctx.arn("rds", f"cluster:{cluster_id}"))
        for role in _iam_roles(db):
            res.relate("RUNS_AS", role["role_arn"], feature_name=role["feature_name"])
        yield res
    instances_listed = instances.ok
    del instances

    # -- DB clusters (Aurora and Multi-AZ DB clusters) -----------------------------------
    for cl in ctx.pages(rds, "describe_db_clusters", "DBClusters"):
        ident = cl.get("DBClusterIdentifier") or ""
        arn = cl.get("DBClusterArn") or ctx.arn("rds", f"cluster:{ident}")
        unavailable = []
        group_name = cl.get("DBSubnetGroup")
        group = subnet_groups.get(group_name) if group_name else None
        if group_name and group is None and not groups_listed:
            unavailable.append("db_subnet_group")
        sg_ids = [
            g["VpcSecurityGroupId"]
            for g in cl.get("VpcSecurityGroups") or []
            if g.get("VpcSecurityGroupId")
        ]
        members = [m.get("DBInstanceIdentifier") for m in cl.get("DBClusterMembers") or []]
        public_members: list[str] | None
        if instances_listed:
            public_members = sorted(i for i, pub in cluster_members.get(ident, []) if pub)
        else:
            public_members = None
            unavailable.append("publicly_accessible_members")
        res = ctx.resource(
            uid=arn,
            type="aws_rds_cluster",
            name=ident,
            tags=tags_from_list(cl.get("TagList")),
            config={
                "cluster_identifier": ident,
                "arn": arn,
                "cluster_resource_id": cl.get("DbClusterResourceId"),
                "engine": cl.get("Engine"),
                "engine_version": cl.get("EngineVersion"),
                "engine_mode": cl.get("EngineMode"),
                "status": cl.get("Status"),
                "storage_encrypted": cl.get("StorageEncrypted"),
                "kms_key_id": cl.get("KmsKeyId"),
                "storage_type": cl.get("StorageType"),
                "deletion_protection": cl.get("DeletionProtection"),
                "backup_retention_period": cl.get("BackupRetentionPeriod"),
                "preferred_backup_window": cl.get("PreferredBackupWindow"),
                "preferred_maintenance_window": cl.get("PreferredMaintenanceWindow"),
                "iam_database_authentication_enabled": cl.get("IAMDatabaseAuthenticationEnabled"),
                "master_username": cl.get("MasterUsername"),
                "manage_master_user_password": bool(cl.get("MasterUserSecret")),
                "master_user_secret": _master_secret(cl),
                "endpoint": cl.get("Endpoint"),
                "reader_endpoint": cl.get("ReaderEndpoint"),
                "port": cl.get("Port"),
                "db_subnet_group_name": group_name,
                "db_subnet_group": group,
                "vpc_security_group_ids": sg_ids,
                "network_type": cl.get("NetworkType"),
                "availability_zones": cl.get("AvailabilityZones"),
                "multi_az": cl.get("MultiAZ"),
                "publicly_accessible": cl.get("PubliclyAccessible"),
                "cluster_members": members,
                "publicly_accessible_members": public_members,
                "copy_tags_to_snapshot": cl.get("CopyTagsToSnapshot"),
                "enabled_cloudwatch_logs_exports": cl.get("EnabledCloudwatchLogsExports") or [],
                "enable_http_endpoint": cl.get("HttpEndpointEnabled"),
                "backtrack_window": cl.get("BacktrackWindow"),
                "auto_minor_version_upgrade": cl.get("AutoMinorVersionUpgrade"),
                "iam_roles": _iam_roles(cl),
                "global_cluster_identifier": cl.get("GlobalClusterIdentifier"),
                "cluster_create_time": cl.get("ClusterCreateTime"),
            },
            raw={"DBCluster": cl},
            unavailable=unavailable,
        )
        _place(ctx, res, group, sg_ids)
        if cl.get("StorageEncrypted"):
            res.relate("USES_KEY", key_ref_uid(ctx, cl.get("KmsKeyId")), purpose="storage")
        for role in _iam_roles(cl):
            res.relate("RUNS_AS", role["role_arn"], feature_name=role["feature_name"])
        yield res
    cluster_members.clear()

    # -- DB snapshots (owned: manual + automated) --------------------------------------
    def snapshot(s: dict[str, Any]) -> Resource:
        ident = s.get("DBSnapshotIdentifier") or ""
        arn = s.get("DBSnapshotArn") or ctx.arn("rds", f"snapshot:{ident}")
        public, shared, unavailable, raw = _snapshot_sharing(
            ctx, rds, s, "describe_db_snapshot_attributes", "DBSnapshotIdentifier", ident, arn
        )
        raw["DBSnapshot"] = s
        res = ctx.resource(
            uid=arn,
            type="aws_db_snapshot",
            name=ident,
            tags=tags_from_list(s.get("TagList")),
            config={
                "db_snapshot_identifier": ident,
                "db_snapshot_arn": arn,
                "db_instance_identifier": s.get("DBInstanceIdentifier"),
                "snapshot_type": s.get("SnapshotType"),
                "status": s.get("Status"),
                "engine": s.get("Engine"),
                "engine_version": s.get("EngineVersion"),
                "encrypted": s.get("Encrypted"),
                "kms_key_id": s.get("KmsKeyId"),
                "allocated_storage": s.get("AllocatedStorage"),
                "storage_type": s.get("StorageType"),
                "port": s.get("Port"),
                "availability_zone": s.get("AvailabilityZone"),
                "vpc_id": s.get("VpcId"),
                "iam_database_authentication_enabled": s.get("IAMDatabaseAuthenticationEnabled"),
                "source_db_snapshot_identifier": s.get("SourceDBSnapshotIdentifier"),
                "source_region": s.get("SourceRegion"),
                "snapshot_create_time": s.get("SnapshotCreateTime"),
                "public": public,
                "shared_accounts": shared,
            },
            raw=raw,
            unavailable=unavailable,
        )
        if s.get("DBInstanceIdentifier"):
            res.relate("SNAPSHOT_OF", ctx.arn("rds", f"db:{s['DBInstanceIdentifier']}"))
        if s.get("Encrypted"):
            res.relate("USES_KEY", key_ref_uid(ctx, s.get("KmsKeyId")), purpose="storage")
        return res

    yield from ctx.map(snapshot, ctx.pages(rds, "describe_db_snapshots", "DBSnapshots"))

    # -- DB cluster snapshots ------------------------------------------------------------
    def cluster_snapshot(s: dict[str, Any]) -> Resource:
        ident = s.get("DBClusterSnapshotIdentifier") or ""
        arn = s.get("DBClusterSnapshotArn") or ctx.arn("rds", f"cluster-snapshot:{ident}")
        public, shared, unavailable, raw = _snapshot_sharing(
            ctx,
            rds,
            s,
            "describe_db_cluster_snapshot_attributes",
            "DBClusterSnapshotIdentifier",
            ident,
            arn,
        )
        raw["DBClusterSnapshot"] = s
        res = ctx.resource(
            uid=arn,
            type="aws_db_cluster_snapshot",
            name=ident,
            tags=tags_from_list(s.get("TagList")),
            config={
                "db_cluster_snapshot_identifier": ident,
                "db_cluster_snapshot_arn": arn,
                "db_cluster_identifier": s.get("DBClusterIdentifier"),
                "snapshot_type": s.get("SnapshotType"),
                "status": s.get("Status"),
                "engine": s.get("Engine"),
                "engine_version": s.get("EngineVersion"),
                "storage_encrypted": s.get("StorageEncrypted"),
                "kms_key_id": s.get("KmsKeyId"),
                "allocated_storage": s.get("AllocatedStorage"),
                "port": s.get("Port"),
                "vpc_id": s.get("VpcId"),
                "source_db_cluster_snapshot_arn": s.get("SourceDBClusterSnapshotArn"),
                "snapshot_create_time": s.get("SnapshotCreateTime"),
                "public": public,
                "shared_accounts": shared,
            },
            raw=raw,
            unavailable=unavailable,
        )
        if s.get("DBClusterIdentifier"):
            res.relate("SNAPSHOT_OF", ctx.arn("rds", f"cluster:{s['DBClusterIdentifier']}"))
        if s.get("StorageEncrypted"):
            res.relate("USES_KEY", key_ref_uid(ctx, s.get("KmsKeyId")), purpose="storage")
        return res

    yield from ctx.map(
        cluster_snapshot,
        ctx.pages(rds, "describe_db_cluster_snapshots", "DBClusterSnapshots"),
    )


def _snapshot_sharing(
    ctx: CollectorContext,
    rds: Any,
    snap: dict[str, Any],
    operation: str,
    id_param: str,
    ident: str,
    arn: str,
) -> tuple[bool | None, list[str] | None, list[str], dict[str, Any]]:
    """(public, shared_accounts, unavailable, raw) for one DB or cluster snapshot."""
    if snap.get("SnapshotType") in _UNSHAREABLE_SNAPSHOT_TYPES:
        return False, [], [], {}
    resp = ctx.call(rds, operation, resource=arn, **{id_param: ident})
    if not resp.ok:
        return None, None, ["public", "shared_accounts"], {}
    result: dict[str, Any] = next(
        (v for k, v in resp.data.items() if k.endswith("AttributesResult")), {}
    )
    attrs: list[dict[str, Any]] = (
        next((v for k, v in result.items() if k.endswith("Attributes")), []) or []
    )
    public, shared = _sharing(attrs)
    return public, shared, [], {operation: result}
