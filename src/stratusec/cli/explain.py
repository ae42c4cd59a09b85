"""``stratusec explain FINDING_ID``: everything about one finding."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.text import Text

from stratusec.cli.console import out, print_json
from stratusec.cli.governed import governed
from stratusec.errors import StratusecError
from stratusec.operations.context import Context
from stratusec.operations.explain import explain_finding


def explain(
    finding_id: str = typer.Argument(..., help="Finding id (from 'stratusec findings')."),
    max_paths: int = typer.Option(5, "--max-paths", min=1, max=50),
    output: str = typer.Option("text", "--output", "-o", help="text or json"),
) -> None:
    """What a finding is, why it matters, its evidence, the resource's neighbours and the
    attack paths through it, when it was seen, and how to fix it."""
    if output not in ("text", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: text, json")
    ctx = Context.load()
    try:
        doc = governed(
            ctx,
            "explain_finding",
            {"finding_id": finding_id, "max_paths": max_paths},
            lambda: explain_finding(ctx, finding_id, max_paths=max_paths),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(doc)
        return
    render(doc)


def _section(title: str) -> None:
    out.print(Text(f"\n{title}", style="bold"))


def render(doc: dict[str, Any]) -> None:
    f, what, res = doc["finding"], doc["what"], doc["resource"]
    # Cloud text (names, tags, messages) is printed as plain Text, never as markup.
    out.print(Text(f"{f['severity'].upper()} {f['check_id']}: {what.get('title', '')}", "bold"))
    out.print(Text(str(what.get("message") or f.get("message") or "")))
    if doc.get("why_it_matters"):
        _section("Why it matters")
        out.print(Text(doc["why_it_matters"]))
    _section("Resource")
    out.print(
        Text(f"{res.get('type')} {res.get('name')} ({res.get('uid')}) in {res.get('region')}")
    )
    if res.get("tags"):
        out.print(Text("tags: " + json.dumps(res["tags"], ensure_ascii=False)))
    _section("Evidence")
    out.print(Text(json.dumps(doc.get("evidence"), indent=1, default=str)[:3000]))
    if doc["neighbourhood"]:
        _section(f"Neighbours ({len(doc['neighbourhood'])})")
        for n in doc["neighbourhood"]:
            arrow = "->" if n.get("direction") == "out" else "<-"
            out.print(Text(f"  {arrow} [{n.get('type')}] {n.get('name')} ({n.get('kind')})"))
    elif doc.get("graph_note"):
        _section("Neighbours")
        out.print(Text(doc["graph_note"]))
    if doc["attack_paths"]:
        _section(f"Attack paths through it ({len(doc['attack_paths'])})")
        for p in doc["attack_paths"]:
            names = [p.get("entry_name", "")] + [h.get("to_name", "") for h in p.get("hops", [])]
            out.print(Text(f"  score {p.get('score')}: " + " -> ".join(names)))
    ww = doc["who_when"]
    _section("When")
    out.print(
        Text(f"first seen {ww.get('first_seen')}, last seen {ww.get('last_seen')}")
        + Text(f", resolved {ww['resolved_at']}" if ww.get("resolved_at") else "")
    )
    _section("Remediation")
    rem = doc["remediation"]
    for key, value in rem.items():
        if value:
            out.print(Text(f"{key}: {value if isinstance(value, str) else json.dumps(value)}"))
    out.print(Text(f"\n{doc['untrusted']['notice']}", style="dim"))
