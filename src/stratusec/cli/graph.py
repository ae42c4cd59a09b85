"""``stratusec graph query`` and ``stratusec graph schema``."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json
from stratusec.cli.governed import governed, recorded
from stratusec.errors import StratusecError
from stratusec.governance.gate import json_size
from stratusec.graph.store import DEFAULT_LIMIT, DEFAULT_TIMEOUT_MS, MAX_LIMIT, MAX_TIMEOUT_MS
from stratusec.operations.context import Context
from stratusec.operations.graph import graph_schema, query_graph

app = typer.Typer(
    help="The security graph: read-only Cypher queries and the schema.",
    no_args_is_help=True,
)

_INT = re.compile(r"^[+-]?\d+$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_value(text: str) -> Any:
    """``42`` -> int, ``1.5`` -> float, ``true``/``false`` -> bool, ``[...]`` / ``{...}`` /
    ``"..."`` -> JSON, anything else -> the string itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text.strip()):
        return int(text)
    try:
        f = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(f) and not low.startswith(("nan", "inf", "+inf", "-inf")):
            return f
    if text.lstrip().startswith(("[", "{", '"')):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise StratusecError(f"parameter value {text!r} is not valid JSON: {exc}") from None
    return text


def parse_params(items: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _PARAM_NAME.match(key):
            raise StratusecError(
                f"bad --param {item!r}: use NAME=VALUE (NAME: letters, digits, '_')"
            )
        params[key] = parse_value(value)
    return params


def _cell(value: Any) -> Text:
    if value is None:
        return Text("null", style="dim")
    if isinstance(value, (dict, list)):
        return Text(json.dumps(value, separators=(",", ":"), default=str))
    if isinstance(value, bool):
        return Text("true" if value else "false")
    return Text(str(value))


def _check_output(output: str) -> None:
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")


@app.command("query")
def query(
    cypher: str = typer.Argument(..., help="One read-only Cypher statement (MATCH ... RETURN)."),
    account: str | None = typer.Option(
        None, "--account", "-a", help="Account (default: the only one with a graph)."
    ),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="Query parameter NAME=VALUE, used as $NAME (repeatable)."
    ),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", min=1, max=MAX_LIMIT, help="Return at most this many rows."
    ),
    timeout_ms: int = typer.Option(
        DEFAULT_TIMEOUT_MS, "--timeout-ms", min=1, max=MAX_TIMEOUT_MS, help="Time limit."
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """Run a read-only Cypher query on an account's security graph.

    Writes, file access, extensions and procedure calls are refused. Exit codes: 0
    success, 2 refused, malformed or timed-out query, or bad input.
    """
    _check_output(output)
    params = parse_params(param)
    ctx = Context.load()
    try:
        result = governed(
            ctx,
            "query_graph",
            {
                "cypher": cypher,
                "account": account,
                "params": params,
                "limit": limit,
                "timeout_ms": timeout_ms,
            },
            lambda: query_graph(ctx, account, cypher, params, limit=limit, timeout_ms=timeout_ms),
            size=lambda r: json_size(r.rows),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(result.as_dict())
        return
    t = Table(title_justify="left")
    for c in result.columns:
        t.add_column(c, overflow="fold")
    for row in result.rows:
        t.add_row(*(_cell(v) for v in row))
    out.print(t)
    err.print(
        f"{len(result.rows)} rows from account {result.account} in {result.elapsed_ms:.1f} ms",
        highlight=False,
    )
    if result.truncated:
        err.print(f"[yellow]truncated:[/] {result.message}", highlight=False)


@app.command("schema")
def schema(
    account: str | None = typer.Option(
        None, "--account", "-a", help="Count nodes and edges of this account's graph."
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """Show the graph schema (labels, relationship types, properties) and counts."""
    _check_output(output)
    ctx = Context.load()
    try:
        data = recorded(
            ctx, "graph_schema", {"account": account}, lambda: graph_schema(ctx, account)
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(data)
        return
    counts = data.get("counts") or {}
    rel_counts = counts.get("relationships", {})
    for label in data["labels"]:
        n = counts.get("labels", {}).get(label["label"])
        title = f"Node label {label['label']}" + (f" ({n:,} nodes)" if n is not None else "")
        t = Table(title=title, title_justify="left")
        for col in ("property", "type", "description"):
            t.add_column(col, overflow="fold")
        for p in label["properties"]:
            t.add_row(
                p["name"] + (" (key)" if p.get("primary_key") else ""), p["type"], p["description"]
            )
        out.print(t)
    t = Table(title="Relationship types (Node -> Node)", title_justify="left")
    for col in ("type", "category", "properties", "count", "description"):
        t.add_column(col, overflow="fold")
    for r in data["relationship_types"]:
        props = ", ".join(f"{p['name']} {p['type']}" for p in r["properties"])
        count = str(rel_counts.get(r["type"], "")) if counts else ""
        t.add_row(r["type"], r["category"], props, count, r["description"])
    out.print(t)
    if counts:
        k = Table(title=f"Nodes by kind in {data['account']}", title_justify="left")
        k.add_column("kind")
        k.add_column("nodes", justify="right")
        for kind, n in counts.get("kinds", {}).items():
            k.add_row(kind, f"{n:,}")
        out.print(k)
        out.print(
            f"{counts.get('total_nodes', 0):,} nodes, "
            f"{counts.get('total_relationships', 0):,} relationships "
            f"(build {counts.get('build_id')}, {data.get('backend')})",
            highlight=False,
        )
