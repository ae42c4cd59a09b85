"""``stratusec access identities``: the non-human identities of an account (agents and
automation), with their standing credentials, last use and open findings.

Registered by ``cli/access.py`` as ``app.command("identities")(identities)``."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import out, print_json
from stratusec.cli.governed import recorded
from stratusec.errors import StratusecError
from stratusec.operations import nhi as nhi_op
from stratusec.operations.context import Context

OUTPUTS = ("table", "json")


def _key_line(key: dict[str, Any]) -> str:
    age = "age unknown" if key.get("age_days") is None else f"{key['age_days']}d old"
    if key.get("last_used_unknown"):
        used = "last use unknown"
    elif key.get("last_used"):
        used = f"last used {str(key['last_used'])[:10]}"
    else:
        used = "never used"
    return f"{key.get('access_key_id')} {key.get('status') or '?'}, {age}, {used}"


def render_identities(account: str, rows: list[dict[str, Any]]) -> None:
    t = Table(
        title=f"Non-human identities of {account}: {len(rows)}",
        title_justify="left",
    )
    for col in ("identity", "kind", "agent", "why non-human", "access keys", "last used"):
        t.add_column(col, overflow="fold")
    t.add_column("findings", justify="right")
    for r in rows:
        keys = r.get("credentials") or []
        t.add_row(
            Text(str(r["name"])),  # names and reasons carry cloud text: never markup
            r["kind"],
            "yes" if r.get("agent") else "",
            Text(str(r["why"])),
            Text("\n".join(_key_line(k) for k in keys) or "-"),
            str(r["last_used"])[:16].replace("T", " ") if r.get("last_used") else "none known",
            str(len(r.get("findings") or [])),
        )
    out.print(t)


def identities(
    account: str = typer.Option(..., "--account", "-a", help="A configured account."),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Non-human identities (agent-designated or automation users and roles) of an account's
    latest scan: why each is non-human, its access keys with age and last use, its last
    use and open findings. Agents are designated by access.agent_patterns / agent_tag."""
    if output not in OUTPUTS:
        raise StratusecError(f"unknown output {output!r}; valid: {', '.join(OUTPUTS)}")
    ctx = Context.load()
    try:
        rows = recorded(
            ctx,
            "access_identities",
            {"account": account},
            lambda: nhi_op.non_human_identities(ctx, account),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json({"account": account, "identities": rows})
        return
    render_identities(account, rows)
