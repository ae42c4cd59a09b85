"""S3 and CloudTrail fixers end to end on moto: plan, approve, apply once, re-check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stratusec.remediation.engine import DriftError, RemediationError
from tests.remediation.conftest import FixLab

pytestmark = pytest.mark.slow


def test_bucket_public_access_block_and_rollback(fixlab: Any, aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="open-bucket")
    lab: FixLab = fixlab()
    lab.scan("s3")
    applied = lab.fix("s3_bucket_public_access_block", "open-bucket")
    assert applied["calls"][0]["operation"] == "put_public_access_block"
    conf = s3.get_public_access_block(Bucket="open-bucket")["PublicAccessBlockConfiguration"]
    assert all(conf.values())
    lab.rollback(applied)
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_public_access_block(Bucket="open-bucket")


def test_bucket_encryption_versioning_and_tls_policy(fixlab: Any, aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="plain")
    s3.put_bucket_policy(
        Bucket="plain",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Keep",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::plain/*",
                    }
                ],
            }
        ),
    )
    lab: FixLab = fixlab()
    lab.scan("s3")
    lab.fix("s3_bucket_default_encryption", "plain")
    lab.fix("s3_bucket_versioning_enabled", "plain")
    lab.fix("s3_bucket_deny_insecure_transport", "plain")
    policy = json.loads(s3.get_bucket_policy(Bucket="plain")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["Keep", "DenyInsecureTransport"]
    assert s3.get_bucket_versioning(Bucket="plain")["Status"] == "Enabled"


def test_account_public_access_block(fixlab: Any, aws: Any) -> None:
    lab: FixLab = fixlab()
    lab.scan("s3")
    lab.fix("s3_account_public_access_block")


def _trail(aws: Any, name: str, region: str, **kw: Any) -> None:
    s3 = aws("s3", region)
    bucket = f"{name}-logs"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    aws("cloudtrail", region).create_trail(Name=name, S3BucketName=bucket, **kw)


def test_cloudtrail_validation_kms_and_multi_region(fixlab: Any, aws: Any) -> None:
    _trail(aws, "eu-trail", "eu-west-1")
    key = aws("kms", "eu-west-1").create_key(Description="trail key")["KeyMetadata"]["Arn"]
    lab: FixLab = fixlab()
    lab.scan("cloudtrail", "s3", "kms", "iam")
    lab.fix("cloudtrail_log_file_validation", "eu-trail")
    # the KMS fix needs a key: without one it says which keys exist
    with pytest.raises(RemediationError, match="kms_key_id"):
        lab.plan(lab.finding("cloudtrail_kms_encryption", "eu-trail"))
    lab.fix("cloudtrail_kms_encryption", "eu-trail", kms_key_id=key)
    applied = lab.fix("cloudtrail_multi_region_logging")
    ops = [c["operation"] for c in applied["calls"]]
    assert ops[0] == "update_trail" and ops[-1] == "start_logging"
    trail = aws("cloudtrail", "eu-west-1").describe_trails()["trailList"][0]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]


def test_drift_and_run_once(fixlab: Any, aws: Any) -> None:
    _trail(aws, "drifty", "us-east-1")
    lab: FixLab = fixlab()
    lab.scan("cloudtrail")
    plan = lab.plan(lab.finding("cloudtrail_log_file_validation", "drifty"))
    # someone fixes it by hand (differently) before the approved plan runs
    aws("cloudtrail").update_trail(Name="drifty", EnableLogFileValidation=True)
    with pytest.raises(DriftError, match="make a new plan"):
        lab.apply(plan)


def test_no_fixer_says_so_with_manual_steps(fixlab: Any, aws: Any) -> None:
    lab: FixLab = fixlab()
    lab.scan("iam")
    f = lab.finding("iam_root_mfa_enabled")
    with pytest.raises(RemediationError, match=r"no automated fix.*manual steps"):
        lab.plan(f)


def test_injection_text_in_tags_cannot_widen_a_plan(fixlab: Any, aws: Any) -> None:
    from stratusec.demo.seed import INJECTION_TEXT
    from stratusec.governance.approvals import list_approvals

    s3 = aws("s3")
    s3.create_bucket(Bucket="assets")
    s3.put_bucket_tagging(
        Bucket="assets", Tagging={"TagSet": [{"Key": "description", "Value": INJECTION_TEXT}]}
    )
    s3.create_bucket(Bucket="other")
    lab: FixLab = fixlab()
    lab.scan("s3")
    plan = lab.plan(lab.finding("s3_bucket_public_access_block", "assets"))
    # the plan touches that bucket only, whatever its tags say, and planning asks nothing
    assert {c["params"]["Bucket"] for c in plan["calls"]} == {"assets"}
    assert plan["session_policy"]["Statement"][0]["Resource"] == "arn:aws:s3:::assets"
    text = json.dumps({k: v for k, v in plan.items() if k != "blast_radius"})
    assert INJECTION_TEXT not in text
    assert list_approvals(lab.ctx.store) == []
    assert plan["status"] == "planned"


def test_assumed_remediation_role_gets_a_session_policy_of_the_plan_only(
    account: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a role to assume, the write session's policy allows only the plan's actions
    on the plan's resources (moto records the policy; it does not enforce it)."""
    from moto.sts.models import sts_backends

    from stratusec.config import Config, CredentialSource, save
    from stratusec.governance.gate import Governor
    from stratusec.operations.context import Context
    from tests.remediation.conftest import FixLab

    # the credentials the remediation role is assumed from (the default chain)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws("iam").create_role(RoleName="fixer", AssumeRolePolicyDocument="{}")
    role = "arn:aws:iam::123456789012:role/fixer"
    aws("s3").create_bucket(Bucket="needs-versioning")
    acct = account.model_copy(
        update={"remediation": CredentialSource(source="assume_role", role_arn=role)}
    )
    save(Config(accounts=[acct]))
    ctx = Context.load()
    lab = FixLab(ctx=ctx, account=acct, gov=Governor.from_config(ctx.config, ctx.store))
    lab.scan("s3")
    applied = lab.fix("s3_bucket_versioning_enabled", "needs-versioning")
    sessions = [
        r for r in sts_backends["123456789012"]["global"].assumed_roles if r.role_arn == role
    ]
    assert sessions, "the fix must run under the assumed remediation role"
    assert (
        json.loads(sessions[-1].policy)
        == applied["session_policy"]
        == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutBucketVersioning"],
                    "Resource": "arn:aws:s3:::needs-versioning",
                }
            ],
        }
    )
    ctx.close()
