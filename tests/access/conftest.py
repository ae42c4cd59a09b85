"""The AWS lab the access tests share: a broad target role on moto, scanned, with access
levels of the test's choosing and the emulator as broker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stratusec.config import AccessLevelSettings, AccessSettings, Config, CredentialSource, save
from stratusec.operations.context import Context
from stratusec.operations.scan import scan

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/jit-target"
READ = {
    "actions": ["s3:GetObject", "s3:ListBucket"],
    "resources": ["arn:aws:s3:::orders-*", "arn:aws:s3:::orders-*/*"],
}
WRITE = {"actions": ["s3:PutObject"], "resources": ["arn:aws:s3:::orders-*/*"]}

MakeLab = Callable[[dict[str, dict[str, Any]]], Context]


@pytest.fixture
def make_lab(account: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> MakeLab:
    """``make_lab({name: level fields})``: the role ``jit-target`` (``s3:*`` on ``*``, max
    session 1 h), scanned, and a config with those levels on it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def make(levels: dict[str, dict[str, Any]]) -> Context:
        iam = aws("iam")
        iam.create_role(
            RoleName="jit-target", AssumeRolePolicyDocument="{}", MaxSessionDuration=3600
        )
        iam.put_role_policy(
            RoleName="jit-target",
            PolicyName="broad",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        settings = {
            name: AccessLevelSettings(account=account.name, target_role=ROLE, **fields)
            for name, fields in levels.items()
        }
        save(
            Config(
                accounts=[account],
                access=AccessSettings(broker=CredentialSource(source="emulator"), levels=settings),
            )
        )
        ctx = Context.load()
        scan(ctx, account=account.name, services=["iam"])
        return ctx

    return make
