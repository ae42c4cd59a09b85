import json

from stratusec.providers.aws import kms
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"


def keys(resources):  # type: ignore[no-untyped-def]
    return {r.uid: r for r in resources if r.type == "aws_kms_key"}


def aliases(resources):  # type: ignore[no-untyped-def]
    return {r.name: r for r in resources if r.type == "aws_kms_alias"}


def test_keys_rotation_policy_tags(aws, collector_ctx):
    client = aws("kms", "eu-west-1")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    # moto leaves KeyUsage empty unless given (AWS defaults it to ENCRYPT_DECRYPT).
    plain = client.create_key(
        Description="no rotation",
        KeyUsage="ENCRYPT_DECRYPT",
        MultiRegion=False,
        Tags=[{"TagKey": "team", "TagValue": "data"}],
    )["KeyMetadata"]
    rotated = client.create_key(Description="rotated", Policy=json.dumps(policy), MultiRegion=True)[
        "KeyMetadata"
    ]
    client.enable_key_rotation(KeyId=rotated["KeyId"])

    ctx = collector_ctx("kms", "eu-west-1")
    found = keys(kms.collect(ctx))
    assert set(found) == {plain["Arn"], rotated["Arn"]}

    p = found[plain["Arn"]]
    assert p.region == "eu-west-1"
    assert p.name == plain["KeyId"]
    assert p.config["key_id"] == plain["KeyId"]
    assert p.config["description"] == "no rotation"
    assert p.config["key_manager"] == "CUSTOMER"
    assert p.config["key_usage"] == "ENCRYPT_DECRYPT"
    assert p.config["key_spec"] == "SYMMETRIC_DEFAULT"
    assert p.config["key_state"] == "Enabled"
    assert p.config["is_enabled"] is True
    assert p.config["multi_region"] is False
    assert p.config["enable_key_rotation"] is False
    assert p.config["rotation_unavailable_reason"] is None
    assert p.config["policy"]["Statement"]  # moto's default key policy, parsed
    assert p.tags == {"team": "data"}

    r = found[rotated["Arn"]]
    assert r.config["enable_key_rotation"] is True
    assert r.config["multi_region"] is True
    assert r.config["policy"] == policy
    assert r.unavailable == []
    assert ctx.errors.items == []


def test_asymmetric_key_has_no_rotation_and_no_error(aws, collector_ctx):
    client = aws("kms")
    k = client.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    ctx = collector_ctx("kms", "us-east-1")
    rec = keys(kms.collect(ctx))[k["Arn"]]
    assert rec.config["enable_key_rotation"] is None
    assert "RSA_2048" in rec.config["rotation_unavailable_reason"]
    assert rec.unavailable == []
    assert ctx.errors.items == []


def test_pending_deletion_key(aws, collector_ctx):
    client = aws("kms")
    k = client.create_key()["KeyMetadata"]
    client.schedule_key_deletion(KeyId=k["KeyId"], PendingWindowInDays=7)
    ctx = collector_ctx("kms", "us-east-1")
    rec = keys(kms.collect(ctx))[k["Arn"]]
    assert rec.config["key_state"] == "PendingDeletion"
    assert rec.config["is_enabled"] is False
    assert rec.config["deletion_date"]
    assert rec.config["enable_key_rotation"] is None
    assert "PendingDeletion" in rec.config["rotation_unavailable_reason"]
    assert ctx.errors.items == []


def test_alias_mapping(aws, collector_ctx):
    client = aws("kms")
    k = client.create_key()["KeyMetadata"]
    client.create_alias(AliasName="alias/app", TargetKeyId=k["KeyId"])
    client.create_alias(AliasName="alias/app-2", TargetKeyId=k["KeyId"])
    ctx = collector_ctx("kms", "us-east-1")
    resources = list(kms.collect(ctx))
    assert keys(resources)[k["Arn"]].config["aliases"] == ["alias/app", "alias/app-2"]
    a = aliases(resources)["alias/app"]
    assert a.uid == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"
    assert a.config["target_key_id"] == k["KeyId"]
    assert a.config["target_key_arn"] == k["Arn"]
    assert a.config["aws_managed"] is False
    assert a.targets("ALIAS_OF") == [k["Arn"]]
    assert ctx.errors.items == []


def test_detail_failures_are_unavailable(aws, collector_ctx):
    k = aws("kms").create_key()["KeyMetadata"]
    ctx = collector_ctx("kms", "us-east-1")
    fail_operation(ctx, "GetKeyRotationStatus", "AccessDeniedException")
    fail_operation(ctx, "GetKeyPolicy", "AccessDeniedException")
    rec = keys(kms.collect(ctx))[k["Arn"]]
    assert rec.config["enable_key_rotation"] is None
    assert rec.config["rotation_unavailable_reason"] is None
    assert rec.config["policy"] is None
    assert set(rec.unavailable) == {"enable_key_rotation", "policy"}
    assert {e.api for e in ctx.errors.items} == {"get_key_rotation_status", "get_key_policy"}


def test_empty_region(collector_ctx):
    ctx = collector_ctx("kms", "eu-west-1")
    assert keys(kms.collect(ctx)) == {}
    assert ctx.errors.items == []


def test_key_ref_uid(collector_ctx):
    ctx = collector_ctx("kms", "eu-west-1")
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"
    assert kms.key_ref_uid(ctx, arn) == arn
    assert kms.key_ref_uid(ctx, "abc") == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/abc"
    assert (
        kms.key_ref_uid(ctx, "alias/x", "us-east-2") == f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/x"
    )
    assert kms.key_ref_uid(ctx, None) is None


def test_parse_policy():
    assert kms.parse_policy('{"a": 1}') == {"a": 1}
    assert kms.parse_policy("%7B%22a%22%3A%201%7D") == {"a": 1}
    assert kms.parse_policy(None) is None
    assert kms.parse_policy("not json") == "not json"
