"""non_human_identities on moto: seed IAM users and roles, scan IAM, list the non-human
identities with their keys, last use and open findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from stratusec.config import Account, Config, save
from stratusec.errors import NotFoundError
from stratusec.operations.context import Context
from stratusec.operations.nhi import non_human_identities
from stratusec.operations.scan import scan as scan_op

TRUST_AWS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def ctx(account: Account) -> Iterator[Context]:
    save(Config(accounts=[account]))
    c = Context.load()
    yield c
    c.close()


def _seed(aws: Any) -> dict[str, str]:
    iam = aws("iam")
    keys: dict[str, str] = {}
    iam.create_user(UserName="deployer")  # programmatic: key, no password
    keys["deployer"] = iam.create_access_key(UserName="deployer")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="alice")  # human: console password, no key
    iam.create_login_profile(UserName="alice", Password="Sup3r-secret-Pw!")
    iam.create_user(UserName="report-bot")  # agent by name, no key
    iam.create_user(UserName="helper", Tags=[{"Key": "stratusec:agent", "Value": "true"}])
    keys["helper"] = iam.create_access_key(UserName="helper")["AccessKey"]["AccessKeyId"]
    iam.create_role(RoleName="code-agent", AssumeRolePolicyDocument=json.dumps(TRUST_AWS))
    iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    iam.create_role(RoleName="admins", AssumeRolePolicyDocument=json.dumps(TRUST_AWS))
    return keys


def test_lists_non_human_identities(ctx: Context, account: Account, aws: Any) -> None:
    keys = _seed(aws)
    [(outcome, _ev)] = scan_op(ctx, account=account.name, services=["iam"])
    assert outcome.status in ("succeeded", "partial")

    rows = {r["name"]: r for r in non_human_identities(ctx, account.name)}
    assert "alice" not in rows and "admins" not in rows
    assert {"deployer", "report-bot", "helper", "code-agent", "fn-role"} <= set(rows)

    dep = rows["deployer"]
    assert dep["kind"] == "user" and dep["agent"] is False
    assert dep["why"] == "active access key and no console password"
    assert dep["arn"] == f"arn:aws:iam::{account.account_id}:user/deployer"
    [cred] = dep["credentials"]
    assert cred["access_key_id"] == keys["deployer"] and cred["status"] == "Active"
    assert cred["age_days"] == 0 and cred["created"]
    assert dep["findings"], "the standing key is an open finding"

    assert rows["helper"]["agent"] is True and rows["helper"]["why"].startswith("tagged")
    assert rows["report-bot"]["credentials"] == [] and rows["report-bot"]["agent"] is True
    assert rows["code-agent"]["kind"] == "role" and rows["code-agent"]["agent"] is True
    assert rows["code-agent"]["findings"], "unconditioned agent role trust is a finding"
    assert rows["fn-role"]["why"] == "assumed by service(s) lambda.amazonaws.com"
    # Agents are listed first.
    names = [r["name"] for r in non_human_identities(ctx, account.name)]
    assert names.index("code-agent") < names.index("deployer")
    # No secret in the listing.
    assert "SecretAccessKey" not in json.dumps(rows, default=str)


def test_bad_input(ctx: Context, account: Account) -> None:
    with pytest.raises(NotFoundError, match="configured accounts: test"):
        non_human_identities(ctx, "nope")
    with pytest.raises(NotFoundError, match="not been scanned"):
        non_human_identities(ctx, account.name)
