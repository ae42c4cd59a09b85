"""Activating a guardrail is an admin action behind a different human's approval; once
active it runs at every scan and its denials are findings ``guardrail:<package>``."""

from __future__ import annotations

from typing import Any

import pytest

from stratusec.config import Config, save
from stratusec.findings.query import FindingFilter
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.gate import CallDenied, Caller, Governor, PendingApproval
from stratusec.guardrails.store import active_policies
from stratusec.operations.context import Context
from stratusec.operations.dispatch import run_tool
from stratusec.operations.findings import get_findings
from stratusec.operations.scan import scan

pytestmark = pytest.mark.slow
ADMIN = Caller(principal="token:admin-agent", role="admin", face="mcp-http", on_behalf_of="alice")
POLICY = "rds_production_encrypted_multi_az"
PACKAGE = f"stratusec.guardrails.{POLICY}"


def _approved(ctx: Context, gov: Governor, args: dict[str, Any]) -> Any:
    pending = gov.begin(ADMIN, "activate_guardrail", args)
    assert isinstance(pending, PendingApproval)
    with pytest.raises(approvals_mod.SelfApprovalError):
        approvals_mod.decide(
            ctx.store, pending.approval_id, approver="alice", approve=True, reason="me"
        )
    approvals_mod.decide(ctx.store, pending.approval_id, approver="bob", approve=True, reason="ok")
    ticket = gov.begin_approved(ADMIN, pending.approval_id)
    return gov.run_ticket(
        ticket,
        lambda: run_tool(
            ctx,
            ticket.tool,
            ticket.arguments,
            actor=ADMIN.principal,
            approval_id=ticket.approval_id,
        ),
    )


def test_activate_behind_approval_then_findings_at_scan(account: Any, aws: Any) -> None:
    aws("rds").create_db_instance(
        DBInstanceIdentifier="prod-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="u",
        MasterUserPassword="not-a-real-password-9",
        StorageEncrypted=False,
        MultiAZ=False,
        Tags=[{"Key": "environment", "Value": "production"}],
    )
    save(Config(accounts=[account]))
    ctx = Context.load()
    gov = Governor.from_config(ctx.config, ctx.store)
    reader = Caller(principal="token:r", role="reader", face="mcp-http")
    assert "activate_guardrail" not in gov.tools_for(reader)
    with pytest.raises(CallDenied):
        gov.begin(reader, "activate_guardrail", {"policy": POLICY})
    # an operator may not either; an admin must still get approval
    operator = Caller(principal="token:o", role="operator", face="mcp-http")
    with pytest.raises(CallDenied):
        gov.begin(operator, "activate_guardrail", {"policy": POLICY})
    out = _approved(ctx, gov, {"policy": POLICY, "active": True})
    assert out["package"] == PACKAGE and out["approval_id"]
    assert [p.package for p in active_policies(ctx.store)] == [PACKAGE]

    scan(ctx, account=account.name, services=["rds"])
    found = get_findings(
        ctx, FindingFilter(account=account.name, check=[f"guardrail:{PACKAGE}"])
    ).findings
    assert [f["resource"]["name"] for f in found] == ["prod-db"]
    assert found[0]["title"] == "Production RDS must be encrypted and multi-AZ"
    assert "encrypt" in found[0]["message"].lower()

    _approved(ctx, gov, {"policy": POLICY, "active": False})
    assert active_policies(ctx.store) == []
    ctx.close()
