import json

from stratusec.providers.aws import efs
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"


def by_name(resources):  # type: ignore[no-untyped-def]
    return {r.name: r for r in resources}


def test_encrypted_file_system_with_policy_and_backups(aws, collector_ctx):
    key_arn = aws("kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    client = aws("efs", "eu-west-1")
    fs = client.create_file_system(
        CreationToken="shared",
        Encrypted=True,
        KmsKeyId=key_arn,
        PerformanceMode="generalPurpose",
        ThroughputMode="bursting",
        Backup=True,
        Tags=[{"Key": "Name", "Value": "shared-data"}, {"Key": "team", "Value": "data"}],
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": fs["FileSystemArn"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    client.put_file_system_policy(FileSystemId=fs["FileSystemId"], Policy=json.dumps(policy))

    ctx = collector_ctx("efs", "eu-west-1")
    r = by_name(efs.collect(ctx))["shared-data"]
    assert r.type == "aws_efs_file_system"
    assert r.uid == fs["FileSystemArn"]
    assert r.region == "eu-west-1"
    assert r.tags == {"Name": "shared-data", "team": "data"}
    c = r.config
    assert c["id"] == fs["FileSystemId"]
    assert c["encrypted"] is True
    assert c["kms_key_id"] == key_arn
    assert c["performance_mode"] == "generalPurpose"
    assert c["throughput_mode"] == "bursting"
    assert c["file_system_policy"] == policy
    assert c["backup_policy"] == {"status": "ENABLED"}
    assert r.targets("USES_KEY") == [key_arn]
    assert r.unavailable == []
    assert ctx.errors.items == []


def test_unencrypted_file_system_without_policies(aws, collector_ctx):
    fs = aws("efs").create_file_system(CreationToken="plain")
    ctx = collector_ctx("efs", "us-east-1")
    [r] = list(efs.collect(ctx))
    assert r.name == fs["FileSystemId"]  # no Name tag: the id
    assert r.config["encrypted"] is False
    assert r.config["kms_key_id"] is None
    # No policy (PolicyNotFound) is "not configured", not a failure.
    assert r.config["file_system_policy"] is None
    assert r.config["backup_policy"] is None
    assert r.relationships == []
    assert r.unavailable == []
    assert ctx.errors.items == []


def test_policy_read_failures_are_unavailable(aws, collector_ctx):
    aws("efs").create_file_system(CreationToken="locked")
    ctx = collector_ctx("efs", "us-east-1")
    fail_operation(ctx, "DescribeFileSystemPolicy", "AccessDeniedException")
    fail_operation(ctx, "DescribeBackupPolicy", "AccessDeniedException")
    [r] = list(efs.collect(ctx))
    assert r.config["file_system_policy"] is None
    assert r.config["backup_policy"] is None
    assert set(r.unavailable) == {"file_system_policy", "backup_policy"}
    assert {e.api for e in ctx.errors.items} == {
        "describe_file_system_policy",
        "describe_backup_policy",
    }


def test_listing_failure_yields_nothing_and_is_recorded(collector_ctx):
    ctx = collector_ctx("efs", "us-east-1")
    fail_operation(ctx, "DescribeFileSystems", "AccessDeniedException")
    assert list(efs.collect(ctx)) == []
    assert [e.api for e in ctx.errors.items] == ["describe_file_systems"]


def test_registered_as_regional_service():
    from stratusec.providers.aws import registry

    assert "efs" in registry.all_services()
    mod = registry.load("efs")
    assert mod.SERVICE == "efs" and mod.GLOBAL is False
