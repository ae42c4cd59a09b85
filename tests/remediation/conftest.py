"""A fix lab on the moto server: seed a resource, scan, plan, approve (as another human),
apply once, and see the finding resolved by a real re-check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from stratusec.config import Account, Config, CredentialSource, save
from stratusec.findings.query import FindingFilter
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.gate import Caller, Governor, PendingApproval
from stratusec.operations.context import Context
from stratusec.operations.findings import get_findings
from stratusec.operations.remediate import bind_to_plan, remediate
from stratusec.operations.scan import scan as scan_op

OPERATOR = Caller(
    principal="token:fixer-agent",
    role="operator",
    face="mcp-http",
    on_behalf_of="alice@example.com",
    agent="test-agent",
)


@dataclass
class FixLab:
    ctx: Context
    account: Account
    gov: Governor
    audit_tools: list[str] = field(default_factory=list)

    def scan(self, *services: str) -> None:
        results = scan_op(self.ctx, account=self.account.name, services=list(services) or None)
        for outcome, _ev in results:
            assert outcome.status in ("succeeded", "partial"), outcome.errors

    def findings(self, check_id: str, status: str = "open") -> list[dict[str, Any]]:
        page = get_findings(
            self.ctx, FindingFilter(account=self.account.name, check=[check_id], status=status)
        )
        return page.findings

    def finding(self, check_id: str, name: str | None = None) -> dict[str, Any]:
        found = [
            f for f in self.findings(check_id) if name is None or f["resource"]["name"] == name
        ]
        assert found, f"no open {check_id} finding for {name}: {self.findings(check_id, 'all')}"
        return found[0]

    def plan(self, finding: dict[str, Any], **options: Any) -> dict[str, Any]:
        out = remediate(
            self.ctx,
            actor=OPERATOR.principal,
            finding_id=finding["id"],
            options=options or None,
        )
        return dict(out["plan"])

    def _approved_run(self, args: dict[str, Any]) -> dict[str, Any]:
        args = bind_to_plan(self.ctx, args, OPERATOR.principal)
        pending = self.gov.begin(OPERATOR, "remediate", args)
        assert isinstance(pending, PendingApproval), "an apply must wait for approval"
        with pytest.raises(approvals_mod.SelfApprovalError):
            approvals_mod.decide(
                self.ctx.store, pending.approval_id, approver="alice", approve=True, reason="me"
            )
        approvals_mod.decide(
            self.ctx.store, pending.approval_id, approver="bob", approve=True, reason="ok"
        )
        ticket = self.gov.begin_approved(OPERATOR, pending.approval_id)
        out = self.gov.run_ticket(
            ticket,
            lambda: remediate(
                self.ctx,
                actor=OPERATOR.principal,
                approval_id=ticket.approval_id,
                **ticket.arguments,
            ),
        )
        return dict(out["plan"])

    def apply(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Request, approve as another human, run once; returns the applied plan."""
        return self._approved_run(
            {"mode": "apply", "plan_id": plan["id"], "plan_digest": plan["digest"]}
        )

    def rollback(self, plan: dict[str, Any]) -> dict[str, Any]:
        return self._approved_run(
            {"mode": "rollback", "plan_id": plan["id"], "plan_digest": plan["digest"]}
        )

    def fix(self, check_id: str, name: str | None = None, **options: Any) -> dict[str, Any]:
        """Plan and apply the fix of one finding; assert it was verified and resolved."""
        f = self.finding(check_id, name)
        plan = self.plan(f, **options)
        assert plan["status"] == "planned" and plan["calls"], plan
        assert plan["terraform"].strip() and plan["aws_cli"], plan
        applied = self.apply(plan)
        assert applied["status"] == "applied", applied
        ver = applied["result"]["verification"]
        assert ver["resolved"], ver
        still = [x for x in self.findings(check_id) if x["id"] == f["id"]]
        assert not still, "the finding should be resolved"
        return applied


@pytest.fixture
def fixlab(account: Account) -> Callable[..., FixLab]:
    """``fixlab()`` -> a FixLab for the moto account (remediation credentials: emulator)."""

    def make() -> FixLab:
        acct = account.model_copy(update={"remediation": CredentialSource(source="emulator")})
        save(Config(accounts=[acct]))
        ctx = Context.load()
        return FixLab(ctx=ctx, account=acct, gov=Governor.from_config(ctx.config, ctx.store))

    return make
