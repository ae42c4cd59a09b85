"""``stratusec token`` (static bearer tokens) and ``stratusec approvals`` (out-of-band
decisions). The approver is the OS user running this command: a human at a terminal,
never the agent that asked."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governed import recorded, size_of
from stratusec.config import Config
from stratusec.errors import StratusecError
from stratusec.governance import approvals as approvals_mod
from stratusec.governance import tokens as tokens_mod
from stratusec.governance.authz import load_roles
from stratusec.operations.context import Context

token_app = typer.Typer(help="Static bearer tokens for the MCP HTTP server.", no_args_is_help=True)
approvals_app = typer.Typer(
    help="Approval requests: list, inspect, approve or deny (as a different human).",
    no_args_is_help=True,
)

OUTPUTS = ("table", "json")


def valid_roles(config: Config) -> list[str]:
    """Role names from ``config.roles`` if any are defined, else the built-in defaults."""
    return load_roles(config.roles).names()


def _check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise StratusecError(f"unknown output {output!r}; valid: {', '.join(OUTPUTS)}")


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


# -- tokens ---------------------------------------------------------------------------------
@token_app.command("create")
def token_create(
    name: str = typer.Option(..., "--name", help="A unique name for the token."),
    role: str = typer.Option(..., "--role", help="The role it grants (e.g. reader)."),
    for_human: str = typer.Option(..., "--for", help="The human the token acts for."),
    expires: str | None = typer.Option(
        None, "--expires", help="Lifetime: 30m, 12h, 30d or 2w (default: no expiry)."
    ),
) -> None:
    """Create a token and print it once. Only its hash is kept."""
    ttl = tokens_mod.parse_duration(expires) if expires else None
    ctx = Context.load()
    try:
        _token_id, secret = recorded(
            ctx,
            "token_create",
            {"name": name, "role": role, "for": for_human, "expires": expires},
            lambda: tokens_mod.create_token(
                ctx.store,
                name=name,
                role=role,
                for_human=for_human,
                created_by=getpass.getuser(),
                expires=ttl,
                roles=valid_roles(ctx.config),
            ),
            size=size_of(0),  # the secret is shown once and never recorded
        )
    finally:
        ctx.close()
    err.print(
        f"Created token {name!r} (role {role}, for {for_human}"
        + (f", expires in {expires}" if expires else ", no expiry")
        + "). This is the only time it is shown: store it now, it cannot be recovered.",
        markup=False,
        highlight=False,
    )
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()


@token_app.command("list")
def token_list(
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """List tokens (never their secrets or hashes)."""
    _check_output(output)
    ctx = Context.load()
    try:
        rows = tokens_mod.list_tokens(ctx.store)
    finally:
        ctx.close()
    if output == "json":
        print_json({"tokens": rows})
        return
    t = Table(title=f"Tokens: {len(rows)}", title_justify="left")
    for col in ("name", "prefix", "role", "for", "created", "expires", "status", "last used"):
        t.add_column(col, overflow="fold")
    for r in rows:
        status = r["status"]
        if r["revoked_at"]:
            status = f"revoked {_when(r['revoked_at'])} by {r['revoked_by']}"
        t.add_row(
            Text(r["name"]),
            Text(r["prefix"] + "…"),
            Text(r["role"]),
            Text(r["for_human"]),
            _when(r["created_at"]),
            _when(r["expires_at"]) if r["expires_at"] else "never",
            Text(status, style={"active": "green"}.get(r["status"], "red")),
            _when(r["last_used_at"]),
        )
    out.print(t)


@token_app.command("revoke")
def token_revoke(name_or_id: str = typer.Argument(..., help="Token name or id.")) -> None:
    """Revoke a token (at once; revoking twice is harmless)."""
    ctx = Context.load()
    try:
        row = recorded(
            ctx,
            "token_revoke",
            {"token": name_or_id},
            lambda: tokens_mod.revoke_token(ctx.store, name_or_id, getpass.getuser()),
        )
    finally:
        ctx.close()
    out.print(
        Text(f"Token {row['name']!r} revoked at {_when(row['revoked_at'])} by {row['revoked_by']}")
    )


# -- approvals ------------------------------------------------------------------------------
def _render_approval(a: dict[str, Any]) -> None:
    # Every value may come from an agent or the cloud: plain text, never markup.
    t = Table(show_header=False, title=f"Approval request {a['id']}", title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for label, key in (
        ("status", "status"),
        ("tool", "tool"),
        ("requester", "requester"),
        ("on behalf of", "on_behalf_of"),
        ("agent", "agent"),
        ("reason", "reason"),
        ("created", "created_at"),
        ("expires", "expires_at"),
        ("decided by", "decided_by"),
        ("decided", "decided_at"),
        ("decision reason", "decision_reason"),
        ("executed", "executed_at"),
        ("arguments digest", "args_digest"),
    ):
        value = a.get(key)
        t.add_row(label, Text("-" if value in (None, "") else str(value)))
    t.add_row("arguments", Text(json.dumps(a["arguments"], indent=2, sort_keys=True)))
    out.print(t)


@approvals_app.command("list")
def approvals_list(
    status: str | None = typer.Option(
        None, "--status", help="pending, approved, denied, expired or executed"
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """List approval requests, newest first."""
    _check_output(output)
    ctx = Context.load()
    try:
        rows = approvals_mod.list_approvals(ctx.store, status)
    finally:
        ctx.close()
    if output == "json":
        print_json({"approvals": rows})
        return
    t = Table(title=f"Approval requests: {len(rows)}", title_justify="left")
    for col in ("id", "status", "tool", "requester", "on behalf of", "created", "expires"):
        t.add_column(col, overflow="fold")
    for a in rows:
        t.add_row(
            a["id"],
            a["status"],
            Text(a["tool"]),
            Text(a["requester"]),
            Text(a["on_behalf_of"] or "-"),
            _when(a["created_at"]),
            _when(a["expires_at"]),
        )
    out.print(t)


@approvals_app.command("show")
def approvals_show(
    approval_id: str = typer.Argument(..., help="Approval request id."),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Show one request: the exact tool and arguments that would run."""
    _check_output(output)
    ctx = Context.load()
    try:
        a = approvals_mod.get_approval(ctx.store, approval_id)
    finally:
        ctx.close()
    if output == "json":
        print_json(a)
    else:
        _render_approval(a)


def decide_approval(
    approval_id: str, approve: bool, reason: str | None, *, only_tool: str | None = None
) -> None:
    """Approve or deny as the OS user (out of band). The CLI role must be one that may
    approve (``approve`` in its tools: admin by default)."""
    approver = getpass.getuser()
    ctx = Context.load()

    def run() -> dict[str, Any]:
        role = ctx.config.governance.cli_role
        if "approve" not in load_roles(ctx.config.roles).tools_of(role):
            raise StratusecError(
                f"role {role!r} (governance.cli_role) may not approve or deny; approvers "
                "need a role with 'approve' (admin)"
            )
        if only_tool is not None:
            tool = approvals_mod.get_approval(ctx.store, approval_id)["tool"]
            if tool != only_tool:
                raise StratusecError(
                    f"approval request {approval_id} is for {tool}, not {only_tool}: use "
                    "'stratusec approvals approve|deny'"
                )
        return approvals_mod.decide(
            ctx.store, approval_id, approver=approver, approve=approve, reason=reason
        )

    try:
        a = recorded(
            ctx,
            "approve" if approve else "deny",
            {"approval_id": approval_id, "reason": reason},
            run,
        )
    finally:
        ctx.close()
    out.print(Text(f"Request {a['id']} {a['status']} by {a['decided_by']} ({a['tool']})"))


@approvals_app.command("approve")
def approvals_approve(
    approval_id: str = typer.Argument(..., help="Approval request id."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)."),
) -> None:
    """Approve a pending request (you must not be its requester or the human it acts for)."""
    decide_approval(approval_id, True, reason)


@approvals_app.command("deny")
def approvals_deny(
    approval_id: str = typer.Argument(..., help="Approval request id."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)."),
) -> None:
    """Deny a pending request."""
    decide_approval(approval_id, False, reason)


@approvals_app.command("run")
def approvals_run(
    approval_id: str = typer.Argument(..., help="An approved request you made."),
) -> None:
    """Run an approved request made from this CLI, once, with exactly the approved
    arguments; prints its result as JSON. (Agents run theirs with get_approval.)"""
    from stratusec.cli.governed import cli_caller
    from stratusec.governance.gate import Governor
    from stratusec.operations.dispatch import run_tool

    ctx = Context.load()
    try:
        gov = Governor.from_config(ctx.config, ctx.store)
        ticket = gov.begin_approved(cli_caller(ctx), approval_id)
        caller = cli_caller(ctx)
        result = gov.run_ticket(
            ticket,
            lambda: run_tool(
                ctx,
                ticket.tool,
                ticket.arguments,
                actor=caller.principal,
                role=caller.role,
                on_behalf_of=caller.on_behalf_of or caller.principal,
                approval_id=ticket.approval_id,
                record=lambda event, facts: gov.note(
                    caller, event, facts, approval_id=ticket.approval_id
                ),
            ),
        )
    finally:
        ctx.close()
    print_json({"approval_id": approval_id, "tool": ticket.tool, "result": result})
