"""``stratusec paths``: ranked attack paths, each hop with its reason."""

from __future__ import annotations

import typer
from rich.text import Text

from stratusec.cli.console import out, print_json
from stratusec.cli.governed import governed
from stratusec.errors import StratusecError
from stratusec.governance.gate import json_size
from stratusec.graph.paths import AttackPath
from stratusec.operations.context import Context
from stratusec.operations.paths import get_attack_paths


def render_paths(paths: list[AttackPath], title: str) -> None:
    out.print(f"[bold]{title}[/]")
    if not paths:
        out.print("  no attack path found")
    for i, p in enumerate(paths, 1):
        head = Text(f"#{i} score {p.score:g} · {p.impact}", style="bold")
        if p.conditional:
            head.append(" · conditional", style="yellow")
        head.append("\n   ")
        head.append(p.chain())  # names come from the cloud: plain text, never markup
        out.print(head)
        for n, h in enumerate(p.hops, 1):
            line = Text(f"   {n}. {h.source_name} -> {h.target_name} [{h.type}]: ", style="dim")
            line.append(h.reason, style="")
            out.print(line)


def paths(
    account: str | None = typer.Option(None, "--account", "-a"),
    source: str | None = typer.Option(
        None, "--from", help="internet, or a principal ARN or name (default: all entries)"
    ),
    to: str = typer.Option("any", "--to", help="admin, sensitive, any, or a resource ARN or name"),
    max_hops: int = typer.Option(6, "--max-hops", min=1, max=10),
    all_paths: bool = typer.Option(
        False, "--all", help="Every distinct path, not the best per pair."
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Attack paths to admin or sensitive data, ranked, with a reason for every hop."""
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")
    ctx = Context.load()
    try:
        args = {
            "account": account,
            "source": source,
            "to": to,
            "max_hops": max_hops,
            "all_paths": all_paths,
            "limit": limit,
        }
        acct, found = governed(
            ctx,
            "get_attack_paths",
            args,
            lambda: get_attack_paths(ctx, **args),  # type: ignore[arg-type]
            size=lambda r: json_size([p.as_dict() for p in r[1]]),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json({"account": acct, "paths": [p.as_dict() for p in found]})
    else:
        render_paths(found, f"Attack paths in {acct} ({len(found)})")
