from typing import Any

from stratusec.providers.aws import rds
from tests.providers.aws.faults import fail_operation

ACCT = "123456789012"
REGION = "us-east-1"


def _network(aws: Any) -> tuple[str, list[str], str]:
    ec2 = aws("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    aws("rds", REGION).create_db_subnet_group(
        DBSubnetGroupName="dbnet", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    return vpc, subnets, sg


def _create(aws: Any, ident: str, **kw: Any) -> None:
    aws("rds", REGION).create_db_instance(
        DBInstanceIdentifier=ident,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        **kw,
    )


def _by_uid(resources: list[Any]) -> dict[str, Any]:
    return {r.uid: r for r in resources}


def test_public_unencrypted_and_private_encrypted_instances(aws, collector_ctx):
    vpc, subnets, sg = _network(aws)
    _create(
        aws,
        "public-db",
        PubliclyAccessible=True,
        StorageEncrypted=False,
        MultiAZ=False,
        DBSubnetGroupName="dbnet",
        VpcSecurityGroupIds=[sg],
        Tags=[{"Key": "environment", "Value": "production"}],
    )
    key_arn = f"arn:aws:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _create(
        aws,
        "private-db",
        PubliclyAccessible=False,
        StorageEncrypted=True,
        KmsKeyId=key_arn,
        MultiAZ=True,
        DeletionProtection=True,
        EnableIAMDatabaseAuthentication=True,
        BackupRetentionPeriod=14,
        DBSubnetGroupName="dbnet",
        VpcSecurityGroupIds=[sg],
    )
    ctx = collector_ctx("rds", REGION)
    resources = list(rds.collect(ctx))
    assert ctx.errors.items == []
    by_uid = _by_uid(resources)

    pub = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:db:public-db"]
    assert pub.type == "aws_db_instance"
    assert pub.name == "public-db"
    assert pub.tags == {"environment": "production"}
    c = pub.config
    assert c["publicly_accessible"] is True
    assert c["storage_encrypted"] is False
    assert c["multi_az"] is False
    assert c["engine"] == "postgres"
    assert c["endpoint"]["port"] == 5432
    assert c["endpoint"]["address"].startswith("public-db.")
    assert c["vpc_security_group_ids"] == [sg]
    assert c["db_subnet_group"]["name"] == "dbnet"
    assert sorted(c["db_subnet_group"]["subnet_ids"]) == sorted(subnets)
    assert c["db_subnet_group"]["vpc_id"] == vpc
    assert pub.targets("HAS_SECURITY_GROUP") == [f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{sg}"]
    assert sorted(pub.targets("IN_SUBNET")) == sorted(
        f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{s}" for s in subnets
    )
    assert pub.targets("IN_VPC") == [f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vpc}"]
    assert pub.targets("USES_KEY") == []
    assert pub.unavailable == []

    priv = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:db:private-db"]
    c = priv.config
    assert c["publicly_accessible"] is False
    assert c["storage_encrypted"] is True
    assert c["kms_key_id"] == key_arn
    assert c["multi_az"] is True
    assert c["deletion_protection"] is True
    assert c["iam_database_authentication_enabled"] is True
    assert c["backup_retention_period"] == 14
    assert c["auto_minor_version_upgrade"] is True
    assert priv.targets("USES_KEY") == [key_arn]
    assert priv.tags == {}

    group = next(r for r in resources if r.type == "aws_db_subnet_group")
    assert group.uid == f"arn:aws:rds:{REGION}:{ACCT}:subgrp:dbnet"
    assert sorted(group.config["subnet_ids"]) == sorted(subnets)

    # Automated snapshots exist for both instances; they cannot be shared.
    autos = [r for r in resources if r.type == "aws_db_snapshot"]
    assert {r.config["db_instance_identifier"] for r in autos} == {"public-db", "private-db"}
    for snap in autos:
        assert snap.config["snapshot_type"] == "automated"
        assert snap.config["public"] is False
        assert snap.config["shared_accounts"] == []


def test_public_and_shared_manual_snapshots(aws, collector_ctx):
    _create(aws, "db1")
    client = aws("rds", REGION)
    client.create_db_snapshot(DBSnapshotIdentifier="public-snap", DBInstanceIdentifier="db1")
    client.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="public-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    client.create_db_snapshot(DBSnapshotIdentifier="shared-snap", DBInstanceIdentifier="db1")
    client.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="shared-snap", AttributeName="restore", ValuesToAdd=["111122223333"]
    )
    client.create_db_snapshot(DBSnapshotIdentifier="private-snap", DBInstanceIdentifier="db1")
    ctx = collector_ctx("rds", REGION)
    by_uid = _by_uid(list(rds.collect(ctx)))
    assert ctx.errors.items == []

    public = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:snapshot:public-snap"]
    assert public.type == "aws_db_snapshot"
    assert public.config["public"] is True
    assert public.config["shared_accounts"] == []
    assert public.config["encrypted"] is False
    assert public.config["db_instance_identifier"] == "db1"
    assert public.config["snapshot_type"] == "manual"
    assert public.targets("SNAPSHOT_OF") == [f"arn:aws:rds:{REGION}:{ACCT}:db:db1"]
    assert public.unavailable == []

    shared = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:snapshot:shared-snap"]
    assert shared.config["public"] is False
    assert shared.config["shared_accounts"] == ["111122223333"]

    private = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:snapshot:private-snap"]
    assert private.config["public"] is False
    assert private.config["shared_accounts"] == []


def test_aurora_cluster_and_cluster_snapshot(aws, collector_ctx):
    _vpc, subnets, sg = _network(aws)
    client = aws("rds", REGION)
    client.create_db_cluster(
        DBClusterIdentifier="aurora1",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        StorageEncrypted=True,
        DeletionProtection=True,
        BackupRetentionPeriod=7,
        DBSubnetGroupName="dbnet",
        VpcSecurityGroupIds=[sg],
        Tags=[{"Key": "team", "Value": "data"}],
    )
    client.create_db_instance(
        DBInstanceIdentifier="aurora1-writer",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r5.large",
        DBClusterIdentifier="aurora1",
        PubliclyAccessible=True,
    )
    client.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="aurora-snap", DBClusterIdentifier="aurora1"
    )
    client.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="aurora-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    ctx = collector_ctx("rds", REGION)
    by_uid = _by_uid(list(rds.collect(ctx)))
    assert ctx.errors.items == []

    cluster_arn = f"arn:aws:rds:{REGION}:{ACCT}:cluster:aurora1"
    cluster = by_uid[cluster_arn]
    assert cluster.type == "aws_rds_cluster"
    assert cluster.tags == {"team": "data"}
    assert cluster.config["storage_encrypted"] is True
    assert cluster.config["deletion_protection"] is True
    assert cluster.config["backup_retention_period"] == 7
    assert cluster.config["cluster_members"] == ["aurora1-writer"]
    assert cluster.config["publicly_accessible_members"] == ["aurora1-writer"]
    assert sorted(cluster.targets("IN_SUBNET")) == sorted(
        f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{s}" for s in subnets
    )
    assert cluster.targets("HAS_SECURITY_GROUP") == [
        f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{sg}"
    ]

    member = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:db:aurora1-writer"]
    assert member.config["cluster_identifier"] == "aurora1"
    assert member.targets("IN_CLUSTER") == [cluster_arn]

    snap = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:cluster-snapshot:aurora-snap"]
    assert snap.type == "aws_db_cluster_snapshot"
    assert snap.config["public"] is True
    assert snap.config["storage_encrypted"] is True
    assert snap.targets("SNAPSHOT_OF") == [cluster_arn]


def test_empty_region_has_no_records_and_no_errors(collector_ctx):
    ctx = collector_ctx("rds", "eu-west-1")
    assert list(rds.collect(ctx)) == []
    assert ctx.errors.items == []


def test_failed_snapshot_attributes_are_unavailable_not_private(aws, collector_ctx):
    _create(aws, "db1")
    aws("rds", REGION).create_db_snapshot(DBSnapshotIdentifier="snap", DBInstanceIdentifier="db1")
    ctx = collector_ctx("rds", REGION)
    fail_operation(ctx, "DescribeDBSnapshotAttributes")
    by_uid = _by_uid(list(rds.collect(ctx)))
    snap = by_uid[f"arn:aws:rds:{REGION}:{ACCT}:snapshot:snap"]
    assert snap.config["public"] is None
    assert snap.config["shared_accounts"] is None
    assert sorted(snap.unavailable) == ["public", "shared_accounts"]
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("describe_db_snapshot_attributes", "AccessDenied")
    ]
