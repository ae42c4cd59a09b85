"""``stratusec fix``: plan a finding's fix (default), ask to apply it, or roll it back.

Applying and rolling back always wait for a different human's approval
(``stratusec approvals approve ID``); the requester then runs it once with
``stratusec approvals run ID``."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governed import cli_caller, governed
from stratusec.errors import StratusecError
from stratusec.governance.gate import ApprovalPending
from stratusec.operations.context import Context
from stratusec.operations.remediate import bind_to_plan, remediate


def _options(values: list[str] | None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep or not key:
            raise StratusecError(f"--option {v!r} must be KEY=VALUE")
        opts[key.strip()] = val
    return opts


def fix(
    finding_id: str | None = typer.Argument(None, help="The finding to fix."),
    apply: bool = typer.Option(False, "--apply", help="Ask for approval to apply the plan."),
    rollback: str | None = typer.Option(
        None, "--rollback", metavar="PLAN_ID", help="Ask for approval to roll a plan back."
    ),
    option: list[str] | None = typer.Option(
        None, "--option", help="Fixer option KEY=VALUE (repeatable), e.g. kms_key_id=arn:..."
    ),
    output: str = typer.Option("text", "--output", "-o", help="text or json"),
) -> None:
    """Plan a fix (nothing changes): API calls, diff, Terraform, AWS CLI, blast radius,
    rollback. --apply and --rollback create an approval request instead of acting."""
    if output not in ("text", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: text, json")
    if bool(finding_id) == bool(rollback):
        raise StratusecError("give a FINDING_ID to plan (and --apply), or --rollback PLAN_ID")
    opts = _options(option)
    ctx = Context.load()
    try:
        actor = cli_caller(ctx).principal
        if rollback:
            args = bind_to_plan(ctx, {"mode": "rollback", "plan_id": rollback}, actor)
            _ask(ctx, args, actor, output)
            return
        plan_args = {"finding_id": finding_id, "mode": "plan", "options": opts or None}
        planned = governed(
            ctx,
            "remediate",
            plan_args,
            lambda: remediate(ctx, actor=actor, finding_id=finding_id, options=opts),
        )
        plan = planned["plan"]
        if output == "json" and not apply:
            print_json(planned)
            return
        if output == "text":
            render(plan)
        if apply:
            args = {
                "finding_id": finding_id,
                "mode": "apply",
                "plan_id": plan["id"],
                "plan_digest": plan["digest"],
                "options": opts or None,
            }
            _ask(ctx, args, actor, output, plan)
    finally:
        ctx.close()


def _ask(
    ctx: Context, args: dict[str, Any], actor: str, output: str, plan: dict[str, Any] | None = None
) -> None:
    """Through the gate: an apply or rollback always becomes a pending approval."""
    try:
        governed(ctx, "remediate", args, lambda: remediate(ctx, actor=actor, **args))
    except ApprovalPending as pending:
        if output == "json":
            print_json({"plan": plan, **pending.pending.as_dict()})
        err.print(Text(str(pending)))
        raise typer.Exit(pending.exit_code) from None
    raise StratusecError("internal: an apply ran without approval")  # pragma: no cover


def render(plan: dict[str, Any]) -> None:
    out.print(Text(f"Plan {plan['id']} ({plan['fixer']}): {plan['title']}", style="bold"))
    out.print(Text(f"digest {plan['digest']}  status {plan['status']}"))
    out.print(Text(f"resource {plan['resource']['type']} {plan['resource']['uid']}"))
    out.print(Text("\nAPI calls, in order:", style="bold"))
    for i, c in enumerate(plan["calls"], 1):
        out.print(Text(f"  {i}. {c['service']}:{c['operation']} — {c['description']}"))
        out.print(Text(f"     {json.dumps(c['params'], default=str)}", style="dim"))
    if plan["diff"]:
        out.print(Text("\nConfig before -> after:", style="bold"))
        for d in plan["diff"]:
            out.print(Text(f"  {d['key']}: {json.dumps(d['before'])} -> {json.dumps(d['after'])}"))
    out.print(Text("\nAWS CLI:", style="bold"))
    for line in plan["aws_cli"]:
        out.print(Text(f"  {line}"))
    out.print(Text("\nTerraform:", style="bold"))
    out.print(Text(plan["terraform"]))
    br = plan.get("blast_radius") or {}
    users, uses = br.get("used_by", []), br.get("uses", [])
    paths = br.get("attack_paths_through", [])
    out.print(Text("Blast radius:", style="bold"))
    if not (users or uses or paths):
        out.print(Text(f"  {br.get('note') or 'nothing in the security graph uses it'}"))
    for n in users[:15]:
        out.print(Text(f"  used by [{n.get('type')}] {n.get('name')} ({n.get('kind')})"))
    for n in uses[:15]:
        out.print(Text(f"  uses [{n.get('type')}] {n.get('name')} ({n.get('kind')})"))
    for p in paths[:5]:
        names = [p.get("entry_name", "")] + [h.get("to_name", "") for h in p.get("hops", [])]
        out.print(Text(f"  attack path through it (the fix may cut it): {' -> '.join(names)}"))
    out.print(
        Text(
            f"fingerprint {plan['fingerprint'][:16]}; session policy actions: "
            + ", ".join(
                sorted({a for st in plan["session_policy"]["Statement"] for a in st["Action"]})
            )
        )
    )
    out.print(Text("\nRollback:", style="bold"))
    for c in plan["rollback"]:
        out.print(Text(f"  {c['service']}:{c['operation']} — {c['description']}"))
    for n in plan.get("notes", []):
        out.print(Text(f"note: {n}", style="yellow"))
