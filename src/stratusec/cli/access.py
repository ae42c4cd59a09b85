"""``stratusec access``: just-in-time AWS access — request, list, show, credentials, revoke.

Approvals are the governance approvals (``stratusec approvals approve ID``, by a different
human); the requester then runs ``stratusec approvals run ID``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governed import cli_caller, governed, recorded
from stratusec.errors import StratusecError
from stratusec.governance.gate import ApprovalPending
from stratusec.operations import access as access_op
from stratusec.operations.context import Context

app = typer.Typer(help="Just-in-time, scoped, short-lived access.", no_args_is_help=True)


@app.command("request")
def request(
    level: str = typer.Option(..., "--level", help="A configured access level."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the grant)."),
    duration: str = typer.Option("15m", "--duration", help="15m ... up to the level's maximum."),
    action: list[str] | None = typer.Option(None, "--action", help="Narrower actions."),
    resource: list[str] | None = typer.Option(None, "--resource", help="Narrower ARNs."),
    ticket: str | None = typer.Option(None, "--ticket", help="A ticket reference."),
) -> None:
    """Ask for access; auto-granted levels are granted at once (after the evaluator's
    proof), others wait for a different human's approval."""
    ctx = Context.load()
    caller = cli_caller(ctx)
    args = {
        "level": level,
        "reason": reason,
        "duration": duration,
        "actions": action or None,
        "resources": resource or None,
        "ticket": ticket,
    }
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
                **{k: v for k, v in args.items() if v is not None},  # type: ignore[arg-type]
            ),
        )
    except ApprovalPending as pending:
        err.print(Text(str(pending)))
        raise typer.Exit(pending.exit_code) from None
    finally:
        ctx.close()
    print_json(grant)


@app.command("list")
def list_cmd(output: str = typer.Option("table", "--output", "-o")) -> None:
    """Grants: granted, delivered, expired and revoked."""
    ctx = Context.load()
    try:
        rows = recorded(ctx, "access_list", {}, lambda: access_op.list_grants(ctx))
    finally:
        ctx.close()
    if output == "json":
        print_json({"grants": rows})
        return
    t = Table(title=f"Grants: {len(rows)}", title_justify="left")
    for c in ("grant", "level", "status", "requester", "for", "expires", "key"):
        t.add_column(c)
    for g in rows:
        t.add_row(
            g["grant_id"],
            g["level"],
            g["status"],
            Text(g["requester"]),
            Text(g["on_behalf_of"] or ""),
            (g["expires_at"] or "")[:19],
            g["key_fingerprint"] or "",
        )
    out.print(t)


@app.command("show")
def show(grant_id: str = typer.Argument(...)) -> None:
    """One grant with its scope, rule, approval and proof."""
    ctx = Context.load()
    try:
        g = recorded(
            ctx,
            "access_show",
            {"grant_id": grant_id},
            lambda: access_op.grant_dict(access_op._load(ctx, grant_id)),
        )
    finally:
        ctx.close()
    print_json(g)


@app.command("credentials")
def credentials(
    grant_id: str = typer.Argument(...),
    env_file: Path | None = typer.Option(None, "--env-file", help="Write AWS_* here (0600)."),
) -> None:
    """Deliver a grant's credentials, once: credential_process JSON on stdout (point an AWS
    profile's credential_process at this command), or an env file with mode 0600."""
    ctx = Context.load()
    caller = cli_caller(ctx)
    try:
        creds = recorded(
            ctx,
            "access_credentials",
            {"grant_id": grant_id, "env_file": str(env_file or "")},
            lambda: access_op.deliver(ctx, grant_id, actor=caller.principal),
            size=lambda _c: 0,  # the secret is never measured, logged or audited
        )
    finally:
        ctx.close()
    if env_file is None:
        sys.stdout.write(json.dumps(creds) + "\n")
        return
    try:
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise StratusecError(f"cannot write {env_file}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(
            f"AWS_ACCESS_KEY_ID={creds['AccessKeyId']}\n"
            f"AWS_SECRET_ACCESS_KEY={creds['SecretAccessKey']}\n"
            f"AWS_SESSION_TOKEN={creds['SessionToken']}\n"
        )
    err.print(f"credentials written to {env_file} (mode 0600); they expire {creds['Expiration']}")


@app.command("revoke")
def revoke(
    grant_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Revoke a grant now: the target role denies every session issued before now."""
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
