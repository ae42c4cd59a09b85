"""`stratusec access` at the CLI on the moto lab: bad input exits 2 with a message that
names the problem, grants nothing and is audited; roles decide who may request and who
may approve."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import update

from stratusec.config import (
    CredentialSource,
    save,
)
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditLog
from stratusec.governance.gate import CallDenied, Caller, Governor, PendingApproval
from stratusec.operations import access as access_op
from stratusec.operations.context import Context
from stratusec.store.db import utcnow
from stratusec.store.models import AccessGrantRow
from tests.access.conftest import READ, WRITE, MakeLab
from tests.cli_helpers import CliResult, run_cli

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/jit-target"
OPERATOR = Caller(
    principal="token:agent",
    role="operator",
    face="mcp-http",
    on_behalf_of="alice",
    agent="test-agent",
)


@pytest.fixture
def lab(make_lab: MakeLab, monkeypatch: pytest.MonkeyPatch) -> Context:
    """s3-read (auto, 1h), s3-write (approval, 30m) and break-glass (admins only); the CLI
    user is alice."""
    monkeypatch.setenv("LOGNAME", "alice")
    return make_lab(
        {
            "s3-read": {**READ, "max_duration": "1h", "auto_grant": True},
            "s3-write": {**WRITE, "max_duration": "30m"},
            "break-glass": {
                "actions": ["s3:*"],
                "resources": ["arn:aws:s3:::*"],
                "auto_grant": True,
                "requesters": ["admin"],
            },
        }
    )


def _set_cli_role(ctx: Context, role: str) -> None:
    ctx.config.governance.cli_role = role
    save(ctx.config)


def _request(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    return run_cli(capsys, "access", "request", "--reason", "read yesterday's orders", *args)


def _granted(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    r = _request(capsys, "--level", "s3-read", *args)
    assert r.code == 0, r.err
    gid: str = json.loads(r.out)["grant_id"]
    return gid


def _last(ctx: Context, tool: str) -> dict[str, Any]:
    records = AuditLog(ctx.store).list(tool=tool, limit=1)
    assert records, f"no audit record for {tool}"
    return records[0]


def _grant_state(ctx: Context, gid: str) -> tuple[str, Any, Any]:
    with ctx.store.session() as s:
        row = s.get(AccessGrantRow, gid)
    assert row is not None
    return row.status, row.delivered_at, row.key_fingerprint


# -- bad requests ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--level", "admin-all"],
            "unknown access level 'admin-all'; levels: break-glass, s3-read, s3-write",
        ),
        (
            ["--target", "prod", "--action", "s3:GetObject"],
            "unknown target 'prod'; accounts with access levels: test; databases: none",
        ),
        (
            ["--level", "s3-read", "--action", "s3:DeleteBucket"],
            "action s3:DeleteBucket is outside access level s3-read; "
            "allowed: s3:GetObject, s3:ListBucket",
        ),
        (
            ["--level", "s3-read", "--resource", "arn:aws:s3:::payroll/*"],
            "resource arn:aws:s3:::payroll/* is outside access level s3-read; "
            "allowed: arn:aws:s3:::orders-*, arn:aws:s3:::orders-*/*",
        ),
        (
            ["--level", "s3-read", "--duration", "2h"],
            "duration 7200 s is over the maximum of 3600 s for level s3-read",
        ),
        (
            ["--level", "s3-write", "--duration", "45m"],
            "duration 2700 s is over the maximum of 1800 s for level s3-write",
        ),
        (["--level", "s3-read", "--duration", "5m"], "below the AWS minimum of 900 s"),
        (["--level", "s3-read", "--duration", "soon"], "invalid duration 'soon'"),
        (["--level", "s3-read", "--resource", "orders-1"], "malformed resource ARN 'orders-1'"),
        (
            ["--level", "s3-read", "--action", "GetObject"],
            "malformed action 'GetObject'; write service:Action",
        ),
        (
            ["--level", "s3-read", "--privilege", "SELECT on public.orders"],
            "access level s3-read is an AWS level: privileges do not apply",
        ),
        (
            ["--level", "s3-read", "--target", "elsewhere"],
            "access level s3-read is for test, not elsewhere",
        ),
        ([], "name an access level (level) or a target account/database (target)"),
        (
            ["--target", "test", "--action", "iam:PassRole", "--resource", "arn:aws:s3:::x/y"],
            "no access level of test covers this request",
        ),
    ],
)
def test_bad_requests_exit_2_grant_nothing_and_are_audited(
    lab: Context, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = access_op.list_grants(lab)
    r = _request(capsys, *args)
    assert r.code == 2, (r.out, r.err)
    assert message in r.err and r.out == ""
    assert access_op.list_grants(lab) == before == []
    assert approvals_mod.list_approvals(lab.store) == []
    rec = _last(lab, "request_access")
    assert (rec["decision"], rec["rule"], rec["outcome"]) == (
        "invalid",
        "invalid:request_access",
        "error",
    )
    assert message in rec["error"]
    assert rec["principal"] == "alice" and rec["face"] == "cli"


def test_a_blank_reason_is_refused(lab: Context, capsys: pytest.CaptureFixture[str]) -> None:
    r = run_cli(capsys, "access", "request", "--level", "s3-read", "--reason", "  ")
    assert r.code == 2 and "a request needs a reason" in r.err
    assert access_op.list_grants(lab) == []
    assert _last(lab, "request_access")["decision"] == "invalid"


# -- credentials of grants that cannot deliver ---------------------------------------------
def test_credentials_of_a_revoked_grant(lab: Context, capsys: pytest.CaptureFixture[str]) -> None:
    gid = _granted(capsys)
    assert run_cli(capsys, "access", "revoke", gid, "--reason", "not needed").code == 0
    before = _grant_state(lab, gid)
    r = run_cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and r.out == ""
    assert f"grant {gid} is revoked; credentials are delivered once" in r.err
    assert _grant_state(lab, gid) == before == ("revoked", None, None)
    rec = _last(lab, "access_credentials")
    assert rec["outcome"] == "error" and f"grant {gid} is revoked" in rec["error"]
    assert rec["arguments"]["grant_id"] == gid


def test_credentials_of_an_expired_grant(lab: Context, capsys: pytest.CaptureFixture[str]) -> None:
    gid = _granted(capsys)
    with lab.store.engine.begin() as conn:
        conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == gid)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    r = run_cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and r.out == ""
    assert f"grant {gid} is expired; credentials are delivered once" in r.err
    assert _grant_state(lab, gid) == ("granted", None, None)  # nothing was delivered
    assert access_op.grant_dict(access_op.load_grant(lab, gid))["status"] == "expired"
    rec = _last(lab, "access_credentials")
    assert rec["outcome"] == "error" and f"grant {gid} is expired" in rec["error"]


def test_credentials_with_too_little_time_left(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    gid = _granted(capsys)
    with lab.store.engine.begin() as conn:
        conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == gid)
            .values(expires_at=utcnow() + dt.timedelta(minutes=5))
        )
    r = run_cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and "under the AWS minimum session of 900 s" in r.err
    assert _grant_state(lab, gid) == ("granted", None, None)


def test_credentials_of_an_unknown_grant(lab: Context, capsys: pytest.CaptureFixture[str]) -> None:
    r = run_cli(capsys, "access", "credentials", "0123456789abcdef0123456789abcdef")
    assert r.code == 2 and r.out == ""
    assert "unknown grant id '0123456789abcdef0123456789abcdef'" in r.err
    assert "stratusec access list" in r.err
    assert access_op.list_grants(lab) == []
    rec = _last(lab, "access_credentials")
    assert rec["outcome"] == "error" and "unknown grant id" in rec["error"]
    for cmd in ("show", "revoke"):
        other = run_cli(capsys, "access", cmd, "nope")
        assert other.code == 2 and "unknown grant id 'nope'" in other.err
        assert _last(lab, f"access_{cmd}")["outcome"] == "error"


def test_credentials_of_another_humans_grant(
    lab: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gid = _granted(capsys)
    monkeypatch.setenv("LOGNAME", "mallory")
    r = run_cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and f"grant {gid} belongs to alice" in r.err and r.out == ""
    assert _grant_state(lab, gid) == ("granted", None, None)
    monkeypatch.setenv("LOGNAME", "alice")
    ok = run_cli(capsys, "access", "credentials", gid)
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["AccessKeyId"]


def test_a_bad_format_or_status_is_refused(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    gid = _granted(capsys)
    r = run_cli(capsys, "access", "credentials", gid, "--format", "pgpass")
    assert r.code == 2 and "format pgpass does not apply to a aws grant" in r.err
    r2 = run_cli(capsys, "access", "credentials", gid, "--format", "yaml")
    assert r2.code == 2 and "unknown format 'yaml'; valid: json, url, pgpass" in r2.err
    assert _grant_state(lab, gid) == ("granted", None, None)
    r3 = run_cli(capsys, "access", "list", "--status", "lost")
    assert r3.code == 2 and "unknown status 'lost'" in r3.err


# -- roles -------------------------------------------------------------------------------
def test_a_reader_at_the_cli_may_not_request(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_cli_role(lab, "reader")
    r = _request(capsys, "--level", "s3-read")
    assert r.code == 3, (r.out, r.err)
    assert "role 'reader' may not call 'request_access'" in r.err
    assert access_op.list_grants(lab) == []
    rec = _last(lab, "request_access")
    assert (rec["decision"], rec["outcome"], rec["rule"]) == ("deny", "denied", "role:reader")
    assert rec["principal"] == "alice"


def test_a_level_for_admins_denies_an_operator(lab: Context) -> None:
    gov = Governor.from_config(lab.config, lab.store)
    args = {"level": "break-glass", "reason": "incident"}
    with pytest.raises(CallDenied) as info:
        gov.begin(OPERATOR, "request_access", args)
    assert info.value.rule == "access:level:break-glass:requesters"
    assert "role 'operator' may not request access level break-glass; it is for: admin" in str(
        info.value
    )
    rec = _last(lab, "request_access")
    assert (rec["decision"], rec["outcome"]) == ("deny", "denied")
    assert rec["rule"] == "access:level:break-glass:requesters"
    assert rec["principal"] == "token:agent" and rec["on_behalf_of"] == "alice"
    assert access_op.list_grants(lab) == []
    # an admin may
    admin = Caller(principal="token:admin", role="admin", face="mcp-http", on_behalf_of="carol")
    ticket = gov.begin(admin, "request_access", args)
    assert not isinstance(ticket, PendingApproval)
    assert ticket.decision.rule == "access:level:break-glass:auto_grant"


def test_a_level_for_admins_by_target_ignores_it_for_an_operator(lab: Context) -> None:
    gov = Governor.from_config(lab.config, lab.store)
    wanted = {
        "target": "test",
        "reason": "r",
        "actions": ["s3:DeleteBucket"],
        "resources": ["arn:aws:s3:::orders-1"],
    }
    with pytest.raises(access_op.AccessError) as info:
        gov.begin(OPERATOR, "request_access", wanted)
    assert "break-glass" not in str(info.value)  # not tried: it is not for operators
    assert "no access level of test covers this request" in str(info.value)
    assert access_op.list_grants(lab) == []
    admin = Caller(principal="token:admin", role="admin", face="mcp-http", on_behalf_of="carol")
    ticket = gov.begin(admin, "request_access", wanted)
    assert not isinstance(ticket, PendingApproval)
    assert ticket.decision.rule == "access:level:break-glass:auto_grant"


def test_an_operator_at_the_cli_may_not_approve(
    lab: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pending = _request(capsys, "--level", "s3-write", "--duration", "20m")
    assert pending.code == 4, pending.err
    (a,) = approvals_mod.list_approvals(lab.store, "pending")
    _set_cli_role(lab, "operator")
    monkeypatch.setenv("LOGNAME", "bob")
    for cmd in ("approve", "deny"):
        r = run_cli(capsys, "access", cmd, a["id"], "--reason", "lgtm")
        assert r.code == 2, (r.out, r.err)
        assert "role 'operator' (governance.cli_role) may not approve or deny" in r.err
        assert "approvers need a role with 'approve'" in r.err
        rec = _last(lab, cmd)
        assert rec["outcome"] == "error" and "may not approve or deny" in rec["error"]
        assert rec["principal"] == "bob"
    assert approvals_mod.get_approval(lab.store, a["id"])["status"] == "pending"
    _set_cli_role(lab, "admin")
    ok = run_cli(capsys, "access", "approve", a["id"], "--reason", "lgtm")
    assert ok.code == 0 and f"Request {a['id']} approved by bob" in ok.out


def test_access_approve_refuses_other_tools(
    lab: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gov = Governor.from_config(lab.config, lab.store)
    admin = Caller(principal="token:admin", role="admin", face="mcp-http", on_behalf_of="carol")
    pending = gov.begin(admin, "activate_guardrail", {"policy": "no-public-buckets"})
    assert isinstance(pending, PendingApproval)
    monkeypatch.setenv("LOGNAME", "bob")
    for cmd in ("approve", "deny"):
        r = run_cli(capsys, "access", cmd, pending.approval_id)
        assert r.code == 2, (r.out, r.err)
        assert (
            f"approval request {pending.approval_id} is for activate_guardrail, not "
            "request_access: use 'stratusec approvals approve|deny'"
        ) in r.err
        assert _last(lab, cmd)["outcome"] == "error"
    assert approvals_mod.get_approval(lab.store, pending.approval_id)["status"] == "pending"
    unknown = run_cli(capsys, "access", "approve", "f" * 32)
    assert unknown.code == 2 and "unknown approval request" in unknown.err
    # the general command decides it
    ok = run_cli(capsys, "approvals", "approve", pending.approval_id)
    assert ok.code == 0 and "(activate_guardrail)" in ok.out


def test_access_deny_and_the_requester_cannot_run_it(
    lab: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _request(capsys, "--level", "s3-write")
    assert r.code == 4
    (a,) = approvals_mod.list_approvals(lab.store, "pending")
    assert a["id"] in r.err
    monkeypatch.setenv("LOGNAME", "bob")
    no = run_cli(capsys, "access", "deny", a["id"], "--reason", "not this week")
    assert no.code == 0 and f"Request {a['id']} denied by bob" in no.out
    again = run_cli(capsys, "access", "approve", a["id"])  # decided: it stays denied
    assert again.code == 2 and "is already denied (by bob)" in again.err
    monkeypatch.setenv("LOGNAME", "alice")
    ran = run_cli(capsys, "approvals", "run", a["id"])
    assert ran.code == 3 and "denied" in ran.err
    assert access_op.list_grants(lab) == []
    assert approvals_mod.get_approval(lab.store, a["id"])["status"] == "denied"


def test_the_requester_may_withdraw_but_not_approve(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _request(capsys, "--level", "s3-write").code == 4
    (a,) = approvals_mod.list_approvals(lab.store, "pending")
    own = run_cli(capsys, "access", "approve", a["id"])
    assert own.code == 2 and "a different human must approve it" in own.err
    assert approvals_mod.get_approval(lab.store, a["id"])["status"] == "pending"
    withdrawn = run_cli(capsys, "access", "deny", a["id"], "--reason", "asked by mistake")
    assert withdrawn.code == 0 and "denied by alice" in withdrawn.out
    assert access_op.list_grants(lab) == []


def test_a_failed_assume_role_does_not_burn_the_grant(
    lab: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    gid = _granted(capsys)
    good = lab.config.access.broker
    lab.config.access.broker = CredentialSource(source="profile", profile="no-such-profile")
    save(lab.config)
    r = run_cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and r.out == "" and "no-such-profile" in r.err
    lab.config.access.broker = good
    save(lab.config)
    ok = run_cli(capsys, "access", "credentials", gid)
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["AccessKeyId"]
