"""``stratusec demo``: the embedded, deliberately misconfigured demo account."""

from __future__ import annotations

import sys

import typer

from stratusec.cli.console import err, out, print_json
from stratusec.cli.findings import render_compliance, render_findings_table
from stratusec.cli.governed import governed
from stratusec.cli.paths import render_paths
from stratusec.cli.scan import _Progress, exit_code, render_evaluation, render_summary
from stratusec.demo import DEMO_ACCOUNT_NAME, manager
from stratusec.findings.query import FindingFilter
from stratusec.operations import findings as findings_op
from stratusec.operations.compliance import check_compliance
from stratusec.operations.context import Context
from stratusec.operations.paths import get_attack_paths
from stratusec.operations.scan import scan as scan_op

app = typer.Typer(
    help="Run the embedded demo account (moto on 127.0.0.1, seeded with acme-prod).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def demo(
    typer_ctx: typer.Context,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show scan progress."),
    keep: bool = typer.Option(False, "--keep", help="Leave the demo server running afterwards."),
) -> None:
    """Start the demo account, scan it and print the summary (the main job of `make demo`)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    err.print("starting the demo account (moto on 127.0.0.1)...")
    st, started = manager.up()
    err.print(f"demo account {DEMO_ACCOUNT_NAME} ({st.account_id}) at {st.url}", highlight=False)
    ctx = Context.load()
    try:
        acct = {"account": DEMO_ACCOUNT_NAME}
        with _Progress(progress) as prog:
            results = governed(
                ctx, "scan", acct, lambda: scan_op(ctx, account=DEMO_ACCOUNT_NAME, on_event=prog)
            )
        for o, ev in results:
            render_summary(o)
            render_evaluation(ev)
        flt = FindingFilter(account=DEMO_ACCOUNT_NAME, limit=10)
        top = governed(
            ctx,
            "get_findings",
            flt.model_dump(exclude_defaults=True),
            lambda: findings_op.get_findings(ctx, flt),
        )
        render_findings_table(
            top.findings, f"Top findings ({len(top.findings)} of {top.total} open)"
        )
        reports = governed(
            ctx,
            "check_compliance",
            {**acct, "framework": "cis-aws-3.0"},
            lambda: check_compliance(ctx, framework="cis-aws-3.0", account=DEMO_ACCOUNT_NAME),
        )
        for rep in reports:
            render_compliance(rep, controls=False)
        _acct, top_paths = governed(
            ctx,
            "get_attack_paths",
            {**acct, "limit": 5},
            lambda: get_attack_paths(ctx, account=DEMO_ACCOUNT_NAME, limit=5),
            size=lambda r: len(r[1]),
        )
        render_paths(top_paths, "Top attack paths")
    finally:
        ctx.close()
        if started and not keep:
            manager.down()
    if started and not keep:
        out.print(
            "The demo server was stopped; the scan is stored. "
            "Keep it running with 'stratusec demo up'."
        )
    out.print(
        "Ask an AI agent about it: 'stratusec mcp serve' (stdio) serves these findings, "
        "paths and compliance results over MCP; every call is audited ('stratusec audit "
        "list'). Client setup: docs/mcp.md."
    )
    out.print(
        "Just-in-time access: with 'stratusec demo up' running, 'stratusec access request "
        "--level s3-read:acme-customer-data --reason ...' grants a proven, 15-minute, "
        "read-only session; the full flow is in docs/access.md."
    )
    code = exit_code(results)
    if code:
        sys.exit(code)


@app.command("up")
def up(port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (0 = a free one).")) -> None:
    """Start the demo account in the background (harmless when it already runs)."""
    st, started = manager.up(port=port)
    word = "started" if started else "already running"
    out.print(
        f"demo account {DEMO_ACCOUNT_NAME} {word} at {st.url} (pid {st.pid})", highlight=False
    )
    out.print("next: stratusec scan --account acme-prod", highlight=False)


@app.command("down")
def down() -> None:
    """Stop the background demo account."""
    result = manager.down()
    messages = {
        "stopped": "demo account stopped",
        "stale": "the demo server was not answering; cleaned up its stale state",
        "not running": "the demo account is not running",
    }
    out.print(messages[result])


@app.command("status")
def status(output: str = typer.Option("table", "--output", "-o", help="table or json.")) -> None:
    """Say whether the demo account is running, and where."""
    state, st = manager.status()
    data = {
        "status": state,
        "url": st.url if st else None,
        "pid": st.pid if st else None,
        "account": DEMO_ACCOUNT_NAME,
        "log": str(manager.log_file()),
    }
    if output == "json":
        print_json(data)
    elif state == "running" and st:
        out.print(f"running at {st.url} (pid {st.pid}); log: {manager.log_file()}", highlight=False)
    elif state == "stale":
        out.print(
            "stale: a previous demo server is gone or not answering; "
            "'stratusec demo up' restarts it"
        )
    else:
        out.print("stopped")
    if state != "running":
        sys.exit(1 if state == "stale" else 3)
