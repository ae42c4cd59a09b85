"""Storage checks: S3, EBS, RDS, EFS, DynamoDB, SQS/SNS encryption, and the shared
public-policy helper."""

import pytest

from stratusec.checks import Status
from stratusec.checks.aws._policy import PolicyUnreadable, public_grants
from stratusec.checks.registry import get_check
from tests.checks.fixtures import inventory, res, run, statuses
from tests.checks.sn_helpers import FULL_PAB, account_pab, bucket, db

PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN


def stmt(**kw):  # type: ignore[no-untyped-def]
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **kw}


def doc(*statements):  # type: ignore[no-untyped-def]
    return {"Version": "2012-10-17", "Statement": list(statements)}


# -- the public-policy helper ----------------------------------------------------------------


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::111122223333:root", "*"]}]
)
def test_world_principals_are_public(principal):
    [g] = public_grants(doc(stmt(Sid="Pub", Principal=principal)))
    assert g.sid == "Pub" and g.actions == ["s3:GetObject"]
    assert 'statement "Pub" allows s3:GetObject' in g.describe()


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}},
        {"StringEquals": {"AWS:SourceOwner": "123456789012"}},  # keys are case-insensitive
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
        {"ForAnyValue:StringEquals": {"aws:PrincipalAccount": ["123456789012"]}},
    ],
)
def test_restricting_conditions_make_a_statement_private(condition):
    assert public_grants(doc(stmt(Principal="*", Condition=condition))) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:SecureTransport": "true"}},  # not about who calls
        {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}},  # passes if absent
        {"StringNotEquals": {"aws:SourceAccount": "123456789012"}},  # everyone else
        {"StringLike": {"aws:SourceAccount": "*"}},  # wildcard value
        {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:x"}},  # any account
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
    ],
)
def test_non_restricting_conditions_stay_public(condition):
    assert len(public_grants(doc(stmt(Principal="*", Condition=condition)))) == 1


def test_named_principals_deny_and_not_principal():
    named = stmt(Principal={"AWS": "arn:aws:iam::111122223333:root"})
    service = stmt(Principal={"Service": "cloudtrail.amazonaws.com"})
    deny = {**stmt(Principal="*"), "Effect": "Deny"}
    assert public_grants(doc(named, service, deny)) == []
    [g] = public_grants(doc(stmt(NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"})))
    assert g.not_principal and "everyone except" in g.describe()


def test_a_guarding_deny_cancels_a_public_allow():
    allow = stmt(Principal="*")
    guard = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    assert public_grants(doc(allow, guard)) == []
    # A deny that does not cover the allowed action does not help.
    narrow = {**guard, "Action": "s3:PutObject"}
    assert len(public_grants(doc(allow, narrow))) == 1


def test_unreadable_policies_raise_and_single_statement_objects_work():
    with pytest.raises(PolicyUnreadable):
        public_grants("not json {")
    assert public_grants(None) == []
    assert len(public_grants({"Statement": stmt(Principal="*")})) == 1


# -- S3 ----------------------------------------------------------------------------------------

PUBLIC_POLICY = doc(stmt(Sid="PublicRead", Principal="*"))
ALL_USERS_READ = {
    "grantee_type": "Group",
    "grantee_uri": "http://acs.amazonaws.com/groups/global/AllUsers",
    "permission": "READ",
}


def test_s3_bucket_not_public_policy_acl_and_block_public_access():
    private = bucket("private", pab=FULL_PAB)
    pub_policy = bucket("pub-policy", policy=PUBLIC_POLICY, policy_public=True)
    pub_acl = bucket("pub-acl", acl_grants=[ALL_USERS_READ])
    restricted = bucket(
        "restricted", policy=PUBLIC_POLICY, pab={**FULL_PAB, "block_public_policy": False}
    )
    only_bpp = bucket(
        "only-bpp",
        policy=PUBLIC_POLICY,
        pab={**dict.fromkeys(FULL_PAB, False), "block_public_policy": True},
    )
    acl_ignored = bucket("acl-ignored", acl_grants=[ALL_USERS_READ])
    # AWS's policy status alone (a condition our analysis accepts) still counts.
    aws_says = bucket(
        "aws-says",
        policy=doc(stmt(Principal="*", Condition={"StringEquals": {"aws:SourceVpce": "v"}})),
        policy_public=True,
    )
    unread = bucket("unread", unavailable=["policy", "policy_status"])
    inv = inventory(
        private,
        pub_policy,
        pub_acl,
        restricted,
        only_bpp,
        aws_says,
        unread,
        account_pab(configured=False),
    )
    out = run("s3_bucket_not_public", inv)
    assert out["private"][0] == PASS
    assert out["pub-policy"][0] == FAIL and '"PublicRead"' in out["pub-policy"][1]
    assert "bucket policy" in out["pub-policy"][1]
    assert out["pub-acl"][0] == FAIL and "AllUsers:READ" in out["pub-acl"][1]
    assert (
        out["restricted"][0] == PASS and "RestrictPublicBuckets at bucket" in out["restricted"][1]
    )
    assert out["only-bpp"][0] == FAIL and "only rejects new public policies" in out["only-bpp"][1]
    assert out["aws-says"][0] == FAIL and "policy status" in out["aws-says"][1]
    assert out["unread"][0] == UNKNOWN

    [both] = get_check("s3_bucket_not_public").run(
        inventory(
            bucket("both", policy=PUBLIC_POLICY, acl_grants=[ALL_USERS_READ]),
            account_pab(configured=False),
        )
    )
    assert both.status == FAIL and both.evidence["mechanisms"] == ["policy", "acl"]
    assert both.evidence["public_policy_statements"][0]["sid"] == "PublicRead"

    # The account-level IgnorePublicAcls neutralizes the ACL grant.
    inv2 = inventory(acl_ignored, account_pab(configured=True))
    out2 = run("s3_bucket_not_public", inv2)
    assert (
        out2["acl-ignored"][0] == PASS and "IgnorePublicAcls at account" in out2["acl-ignored"][1]
    )

    # A public policy whose neutralizing settings cannot be read is unknown, not a pass.
    unread_pab = bucket("unread-pab", policy=PUBLIC_POLICY, unavailable=["public_access_block"])
    assert statuses("s3_bucket_not_public", inventory(unread_pab)) == {"unread-pab": UNKNOWN}


def test_s3_bucket_public_access_block_bucket_or_account():
    full = bucket("full", pab=FULL_PAB)
    none = bucket("none")
    partial = bucket("partial", pab={**FULL_PAB, "restrict_public_buckets": False})
    out = run(
        "s3_bucket_public_access_block",
        inventory(full, none, partial, account_pab(configured=False)),
    )
    assert out["full"][0] == PASS and "bucket level" in out["full"][1]
    assert out["none"][0] == FAIL and "no configuration" in out["none"][1]
    assert out["partial"][0] == FAIL and out["partial"][1].count("RestrictPublicBuckets") == 1
    # Covered by the account-level block.
    st = statuses("s3_bucket_public_access_block", inventory(none, account_pab(configured=True)))
    assert st == {"none": PASS}
    # Unreadable bucket setting and no account record: unknown.
    unread = bucket("unread", unavailable=["public_access_block"])
    assert statuses("s3_bucket_public_access_block", inventory(unread)) == {"unread": UNKNOWN}


def test_s3_account_public_access_block():
    acct = "123456789012"
    assert statuses("s3_account_public_access_block", inventory(account_pab())) == {acct: PASS}
    out = run("s3_account_public_access_block", inventory(account_pab(configured=False)))
    assert out[acct][0] == FAIL and "no account-level" in out[acct][1]
    partial = account_pab(ignore_public_acls=False)
    out = run("s3_account_public_access_block", inventory(partial))
    assert out[acct][0] == FAIL and "IgnorePublicAcls" in out[acct][1]
    unread = account_pab(configured=None, unavailable=["configured"])
    assert statuses("s3_account_public_access_block", inventory(unread)) == {acct: UNKNOWN}


def test_s3_bucket_deny_insecure_transport():
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::good", "arn:aws:s3:::good/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    good = bucket("good", policy=doc(tls))
    wrong_cond = bucket(
        "wrong",
        policy=doc(
            {
                **tls,
                "Resource": "arn:aws:s3:::wrong/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ),
    )
    bucket_only = bucket("bucket-only", policy=doc({**tls, "Resource": "arn:aws:s3:::bucket-only"}))
    none = bucket("none")
    unread = bucket("unread", unavailable=["policy"])
    out = run(
        "s3_bucket_deny_insecure_transport", inventory(good, wrong_cond, bucket_only, none, unread)
    )
    assert out["good"][0] == PASS and "DenyInsecureTransport" in out["good"][1]
    assert out["wrong"][0] == FAIL
    assert out["bucket-only"][0] == FAIL  # objects not covered
    assert out["none"][0] == FAIL and "no bucket policy" in out["none"][1]
    assert out["unread"][0] == UNKNOWN


def test_s3_versioning_and_mfa_delete():
    on = bucket("on", versioning={"status": "Enabled", "mfa_delete": "Enabled"})
    suspended = bucket("suspended", versioning={"status": "Suspended", "mfa_delete": "Disabled"})
    off = bucket("off")
    unread = bucket("unread", versioning=None, unavailable=["versioning"])
    unread.config["versioning"] = None
    inv = inventory(on, suspended, off, unread)
    out = run("s3_bucket_versioning_enabled", inv)
    assert out["on"][0] == PASS
    assert out["suspended"][0] == FAIL and "suspended" in out["suspended"][1]
    assert out["off"][0] == FAIL
    assert out["unread"][0] == UNKNOWN
    assert statuses("s3_bucket_mfa_delete", inv) == {
        "on": PASS,
        "suspended": FAIL,
        "off": FAIL,
        "unread": UNKNOWN,
    }


# -- EBS -----------------------------------------------------------------------------------------


def test_ec2_ebs_volume_encrypted():
    inst = res("aws_instance", "web", service="ec2")
    enc = res("aws_ebs_volume", "enc", config={"encrypted": True, "kms_key_id": "k"})
    plain = res(
        "aws_ebs_volume",
        "plain",
        config={"encrypted": False, "size": 100, "attachments": [{"instance_id": "i-1"}]},
        relationships=[("ATTACHED_TO", inst.uid)],
    )
    missing = res("aws_ebs_volume", "missing", config={})
    out = run("ec2_ebs_volume_encrypted", inventory(inst, enc, plain, missing))
    assert out["enc"][0] == PASS
    assert out["plain"][0] == FAIL and "100 GiB, attached to web" in out["plain"][1]
    assert out["missing"][0] == UNKNOWN


def test_ec2_ebs_snapshot_encrypted_and_not_public():
    good = res(
        "aws_ebs_snapshot",
        "good",
        config={
            "encrypted": True,
            "volume_id": "vol-1",
            "public": False,
            "shared_with_accounts": ["210987654321"],
        },
    )
    bad = res(
        "aws_ebs_snapshot",
        "bad",
        config={
            "encrypted": False,
            "volume_id": "vol-2",
            "public": True,
            "shared_with_accounts": [],
        },
    )
    unread = res(
        "aws_ebs_snapshot",
        "unread",
        config={"encrypted": True, "public": None, "shared_with_accounts": None},
        unavailable=["create_volume_permissions", "public", "shared_with_accounts"],
    )
    inv = inventory(good, bad, unread)
    assert statuses("ec2_ebs_snapshot_encrypted", inv) == {
        "good": PASS,
        "bad": FAIL,
        "unread": PASS,
    }
    out = run("ec2_ebs_snapshot_not_public", inv)
    assert out["good"][0] == PASS and "210987654321" in out["good"][1]
    assert out["bad"][0] == FAIL and "any AWS account" in out["bad"][1]
    assert out["unread"][0] == UNKNOWN


def test_ec2_ebs_default_encryption_per_region():
    on = res(
        "aws_ebs_encryption_by_default",
        "eu-west-1",
        region="eu-west-1",
        config={"enabled": True, "default_kms_key_id": "alias/aws/ebs"},
    )
    off = res("aws_ebs_encryption_by_default", "us-east-1", config={"enabled": False})
    out = run("ec2_ebs_default_encryption", inventory(on, off))
    assert out["eu-west-1"][0] == PASS
    assert out["us-east-1"][0] == FAIL and "off in us-east-1" in out["us-east-1"][1]
    # A scanned region without a record, and a record that could not be read: unknown.
    unread = res(
        "aws_ebs_encryption_by_default",
        "us-east-1",
        config={"enabled": None},
        unavailable=["enabled"],
    )
    out = run("ec2_ebs_default_encryption", inventory(unread, regions=["us-east-1", "ap-south-1"]))
    assert out == {
        "us-east-1": (UNKNOWN, out["us-east-1"][1]),
        "ap-south-1": (UNKNOWN, "EBS encryption by default in ap-south-1 was not collected."),
    }


# -- RDS -------------------------------------------------------------------------------------------


def test_rds_instance_storage_encrypted_and_minor_upgrades():
    good = db("good")
    bad = db(
        "bad",
        storage_encrypted=False,
        auto_minor_version_upgrade=False,
        tags={"environment": "production"},
    )
    unread = db("unread", storage_encrypted=None, auto_minor_version_upgrade=None)
    inv = inventory(good, bad, unread)
    out = run("rds_instance_storage_encrypted", inv)
    assert out["good"][0] == PASS
    assert out["bad"][0] == FAIL and "environment=production" in out["bad"][1]
    assert out["unread"][0] == UNKNOWN
    assert statuses("rds_instance_auto_minor_version_upgrade", inv) == {
        "good": PASS,
        "bad": FAIL,
        "unread": UNKNOWN,
    }


def test_rds_backups_multi_az_and_deletion_protection():
    good = db("good")
    bad = db("bad", backup_retention_period=0, multi_az=False, deletion_protection=False)
    replica = db("replica", replicate_source_db="good", backup_retention_period=0, multi_az=False)
    cluster = res(
        "aws_rds_cluster",
        "aurora",
        uid="arn:aws:rds:us-east-1:123456789012:cluster:aurora",
        config={"backup_retention_period": 1, "multi_az": True, "deletion_protection": False},
        service="rds",
    )
    member = db(
        "member",
        cluster_identifier="aurora",
        backup_retention_period=0,
        multi_az=False,
        deletion_protection=True,
        relationships=[("IN_CLUSTER", cluster.uid)],
    )
    orphan = db("orphan", cluster_identifier="gone")
    inv = inventory(good, bad, replica, cluster, member, orphan)
    out = run("rds_instance_backups_enabled", inv)
    assert out["good"][0] == PASS and "7 days" in out["good"][1]
    assert out["bad"][0] == FAIL and "retention 0" in out["bad"][1]
    assert "replica" not in out
    assert out["member"][0] == PASS and "cluster aurora" in out["member"][1]
    assert out["orphan"][0] == UNKNOWN
    assert statuses("rds_instance_multi_az", inv) == {
        "good": PASS,
        "bad": FAIL,
        "member": PASS,
        "orphan": UNKNOWN,
    }
    # Deletion protection of a cluster member is the cluster's (off here).
    assert statuses("rds_instance_deletion_protection", inv) == {
        "good": PASS,
        "bad": FAIL,
        "replica": PASS,
        "member": FAIL,
        "orphan": UNKNOWN,
    }


def test_rds_snapshots_public_and_encrypted():
    ok_snap = res(
        "aws_db_snapshot", "ok", config={"encrypted": True, "public": False, "shared_accounts": []}
    )
    pub = res(
        "aws_db_snapshot",
        "pub",
        config={
            "encrypted": False,
            "public": True,
            "shared_accounts": [],
            "db_instance_identifier": "orders",
        },
    )
    cl = res(
        "aws_db_cluster_snapshot",
        "cl",
        config={"storage_encrypted": False, "public": False, "shared_accounts": ["210987654321"]},
    )
    unread = res(
        "aws_db_snapshot",
        "unread",
        config={"encrypted": True, "public": None, "shared_accounts": None},
        unavailable=["public", "shared_accounts"],
    )
    inv = inventory(ok_snap, pub, cl, unread)
    out = run("rds_snapshot_not_public", inv)
    assert out["ok"][0] == PASS
    assert out["pub"][0] == FAIL and "of orders" in out["pub"][1]
    assert out["cl"][0] == PASS and "210987654321" in out["cl"][1]
    assert out["unread"][0] == UNKNOWN
    out = run("rds_snapshot_encrypted", inv)
    assert out["ok"][0] == PASS and out["pub"][0] == FAIL
    assert out["cl"][0] == FAIL and out["cl"][1].startswith("Cluster snapshot cl")
    assert out["unread"][0] == PASS


# -- EFS, DynamoDB, SQS/SNS encryption -----------------------------------------------------------


def test_efs_file_system_encrypted():
    enc = res("aws_efs_file_system", "enc", config={"encrypted": True, "kms_key_id": "k"})
    plain = res("aws_efs_file_system", "plain", config={"encrypted": False})
    unread = res("aws_efs_file_system", "unread", config={})
    assert statuses("efs_file_system_encrypted", inventory(enc, plain, unread)) == {
        "enc": PASS,
        "plain": FAIL,
        "unread": UNKNOWN,
    }


def test_dynamodb_table_pitr_enabled():
    on = res(
        "aws_dynamodb_table",
        "on",
        config={"point_in_time_recovery": {"enabled": True, "recovery_period_in_days": 35}},
    )
    off = res(
        "aws_dynamodb_table",
        "off",
        config={"point_in_time_recovery": {"enabled": False}},
        tags={"data-classification": "confidential"},
    )
    unread = res(
        "aws_dynamodb_table",
        "unread",
        config={"point_in_time_recovery": None},
        unavailable=["point_in_time_recovery"],
    )
    out = run("dynamodb_table_pitr_enabled", inventory(on, off, unread))
    assert out["on"][0] == PASS and "35 days" in out["on"][1]
    assert out["off"][0] == FAIL and "confidential" in out["off"][1]
    assert out["unread"][0] == UNKNOWN


def test_sqs_and_sns_encryption():
    kms = res(
        "aws_sqs_queue",
        "kms",
        config={"kms_master_key_id": "alias/q", "sqs_managed_sse_enabled": False},
    )
    sse = res(
        "aws_sqs_queue", "sse", config={"kms_master_key_id": None, "sqs_managed_sse_enabled": True}
    )
    plain = res(
        "aws_sqs_queue",
        "plain",
        config={"kms_master_key_id": None, "sqs_managed_sse_enabled": False},
    )
    unread = res(
        "aws_sqs_queue",
        "unread",
        config={"kms_master_key_id": None, "sqs_managed_sse_enabled": None},
        unavailable=["kms_master_key_id", "sqs_managed_sse_enabled"],
    )
    out = run("sqs_queue_encrypted", inventory(kms, sse, plain, unread))
    assert out["kms"][0] == PASS and "alias/q" in out["kms"][1]
    assert out["sse"][0] == PASS and "SSE-SQS" in out["sse"][1]
    assert out["plain"][0] == FAIL
    assert out["unread"][0] == UNKNOWN

    t_enc = res("aws_sns_topic", "enc", config={"kms_master_key_id": "alias/acme-app"})
    t_plain = res("aws_sns_topic", "plain", config={"kms_master_key_id": None})
    t_unread = res(
        "aws_sns_topic",
        "unread",
        config={"kms_master_key_id": None},
        unavailable=["kms_master_key_id"],
    )
    assert statuses("sns_topic_encrypted", inventory(t_enc, t_plain, t_unread)) == {
        "enc": PASS,
        "plain": FAIL,
        "unread": UNKNOWN,
    }
