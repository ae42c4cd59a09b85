"""Just-in-time AWS grants on moto: scope checks, the evaluator's proof, credentials from
AssumeRole with the session policy, and revocation by policy."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
from moto.sts.models import sts_backends

from stratusec.access.aws import (
    AccessError,
    AccessLevel,
    issue_credentials,
    prove,
    revoke_sessions,
    scope_request,
)
from stratusec.config import CredentialSource
from stratusec.inventory.models import Resource

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/jit-target"
LEVEL = AccessLevel(
    name="s3-read",
    account="test",
    target_role=ROLE,
    actions=("s3:GetObject", "s3:ListBucket"),
    resources=("arn:aws:s3:::orders-*", "arn:aws:s3:::orders-*/*"),
    max_seconds=3600,
    auto_grant=True,
)


def _role(doc: dict[str, Any]) -> tuple[Resource, Any]:
    role = Resource(
        uid=ROLE,
        provider="aws",
        account=ACCT,
        region="global",
        service="iam",
        type="aws_iam_role",
        name="jit-target",
        config={
            "name": "jit-target",
            "arn": ROLE,
            "inline_policies": {"broad": doc},
            "managed_policy_arns": [],
        },
    )
    return role, lambda uid: None


def test_scope_is_checked_against_the_level_and_aws_limits() -> None:
    s = scope_request(
        LEVEL, actions=["s3:GetObject"], resources=["arn:aws:s3:::orders-2026/*"], seconds=900
    )
    assert s.session_policy()["Statement"][0]["Action"] == ["s3:GetObject"]
    with pytest.raises(AccessError, match="outside access level s3-read; allowed"):
        scope_request(LEVEL, actions=["s3:PutObject"], resources=None, seconds=900)
    with pytest.raises(AccessError, match="outside access level"):
        scope_request(LEVEL, actions=None, resources=["arn:aws:s3:::payroll/*"], seconds=900)
    with pytest.raises(AccessError, match="malformed resource ARN"):
        scope_request(LEVEL, actions=None, resources=["orders-1"], seconds=900)
    with pytest.raises(AccessError, match="below the AWS minimum of 900"):
        scope_request(LEVEL, actions=None, resources=None, seconds=60)
    with pytest.raises(AccessError, match="over the maximum of 1800 s"):
        scope_request(LEVEL, actions=None, resources=None, seconds=3600, role_max_seconds=1800)


def test_the_proof_allows_the_grant_and_nothing_else() -> None:
    role, lookup = _role(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
    )
    scope = scope_request(LEVEL, actions=None, resources=None, seconds=900)
    proof = prove(role, lookup, scope)
    assert proof["ok"], proof
    assert proof["granted_pairs"] == 4 and proof["granted_not_allowed"] == []
    assert proof["role_allows_outside"] > 10 and proof["session_allows_outside"] == []
    # a role that cannot do what is granted: the proof says so
    weak, lookup = _role(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
        }
    )
    bad = prove(weak, lookup, scope)
    assert not bad["ok"] and any("GetObject" in p for p in bad["granted_not_allowed"])


def test_credentials_from_assume_role_and_revocation(
    account: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws("iam").create_role(RoleName="jit-target", AssumeRolePolicyDocument="{}")
    broker = CredentialSource(source="emulator")
    scope = scope_request(LEVEL, actions=None, resources=None, seconds=900)
    creds = issue_credentials(account, broker, ROLE, scope, "stx-grant-1")
    assert creds["Version"] == 1 and creds["AccessKeyId"] and creds["SessionToken"]
    recorded = [r for r in sts_backends[ACCT]["global"].assumed_roles if r.role_arn == ROLE]
    assert json.loads(recorded[-1].policy) == scope.session_policy()
    who = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=account.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert "assumed-role/jit-target/stx-grant-1" in who["Arn"]
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    out = revoke_sessions(account, broker, ROLE, now)
    again = revoke_sessions(account, broker, ROLE, now)  # revoking twice is harmless
    assert out == again
    doc = aws("iam").get_role_policy(RoleName="jit-target", PolicyName=out["policy"])
    cond = doc["PolicyDocument"]["Statement"][0]["Condition"]
    assert cond == {"DateLessThan": {"aws:TokenIssueTime": "2026-11-24T12:00:00Z"}}
