import json

import pytest

from stratusec.providers.aws import s3
from stratusec.providers.aws.session import pin_to_endpoint
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"
PAB_ARN = f"arn:aws:s3::{ACCOUNT}:account-public-access-block"


@pytest.fixture
def ctx(collector_ctx):  # type: ignore[no-untyped-def]
    return collector_ctx("s3", "global")


@pytest.fixture
def s3control(aws):  # type: ignore[no-untyped-def]
    c = aws("s3control")
    pin_to_endpoint(c, c.meta.endpoint_url)
    return c


def by_uid(resources):  # type: ignore[no-untyped-def]
    return {r.uid: r for r in resources}


def test_empty_account_yields_account_block_only(ctx):
    resources = list(s3.collect(ctx))
    assert [r.type for r in resources] == ["aws_s3_account_public_access_block"]
    acct = resources[0]
    assert acct.uid == PAB_ARN
    assert acct.region == "global"
    assert acct.config["configured"] is False
    assert acct.config["block_public_acls"] is False
    assert acct.unavailable == []
    assert ctx.errors.items == []


def test_account_public_access_block(ctx, s3control):
    s3control.put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    acct = by_uid(s3.collect(ctx))[PAB_ARN]
    assert acct.type == "aws_s3_account_public_access_block"
    assert acct.config == {
        "account_id": ACCOUNT,
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": False,
        "configured": True,
    }
    assert ctx.errors.items == []


def test_account_block_failure_is_unavailable(collector_ctx):
    ctx = collector_ctx("s3", "global")
    fail_operation(ctx.client("s3control"), "GetPublicAccessBlock")
    acct = by_uid(s3.collect(ctx))[PAB_ARN]
    assert acct.config["block_public_acls"] is None
    assert acct.config["configured"] is None
    assert "block_public_acls" in acct.unavailable
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("get_public_access_block", "AccessDenied")
    ]


def test_bucket_public_via_policy(aws, ctx):
    client = aws("s3")
    client.create_bucket(Bucket="public-policy-bucket")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::public-policy-bucket/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket="public-policy-bucket", Policy=json.dumps(policy))
    client.put_bucket_tagging(
        Bucket="public-policy-bucket", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]}
    )
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::public-policy-bucket"]
    assert b.type == "aws_s3_bucket"
    assert b.name == "public-policy-bucket"
    assert b.region == "us-east-1"
    assert b.config["policy"] == policy
    assert b.config["policy_status"] == {"is_public": True}
    assert b.config["acl_public"] is False
    assert b.config["public_access_block"] is None
    assert b.tags == {"env": "prod"}
    assert b.unavailable == []
    assert ctx.errors.items == []


def test_bucket_public_via_acl_without_encryption(aws, ctx):
    client = aws("s3")
    client.create_bucket(Bucket="public-acl-bucket", ACL="public-read")
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::public-acl-bucket"]
    assert b.config["acl_public"] is True
    grants = b.config["acl"]["grants"]
    assert {
        "grantee_type": "Group",
        "grantee_uri": "http://acs.amazonaws.com/groups/global/AllUsers",
        "permission": "READ",
    }.items() <= next(g for g in grants if g["grantee_type"] == "Group").items()
    assert b.config["acl"]["owner"]["id"]
    # No policy: nothing public through a policy; no encryption configuration reported.
    assert b.config["policy"] is None
    assert b.config["policy_status"] == {"is_public": False}
    assert b.config["server_side_encryption_configuration"] is None
    assert b.config["versioning"] == {"status": "Disabled", "mfa_delete": "Disabled"}
    assert b.config["logging"] is None
    assert b.config["object_lock_configuration"] is None
    assert b.relationships == []
    assert b.unavailable == []


def test_bucket_kms_versioning_logging_and_block(aws, ctx):
    client = aws("s3")
    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]
    client.create_bucket(Bucket="log-target-bucket")
    client.create_bucket(Bucket="secure-bucket")
    client.put_bucket_encryption(
        Bucket="secure-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    client.put_bucket_versioning(
        Bucket="secure-bucket", VersioningConfiguration={"Status": "Enabled"}
    )
    client.put_bucket_acl(Bucket="log-target-bucket", ACL="log-delivery-write")
    client.put_bucket_logging(
        Bucket="secure-bucket",
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "log-target-bucket", "TargetPrefix": "logs/"}
        },
    )
    client.put_public_access_block(
        Bucket="secure-bucket",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_ownership_controls(
        Bucket="secure-bucket",
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    found = by_uid(s3.collect(ctx))
    b = found["arn:aws:s3:::secure-bucket"]
    assert b.config["server_side_encryption_configuration"] == {
        "rule": [
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key_arn,
                },
                "bucket_key_enabled": True,
            }
        ]
    }
    assert b.config["versioning"]["status"] == "Enabled"
    assert b.config["logging"] == {"target_bucket": "log-target-bucket", "target_prefix": "logs/"}
    assert b.config["public_access_block"] == {
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": True,
    }
    assert b.config["ownership_controls"] == {"rule": [{"object_ownership": "BucketOwnerEnforced"}]}
    assert b.targets("LOGS_TO") == ["arn:aws:s3:::log-target-bucket"]
    assert b.targets("USES_KEY") == [key_arn]
    # The target bucket has no block configured.
    assert found["arn:aws:s3:::log-target-bucket"].config["public_access_block"] is None
    assert ctx.errors.items == []


def test_bucket_key_id_becomes_key_arn_in_bucket_region(aws, ctx):
    eu = aws("s3", "eu-west-1")
    eu.create_bucket(
        Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    eu.put_bucket_encryption(
        Bucket="eu-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "k-1",
                    }
                }
            ]
        },
    )
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::eu-bucket"]
    assert b.region == "eu-west-1"
    assert b.config["region"] == "eu-west-1"
    assert b.targets("USES_KEY") == [f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k-1"]


def test_object_lock(aws, ctx):
    client = aws("s3")
    client.create_bucket(Bucket="locked-bucket", ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket="locked-bucket",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 5}},
        },
    )
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::locked-bucket"]
    lock = b.config["object_lock_configuration"]
    assert lock["object_lock_enabled"] == "Enabled"
    retention = lock["rule"]["default_retention"]
    assert (retention["mode"], retention["days"]) == ("GOVERNANCE", 5)  # moto adds "years": 0


def test_bucket_in_eu_west_1_read_with_eu_client(aws, ctx):
    aws("s3", "eu-west-1").create_bucket(
        Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    # A failure on the us-east-1 client must not matter: details go to the bucket's region.
    fail_operation(ctx.client("s3", "us-east-1"), "GetBucketAcl")
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::eu-bucket"]
    assert b.region == "eu-west-1"
    assert b.config["acl"] is not None
    assert b.unavailable == []
    assert ctx.errors.items == []


def test_detail_failures_are_unavailable_not_safe(aws, ctx):
    aws("s3").create_bucket(Bucket="denied-bucket")
    client = ctx.client("s3", "us-east-1")
    fail_operation(client, "GetBucketEncryption")
    fail_operation(client, "GetPublicAccessBlock")
    fail_operation(client, "GetBucketAcl")
    fail_operation(client, "GetBucketVersioning")
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::denied-bucket"]
    assert b.config["server_side_encryption_configuration"] is None
    assert b.config["public_access_block"] is None
    assert b.config["acl"] is None
    assert b.config["acl_public"] is None
    assert b.config["versioning"] is None
    assert set(b.unavailable) == {
        "server_side_encryption_configuration",
        "public_access_block",
        "acl",
        "acl_public",
        "versioning",
    }
    assert {e.api for e in ctx.errors.items} == {
        "get_bucket_encryption",
        "get_public_access_block",
        "get_bucket_acl",
        "get_bucket_versioning",
    }
    assert all(e.resource == "arn:aws:s3:::denied-bucket" for e in ctx.errors.items)


def test_location_failure_falls_back_to_home_region(aws, ctx):
    aws("s3").create_bucket(Bucket="where-bucket")
    fail_operation(ctx.client("s3", "us-east-1"), "GetBucketLocation")
    b = by_uid(s3.collect(ctx))["arn:aws:s3:::where-bucket"]
    assert b.unavailable == ["region"]
    assert b.config["region"] is None
    assert b.region == "us-east-1"
    assert b.config["acl"] is not None
    assert [(e.api, e.code) for e in ctx.errors.items] == [("get_bucket_location", "AccessDenied")]


def test_bucket_region_mapping():
    assert s3.bucket_region(None) == "us-east-1"
    assert s3.bucket_region("") == "us-east-1"
    assert s3.bucket_region("EU") == "eu-west-1"
    assert s3.bucket_region("ap-south-1") == "ap-south-1"


def test_details_run_on_the_shared_pool(aws, pooled_ctx):
    client = aws("s3")
    names = [f"pool-bucket-{i}" for i in range(6)]
    for n in names:
        client.create_bucket(Bucket=n)
    client.put_bucket_versioning(Bucket=names[3], VersioningConfiguration={"Status": "Enabled"})
    pooled = pooled_ctx("s3", "global")
    found = by_uid(s3.collect(pooled))
    assert {f"arn:aws:s3:::{n}" for n in names} <= set(found)
    assert found[f"arn:aws:s3:::{names[3]}"].config["versioning"]["status"] == "Enabled"
    assert found[f"arn:aws:s3:::{names[0]}"].config["versioning"]["status"] == "Disabled"
    assert pooled.errors.items == []
