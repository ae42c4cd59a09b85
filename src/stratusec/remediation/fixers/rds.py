"""RDS: a public DB or cluster snapshot made private; a DB instance made private, given
automated backups, given deletion protection (on its cluster for Aurora members)."""

from __future__ import annotations

from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

DAYS_MIN, DAYS_MAX, DAYS_DEFAULT = 1, 35, 7
_GONE = frozenset({"deleting", "deleted", "failed", "incompatible-restore"})


def _ident(res: Resource) -> tuple[str, str]:
    ident = str(res.config.get("identifier") or res.name)
    return ident, str(res.config.get("arn") or res.uid)


def _modifiable(res: Resource) -> None:
    status = res.config.get("status")
    if status in _GONE:
        raise FixerError(f"DB instance {res.name} is {status}: it cannot be modified")


def _tf(kind: str, ident: str, body: str) -> str:
    return f'# {kind} {ident}\nresource "aws_{kind}" "this" {{\n  # ...\n{body}}}\n'


def _target(res: Resource, lookup: Lookup) -> tuple[Resource | None, str, str]:
    """Where the instance's backup and deletion-protection settings live: (cluster or
    None for the instance itself, identifier, ARN)."""
    cid = res.config.get("cluster_identifier")
    if not cid:
        ident, arn = _ident(res)
        return None, ident, arn
    cluster = next(
        (
            c
            for c in lookup("aws_rds_cluster")
            if c.region == res.region and (c.config.get("cluster_identifier") or c.name) == cid
        ),
        None,
    )
    if cluster is None:
        raise FixerError(
            f"DB instance {res.name} keeps this setting on its cluster {cid}, which is not in "
            "the latest scan; scan rds again"
        )
    return cluster, str(cid), str(cluster.config.get("arn") or cluster.uid)


def _modify(
    cluster: Resource | None, ident: str, arn: str, params: dict[str, Any], description: str
) -> ApiCall:
    if cluster is None:
        return ApiCall(
            "rds",
            "modify_db_instance",
            {"DBInstanceIdentifier": ident, **params, "ApplyImmediately": True},
            description,
            iam_action="rds:ModifyDBInstance",
            resource_arn=arn,
        )
    return ApiCall(
        "rds",
        "modify_db_cluster",
        {"DBClusterIdentifier": ident, **params, "ApplyImmediately": True},
        description,
        iam_action="rds:ModifyDBCluster",
        resource_arn=arn,
    )


# -- snapshots ---------------------------------------------------------------------------


@fixer(
    "rds_snapshot_not_public",
    id="rds_snapshot_private",
    title="Make a public RDS DB or cluster snapshot private",
)
def snapshot_private(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    cluster = res.type == "aws_db_cluster_snapshot"
    if cluster:
        ident = str(res.config.get("db_cluster_snapshot_identifier") or res.name)
        arn = str(res.config.get("db_cluster_snapshot_arn") or res.uid)
        op, id_param = "modify_db_cluster_snapshot_attribute", "DBClusterSnapshotIdentifier"
        action, kind = "rds:ModifyDBClusterSnapshotAttribute", "cluster snapshot"
        cli = "modify-db-cluster-snapshot-attribute --db-cluster-snapshot-identifier"
    else:
        ident = str(res.config.get("db_snapshot_identifier") or res.name)
        arn = str(res.config.get("db_snapshot_arn") or res.uid)
        op, id_param = "modify_db_snapshot_attribute", "DBSnapshotIdentifier"
        action, kind = "rds:ModifyDBSnapshotAttribute", "DB snapshot"
        cli = "modify-db-snapshot-attribute --db-snapshot-identifier"
    if "public" in res.unavailable or res.config.get("public") is None:
        raise FixerError(
            f"the sharing of {kind} {ident} could not be read "
            f"({action.replace('Modify', 'Describe')}s); scan again with that permission"
        )
    if not res.config.get("public"):
        raise FixerError(f"{kind} {ident} is not public any more; scan again")
    shared = list(res.config.get("shared_accounts") or [])
    notes = ["Accounts that restored it through its public listing lose access to it."]
    if shared:
        notes.append(f"It stays shared with account(s) {', '.join(shared)}.")
    return FixSpec(
        title=f"Make {kind} {ident} private",
        calls=[
            ApiCall(
                "rds",
                op,
                {id_param: ident, "AttributeName": "restore", "ValuesToRemove": ["all"]},
                "remove 'all' from the restore attribute",
                iam_action=action,
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "rds",
                op,
                {id_param: ident, "AttributeName": "restore", "ValuesToAdd": ["all"]},
                "make the snapshot public again",
                iam_action=action,
                resource_arn=arn,
            )
        ],
        after={"public": False, "shared_accounts": shared},
        terraform=(
            f"# {kind} {ident}: Terraform does not manage snapshot sharing; run\n"
            f"#   aws rds {cli} {ident} --attribute-name restore --values-to-remove all\n"
            "# and guard with an SCP that denies rds:ModifyDBSnapshotAttribute and\n"
            '# rds:ModifyDBClusterSnapshotAttribute when rds:AddValuesToRestore is "all".\n'
        ),
        watch=["public", "shared_accounts"],
        notes=notes,
    )


# -- DB instances ------------------------------------------------------------------------


@fixer(
    "rds_instance_not_public",
    id="rds_instance_not_public",
    title="Turn off public accessibility of a DB instance",
)
def not_public(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    ident, arn = _ident(res)
    _modifiable(res)
    if res.config.get("publicly_accessible") is not True:
        raise FixerError(f"DB instance {ident} is not publicly accessible any more; scan again")
    endpoint = (res.config.get("endpoint") or {}).get("address")
    return FixSpec(
        title=f"Make DB instance {ident} reachable from inside its VPC only",
        calls=[
            _modify(
                None,
                ident,
                arn,
                {"PubliclyAccessible": False},
                "resolve the endpoint to a private address only, now",
            )
        ],
        rollback=[
            _modify(
                None,
                ident,
                arn,
                {"PubliclyAccessible": True},
                "make the instance publicly accessible again",
            )
        ],
        after={"publicly_accessible": False},
        terraform=_tf("db_instance", ident, "  publicly_accessible = false\n"),
        watch=["publicly_accessible"],
        notes=[
            f"Clients outside the VPC that connect to {endpoint or 'the endpoint'} lose "
            "access (VPN, peering or a bastion keep working); the change is applied "
            "immediately, without a reboot.",
            "Also restrict the instance's security groups to the application's group.",
        ],
    )


def _days(value: Any) -> int:
    if value is None:
        return DAYS_DEFAULT
    days = -1
    if not isinstance(value, bool):
        try:
            days = int(str(value).strip())
        except ValueError:
            days = -1
    if not DAYS_MIN <= days <= DAYS_MAX:
        raise FixerError(
            f"option days must be a whole number of days from {DAYS_MIN} to {DAYS_MAX}; "
            f"got {value!r}"
        )
    return days


@fixer(
    "rds_instance_backups_enabled",
    id="rds_instance_backups",
    title="Turn on automated backups of a DB instance",
    options={
        "days": f"backup retention period in days, {DAYS_MIN}-{DAYS_MAX} (default {DAYS_DEFAULT})"
    },
)
def backups(res: Resource, _f: dict[str, Any], o: dict[str, Any], lookup: Lookup) -> FixSpec:
    days = _days(o.get("days"))
    _modifiable(res)
    cluster, ident, arn = _target(res, lookup)
    source = cluster or res
    previous = source.config.get("backup_retention_period")
    if previous is None:
        raise FixerError(f"the backup retention of {source.name} is not reported; scan again")
    if int(previous) > 0:
        raise FixerError(f"{source.name} already keeps backups for {previous} days; scan again")
    where = f"cluster {ident}" if cluster else f"DB instance {ident}"
    return FixSpec(
        title=f"Keep automated backups of {where} for {days} days",
        calls=[
            _modify(
                cluster,
                ident,
                arn,
                {"BackupRetentionPeriod": days},
                f"take daily backups and keep {days} days of point-in-time restore",
            )
        ],
        rollback=[
            _modify(
                cluster,
                ident,
                arn,
                {"BackupRetentionPeriod": int(previous)},
                f"set the retention back to {previous} days",
            )
        ],
        after={} if cluster else {"backup_retention_period": days},
        terraform=_tf(
            "rds_cluster" if cluster else "db_instance",
            ident,
            f"  backup_retention_period = {days}\n",
        ),
        watch=["backup_retention_period", "cluster_identifier"],
        notes=[
            "Turning backups on from 0 days briefly interrupts the instance (RDS takes the "
            "first backup) when applied immediately, as this plan does; rolling back to 0 "
            "deletes the automated backups.",
            "Backup storage beyond the instance's allocated storage is billed.",
        ],
    )


@fixer(
    "rds_instance_deletion_protection",
    id="rds_instance_deletion_protection",
    title="Turn on deletion protection for a DB instance (or its cluster)",
)
def deletion_protection(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    _modifiable(res)
    cluster, ident, arn = _target(res, lookup)
    source = cluster or res
    if source.config.get("deletion_protection") is True:
        raise FixerError(f"{source.name} already has deletion protection; scan again")
    where = f"cluster {ident} (of DB instance {res.name})" if cluster else f"DB instance {ident}"
    return FixSpec(
        title=f"Protect {where} from deletion",
        calls=[
            _modify(cluster, ident, arn, {"DeletionProtection": True}, "refuse deletion requests")
        ],
        rollback=[
            _modify(
                cluster,
                ident,
                arn,
                {"DeletionProtection": False},
                "turn deletion protection off again",
            )
        ],
        after={} if cluster else {"deletion_protection": True},
        terraform=_tf(
            "rds_cluster" if cluster else "db_instance", ident, "  deletion_protection = true\n"
        ),
        watch=["deletion_protection", "cluster_identifier"],
        notes=["Deleting it (including terraform destroy) now needs the setting turned off first."],
    )
