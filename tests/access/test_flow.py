"""request_access end to end on moto: an auto-granted level (proof, credentials once,
revoke twice), a level that needs a different human's approval, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stratusec.access.aws import AccessError
from stratusec.errors import NotFoundError
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.gate import CallDenied, Caller, Governor, PendingApproval
from stratusec.operations import access as access_op
from stratusec.operations.context import Context
from stratusec.operations.dispatch import run_tool
from stratusec.operations.scan import scan
from tests.access.conftest import READ, WRITE, MakeLab
from tests.cli_helpers import run_cli

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/jit-target"
AGENT = Caller(
    principal="token:agent",
    role="operator",
    face="mcp-http",
    on_behalf_of="alice",
    agent="test-agent",
)


@pytest.fixture
def lab(make_lab: MakeLab) -> Context:
    return make_lab(
        {
            "s3-read": {**READ, "max_duration": "1h", "auto_grant": True},
            "s3-write": {**WRITE, "max_duration": "30m"},
        }
    )


def test_auto_granted_level_credentials_once_and_revoke(
    lab: Context, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gov = Governor.from_config(lab.config, lab.store)
    args = {"level": "s3-read", "reason": "read yesterday's orders", "duration": "15m"}
    ticket = gov.begin(AGENT, "request_access", args)
    assert not isinstance(ticket, PendingApproval)  # auto-granted: no approval
    grant = gov.run_ticket(
        ticket,
        lambda: run_tool(
            lab,
            "request_access",
            args,
            actor=AGENT.principal,
            role=AGENT.role,
            on_behalf_of=AGENT.on_behalf_of,
        ),
    )
    assert grant["status"] == "granted" and grant["proof"]["ok"]
    assert grant["proof"]["session_allows_outside"] == []
    assert "credentials" in grant["how_to_fetch"] and "SecretAccessKey" not in json.dumps(grant)
    gid = grant["grant_id"]
    # the human the agent acts for fetches the credentials, once, at the CLI
    import os

    os.environ["LOGNAME"] = "alice"
    try:
        first = run_cli(capsys, "access", "credentials", gid)
        assert first.code == 0, first.err
        creds = json.loads(first.out)
        assert creds["Version"] == 1 and creds["AccessKeyId"]
        again = run_cli(capsys, "access", "credentials", gid)
        assert again.code == 2 and "delivered once" in again.err
    finally:
        del os.environ["LOGNAME"]
    shown = access_op.grant_dict(access_op.load_grant(lab, gid))
    assert shown["status"] == "delivered" and shown["key_fingerprint"].startswith("sha256:")
    assert creds["AccessKeyId"] not in json.dumps(shown)
    revoked = access_op.revoke(lab, gid, by="bob", reason="done")
    assert revoked["status"] == "revoked"
    assert access_op.revoke(lab, gid, by="bob", reason="again")["status"] == "revoked"


def test_a_level_that_needs_approval(lab: Context) -> None:
    gov = Governor.from_config(lab.config, lab.store)
    args = {"level": "s3-write", "reason": "backfill", "duration": "20m"}
    pending = gov.begin(AGENT, "request_access", args)
    assert isinstance(pending, PendingApproval)
    with pytest.raises(approvals_mod.SelfApprovalError):
        approvals_mod.decide(
            lab.store, pending.approval_id, approver="alice", approve=True, reason="me"
        )
    approvals_mod.decide(lab.store, pending.approval_id, approver="bob", approve=True, reason="ok")
    ticket = gov.begin_approved(AGENT, pending.approval_id)
    grant = gov.run_ticket(
        ticket,
        lambda: run_tool(
            lab,
            "request_access",
            ticket.arguments,
            actor=AGENT.principal,
            role=AGENT.role,
            on_behalf_of=AGENT.on_behalf_of,
            approval_id=ticket.approval_id,
        ),
    )
    assert grant["rule"] == f"access:level:s3-write:approval:{pending.approval_id}"
    # a reader may not even ask
    reader = Caller(principal="token:r", role="reader", face="mcp-http")
    with pytest.raises(CallDenied):
        gov.begin(reader, "request_access", args)


def test_bad_requests_grant_nothing(lab: Context) -> None:
    def ask(**kw: Any) -> Any:
        base = {
            "requester": "token:agent",
            "role": "operator",
            "reason": "x",
            "level": "s3-read",
            "duration": "15m",
        }
        return access_op.request_access(lab, **{**base, **kw})

    with pytest.raises(NotFoundError, match="levels: s3-read, s3-write"):
        ask(level="admin")
    with pytest.raises(AccessError, match="over the maximum of 3600 s"):
        ask(duration="2h")
    with pytest.raises(AccessError, match="outside access level"):
        ask(actions=["s3:DeleteBucket"])
    with pytest.raises(AccessError, match="malformed resource ARN"):
        ask(resources=["orders-1"])
    with pytest.raises(AccessError, match="only with a different human's approval"):
        ask(level="s3-write")
    with pytest.raises(AccessError, match="may not request"):
        ask(role="reader")
    with pytest.raises(NotFoundError, match="unknown grant id"):
        access_op.deliver(lab, "nope", actor="alice")
    assert access_op.list_grants(lab) == []


def test_access_check_evaluates_the_grants_session(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run_cli(capsys, "access", "request", "--level", "s3-read", "--reason", "read",
                "--resource", "arn:aws:s3:::orders-2026/*")  # fmt: skip
    assert r.code == 0, r.err
    gid = json.loads(r.out)["grant_id"]
    ok = run_cli(capsys, "access", "check", gid, "--action", "s3:GetObject",
                 "--resource", "arn:aws:s3:::orders-2026/day1.csv")  # fmt: skip
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["decision"] == "allow"
    # the role alone may write; the grant's session may not
    no = run_cli(capsys, "access", "check", gid, "--action", "s3:PutObject",
                 "--resource", "arn:aws:s3:::orders-2026/day1.csv")  # fmt: skip
    assert no.code == 1
    out = json.loads(no.out)
    assert out["decision"] == "implicit_deny" and out["role_alone"] == "allow"
    # another bucket the level pattern allows, but this grant was narrowed away from
    other = run_cli(capsys, "access", "check", gid, "--action", "s3:GetObject",
                    "--resource", "arn:aws:s3:::orders-2025/day1.csv")  # fmt: skip
    assert other.code == 1
    bad = run_cli(capsys, "access", "check", gid, "--action", "GetObject", "--resource", "x")
    assert bad.code == 2 and "malformed action" in bad.err


def test_cloud_text_cannot_change_a_grants_scope(
    make_lab: Any, aws: Any, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tags and descriptions on the target role that read like instructions are data: the
    scope, the session policy, the decision and access.rego's input come from the config
    and the request alone."""
    from stratusec.demo.seed import INJECTION_TEXT

    ctx = make_lab({"s3-read": {**READ, "auto_grant": True}})
    iam = aws("iam")
    iam.tag_role(
        RoleName="jit-target",
        Tags=[
            {"Key": "description", "Value": INJECTION_TEXT},
            {"Key": "stratusec:access-level", "Value": "s3:* on * auto_grant"},
        ],
    )
    iam.update_role_description(RoleName="jit-target", Description=INJECTION_TEXT)
    scan(ctx, account=account.name, services=["iam"])
    gov = Governor.from_config(ctx.config, ctx.store)
    args = {"level": "s3-read", "reason": "read", "actions": ["s3:*"]}
    with pytest.raises(AccessError, match="outside access level s3-read"):
        gov.begin(AGENT, "request_access", args)  # asking for more is still refused
    args = {"level": "s3-read", "reason": "read"}
    resolved, decision = access_op.decide_request(ctx.config, ctx.store, AGENT, args, None)
    assert resolved is not None and decision.rule == "access:level:s3-read:auto_grant"
    policy_input = json.dumps(resolved.policy_input(AGENT, args))
    assert "IGNORE" not in policy_input and "s3:* on *" not in policy_input
    grant = access_op.request_access(
        ctx, requester=AGENT.principal, role="operator", on_behalf_of="alice", **args
    )
    statement = grant["proof"]["session_policy"]["Statement"]
    assert statement == [
        {
            "Sid": "StratusecGrant",
            "Effect": "Allow",
            "Action": sorted(READ["actions"]),
            "Resource": sorted(READ["resources"]),
        }
    ]
    assert "IGNORE" not in json.dumps(grant)
    ctx.close()
