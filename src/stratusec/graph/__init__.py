"""The security graph: schema (``schema``), stores (``open_graph``; Ladybug embedded by
default, Neo4j for teams), the read-only statement allowlist (``readonly``) and the
product's Cypher queries (``queries``)."""

from __future__ import annotations

from stratusec.graph.schema import describe
from stratusec.graph.store import (
    BuildInfo,
    GraphChangedError,
    GraphQueryError,
    GraphStore,
    GraphTimeoutError,
    QueryResult,
    open_graph,
)

__all__ = [
    "BuildInfo",
    "GraphChangedError",
    "GraphQueryError",
    "GraphStore",
    "GraphTimeoutError",
    "QueryResult",
    "describe",
    "open_graph",
]
