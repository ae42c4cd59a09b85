"""The ``remediate`` operation: plan a fix (the default), or apply / roll back a stored
plan — the latter two only ever under a human's approval, bound to the plan's digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stratusec.errors import StratusecError
from stratusec.operations.context import Context
from stratusec.remediation import engine

MODES = ("plan", "apply", "rollback")


def remediate(
    ctx: Context,
    *,
    actor: str,
    finding_id: str | None = None,
    mode: str = "plan",
    plan_id: str | None = None,
    plan_digest: str | None = None,
    options: dict[str, Any] | None = None,
    approval_id: str | None = None,
    record: Callable[[str, dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """``record(event, facts)``, when given, appends the verification to the audit chain."""
    if mode not in MODES:
        raise StratusecError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    if mode == "plan":
        if not finding_id:
            raise StratusecError("mode=plan needs a finding_id (from get_findings)")
        return {
            "mode": "plan",
            "plan": engine.make_plan(ctx, finding_id, options=options, created_by=actor),
        }
    if not plan_id or not plan_digest:
        raise StratusecError(f"mode={mode} needs plan_id and plan_digest (from mode=plan)")
    if mode == "apply":
        plan = engine.apply_plan(
            ctx, plan_id, plan_digest, approval_id=approval_id, applied_by=actor
        )
        if record is not None:
            ver = (plan.get("result") or {}).get("verification") or {}
            record(
                "remediate_verify",
                {
                    "plan_id": plan_id,
                    "finding_id": plan.get("finding_id"),
                    "resolved": ver.get("resolved"),
                    "check_status": ver.get("check_status"),
                    "matches_expected": ver.get("matches_expected"),
                },
            )
    else:
        plan = engine.rollback_plan(ctx, plan_id, plan_digest, approval_id=approval_id, by=actor)
    return {"mode": mode, "plan": plan}


def bind_to_plan(ctx: Context, arguments: dict[str, Any], actor: str) -> dict[str, Any]:
    """An apply asked for by finding id (no plan yet): make the plan now, so that the
    approval request is bound to a stored plan and its digest."""
    args = dict(arguments)
    if args.get("mode") == "apply" and not args.get("plan_id") and args.get("finding_id"):
        plan = engine.make_plan(
            ctx, args["finding_id"], options=args.get("options"), created_by=actor
        )
        args["plan_id"], args["plan_digest"] = plan["id"], plan["digest"]
    if (
        args.get("mode") in ("apply", "rollback")
        and args.get("plan_id")
        and not args.get("plan_digest")
    ):
        args["plan_digest"] = engine.get_plan(ctx, args["plan_id"])["digest"]
    return args


def approval_reason(arguments: dict[str, Any]) -> str | None:
    """Applying or rolling back always needs a human (whatever the Rego policy says)."""
    mode = arguments.get("mode")
    if mode in ("apply", "rollback"):
        return (
            f"{mode} of remediation plan {arguments.get('plan_id')} changes the cloud "
            "account: a different human must approve it"
        )
    return None
