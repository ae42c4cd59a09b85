"""``stratusec audit list|verify|export``: read, check and export the audit log."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governed import recorded, size_of
from stratusec.errors import StratusecError
from stratusec.governance.audit import EXPORT_FORMATS, AuditLog
from stratusec.operations.context import Context

app = typer.Typer(
    help="The tamper-evident audit log of governed calls.",
    no_args_is_help=True,
    add_completion=False,
)

DECISION_STYLE = {"allow": "green", "deny": "red", "require_approval": "yellow"}


@app.command("list")
def list_cmd(
    principal: str | None = typer.Option(None, "--principal", help="Who made the call."),
    tool: str | None = typer.Option(None, "--tool", help="Tool or command name."),
    decision: str | None = typer.Option(None, "--decision", help="allow, deny or require_approval"),
    since: str | None = typer.Option(None, "--since", help="30m, 24h, 7d or a date."),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Audit records, newest first."""
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")
    ctx = Context.load()
    try:
        rows = recorded(
            ctx,
            "audit_list",
            {"principal": principal, "tool": tool, "decision": decision, "since": since},
            lambda: AuditLog(ctx.store).list(
                principal=principal, tool=tool, decision=decision, since=since, limit=limit
            ),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json({"records": rows})
        return
    t = Table(title=f"Audit records: {len(rows)}", title_justify="left")
    for col in ("seq", "time", "principal", "for", "agent", "face", "tool", "decision", "outcome"):
        t.add_column(col, overflow="fold")
    for r in rows:
        # Every value may come from a caller: plain text, never markup.
        t.add_row(
            str(r["seq"]),
            r["time"][:19].replace("T", " "),
            Text(r["principal"]),
            Text(r["on_behalf_of"] or ""),
            Text(r["agent"] or ""),
            Text(r["face"]),
            Text(r["tool"]),
            Text(r["decision"], style=DECISION_STYLE.get(r["decision"], "")),
            Text(r["outcome"]),
        )
    out.print(t)


@app.command("verify")
def verify_cmd(
    output: str = typer.Option("text", "--output", "-o", help="text or json"),
) -> None:
    """Check the hash chain. Exit 0 when intact, 1 when a record was edited, deleted or
    reordered (the first bad record is printed)."""
    if output not in ("text", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: text, json")
    ctx = Context.load()
    try:
        log = AuditLog(ctx.store)
        result = recorded(ctx, "audit_verify", {}, log.verify, size=size_of(0))
        bad: dict[str, Any] | None = None
        if not result.ok and result.first_bad_seq is not None:
            bad = log.get(result.first_bad_seq)
    finally:
        ctx.close()
    if output == "json":
        print_json({**result.to_dict(), "record": bad})
    elif result.ok:
        out.print(
            f"audit chain intact: {result.checked} records, head {result.head_hash[:16]}",
            highlight=False,
        )
    else:
        err.print(
            Text(
                f"audit chain BROKEN at record {result.first_bad_seq}: {result.problem} "
                f"({result.checked} records before it verified)",
                style="bold red",
            )
        )
        if bad is not None:
            out.print(
                Text(
                    f"record {bad['seq']}: id={bad['id']} time={bad['time']} "
                    f"principal={bad['principal']} tool={bad['tool']} "
                    f"decision={bad['decision']} outcome={bad['outcome']}"
                )
            )
    if not result.ok:
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl or ocsf (API Activity)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default stdout)."),
) -> None:
    """Every record, oldest first, one JSON document per line. A record that requested,
    delivered or revoked an access grant carries the grant's binding chain under
    ``stratusec_context``."""
    if fmt not in EXPORT_FORMATS:
        raise StratusecError(f"unknown format {fmt!r}; valid: {', '.join(EXPORT_FORMATS)}")
    ctx = Context.load()
    fh: Any = None
    if output is not None:
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise StratusecError(f"cannot write {output}: {exc.strerror}") from None
        fh = os.fdopen(fd, "w", encoding="utf-8")

    def write() -> int:
        sink = fh if fh is not None else sys.stdout
        count = 0
        from stratusec.operations.access import audit_annotator

        for line in AuditLog(ctx.store).export(fmt, annotate=audit_annotator(ctx)):
            sink.write(line + "\n")
            count += 1
        sink.flush()
        return count

    try:
        count = recorded(
            ctx, "audit_export", {"format": fmt, "output": str(output or "")}, write, size=int
        )
    finally:
        if fh is not None:
            fh.close()
        ctx.close()
    if output is None:
        return
    err.print(f"exported {count} audit records to {output}", highlight=False)
