"""``stratusec access``: just-in-time access — request, approve/deny (a different human),
list, show (with the binding chain), credentials (once), revoke, reap.

An approved request is finished by its requester: ``stratusec approvals run ID`` at the CLI,
``get_approval`` for an agent."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governance import decide_approval
from stratusec.cli.governed import cli_caller, governed, recorded
from stratusec.cli.nhi import identities
from stratusec.errors import StratusecError
from stratusec.governance.gate import ApprovalPending
from stratusec.operations import access as access_op
from stratusec.operations.context import Context

app = typer.Typer(help="Just-in-time, scoped, short-lived access.", no_args_is_help=True)

FORMATS = ("json", "url", "pgpass")

app.command("identities")(identities)


@app.command("request")
def request(
    reason: str = typer.Option(..., "--reason", help="Why (kept with the grant)."),
    level: str | None = typer.Option(None, "--level", help="A configured access level."),
    target: str | None = typer.Option(
        None, "--target", help="An account or database (its levels decide)."
    ),
    duration: str = typer.Option("15m", "--duration", help="15m ... up to the level's maximum."),
    action: list[str] | None = typer.Option(None, "--action", help="AWS action (repeat)."),
    resource: list[str] | None = typer.Option(None, "--resource", help="AWS ARN (repeat)."),
    privilege: list[str] | None = typer.Option(
        None, "--privilege", help="PostgreSQL, e.g. 'SELECT on public.orders' (repeat)."
    ),
    ticket: str | None = typer.Option(None, "--ticket", help="A ticket reference."),
) -> None:
    """Ask for access. Auto-granted levels are granted at once (AWS: after the evaluator's
    proof); others wait for a different human (exit 4 with the approval id; then
    'stratusec approvals run ID')."""
    ctx = Context.load()
    caller = cli_caller(ctx)
    args = {
        "level": level,
        "target": target,
        "reason": reason,
        "duration": duration,
        "actions": action or None,
        "resources": resource or None,
        "privileges": privilege or None,
        "ticket": ticket,
    }
    args = {k: v for k, v in args.items() if v is not None}
    try:
        grant = governed(
            ctx,
            "request_access",
            args,
            lambda: access_op.request_access(
                ctx,
                requester=caller.principal,
                role=caller.role,
                on_behalf_of=caller.principal,
                **args,  # type: ignore[arg-type]
            ),
        )
    except ApprovalPending as pending:
        err.print(Text(str(pending)))
        raise typer.Exit(pending.exit_code) from None
    finally:
        ctx.close()
    print_json(grant)


@app.command("approve")
def approve(
    approval_id: str = typer.Argument(..., help="The approval id of an access request."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)."),
) -> None:
    """Approve a pending access request (not your own, nor one made on your behalf)."""
    decide_approval(approval_id, True, reason, only_tool="request_access")


@app.command("deny")
def deny(
    approval_id: str = typer.Argument(..., help="The approval id of an access request."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)."),
) -> None:
    """Deny a pending access request."""
    decide_approval(approval_id, False, reason, only_tool="request_access")


@app.command("list")
def list_cmd(
    status: str | None = typer.Option(
        None, "--status", help="granted, delivered, expired or revoked"
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Grants: granted (not fetched yet), delivered, expired and revoked."""
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")
    ctx = Context.load()
    try:
        rows = recorded(
            ctx,
            "access_list",
            {"status": status} if status else {},
            lambda: access_op.list_grants(ctx, status),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json({"grants": rows})
        return
    t = Table(title=f"Grants: {len(rows)}", title_justify="left")
    for c in ("grant", "level", "target", "status", "requester", "for", "expires", "rule"):
        t.add_column(c)
    for g in rows:
        t.add_row(
            g["grant_id"],
            g["level"],
            Text(g["account"] or g["database"] or ""),
            g["status"],
            Text(g["requester"]),
            Text(g["on_behalf_of"] or ""),
            (g["expires_at"] or "")[:19],
            Text(g["rule"] or ""),
        )
    out.print(t)


@app.command("show")
def show(grant_id: str = typer.Argument(...)) -> None:
    """One grant: scope, rule, approval, proof, delivery, revocation and the audit records
    that bind them."""
    ctx = Context.load()
    try:

        def run() -> dict[str, object]:
            row = access_op.load_grant(ctx, grant_id)
            return {**access_op.grant_dict(row), "chain": access_op.grant_chain(ctx, row)}

        g = recorded(ctx, "access_show", {"grant_id": grant_id}, run)
    finally:
        ctx.close()
    print_json(g)


@app.command("credentials")
def credentials(
    grant_id: str = typer.Argument(...),
    env_file: Path | None = typer.Option(
        None, "--env-file", help="Write them to this file (mode 0600) instead of stdout."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="json (AWS credential_process, the AWS default), url or pgpass (PostgreSQL; "
        "url is the default)",
    ),
) -> None:
    """Deliver a grant's credentials, once. AWS: credential_process JSON (point a
    profile's credential_process at this command) or AWS_* lines. PostgreSQL: a
    postgresql:// URL or a .pgpass line, or DATABASE_URL in the env file."""
    if fmt is not None and fmt not in FORMATS:
        raise StratusecError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    ctx = Context.load()
    caller = cli_caller(ctx)

    def run() -> tuple[str, str, dict[str, Any]]:
        kind = access_op.load_grant(ctx, grant_id).kind
        want = fmt or ("json" if kind == "aws" else "url")
        if (kind == "aws") != (want == "json"):
            raise StratusecError(
                f"format {want} does not apply to a {kind} grant; "
                + ("use json" if kind == "aws" else "use url or pgpass")
            )
        return kind, want, access_op.deliver(ctx, grant_id, actor=caller.principal)

    try:
        kind, want, creds = recorded(
            ctx,
            "access_credentials",
            {"grant_id": grant_id, "env_file": str(env_file or ""), "format": fmt or ""},
            run,
            size=lambda _c: 0,  # the secret is never measured, logged or audited
        )
    finally:
        ctx.close()
    if kind == "aws":
        text = json.dumps(creds) + "\n"
        env = (
            f"AWS_ACCESS_KEY_ID={creds['AccessKeyId']}\n"
            f"AWS_SECRET_ACCESS_KEY={creds['SecretAccessKey']}\n"
            f"AWS_SESSION_TOKEN={creds['SessionToken']}\n"
        )
        expires = creds["Expiration"]
    else:
        text = (creds["pgpass"] if want == "pgpass" else creds["url"]) + "\n"
        env = f"DATABASE_URL={creds['url']}\n"
        expires = creds["expires_at"]
    if env_file is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise StratusecError(f"cannot write {env_file}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(fd, "w") as fh:
        fh.write(env)
    err.print(f"credentials written to {env_file} (mode 0600); they expire {expires}")


@app.command("revoke")
def revoke(
    grant_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)."),
) -> None:
    """Revoke a grant now (AWS: the target role denies every session issued before now;
    PostgreSQL: sessions ended, role dropped). Revoking twice is harmless."""
    ctx = Context.load()
    caller = cli_caller(ctx)
    try:
        g = recorded(
            ctx,
            "access_revoke",
            {"grant_id": grant_id, "reason": reason},
            lambda: access_op.revoke(ctx, grant_id, by=caller.principal, reason=reason),
        )
    finally:
        ctx.close()
    print_json(g)


@app.command("reap")
def reap() -> None:
    """Clean up expired grants: drop expired temporary PostgreSQL roles (sessions ended
    first) and mark expired grants. The HTTP MCP server does this every
    access.reap_interval."""
    ctx = Context.load()
    try:
        result = recorded(ctx, "access_reap", {}, lambda: access_op.reap(ctx))
    finally:
        ctx.close()
    print_json(result)
    if result["errors"]:
        raise typer.Exit(1)


@app.command("check")
def check(
    grant_id: str = typer.Argument(...),
    action: str = typer.Option(..., "--action", help="e.g. s3:GetObject"),
    resource: str = typer.Option(..., "--resource", help="An ARN."),
) -> None:
    """What the IAM evaluator decides for one call made with a grant's credentials (the
    role's policies intersected with the grant's session policy). Exit 0 allowed, 1 not."""
    ctx = Context.load()
    try:
        result = recorded(
            ctx,
            "access_check",
            {"grant_id": grant_id, "action": action, "resource": resource},
            lambda: access_op.check_grant(ctx, grant_id, action, resource),
        )
    finally:
        ctx.close()
    print_json(result)
    if not result["allowed"]:
        raise typer.Exit(1)
