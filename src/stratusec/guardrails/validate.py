"""Test guardrail policies against an account's latest scan or a Terraform plan: the
operation behind ``stratusec guardrail test`` and the MCP tool ``validate_guardrail``.

A draft policy (``policy_text``) is compiled for the call only: validating never
activates anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stratusec.errors import NotFoundError, StratusecError
from stratusec.guardrails.engine import DENY, ERROR, PASS, GuardrailEngine, resource_input
from stratusec.guardrails.loader import policy_from_source
from stratusec.guardrails.model import Policy
from stratusec.guardrails.plan import load_plan, parse_plan_text, plan_inputs
from stratusec.guardrails.store import stored_policy
from stratusec.operations.context import Context


def account_inputs(ctx: Context, account: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Inputs for every resource of the account's latest scan, and the target record."""
    acct = ctx.config.account(account)  # unknown names list the configured accounts
    scan = ctx.store.latest_scan(acct.name)
    if scan is None:
        raise NotFoundError(
            f"account {acct.name!r} has not been scanned yet",
            hint=f"run 'stratusec scan --account {acct.name}'",
        )
    inputs = [resource_input(r) for r in ctx.store.iter_resources(scan.id)]
    target = {
        "kind": "account",
        "account": acct.name,
        "account_id": scan.account_id,
        "scan_id": scan.id,
        "scan_status": scan.status,
        # A scan of some services judges only what it collected.
        "scan_services": list(scan.services or []),
        "scanned_at": scan.started_at.isoformat() if scan.started_at else None,
    }
    return inputs, target


def plan_target(
    plan: str | Mapping[str, Any], *, from_file: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Inputs from a plan: a file path (CLI), or the JSON document or its text (MCP)."""
    if isinstance(plan, Mapping):
        return plan_inputs(plan, "plan"), {"kind": "plan", "plan": "(inline JSON)"}
    if from_file:
        return load_plan(plan), {"kind": "plan", "plan": str(plan)}
    return parse_plan_text(plan, "plan"), {"kind": "plan", "plan": "(inline JSON)"}


def _filter(
    inputs: list[dict[str, Any]],
    engine: GuardrailEngine,
    resource_types: Sequence[str] | None,
    resource_names: Sequence[str] | None,
) -> list[dict[str, Any]]:
    judged = [i for i in inputs if engine.applicable(i["resource_type"])]
    if resource_types:
        present = sorted({i["resource_type"] for i in judged})
        unknown = [t for t in resource_types if t not in present]
        if unknown:
            raise StratusecError(
                f"no resource of type {', '.join(unknown)} is judged by these policies in "
                f"this target; types present: {', '.join(present) or 'none'}"
            )
        judged = [i for i in judged if i["resource_type"] in resource_types]
    if resource_names:
        wanted = set(resource_names)
        judged = [i for i in judged if i["resource_name"] in wanted or i["resource_uid"] in wanted]
    return judged


def evaluate_target(
    policies: Sequence[Policy],
    inputs: Iterable[Mapping[str, Any]],
    target: Mapping[str, Any],
    *,
    resource_types: Sequence[str] | None = None,
    resource_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Per-resource decisions (pass / deny / error, with the messages) as a JSON-ready
    document."""
    engine = GuardrailEngine(policies)
    all_inputs = [resource_input(i) for i in inputs]
    judged = _filter(all_inputs, engine, resource_types, resource_names)
    rows: list[dict[str, Any]] = []
    counts = {PASS: 0, DENY: 0, ERROR: 0}
    for inp in judged:
        decisions = engine.evaluate(inp)
        statuses = {d.status for d in decisions}
        status = DENY if DENY in statuses else ERROR if ERROR in statuses else PASS
        counts[status] += 1
        rows.append(
            {
                "resource_type": inp["resource_type"],
                "resource_name": inp["resource_name"],
                "resource_uid": inp["resource_uid"],
                "region": inp.get("region") or "",
                "status": status,
                "decisions": [
                    {
                        "policy": d.package,
                        "title": d.title,
                        "severity": d.severity,
                        "status": d.status,
                        "messages": list(d.messages),
                    }
                    for d in decisions
                ],
            }
        )
    return {
        "policies": [p.summary() for p in policies],
        "target": dict(target),
        "resources": rows,
        "summary": {
            "resources": len(rows),
            "pass": counts[PASS],
            "deny": counts[DENY],
            "error": counts[ERROR],
            "not_judged": len(all_inputs)
            - len([i for i in all_inputs if engine.applicable(i["resource_type"])]),
        },
    }


def validate_guardrail(
    ctx: Context,
    *,
    policy: str | None = None,
    policy_text: str | None = None,
    account: str | None = None,
    plan: str | Mapping[str, Any] | None = None,
    resource_types: Sequence[str] | None = None,
    resource_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Test a stored policy (by name or package: the active source if it is active, else
    the bundled or user policy) or a draft text against an account's latest scan or a
    plan (its JSON document or text). Never activates anything, never reads a path the
    caller names."""
    if (policy is None) == (policy_text is None):
        raise StratusecError("give exactly one of policy (a policy name) or policy_text")
    if (account is None) == (plan is None):
        raise StratusecError("give exactly one of account or plan")
    if policy_text is not None:
        pol = policy_from_source(policy_text, "<draft>", origin="draft")
    else:
        assert policy is not None
        if "/" in policy or policy.endswith(".rego"):
            raise StratusecError(
                f"policy must name a bundled, user or active policy, not a path: {policy!r}"
            )
        pol = stored_policy(ctx.store, policy, ctx.config)
    if account is not None:
        inputs, target = account_inputs(ctx, account)
    else:
        assert plan is not None
        inputs, target = plan_target(plan, from_file=False)
    return evaluate_target(
        [pol], inputs, target, resource_types=resource_types, resource_names=resource_names
    )
