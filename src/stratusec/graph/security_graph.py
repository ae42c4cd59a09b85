"""The whole security graph of one inventory: the builder's nodes, fact and derived edges,
plus privilege-escalation edges (one CAN_ESCALATE per source and target; every catalog
path that leads there is kept in its properties)."""

from __future__ import annotations

from typing import Any

from stratusec.checks.inventory import Inventory
from stratusec.graph.builder import GraphData, build_graph
from stratusec.graph.privesc import escalation_edges
from stratusec.graph.sensitive import SensitiveRules
from stratusec.graph.store import GraphStore


def security_graph(inv: Inventory, *, sensitive: SensitiveRules | None = None) -> GraphData:
    data = build_graph(inv, sensitive=sensitive)
    nodes = {n["uid"] for n in data.nodes}
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    methods: dict[tuple[str, str], list[str]] = {}
    skipped = 0
    for e in escalation_edges(inv):
        if e["from"] not in nodes or e["to"] not in nodes:
            skipped += 1
            continue
        key = (e["from"], e["to"])
        methods.setdefault(key, []).append(f"{e['path_id']}: {e['method']}")
        prev = merged.get(key)
        # Keep the most certain path as the edge's own; list every path in props.
        if prev is None or (prev.get("conditional") and not e.get("conditional")):
            merged[key] = dict(e)
    for key, e in merged.items():
        props = dict(e.get("props") or {})
        props["paths"] = methods[key]
        e["props"] = props
        data.edges.append(e)
    data.stats["escalation_edges"] = len(merged)
    data.stats["escalation_paths"] = sum(len(v) for v in methods.values())
    data.stats["escalation_skipped"] = skipped
    return data


def store_security_graph(
    store: GraphStore, inv: Inventory, account: str, *, sensitive: SensitiveRules | None = None
) -> dict[str, Any]:
    """Build and atomically replace ``account``'s graph; the build info as a dict."""
    data = security_graph(inv, sensitive=sensitive)
    info = store.replace(account, data.nodes, data.edges).as_dict()
    info["build"] = data.stats
    return info
