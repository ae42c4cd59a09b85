"""EC2/VPC, KMS and RDS fixers end to end on moto: seed, scan, plan, approve (as another
human), apply once, re-check; live state asserted; rollback where it is meaningful."""

from __future__ import annotations

from typing import Any

import pytest

from stratusec.remediation.engine import RemediationError
from tests.remediation.conftest import FixLab

pytestmark = pytest.mark.slow

OTHER_ACCOUNT = "111122223333"


def _ver(applied: dict[str, Any]) -> dict[str, Any]:
    ver = applied["result"]["verification"]
    assert ver["resolved"] and ver["matches_expected"], ver
    return ver


# -- EBS ---------------------------------------------------------------------------------


def test_ebs_default_encryption_per_region_and_rollback(fixlab: Any, aws: Any) -> None:
    lab: FixLab = fixlab()
    lab.scan("ec2")
    f = lab.finding("ec2_ebs_default_encryption", "us-east-1")
    plan = lab.plan(f)
    assert [c["operation"] for c in plan["calls"]] == ["enable_ebs_encryption_by_default"]
    assert plan["calls"][0]["resource_arn"] == "*"
    assert plan["diff"] == [{"key": "enabled", "before": False, "after": True}]
    assert plan["aws_cli"][0].startswith("aws ec2 enable-ebs-encryption-by-default")
    applied = lab.apply(plan)
    _ver(applied)
    assert aws("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    # the other region is a separate finding, untouched
    assert (
        aws("ec2", "eu-west-1").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    )
    assert lab.finding("ec2_ebs_default_encryption", "eu-west-1")
    lab.rollback(applied)
    assert aws("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


def test_ebs_snapshot_made_private_keeps_named_accounts(fixlab: Any, aws: Any) -> None:
    ec2 = aws("ec2")
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    sid = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=sid,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=sid,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=[OTHER_ACCOUNT],
    )
    lab: FixLab = fixlab()
    lab.scan("ec2")
    applied = lab.fix("ec2_ebs_snapshot_not_public", sid)
    _ver(applied)
    call = applied["calls"][0]
    assert call["params"]["OperationType"] == "remove" and call["params"]["GroupNames"] == ["all"]
    assert call["resource_arn"] == f"arn:aws:ec2:us-east-1::snapshot/{sid}"
    assert any(OTHER_ACCOUNT in n for n in applied["notes"])

    def perms() -> list[dict[str, Any]]:
        return ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")[
            "CreateVolumePermissions"
        ]

    assert perms() == [{"UserId": OTHER_ACCOUNT}]
    lab.rollback(applied)
    assert {"Group": "all"} in perms()


# -- KMS ---------------------------------------------------------------------------------


def test_kms_key_rotation_and_rollback(fixlab: Any, aws: Any) -> None:
    kms = aws("kms")
    key = kms.create_key(Description="app data")["KeyMetadata"]["KeyId"]
    off = kms.create_key(Description="switched off")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=off)
    lab: FixLab = fixlab()
    lab.scan("kms")
    f = lab.finding("kms_key_rotation_enabled", key)
    for bad in ("89", "2561", "yearly", True):
        with pytest.raises(RemediationError, match=r"rotation_period_days.*90 to 2560"):
            lab.plan(f, rotation_period_days=bad)
    with pytest.raises(RemediationError, match=r"unknown option.*valid options: rotation_period"):
        lab.plan(f, period=365)
    # the period goes into the call (moto accepts it but does not report a period back)
    planned = lab.plan(f, rotation_period_days="180")
    assert planned["calls"][0]["params"] == {"KeyId": key, "RotationPeriodInDays": 180}
    assert "rotation_period_in_days = 180" in planned["terraform"]
    with pytest.raises(RemediationError, match="Disabled: KMS only turns on rotation"):
        lab.plan(lab.finding("kms_key_rotation_enabled", off))

    applied = lab.fix("kms_key_rotation_enabled", key)
    _ver(applied)
    assert applied["calls"][0]["action"] == "kms:EnableKeyRotation"
    assert applied["calls"][0]["resource_arn"].endswith(f":key/{key}")
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    lab.rollback(applied)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


# -- security groups -----------------------------------------------------------------------


def _sg(ec2: Any, name: str, vpc: str, perms: list[dict[str, Any]]) -> str:
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    return str(gid)


def _ingress(ec2: Any, gid: str) -> list[dict[str, Any]]:
    return list(ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"])


def _sources(perms: list[dict[str, Any]], port: int) -> set[str]:
    return {
        str(r.get("CidrIp") or r.get("CidrIpv6"))
        for p in perms
        if p.get("FromPort") == port
        for r in [*(p.get("IpRanges") or []), *(p.get("Ipv6Ranges") or [])]
    }


def test_security_group_revoke_narrow_and_rollback(fixlab: Any, aws: Any) -> None:
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    admin = _sg(
        ec2,
        "admin",
        vpc,
        [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [
                    {"CidrIp": "0.0.0.0/0", "Description": "ssh from anywhere"},
                    {"CidrIp": "10.0.0.0/8"},
                ],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
        ],
    )
    db = _sg(
        ec2,
        "db",
        vpc,
        [
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            }
        ],
    )
    wide = _sg(ec2, "wide", vpc, [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        SecurityGroupIds=[wide],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}
        ],
    )
    lab: FixLab = fixlab()
    lab.scan("ec2")

    # revoke: only the world range of the SSH rule goes; 10.0.0.0/8 and HTTPS stay
    applied = lab.fix("ec2_sg_no_ipv4_admin_port_ingress", "admin")
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == ["revoke_security_group_ingress"]
    assert applied["calls"][0]["params"]["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]
    assert applied["calls"][0]["resource_arn"].endswith(f":security-group/{admin}")
    perms = _ingress(ec2, admin)
    assert _sources(perms, 22) == {"10.0.0.0/8"} and _sources(perms, 443) == {"0.0.0.0/0"}
    lab.rollback(applied)
    restored = [r for p in _ingress(ec2, admin) if p.get("FromPort") == 22 for r in p["IpRanges"]]
    assert {"CidrIp": "0.0.0.0/0", "Description": "ssh from anywhere"} in restored

    # bad CIDRs are refused before anything is planned
    f = lab.finding("ec2_sg_no_world_ingress_database_ports", "db")
    for bad, why in (
        ("0.0.0.0/0", "whole internet"),
        ("::/0", "whole internet"),
        ("not-a-cidr", "not a valid CIDR"),
        ("10.0.0.1/8", r"did you mean 10\.0\.0\.0/8"),
        ("", "must be a CIDR block"),
    ):
        with pytest.raises(RemediationError, match=why):
            lab.plan(f, cidr=bad)

    # narrow: the database port, open over IPv4 and IPv6, now only from the trusted range
    applied = lab.fix("ec2_sg_no_world_ingress_database_ports", "db", cidr="203.0.113.0/24")
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == [
        "authorize_security_group_ingress",
        "revoke_security_group_ingress",
    ]
    assert _sources(_ingress(ec2, db), 5432) == {"203.0.113.0/24"}
    assert 'cidr_ipv4         = "203.0.113.0/24"' in applied["terraform"]
    lab.rollback(applied)
    assert _sources(_ingress(ec2, db), 5432) == {"0.0.0.0/0", "::/0"}

    # all ports open: the plan names the instance that uses the group
    plan = lab.plan(lab.finding("ec2_sg_no_world_ingress_all_ports", "wide"))
    assert any("instance web-1" in n for n in plan["notes"]), plan["notes"]
    _ver(lab.apply(plan))
    assert _ingress(ec2, wide) == []


# -- IMDSv2 --------------------------------------------------------------------------------


def test_imdsv2_required_and_rollback(fixlab: Any, aws: Any) -> None:
    ec2 = aws("ec2")
    iid = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    lab: FixLab = fixlab()
    lab.scan("ec2")
    f = lab.finding("ec2_instance_imdsv2_required", iid)
    for bad in ("0", "65", "two"):
        with pytest.raises(RemediationError, match="hop_limit must be a whole number from 1 to 64"):
            lab.plan(f, hop_limit=bad)
    applied = lab.fix("ec2_instance_imdsv2_required", iid, hop_limit="2")
    _ver(applied)
    params = applied["calls"][0]["params"]
    assert params["HttpTokens"] == "required" and params["HttpPutResponseHopLimit"] == 2

    def options() -> dict[str, Any]:
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        return dict(inst["MetadataOptions"])

    assert options()["HttpTokens"] == "required" and options()["HttpPutResponseHopLimit"] == 2
    lab.rollback(applied)
    assert options()["HttpTokens"] == "optional" and options()["HttpPutResponseHopLimit"] == 1


# -- RDS -----------------------------------------------------------------------------------


def _db(rds: Any, ident: str, **kw: Any) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier=ident,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-secret-1",
        AllocatedStorage=20,
        **kw,
    )


def test_rds_instance_private_backups_deletion_protection(fixlab: Any, aws: Any) -> None:
    rds = aws("rds")
    _db(rds, "orders", PubliclyAccessible=True, BackupRetentionPeriod=0, DeletionProtection=False)
    lab: FixLab = fixlab()
    lab.scan("rds")

    applied = lab.fix("rds_instance_not_public", "orders")
    _ver(applied)
    call = applied["calls"][0]
    assert call["params"] == {
        "DBInstanceIdentifier": "orders",
        "PubliclyAccessible": False,
        "ApplyImmediately": True,
    }
    assert call["action"] == "rds:ModifyDBInstance"
    assert call["resource_arn"] == "arn:aws:rds:us-east-1:123456789012:db:orders"

    f = lab.finding("rds_instance_backups_enabled", "orders")
    for bad in (0, "36", "a week"):
        with pytest.raises(RemediationError, match="days must be a whole number of days from 1"):
            lab.plan(f, days=bad)
    backups = lab.fix("rds_instance_backups_enabled", "orders", days="14")
    _ver(backups)
    assert backups["rollback"][0]["params"]["BackupRetentionPeriod"] == 0

    protected = lab.fix("rds_instance_deletion_protection", "orders")
    _ver(protected)

    db = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    assert db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] == 14
    assert db["DeletionProtection"] is True

    for plan in (protected, applied):
        lab.rollback(plan)
    db = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    assert db["DeletionProtection"] is False and db["PubliclyAccessible"] is True


def test_rds_cluster_member_deletion_protection_goes_to_the_cluster(fixlab: Any, aws: Any) -> None:
    rds = aws("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-secret-1",
        DeletionProtection=False,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="ledger-1",
        DBClusterIdentifier="ledger",
        DBInstanceClass="db.r6g.large",
        Engine="aurora-postgresql",
    )
    lab: FixLab = fixlab()
    lab.scan("rds")
    applied = lab.fix("rds_instance_deletion_protection", "ledger-1")
    _ver(applied)
    call = applied["calls"][0]
    assert call["operation"] == "modify_db_cluster" and call["action"] == "rds:ModifyDBCluster"
    assert call["params"]["DBClusterIdentifier"] == "ledger"
    assert rds.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0][
        "DeletionProtection"
    ]
    lab.rollback(applied)


def test_rds_snapshots_made_private_and_rollback(fixlab: Any, aws: Any) -> None:
    rds = aws("rds")
    _db(rds, "billing", BackupRetentionPeriod=7, DeletionProtection=True)
    rds.create_db_snapshot(DBInstanceIdentifier="billing", DBSnapshotIdentifier="billing-snap")
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="billing-snap",
        AttributeName="restore",
        ValuesToAdd=["all", OTHER_ACCOUNT],
    )
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-secret-1",
    )
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-snap"
    )
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="ledger-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    lab: FixLab = fixlab()
    lab.scan("rds")

    def restore(snap: str) -> list[str]:
        attrs = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=snap)[
            "DBSnapshotAttributesResult"
        ]["DBSnapshotAttributes"]
        return sorted(
            v for a in attrs if a["AttributeName"] == "restore" for v in a["AttributeValues"]
        )

    applied = lab.fix("rds_snapshot_not_public", "billing-snap")
    _ver(applied)
    assert applied["calls"][0]["params"]["ValuesToRemove"] == ["all"]
    assert applied["calls"][0]["action"] == "rds:ModifyDBSnapshotAttribute"
    assert restore("billing-snap") == [OTHER_ACCOUNT]
    lab.rollback(applied)
    assert restore("billing-snap") == sorted(["all", OTHER_ACCOUNT])

    cluster = lab.fix("rds_snapshot_not_public", "ledger-snap")
    _ver(cluster)
    assert cluster["calls"][0]["operation"] == "modify_db_cluster_snapshot_attribute"
    attrs = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="ledger-snap")
    values = [
        v
        for a in attrs["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
        for v in a["AttributeValues"]
    ]
    assert "all" not in values
