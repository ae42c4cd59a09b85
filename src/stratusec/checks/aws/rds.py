"""RDS checks: DB instance encryption, exposure, backups, Multi-AZ, deletion protection and
minor version upgrades; DB and cluster snapshot encryption and sharing.

Aurora (and Multi-AZ DB cluster) members keep backups, deletion protection and Multi-AZ
on the cluster: for an instance with ``cluster_identifier`` those checks read the
cluster record (``IN_CLUSTER``), and report UNKNOWN when it is not in the inventory.
Read replicas inherit backups and availability from their source and are not judged by
the backup and Multi-AZ checks.
"""

from __future__ import annotations

from typing import Any

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource

_WORLD = ("0.0.0.0/0", "::/0")


def _unread(resource: Resource, *keys: str) -> str | None:
    """The first of ``keys`` that could not be read or is missing; None when all are there."""
    for key in keys:
        if key in resource.unavailable or key not in resource.config:
            return key
    return None


def _cluster(db: Resource, inv: Inventory) -> Resource | None:
    found = inv.related(db, "IN_CLUSTER")
    return found[0] if found else None


def _settings_source(db: Resource, inv: Inventory) -> Resource | Outcome:
    """Where an instance's backup, Multi-AZ and deletion-protection settings live: the
    instance itself, or its Aurora cluster (UNKNOWN when that cluster is not in the
    inventory)."""
    if not db.config.get("cluster_identifier"):
        return db
    cluster = _cluster(db, inv)
    if cluster is None:
        return unknown(
            db,
            f"DB instance {db.name} belongs to cluster {db.config['cluster_identifier']}, "
            "which is not in the inventory.",
        )
    return cluster


def _env(db: Resource) -> str:
    """``" (environment=production)"`` from the usual environment tags, else ``""``."""
    for key in ("environment", "Environment", "env", "Env", "stage"):
        if db.tags.get(key):
            return f" ({key}={db.tags[key]})"
    return ""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _world_open(db: Resource, inv: Inventory) -> list[str]:
    """'<group> allows <port> from <cidr>' for the instance's groups open to the internet
    on the instance's port (or all ports)."""
    port = db.config.get("port")
    out = []
    for sg in inv.related(db, "HAS_SECURITY_GROUP"):
        for rule in sg.config.get("ingress") or []:
            proto = str(rule.get("protocol"))
            lo, hi = rule.get("from_port"), rule.get("to_port")
            covers = proto == "-1" or (
                proto == "tcp"
                and (lo is None or hi is None or port is None or int(lo) <= int(port) <= int(hi))
            )
            if not covers:
                continue
            for cidr in [*(rule.get("cidr_blocks") or []), *(rule.get("ipv6_cidr_blocks") or [])]:
                if cidr in _WORLD:
                    what = "all traffic" if proto == "-1" else f"TCP {port or f'{lo}-{hi}'}"
                    out.append(f"security group {sg.name} allows {what} from {cidr}")
    return out


def _public_subnets(db: Resource, inv: Inventory) -> list[str] | None:
    subnets = inv.related(db, "IN_SUBNET")
    if not subnets:
        return None
    return [s.name for s in subnets if s.config.get("public") is True]


@resource_check(
    title="RDS instance storage is encrypted",
    description="The DB instance's storage, automated backups, read replicas and snapshots "
    "are encrypted at rest with KMS.",
    risk="Unencrypted database storage and snapshots expose the data to anyone who obtains "
    "a snapshot copy or the underlying media, and cannot be protected with KMS key "
    "policies; snapshots of it cannot be encrypted after the fact without a copy.",
    severity="medium",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Encryption can only be chosen at creation: snapshot the instance, copy "
        "the snapshot with a KMS key, restore a new instance from the encrypted copy and "
        "switch the application over.",
        "cli": "aws rds create-db-snapshot --db-instance-identifier DB_ID "
        "--db-snapshot-identifier DB_ID-pre-encrypt\n"
        "aws rds copy-db-snapshot --source-db-snapshot-identifier DB_ID-pre-encrypt "
        "--target-db-snapshot-identifier DB_ID-encrypted --kms-key-id KMS_KEY_ARN\n"
        "aws rds restore-db-instance-from-db-snapshot --db-instance-identifier NEW_DB_ID "
        "--db-snapshot-identifier DB_ID-encrypted",
        "terraform": 'resource "aws_db_instance" "this" {\n'
        "  # ...\n"
        "  storage_encrypted = true\n"
        "  kms_key_id        = aws_kms_key.rds.arn\n}",
        "console": "RDS > Snapshots > Take snapshot > Actions > Copy snapshot > Enable "
        "encryption > Restore snapshot to a new instance.",
    },
)
def rds_instance_storage_encrypted(db: Resource, inv: Inventory) -> Outcome:
    enc = None if _unread(db, "storage_encrypted") else db.config.get("storage_encrypted")
    if enc is None:
        return unknown(db, f"The storage encryption of DB instance {db.name} is not reported.")
    if enc:
        return ok(
            db,
            f"DB instance {db.name} is encrypted with {db.config.get('kms_key_id')}.",
            kms_key_id=db.config.get("kms_key_id"),
        )
    return fail(
        db,
        f"DB instance {db.name} ({db.config.get('engine')}, "
        f"{db.config.get('allocated_storage')} GiB{_env(db).replace(' (', ', ').rstrip(')')}) "
        "is not encrypted at rest.",
        engine=db.config.get("engine"),
    )


@resource_check(
    title="RDS instance has automatic minor version upgrades on",
    description="AutoMinorVersionUpgrade is on, so RDS applies minor engine versions "
    "(which carry security fixes) in the maintenance window.",
    risk="Without automatic minor upgrades the engine stays on versions with known, "
    "published vulnerabilities until someone upgrades by hand.",
    severity="low",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["patching"],
    remediation={
        "summary": "Turn on auto minor version upgrade (applied in the maintenance window).",
        "cli": "aws rds modify-db-instance --db-instance-identifier DB_ID "
        "--auto-minor-version-upgrade --apply-immediately",
        "terraform": 'resource "aws_db_instance" "this" {\n'
        "  # ...\n"
        "  auto_minor_version_upgrade = true\n}",
        "console": "RDS > Databases > instance > Modify > Maintenance > Enable auto minor "
        "version upgrade > Continue.",
    },
)
def rds_instance_auto_minor_version_upgrade(db: Resource, inv: Inventory) -> Outcome:
    value = (
        None
        if _unread(db, "auto_minor_version_upgrade")
        else db.config.get("auto_minor_version_upgrade")
    )
    if value is None:
        return unknown(db, f"The auto minor version upgrade of {db.name} is not reported.")
    if value:
        return ok(db, f"DB instance {db.name} upgrades minor versions automatically.")
    return fail(
        db,
        f"DB instance {db.name} ({db.config.get('engine')} {db.config.get('engine_version')}) "
        "does not upgrade minor versions automatically.",
        engine_version=db.config.get("engine_version"),
    )


@resource_check(
    title="RDS instance is not publicly accessible",
    description="PubliclyAccessible is off, so the instance's endpoint resolves to a private "
    "address only and the instance gets no public IP.",
    risk="A publicly accessible database is one security-group rule away from the internet "
    "(or already there): it is exposed to credential brute force and engine exploits.",
    severity="high",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["network", "internet-exposed", "data-protection"],
    remediation={
        "summary": "Turn off public accessibility and reach the database from inside the VPC "
        "(application subnets, VPN, bastion or Session Manager port forwarding); also "
        "restrict its security group to the application's group.",
        "cli": "aws rds modify-db-instance --db-instance-identifier DB_ID "
        "--no-publicly-accessible --apply-immediately",
        "terraform": 'resource "aws_db_instance" "this" {\n'
        "  # ...\n"
        "  publicly_accessible = false\n"
        "  db_subnet_group_name = aws_db_subnet_group.private.name\n}",
        "console": "RDS > Databases > instance > Modify > Connectivity > Additional "
        "configuration > Not publicly accessible > Continue > Apply immediately.",
    },
)
def rds_instance_not_public(db: Resource, inv: Inventory) -> Outcome:
    value = None if _unread(db, "publicly_accessible") else db.config.get("publicly_accessible")
    if value is None:
        return unknown(db, f"Whether DB instance {db.name} is publicly accessible is unknown.")
    if not value:
        return ok(db, f"DB instance {db.name} is not publicly accessible.")
    open_rules = _world_open(db, inv)
    public_subnets = _public_subnets(db, inv)
    details = []
    if open_rules:
        details.append("; ".join(open_rules))
    if public_subnets:
        details.append(f"subnets routed to an internet gateway: {', '.join(public_subnets)}")
    endpoint = (db.config.get("endpoint") or {}).get("address")
    return fail(
        db,
        f"DB instance {db.name}{_env(db)} is publicly accessible"
        + (f" at {endpoint}" if endpoint else "")
        + (f" ({'; '.join(details)})" if details else "")
        + ".",
        endpoint=endpoint,
        world_open_security_groups=open_rules,
        public_subnets=public_subnets,
    )


@resource_check(
    title="RDS instance has automated backups",
    description="The backup retention period is at least one day, so RDS takes daily "
    "snapshots and keeps transaction logs for point-in-time restore. Read replicas are not "
    "judged; cluster members are judged by their cluster's retention.",
    risk="With backups off (retention 0) a deletion, corruption or ransomware attack "
    "destroys the data with no way to restore it.",
    severity="high",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["resilience", "backup"],
    remediation={
        "summary": "Set a backup retention period (7 to 35 days) and a backup window.",
        "cli": "aws rds modify-db-instance --db-instance-identifier DB_ID "
        "--backup-retention-period 7 --preferred-backup-window 03:00-04:00 "
        "--apply-immediately",
        "terraform": 'resource "aws_db_instance" "this" {\n'
        "  # ...\n"
        "  backup_retention_period = 7\n"
        '  backup_window           = "03:00-04:00"\n}',
        "console": "RDS > Databases > instance > Modify > Backup > Backup retention period: "
        "7 days > Continue.",
    },
)
def rds_instance_backups_enabled(db: Resource, inv: Inventory) -> Outcome | None:
    if db.config.get("replicate_source_db"):
        return None
    source = _settings_source(db, inv)
    if isinstance(source, Outcome):
        return source
    days = (
        None
        if _unread(source, "backup_retention_period")
        else source.config.get("backup_retention_period")
    )
    via = f" (cluster {source.name})" if source is not db else ""
    if days is None:
        return unknown(db, f"The backup retention of {db.name}{via} is not reported.")
    if int(days) > 0:
        return ok(
            db,
            f"DB instance {db.name}{via} keeps automated backups for {days} days.",
            backup_retention_period=days,
        )
    return fail(
        db,
        f"DB instance {db.name}{_env(db)}{via} has automated backups off (retention 0 days).",
        backup_retention_period=days,
    )


@resource_check(
    title="RDS instance is Multi-AZ",
    description="The DB instance (or, for a cluster member, its cluster) runs with a standby "
    "in another Availability Zone. Applies to every standalone and cluster instance, not "
    "only production-tagged ones: the tag is not reliable enough to scope a check; read "
    "replicas are not judged.",
    risk="A single-AZ database goes down with its Availability Zone or host and recovery "
    "means a restore from backup: hours of outage and possible data loss.",
    severity="medium",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["resilience"],
    remediation={
        "summary": "Convert the instance to Multi-AZ (a short I/O freeze while the standby "
        "is created; do it in the maintenance window).",
        "cli": "aws rds modify-db-instance --db-instance-identifier DB_ID --multi-az "
        "--apply-immediately",
        "terraform": 'resource "aws_db_instance" "this" {\n  # ...\n  multi_az = true\n}',
        "console": "RDS > Databases > instance > Modify > Availability & durability > "
        "Create a standby instance > Continue.",
    },
)
def rds_instance_multi_az(db: Resource, inv: Inventory) -> Outcome | None:
    if db.config.get("replicate_source_db"):
        return None
    source = _settings_source(db, inv)
    if isinstance(source, Outcome):
        return source
    value = None if _unread(source, "multi_az") else source.config.get("multi_az")
    via = f" (cluster {source.name})" if source is not db else ""
    if value is None:
        return unknown(db, f"The Multi-AZ setting of {db.name}{via} is not reported.")
    if value:
        return ok(db, f"DB instance {db.name}{via} is Multi-AZ.")
    return fail(
        db,
        f"DB instance {db.name}{_env(db)}{via} runs in a single Availability Zone "
        f"({db.config.get('availability_zone')}).",
        availability_zone=db.config.get("availability_zone"),
        environment=_env(db).strip(" ()") or None,
    )


@resource_check(
    title="RDS instance has deletion protection",
    description="Deletion protection is on for the DB instance (for a cluster member: on "
    "its cluster), so it cannot be deleted until the setting is turned off.",
    risk="Without it one API call (a mistaken Terraform destroy, a compromised principal) "
    "deletes the database.",
    severity="medium",
    service="rds",
    resource_types=["aws_db_instance"],
    categories=["resilience"],
    remediation={
        "summary": "Turn on deletion protection.",
        "cli": "aws rds modify-db-instance --db-instance-identifier DB_ID "
        "--deletion-protection --apply-immediately\n"
        "aws rds modify-db-cluster --db-cluster-identifier CLUSTER_ID --deletion-protection "
        "--apply-immediately   # cluster members",
        "terraform": 'resource "aws_db_instance" "this" {\n'
        "  # ...\n"
        "  deletion_protection = true\n}",
        "console": "RDS > Databases > instance (or cluster) > Modify > Deletion protection > "
        "Enable > Continue.",
    },
)
def rds_instance_deletion_protection(db: Resource, inv: Inventory) -> Outcome:
    source = _settings_source(db, inv)
    if isinstance(source, Outcome):
        return source
    value = (
        None if _unread(source, "deletion_protection") else source.config.get("deletion_protection")
    )
    via = f" (cluster {source.name})" if source is not db else ""
    if value is None:
        return unknown(db, f"The deletion protection of {db.name}{via} is not reported.")
    if value:
        return ok(db, f"DB instance {db.name}{via} has deletion protection.")
    return fail(db, f"DB instance {db.name}{_env(db)}{via} has no deletion protection.")


# -- snapshots --------------------------------------------------------------------------------

_SNAPSHOT_TYPES = ["aws_db_snapshot", "aws_db_cluster_snapshot"]


def _snap_kind(snap: Resource) -> str:
    return "cluster snapshot" if snap.type == "aws_db_cluster_snapshot" else "DB snapshot"


def _snap_source(snap: Resource) -> Any:
    return snap.config.get("db_instance_identifier") or snap.config.get("db_cluster_identifier")


@resource_check(
    title="RDS snapshot is not public",
    description="No manual DB or cluster snapshot has the restore attribute 'all', which "
    "would let every AWS account copy and restore it.",
    risk="A public snapshot can be restored by anyone with an AWS account: the full "
    "database, with its users' password hashes, is leaked.",
    severity="critical",
    service="rds",
    resource_types=_SNAPSHOT_TYPES,
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Remove 'all' from the snapshot's restore attribute (share with named "
        "accounts only, and only encrypted snapshots).",
        "cli": "aws rds modify-db-snapshot-attribute --db-snapshot-identifier SNAPSHOT_ID "
        "--attribute-name restore --values-to-remove all\n"
        "aws rds modify-db-cluster-snapshot-attribute --db-cluster-snapshot-identifier "
        "SNAPSHOT_ID --attribute-name restore --values-to-remove all",
        "terraform": "# Terraform does not manage snapshot sharing; remove 'all' with the CLI "
        "and guard with an SCP denying rds:ModifyDBSnapshotAttribute with "
        'rds:AddValuesToRestore = "all".',
        "console": "RDS > Snapshots > snapshot > Actions > Share snapshot > DB snapshot "
        "visibility: Private > Save.",
    },
)
def rds_snapshot_not_public(snap: Resource, inv: Inventory) -> Outcome:
    kind = _snap_kind(snap)
    if _unread(snap, "public") or snap.config.get("public") is None:
        return unknown(snap, f"The sharing of {kind} {snap.name} could not be read.")
    shared = snap.config.get("shared_accounts") or []
    if snap.config.get("public"):
        return fail(
            snap,
            f"{_cap(kind)} {snap.name} (of {_snap_source(snap)}) is public: any AWS "
            "account can restore it.",
            shared_accounts=shared,
        )
    extra = f"; shared with {', '.join(shared)}" if shared else ""
    return ok(snap, f"{_cap(kind)} {snap.name} is not public{extra}.", shared_accounts=shared)


@resource_check(
    title="RDS snapshot is encrypted",
    description="The DB or cluster snapshot is encrypted with KMS.",
    risk="An unencrypted snapshot can be shared or copied and restored without any KMS key "
    "permission; its data is protected by nothing but the snapshot's sharing settings.",
    severity="medium",
    service="rds",
    resource_types=_SNAPSHOT_TYPES,
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Copy the snapshot with a KMS key and delete the unencrypted one; encrypt "
        "the source database so future snapshots are encrypted.",
        "cli": "aws rds copy-db-snapshot --source-db-snapshot-identifier SNAPSHOT_ID "
        "--target-db-snapshot-identifier SNAPSHOT_ID-encrypted --kms-key-id KMS_KEY_ARN\n"
        "aws rds delete-db-snapshot --db-snapshot-identifier SNAPSHOT_ID",
        "terraform": 'resource "aws_db_snapshot_copy" "encrypted" {\n'
        '  source_db_snapshot_identifier = "SNAPSHOT_ARN"\n'
        '  target_db_snapshot_identifier = "SNAPSHOT_ID-encrypted"\n'
        "  kms_key_id                    = aws_kms_key.rds.arn\n}",
        "console": "RDS > Snapshots > snapshot > Actions > Copy snapshot > Enable encryption.",
    },
)
def rds_snapshot_encrypted(snap: Resource, inv: Inventory) -> Outcome:
    kind = _snap_kind(snap)
    key = "storage_encrypted" if snap.type == "aws_db_cluster_snapshot" else "encrypted"
    value = None if _unread(snap, key) else snap.config.get(key)
    if value is None:
        return unknown(snap, f"The encryption of {kind} {snap.name} is not reported.")
    if value:
        return ok(snap, f"{_cap(kind)} {snap.name} is encrypted.")
    return fail(
        snap,
        f"{_cap(kind)} {snap.name} ({snap.config.get('snapshot_type')}, of "
        f"{_snap_source(snap)}) is not encrypted.",
        snapshot_type=snap.config.get("snapshot_type"),
    )
