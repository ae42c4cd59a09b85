"""``stratusec findings``, ``compliance``, ``checks`` and ``suppress``."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.checks.registry import all_checks
from stratusec.cli.console import out, print_json, split_csv
from stratusec.cli.governed import governed, recorded
from stratusec.errors import StratusecError
from stratusec.findings import formats
from stratusec.findings.query import FindingFilter
from stratusec.findings.suppressions import list_suppressions
from stratusec.governance.gate import json_size
from stratusec.operations import findings as findings_op
from stratusec.operations.compliance import check_compliance
from stratusec.operations.context import Context

SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
FINDING_OUTPUTS = ("table", "json", "csv", "ocsf", "sarif")


def render_findings_table(rows: list[dict[str, Any]], title: str) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in ("severity", "check", "resource", "region", "status", "first seen", "message"):
        t.add_column(col, overflow="fold")
    for f in rows:
        t.add_row(
            Text(f["severity"], style=SEV_STYLE.get(f["severity"], "")),
            f["check_id"],
            # Resource names come from the cloud: rendered as plain text, never markup.
            Text(f["resource"]["name"]),
            f["region"],
            f["status"],
            (f["first_seen"] or "")[:16].replace("T", " "),
            Text(f["message"]),
        )
    out.print(t)


def findings(
    account: str | None = typer.Option(None, "--account", "-a"),
    severity: list[str] | None = typer.Option(
        None, "--severity", help="critical, high, medium, low, info"
    ),
    service: list[str] | None = typer.Option(None, "--service"),
    check: list[str] | None = typer.Option(None, "--check", help="Check id (repeatable)."),
    control: str | None = typer.Option(None, "--control", help="e.g. cis-aws-3.0:1.4"),
    status: str = typer.Option("open", "--status", help="open, resolved, suppressed or all"),
    since: str | None = typer.Option(None, "--since", help="First seen since: 24h, 7d or a date."),
    new: bool = typer.Option(False, "--new", help="Only findings first seen in the latest scan."),
    limit: int = typer.Option(1000, "--limit", min=1, max=10000),
    output: str = typer.Option("table", "--output", "-o", help="table, json, csv, ocsf or sarif"),
) -> None:
    """List findings (open ones by default), most severe first."""
    if output not in FINDING_OUTPUTS:
        raise StratusecError(f"unknown output {output!r}; valid: {', '.join(FINDING_OUTPUTS)}")
    flt = FindingFilter(
        account=account,
        severity=split_csv(severity) or [],
        service=split_csv(service) or [],
        check=split_csv(check) or [],
        control=control,
        status=status,
        since=since,
        new=new,
        limit=limit,
    )
    ctx = Context.load()
    try:
        page = governed(
            ctx,
            "get_findings",
            flt.model_dump(exclude_defaults=True),
            lambda: findings_op.get_findings(ctx, flt),
            size=lambda p: json_size(p.findings),
        )
    finally:
        ctx.close()
    rows = page.findings
    if output == "json":
        print_json({"findings": rows, "total": page.total, "next_cursor": page.next_cursor})
    elif output == "csv":
        sys.stdout.write(formats.to_csv(rows))
    elif output == "ocsf":
        print_json(formats.to_ocsf(rows))
    elif output == "sarif":
        print_json(formats.to_sarif(rows))
    else:
        shown = f"{len(rows)} of {page.total}" if page.total > len(rows) else str(page.total)
        render_findings_table(rows, f"Findings ({status}): {shown}")


def render_compliance(rep: dict[str, Any], *, controls: bool = True) -> None:
    style = {
        "pass": "green",
        "fail": "red",
        "unknown": "yellow",
        "manual": "dim",
        "not_collectable": "dim",
        "not_applicable": "dim",
    }
    if controls:
        t = Table(title=f"{rep['title']} {rep['version']} — {rep['account']}", title_justify="left")
        for col in ("control", "status", "pass", "fail", "unknown", "title"):
            t.add_column(col, overflow="fold")
        for c in rep["controls"]:
            t.add_row(
                c["id"],
                Text(c["status"], style=style[c["status"]]),
                str(c["pass"]),
                str(c["fail"]),
                str(c["unknown"]),
                c["title"],
            )
        out.print(t)
    totals = rep["totals"]
    score = "n/a" if rep["score"] is None else f"{rep['score']}%"
    out.print(
        f"[bold]{rep['framework']}[/] score for {rep['account']}: [bold]{score}[/] "
        f"({totals.get('pass', 0)} pass, {totals.get('fail', 0)} fail, "
        f"{totals.get('unknown', 0)} unknown, {totals.get('not_applicable', 0)} not applicable, "
        f"{totals.get('manual', 0)} manual, {totals.get('not_collectable', 0)} not collectable)",
        highlight=False,
    )


def compliance(
    framework: str = typer.Option("cis-aws-3.0", "--framework", "-f"),
    account: str | None = typer.Option(None, "--account", "-a"),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Pass/fail/manual per control of a framework, with counts and a score."""
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")
    ctx = Context.load()
    try:
        reports = governed(
            ctx,
            "check_compliance",
            {"framework": framework, "account": account},
            lambda: check_compliance(ctx, framework=framework, account=account),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json({"reports": reports})
        return
    for rep in reports:
        render_compliance(rep)


def checks(
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
    service: str | None = typer.Option(None, "--service"),
) -> None:
    """List the check catalog."""
    from stratusec.compliance.frameworks import compliance_refs

    refs = compliance_refs()
    services = sorted({c.meta.service for c in all_checks()})
    if service is not None and service not in services:
        raise StratusecError(
            f"unknown service {service!r}; services with checks: {', '.join(services)}"
        )
    cat = [c for c in all_checks() if service in (None, c.meta.service)]
    if output == "json":
        print_json(
            {
                "checks": [
                    {**json.loads(c.meta.model_dump_json()), "compliance": list(refs.get(c.id, ()))}
                    for c in cat
                ]
            }
        )
        return
    t = Table(title=f"{len(cat)} checks", title_justify="left")
    for col in ("id", "severity", "service", "compliance", "title"):
        t.add_column(col, overflow="fold")
    for c in cat:
        t.add_row(
            c.id,
            Text(c.meta.severity.value, style=SEV_STYLE[c.meta.severity.value]),
            c.meta.service,
            " ".join(refs.get(c.id, ())),
            c.meta.title,
        )
    out.print(t)


suppress_app = typer.Typer(
    help="Mute findings of a check, a resource or a tag pattern (never deleted)."
)


@suppress_app.command("add")
def suppress_add(
    reason: str = typer.Option(..., "--reason", help="Why (required)."),
    owner: str = typer.Option(..., "--owner", help="Who owns the risk (required)."),
    check: str | None = typer.Option(None, "--check"),
    resource: str | None = typer.Option(None, "--resource", help="Resource uid or glob."),
    tag: str | None = typer.Option(None, "--tag", help="KEY or KEY=VALUE-GLOB"),
    account: str | None = typer.Option(None, "--account", "-a"),
    expires: str | None = typer.Option(None, "--expires", help="30d, 12w or a date"),
) -> None:
    """Add a suppression; matching open findings become suppressed at once."""
    ctx = Context.load()
    try:
        args = {
            "reason": reason,
            "owner": owner,
            "account": account,
            "check_id": check,
            "resource": resource,
            "tag": tag,
            "expires": expires,
        }
        res = recorded(
            ctx,
            "suppress",
            args,
            lambda: findings_op.suppress(ctx, created_by=getpass.getuser(), **args),  # type: ignore[arg-type]
        )
    finally:
        ctx.close()
    out.print(
        f"suppression {res['suppression_id']} added; "
        f"{res['findings_changed']} findings now suppressed"
    )


@suppress_app.command("list")
def suppress_list(
    all_: bool = typer.Option(False, "--all", help="Include expired and lifted ones."),
    output: str = typer.Option("table", "--output", "-o"),
) -> None:
    """List suppressions."""
    ctx = Context.load()
    try:
        rows = list_suppressions(ctx.store, include_inactive=all_)
    finally:
        ctx.close()
    data = [
        {
            "id": r.id,
            "account": r.account_name,
            "check": r.check_id,
            "resource": r.resource_pattern,
            "tag": f"{r.tag_key}={r.tag_value_pattern or '*'}" if r.tag_key else None,
            "reason": r.reason,
            "owner": r.owner,
            "created_by": r.created_by,
            "created_at": r.created_at.isoformat(),
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "lifted_at": r.lifted_at.isoformat() if r.lifted_at else None,
        }
        for r in rows
    ]
    if output == "json":
        print_json({"suppressions": data})
        return
    t = Table(title="Suppressions")
    for col in (
        "id",
        "account",
        "check",
        "resource",
        "tag",
        "owner",
        "expires_at",
        "lifted_at",
        "reason",
    ):
        t.add_column(col, overflow="fold")
    for d in data:
        t.add_row(
            *(
                Text(str(d[c] if d[c] is not None else ""))
                for c in (
                    "id",
                    "account",
                    "check",
                    "resource",
                    "tag",
                    "owner",
                    "expires_at",
                    "lifted_at",
                    "reason",
                )
            )
        )
    out.print(t)


@suppress_app.command("lift")
def suppress_lift(suppression_id: int = typer.Argument(...)) -> None:
    """Lift a suppression (kept for history); its findings re-open if still failing."""
    ctx = Context.load()
    try:
        res = recorded(
            ctx,
            "suppress_lift",
            {"suppression_id": suppression_id},
            lambda: findings_op.lift(ctx, suppression_id, getpass.getuser()),
        )
    finally:
        ctx.close()
    out.print(
        f"suppression {suppression_id} lifted; {res['findings_changed']} findings changed status"
    )
