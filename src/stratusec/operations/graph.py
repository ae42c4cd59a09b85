"""The ``query_graph`` and ``graph_schema`` operations: read-only Cypher on an
account's security graph, and the graph schema with counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from stratusec.errors import NotFoundError, StratusecError
from stratusec.graph.schema import describe
from stratusec.graph.store import (
    DEFAULT_LIMIT,
    DEFAULT_TIMEOUT_MS,
    GraphStore,
    QueryResult,
    check_account,
    graph_backend,
    open_graph,
)
from stratusec.operations.context import Context


@contextmanager
def graph_store(ctx: Context) -> Iterator[GraphStore]:
    """The configured graph store, opened for one operation."""
    store = open_graph(ctx.config)
    try:
        yield store
    finally:
        store.close()


def resolve_account(ctx: Context, store: GraphStore, account: str | None) -> str:
    """The named account, or the only account that has a graph (or is configured)."""
    if account:
        return check_account(account)
    have = store.accounts()
    if len(have) == 1:
        return have[0]
    configured = [a.name for a in ctx.config.accounts]
    if not have:
        if len(configured) == 1:
            return configured[0]
        raise NotFoundError("no security graph has been built yet")
    raise StratusecError(
        f"several accounts have a graph ({', '.join(have)}); choose one with --account"
    )


def query_graph(
    ctx: Context,
    account: str | None,
    cypher: str,
    params: Mapping[str, Any] | None = None,
    limit: int = DEFAULT_LIMIT,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> QueryResult:
    """Run one read-only Cypher statement on the account's graph.

    At most ``limit`` rows come back (``truncated`` says whether there were more);
    the statement is stopped after ``timeout_ms``. Writes are refused twice: by the
    statement allowlist and by the read-only handle / READ transaction.
    """
    if not isinstance(cypher, str) or not cypher.strip():
        raise StratusecError("the graph query is empty")
    with graph_store(ctx) as store:
        name = resolve_account(ctx, store, account)
        return store.query(name, cypher, params, limit=limit, timeout_ms=timeout_ms)


def graph_schema(ctx: Context, account: str | None = None) -> dict[str, Any]:
    """Labels, relationship types and properties; with counts per label, kind and
    relationship type when the account (named, or the only one) has a graph."""
    with graph_store(ctx) as store:
        if account is None and not store.accounts():
            out = describe()
        else:
            out = describe(store, resolve_account(ctx, store, account))
        out["backend"] = graph_backend(ctx.config)
        return out
